//! Waiting has one spelling for "until done": `until_done` returns the done
//! operation (succeeded or cancelled) however many server-side waits end
//! early on the way, or DEADLINE_EXCEEDED naming the state it was left in
//! when its timeout passes; `wait_once` is the single server-side wait,
//! which may return an operation that is not done.

use std::time::Duration;

use eeops::earthengine::State;
use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::rpc::Code;
use eeops::{Client, Credentials, PollingPolicy, TransportKind};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORTS: [TransportKind; 2] = [TransportKind::Grpc, TransportKind::Rest];

fn client(emulator: &RunningEmulator, transport: TransportKind) -> eeops::Result<Client> {
    Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_transport(transport)
        .with_credentials(Credentials::anonymous())
        .with_project("p")
        .build()
}

/// Server-side waits far shorter than the operation: most end early.
fn short_waits() -> PollingPolicy {
    PollingPolicy::new()
        .with_server_wait(Duration::from_millis(20))
        .with_initial_interval(Duration::from_millis(20))
        .with_max_interval(Duration::from_millis(50))
}

#[tokio::test]
async fn until_done_returns_only_done_operations() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    for transport in TRANSPORTS {
        let client = client(&emulator, transport)?;
        let name = emulator.create(
            OperationSpec::new("p")
                .with_queue_time(Duration::from_millis(100))
                .with_run_time(Duration::from_millis(400)),
        )?;
        let done = client
            .until_done(&name)
            .with_polling(short_waits())
            .with_timeout(Duration::from_secs(60))
            .await?;
        assert!(done.done, "{transport:?}");
        assert_eq!(done.state(), State::Succeeded, "{transport:?}");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn until_done_ends_with_deadline_exceeded_naming_the_state() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    for transport in TRANSPORTS {
        let client = client(&emulator, transport)?;
        let name = emulator.create(
            OperationSpec::new("p")
                .with_queue_time(Duration::ZERO)
                .running_until_cancelled(),
        )?;
        let error = client
            .until_done(&name)
            .with_polling(short_waits())
            .with_timeout(Duration::from_millis(500))
            .await
            .expect_err("it runs until cancelled");
        assert_eq!(
            error.code(),
            Code::DeadlineExceeded,
            "{transport:?} {error}"
        );
        assert!(
            error.message().contains(&name) && error.message().contains("RUNNING"),
            "{transport:?} {error}"
        );
        // The timeout overrides the policy's time limit, whichever is set last.
        let error = client
            .until_done(&name)
            .with_timeout(Duration::from_millis(300))
            .with_polling(short_waits().with_time_limit(Duration::from_secs(3600)))
            .await
            .expect_err("it runs until cancelled");
        assert_eq!(
            error.code(),
            Code::DeadlineExceeded,
            "{transport:?} {error}"
        );
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn until_done_returns_an_operation_cancelled_while_it_waits() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    for transport in TRANSPORTS {
        let client = client(&emulator, transport)?;
        let name = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
        let waiting = tokio::spawn(client.until_done(&name).with_polling(short_waits()).send());
        client.cancel(&name).await?;
        let done = waiting.await??;
        assert!(done.done, "{transport:?}");
        assert_eq!(done.state(), State::Cancelled, "{transport:?}");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn wait_once_is_one_server_wait_that_may_end_early() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    for transport in TRANSPORTS {
        let client = client(&emulator, transport)?;
        let name = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
        // The server may wait 10 s, the call may take 1 s: the wait is fitted
        // inside the call and returns the live operation.
        let live = client
            .wait_once(&name)
            .set_server_wait(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(1))
            .await?;
        assert!(!live.done, "{transport:?}");
        assert_eq!(live.state(), State::Running, "{transport:?}");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
#[allow(deprecated)]
async fn the_old_names_send_what_the_new_ones_do() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let client = client(&emulator, TransportKind::Rest)?;
    let wait = Duration::from_secs(7);
    let old = client.wait("X").set_timeout(wait).http_preview()?;
    let new = client.wait_once("X").set_server_wait(wait).http_preview()?;
    assert_eq!((old.url, old.body), (new.url, new.body));
    emulator.shutdown().await?;
    Ok(())
}
