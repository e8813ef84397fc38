//! Fuzz target `response_decoders`: JSON bodies decoded as an Operation, a
//! ListOperationsResponse and a `google.rpc.Status` either fail with an
//! error or give a message that prints and parses back to itself.
//!
//! Input: a response body.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eeops::fuzzing::response_decoders(data));
