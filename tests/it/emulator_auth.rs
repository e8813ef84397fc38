//! The emulator's required token and request record, spoken to with plain
//! gRPC and HTTP clients on loopback.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::longrunning::{
    GetOperationRequest, ListOperationsRequest, ListOperationsResponse, Operation,
};
use http::{HeaderMap, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message as _;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The token the emulator requires.
const TOKEN: &str = "ya29.emulator-test-token_0123";

/// A token the emulator does not accept.
const WRONG_TOKEN: &str = "ya29.not-the-right-one_4567";

/// A directory of its own under the system's temporary directory, removed
/// on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "eeops-emulator-auth-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("a new temporary directory");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An emulator requiring [`TOKEN`] and recording to `requests.jsonl` in
/// `dir`, with one operation; returns it and the operation's name.
async fn start(dir: &TempDir) -> Result<(RunningEmulator, String), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder()
        .with_required_token(TOKEN)
        .with_record_file(dir.path().join("requests.jsonl"))
        .start("127.0.0.1:0")
        .await?;
    let name = emulator.create(OperationSpec::new("auth-test").running_until_cancelled())?;
    Ok((emulator, name))
}

/// The first 16 hex digits of SHA-256 of `bytes`.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A raw gRPC client on one HTTP/2 connection.
struct Grpc(tonic::client::Grpc<tonic::transport::Channel>);

impl Grpc {
    async fn connect(emulator: &RunningEmulator) -> Result<Self, Box<dyn std::error::Error>> {
        let channel = tonic::transport::Endpoint::from_shared(emulator.endpoint())?
            .connect()
            .await?;
        Ok(Self(tonic::client::Grpc::new(channel)))
    }

    /// One unary call to `/google.longrunning.Operations/{method}` with the
    /// given `authorization` metadata, if any.
    async fn call<Q, R>(
        &mut self,
        method: &str,
        message: Q,
        authorization: Option<&str>,
    ) -> Result<R, tonic::Status>
    where
        Q: prost::Message + Send + Sync + 'static,
        R: prost::Message + Default + Send + Sync + 'static,
    {
        let mut request = tonic::Request::new(message);
        if let Some(value) = authorization {
            let value = value.parse().expect("a valid metadata value");
            request.metadata_mut().insert("authorization", value);
        }
        self.0
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let path = tonic::codegen::http::uri::PathAndQuery::try_from(format!(
            "/google.longrunning.Operations/{method}"
        ))
        .expect("a valid path");
        let codec = tonic_prost::ProstCodec::<Q, R>::default();
        self.0
            .unary(request, path, codec)
            .await
            .map(tonic::Response::into_inner)
    }

    async fn get(
        &mut self,
        name: &str,
        authorization: Option<&str>,
    ) -> Result<Operation, tonic::Status> {
        let message = GetOperationRequest {
            name: name.to_owned(),
        };
        self.call("GetOperation", message, authorization).await
    }
}

/// The `ErrorInfo` of a gRPC status, from `grpc-status-details-bin`.
fn grpc_error_info(status: &tonic::Status) -> eeops::rpc::ErrorInfo {
    let decoded = eeops::rpc::Status::decode(status.details()).expect("google.rpc.Status details");
    eeops::Error::from_status(decoded)
        .error_info()
        .cloned()
        .expect("an ErrorInfo detail")
}

/// A raw HTTP/1.1 client.
struct Rest {
    client: HttpClient<HttpConnector, Full<Bytes>>,
    base: String,
}

/// One HTTP reply: status, headers and JSON body.
struct Reply {
    status: u16,
    headers: HeaderMap,
    json: Value,
}

impl Rest {
    fn new(emulator: &RunningEmulator) -> Self {
        Self {
            client: HttpClient::builder(TokioExecutor::new()).build_http(),
            base: emulator.endpoint(),
        }
    }

    async fn get(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> Result<Reply, Box<dyn std::error::Error>> {
        let mut request = Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::new()))?)
            .await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await?.to_bytes();
        let json = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "GET {path}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        Ok(Reply {
            status,
            headers,
            json,
        })
    }
}

/// Checks a REST refusal: 401, the challenge, Google's error body with an
/// `ErrorInfo` of `reason`; returns the message.
fn assert_rest_refusal(reply: &Reply, reason: &str) -> String {
    assert_eq!(reply.status, 401, "{:#}", reply.json);
    assert_eq!(
        reply
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"eeops emulator\"")
    );
    let error = &reply.json["error"];
    assert_eq!(error["code"], json!(401), "{:#}", reply.json);
    assert_eq!(error["status"], "UNAUTHENTICATED", "{:#}", reply.json);
    let details = error["details"].as_array().expect("details");
    let info = details
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
        .expect("an ErrorInfo detail");
    assert_eq!(info["reason"], reason, "{:#}", reply.json);
    assert_eq!(info["domain"], "googleapis.com", "{:#}", reply.json);
    error["message"].as_str().expect("a message").to_owned()
}

#[tokio::test]
async fn grpc_calls_need_the_right_bearer_token() -> TestResult {
    let dir = TempDir::new();
    let (emulator, name) = start(&dir).await?;
    let mut grpc = Grpc::connect(&emulator).await?;

    let missing = grpc.get(&name, None).await.expect_err("no token");
    assert_eq!(missing.code(), tonic::Code::Unauthenticated, "{missing:?}");
    assert!(
        missing.message().contains("missing"),
        "{}",
        missing.message()
    );
    let info = grpc_error_info(&missing);
    assert_eq!(info.reason, "CREDENTIALS_MISSING");
    assert_eq!(info.domain, "googleapis.com");

    let wrong = grpc
        .get(&name, Some(&format!("Bearer {WRONG_TOKEN}")))
        .await
        .expect_err("a wrong token");
    assert_eq!(wrong.code(), tonic::Code::Unauthenticated, "{wrong:?}");
    assert!(
        !wrong.message().contains(WRONG_TOKEN),
        "{}",
        wrong.message()
    );
    assert!(
        wrong.message().contains("not the one"),
        "{}",
        wrong.message()
    );
    assert_eq!(grpc_error_info(&wrong).reason, "ACCESS_TOKEN_INVALID");

    for malformed in [
        format!("Basic {TOKEN}"),
        format!("Bearer  {TOKEN}"),
        TOKEN.to_owned(),
    ] {
        let refused = grpc
            .get(&name, Some(&malformed))
            .await
            .expect_err(&malformed);
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{malformed}");
        assert!(
            refused.message().contains("malformed"),
            "{}",
            refused.message()
        );
        assert!(!refused.message().contains(TOKEN), "{}", refused.message());
        assert_eq!(grpc_error_info(&refused).reason, "CREDENTIALS_MALFORMED");
    }

    // Every method is guarded, not only GetOperation.
    let list: Result<ListOperationsResponse, _> = grpc
        .call(
            "ListOperations",
            ListOperationsRequest {
                name: "projects/auth-test".into(),
                ..Default::default()
            },
            None,
        )
        .await;
    assert_eq!(
        list.expect_err("no token").code(),
        tonic::Code::Unauthenticated
    );

    for scheme in ["Bearer", "bearer", "BEARER"] {
        let operation = grpc.get(&name, Some(&format!("{scheme} {TOKEN}"))).await?;
        assert_eq!(operation.name, name);
    }
    let list: ListOperationsResponse = grpc
        .call(
            "ListOperations",
            ListOperationsRequest {
                name: "projects/auth-test".into(),
                ..Default::default()
            },
            Some(&format!("Bearer {TOKEN}")),
        )
        .await?;
    assert_eq!(list.operations.len(), 1);
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn rest_calls_need_the_right_bearer_token() -> TestResult {
    let dir = TempDir::new();
    let (emulator, name) = start(&dir).await?;
    let rest = Rest::new(&emulator);
    let path = format!("/v1/{name}");

    let missing = rest.get(&path, None).await?;
    let message = assert_rest_refusal(&missing, "CREDENTIALS_MISSING");
    assert!(message.contains("missing"), "{message}");

    let wrong = rest
        .get(&path, Some(&format!("Bearer {WRONG_TOKEN}")))
        .await?;
    let message = assert_rest_refusal(&wrong, "ACCESS_TOKEN_INVALID");
    assert!(!message.contains(WRONG_TOKEN), "{message}");

    let malformed = rest.get(&path, Some(&format!("Token {TOKEN}"))).await?;
    let message = assert_rest_refusal(&malformed, "CREDENTIALS_MALFORMED");
    assert!(!message.contains(TOKEN), "{message}");

    // Unknown paths are refused before they are routed.
    let unrouted = rest.get("/v1/nothing/here", None).await?;
    assert_rest_refusal(&unrouted, "CREDENTIALS_MISSING");

    let ok = rest.get(&path, Some(&format!("bearer {TOKEN}"))).await?;
    assert_eq!(ok.status, 200, "{:#}", ok.json);
    assert_eq!(ok.json["name"], json!(name));
    assert!(ok.headers.get("www-authenticate").is_none());
    let list = rest
        .get(
            "/v1/projects/auth-test/operations",
            Some(&format!("Bearer {TOKEN}")),
        )
        .await?;
    assert_eq!(list.status, 200, "{:#}", list.json);
    assert_eq!(list.json["operations"][0]["name"], json!(name));
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn reflection_discovery_and_algorithms_need_no_token() -> TestResult {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = TempDir::new();
    let (emulator, _) = start(&dir).await?;
    let channel = tonic::transport::Endpoint::from_shared(emulator.endpoint())?
        .connect()
        .await?;
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures_util::stream::iter([request]))
        .await?
        .into_inner();
    let response = responses.message().await?.expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response {response:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "google.longrunning.Operations"),
        "{list:?}"
    );

    let rest = Rest::new(&emulator);
    let discovery = rest.get("/$discovery/rest?version=v1", None).await?;
    assert_eq!(discovery.status, 200, "{:#}", discovery.json);
    assert_eq!(discovery.json["kind"], "discovery#restDescription");
    let algorithms = rest.get("/v1/projects/auth-test/algorithms", None).await?;
    assert_eq!(algorithms.status, 200, "{:#}", algorithms.json);
    assert_eq!(algorithms.json, json!({"algorithms": []}));
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn every_request_is_recorded_with_credentials_as_fingerprints() -> TestResult {
    let dir = TempDir::new();
    let (emulator, name) = start(&dir).await?;
    let record_file = dir.path().join("requests.jsonl");
    assert_eq!(emulator.record_file(), Some(record_file.as_path()));
    let right = format!("Bearer {TOKEN}");
    let wrong = format!("Bearer {WRONG_TOKEN}");
    let unparsable = format!("Basic {TOKEN}");

    let mut grpc = Grpc::connect(&emulator).await?;
    grpc.get(&name, None).await.expect_err("no token");
    grpc.get(&name, Some(&wrong))
        .await
        .expect_err("a wrong token");
    grpc.get(&name, Some(&right)).await?;
    let rest = Rest::new(&emulator);
    let path = format!("/v1/{name}?alt=json&access_token={TOKEN}");
    assert_eq!(rest.get(&path, None).await?.status, 401);
    assert_eq!(rest.get(&path, Some(&unparsable)).await?.status, 401);
    assert_eq!(rest.get(&path, Some(&right)).await?.status, 200);

    let text = std::fs::read_to_string(&record_file)?;
    for secret in [TOKEN, WRONG_TOKEN] {
        assert!(!text.contains(secret), "{secret} is in the record:\n{text}");
    }
    let lines: Vec<Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(emulator.records(), lines);

    let grpc_method = "/google.longrunning.Operations/GetOperation";
    let expected_authorization = [
        None,
        Some(format!(
            "Bearer sha256:{}",
            fingerprint(WRONG_TOKEN.as_bytes())
        )),
        Some(format!("Bearer sha256:{}", fingerprint(TOKEN.as_bytes()))),
        None,
        Some(format!(
            "<unparsable, sha256:{}>",
            fingerprint(unparsable.as_bytes())
        )),
        Some(format!("Bearer sha256:{}", fingerprint(TOKEN.as_bytes()))),
    ];
    for (i, (line, authorization)) in lines.iter().zip(&expected_authorization).enumerate() {
        let time = line["time"].as_str().expect("a time");
        assert!(time.ends_with('Z') && time.contains('T'), "{line}");
        let headers = line["headers"].as_object().expect("headers");
        assert!(
            headers.keys().all(|k| *k == k.to_ascii_lowercase()),
            "{line}"
        );
        assert_eq!(
            headers.get("authorization").and_then(Value::as_str),
            authorization.as_deref(),
            "line {i}: {line}"
        );
        if i < 3 {
            assert_eq!(line["transport"], "grpc", "{line}");
            assert_eq!(line["method"], grpc_method, "{line}");
            assert_eq!(line["path"], grpc_method, "{line}");
            assert_eq!(line["http_version"], "HTTP/2", "{line}");
            assert_eq!(headers["content-type"], "application/grpc", "{line}");
        } else {
            assert_eq!(line["transport"], "rest", "{line}");
            assert_eq!(line["method"], "GET", "{line}");
            assert_eq!(
                line["path"],
                format!(
                    "/v1/{name}?alt=json&access_token=sha256:{}",
                    fingerprint(TOKEN.as_bytes())
                ),
                "{line}"
            );
            assert_eq!(line["http_version"], "HTTP/1.1", "{line}");
            assert!(headers["host"].is_string(), "{line}");
        }
    }

    // Records are appended: a second emulator on the same file adds to it.
    emulator.shutdown().await?;
    let (second, name) = start(&dir).await?;
    assert!(second.records().is_empty());
    Rest::new(&second).get(&format!("/v1/{name}"), None).await?;
    let lines = std::fs::read_to_string(&record_file)?.lines().count();
    assert_eq!(lines, 7);
    assert_eq!(second.records().len(), 1);
    second.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_unwritable_record_file_or_an_unusable_token_stops_the_start() -> TestResult {
    let dir = TempDir::new();
    // A directory cannot be opened for appending.
    let error = Emulator::builder()
        .with_record_file(dir.path())
        .start("127.0.0.1:0")
        .await
        .expect_err("a directory as the record file");
    assert!(
        error.message().contains(&dir.path().display().to_string()),
        "{error}"
    );
    let missing_parent = dir.path().join("no-such-directory").join("requests.jsonl");
    let error = Emulator::builder()
        .with_record_file(&missing_parent)
        .start("127.0.0.1:0")
        .await
        .expect_err("a file in a missing directory");
    assert!(
        error
            .message()
            .contains(&missing_parent.display().to_string()),
        "{error}"
    );
    for token in ["", "two words"] {
        let error = Emulator::builder()
            .with_required_token(token)
            .start("127.0.0.1:0")
            .await
            .expect_err(token);
        assert_eq!(error.code(), eeops::rpc::Code::InvalidArgument, "{error}");
        assert!(!error.message().contains("two words"), "{error}");
    }
    Ok(())
}

#[tokio::test]
async fn without_options_nothing_is_required_or_recorded() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(OperationSpec::new("open"))?;
    let reply = Rest::new(&emulator)
        .get(&format!("/v1/{name}"), None)
        .await?;
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    let operation = Grpc::connect(&emulator).await?.get(&name, None).await?;
    assert_eq!(operation.name, name);
    assert!(emulator.records().is_empty());
    assert_eq!(emulator.record_file(), None);
    emulator.shutdown().await?;
    Ok(())
}
