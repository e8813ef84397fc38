//! The tool against Earth Engine-dialect servers that are not ours: list
//! conditions hold whatever a server does with filters, `cancel --all` and
//! `wait --all` act on what each operation says of itself, and the names
//! people use for types and states are understood; metadata a gRPC server
//! numbers its own way is kept raw instead of misread.

use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use eeops::earthengine::State;
use eeops::emulator::{Emulator, OperationSpec};
use eeops::longrunning::{ListOperationsResponse, Operation};
use eeops::{
    Client, Credentials, EARTH_ENGINE_METADATA_TYPE_URLS, Metadata, TaskFilter, TransportKind,
};
use prost::Message as _;

use crate::support::foreign_grpc::{self, ForeignGrpc};
use crate::support::foreign_rest::{Filters, ForeignRest, PROJECT};
use crate::support::listing::error_after;
use crate::support::serve::{EEOPS, isolated};

fn eeops(server: &ForeignRest, args: &[&str]) -> Output {
    isolated(Command::new(EEOPS).args([
        "--endpoint",
        &server.endpoint,
        "--transport",
        "rest",
        "--project",
        PROJECT,
        "--no-auth",
    ]))
    .args(args)
    .stdin(Stdio::null())
    .output()
    .expect("the eeops binary runs")
}

/// The task ids of a JSON array of operations, sorted.
fn ids(output: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let operations: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let mut ids: Vec<String> = operations
        .as_array()
        .expect("an array")
        .iter()
        .map(|op| {
            let name = op["name"].as_str().expect("a name");
            name.rsplit('/').next().unwrap_or(name).to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn list_conditions_hold_whether_the_server_refuses_or_ignores_filters() {
    for filters in [Filters::Refused, Filters::Ignored] {
        let server = ForeignRest::start(filters, false);
        let list = |args: &[&str]| {
            let mut all = vec!["list", "--format", "json"];
            all.extend_from_slice(args);
            ids(&eeops(&server, &all))
        };
        assert_eq!(
            list(&["--state", "running"]),
            ["RUNNINGIMAGE"],
            "{filters:?}"
        );
        assert_eq!(
            list(&["--state", "READY,COMPLETED"]),
            ["DONEIMAGE", "PENDINGTABLE"],
            "{filters:?}"
        );
        for image in ["Export.image", "export_image", "EXPORT_IMAGE"] {
            assert_eq!(
                list(&["--type", image]),
                ["DONEIMAGE", "RUNNINGIMAGE"],
                "{filters:?} {image}"
            );
        }
        assert_eq!(list(&["--type", "Upload"]), ["FAILEDUPLOAD"], "{filters:?}");
        assert_eq!(
            list(&["--type", "Export.table", "--type", "export.video"]),
            ["CANCELLINGVIDEO", "PENDINGTABLE"],
            "{filters:?}"
        );
        assert_eq!(
            list(&["--description", "NIGHTLY-*"]),
            ["DONEIMAGE", "RUNNINGIMAGE"],
            "{filters:?}"
        );
        assert_eq!(
            list(&["--description", "nightly-*", "--since", "2h"]),
            ["RUNNINGIMAGE"],
            "{filters:?}"
        );
        assert_eq!(
            list(&["--since", "1970-01-02", "--state", "FAILED"]),
            ["FAILEDUPLOAD"],
            "{filters:?}"
        );
        assert!(
            list(&["--since", "2999-01-01T00:00:00Z"]).is_empty(),
            "{filters:?}"
        );
        // Both pages were read every time, and no condition became a filter.
        let requests = server.requests();
        assert!(
            requests.iter().all(|r| !r
                .split(['?', '&'])
                .any(|p| p.len() > 7 && p.starts_with("filter="))),
            "{requests:?}"
        );
        assert!(requests.iter().any(|r| r.contains("pageToken=second")));
    }
}

#[test]
fn a_pass_through_filter_reaches_the_server_as_given() {
    let server = ForeignRest::start(Filters::Refused, false);
    let output = eeops(&server, &["list", "--filter", "done=false"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Invalid filter"), "{stderr}");
}

#[test]
fn unknown_types_and_states_are_usage_errors_naming_the_known_ones() {
    let server = ForeignRest::start(Filters::Ignored, false);
    for (args, known) in [
        (
            ["list", "--type", "Export.images"],
            "EXPORT_IMAGE (Export.image)",
        ),
        (["list", "--state", "DONE"], "CANCEL_REQUESTED"),
    ] {
        let output = eeops(&server, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(known), "{args:?}: {stderr}");
    }
    assert!(
        server.requests().is_empty(),
        "nothing is sent on a usage error"
    );
}

#[test]
fn cancel_all_sends_cancels_only_for_pending_and_running_operations() {
    let server = ForeignRest::start(Filters::Ignored, false);
    let output = eeops(&server, &["cancel", "--all", "--yes", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let mut cancelled: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.ends_with(":cancel"))
        .collect();
    cancelled.sort();
    assert_eq!(
        cancelled,
        [
            format!("POST /v1/projects/{PROJECT}/operations/PENDINGTABLE:cancel"),
            format!("POST /v1/projects/{PROJECT}/operations/RUNNINGIMAGE:cancel"),
        ]
    );

    let server = ForeignRest::start(Filters::Refused, false);
    let output = eeops(
        &server,
        &[
            "cancel",
            "--all",
            "--yes",
            "--state",
            "SUCCEEDED,FAILED",
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(
        !server.requests().iter().any(|r| r.ends_with(":cancel")),
        "{:?}",
        server.requests()
    );
}

#[test]
fn wait_all_waits_for_the_operations_not_done() {
    let server = ForeignRest::start(Filters::Refused, true);
    let output = eeops(&server, &["wait", "--all", "--format", "json"]);
    assert_eq!(
        ids(&output),
        ["CANCELLINGVIDEO", "PENDINGTABLE", "RUNNINGIMAGE"]
    );
}

/// A client over gRPC, without credentials.
fn grpc_client(endpoint: &str) -> eeops::Result<Client> {
    Client::builder()
        .with_endpoint(endpoint)
        .with_transport(TransportKind::Grpc)
        .with_credentials(Credentials::anonymous())
        .build()
}

#[tokio::test]
async fn metadata_numbered_by_another_grpc_server_is_kept_raw() -> eeops::Result<()> {
    let server = ForeignGrpc::start(None);
    let client = grpc_client(&server.endpoint)?;
    let fetched = client.get(foreign_grpc::NAME).await?;
    let listed = client
        .list("projects/foreign")
        .operations()
        .try_collect()
        .await?;
    for op in [&fetched, &listed[0]] {
        match op.decoded_metadata() {
            Metadata::Undecodable(any) => {
                assert_eq!(any.type_url, EARTH_ENGINE_METADATA_TYPE_URLS[0]);
                assert_eq!(any.value, foreign_grpc::foreign_metadata());
            }
            other => panic!("read with a numbering the server never claimed: {other:?}"),
        }
        assert_eq!(op.earth_engine_metadata(), None);
        // From `done` alone, not the misread state code (4 is SUCCEEDED in ours).
        assert_eq!(op.state(), State::Running);
        assert_eq!(
            eeops::json::operation_to_json(op)["metadata"],
            serde_json::json!({
                "@type": EARTH_ENGINE_METADATA_TYPE_URLS[0],
                "value": base64::engine::general_purpose::STANDARD
                    .encode(foreign_grpc::foreign_metadata()),
            })
        );
        let by_type = TaskFilter::new().with_types(["EXPORT_IMAGE"]);
        assert!(!by_type.matches(op), "no type is known, so none matches");
    }
    Ok(())
}

#[tokio::test]
async fn a_listed_operation_that_cannot_be_decoded_ends_the_listing_where_it_is()
-> eeops::Result<()> {
    let named = |name: &str| Operation {
        name: name.to_owned(),
        ..Operation::default()
    };
    // Field 1 (an operation) three times, the second not an operation: its
    // own field 1 claims 127 bytes where one follows. Then a next page.
    let mut page = ListOperationsResponse {
        operations: vec![named("a")],
        ..ListOperationsResponse::default()
    }
    .encode_to_vec();
    page.extend_from_slice(&[0x0a, 0x03, 0x0a, 0x7f, b'x']);
    ListOperationsResponse {
        operations: vec![named("c")],
        next_page_token: "more".to_owned(),
        ..ListOperationsResponse::default()
    }
    .encode(&mut page)
    .map_err(|e| eeops::Error::new(eeops::rpc::Code::Internal, e.to_string()))?;
    let server = ForeignGrpc::listing(page.into());
    let client = grpc_client(&server.endpoint)?;

    let mut operations = client.list("projects/foreign").operations();
    let error = error_after(&mut operations, &["a"]).await;
    assert_eq!(error.code(), eeops::rpc::Code::Internal, "{error}");
    let message = error.to_string();
    for part in [
        "operations[1]",
        "listing operations of projects/foreign",
        server.endpoint.as_str(),
    ] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }

    // As one page, it fails whole.
    let whole = client
        .list("projects/foreign")
        .send()
        .await
        .expect_err("a page with an undecodable operation");
    assert_eq!(whole.to_string(), message);
    Ok(())
}

#[tokio::test]
async fn the_servers_word_is_what_allows_our_numbering() -> eeops::Result<()> {
    // The same bytes from a server that claims our numbering are read with
    // it — and misread, which is why nothing else is trusted.
    let server = ForeignGrpc::start(Some(("x-eeops-metadata-numbering", "eeops-1")));
    let op = grpc_client(&server.endpoint)?
        .get(foreign_grpc::NAME)
        .await?;
    let metadata = op
        .earth_engine_metadata()
        .expect("decoded on the server's word");
    assert_eq!(metadata.description, foreign_grpc::KIND);
    assert_eq!(op.state(), State::Succeeded);
    // Our emulator says so, and is read right.
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(
        OperationSpec::new("p")
            .with_type("EXPORT_VIDEO")
            .with_description("timelapse")
            .running_until_cancelled(),
    )?;
    let op = grpc_client(&emulator.endpoint())?.get(&name).await?;
    let metadata = op.earth_engine_metadata().expect("decoded");
    assert_eq!(
        (metadata.r#type.as_str(), metadata.description.as_str()),
        ("EXPORT_VIDEO", "timelapse")
    );
    emulator.shutdown().await?;
    Ok(())
}

#[test]
fn the_tool_shows_such_metadata_as_not_decodable_and_says_why_at_v() {
    let server = ForeignGrpc::start(None);
    let run = |args: &[&str]| {
        isolated(Command::new(EEOPS).args([
            "--endpoint",
            &server.endpoint,
            "--transport",
            "grpc",
            "--no-auth",
        ]))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the eeops binary runs")
    };
    let info = run(&["-v", "info", foreign_grpc::NAME, "--format", "table"]);
    let stdout = String::from_utf8_lossy(&info.stdout);
    let stderr = String::from_utf8_lossy(&info.stderr);
    assert_eq!(info.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("not decodable"), "{stdout}");
    assert!(!stdout.contains(foreign_grpc::DESCRIPTION), "{stdout}");
    assert!(stderr.contains("--transport rest"), "{stderr}");
    let quiet = run(&["info", foreign_grpc::NAME, "--format", "table"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("--transport rest"));
}
