#![allow(dead_code)]
//! Helpers shared by the integration tests.
//!
//! Each test binary pulls this in with `mod support;` and uses only part of
//! it, hence the `dead_code` allowance above.

pub mod serve;
pub mod token_server;
