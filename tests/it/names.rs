//! Operation names through the public API against the emulator: bare task
//! ids work in every method of a client given a project, over each
//! transport; a name that fits no route is refused with the same words
//! over gRPC, REST and auto, before anything is sent.

use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec};
use eeops::rpc::Code;
use eeops::{Client, Credentials, OperationName, TransportKind};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORTS: [TransportKind; 3] = [
    TransportKind::Grpc,
    TransportKind::Rest,
    TransportKind::Auto,
];

fn client(endpoint: &str, transport: TransportKind) -> eeops::Result<eeops::ClientBuilder> {
    Ok(Client::builder()
        .with_endpoint(endpoint)
        .with_transport(transport)
        .with_credentials(Credentials::anonymous())
        .with_timeout(Duration::from_secs(30)))
}

#[tokio::test]
async fn bare_ids_work_in_every_method_of_a_client_with_a_project() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    for transport in TRANSPORTS {
        let client = client(&emulator.endpoint(), transport)?
            .with_project("p")
            .build()?;
        let tag = format!("{transport:?}");
        let quick = emulator.create(
            OperationSpec::new("p")
                .with_id(format!("QUICK_{tag}"))
                .with_run_time(Duration::from_millis(100)),
        )?;
        let long = emulator.create(
            OperationSpec::new("p")
                .with_id(format!("LONG_{tag}"))
                .running_until_cancelled(),
        )?;

        let got = client.get(format!("QUICK_{tag}")).await?;
        assert_eq!(got.name, quick);
        let done = client.until_done(format!("QUICK_{tag}")).await?;
        assert!(done.done && done.name == quick, "{transport:?}");
        let mut watch = client.watch([format!("QUICK_{tag}")]).stream();
        let change = watch.next().await.ok_or("no change")??;
        assert_eq!(change.operation.name, quick);

        client.cancel(format!("LONG_{tag}")).await?;
        let cancelled = client.until_done(format!("LONG_{tag}")).await?;
        assert_eq!(cancelled.name, long);
        client.delete(format!("LONG_{tag}")).await?;
        let gone = client
            .get(format!("LONG_{tag}"))
            .await
            .expect_err("deleted");
        assert_eq!(gone.code(), Code::NotFound, "{gone}");

        let page = client.list_in_project().send().await?;
        assert!(
            page.operations.iter().any(|op| op.name == quick),
            "{transport:?}"
        );
        // Full names are used as given, project or not.
        let typed: OperationName = quick.parse()?;
        assert_eq!(client.get(&typed).await?.name, quick);
        assert_eq!(client.full_name(format!("QUICK_{tag}"))?, quick);
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_name_that_fits_no_route_gets_the_same_error_on_every_transport() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let bad_names = [
        "BARE_ID_WITHOUT_PROJECT",
        "tasks/ABC",
        "projects/p/tasks/ABC",
        "projects//operations/ABC",
        "projects/p/operations/a//b",
        "projects/p/operations/..",
        "operations/ABC",
    ];
    let mut messages: Vec<Vec<String>> = Vec::new();
    for transport in TRANSPORTS {
        let client = client(&emulator.endpoint(), transport)?.build()?;
        let mut seen = Vec::new();
        for name in bad_names {
            for error in [
                client.get(name).await.expect_err(name),
                client.cancel(name).await.expect_err(name),
                client.delete(name).await.expect_err(name),
                client.wait_once(name).await.expect_err(name),
                client.until_done(name).await.expect_err(name),
            ] {
                assert_eq!(error.code(), Code::InvalidArgument, "{transport:?} {error}");
                assert!(error.is_never_sent(), "{transport:?} {error}");
                assert!(
                    error.message().starts_with("invalid operation name"),
                    "{transport:?} {error}"
                );
                seen.push(error.to_string());
            }
        }
        let parent = client
            .list("projects/p/x")
            .send()
            .await
            .expect_err("parent");
        assert!(
            parent.message().starts_with("invalid parent name"),
            "{parent}"
        );
        seen.push(parent.to_string());
        messages.push(seen);
    }
    assert_eq!(messages[0], messages[1], "gRPC and REST differ");
    assert_eq!(messages[0], messages[2], "gRPC and auto differ");
    assert!(
        messages[0][0].contains("with_project"),
        "a bare id says what it needs: {}",
        messages[0][0]
    );
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn listing_in_a_project_needs_one() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let client = client(&emulator.endpoint(), TransportKind::Grpc)?.build()?;
    let error = client
        .list_in_project()
        .send()
        .await
        .expect_err("no project");
    assert!(error.message().contains("with_project"), "{error}");
    assert!(
        client
            .full_name("ABC")
            .expect_err("no project")
            .message()
            .contains("needs a project")
    );
    // A client for another project shares the connection.
    let other = client.in_project("p");
    let name = emulator.create(OperationSpec::new("p").with_id("X1"))?;
    assert_eq!(other.get("X1").await?.name, name);
    emulator.shutdown().await?;
    Ok(())
}
