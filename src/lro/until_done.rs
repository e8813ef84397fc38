//! [`UntilDone`]: one operation, waited on until it is done.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

use super::policy::{PollingPolicy, jittered};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::proto::longrunning::Operation;
use crate::proto::rpc::Code;
use crate::retry::is_transient;

/// Waits until one operation is done; see [`Client::until_done`].
///
/// It returns only when the operation is done (succeeded, failed or
/// cancelled: the done operation), or with DEADLINE_EXCEEDED when
/// [`UntilDone::with_timeout`] passes first (naming the state it was left
/// in), or with an error that waiting cannot get past (not found,
/// permission denied, ...). Transient errors and server-side waits that end
/// early are waited through. Without a timeout it waits as long as it
/// takes; dropping the future stops it.
///
/// ```
/// use std::time::Duration;
/// use eeops::emulator::{Emulator, OperationSpec};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eeops::Result<()> {
/// let emulator = Emulator::builder().start("127.0.0.1:0").await?;
/// let client = eeops::Client::builder()
///     .with_endpoint(emulator.endpoint())
///     .with_credentials(eeops::Credentials::anonymous())
///     .with_project("my-project")
///     .build()?;
/// emulator.create(OperationSpec::new("my-project").with_id("QUICK").with_run_time(Duration::from_millis(100)))?;
/// emulator.create(OperationSpec::new("my-project").with_id("FOREVER").with_queue_time(Duration::ZERO).running_until_cancelled())?;
///
/// let done = client.until_done("QUICK").with_timeout(Duration::from_secs(30)).await?;
/// assert!(done.done);
///
/// let late = client.until_done("FOREVER").with_timeout(Duration::from_millis(300)).await;
/// let error = late.expect_err("it never ends");
/// assert_eq!(error.code(), eeops::rpc::Code::DeadlineExceeded);
/// assert!(error.message().contains("RUNNING"), "{error}");
/// # emulator.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "nothing happens until it is sent or awaited"]
pub struct UntilDone {
    client: Client,
    name: String,
    policy: PollingPolicy,
    /// Set by `with_timeout`; else the policy's time limit.
    timeout: Option<Duration>,
    cancel_on_give_up: bool,
}

impl UntilDone {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            name,
            policy: PollingPolicy::default(),
            timeout: None,
            cancel_on_give_up: false,
        }
    }

    /// The polling policy (intervals, time limit).
    pub fn with_polling(mut self, policy: PollingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The longest time to wait in all: when it passes with the operation
    /// not done, the wait ends with DEADLINE_EXCEEDED. Each call made on the
    /// way (server-side waits, polls) ends inside it. Overrides the polling
    /// policy's time limit; none unless set.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Asks the server to cancel the operation when the time limit passes.
    pub fn cancel_on_give_up(mut self, cancel: bool) -> Self {
        self.cancel_on_give_up = cancel;
        self
    }

    /// Waits; the done operation, or DEADLINE_EXCEEDED when the time limit
    /// passes first (naming the state it was left in).
    pub async fn send(self) -> Result<Operation> {
        let Self {
            client,
            name,
            policy,
            timeout,
            cancel_on_give_up,
        } = self;
        let limit = timeout.or(policy.time_limit);
        let deadline = limit.map(|limit| Instant::now() + limit);
        let mut server_waits = true;
        let mut interval = policy.initial_interval;
        let mut latest: Option<Operation> = None;
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining.is_some_and(|r| r.is_zero()) {
                let limit = limit.unwrap_or_default();
                return Err(
                    give_up(&client, &name, limit, latest.as_ref(), cancel_on_give_up).await,
                );
            }
            let started = Instant::now();
            let call = async {
                if server_waits {
                    // Room is left inside the deadline for the server's
                    // reply, so that a wait that ends undone still reports
                    // the state it saw.
                    let wait = match remaining {
                        Some(remaining) => policy
                            .server_wait
                            .min(remaining.saturating_sub(reply_allowance(remaining))),
                        None => policy.server_wait,
                    };
                    // The call ends shortly after the server's wait should:
                    // a connection that went silent is given up by then.
                    client
                        .wait_once(&name)
                        .set_server_wait(wait)
                        .with_timeout(wait + reply_allowance(wait))
                        .send()
                        .await
                } else {
                    client.get(&name).send().await
                }
            };
            // No call outlives the deadline; the loop's top gives up.
            let answer = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, call).await {
                    Ok(answer) => answer,
                    Err(_) => continue,
                },
                None => call.await,
            };
            let pause = match answer {
                Ok(operation) if operation.done => return Ok(operation),
                Ok(operation) => {
                    latest = Some(operation);
                    // A server wait that came back early (or a poll) is
                    // followed by a pause, so a server that does not wait is
                    // not hammered.
                    let pause = interval.saturating_sub(started.elapsed());
                    interval = policy.next_interval(interval);
                    pause
                }
                Err(error) if server_waits && error.code() == Code::Unimplemented => {
                    tracing::debug!(%error, "WaitOperation unavailable; polling GetOperation");
                    server_waits = false;
                    continue;
                }
                Err(error) if is_transient(&error) => {
                    tracing::debug!(%error, "transient error while waiting; polling on");
                    if error.is_no_reply() {
                        // The connection broke or went silent and has been
                        // replaced: look again soon, on the new one.
                        policy.initial_interval
                    } else {
                        let pause = error.retry_delay().unwrap_or(interval).max(interval);
                        interval = policy.next_interval(interval);
                        pause
                    }
                }
                Err(error) => return Err(error),
            };
            let pause = jittered(pause);
            let until = Instant::now() + pause;
            tokio::time::sleep_until(deadline.map_or(until, |d| d.min(until))).await;
        }
    }
}

/// How long after a server-side wait of `wait` its reply may come: a
/// quarter of the wait, from 200 ms to 5 s.
fn reply_allowance(wait: Duration) -> Duration {
    (wait / 4).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

async fn give_up(
    client: &Client,
    name: &str,
    limit: Duration,
    latest: Option<&Operation>,
    cancel: bool,
) -> Error {
    let state = latest.map_or("not yet seen", |op| op.state().as_str_name());
    let mut message = format!("gave up waiting for {name} after {limit:?}: it is {state}");
    if cancel {
        match client.cancel(name).await {
            Ok(()) => message.push_str("; cancel requested"),
            Err(error) => message.push_str(&format!("; cancelling it failed: {error}")),
        }
    }
    Error::new(Code::DeadlineExceeded, message)
}

impl std::future::IntoFuture for UntilDone {
    type Output = Result<Operation>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Result<Operation>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
