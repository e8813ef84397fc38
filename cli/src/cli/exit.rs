//! The tool's exit codes, one per kind of outcome.

use std::process::ExitCode;

use eeops::rpc::Code;

/// Everything asked for was done (and every awaited operation succeeded).
pub(crate) const SUCCESS: u8 = 0;
/// A call failed (other than NOT_FOUND), or another runtime error.
pub(crate) const RPC_ERROR: u8 = 1;
/// The command line was wrong (clap also uses 2).
pub(crate) const USAGE: u8 = 2;
/// At least one awaited operation ended FAILED.
pub(crate) const OPERATION_FAILED: u8 = 3;
/// At least one awaited operation ended CANCELLED, and none failed.
pub(crate) const OPERATION_CANCELLED: u8 = 4;
/// `wait --timeout` passed with operations still running.
pub(crate) const WAIT_TIMEOUT: u8 = 5;
/// An operation (or project) does not exist.
pub(crate) const NOT_FOUND: u8 = 6;
/// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED: u8 = 130;

/// The exit code for a failed call.
pub(crate) fn for_error(error: &eeops::Error) -> u8 {
    match error.code() {
        Code::NotFound => NOT_FOUND,
        _ => RPC_ERROR,
    }
}

/// The most severe of several codes, in the order the documentation gives:
/// errors first, then failed, cancelled, timed out, success.
pub(crate) fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    let rank = |code: u8| match code {
        INTERRUPTED => 8,
        RPC_ERROR => 7,
        USAGE => 6,
        NOT_FOUND => 5,
        OPERATION_FAILED => 4,
        WAIT_TIMEOUT => 3,
        OPERATION_CANCELLED => 2,
        _ => 0,
    };
    codes
        .into_iter()
        .max_by_key(|code| rank(*code))
        .unwrap_or(SUCCESS)
}

pub(crate) fn code(value: u8) -> ExitCode {
    ExitCode::from(value)
}
