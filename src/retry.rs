//! The retry policy and the one retry loop every call goes through, whatever
//! the transport.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Origin, Result};
use crate::proto::rpc::Code;

/// When and how often a failed call is tried again.
///
/// A request that provably never reached the server (no connection could
/// be made, the server refused the stream unread or was closing the
/// connection) is sent again for every call, delete included, without
/// counting an attempt: nothing can have happened twice. So a call rides
/// out a server restart or an outage until its deadline. A TLS handshake
/// that failed for good (a certificate not trusted or not for this host, a
/// server that does not answer in TLS, an alert it sent) is not sent again:
/// it fails at once, since no second try changes it. Nor is a REST request
/// whose reply was not HTTP at all (a TLS server addressed as `http://`).
///
/// Otherwise only calls that are safe to repeat are retried (get, list,
/// wait and cancel; delete is not, because a repeated delete after a lost
/// reply would report NOT_FOUND for a delete that worked), and only on
/// transient failures: `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `ABORTED`, the
/// statuses of overloaded front ends (HTTP 429, 502, 503, 504), and a
/// request sent with no reply. The delay before attempt `n + 1` is drawn
/// uniformly from `0..=min(max_delay, initial_delay * 2^(n-1))` ("full
/// jitter"); a server's `RetryInfo` delay is used instead when it is
/// longer, capped at `max_delay`. Re-sends of requests that never arrived
/// back off the same way, the first one at once. Retrying stops at
/// `max_attempts` or when the next attempt would start after the call's
/// deadline; a call without a deadline counts its re-sends as attempts.
///
/// Defaults: 5 attempts, 100 ms initial delay, 10 s maximum delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The most attempts, the first included (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The upper bound of the first backoff.
    #[must_use]
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest single delay, server-requested delays included.
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The most attempts.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before the attempt after `attempt` (counted from 1).
    fn delay_after(&self, attempt: u32, error: &Error) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .initial_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(random_fraction());
        match error.retry_delay() {
            Some(asked) => asked.min(self.max_delay).max(jittered),
            None => jittered,
        }
    }
}

/// A uniform number in `0.0..=1.0`, from the standard library's per-process
/// random keys (good enough for jitter; no need for a RNG crate).
pub(crate) fn random_fraction() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an error says "try again later" rather than "this will not
/// work": the one rule for the retry loop and for the loops that wait on
/// operations.
///
/// UNAVAILABLE, RESOURCE_EXHAUSTED and ABORTED on either transport; over
/// REST also the statuses of overloaded or restarting front ends (429, 502,
/// 503, 504), whatever code their body names; any request that got no
/// reply (a broken or silent connection, whatever code it was given); and
/// any whose deadline passed before it could be sent (a connection too slow
/// to make). Never a TLS handshake that failed for good or a REST reply that
/// is not HTTP, though their code is UNAVAILABLE (what gRPC stacks report
/// for the first).
pub(crate) fn is_transient(error: &Error) -> bool {
    // What answered does not speak the protocol: it will not on a second try.
    if matches!(error.origin(), Origin::Handshake | Origin::NotHttp) {
        return false;
    }
    matches!(
        error.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::Aborted
    ) || matches!(error.http_status(), Some(429 | 502 | 503 | 504))
        || error.origin() == Origin::NoReply
        || (error.is_connect() && error.code() == Code::DeadlineExceeded)
}

/// Runs `attempt` until it succeeds, fails for good, runs out of attempts or
/// would pass `deadline`. A request that never reached the server is sent
/// again whether or not the call is `repeatable`, without counting an
/// attempt (but for a call with no deadline). An error `at_once` accepts is
/// followed by the next attempt without delay, even for a call that is not
/// repeatable: the caller knows the server did not act on it (a refused
/// token, replaced since).
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    repeatable: bool,
    deadline: Option<Instant>,
    at_once: impl Fn(&Error) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut number = 1;
    let mut resends = 0;
    loop {
        let error = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let delay = if at_once(&error) {
            if number >= policy.max_attempts {
                return Err(error);
            }
            number += 1;
            Duration::ZERO
        } else if error.is_connect() && is_transient(&error) && deadline.is_some() {
            // Nothing reached the server: sending again cannot do anything
            // twice. The first re-send goes at once (a refused stream or a
            // closing connection); later ones back off (a server down).
            resends += 1;
            match resends {
                1 => Duration::ZERO,
                n => policy.delay_after(n - 1, &error),
            }
        } else {
            let retried = repeatable || error.is_connect();
            if !retried || number >= policy.max_attempts || !is_transient(&error) {
                return Err(error);
            }
            number += 1;
            policy.delay_after(number - 1, &error)
        };
        if deadline.is_some_and(|deadline| Instant::now() + delay >= deadline) {
            return Err(error);
        }
        tracing::info!(
            next_attempt = number,
            resend = error.is_connect(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            reason = %error,
            "retrying"
        );
        tokio::time::sleep(delay).await;
        // A wake-up that came late may find the deadline passed: no attempt
        // starts without time left, and the last failure says why.
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::Detail;
    use crate::proto::rpc::RetryInfo;

    fn unavailable() -> Error {
        Error::new(Code::Unavailable, "down")
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_up_to_the_limit() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::new().with_max_attempts(3);
        let result: Result<()> = run(
            &policy,
            true,
            None,
            |_| false,
            |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(unavailable())
            },
        )
        .await;
        assert_eq!(result.map_err(|e| e.code()), Err(Code::Unavailable));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_and_unrepeatable_calls_are_not_retried() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::new();
        let _ = run::<(), _, _>(
            &policy,
            true,
            None,
            |_| false,
            |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(Code::NotFound, "gone"))
            },
        )
        .await;
        let _ = run::<(), _, _>(
            &policy,
            false,
            None,
            |_| false,
            |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(unavailable())
            },
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_the_caller_marks_are_retried_even_for_unrepeatable_calls() {
        let refused = |error: &Error| error.code() == Code::Unauthenticated;
        let first_refused = |n: u32| async move {
            if n == 1 {
                Err(Error::new(Code::Unauthenticated, "refused"))
            } else {
                Ok(n)
            }
        };
        let result = run(&RetryPolicy::new(), false, None, refused, first_refused).await;
        assert_eq!(result.ok(), Some(2));
        // The retry is an attempt like any other: a policy of one has none.
        let result = run(&RetryPolicy::never(), false, None, refused, first_refused).await;
        assert_eq!(result.map_err(|e| e.code()), Err(Code::Unauthenticated));
    }

    #[tokio::test(start_paused = true)]
    async fn success_after_a_transient_failure() {
        let policy = RetryPolicy::new();
        let result = run(
            &policy,
            true,
            None,
            |_| false,
            |n| async move { if n < 3 { Err(unavailable()) } else { Ok(n) } },
        )
        .await;
        assert_eq!(result.ok(), Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_info_is_honoured_and_capped() {
        let asked = Error::new(Code::ResourceExhausted, "quota").with_detail(Detail::RetryInfo(
            RetryInfo {
                retry_delay: Some(prost_types::Duration {
                    seconds: 3,
                    nanos: 0,
                }),
            },
        ));
        let policy = RetryPolicy::new().with_max_delay(Duration::from_secs(2));
        assert_eq!(policy.delay_after(1, &asked), Duration::from_secs(2));
        let roomy = RetryPolicy::new().with_max_delay(Duration::from_secs(30));
        assert_eq!(roomy.delay_after(1, &asked), Duration::from_secs(3));
    }

    #[test]
    fn jitter_stays_under_the_exponential_ceiling() {
        let policy = RetryPolicy::new()
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1));
        for attempt in 1..40 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1 << (attempt - 1).min(30))
                .min(Duration::from_secs(1));
            assert!(policy.delay_after(attempt, &unavailable()) <= ceiling);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unsent_requests_are_resent_until_the_deadline_unless_tls_refused_them() {
        let deadline = Instant::now() + Duration::from_secs(60);
        let attempts_failing_with = |origin: Origin| async move {
            let calls = AtomicU32::new(0);
            let _ = run::<(), _, _>(
                &RetryPolicy::never(),
                false,
                Some(deadline),
                |_| false,
                |_| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async move { Err(Error::local(origin, Code::Unavailable, "no")) }
                },
            )
            .await;
            calls.load(Ordering::SeqCst)
        };
        assert!(attempts_failing_with(Origin::Connect).await > 5);
        assert_eq!(attempts_failing_with(Origin::Handshake).await, 1);
    }

    #[test]
    fn a_peer_that_does_not_speak_the_protocol_is_not_asked_again() {
        let failing = |origin| Error::local(origin, Code::Unavailable, "no");
        assert!(is_transient(&failing(Origin::NoReply)));
        assert!(!is_transient(&failing(Origin::NotHttp)));
        assert!(!is_transient(&failing(Origin::Handshake)));
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_that_would_pass_the_deadline() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::new().with_initial_delay(Duration::from_secs(100));
        let deadline = Instant::now() + Duration::from_millis(1);
        let _ = run::<(), _, _>(
            &policy,
            true,
            Some(deadline),
            |_| false,
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(unavailable()) }
            },
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
