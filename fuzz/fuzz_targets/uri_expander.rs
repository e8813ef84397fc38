//! Fuzz target `uri_expander`: a resource name expanded onto every binding
//! of the built-in route tables must address exactly that name.
//!
//! Input: the resource name.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eeops::fuzzing::uri_expander(data));
