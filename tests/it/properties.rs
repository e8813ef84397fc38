//! Property tests through the public API: request URLs built for arbitrary
//! resource names and list parameters (`http_preview`, nothing sent), the
//! proto3 JSON round trip of arbitrary operations, and the REST error
//! mapping of arbitrary responses (through the conformance runner).
//!
//! Properties that need the path-template internals (matching a path back)
//! are unit tests in `src/routes/template.rs`.

use std::sync::LazyLock;

use eeops::conformance::Conformance;
use eeops::earthengine::{OperationMetadata, OperationNotification, OperationStage};
use eeops::json::{any_to_json, operation_to_json, parse_operation};
use eeops::longrunning::{Operation, operation};
use eeops::rpc::{ErrorInfo, LocalizedMessage, RetryInfo, Status};
use eeops::{ApiVersion, Client, Credentials, Routes, TransportKind};
use proptest::prelude::*;
use prost::Message;
use prost_types::{Any, Duration, Struct, Timestamp};
use serde_json::{Map, Value, json};

use crate::support::percent::decode_exact;

/// The endpoint previews are built for; nothing is ever sent to it.
const ENDPOINT: &str = "http://127.0.0.1:9";

/// The runtime the clients are built in; previews never run a future.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// One REST client per Earth Engine version and one over the generic
/// routes, each with the version its URLs start with and whether its List
/// URL ends in `/operations`; built once, as building loads the system's
/// root certificates.
static CLIENTS: LazyLock<Vec<(&'static str, bool, Client)>> = LazyLock::new(|| {
    ApiVersion::ALL
        .into_iter()
        .map(|version| {
            (
                version.as_str(),
                true,
                client(Routes::earth_engine(version)),
            )
        })
        .chain([("v1", false, client(Routes::generic()))])
        .collect()
});

/// A REST client over `routes`.
fn client(routes: Routes) -> Client {
    let _inside = RUNTIME.enter();
    Client::builder()
        .with_endpoint(ENDPOINT)
        .with_transport(TransportKind::Rest)
        .with_credentials(Credentials::anonymous())
        .with_routes(routes)
        .build()
        .expect("a REST client builds without a server")
}

/// A preview's URL split into its decoded path segments (the verb, if
/// given, checked and removed) and its raw query; fails on anything a
/// correct URL would not have.
fn decoded_segments(
    url: &str,
    verb: Option<&str>,
) -> Result<(Vec<String>, Option<String>), TestCaseError> {
    let rest = url
        .strip_prefix(ENDPOINT)
        .ok_or_else(|| TestCaseError::fail(format!("{url} is not under {ENDPOINT}")))?;
    prop_assert!(
        rest.bytes().all(|b| b.is_ascii_graphic() && b != b'#'),
        "unencoded byte in {}",
        url
    );
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (rest, None),
    };
    if let Some(query) = &query {
        prop_assert!(!query.contains('?'), "a second '?' in {}", url);
    }
    let path = match verb {
        Some(verb) => path
            .strip_suffix(verb)
            .and_then(|p| p.strip_suffix(':'))
            .ok_or_else(|| TestCaseError::fail(format!("{url} lacks :{verb}")))?,
        None => path,
    };
    let path = path
        .strip_prefix('/')
        .ok_or_else(|| TestCaseError::fail(format!("{url}: no path")))?;
    let mut segments = Vec::new();
    for segment in path.split('/') {
        prop_assert!(
            !matches!(segment, "" | "." | ".."),
            "empty or dot segment in {}",
            url
        );
        let decoded = decode_exact(segment)
            .ok_or_else(|| TestCaseError::fail(format!("bad or non-canonical escape in {url}")))?;
        prop_assert!(
            !matches!(decoded.as_str(), "." | ".."),
            "{} decodes to a dot segment in {}",
            segment,
            url
        );
        segments.push(decoded);
    }
    Ok((segments, query))
}

/// One resource-name segment: arbitrary Unicode without `/`, the characters
/// a URL gives a meaning to, and dots; never empty, `.` or `..`.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^/]{1,12}",
        "[%?#:;=&+@!$'()*,\\[\\]{}|\\\\^`\"<> a-zA-Z0-9_~-]{1,10}",
        "%[0-9a-fA-F]{2}|%2[eEfF]|%25|%",
        "\\.{3,4}|\\.[^/.]{1,4}|[^/.]{1,4}\\.",
    ]
    .prop_filter("not a dot segment", |s| s != "." && s != "..")
}

/// Segments joined with `/`.
fn segments(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=max).prop_map(|parts| parts.join("/"))
}

/// Any text that may be given as a name, well-formed or not.
fn any_name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => segment(),
        1 => Just(String::new()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just("%2E%2E".to_owned()),
        1 => Just("projects".to_owned()),
        1 => Just("operations".to_owned()),
    ];
    prop_oneof![
        "\\PC{0,24}",
        prop::collection::vec(piece, 0..7).prop_map(|parts| parts.join("/")),
        (segment(), segments(3)).prop_map(|(p, id)| format!("projects/{p}/operations/{id}")),
        segments(3).prop_map(|id| format!("operations/{id}")),
    ]
}

/// What the URL of a call on `name` must decode to: the version, then the
/// name's pieces.
fn expected(version: &str, name: &str) -> Vec<String> {
    std::iter::once(version.to_owned())
        .chain(name.split('/').map(str::to_owned))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) Every Earth Engine operation name gives, for every call and
    /// version, a URL whose segments decode to exactly the name's.
    #[test]
    fn earth_engine_names_are_addressed_exactly(project in segment(), id in segments(4)) {
        let name = format!("projects/{project}/operations/{id}");
        for (version, _, client) in CLIENTS.iter().filter(|(_, earth_engine, _)| *earth_engine) {
            let want = expected(version, &name);
            let get = client.get(&name).http_preview().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(get.method.as_str(), "GET");
            prop_assert_eq!(decoded_segments(&get.url, None)?, (want.clone(), None));
            let delete = client.delete(&name).http_preview().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(delete.method.as_str(), "DELETE");
            prop_assert_eq!(decoded_segments(&delete.url, None)?, (want.clone(), None));
            let cancel = client.cancel(&name).http_preview().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(cancel.method.as_str(), "POST");
            prop_assert_eq!(decoded_segments(&cancel.url, Some("cancel"))?, (want.clone(), None));
            prop_assert_eq!(cancel.body.as_deref(), Some("{}"));
            let wait = client.wait_once(&name).http_preview().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decoded_segments(&wait.url, Some("wait"))?.0, want);
            let mut parent = expected(version, &format!("projects/{project}"));
            parent.push("operations".to_owned());
            let list = client.list(format!("projects/{project}")).http_preview().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decoded_segments(&list.url, None)?, (parent, None));
        }
    }

    /// (b) Whatever the name, every call on every table is either refused
    /// or sent to a URL whose segments decode to the name's, never with an
    /// unencoded `?`, `#` or dot segment.
    #[test]
    fn no_name_addresses_another_resource(name in any_name()) {
        for (version, earth_engine, client) in CLIENTS.iter() {
            let calls = [
                (client.get(&name).http_preview(), None),
                (client.delete(&name).http_preview(), None),
                (client.cancel(&name).http_preview(), Some("cancel")),
                (client.wait_once(&name).http_preview(), Some("wait")),
            ];
            for (preview, verb) in calls {
                if let Ok(preview) = preview {
                    prop_assert_eq!(decoded_segments(&preview.url, verb)?, (expected(version, &name), None));
                }
            }
            if let Ok(list) = client.list(&name).http_preview() {
                let mut want = expected(version, &name);
                if *earth_engine {
                    want.push("operations".to_owned());
                }
                prop_assert_eq!(decoded_segments(&list.url, None)?, (want, None));
            }
        }
    }

    /// (b) A name with an empty, `.` or `..` segment is refused by every
    /// call of every table.
    #[test]
    fn dot_segments_are_refused_everywhere(
        project in segment(),
        bad in prop_oneof![Just(""), Just("."), Just("..")],
        tail in prop::option::of(segments(2)),
    ) {
        let name = match tail {
            Some(tail) => format!("projects/{project}/operations/{bad}/{tail}"),
            None => format!("projects/{project}/operations/{bad}"),
        };
        for (_, _, client) in CLIENTS.iter() {
            prop_assert!(client.get(&name).http_preview().is_err(), "{:?}", name);
            prop_assert!(client.cancel(&name).http_preview().is_err(), "{:?}", name);
            prop_assert!(client.delete(&name).http_preview().is_err(), "{:?}", name);
            prop_assert!(client.wait_once(&name).http_preview().is_err(), "{:?}", name);
        }
    }

    /// (c) The query string built for arbitrary filter, page size and page
    /// token values decodes back to exactly those values, and only set
    /// fields appear.
    #[test]
    fn list_queries_decode_back(
        project in segment(),
        filter in prop_oneof!["(?s).{0,30}", "[&=?#%+ ]{0,10}", Just(String::new())],
        token in prop_oneof!["(?s).{0,30}", "[A-Za-z0-9+/=_-]{0,40}", Just(String::new())],
        page_size in prop_oneof![Just(0), any::<i32>()],
    ) {
        let (_, _, client) = &CLIENTS[0];
        let preview = client
            .list(format!("projects/{project}"))
            .set_filter(filter.clone())
            .set_page_token(token.clone())
            .set_page_size(page_size)
            .http_preview()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (_, query) = decoded_segments(&preview.url, None)?;
        let mut want = Vec::new();
        if !filter.is_empty() {
            want.push(("filter".to_owned(), filter));
        }
        if page_size != 0 {
            want.push(("pageSize".to_owned(), page_size.to_string()));
        }
        if !token.is_empty() {
            want.push(("pageToken".to_owned(), token));
        }
        let query = query.unwrap_or_default();
        prop_assert!(
            query.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%=&".contains(&b)),
            "{}",
            query
        );
        let mut got = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| TestCaseError::fail(format!("no '=' in {pair}")))?;
            prop_assert!(!value.contains('='), "an unencoded '=' in {}", pair);
            let decode = |text: &str| {
                decode_exact(text).ok_or_else(|| TestCaseError::fail(format!("bad or non-canonical escape in {query}")))
            };
            got.push((decode(key)?, decode(value)?));
        }
        prop_assert_eq!(got, want);
    }
}

// ---------------------------------------------------------------------------
// (d) JSON round trip of arbitrary operations.

/// Any text: arbitrary Unicode, control characters and newlines included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "(?s).{0,16}",
        1 => "[\\u{0}-\\u{1f}\"\\\\/\\u{7f}\\u{2028}\\u{2029}\\u{FEFF}]{0,6}",
        1 => "[\\u{10000}-\\u{10FFFF}]{0,4}",
    ]
}

/// Any double, with NaN, the infinities, -0, extremes and integral values
/// beyond 2^53 made likely (they survive JSON exactly with serde_json's
/// `float_roundtrip` feature, which the crate turns on).
fn double() -> impl Strategy<Value = f64> {
    let double = prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(9_007_199_254_740_993.0),
        (0.0..=1.0f64),
        any::<i64>().prop_map(|n| n as f64),
    ];
    double
}

/// A timestamp in the range proto3 JSON can print (years 1 to 9999).
fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    prop::option::of(
        (-62_135_596_800i64..=253_402_300_799, 0..1_000_000_000i32)
            .prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
    )
}

/// Earth Engine task metadata with arbitrary field values, unknown enum
/// numbers included.
fn metadata() -> impl Strategy<Value = OperationMetadata> {
    let stage = (text(), any::<i32>(), any::<i64>(), text()).prop_map(
        |(display_name, complete_work_units, total_work_units, description)| OperationStage {
            display_name,
            complete_work_units,
            total_work_units,
            description,
        },
    );
    let notification =
        (prop_oneof![0..3, any::<i32>()], text(), text()).prop_map(|(severity, topic, detail)| {
            OperationNotification {
                severity,
                topic,
                detail,
            }
        });
    (
        (
            prop_oneof![0..7, any::<i32>()],
            text(),
            text(),
            any::<i32>(),
        ),
        (timestamp(), timestamp(), timestamp(), timestamp()),
        (
            double(),
            prop::collection::vec(stage, 0..3),
            any::<i32>(),
            text(),
        ),
        (
            prop::collection::vec(text(), 0..3),
            prop::collection::vec(notification, 0..3),
            double(),
        ),
    )
        .prop_map(
            |(
                (state, description, r#type, priority),
                (create_time, update_time, start_time, end_time),
                (progress, stages, attempt, script_uri),
                (destination_uris, notifications, batch_eecu_usage_seconds),
            )| OperationMetadata {
                state,
                description,
                r#type,
                priority,
                create_time,
                update_time,
                start_time,
                end_time,
                progress,
                stages,
                attempt,
                script_uri,
                destination_uris,
                notifications,
                batch_eecu_usage_seconds,
            },
        )
}

/// Arbitrary JSON, finite numbers only (JSON has no others), each read
/// back exactly also as a double.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// An `Any` packing `message` under `type.googleapis.com/{name}`.
fn pack(name: &str, message: &impl Message) -> Any {
    Any {
        type_url: format!("type.googleapis.com/{name}"),
        value: message.encode_to_vec(),
    }
}

/// An `Any` of a type this crate does not know, as a REST response leaves
/// it: its JSON members (never `@type`) as the value, its type URL marked.
fn unknown_json_any() -> impl Strategy<Value = Any> {
    (
        "[a-z][a-zA-Z0-9_]{0,8}",
        prop::collection::vec((text(), json_value()), 0..4),
    )
        .prop_map(|(type_name, members)| {
            let object: Map<String, Value> = members
                .into_iter()
                .filter(|(key, _)| key != "@type")
                .collect();
            Any {
                type_url: format!(
                    "{}type.googleapis.com/example.{type_name}",
                    eeops::json::JSON_ANY_PREFIX
                ),
                value: serde_json::to_vec(&object).unwrap_or_default(),
            }
        })
}

/// JSON as a `google.protobuf.Value` (numbers as doubles, as the type has
/// them).
fn proto_value(json: &Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match json {
        Value::Null => Kind::NullValue(0),
        Value::Bool(flag) => Kind::BoolValue(*flag),
        Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or_default()),
        Value::String(text) => Kind::StringValue(text.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(proto_value).collect(),
        }),
        Value::Object(members) => Kind::StructValue(Struct {
            fields: members
                .iter()
                .map(|(key, value)| (key.clone(), proto_value(value)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A `google.protobuf.Struct` with finite numbers.
fn structure() -> impl Strategy<Value = Struct> {
    prop::collection::vec((text(), json_value()), 0..4).prop_map(|members| Struct {
        fields: members
            .iter()
            .map(|(key, value)| (key.clone(), proto_value(value)))
            .collect(),
    })
}

/// A `Duration` in the range proto3 JSON can print, nanos of its sign.
fn duration() -> impl Strategy<Value = Duration> {
    (-315_576_000_000i64..=315_576_000_000, 0..1_000_000_000i32).prop_map(|(seconds, nanos)| {
        Duration {
            seconds,
            nanos: if seconds < 0 { -nanos } else { nanos },
        }
    })
}

/// An error detail: a known `google.rpc` type or an unknown one.
fn detail() -> impl Strategy<Value = Any> {
    prop_oneof![
        (
            text(),
            text(),
            prop::collection::hash_map(text(), text(), 0..3)
        )
            .prop_map(|(reason, domain, metadata)| pack(
                "google.rpc.ErrorInfo",
                &ErrorInfo {
                    reason,
                    domain,
                    metadata
                }
            )),
        prop::option::of(duration())
            .prop_map(|retry_delay| pack("google.rpc.RetryInfo", &RetryInfo { retry_delay })),
        (text(), text()).prop_map(|(locale, message)| pack(
            "google.rpc.LocalizedMessage",
            &LocalizedMessage { locale, message }
        )),
        unknown_json_any(),
    ]
}

/// The metadata or response of an operation: Earth Engine metadata under
/// any version, a Struct, Empty, an unknown type or the default `Any`.
fn payload() -> impl Strategy<Value = Any> {
    prop_oneof![
        3 => (metadata(), prop_oneof![Just("v1"), Just("v1beta"), Just("v1alpha")]).prop_map(
            |(metadata, version)| pack(&format!("google.earthengine.{version}.OperationMetadata"), &metadata)
        ),
        1 => structure().prop_map(|s| pack("google.protobuf.Struct", &s)),
        1 => Just(pack("google.protobuf.Empty", &())),
        1 => unknown_json_any(),
        1 => Just(Any::default()),
    ]
}

/// An arbitrary operation.
fn an_operation() -> impl Strategy<Value = Operation> {
    let status = (any::<i32>(), text(), prop::collection::vec(detail(), 0..4)).prop_map(
        |(code, message, details)| Status {
            code,
            message,
            details,
        },
    );
    let result = prop_oneof![
        Just(None),
        status.prop_map(|status| Some(operation::Result::Error(status))),
        payload().prop_map(|response| Some(operation::Result::Response(response))),
    ];
    (text(), any::<bool>(), prop::option::of(payload()), result).prop_map(
        |(name, done, metadata, result)| Operation {
            name,
            metadata,
            done,
            result,
        },
    )
}

/// A double for comparison: every NaN is one value, and so are 0 and -0.
fn double_key(x: f64) -> Option<u64> {
    if x.is_nan() {
        None
    } else if x == 0.0 {
        Some(0)
    } else {
        Some(x.to_bits())
    }
}

/// The contents of an `Any`, decoded for comparison.
#[derive(Debug, PartialEq)]
enum Contents {
    /// Earth Engine metadata with its doubles taken out as keys.
    Metadata(Box<OperationMetadata>, [Option<u64>; 2]),
    ErrorInfo(ErrorInfo),
    RetryInfo(RetryInfo),
    Localized(LocalizedMessage),
    Struct(Struct),
    /// Anything else, byte for byte.
    Raw(Vec<u8>),
}

/// `any` decoded by its type URL, doubles compared as [`double_key`] says.
fn contents(any: &Any) -> (String, Contents) {
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    let value = any.value.as_slice();
    let contents = match name {
        n if n.ends_with(".OperationMetadata") => match OperationMetadata::decode(value) {
            Ok(mut metadata) => {
                let keys = [
                    double_key(metadata.progress),
                    double_key(metadata.batch_eecu_usage_seconds),
                ];
                metadata.progress = 0.0;
                metadata.batch_eecu_usage_seconds = 0.0;
                Contents::Metadata(Box::new(metadata), keys)
            }
            Err(_) => Contents::Raw(value.to_vec()),
        },
        "google.rpc.ErrorInfo" => ErrorInfo::decode(value)
            .map_or_else(|_| Contents::Raw(value.to_vec()), Contents::ErrorInfo),
        "google.rpc.RetryInfo" => RetryInfo::decode(value)
            .map_or_else(|_| Contents::Raw(value.to_vec()), Contents::RetryInfo),
        "google.rpc.LocalizedMessage" => LocalizedMessage::decode(value)
            .map_or_else(|_| Contents::Raw(value.to_vec()), Contents::Localized),
        "google.protobuf.Struct" => {
            Struct::decode(value).map_or_else(|_| Contents::Raw(value.to_vec()), Contents::Struct)
        }
        _ => Contents::Raw(value.to_vec()),
    };
    (any.type_url.clone(), contents)
}

/// Equality of operations by their decoded contents (see [`contents`]).
fn same_operation(a: &Operation, b: &Operation) -> Result<(), TestCaseError> {
    prop_assert_eq!(&a.name, &b.name);
    prop_assert_eq!(a.done, b.done);
    prop_assert_eq!(
        a.metadata.as_ref().map(contents),
        b.metadata.as_ref().map(contents)
    );
    match (&a.result, &b.result) {
        (None, None) => {}
        (Some(operation::Result::Error(x)), Some(operation::Result::Error(y))) => {
            prop_assert_eq!(x.code, y.code);
            prop_assert_eq!(&x.message, &y.message);
            let xs: Vec<_> = x.details.iter().map(contents).collect();
            let ys: Vec<_> = y.details.iter().map(contents).collect();
            prop_assert_eq!(xs, ys);
        }
        (Some(operation::Result::Response(x)), Some(operation::Result::Response(y))) => {
            prop_assert_eq!(contents(x), contents(y));
        }
        (x, y) => prop_assert!(false, "results differ: {:?} / {:?}", x, y),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (d) Printing an operation as proto3 JSON and parsing the text gives
    /// the same operation back.
    #[test]
    fn operations_round_trip_through_json(op in an_operation()) {
        let printed = operation_to_json(&op);
        let parsed = parse_operation(&printed.to_string())
            .map_err(|e| TestCaseError::fail(format!("{printed} does not parse: {e}")))?;
        same_operation(&op, &parsed)?;
        // And the text is the same once more.
        prop_assert_eq!(operation_to_json(&parsed), printed);
    }

    /// (d) An `Any` of an unknown type that came as bytes (over gRPC) prints
    /// as base64 under `value`; that print is stable through a parse.
    #[test]
    fn unknown_binary_any_prints_stably(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let any = Any { type_url: "type.googleapis.com/example.Binary".into(), value: bytes };
        let op = Operation { name: "x".into(), metadata: Some(any.clone()), ..Default::default() };
        let printed = operation_to_json(&op);
        prop_assert_eq!(&printed["metadata"], &any_to_json(&any));
        let parsed = parse_operation(&printed.to_string())
            .map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(operation_to_json(&parsed), printed);
    }

    /// (e) The REST error mapping answers every status and body with an
    /// error code, never OK for a status that is not 2xx.
    #[test]
    fn http_errors_always_have_a_code(
        status in prop_oneof![any::<u16>(), 400u16..600],
        body in prop_oneof![
            "(?s).{0,80}",
            (text(), text(), json_value()).prop_map(|(status, message, code)| {
                json!({"error": {"code": code, "status": status, "message": message}}).to_string()
            }),
            (json_value(), text()).prop_map(|(code, message)| json!({"code": code, "message": message}).to_string()),
            json_value().prop_map(|v| v.to_string()),
        ],
    ) {
        let vector = json!({"kind": "http_error", "http_status": status, "body": body});
        let actual = Conformance::new().run(&vector);
        let code = actual["code"].as_str().unwrap_or_default();
        prop_assert!(eeops::rpc::Code::from_str_name(code).is_some(), "{}", actual);
        if !(200..=299).contains(&status) {
            prop_assert_ne!(code, "OK", "{}", actual);
        }
    }
}

/// The equality used above tells NaN from numbers and keeps -0 equal to 0.
#[test]
fn double_keys() {
    assert_eq!(double_key(f64::NAN), double_key(-f64::NAN));
    assert_eq!(double_key(-0.0), double_key(0.0));
    assert_ne!(double_key(f64::NAN), double_key(0.0));
    assert_ne!(double_key(f64::INFINITY), double_key(f64::NEG_INFINITY));
}
