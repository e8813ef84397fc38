//! Tracing: a subscriber of the test's own records every span, field and
//! event while real calls go to the emulator (with a fault injected and a
//! token from the test token server) over both transports, and to a
//! REST-only server through `auto`; the spans are named after the RPC, carry
//! OpenTelemetry's RPC attributes, nest attempts in calls, and no secret
//! shows anywhere.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use eeops::emulator::{Emulator, Fault, OperationSpec};
use eeops::rpc::Code;
use eeops::{Client, Credentials, RetryPolicy, Rpc, TransportKind};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use crate::support::token_server::{TokenServer, TokenServerConfig};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A recorded span: its name, its parent's id and every field recorded.
#[derive(Clone, Debug)]
struct SpanRecord {
    id: u64,
    name: String,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

/// A recorded event: its fields (`message` included) and the span it
/// happened in.
#[derive(Clone, Debug)]
struct EventRecord {
    fields: BTreeMap<String, String>,
    span: Option<u64>,
}

#[derive(Default)]
struct Records {
    spans: Vec<SpanRecord>,
    events: Vec<EventRecord>,
}

/// A layer that keeps everything it sees.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Records>>);

impl Capture {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        let parent = context
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.id().into_u64());
        self.records().spans.push(SpanRecord {
            id: id.into_u64(),
            name: attributes.metadata().name().to_owned(),
            parent,
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut records = self.records();
        // Ids are reused once a span closes: the latest with this id.
        if let Some(span) = records
            .spans
            .iter_mut()
            .rev()
            .find(|span| span.id == id.into_u64())
        {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = context.event_span(event).map(|span| span.id().into_u64());
        self.records().events.push(EventRecord { fields, span });
    }
}

const GET: &str = "google.longrunning.Operations/GetOperation";

fn field<'a>(span: &'a SpanRecord, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

/// Every value recorded anywhere, for the secrets check.
fn every_value(records: &Records) -> Vec<String> {
    let spans = records.spans.iter().flat_map(|span| span.fields.values());
    let events = records
        .events
        .iter()
        .flat_map(|event| event.fields.values());
    spans.chain(events).cloned().collect()
}

#[tokio::test]
async fn calls_and_attempts_are_spans_named_after_the_rpc_with_rpc_attributes() -> TestResult {
    const API_KEY: &str = "AIza-test-api-key-never-traced";
    for (kind, system) in [(TransportKind::Grpc, "grpc"), (TransportKind::Rest, "http")] {
        let capture = Capture::default();
        let _installed =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
        let tokens = TokenServer::start(TokenServerConfig::default()).await;
        let dir = tempfile::tempdir()?;
        let key_file = tokens.service_account_key().write_to(dir.path());
        // Every second GetOperation request fails with UNAVAILABLE: the
        // second call's first attempt, and the third call's first.
        let emulator = Emulator::builder()
            .with_required_token("sa-token-1")
            .with_fault(
                Fault::on(Rpc::GetOperation)
                    .every(2)
                    .with_code(Code::Unavailable),
            )
            .start("127.0.0.1:0")
            .await?;
        let name = emulator.create(OperationSpec::new("p"))?;
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::from_service_account_file(&key_file)?)
            .with_header("x-goog-api-key", API_KEY)
            .with_retry_policy(RetryPolicy::new().with_initial_delay(Duration::from_millis(1)))
            .build()?;
        client.get(&name).await?;
        client.get(&name).await?;
        let missing = client.get("projects/p/operations/MISSING").await;
        assert_eq!(missing.map_err(|e| e.code()).err(), Some(Code::NotFound));
        let port = emulator
            .endpoint()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        emulator.shutdown().await?;

        let records = capture.records();
        let calls: Vec<&SpanRecord> = records
            .spans
            .iter()
            .filter(|span| span.name == GET && field(span, "eeops.attempt").is_none())
            .collect();
        assert_eq!(calls.len(), 3, "{kind:?}: {:#?}", records.spans);
        for call in &calls {
            assert_eq!(field(call, "rpc.system"), Some(system), "{call:?}");
            assert_eq!(
                field(call, "rpc.service"),
                Some("google.longrunning.Operations")
            );
            assert_eq!(field(call, "rpc.method"), Some("GetOperation"));
            assert_eq!(field(call, "server.address"), Some("127.0.0.1"));
            assert_eq!(field(call, "server.port"), Some(port.as_str()));
            assert_eq!(field(call, "otel.kind"), Some("client"));
        }
        let codes: Vec<_> = calls.iter().map(|call| field(call, "eeops.code")).collect();
        assert_eq!(
            codes,
            [Some("OK"), Some("OK"), Some("NOT_FOUND")],
            "{kind:?}"
        );
        let attempts: Vec<_> = calls.iter().map(|c| field(c, "eeops.attempts")).collect();
        assert_eq!(attempts, [Some("1"), Some("2"), Some("2")], "{kind:?}");
        assert_eq!(field(calls[2], "otel.status_code"), Some("ERROR"));

        // Attempts: inside their call, numbered, with the transport's own
        // attributes and the code each got.
        let attempts_of = |call: &SpanRecord| -> Vec<SpanRecord> {
            records
                .spans
                .iter()
                .filter(|span| span.parent == Some(call.id) && span.name == GET)
                .cloned()
                .collect()
        };
        let retried = attempts_of(calls[1]);
        assert_eq!(retried.len(), 2, "{kind:?}: {retried:#?}");
        let numbers: Vec<_> = retried.iter().map(|a| field(a, "eeops.attempt")).collect();
        assert_eq!(numbers, [Some("1"), Some("2")]);
        let attempt_codes: Vec<_> = retried.iter().map(|a| field(a, "eeops.code")).collect();
        assert_eq!(attempt_codes, [Some("UNAVAILABLE"), Some("OK")]);
        for attempt in retried.iter().chain(&attempts_of(calls[2])) {
            assert_eq!(field(attempt, "rpc.system"), Some(system), "{attempt:?}");
            assert_eq!(field(attempt, "rpc.method"), Some("GetOperation"));
            assert_eq!(field(attempt, "server.address"), Some("127.0.0.1"));
        }
        match kind {
            TransportKind::Grpc => {
                let statuses: Vec<_> = retried
                    .iter()
                    .map(|a| field(a, "rpc.grpc.status_code"))
                    .collect();
                assert_eq!(statuses, [Some("14"), Some("0")]);
                assert_eq!(
                    attempts_of(calls[2])
                        .last()
                        .and_then(|a| field(a, "rpc.grpc.status_code")),
                    Some("5")
                );
                assert!(retried.iter().all(|a| field(a, "url.path").is_none()));
            }
            _ => {
                let statuses: Vec<_> = retried
                    .iter()
                    .map(|a| field(a, "http.response.status_code"))
                    .collect();
                assert_eq!(statuses, [Some("503"), Some("200")]);
                assert_eq!(
                    attempts_of(calls[2])
                        .last()
                        .and_then(|a| field(a, "http.response.status_code")),
                    Some("404")
                );
                for attempt in &retried {
                    assert_eq!(field(attempt, "http.request.method"), Some("GET"));
                    assert_eq!(
                        field(attempt, "url.path").map(str::to_owned),
                        Some(format!("/v1/{name}"))
                    );
                }
            }
        }

        // A retry event in each retried call's span, with its delay and reason.
        let retries: Vec<&EventRecord> = records
            .events
            .iter()
            .filter(|event| event.fields.get("message").is_some_and(|m| m == "retrying"))
            .collect();
        assert_eq!(retries.len(), 2, "{kind:?}: {:#?}", records.events);
        assert_eq!(retries[0].span, Some(calls[1].id));
        assert_eq!(retries[1].span, Some(calls[2].id));
        for retry in retries {
            assert!(retry.fields.contains_key("delay_ms"), "{retry:?}");
            assert_eq!(
                retry.fields.get("next_attempt").map(String::as_str),
                Some("2")
            );
            assert!(
                retry.fields.get("reason").is_some_and(|r| !r.is_empty()),
                "{retry:?}"
            );
        }
        // One token fetch, said with its source.
        let fetches: Vec<&EventRecord> = records
            .events
            .iter()
            .filter(|event| {
                event
                    .fields
                    .get("message")
                    .is_some_and(|m| m == "fetched an access token")
            })
            .collect();
        assert_eq!(fetches.len(), 1, "{kind:?}: {:#?}", records.events);
        assert!(
            fetches[0].fields["source"].contains(&*key_file.to_string_lossy()),
            "{:?}",
            fetches[0].fields
        );

        // No token, authorization header or API key anywhere.
        let issued = tokens.issued();
        assert!(!issued.is_empty());
        for value in every_value(&records) {
            for secret in issued.iter().map(String::as_str).chain([API_KEY, "Bearer"]) {
                assert!(!value.contains(secret), "{kind:?}: {secret:?} in {value:?}");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn auto_says_when_it_falls_back_to_rest_and_the_call_span_says_http() -> TestResult {
    let capture = Capture::default();
    let _installed =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let (endpoint, _, server) = crate::rest_only::rest_only_server().await?;
    let client = Client::builder()
        .with_credentials(Credentials::anonymous())
        .with_transport(TransportKind::Auto)
        .with_endpoint(&endpoint)
        .build()?;
    client.get("projects/p/operations/X").await?;
    server.abort();

    let records = capture.records();
    let fallback = records
        .events
        .iter()
        .find(|event| {
            event
                .fields
                .get("message")
                .is_some_and(|m| m.contains("falling back"))
        })
        .unwrap_or_else(|| panic!("no fallback event in {:#?}", records.events));
    assert_eq!(
        fallback.fields.get("from").map(String::as_str),
        Some("grpc")
    );
    assert_eq!(fallback.fields.get("to").map(String::as_str), Some("http"));
    assert!(fallback.fields.get("reason").is_some_and(|r| !r.is_empty()));
    let call = records
        .spans
        .iter()
        .find(|span| span.name == GET && span.parent.is_none())
        .unwrap_or_else(|| panic!("no call span in {:#?}", records.spans));
    assert_eq!(field(call, "rpc.system"), Some("http"));
    assert_eq!(field(call, "eeops.code"), Some("OK"));
    let attempt = records
        .spans
        .iter()
        .find(|span| span.parent == Some(call.id))
        .unwrap_or_else(|| panic!("no attempt span in {:#?}", records.spans));
    // The event happened in the attempt that fell back.
    assert_eq!(fallback.span, Some(attempt.id));
    assert_eq!(field(attempt, "rpc.system"), Some("http"));
    assert_eq!(field(attempt, "http.response.status_code"), Some("200"));
    assert_eq!(
        field(attempt, "url.path"),
        Some("/v1/projects/p/operations/X")
    );
    Ok(())
}
