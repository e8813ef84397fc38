//! The emulator's REST front end, spoken to with a plain HTTP client on
//! loopback (HTTP/1.1 and HTTP/2 with prior knowledge), real JSON on the
//! wire, on the same port as its gRPC service.

use std::time::Duration;

use bytes::Bytes;
use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::{Client, TransportKind};
use http::{Request, Version};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::support::percent::encode;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The two ways a REST client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

const PROTOCOLS: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

/// A raw HTTP client bound to one emulator and one protocol.
struct Rest {
    client: HttpClient<HttpConnector, Full<Bytes>>,
    base: String,
    protocol: Protocol,
}

/// One reply: its status and its JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    json: Value,
    /// The body as it came.
    text: String,
}

impl Reply {
    /// The Google-style error object, checked for its required members.
    fn error(&self) -> &Value {
        let error = &self.json["error"];
        assert_eq!(error["code"], json!(self.status), "{:#}", self.json);
        assert!(error["message"].is_string(), "{:#}", self.json);
        assert!(error["status"].is_string(), "{:#}", self.json);
        error
    }

    fn message(&self) -> &str {
        self.error()["message"].as_str().unwrap_or_default()
    }
}

impl Rest {
    fn new(emulator: &RunningEmulator, protocol: Protocol) -> Self {
        let mut builder = HttpClient::builder(TokioExecutor::new());
        builder.http2_only(protocol == Protocol::Http2);
        Self {
            client: builder.build_http(),
            base: emulator.endpoint(),
            protocol,
        }
    }

    /// Sends one request and checks what every reply must have: the
    /// protocol asked for, the JSON content type and a JSON body.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Reply, Box<dyn std::error::Error>> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Full::new(body.into()))?)
            .await?;
        let expected_version = match self.protocol {
            Protocol::Http1 => Version::HTTP_11,
            Protocol::Http2 => Version::HTTP_2,
        };
        assert_eq!(response.version(), expected_version, "{method} {path}");
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|value| value.to_str().map(str::to_owned))
            .transpose()?;
        assert_eq!(
            content_type.as_deref(),
            Some("application/json; charset=UTF-8"),
            "{method} {path}"
        );
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        let json = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{method} {path}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        Ok(Reply {
            status,
            json,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    async fn get(&self, path: &str) -> Result<Reply, Box<dyn std::error::Error>> {
        self.send("GET", path, &[], Bytes::new()).await
    }

    async fn post(&self, path: &str, body: &str) -> Result<Reply, Box<dyn std::error::Error>> {
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            body.to_owned(),
        )
        .await
    }
}

async fn start() -> Result<RunningEmulator, eeops::Error> {
    Emulator::builder()
        .with_queue_time(Duration::ZERO)
        .with_cancel_latency(Duration::from_millis(50))
        .start("127.0.0.1:0")
        .await
}

/// The names in a list reply, in order.
fn names(reply: &Reply) -> Vec<String> {
    reply.json["operations"]
        .as_array()
        .map(|ops| {
            ops.iter()
                .filter_map(|op| op["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn get_under_every_api_version_and_as_real_clients_send_it() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let name = emulator.create(
            OperationSpec::new("rest-get")
                .with_id("GETTASK1")
                .with_type("INGEST_IMAGE")
                .running_until_cancelled(),
        )?;
        for version in ["v1", "v1beta", "v1alpha"] {
            let reply = rest.get(&format!("/{version}/{name}")).await?;
            assert_eq!(
                reply.status, 200,
                "{protocol:?} {version}: {:#}",
                reply.json
            );
            assert_eq!(reply.json["name"], json!(name));
            assert_eq!(reply.json["metadata"]["type"], json!("INGEST_IMAGE"));
            assert_eq!(reply.json["metadata"]["state"], json!("RUNNING"));
            assert_eq!(reply.json.get("done"), None, "running: done is omitted");
        }
        for path in [
            format!("/v1/{name}?"),
            format!("/v1/{name}?alt=json&prettyPrint=false"),
            format!("/v1/{name}?%24.xgafv=2&key=abc&quotaUser=me&fields=name"),
        ] {
            let reply = rest.get(&path).await?;
            assert_eq!(reply.status, 200, "{protocol:?} {path}: {:#}", reply.json);
            assert_eq!(reply.json["name"], json!(name), "{path}");
        }
        let with_content_type = rest
            .send(
                "GET",
                &format!("/v1/{name}"),
                &[("content-type", "application/json")],
                Bytes::new(),
            )
            .await?;
        assert_eq!(
            with_content_type.status, 200,
            "{:#}",
            with_content_type.json
        );
        assert_eq!(with_content_type.json["name"], json!(name));
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn list_pages_with_page_size_and_token_and_filters() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let mut ingests = Vec::new();
        for i in 0..7 {
            let kind = if i % 3 == 0 {
                "INGEST_TABLE"
            } else {
                "EXPORT_IMAGE"
            };
            let name = emulator.create(
                OperationSpec::new("rest-list")
                    .with_id(format!("LISTTASK{i}"))
                    .with_type(kind)
                    .running_until_cancelled(),
            )?;
            if kind == "INGEST_TABLE" {
                ingests.push(name);
            }
        }
        let expected = emulator.handle().names("rest-list");
        assert_eq!(expected.len(), 7);

        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let mut path = "/v1/projects/rest-list/operations?pageSize=3".to_owned();
            if !token.is_empty() {
                path.push_str(&format!("&pageToken={}", encode(&token)));
            }
            let reply = rest.get(&path).await?;
            assert_eq!(reply.status, 200, "{protocol:?} {path}: {:#}", reply.json);
            let page = names(&reply);
            assert!(page.len() <= 3, "{page:?}");
            seen.extend(page);
            pages += 1;
            match reply.json.get("nextPageToken").and_then(Value::as_str) {
                Some(next) => {
                    assert!(!next.is_empty());
                    token = next.to_owned();
                }
                None => break,
            }
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(seen, expected, "{protocol:?}");
        assert_eq!(pages, 3);

        // The proto field names are accepted too.
        let first = rest
            .get("/v1beta/projects/rest-list/operations?page_size=2&alt=json")
            .await?;
        assert_eq!(names(&first), expected[..2].to_vec());

        let filtered = rest
            .get(&format!(
                "/v1/projects/rest-list/operations?filter={}",
                "metadata.type+%3D+%22INGEST_TABLE%22"
            ))
            .await?;
        assert_eq!(filtered.status, 200, "{:#}", filtered.json);
        ingests.reverse();
        assert_eq!(names(&filtered), ingests, "newest first");

        let unfiltered = rest
            .get("/v1/projects/rest-list/operations?filter=")
            .await?;
        assert_eq!(names(&unfiltered), expected);
        assert_eq!(unfiltered.json.get("nextPageToken"), None);

        let bare = rest.get("/v1alpha/projects/rest-list/operations?").await?;
        assert_eq!(names(&bare), expected);

        let nothing = rest
            .get("/v1/projects/rest-list/operations?filter=metadata.type%3DNOTHING")
            .await?;
        assert_eq!(nothing.status, 200);
        assert_eq!(nothing.json, json!({}), "empty fields are omitted");

        let bad_size = rest
            .get("/v1/projects/rest-list/operations?pageSize=ten")
            .await?;
        assert_eq!(bad_size.status, 400, "{:#}", bad_size.json);
        assert_eq!(bad_size.error()["status"], json!("INVALID_ARGUMENT"));
        assert!(
            bad_size.message().contains("pageSize"),
            "{}",
            bad_size.message()
        );

        let bad_filter = rest
            .get("/v1/projects/rest-list/operations?filter=metadata.colour%3Dred")
            .await?;
        assert_eq!(bad_filter.status, 400, "{:#}", bad_filter.json);
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn cancel_with_an_empty_body_or_an_empty_object_ends_cancelled() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let bodies = ["", "{}"];
        for (i, body) in bodies.into_iter().enumerate() {
            let name = emulator.create(
                OperationSpec::new("rest-cancel")
                    .with_id(format!("CANCELTASK{i}"))
                    .running_until_cancelled(),
            )?;
            let cancelled = rest.post(&format!("/v1/{name}:cancel"), body).await?;
            assert_eq!(
                cancelled.status, 200,
                "{protocol:?} {body:?}: {:#}",
                cancelled.json
            );
            assert_eq!(cancelled.json, json!({}));
            let done = rest
                .post(&format!("/v1/{name}:wait"), r#"{"timeout": "30s"}"#)
                .await?;
            assert_eq!(done.status, 200, "{:#}", done.json);
            assert_eq!(done.json["done"], json!(true), "{:#}", done.json);
            assert_eq!(done.json["error"]["code"], json!(1), "{:#}", done.json);
            assert_eq!(done.json["metadata"]["state"], json!("CANCELLED"));
        }

        let untouched = emulator.create(
            OperationSpec::new("rest-cancel")
                .with_id("CANCELTASK-BAD-BODY")
                .running_until_cancelled(),
        )?;
        for body in ["[]", "not json", "{", "null"] {
            let reply = rest.post(&format!("/v1/{untouched}:cancel"), body).await?;
            assert_eq!(reply.status, 400, "{protocol:?} {body:?}: {:#}", reply.json);
            assert_eq!(reply.error()["status"], json!("INVALID_ARGUMENT"));
        }
        let still = rest.get(&format!("/v1/{untouched}")).await?;
        assert_eq!(still.json["metadata"]["state"], json!("RUNNING"));
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn wait_honours_its_timeout_the_callers_deadline_and_completion() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let running = emulator.create(
            OperationSpec::new("rest-wait")
                .with_id("WAITTASK-RUNNING")
                .running_until_cancelled(),
        )?;
        let reply = rest
            .post(&format!("/v1/{running}:wait"), r#"{"timeout":"0.2s"}"#)
            .await?;
        assert_eq!(reply.status, 200, "{protocol:?}: {:#}", reply.json);
        assert_eq!(reply.json["name"], json!(running));
        assert_eq!(reply.json.get("done"), None, "{:#}", reply.json);
        assert_eq!(reply.json["metadata"]["state"], json!("RUNNING"));

        // Without a timeout the emulator would wait a minute; the caller's
        // deadline in X-Server-Timeout cuts that short. The outer bound only
        // turns an ignored header into a failure instead of a slow pass.
        let with_deadline = tokio::time::timeout(
            Duration::from_secs(30),
            rest.send(
                "POST",
                &format!("/v1beta/{running}:wait"),
                &[("x-server-timeout", "0.3")],
                Bytes::new(),
            ),
        )
        .await
        .map_err(|_| "X-Server-Timeout was not used as the deadline")??;
        assert_eq!(with_deadline.status, 200, "{:#}", with_deadline.json);
        assert_eq!(with_deadline.json.get("done"), None);

        let finishing = emulator.create(
            OperationSpec::new("rest-wait")
                .with_id("WAITTASK-FINISHING")
                .with_run_time(Duration::from_millis(100)),
        )?;
        let done = rest
            .post(
                &format!("/v1alpha/{finishing}:wait"),
                r#"{"timeout":"30s"}"#,
            )
            .await?;
        assert_eq!(done.status, 200, "{:#}", done.json);
        assert_eq!(done.json["done"], json!(true), "{:#}", done.json);
        assert_eq!(done.json["metadata"]["state"], json!("SUCCEEDED"));
        assert_eq!(done.json.get("error"), None);

        for (body, named) in [
            (r#"{"timeout":"soon"}"#, "timeout"),
            (r#"{"timeout":"-1s"}"#, "timeout"),
            (r#"{"timeout":"1s""#, "JSON"),
            ("[1]", "object"),
        ] {
            let reply = rest.post(&format!("/v1/{running}:wait"), body).await?;
            assert_eq!(reply.status, 400, "{protocol:?} {body}: {:#}", reply.json);
            assert_eq!(reply.error()["status"], json!("INVALID_ARGUMENT"));
            assert!(
                reply.message().contains(named),
                "{body}: {}",
                reply.message()
            );
        }
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn delete_then_get_is_not_found_with_a_google_error_body() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let name = emulator.create(
            OperationSpec::new("rest-delete")
                .with_id("DELETETASK")
                .running_until_cancelled(),
        )?;
        let deleted = rest
            .send(
                "DELETE",
                &format!("/v1/{name}"),
                &[("content-type", "application/json")],
                Bytes::new(),
            )
            .await?;
        assert_eq!(deleted.status, 200, "{protocol:?}: {:#}", deleted.json);
        assert_eq!(deleted.json, json!({}));
        assert_eq!(emulator.handle().count("rest-delete"), 0);

        let gone = rest.get(&format!("/v1/{name}")).await?;
        assert_eq!(gone.status, 404, "{:#}", gone.json);
        let error = gone.error();
        assert_eq!(error["status"], json!("NOT_FOUND"));
        assert!(gone.message().contains(&name), "{}", gone.message());
        let details = error["details"].as_array().cloned().unwrap_or_default();
        let info = details
            .iter()
            .find(|d| d["@type"] == json!("type.googleapis.com/google.rpc.ErrorInfo"))
            .ok_or("no ErrorInfo detail")?;
        assert_eq!(info["reason"], json!("OPERATION_NOT_FOUND"));
        assert_eq!(info["metadata"]["name"], json!(name));

        let again = rest
            .send("DELETE", &format!("/v1/{name}"), &[], Bytes::new())
            .await?;
        assert_eq!(again.status, 404, "{:#}", again.json);
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn bad_requests_get_google_style_errors() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let name = emulator.create(
            OperationSpec::new("rest-bad")
                .with_id("BADTASK")
                .running_until_cancelled(),
        )?;

        let unknown_parameter = rest.get(&format!("/v1/{name}?colour=red")).await?;
        assert_eq!(unknown_parameter.status, 400, "{protocol:?}");
        let error = unknown_parameter.error();
        assert_eq!(error["status"], json!("INVALID_ARGUMENT"));
        assert!(unknown_parameter.message().contains("colour"));
        assert_eq!(
            error["details"][0]["@type"],
            json!("type.googleapis.com/google.rpc.BadRequest")
        );
        assert_eq!(
            error["details"][0]["fieldViolations"][0]["field"],
            json!("colour")
        );

        let other_alt = rest.get(&format!("/v1/{name}?alt=proto")).await?;
        assert_eq!(other_alt.status, 400);
        assert!(other_alt.message().contains("alt"));

        let unknown_path = rest.get("/v2/projects/rest-bad/things/x").await?;
        assert_eq!(unknown_path.status, 404, "{:#}", unknown_path.json);
        assert_eq!(unknown_path.error()["status"], json!("NOT_FOUND"));
        let message = unknown_path.message();
        assert!(
            message.contains("GET") && message.contains("/v2/projects/rest-bad/things/x"),
            "{message}"
        );
        assert_eq!(unknown_path.error().get("details"), None);

        let wrong_method = rest
            .send("PUT", &format!("/v1/{name}"), &[], Bytes::new())
            .await?;
        assert_eq!(wrong_method.status, 404);
        assert!(wrong_method.message().contains("PUT"));

        let bad_escape = rest.get("/v1/projects/rest-bad/operations/%FF%FE").await?;
        assert_eq!(bad_escape.status, 404, "{:#}", bad_escape.json);

        let long_path = format!("/v1/projects/rest-bad/{}", "x".repeat(8000));
        let long = rest.get(&long_path).await?;
        assert_eq!(long.status, 404);
        assert!(
            long.message().len() < 1000,
            "the path is quoted, not copied"
        );

        let too_large = rest
            .post(&format!("/v1/{name}:cancel"), &" ".repeat((1 << 20) + 1))
            .await?;
        assert_eq!(too_large.status, 413, "{:#}", too_large.json);
        assert!(too_large.message().contains("larger than"));

        // Request bodies are read as strictly as Google's reference parsers
        // read them.
        for (body, named) in [
            (r#"{"timeout":"1s","timeout":"2s"}"#, "duplicate key"),
            (r#"{"timeout":"1.0000000001s"}"#, "fractional digits"),
            (r#"{"timeout":"315576000001s"}"#, "duration range"),
        ] {
            let refused = rest.post(&format!("/v1/{name}:wait"), body).await?;
            assert_eq!(refused.status, 400, "{body}");
            assert!(
                refused.message().contains(named),
                "{body}: {}",
                refused.message()
            );
        }

        // None of this touched the operation.
        let still = rest.get(&format!("/v1/{name}")).await?;
        assert_eq!(still.json["metadata"]["state"], json!("RUNNING"));
        emulator.shutdown().await?;
    }
    Ok(())
}

/// What of an operation's JSON stays the same while it runs.
fn steady(operation: &Value) -> Value {
    json!([
        operation["name"],
        operation["metadata"]["state"],
        operation["metadata"]["description"],
        operation["metadata"]["type"],
    ])
}

#[tokio::test]
async fn system_parameters_are_accepted_as_googles_front_ends_accept_them() -> TestResult {
    for protocol in PROTOCOLS {
        let emulator = start().await?;
        let rest = Rest::new(&emulator, protocol);
        let name = emulator.create(
            OperationSpec::new("sys")
                .with_id("SYSTASK")
                .with_description("nightly")
                .running_until_cancelled(),
        )?;

        // googleapis' generated clients send this on every call.
        let numbers = rest
            .get(&format!("/v1/{name}?%24alt=json%3Benum-encoding%3Dint"))
            .await?;
        assert_eq!(numbers.status, 200, "{:#}", numbers.json);
        assert_eq!(
            numbers.json["metadata"]["state"],
            json!(2),
            "RUNNING as a number"
        );
        let names = rest.get(&format!("/v1/{name}?alt=json")).await?;
        assert_eq!(names.json["metadata"]["state"], json!("RUNNING"));

        let pretty = rest.get(&format!("/v1/{name}?prettyPrint=true")).await?;
        assert!(pretty.text.contains("\n  \"name\""), "{}", pretty.text);
        let compact = rest
            .get(&format!("/v1/{name}?%24prettyPrint=false"))
            .await?;
        assert!(!compact.text.contains('\n'), "{}", compact.text);
        assert_eq!(steady(&pretty.json), steady(&compact.json));

        let ignored = rest
            .get(&format!("/v1/{name}?quotaUser=me&key=abc&%24.xgafv=2"))
            .await?;
        assert_eq!(steady(&ignored.json), steady(&names.json));

        let partial = rest
            .get(&format!(
                "/v1/{name}?fields=name,metadata(state,description)"
            ))
            .await?;
        assert_eq!(
            partial.json,
            json!({"name": name, "metadata": {
                "@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata",
                "state": "RUNNING",
                "description": "nightly",
            }})
        );
        let listed = rest
            .get("/v1/projects/sys/operations?%24fields=operations%2Fname")
            .await?;
        assert_eq!(listed.json, json!({"operations": [{"name": name}]}));
        let masked = rest
            .send(
                "GET",
                &format!("/v1/{name}"),
                &[("x-goog-fieldmask", "name,done")],
                Bytes::new(),
            )
            .await?;
        assert_eq!(masked.json, json!({"name": name}));

        // A POST that stands for a GET or a DELETE.
        let overridden = rest
            .send(
                "POST",
                &format!("/v1/{name}"),
                &[("x-http-method-override", "GET")],
                Bytes::new(),
            )
            .await?;
        assert_eq!(steady(&overridden.json), steady(&names.json));
        let not_on_get = rest
            .send(
                "GET",
                &format!("/v1/{name}"),
                &[("x-http-method-override", "DELETE")],
                Bytes::new(),
            )
            .await?;
        assert_eq!(not_on_get.status, 400);
        assert!(not_on_get.message().contains("X-HTTP-Method-Override"));

        for (query, named) in [
            ("%24callback=f", "$callback"),
            ("callback=f", "callback"),
            ("alt=media", "alt"),
            ("fields=metadata(state", "fields"),
            ("colour=red", "colour"),
        ] {
            let refused = rest.get(&format!("/v1/{name}?{query}")).await?;
            assert_eq!(refused.status, 400, "{query}");
            assert!(
                refused.message().contains(named),
                "{query}: {}",
                refused.message()
            );
        }

        let deleted = rest
            .send(
                "POST",
                &format!("/v1/{name}"),
                &[("x-http-method-override", "DELETE")],
                Bytes::new(),
            )
            .await?;
        assert_eq!(deleted.json, json!({}));
        assert_eq!(rest.get(&format!("/v1/{name}")).await?.status, 404);
        emulator.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn filter_syntax_beyond_the_emulators_grammar_is_refused_by_name() -> TestResult {
    let emulator = start().await?;
    let rest = Rest::new(&emulator, Protocol::Http1);
    emulator.create(OperationSpec::new("flt").with_type("EXPORT_IMAGE"))?;
    for (filter, named) in [
        ("metadata.type:EXPORT_IMAGE", "':' (has)"),
        ("metadata.state > RUNNING", "comparison '>'"),
        (
            "metadata.createTime>=\"2024-01-01T00:00:00Z\"",
            "metadata.createTime",
        ),
    ] {
        let refused = rest
            .get(&format!(
                "/v1/projects/flt/operations?filter={}",
                encode(filter)
            ))
            .await?;
        assert_eq!(refused.status, 400, "{filter}");
        assert_eq!(refused.error()["status"], json!("INVALID_ARGUMENT"));
        assert!(
            refused.message().contains(named),
            "{filter}: {}",
            refused.message()
        );
    }
    let wildcard = rest
        .get(&format!(
            "/v1/projects/flt/operations?filter={}",
            encode("metadata.type=\"EXPORT_*\"")
        ))
        .await?;
    assert_eq!(names(&wildcard).len(), 1, "{:#}", wildcard.json);
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn grpc_and_rest_share_one_port_and_one_state() -> TestResult {
    let emulator = start().await?;
    let client = Client::builder()
        .with_credentials(eeops::Credentials::anonymous())
        .with_endpoint(emulator.endpoint())
        .with_transport(TransportKind::Grpc)
        .build()?;
    let name = emulator.create(
        OperationSpec::new("rest-shared")
            .with_id("SHAREDTASK")
            .with_type("EXPORT_TABLE")
            .running_until_cancelled(),
    )?;
    for protocol in PROTOCOLS {
        let rest = Rest::new(&emulator, protocol);
        let over_rest = rest.get(&format!("/v1/{name}")).await?;
        assert_eq!(over_rest.json["name"], json!(name));
        let over_grpc = client.get(&name).await?;
        assert_eq!(over_grpc.name, name);
        assert_eq!(over_rest.json["metadata"]["type"], json!("EXPORT_TABLE"));
        assert!(!over_grpc.done);
    }

    // A change made over one is seen over the other.
    let rest = Rest::new(&emulator, Protocol::Http1);
    let cancelled = rest.post(&format!("/v1/{name}:cancel"), "").await?;
    assert_eq!(cancelled.status, 200);
    let done = client
        .wait_once(&name)
        .set_server_wait(Duration::from_secs(30))
        .await?;
    assert!(done.done);
    assert_eq!(done.state(), eeops::earthengine::State::Cancelled);
    let deleted = rest
        .send("DELETE", &format!("/v1/{name}"), &[], Bytes::new())
        .await?;
    assert_eq!(deleted.status, 200);
    let gone = client
        .get(&name)
        .await
        .err()
        .ok_or("still found over gRPC")?;
    assert!(gone.is_not_found(), "{gone}");

    // A gRPC call to a service the server lacks gets a gRPC answer, not a
    // REST one.
    let mut builder = HttpClient::builder(TokioExecutor::new());
    builder.http2_only(true);
    let raw: HttpClient<HttpConnector, Full<Bytes>> = builder.build_http();
    let call = Request::builder()
        .method("POST")
        .uri(format!("{}/example.Missing/Call", emulator.endpoint()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))?;
    let response = raw.request(call).await?;
    assert_eq!(response.status().as_u16(), 200);
    let grpc_status = response
        .headers()
        .get("grpc-status")
        .map(|value| value.to_str().map(str::to_owned))
        .transpose()?;
    assert_eq!(grpc_status.as_deref(), Some("12"), "UNIMPLEMENTED");
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn discovery_documents_describe_the_served_routes() -> TestResult {
    let emulator = start().await?;
    for protocol in PROTOCOLS {
        let rest = Rest::new(&emulator, protocol);
        for version in ["v1", "v1beta", "v1alpha"] {
            let reply = rest
                .get(&format!(
                    "/$discovery/rest?version={version}&prettyPrint=false"
                ))
                .await?;
            assert_eq!(reply.status, 200, "{:#}", reply.json);
            let doc = &reply.json;
            assert_eq!(doc["rootUrl"], format!("{}/", emulator.endpoint()));
            let methods = &doc["resources"]["projects"]["resources"]["operations"]["methods"];
            assert_eq!(methods["get"]["path"], format!("{version}/{{+name}}"));
            assert_eq!(
                methods["list"]["path"],
                format!("{version}/{{+name}}/operations")
            );
            assert_eq!(methods["cancel"]["httpMethod"], "POST");
            // The document's paths are the ones served: list through it.
            let listed = rest
                .get(&format!("/{version}/projects/p/operations"))
                .await?;
            assert_eq!(listed.status, 200, "{:#}", listed.json);
        }
        let unknown = rest.get("/$discovery/rest?version=v9").await?;
        assert_eq!(unknown.status, 404);
        let algorithms = rest.get("/v1/projects/p/algorithms").await?;
        assert_eq!(algorithms.json, json!({"algorithms": []}));
    }
    emulator.shutdown().await?;
    Ok(())
}
