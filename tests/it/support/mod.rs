//! Helpers shared by the integration tests.

pub mod serve;
pub mod token_server;
