//! Fuzz target `rest_errors`: the REST error mapping always gives an error
//! code (never OK for an error status) and the REST reply parser always
//! answers.
//!
//! Input: an HTTP status as a big-endian `u16`, then the body.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eeops::fuzzing::rest_errors(data));
