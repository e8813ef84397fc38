//! How often and for how long the waiting loops look at an operation.

use std::time::Duration;

use crate::retry::random_fraction;

/// How often to look at an operation, and for how long.
///
/// Defaults: first interval 1 s, growing by 1.5× up to 30 s; no time limit;
/// server-side waits of up to 60 s each.
#[derive(Clone, Debug, PartialEq)]
pub struct PollingPolicy {
    pub(super) initial_interval: Duration,
    pub(super) max_interval: Duration,
    pub(super) multiplier: f64,
    pub(super) time_limit: Option<Duration>,
    pub(super) server_wait: Duration,
}

impl Default for PollingPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            multiplier: 1.5,
            time_limit: None,
            server_wait: Duration::from_secs(60),
        }
    }
}

impl PollingPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first interval between polls.
    #[must_use]
    pub fn with_initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// The longest interval between polls.
    #[must_use]
    pub fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// How long to wait in all before giving up.
    #[must_use]
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// The longest single server-side wait.
    #[must_use]
    pub fn with_server_wait(mut self, wait: Duration) -> Self {
        self.server_wait = wait;
        self
    }

    /// The time limit, if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.time_limit
    }

    pub(super) fn next_interval(&self, current: Duration) -> Duration {
        current
            .mul_f64(self.multiplier.max(1.0))
            .min(self.max_interval)
    }
}

/// A pause of about `interval`: between half and all of it, so that many
/// pollers do not fall into step.
pub(super) fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.5 + 0.5 * random_fraction())
}
