//! Fault injection in the emulator: errors on every Nth call or a seeded
//! fraction of calls, RetryInfo and Retry-After, latency, dropped
//! connections, faults changed at run time through the handle and the admin
//! endpoint, over gRPC and HTTP/JSON, through the crate's own client and a
//! plain HTTP client.

use std::time::Duration;

use bytes::Bytes;
use eeops::earthengine::State;
use eeops::emulator::{
    Emulator, EmulatorBuilder, FAULT_DOMAIN, FAULT_REASON, Fault, OperationSpec, RunningEmulator,
};
use eeops::rpc::Code;
use eeops::{Client, RetryPolicy, Rpc, TransportKind};
use http::Request;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROJECT: &str = "faulty";
const TRANSPORTS: [TransportKind; 2] = [TransportKind::Grpc, TransportKind::Rest];

/// An emulator whose operations start running at once, and one operation
/// that runs until cancelled.
async fn start(builder: EmulatorBuilder) -> Result<(RunningEmulator, String), eeops::Error> {
    let emulator = builder
        .with_queue_time(Duration::ZERO)
        .start("127.0.0.1:0")
        .await?;
    let name = emulator.create(OperationSpec::new(PROJECT).running_until_cancelled())?;
    Ok((emulator, name))
}

/// A client that never retries.
fn client(emulator: &RunningEmulator, kind: TransportKind) -> Result<Client, eeops::Error> {
    retrying_client(emulator, kind, RetryPolicy::never())
}

fn retrying_client(
    emulator: &RunningEmulator,
    kind: TransportKind,
    policy: RetryPolicy,
) -> Result<Client, eeops::Error> {
    Client::builder()
        .with_transport(kind)
        .with_endpoint(emulator.endpoint())
        .with_credentials(eeops::Credentials::anonymous())
        .with_retry_policy(policy)
        .build()
}

/// The state of the one operation of [`PROJECT`], as the emulator has it.
fn state_of(emulator: &RunningEmulator, name: &str) -> Option<State> {
    emulator
        .handle()
        .states(PROJECT)
        .into_iter()
        .find_map(|(each, state)| (each == name).then_some(state))
}

/// A reply from a plain HTTP client.
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    json: Value,
}

/// One HTTP/1.1 request with an optional JSON body and extra headers.
async fn send(
    emulator: &RunningEmulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Reply, Box<dyn std::error::Error>> {
    let http: HttpClient<HttpConnector, Full<Bytes>> =
        HttpClient::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{}{path}", emulator.endpoint()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
    let response = http.request(request.body(body)?).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    let json = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{method} {path}: the body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok(Reply {
        status,
        headers,
        json,
    })
}

/// The code of each of `calls` gets in turn: None for a success.
async fn get_codes(client: &Client, name: &str, calls: usize) -> Vec<Option<Code>> {
    let mut codes = Vec::with_capacity(calls);
    for _ in 0..calls {
        codes.push(client.get(name).await.err().map(|error| error.code()));
    }
    codes
}

#[tokio::test]
async fn every_third_get_fails_with_the_chosen_code_on_both_transports() -> TestResult {
    for kind in TRANSPORTS {
        let fault = Fault::on(Rpc::GetOperation)
            .every(3)
            .with_code(Code::Unavailable);
        let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
        let client = client(&emulator, kind)?;
        let mut codes = get_codes(&client, &name, 4).await;
        // Calls of another method do not count towards the Nth get.
        let listed = client.list(format!("projects/{PROJECT}")).send().await?;
        assert_eq!(listed.operations.len(), 1, "{kind:?}");
        codes.extend(get_codes(&client, &name, 5).await);
        let mut expected = vec![None; 9];
        for call in [3, 6, 9] {
            expected[call - 1] = Some(Code::Unavailable);
        }
        assert_eq!(codes, expected, "{kind:?}");
        client.get(&name).await?; // call 10
        client.get(&name).await?; // call 11
        let error = client.get(&name).await.expect_err("call 12 fails");
        let info = error.error_info().ok_or("no ErrorInfo")?;
        assert_eq!(info.reason, FAULT_REASON, "{kind:?}");
        assert_eq!(info.domain, FAULT_DOMAIN, "{kind:?}");
        assert_eq!(info.metadata.get("call").map(String::as_str), Some("12"));
        let (id, _) = emulator.faults().list()[0].clone();
        assert_eq!(emulator.faults().injected(id), Some(4), "{kind:?}");
    }
    Ok(())
}

#[tokio::test]
async fn an_injected_error_is_a_grpc_answer_for_an_auto_client() -> TestResult {
    let fault = Fault::on(Rpc::GetOperation).with_code(Code::Unavailable);
    let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
    let error = client(&emulator, TransportKind::Auto)?
        .get(&name)
        .await
        .expect_err("every get fails");
    assert_eq!(error.code(), Code::Unavailable);
    // Its ErrorInfo shows a gRPC server answered: no second try over REST.
    let (id, _) = emulator.faults().list()[0].clone();
    assert_eq!(emulator.faults().injected(id), Some(1));
    Ok(())
}

#[tokio::test]
async fn a_seeded_fraction_fails_about_that_share_of_calls_and_repeats() -> TestResult {
    let fault = || {
        Fault::on_any()
            .fraction(0.1)
            .with_seed(2026)
            .with_code(Code::ResourceExhausted)
    };
    let (emulator, name) = start(Emulator::builder().with_fault(fault())).await?;
    let client = client(&emulator, TransportKind::Grpc)?;
    let codes = get_codes(&client, &name, 1000).await;
    let failed = codes.iter().filter(|code| code.is_some()).count();
    assert!(
        (50..=150).contains(&failed),
        "{failed} of 1000 calls failed"
    );
    assert!(
        codes
            .iter()
            .flatten()
            .all(|code| *code == Code::ResourceExhausted)
    );
    // The same seed hits the same calls, whatever the transport.
    let (again, again_name) = start(Emulator::builder().with_fault(fault())).await?;
    let rest = self::client(&again, TransportKind::Rest)?;
    assert_eq!(get_codes(&rest, &again_name, 200).await, codes[..200]);
    Ok(())
}

#[tokio::test]
async fn a_retry_delay_arrives_as_retry_info_on_both_transports() -> TestResult {
    for kind in TRANSPORTS {
        let fault = Fault::on(Rpc::GetOperation)
            .with_code(Code::Unavailable)
            .with_retry_delay(Duration::from_millis(750));
        let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
        let error = client(&emulator, kind)?
            .get(&name)
            .await
            .expect_err("every get fails");
        assert_eq!(error.code(), Code::Unavailable, "{kind:?}");
        assert_eq!(
            error.retry_delay(),
            Some(Duration::from_millis(750)),
            "{kind:?}: {error:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn http_429_with_retry_after_over_rest_is_resource_exhausted_over_grpc() -> TestResult {
    let fault = Fault::on(Rpc::ListOperations)
        .with_http_status(429)
        .with_retry_after(Duration::from_secs(2));
    let (emulator, _) = start(Emulator::builder().with_fault(fault)).await?;
    let reply = send(
        &emulator,
        "GET",
        &format!("/v1/projects/{PROJECT}/operations"),
        &[],
        None,
    )
    .await?;
    assert_eq!(reply.status, 429, "{:#}", reply.json);
    assert_eq!(
        reply.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"2"[..])
    );
    let error = &reply.json["error"];
    assert_eq!(error["code"], json!(429));
    assert_eq!(error["status"], json!("RESOURCE_EXHAUSTED"));
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    for kind in TRANSPORTS {
        let error = client(&emulator, kind)?
            .list(format!("projects/{PROJECT}"))
            .send()
            .await
            .expect_err("every list fails");
        assert_eq!(error.code(), Code::ResourceExhausted, "{kind:?}");
    }
    Ok(())
}

#[tokio::test]
async fn latency_delays_but_answers_and_a_shorter_deadline_expires() -> TestResult {
    let fault = Fault::on(Rpc::GetOperation).with_latency(Duration::from_millis(300));
    let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
    for kind in TRANSPORTS {
        let client = client(&emulator, kind)?;
        let operation = client.get(&name).await?;
        assert_eq!(operation.name, name, "{kind:?}");
        let error = client
            .get(&name)
            .with_timeout(Duration::from_millis(50))
            .await
            .expect_err("the deadline is shorter than the latency");
        assert_eq!(error.code(), Code::DeadlineExceeded, "{kind:?}: {error}");
    }
    Ok(())
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_the_next_call_works() -> TestResult {
    for kind in TRANSPORTS {
        let fault = Fault::on(Rpc::GetOperation).every(2).dropping_connection();
        let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
        let client = client(&emulator, kind)?;
        client.get(&name).await?;
        let error = client
            .get(&name)
            .await
            .expect_err("the second get is cut off");
        assert!(
            matches!(error.code(), Code::Unavailable | Code::Internal),
            "{kind:?}: {error}"
        );
        let operation = client.get(&name).await?;
        assert_eq!(operation.name, name, "{kind:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_dropped_rest_reply_promises_more_than_it_sends() -> TestResult {
    let fault = Fault::on(Rpc::GetOperation).dropping_connection();
    let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
    let mut stream = tokio::net::TcpStream::connect(emulator.local_addr()).await?;
    let request = format!("GET /v1/{name} HTTP/1.1\r\nhost: emulator\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut received = Vec::new();
    let read_all = async {
        let mut chunk = [0u8; 4096];
        // Until the server closes the connection (or resets it).
        while let Ok(read @ 1..) = stream.read(&mut chunk).await {
            received.extend_from_slice(&chunk[..read]);
        }
    };
    // The bound only keeps a broken server from hanging the test.
    tokio::time::timeout(Duration::from_secs(30), read_all).await?;
    let text = String::from_utf8_lossy(&received);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no complete head")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let promised: usize = head
        .lines()
        .find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or("no Content-Length")?;
    assert!(body.len() < promised, "{} of {promised} bytes", body.len());
    Ok(())
}

#[tokio::test]
async fn a_faulted_cancel_or_delete_changes_nothing() -> TestResult {
    for kind in TRANSPORTS {
        let (emulator, name) = start(
            Emulator::builder()
                .with_fault(Fault::on(Rpc::CancelOperation).with_code(Code::Unavailable))
                .with_fault(Fault::on(Rpc::DeleteOperation).dropping_connection()),
        )
        .await?;
        let client = client(&emulator, kind)?;
        assert_eq!(state_of(&emulator, &name), Some(State::Running));
        let error = client.cancel(&name).await.expect_err("cancel is faulted");
        assert_eq!(error.code(), Code::Unavailable, "{kind:?}");
        assert_eq!(state_of(&emulator, &name), Some(State::Running), "{kind:?}");
        assert!(client.delete(&name).await.is_err(), "{kind:?}");
        assert_eq!(emulator.handle().count(PROJECT), 1, "{kind:?}");
        // Without the fault, the same cancel works.
        emulator.faults().clear();
        client.cancel(&name).await?;
        assert_ne!(state_of(&emulator, &name), Some(State::Running), "{kind:?}");
    }
    Ok(())
}

#[tokio::test]
async fn faults_are_added_listed_removed_and_cleared_through_the_handle() -> TestResult {
    let (emulator, name) = start(Emulator::builder()).await?;
    let faults = emulator.faults();
    for kind in TRANSPORTS {
        let client = client(&emulator, kind)?;
        client.get(&name).await?;
        let fault = Fault::on(Rpc::GetOperation).with_code(Code::Internal);
        let id = faults.add(fault.clone());
        assert_eq!(faults.list(), [(id, fault)]);
        let error = client.get(&name).await.expect_err("the fault is in force");
        assert_eq!(error.code(), Code::Internal, "{kind:?}");
        assert_eq!(faults.injected(id), Some(1));
        assert!(faults.remove(id));
        assert!(!faults.remove(id));
        client.get(&name).await?;
        faults.add(Fault::on_any().with_code(Code::Aborted));
        faults.add(Fault::on(Rpc::GetOperation).with_code(Code::DataLoss));
        let error = client.get(&name).await.expect_err("two faults in force");
        assert_eq!(error.code(), Code::Aborted, "the first added decides");
        assert_eq!(faults.clear(), 2);
        assert!(faults.list().is_empty());
        client.get(&name).await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_admin_endpoint_requires_the_token_and_is_recorded() -> TestResult {
    let record = tempfile::NamedTempFile::new()?;
    let (emulator, name) = start(
        Emulator::builder()
            .with_required_token("s3cret")
            .with_record_file(record.path()),
    )
    .await?;
    let authorized = [("authorization", "Bearer s3cret")];
    let get_path = format!("/v1/{name}");

    // Without the token, the fault endpoint refuses to list or add.
    let body = r#"{"method": "GetOperation", "code": "PERMISSION_DENIED"}"#;
    for (method, body) in [("GET", None), ("POST", Some(body))] {
        let refused = send(&emulator, method, "/_eeops/faults", &[], body).await?;
        assert_eq!(refused.status, 401, "{method}: {:#}", refused.json);
        assert_eq!(refused.json["error"]["status"], json!("UNAUTHENTICATED"));
    }
    assert!(emulator.faults().list().is_empty());

    let empty = send(&emulator, "GET", "/_eeops/faults", &authorized, None).await?;
    assert_eq!((empty.status, &empty.json), (200, &json!({"faults": []})));

    let added = send(&emulator, "POST", "/_eeops/faults", &authorized, Some(body)).await?;
    assert_eq!(added.status, 200, "{:#}", added.json);
    let first = added.json["id"].as_u64().ok_or("no id")?;
    assert_eq!(
        added.json["spec"],
        json!("method=GetOperation,code=PERMISSION_DENIED")
    );

    // Without the token the call is refused before any fault applies.
    let refused = send(&emulator, "GET", &get_path, &[], None).await?;
    assert_eq!(refused.status, 401);
    let faulted = send(&emulator, "GET", &get_path, &authorized, None).await?;
    assert_eq!(faulted.status, 403, "{:#}", faulted.json);
    assert_eq!(faulted.json["error"]["status"], json!("PERMISSION_DENIED"));

    let spec = r#""method=ListOperations,every=7,http=429,retry_after=2""#;
    let second = send(&emulator, "POST", "/_eeops/faults", &authorized, Some(spec)).await?;
    assert_eq!(second.status, 200, "{:#}", second.json);
    let listed = send(&emulator, "GET", "/_eeops/faults", &authorized, None).await?;
    let entries = listed.json["faults"].as_array().ok_or("no list")?;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["id"], json!(first));
    assert_eq!(entries[0]["injected"], json!(1));
    assert_eq!(entries[1]["fault"]["http"], json!(429));
    assert_eq!(emulator.faults().list().len(), 2);

    for (bad, named) in [
        (r#"{"method": "GetOperation", "evry": 3}"#, "evry"),
        (r#"{"every": 0}"#, "every"),
        (r#""code=OK""#, "OK"),
        ("[1, 2]", "JSON object"),
        ("{", "JSON"),
    ] {
        let reply = send(&emulator, "POST", "/_eeops/faults", &authorized, Some(bad)).await?;
        assert_eq!(reply.status, 400, "{bad}");
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{bad}: {message}");
    }
    let not_allowed = send(&emulator, "PUT", "/_eeops/faults", &authorized, Some("{}")).await?;
    assert_eq!(not_allowed.status, 405);
    assert!(not_allowed.headers.contains_key("allow"));

    let one = send(
        &emulator,
        "DELETE",
        &format!("/_eeops/faults/{first}"),
        &authorized,
        None,
    )
    .await?;
    assert_eq!((one.status, &one.json), (200, &json!({"removed": 1})));
    let gone = send(
        &emulator,
        "GET",
        &format!("/_eeops/faults/{first}"),
        &authorized,
        None,
    )
    .await?;
    assert_eq!(gone.status, 404);
    let served = send(&emulator, "GET", &get_path, &authorized, None).await?;
    assert_eq!(served.status, 200, "{:#}", served.json);

    let cleared = send(&emulator, "DELETE", "/_eeops/faults", &authorized, None).await?;
    assert_eq!(
        (cleared.status, &cleared.json),
        (200, &json!({"removed": 1}))
    );
    assert!(emulator.faults().list().is_empty());

    let records = emulator.records();
    let admin_calls = records
        .iter()
        .filter(|record| {
            record["path"]
                .as_str()
                .is_some_and(|path| path.starts_with("/_eeops/faults"))
        })
        .count();
    assert_eq!(admin_calls, 15);
    // The faulted call was recorded too, credentials as a fingerprint.
    let gets: Vec<&Value> = records
        .iter()
        .filter(|record| record["path"] == json!(get_path))
        .collect();
    assert_eq!(gets.len(), 3);
    assert!(!serde_json::to_string(&gets)?.contains("s3cret"));
    Ok(())
}

#[tokio::test]
async fn an_admin_token_of_its_own_guards_the_fault_endpoint() -> TestResult {
    let (emulator, name) = start(
        Emulator::builder()
            .with_required_token("calls")
            .with_admin_token("admin"),
    )
    .await?;
    let body = Some(r#""method=GetOperation,code=INTERNAL""#);
    for (authorization, status) in [
        (None, 401),
        (Some("Bearer calls"), 401),
        (Some("Bearer admin"), 200),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        let reply = send(&emulator, "POST", "/_eeops/faults", &headers, body).await?;
        assert_eq!(reply.status, status, "{authorization:?}: {:#}", reply.json);
    }
    assert_eq!(emulator.faults().list().len(), 1);
    // The Operations API still takes its own token only.
    let get_path = format!("/v1/{name}");
    let admin = [("authorization", "Bearer admin")];
    assert_eq!(
        send(&emulator, "GET", &get_path, &admin, None)
            .await?
            .status,
        401
    );
    Ok(())
}

#[tokio::test]
async fn a_retrying_client_gets_through_every_third_call_failing() -> TestResult {
    for kind in TRANSPORTS {
        let fault = Fault::parse("method=GetOperation,every=3,code=UNAVAILABLE")?;
        let (emulator, name) = start(Emulator::builder().with_fault(fault)).await?;
        let policy = RetryPolicy::new().with_initial_delay(Duration::from_millis(5));
        let client = retrying_client(&emulator, kind, policy)?;
        for _ in 0..20 {
            assert_eq!(client.get(&name).await?.name, name, "{kind:?}");
        }
        let (id, _) = emulator.faults().list()[0].clone();
        // 20 gets and the 9 calls failed among them: calls 3, 6, … 27.
        assert_eq!(emulator.faults().injected(id), Some(9), "{kind:?}");
    }
    Ok(())
}

#[test]
fn the_documented_specs_parse_and_bad_ones_say_why() {
    let examples = [
        (
            "method=GetOperation,every=3,code=UNAVAILABLE",
            Fault::on(Rpc::GetOperation)
                .every(3)
                .with_code(Code::Unavailable),
        ),
        (
            "method=*,fraction=0.1,code=RESOURCE_EXHAUSTED,retry_delay=500ms",
            Fault::on_any()
                .fraction(0.1)
                .with_code(Code::ResourceExhausted)
                .with_retry_delay(Duration::from_millis(500)),
        ),
        (
            "method=ListOperations,every=7,http=429,retry_after=2",
            Fault::on(Rpc::ListOperations)
                .every(7)
                .with_http_status(429)
                .with_retry_after(Duration::from_secs(2)),
        ),
        (
            "method=*,latency=300ms",
            Fault::on_any().with_latency(Duration::from_millis(300)),
        ),
        (
            "method=GetOperation,every=5,drop=true",
            Fault::on(Rpc::GetOperation).every(5).dropping_connection(),
        ),
    ];
    for (spec, built) in examples {
        let parsed = Fault::parse(spec).expect(spec);
        assert_eq!(parsed, built, "{spec}");
        assert_eq!(Fault::parse(&parsed.to_string()).as_ref(), Ok(&parsed));
        assert_eq!(Fault::from_json(&parsed.to_json()).as_ref(), Ok(&parsed));
    }
    assert_eq!(
        Fault::parse("method=ListOperations,http=429").map(|f| f.code()),
        Ok(Some(Code::ResourceExhausted))
    );
    assert_eq!(
        Fault::parse("method=*,latency=300ms").map(|f| f.code()),
        Ok(None)
    );
    for (spec, named) in [
        ("", "empty"),
        ("method=GetOp", "GetOp"),
        ("method=GetOperation,evry=3", "evry"),
        ("every=0", "every"),
        ("fraction=2", "fraction"),
        ("every=3,fraction=0.5", "every and fraction"),
        ("code=SOMETIMES", "SOMETIMES"),
        ("http=302", "http"),
        ("latency=fast", "latency"),
        ("drop=true,code=INTERNAL", "drop"),
        ("every=3,every=4", "more than once"),
        ("method", "key=value"),
    ] {
        let problem = Fault::parse(spec).expect_err(spec);
        assert!(problem.contains(named), "{spec:?}: {problem}");
    }
}
