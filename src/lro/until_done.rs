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
#[derive(Clone, Debug)]
#[must_use = "nothing happens until it is sent or awaited"]
pub struct UntilDone {
    client: Client,
    name: String,
    policy: PollingPolicy,
    cancel_on_give_up: bool,
}

impl UntilDone {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            name,
            policy: PollingPolicy::default(),
            cancel_on_give_up: false,
        }
    }

    /// The polling policy (intervals, time limit).
    pub fn with_polling(mut self, policy: PollingPolicy) -> Self {
        self.policy = policy;
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
            cancel_on_give_up,
        } = self;
        let deadline = policy.time_limit.map(|limit| Instant::now() + limit);
        let mut server_waits = true;
        let mut interval = policy.initial_interval;
        let mut latest: Option<Operation> = None;
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining.is_some_and(|r| r.is_zero()) {
                return Err(
                    give_up(&client, &name, &policy, latest.as_ref(), cancel_on_give_up).await,
                );
            }
            let started = Instant::now();
            let answer = if server_waits {
                let wait = policy.server_wait.min(remaining.unwrap_or(Duration::MAX));
                // The call ends shortly after the server's wait should: a
                // connection that went silent is given up by then.
                client
                    .wait(&name)
                    .set_timeout(wait)
                    .with_timeout(wait + reply_allowance(wait))
                    .send()
                    .await
            } else {
                client.get(&name).send().await
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
    policy: &PollingPolicy,
    latest: Option<&Operation>,
    cancel: bool,
) -> Error {
    let state = latest.map_or("not yet seen", |op| op.state().as_str_name());
    let limit = policy.time_limit.unwrap_or_default();
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
