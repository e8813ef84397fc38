//! Helpers shared by the integration tests.

pub mod closed_port;
pub mod foreign_grpc;
pub mod foreign_rest;
pub mod grpc_server;
pub mod listing;
pub mod paced_rest;
pub mod percent;
pub mod ping_server;
pub mod plain_rest;
pub mod proxy;
pub mod relay;
pub mod serve;
pub mod silent;
pub mod terminal;
pub mod token_server;
