//! Fuzz target `template_parser`: path templates are parsed, matched against
//! a raw path, and expanded with a value that must match back.
//!
//! Input: a template, `\n`, a value, `\n`, a raw request path.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eeops::fuzzing::template_parser(data));
