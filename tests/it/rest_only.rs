//! Against a server that speaks only HTTP/1.1 REST (no gRPC): `auto` falls
//! back to REST on the first call and keeps that choice; `grpc` fails with
//! UNAVAILABLE rather than hanging or guessing.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use eeops::rpc::Code;
use eeops::{Client, RetryPolicy, TransportKind};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::support::plain_rest::PlainRest;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const OPERATION: &str = r#"{"name":"projects/p/operations/X","done":true,
  "metadata":{"@type":"type.googleapis.com/google.earthengine.v1.OperationMetadata","state":"SUCCEEDED","futureField":1},
  "response":{"@type":"type.googleapis.com/google.protobuf.Empty"}}"#;

/// Counts accepted connections and REST requests.
#[derive(Default)]
pub(crate) struct Counts {
    connections: AtomicUsize,
    requests: AtomicUsize,
}

pub(crate) async fn rest_only_server()
-> Result<(String, Arc<Counts>, tokio::task::JoinHandle<()>), std::io::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let counts = Arc::new(Counts::default());
    let seen = counts.clone();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.connections.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                    let found = request.method() == "GET"
                        && request.uri().path() == "/v1/projects/p/operations/X";
                    let (status, body) = if found {
                        (200, OPERATION.to_owned())
                    } else {
                        (
                            404,
                            r#"{"error":{"code":404,"message":"nope","status":"NOT_FOUND"}}"#
                                .to_owned(),
                        )
                    };
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap_or_default(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    Ok((endpoint, counts, task))
}

#[tokio::test]
async fn auto_falls_back_to_rest_once_and_keeps_it() -> TestResult {
    let (endpoint, counts, server) = rest_only_server().await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(TransportKind::Auto)
        .with_endpoint(&endpoint)
        .build()?;
    let first = client.get("projects/p/operations/X").await?;
    assert!(first.done);
    assert_eq!(first.state(), eeops::earthengine::State::Succeeded);
    let after_first = counts.connections.load(Ordering::SeqCst);
    for _ in 0..3 {
        let again = client.get("projects/p/operations/X").await?;
        assert_eq!(again, first);
    }
    // Later calls go straight to REST on the pooled connection: no new
    // gRPC attempts, no new connections.
    assert_eq!(counts.connections.load(Ordering::SeqCst), after_first);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 4);
    let missing = client
        .get("projects/p/operations/Y")
        .await
        .expect_err("not there");
    assert_eq!(missing.code(), Code::NotFound);
    server.abort();
    Ok(())
}

#[tokio::test]
async fn grpc_against_a_rest_only_server_fails_cleanly() -> TestResult {
    let (endpoint, counts, server) = rest_only_server().await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(TransportKind::Grpc)
        .with_endpoint(&endpoint)
        .with_retry_policy(RetryPolicy::never())
        .build()?;
    let error = client
        .get("projects/p/operations/X")
        // A peer that closes unheard is tried again until the deadline, as
        // a restarting server would be: a short one keeps the test quick.
        .with_timeout(std::time::Duration::from_secs(2))
        .await
        .expect_err("no gRPC there");
    assert!(
        matches!(
            error.code(),
            Code::Unavailable | Code::Internal | Code::Unknown
        ),
        "{error:?}"
    );
    assert_eq!(
        counts.requests.load(Ordering::SeqCst),
        0,
        "no REST request was made"
    );
    server.abort();
    Ok(())
}

fn plain_client(endpoint: &str) -> eeops::Result<Client> {
    Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_transport(TransportKind::Rest)
        .with_endpoint(endpoint)
        .with_retry_policy(RetryPolicy::never())
        .with_max_response_bytes(1024)
        .build()
}

/// A reply that says `Connection: close` ends its connection: the next
/// call connects anew rather than writing to a connection being closed.
#[tokio::test]
async fn a_connection_the_server_says_it_closes_is_not_used_again() -> TestResult {
    let server = PlainRest::start(true).await?;
    let client = plain_client(&server.endpoint)?;
    for _ in 0..2 {
        client.delete("projects/p/operations/X").await?;
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    Ok(())
}

/// A reply abandoned before its end (here, over the size limit) leaves
/// the rest of its bytes on its connection: the connection is closed, so
/// that they never pass for the next call's reply.
#[tokio::test]
async fn a_reply_left_unread_takes_its_connection_with_it() -> TestResult {
    let server = PlainRest::start(false).await?;
    let client = plain_client(&server.endpoint)?;
    let error = client
        .get("projects/p/operations/BIG")
        .await
        .expect_err("over the limit");
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    let operation = client.get("projects/p/operations/X").await?;
    assert_eq!(operation.name, "projects/p/operations/X");
    assert!(operation.done);
    // A third call reuses the second's connection, read whole.
    client.get("projects/p/operations/X").await?;
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
    Ok(())
}
