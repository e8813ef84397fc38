//! The integration tests, one binary: each module is one area, and they share
//! `support` (the emulator process, the token server).

mod auth;
mod cli;
mod cli_auth;
mod cli_piped;
mod cli_screen;
mod cli_stream;
mod cli_workflow;
mod conformance;
mod emulator_auth;
mod emulator_faults;
mod emulator_rest;
mod foreign_servers;
mod google_clients;
mod grpc;
mod hostile;
mod layers;
mod names;
mod network;
mod properties;
mod proxy;
mod regressions;
mod reliability;
mod report;
mod rest_only;
mod scenarios;
mod server;
mod support;
mod tls;
mod token_server_selftest;
mod token_source;
mod tracing_spans;
mod until_done;
