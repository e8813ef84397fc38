//! Tower layers of the caller's own around the requests both transports
//! send: a layer that counts requests and adds a header, seen by the
//! emulator on every attempt; a layer that refuses, and one that refuses
//! with an eeops error, end the call with a clear error and send nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use eeops::emulator::{Emulator, Fault, OperationSpec, RunningEmulator};
use eeops::layer::{BoxBody, BoxError, HttpService};
use eeops::rpc::Code;
use eeops::{Client, Credentials, RetryPolicy, Rpc, TransportKind};
use http::{HeaderValue, Request, Response};
use tower_service::Service;

use crate::emulator_auth::fingerprint;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORTS: [TransportKind; 3] = [
    TransportKind::Grpc,
    TransportKind::Rest,
    TransportKind::Auto,
];

/// Counts the requests it sees, notes whether they carried the bearer
/// token, and tags each with `x-counted: <n>`.
#[derive(Clone)]
struct Counting {
    inner: HttpService,
    count: Arc<AtomicUsize>,
    with_token: Arc<AtomicUsize>,
}

impl Service<Request<BoxBody>> for Counting {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = <HttpService as Service<Request<BoxBody>>>::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request<BoxBody>) -> Self::Future {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if request
            .headers()
            .get(http::header::AUTHORIZATION)
            .is_some_and(|value| value.as_bytes().starts_with(b"Bearer "))
        {
            self.with_token.fetch_add(1, Ordering::SeqCst);
        }
        request
            .headers_mut()
            .insert("x-counted", HeaderValue::from(n));
        self.inner.call(request)
    }
}

/// Refuses every request with `error()`, before it goes anywhere.
#[derive(Clone)]
struct Refusing {
    error: fn() -> BoxError,
}

impl Service<Request<BoxBody>> for Refusing {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = std::future::Ready<Result<Response<BoxBody>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<BoxBody>) -> Self::Future {
        std::future::ready(Err((self.error)()))
    }
}

/// An `x-counted` value as the emulator records it.
fn tagged(value: &str) -> String {
    format!("sha256:{}", fingerprint(value.as_bytes()))
}

async fn recording_emulator(
    dir: &tempfile::TempDir,
    token: Option<&str>,
) -> Result<RunningEmulator, eeops::Error> {
    let builder = Emulator::builder().with_record_file(dir.path().join("requests.jsonl"));
    match token {
        Some(token) => builder.with_required_token(token),
        None => builder,
    }
    .start("127.0.0.1:0")
    .await
}

#[tokio::test]
async fn a_layer_sees_every_attempt_on_every_transport_and_its_header_arrives() -> TestResult {
    for kind in TRANSPORTS {
        let dir = tempfile::tempdir()?;
        let emulator = recording_emulator(&dir, Some("layer-token")).await?;
        // Every second GetOperation fails once, so the call is retried.
        emulator.faults().add(
            Fault::on(Rpc::GetOperation)
                .every(2)
                .with_code(Code::Unavailable),
        );
        let name = emulator.create(OperationSpec::new("p"))?;
        let count = Arc::new(AtomicUsize::new(0));
        let with_token = Arc::new(AtomicUsize::new(0));
        let (counted, tokens) = (count.clone(), with_token.clone());
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::from_access_token("layer-token")?)
            .with_retry_policy(RetryPolicy::new().with_initial_delay(Duration::from_millis(1)))
            .with_layer(tower_layer::layer_fn(move |inner| Counting {
                inner,
                count: counted.clone(),
                with_token: tokens.clone(),
            }))
            .build()?;
        client.get(&name).await?;
        client.get(&name).await?;
        let page = client.list("projects/p").send().await?;
        assert_eq!(page.operations.len(), 1);

        let records = emulator.records();
        let tags: Vec<Option<&str>> = records
            .iter()
            .map(|record| record["headers"]["x-counted"].as_str())
            .collect();
        // Two gets (the second tried twice) and a list: four requests, each
        // through the layer, in order (the emulator records the values of
        // headers it does not know as fingerprints).
        let expected: Vec<String> = ["1", "2", "3", "4"].iter().map(|n| tagged(n)).collect();
        assert_eq!(
            tags,
            expected
                .iter()
                .map(|tag| Some(tag.as_str()))
                .collect::<Vec<_>>(),
            "{kind:?}: {records:#?}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 4, "{kind:?}");
        assert_eq!(with_token.load(Ordering::SeqCst), 4, "{kind:?}: below auth");
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn layers_nest_the_first_given_outermost() -> TestResult {
    let dir = tempfile::tempdir()?;
    let emulator = recording_emulator(&dir, None).await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    for kind in [TransportKind::Grpc, TransportKind::Rest] {
        let outer = Arc::new(AtomicUsize::new(0));
        let inner = Arc::new(AtomicUsize::new(100));
        let (o, i) = (outer.clone(), inner.clone());
        let unused = Arc::new(AtomicUsize::new(0));
        let u = unused.clone();
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::anonymous())
            .with_layer(tower_layer::layer_fn(move |inner| Counting {
                inner,
                count: o.clone(),
                with_token: u.clone(),
            }))
            .with_layer(tower_layer::layer_fn(move |inner| Counting {
                inner,
                count: i.clone(),
                with_token: unused.clone(),
            }))
            .build()?;
        client.get(&name).await?;
        // The inner layer set the header last: its count reached the server.
        let records = emulator.records();
        let last = records.last().ok_or("no request recorded")?;
        assert_eq!(
            last["headers"]["x-counted"].as_str(),
            Some(tagged("101").as_str()),
            "{kind:?}"
        );
        assert_eq!(outer.load(Ordering::SeqCst), 1);
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_refusing_layer_ends_the_call_with_an_error_that_says_so() -> TestResult {
    let dir = tempfile::tempdir()?;
    let emulator = recording_emulator(&dir, None).await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    for kind in TRANSPORTS {
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::anonymous())
            .with_retry_policy(RetryPolicy::never())
            .with_layer(tower_layer::layer_fn(|_inner: HttpService| Refusing {
                error: || "rate limit of 10 requests/s exceeded".into(),
            }))
            .build()?;
        let error = client.get(&name).await.expect_err("refused by the layer");
        assert_eq!(error.code(), Code::Unavailable, "{kind:?}: {error:?}");
        let text = error.to_string();
        assert!(
            text.contains("a request layer failed the request")
                && text.contains("rate limit of 10 requests/s exceeded"),
            "{kind:?}: {text}"
        );
        assert!(error.is_never_sent(), "{kind:?}: {error:?}");

        // A layer that fails with an eeops error ends the call with it.
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::anonymous())
            .with_retry_policy(RetryPolicy::never())
            .with_layer(tower_layer::layer_fn(|_inner: HttpService| Refusing {
                error: || {
                    Box::new(eeops::Error::new(
                        Code::ResourceExhausted,
                        "the caller's own quota is spent",
                    ))
                },
            }))
            .build()?;
        let error = client.get(&name).await.expect_err("refused by the layer");
        assert_eq!(error.code(), Code::ResourceExhausted, "{kind:?}: {error:?}");
        assert!(
            error
                .to_string()
                .contains("the caller's own quota is spent")
        );
    }
    assert!(emulator.records().is_empty(), "nothing reached the server");
    emulator.shutdown().await?;
    Ok(())
}
