//! Google's own generated client for the Operations API, googleapis'
//! `google-cloud-longrunning` crate, against the emulator, unchanged: it
//! uses the generic `/v1/{name=operations/**}` bindings (WaitOperation has
//! none) and adds `$alt=json;enum-encoding=int` to every call.

use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec};
use google_cloud_longrunning::client::Operations;
use google_cloud_longrunning::model::operation::Result as Outcome;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn googles_rust_client_lists_gets_cancels_and_deletes() -> TestResult {
    // Built without a default crypto provider (this crate uses ring); the
    // emulator is plaintext, but the client's HTTP stack wants one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let records = tempfile::tempdir()?;
    let emulator = Emulator::builder()
        .with_record_file(records.path().join("requests.jsonl"))
        .start("127.0.0.1:0")
        .await?;
    let running = emulator.create(
        OperationSpec::unscoped()
            .with_type("EXPORT_IMAGE")
            .with_description("stays running")
            .running_until_cancelled(),
    )?;
    let finished = emulator.create(
        OperationSpec::unscoped()
            .with_queue_time(Duration::ZERO)
            .with_run_time(Duration::ZERO),
    )?;
    let in_a_project = emulator.create(OperationSpec::new("p"))?;
    let client = Operations::builder()
        .with_endpoint(emulator.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .build()
        .await?;

    let page = client
        .list_operations()
        .set_name("operations")
        .set_page_size(10)
        .send()
        .await?;
    let mut listed: Vec<&str> = page.operations.iter().map(|op| op.name.as_str()).collect();
    listed.sort_unstable();
    let mut expected = vec![running.as_str(), finished.as_str()];
    expected.sort_unstable();
    assert_eq!(listed, expected, "only the operations named operations/...");
    assert!(!listed.contains(&in_a_project.as_str()));

    let fetched = client.get_operation().set_name(&running).send().await?;
    assert_eq!(fetched.name, running);
    assert!(!fetched.done);
    assert_eq!(
        fetched.metadata.as_ref().and_then(|any| any.type_url()),
        Some(eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0])
    );

    // WaitOperation has no HTTP binding: the emulator's own wait (which
    // returns when the operation changes), over gRPC, says when to look
    // again. The generic routes let the client send names of that form.
    let waiter = eeops::Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_transport(eeops::TransportKind::Grpc)
        .with_routes(eeops::Routes::generic())
        .with_credentials(eeops::Credentials::anonymous())
        .build()?;
    waiter
        .wait_once(&finished)
        .set_server_wait(Duration::from_secs(30))
        .await?;
    let done = client.get_operation().set_name(&finished).send().await?;
    assert!(done.done);
    assert!(!matches!(done.result, Some(Outcome::Error(_))));

    client.cancel_operation().set_name(&running).send().await?;
    waiter
        .wait_once(&running)
        .set_server_wait(Duration::from_secs(30))
        .await?;
    let cancelled = client.get_operation().set_name(&running).send().await?;
    assert!(cancelled.done);
    match &cancelled.result {
        Some(Outcome::Error(status)) => assert_eq!(status.code, 1, "CANCELLED"),
        other => panic!("not cancelled: {other:?}"),
    }

    client.delete_operation().set_name(&running).send().await?;
    let gone = client
        .get_operation()
        .set_name(&running)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(gone.http_status_code(), Some(404), "{gone}");
    assert!(
        gone.status()
            .is_some_and(|status| status.message.contains(&running)),
        "{gone}"
    );

    // What it sent is what Google's generated clients send on every call.
    let paths: Vec<String> = emulator
        .records()
        .iter()
        .filter_map(|record| record["path"].as_str().map(str::to_owned))
        .collect();
    let from_google: Vec<&String> = paths
        .iter()
        .filter(|path| path.starts_with("/v1/operations"))
        .collect();
    assert_eq!(from_google.len(), 7, "{paths:?}");
    // The record keeps a fingerprint of the value; every call being
    // answered shows the value was taken (an unknown one is refused).
    assert!(
        from_google.iter().all(|path| path.contains("%24alt=")),
        "{paths:?}"
    );
    emulator.shutdown().await?;
    Ok(())
}
