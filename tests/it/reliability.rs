//! Reliability against the emulator's injected faults, on both transports:
//! retries that recover, listings that stay exact, statuses REST servers
//! send when overloaded, and connections that break mid-response.

use crate::support::closed_port::ClosedPort;
use std::collections::HashMap;
use std::time::Duration;

use eeops::emulator::{Emulator, Fault, OperationSpec, RunningEmulator};
use eeops::rpc::Code;
use eeops::{Client, Credentials, RetryPolicy, Rpc, TransportKind};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORTS: [TransportKind; 2] = [TransportKind::Grpc, TransportKind::Rest];

fn client(
    kind: TransportKind,
    emulator: &RunningEmulator,
    retry: RetryPolicy,
) -> eeops::Result<Client> {
    Client::builder()
        .with_transport(kind)
        .with_endpoint(emulator.endpoint())
        .with_credentials(Credentials::anonymous())
        .with_retry_policy(retry)
        .build()
}

/// Quick retries, so the tests do not sleep long between attempts.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::new()
        .with_max_attempts(8)
        .with_initial_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(20))
}

#[tokio::test]
async fn listing_20000_with_a_tenth_of_calls_failing_delivers_each_once() -> TestResult {
    let emulator = Emulator::builder()
        .with_fault(
            Fault::on(Rpc::ListOperations)
                .fraction(0.1)
                .with_code(Code::Unavailable)
                .with_seed(7),
        )
        .start("127.0.0.1:0")
        .await?;
    let handle = emulator.handle();
    for i in 0..20_000 {
        handle.create(OperationSpec::new("big").with_id(format!("op{i:05}")))?;
    }
    for kind in TRANSPORTS {
        let client = client(kind, &emulator, quick_retries())?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut stream = client.list("projects/big").set_page_size(100).operations();
        while let Some(op) = stream.next().await {
            *seen.entry(op?.name).or_default() += 1;
        }
        assert_eq!(seen.len(), 20_000, "{kind:?}: every operation arrived");
        assert!(
            seen.values().all(|count| *count == 1),
            "{kind:?}: none twice"
        );
    }
    let injected = emulator
        .faults()
        .list()
        .into_iter()
        .map(|(id, _)| emulator.faults().injected(id).unwrap_or(0))
        .sum::<u64>();
    assert!(injected > 20, "faults were really injected ({injected})");
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_rejected_page_token_is_reported_not_restarted() -> TestResult {
    let emulator = Emulator::builder()
        .with_seed("p", 30)
        .start("127.0.0.1:0")
        .await?;
    for kind in TRANSPORTS {
        let client = client(kind, &emulator, quick_retries())?;
        let error = client
            .list("projects/p")
            .set_page_size(5)
            .set_page_token("not-a-token-the-server-issued")
            .operations()
            .try_collect()
            .await
            .expect_err("the token is refused");
        assert_eq!(error.code(), Code::InvalidArgument, "{kind:?}");
        assert!(error.message().contains("page token"), "{error}");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn overloaded_rest_statuses_are_retried_and_retry_after_is_honoured() -> TestResult {
    for (status, code) in [
        (429, Code::ResourceExhausted),
        (502, Code::Internal),
        (503, Code::Unavailable),
        (504, Code::DeadlineExceeded),
    ] {
        let emulator = Emulator::builder()
            .with_fault(
                Fault::on(Rpc::GetOperation)
                    .every(2)
                    .with_http_status(status)
                    .with_retry_after(Duration::from_secs(1)),
            )
            .start("127.0.0.1:0")
            .await?;
        let name = emulator.create(OperationSpec::new("p"))?;
        // Without retries the status shows, with its code and Retry-After.
        let bare = client(TransportKind::Rest, &emulator, RetryPolicy::never())?;
        bare.get(&name).await?;
        let error = bare.get(&name).await.expect_err("every second call fails");
        assert_eq!((error.code(), error.http_status()), (code, Some(status)));
        assert_eq!(
            error.retry_delay(),
            Some(Duration::from_secs(1)),
            "Retry-After is read"
        );
        // With retries every call gets through; Retry-After capped by the policy's maximum.
        let retrying = client(TransportKind::Rest, &emulator, quick_retries())?;
        for _ in 0..4 {
            retrying.get(&name).await?;
        }
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn permanent_errors_are_not_retried() -> TestResult {
    for code in [
        Code::InvalidArgument,
        Code::NotFound,
        Code::PermissionDenied,
        Code::FailedPrecondition,
    ] {
        let emulator = Emulator::builder()
            .with_fault(Fault::on(Rpc::GetOperation).every(1).with_code(code))
            .start("127.0.0.1:0")
            .await?;
        let fault = emulator.faults().list()[0].0;
        for kind in TRANSPORTS {
            let error = client(kind, &emulator, quick_retries())?
                .get("projects/p/operations/x")
                .await
                .expect_err("always fails");
            assert_eq!(error.code(), code, "{kind:?}");
        }
        assert_eq!(
            emulator.faults().injected(fault),
            Some(2),
            "{code:?}: one attempt per transport"
        );
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_connection_broken_mid_response_is_recovered_by_retrying() -> TestResult {
    let emulator = Emulator::builder()
        .with_fault(Fault::on(Rpc::GetOperation).every(2).dropping_connection())
        .start("127.0.0.1:0")
        .await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    for kind in TRANSPORTS {
        let bare = client(kind, &emulator, RetryPolicy::never())?;
        let mut failures = Vec::new();
        for _ in 0..4 {
            if let Err(error) = bare.get(&name).await {
                failures.push(error.code());
            }
        }
        assert_eq!(
            failures,
            [Code::Unavailable, Code::Unavailable],
            "{kind:?}: broken replies are UNAVAILABLE"
        );
        let retrying = client(kind, &emulator, quick_retries())?;
        for _ in 0..4 {
            retrying.get(&name).await?;
        }
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_endpoint_that_is_down_is_tried_until_the_deadline_and_named() -> TestResult {
    let closed = ClosedPort::new()?;
    let endpoint = closed.endpoint();
    for kind in TRANSPORTS {
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(&endpoint)
            .with_credentials(Credentials::anonymous())
            .with_retry_policy(quick_retries())
            .build()?;
        // Connecting is tried again, backing off, until the deadline.
        let error = client
            .get("projects/p/operations/x")
            .with_timeout(Duration::from_millis(500))
            .await
            .expect_err("nothing listens");
        assert!(
            matches!(error.code(), Code::Unavailable | Code::DeadlineExceeded),
            "{kind:?}: {error:?}"
        );
        assert!(error.to_string().contains(&endpoint), "{error}");
    }
    Ok(())
}

#[tokio::test]
async fn a_server_restart_is_recovered_by_reconnecting() -> TestResult {
    let first = Emulator::builder().start("127.0.0.1:0").await?;
    let address = first.local_addr();
    let clients: Vec<Client> = TRANSPORTS
        .iter()
        .map(|kind| client(*kind, &first, quick_retries()))
        .collect::<Result<_, _>>()?;
    let name = first.create(OperationSpec::new("p").with_id("before"))?;
    for client in &clients {
        client.get(&name).await?;
    }
    first.shutdown().await?;
    // The same address, a new server (and new state): the pooled
    // connections are gone, and the clients reconnect.
    let second = Emulator::builder().start(&address.to_string()).await?;
    let name = second.create(OperationSpec::new("p").with_id("after"))?;
    for client in &clients {
        let op = client.get(&name).await?;
        assert_eq!(op.id(), "after");
    }
    second.shutdown().await?;
    Ok(())
}
