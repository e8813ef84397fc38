//! One scenario table — every RPC, paging, filters, cancel semantics,
//! not-found, invalid names, wait timeouts, error details, failures of the
//! connection — run with identical assertions over gRPC, over HTTP/JSON and
//! with the transport chosen automatically, against the in-process emulator
//! on loopback.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use eeops::earthengine::State;
use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::rpc::Code;
use eeops::{Client, Detail, Metadata, Outcome, RetryPolicy, TransportKind};

use crate::support::closed_port::ClosedPort;
use crate::support::relay::Relay;
use crate::support::silent::SilentListener;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn start(kind: TransportKind) -> Result<(RunningEmulator, Client), eeops::Error> {
    let emulator = Emulator::builder()
        .with_queue_time(Duration::ZERO)
        .with_cancel_latency(Duration::from_millis(50))
        .start("127.0.0.1:0")
        .await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(emulator.endpoint())
        .build()?;
    Ok((emulator, client))
}

/// Runs each scenario once per transport.
macro_rules! on_every_transport {
    ($($scenario:ident),* $(,)?) => {
        mod over_grpc {
            $(#[tokio::test]
            async fn $scenario() -> super::TestResult {
                super::$scenario(eeops::TransportKind::Grpc).await
            })*
        }
        mod over_rest {
            $(#[tokio::test]
            async fn $scenario() -> super::TestResult {
                super::$scenario(eeops::TransportKind::Rest).await
            })*
        }
        mod over_auto {
            $(#[tokio::test]
            async fn $scenario() -> super::TestResult {
                super::$scenario(eeops::TransportKind::Auto).await
            })*
        }
    };
}

on_every_transport!(
    oversized_responses_fail_with_resource_exhausted,
    paging_2500_with_churn_delivers_each_operation_exactly_once,
    operation_stream_and_page_tokens_agree,
    cancel_ends_cancelled_with_code_1_and_repeated_cancel_changes_nothing,
    delete_forgets_and_not_found_details_survive_the_trip,
    wait_with_a_short_timeout_returns_a_live_operation_not_done,
    lifecycle_sets_times_progress_and_failure,
    filters_select_and_bad_filters_name_the_problem,
    invalid_names_are_refused_with_invalid_argument,
    refused_connection_is_unavailable_and_names_the_endpoint,
    a_silent_server_hits_the_deadline_as_deadline_exceeded,
    bad_headers_and_endpoints_are_refused_before_sending,
    after_shutdown_calls_are_unavailable,
    a_wait_stays_inside_the_call_deadline,
    https_endpoints_speak_tls,
);

async fn paging_2500_with_churn_delivers_each_operation_exactly_once(
    kind: TransportKind,
) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let handle = emulator.handle();
    let mut originals = Vec::new();
    for i in 0..2500 {
        originals.push(
            handle.create(
                OperationSpec::new("paging")
                    .with_id(format!("original-{i:05}"))
                    .running_until_cancelled(),
            )?,
        );
    }
    let mut unseen: HashSet<String> = originals.iter().cloned().collect();
    let mut removed_before_seen = HashSet::new();
    let mut arrivals: HashMap<String, usize> = HashMap::new();
    let mut pages = client.list("projects/paging").set_page_size(100).pages();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page?;
        page_count += 1;
        assert!(page.operations.len() <= 100);
        for op in &page.operations {
            *arrivals.entry(op.name.clone()).or_default() += 1;
            unseen.remove(&op.name);
        }
        // Churn between pages: new operations, a seen one deleted, an unseen one deleted.
        for j in 0..3 {
            handle.create(OperationSpec::new("paging").with_id(format!("new-{page_count}-{j}")))?;
        }
        if let Some(seen) = page.operations.first() {
            client.delete(&seen.name).await?;
        }
        if let Some(victim) = unseen.iter().next().cloned() {
            client.delete(&victim).await?;
            unseen.remove(&victim);
            removed_before_seen.insert(victim);
        }
    }
    let expected: HashSet<&String> = originals
        .iter()
        .filter(|n| !removed_before_seen.contains(*n))
        .collect();
    let repeated: Vec<_> = arrivals.iter().filter(|(_, count)| **count > 1).collect();
    assert!(repeated.is_empty(), "repeated: {repeated:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|n| !arrivals.contains_key(**n))
        .collect();
    assert!(
        missing.is_empty(),
        "skipped: {} e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert!(page_count >= 20, "only {page_count} pages");
    emulator.shutdown().await?;
    Ok(())
}

async fn operation_stream_and_page_tokens_agree(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    for i in 0..7 {
        emulator.create(OperationSpec::new("p").with_id(format!("op{i}")))?;
    }
    let all = client
        .list("projects/p")
        .set_page_size(3)
        .operations()
        .try_collect()
        .await?;
    let names: Vec<_> = all.iter().map(|op| op.id().to_owned()).collect();
    assert_eq!(names, ["op6", "op5", "op4", "op3", "op2", "op1", "op0"]);
    let first = client.list("projects/p").set_page_size(3).send().await?;
    assert_eq!(first.operations.len(), 3);
    let second = client
        .list("projects/p")
        .set_page_size(3)
        .set_page_token(&first.next_page_token)
        .await?;
    assert_eq!(second.operations[0].id(), "op3");
    emulator.shutdown().await?;
    Ok(())
}

async fn cancel_ends_cancelled_with_code_1_and_repeated_cancel_changes_nothing(
    kind: TransportKind,
) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let name = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
    let before = client.get(&name).await?;
    assert_eq!(before.state(), State::Running);
    client.cancel(&name).await?;
    let cancelling = client.get(&name).await?;
    assert!(matches!(
        cancelling.state(),
        State::Cancelling | State::Cancelled
    ));
    let done = client
        .wait_once(&name)
        .set_server_wait(Duration::from_secs(10))
        .await?;
    assert!(done.done);
    assert_eq!(done.state(), State::Cancelled);
    match done.outcome() {
        Outcome::Cancelled(error) => assert_eq!(error.code() as i32, 1),
        other => panic!("expected a cancelled outcome, got {other:?}"),
    }
    client.cancel(&name).await?;
    let again = client.get(&name).await?;
    assert_eq!(
        again, done,
        "cancelling a finished operation changes nothing"
    );
    emulator.shutdown().await?;
    Ok(())
}

async fn delete_forgets_and_not_found_details_survive_the_trip(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let name = emulator.create(OperationSpec::new("p").with_run_time(Duration::ZERO))?;
    client.get(&name).await?;
    client.delete(&name).await?;
    let error = client
        .get(&name)
        .await
        .expect_err("deleted operations are gone");
    assert_eq!(error.code(), Code::NotFound);
    assert!(error.is_not_found());
    assert!(error.message().contains(&name));
    assert_eq!(
        error.action(),
        Some(format!("getting operation {name}").as_str())
    );
    assert_eq!(
        error.error_info().map(|info| info.reason.as_str()),
        Some("OPERATION_NOT_FOUND")
    );
    assert!(
        error
            .details()
            .iter()
            .any(|d| matches!(d, Detail::ResourceInfo(r) if r.resource_name == name))
    );
    let twice = client
        .delete(&name)
        .await
        .expect_err("a second delete finds nothing");
    assert_eq!(twice.code(), Code::NotFound);
    emulator.shutdown().await?;
    Ok(())
}

async fn wait_with_a_short_timeout_returns_a_live_operation_not_done(
    kind: TransportKind,
) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let live = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
    let op = client
        .wait_once(&live)
        .set_server_wait(Duration::from_millis(200))
        .await?;
    assert!(!op.done);
    assert_eq!(op.state(), State::Running);
    let quick =
        emulator.create(OperationSpec::new("p").with_run_time(Duration::from_millis(300)))?;
    let finished = client
        .wait_once(&quick)
        .set_server_wait(Duration::from_secs(20))
        .await?;
    assert!(finished.done);
    assert_eq!(finished.state(), State::Succeeded);
    emulator.shutdown().await?;
    Ok(())
}

async fn lifecycle_sets_times_progress_and_failure(kind: TransportKind) -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(emulator.endpoint())
        .build()?;
    let queued = emulator.create(
        OperationSpec::new("p")
            .with_type("INGEST_TABLE")
            .with_queue_time(Duration::from_secs(3600)),
    )?;
    let op = client.get(&queued).await?;
    let metadata = op.earth_engine_metadata().expect("Earth Engine metadata");
    assert_eq!(metadata.state(), State::Pending);
    assert_eq!(metadata.r#type, "INGEST_TABLE");
    assert!(metadata.created_at().is_some() && metadata.started_at().is_none());

    let failing = emulator.create(
        OperationSpec::new("p")
            .with_queue_time(Duration::from_millis(10))
            .with_run_time(Duration::from_millis(200))
            .failing_with(Code::ResourceExhausted, "Computation timed out."),
    )?;
    let failed = client
        .wait_once(&failing)
        .set_server_wait(Duration::from_secs(20))
        .await?;
    assert_eq!(failed.state(), State::Failed);
    let error = failed.error().expect("a failed operation has an error");
    assert_eq!(
        (error.code(), error.message()),
        (Code::ResourceExhausted, "Computation timed out.")
    );
    let metadata = failed
        .earth_engine_metadata()
        .expect("Earth Engine metadata");
    assert!(metadata.started_at().is_some() && metadata.ended_at().is_some());
    assert!(metadata.ended_at() >= metadata.started_at());
    assert!(metadata.progress > 0.0 && metadata.progress < 1.0);
    assert!(!metadata.stages.is_empty());
    assert!(matches!(
        failed.decoded_metadata(),
        Metadata::EarthEngine(_)
    ));
    emulator.shutdown().await?;
    Ok(())
}

async fn filters_select_and_bad_filters_name_the_problem(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    emulator.create(
        OperationSpec::new("f")
            .with_id("running")
            .with_type("EXPORT_IMAGE")
            .running_until_cancelled(),
    )?;
    emulator.create(
        OperationSpec::new("f")
            .with_id("queued")
            .with_queue_time(Duration::from_secs(3600)),
    )?;
    emulator.create(
        OperationSpec::new("f")
            .with_id("done")
            .with_type("INGEST_TABLE")
            .created_ago(Duration::from_secs(60))
            .with_run_time(Duration::from_secs(1)),
    )?;
    let ids = |ops: Vec<eeops::longrunning::Operation>| {
        ops.iter().map(|o| o.id().to_owned()).collect::<Vec<_>>()
    };
    let not_done = client
        .list("projects/f")
        .set_filter("done=false")
        .operations()
        .try_collect()
        .await?;
    assert_eq!(ids(not_done), ["queued", "running"]);
    let either = client
        .list("projects/f")
        .set_filter("metadata.state=PENDING OR metadata.type=INGEST_TABLE")
        .operations()
        .try_collect()
        .await?;
    assert_eq!(ids(either), ["done", "queued"]);
    let error = client
        .list("projects/f")
        .set_filter("metadata.colour=red")
        .send()
        .await
        .expect_err("bad filter");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(
        error
            .message()
            .contains("unknown field \"metadata.colour\""),
        "{error}"
    );
    let violation = &error
        .bad_request()
        .expect("BadRequest detail")
        .field_violations[0];
    assert_eq!(violation.field, "filter");
    emulator.shutdown().await?;
    Ok(())
}

async fn invalid_names_are_refused_with_invalid_argument(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let empty = client.get("").await.expect_err("empty name");
    assert_eq!(empty.code(), Code::InvalidArgument);
    for bad in [
        "operations/",
        "projects/p/operations/../x",
        "projects//operations/x",
    ] {
        let error = client.get(bad).await.expect_err(bad);
        assert_eq!(error.code(), Code::InvalidArgument, "{bad}");
    }
    let parent = client
        .list("nonsense")
        .send()
        .await
        .expect_err("bad parent");
    assert_eq!(parent.code(), Code::InvalidArgument);
    emulator.shutdown().await?;
    Ok(())
}

async fn refused_connection_is_unavailable_and_names_the_endpoint(
    kind: TransportKind,
) -> TestResult {
    let closed = ClosedPort::new()?;
    let endpoint = closed.endpoint();
    // A call that never reached a server is sent again until its deadline:
    // a short one keeps the test from waiting out the default minute.
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(&endpoint)
        .with_retry_policy(RetryPolicy::never())
        .with_timeout(Duration::from_secs(2))
        .build()?;
    let error = client
        .get("projects/p/operations/x")
        .await
        .expect_err("nothing listens");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(error.to_string().contains(&endpoint), "{error}");
    Ok(())
}

async fn a_silent_server_hits_the_deadline_as_deadline_exceeded(kind: TransportKind) -> TestResult {
    let server = SilentListener::start().await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(server.url())
        .build()?;
    let error = client
        .get("projects/p/operations/x")
        .with_timeout(Duration::from_millis(300))
        .await
        .expect_err("no answer");
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error:?}");
    assert!(error.is_timeout());
    // The request went out on the connection: it may have been read.
    assert!(!error.is_never_sent(), "{error:?}");
    Ok(())
}

async fn bad_headers_and_endpoints_are_refused_before_sending(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let error = client
        .get("projects/p/operations/x")
        .with_header("x-bad", "a\r\nb")
        .await
        .expect_err("CR LF in a header");
    assert_eq!(error.code(), Code::InvalidArgument);
    let fine = client
        .get("projects/p/operations/x")
        .with_header("x-request-reason", "test")
        .await;
    assert_eq!(fine.err().map(|e| e.code()), Some(Code::NotFound));
    let scheme = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint("ftp://example")
        .build()
        .expect_err("scheme");
    assert!(scheme.to_string().contains("http://"), "{scheme}");
    emulator.shutdown().await?;
    Ok(())
}

async fn after_shutdown_calls_are_unavailable(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    client.get(&name).await?;
    emulator.shutdown().await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(client.endpoint())
        .with_retry_policy(RetryPolicy::never())
        // Re-sent until the deadline, as above.
        .with_timeout(Duration::from_secs(2))
        .build()?;
    let error = client.get(&name).await.expect_err("server is gone");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    Ok(())
}

async fn a_wait_stays_inside_the_call_deadline(kind: TransportKind) -> TestResult {
    let (emulator, client) = start(kind).await?;
    let live = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
    // No wait timeout: the server-side wait is fitted inside the 3 s call
    // (the room left for the reply is generous, for loaded machines).
    let op = client
        .wait_once(&live)
        .with_timeout(Duration::from_secs(3))
        .await?;
    assert!(!op.done);

    emulator.shutdown().await?;
    Ok(())
}

async fn https_endpoints_speak_tls(kind: TransportKind) -> TestResult {
    // The emulator speaks plaintext HTTP/2: a TLS handshake with it fails,
    // which shows that https:// goes through TLS rather than falling back.
    // A relay in front counts the connections.
    let (emulator, _client) = start(kind).await?;
    let relay = Relay::start(emulator.local_addr()).await?;
    let tls_endpoint = relay.endpoint().replace("http://", "https://");
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(&tls_endpoint)
        .build()?;
    let error = client
        .get("projects/p/operations/x")
        .with_timeout(Duration::from_secs(20))
        .await
        .expect_err("no TLS there");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(error.is_never_sent(), "{error:?}");
    assert!(error.to_string().contains(&tls_endpoint), "{error}");
    // A peer that does not answer in TLS will not on a second try: the
    // default retry policy sends the request once.
    assert_eq!(relay.accepted(), 1);
    emulator.shutdown().await?;
    Ok(())
}

async fn oversized_responses_fail_with_resource_exhausted(kind: TransportKind) -> TestResult {
    let emulator = Emulator::builder()
        .with_seed("big", 60)
        .start("127.0.0.1:0")
        .await?;
    let small = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(kind)
        .with_endpoint(emulator.endpoint())
        .with_max_response_bytes(4096)
        .build()?;
    let error = small
        .list("projects/big")
        .set_page_size(60)
        .send()
        .await
        .expect_err("over the limit");
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    // A page under the limit still comes through the same client.
    let page = small.list("projects/big").set_page_size(1).send().await?;
    assert_eq!(page.operations.len(), 1);
    emulator.shutdown().await?;
    Ok(())
}
