//! Waiting on long-running operations: [`UntilDone`] for one, [`Watch`] for
//! many at once.
//!
//! `until_done` blocks on the server's WaitOperation where it works and falls
//! back to polling GetOperation with jittered backoff when the server answers
//! UNIMPLEMENTED (or the REST routes have no binding for it). `watch` yields
//! every change of state, progress or stage of one or thousands of
//! operations, polling them through one scheduler: bounded concurrency, a
//! request rate that stays under Earth Engine's quota, and per-operation
//! intervals stretched to fit that rate. Transient errors never end either.
//!
//! Neither relies on a connection staying healthy for long: each server-side
//! wait lasts at most [`PollingPolicy::with_server_wait`] (60 s by default)
//! and its call ends a little after (5 s at most), and each poll lasts at
//! most the client's call timeout (60 s by default). So a connection that
//! went silent is given up (and replaced) at that call's deadline, and the
//! loop looks again on a new connection one initial interval later (1 s):
//! by default within 66 s of the silence, then reporting the operation's
//! real state.

mod policy;
mod until_done;
mod watch;

#[cfg(test)]
mod tests;

pub use policy::PollingPolicy;
pub use until_done::UntilDone;
pub use watch::{Change, Watch, WatchStream};

use crate::client::Client;

impl Client {
    /// Waits until the operation is done (or [`UntilDone::with_timeout`]
    /// passes): server-side waits where they work, polling otherwise; see
    /// [`UntilDone`]. For one server-side wait that may return earlier, see
    /// [`Client::wait_once`].
    pub fn until_done(&self, name: impl Into<String>) -> UntilDone {
        UntilDone::new(self.clone(), self.qualify(name))
    }

    /// Watches operations for changes until they are done; see [`Watch`].
    pub fn watch<I, N>(&self, names: I) -> Watch
    where
        I: IntoIterator<Item = N>,
        N: Into<String>,
    {
        Watch::new(
            self.clone(),
            names.into_iter().map(|name| self.qualify(name)).collect(),
        )
    }
}
