//! The typed reader agrees with the descriptor-driven one, and refuses what
//! proto3 JSON refuses, saying where.

use prost::Message;

use super::{read_list_page, read_operation, read_page_by_operation, read_status};
use crate::json::{ParseMode, parse_typed};
use crate::proto::longrunning::{ListOperationsResponse, Operation};
use crate::proto::rpc::Status;

const METADATA: &str = "type.googleapis.com/google.earthengine.v1.OperationMetadata";

/// Both readers' results, errors as text.
fn both<M: Message + Default + PartialEq + std::fmt::Debug>(
    text: &str,
    mode: ParseMode,
    typed: fn(&str, ParseMode) -> Result<M, crate::json::JsonError>,
    full_name: &str,
) -> (Result<M, String>, Result<M, String>) {
    (
        typed(text, mode).map_err(|e| e.to_string()),
        parse_typed::<M>(text, full_name, mode).map_err(|e| e.to_string()),
    )
}

fn operation_both(
    text: &str,
    mode: ParseMode,
) -> (Result<Operation, String>, Result<Operation, String>) {
    both(text, mode, read_operation, "google.longrunning.Operation")
}

fn page_both(
    text: &str,
) -> (
    Result<ListOperationsResponse, String>,
    Result<ListOperationsResponse, String>,
) {
    both(
        text,
        ParseMode::Lenient,
        read_list_page,
        "google.longrunning.ListOperationsResponse",
    )
}

#[test]
fn operations_read_as_the_descriptor_driven_reader_reads_them() {
    let documents = [
        r#"{}"#.to_owned(),
        r#"{"name":"operations/a","done":true,"response":{}}"#.to_owned(),
        r#"{"name":"a","done":null,"metadata":null,"error":null,"response":{"@type":"type.googleapis.com/google.protobuf.Empty"}}"#.to_owned(),
        format!(
            r#"{{"name":"projects/p/operations/X","metadata":{{"@type":"{METADATA}","state":"RUNNING","description":"d \u00e9\"","type":"EXPORT_IMAGE",
               "priority":"100","createTime":"2024-05-01T10:00:00Z","updateTime":"2024-05-01T10:05:00.123456789+02:00",
               "start_time":"1970-01-01T00:00:00.5Z","endTime":null,"progress":"0.25","attempt":2.0,"scriptUri":"s",
               "destination_uris":["gs://b/x","y"],"batchEecuUsageSeconds":"Infinity",
               "stages":[{{"displayName":"Compute","completeWorkUnits":"3","total_work_units":"9007199254740993","description":"c"}},{{}}],
               "notifications":[{{"severity":"SEVERE","topic":"t","detail":"x"}},{{"severity":1}}],"later":{{"x":[1,{{"y":2}}]}}}}}}"#
        ),
        format!(r#"{{"metadata":{{"state":"FAILED","@type":"{METADATA}","progress":1e-3,"priority":1e2}},"name":"n"}}"#),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","state":"FUTURE_STATE","progress":"NaN"}}}}"#),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","state":4}}}}"#),
        r#"{"name":"x","done":true,"error":{"code":"5","message":"gone","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R","metadata":{"k":"v"}},{"@type":"type.googleapis.com/example.Unknown","a":[1,{"b":null}],"c":"\u0001"}]}}"#.to_owned(),
        r#"{"name":"x","response":{"x":1,"@type":"type.googleapis.com/example.Later"}}"#.to_owned(),
        r#"{"name":"x","response":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"a":[1,"b",null]}}}"#.to_owned(),
        r#"{"name":"x","metadata":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1.5s"}}"#.to_owned(),
        r#"{"name":"x","unknownList":[{"a":1},{"a":2}],"\u006eame2":3}"#.to_owned(),
    ];
    for text in &documents {
        let (typed, tree) = operation_both(text, ParseMode::Lenient);
        assert!(typed.is_ok(), "{text}: {typed:?}");
        assert_eq!(typed, tree, "{text}");
    }
}

#[test]
fn bad_operations_are_refused_by_both_readers() {
    for text in [
        r#"{"name":5}"#.to_owned(),
        r#"{"done":"true"}"#.to_owned(),
        r#"{"done":1}"#.to_owned(),
        r#"[]"#.to_owned(),
        r#"{"name":"a"} x"#.to_owned(),
        r#"{"error":{"code":1.5}}"#.to_owned(),
        r#"{"error":{"code":2147483648}}"#.to_owned(),
        r#"{"error":{"code":1},"response":{}}"#.to_owned(),
        r#"{"metadata":{"value":"AQID"}}"#.to_owned(),
        r#"{"metadata":{"@type":"no-slash"}}"#.to_owned(),
        r#"{"metadata":[]}"#.to_owned(),
        r#"{"error":{"details":[null]}}"#.to_owned(),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","progress":"fast"}}}}"#),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","createTime":1}}}}"#),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","stages":[null]}}}}"#),
        format!(
            r#"{{"metadata":{{"@type":"{METADATA}","stages":[{{"totalWorkUnits":"9223372036854775808"}}]}}}}"#
        ),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","destinationUris":"one"}}}}"#),
    ] {
        let (typed, tree) = operation_both(&text, ParseMode::Lenient);
        assert!(typed.is_err(), "{text}: {typed:?}");
        assert!(tree.is_err(), "{text}: the other reader agrees: {tree:?}");
    }
}

#[test]
fn strict_mode_refuses_unknown_fields_and_enum_names() {
    for text in [
        r#"{"name":"x","later":1}"#.to_owned(),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","later":1}}}}"#),
        format!(r#"{{"metadata":{{"@type":"{METADATA}","state":"FUTURE"}}}}"#),
    ] {
        let (typed, tree) = operation_both(&text, ParseMode::Strict);
        assert!(typed.is_err(), "{text}: {typed:?}");
        assert!(tree.is_err(), "{text}: {tree:?}");
        assert!(read_operation(&text, ParseMode::Lenient).is_ok(), "{text}");
    }
}

/// Pages every reader must read.
const GOOD_PAGES: &[&str] = &[
    r#"{}"#,
    r#"{"operations": null, "nextPageToken": "t"}"#,
    r#"{"operations": [], "next_page_token": "t"}"#,
    r#"{"nextPageToken": "t2", "operations": [{"name": "operations/a", "done": true}, {"name": "operations/b"}], "unknownMember": {"x": [1, 2]}}"#,
    r#"{"operations": [{"name": "operations/a", "metadata": {"@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata", "state": "RUNNING", "progress": 0.5}}]}"#,
    r#"{"operations": [{"name": "operations/a", "metadata": {"@type": "type.googleapis.com/example.Unknown", "x": 1}}]}"#,
    r#"{"unreachable": ["projects/x"], "operations": [{"name": "operations/a"}]}"#,
    "{\n  \"operations\": [\n    {\"name\": \"a\"},\n    {\"name\": \"b\\u00e9\", \"done\": true}\n  ]\n}\n",
];

/// Pages every reader must refuse, and what the error must name.
const BAD_PAGES: &[(&str, &str)] = &[
    (r#"{"operations": [{"name": 5}]}"#, "operations[0].name"),
    (
        r#"{"operations": [{"name": "a"}, {"done": "maybe"}]}"#,
        "operations[1].done",
    ),
    (r#"{"operations": [null]}"#, "operations[0]"),
    (r#"{"operations": {"name": "a"}}"#, "JSON array"),
    (r#"{"nextPageToken": 7}"#, "expected a string"),
    (r#"[]"#, "JSON object"),
    (r#"{"operations": []} trailing"#, "not valid JSON"),
    (r#"{"operations": [{"name": "a"}"#, "not valid JSON"),
    (
        r#"{"operations": [{}, {"metadata": {"@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata", "stages": [{}, {"totalWorkUnits": "x"}]}}]}"#,
        "operations[1].metadata.stages[1].totalWorkUnits",
    ),
    (
        r#"{"operations": [{"response": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": 5}}]}"#,
        "operations[0].response.value",
    ),
    (
        "{\"operations\": [\n  {\"name\": \"a\"},\n  {\"name\": \"b\",\n   \"done\": \"maybe\"}]}",
        "line 4 column 18",
    ),
    (
        "{\"operations\": [\n  {\"name\": \"a\"}, {\"name\": \"\u{e9}\", \"done\": 1}]}",
        "line 2 column",
    ),
    (r#"{"operations":[],"operations":[]}"#, "duplicate key"),
    (
        r#"{"nextPageToken":"a","nextPageToken":"b"}"#,
        "duplicate key",
    ),
    (
        r#"{"operations":[{"name":"x","done":true,"done":false}]}"#,
        "duplicate key",
    ),
    (
        r#"{"operations":[{"name":"x","y":{"a":1,"a":2}}]}"#,
        "duplicate key",
    ),
];

#[test]
fn pages_read_as_a_whole_tree_would() {
    for text in GOOD_PAGES {
        let (typed, tree) = page_both(text);
        assert!(typed.is_ok(), "{text}: {typed:?}");
        assert_eq!(typed, tree, "{text}");
    }
}

#[test]
fn bad_pages_fail_and_say_where() {
    for (text, needle) in BAD_PAGES {
        let (typed, tree) = page_both(text);
        let error = typed.expect_err(text);
        assert!(error.contains(needle), "{text}: {error}");
        assert!(tree.is_err(), "{text}: the tree reader agrees it is bad");
    }
}

/// A page read one operation at a time, as a listing reads it.
fn split_then_read(text: &str) -> Result<ListOperationsResponse, String> {
    read_page_by_operation(text).map_err(|e| e.to_string())
}

#[test]
fn a_page_read_one_operation_at_a_time_reads_as_the_whole_page_does() {
    for text in GOOD_PAGES {
        let whole = read_list_page(text, ParseMode::Lenient).map_err(|e| e.to_string());
        assert!(whole.is_ok(), "{text}: {whole:?}");
        assert_eq!(split_then_read(text), whole, "{text}");
    }
    // The same words, the same path and the same line and column.
    for (text, _) in BAD_PAGES {
        let whole = read_list_page(text, ParseMode::Lenient).map_err(|e| e.to_string());
        assert!(whole.is_err(), "{text}");
        assert_eq!(split_then_read(text), whole, "{text}");
    }
}

#[test]
fn a_key_twice_is_refused_at_any_depth() {
    let nested = format!(
        r#"{{"name":"x","metadata":{{"@type":"{METADATA}","state":"RUNNING","state":"FAILED"}}}}"#
    );
    let late_type = format!(
        r#"{{"metadata":{{"state":"RUNNING","@type":"{METADATA}","@type":"{METADATA}"}}}}"#
    );
    for (text, key) in [
        (r#"{"name":"a","name":"b"}"#, "name"),
        (nested.as_str(), "state"),
        (late_type.as_str(), "@type"),
        (
            &format!(r#"{{"metadata":{{"@type":"{METADATA}","@type":"x/y"}}}}"#),
            "@type",
        ),
        (
            &format!(
                r#"{{"metadata":{{"@type":"{METADATA}","createTime":"2024-01-01T00:00:00Z","create_time":"2024-01-01T00:00:00Z"}}}}"#
            ),
            "create_time",
        ),
        (r#"{"name":"x","futureField":{"a":1,"a":2}}"#, "a"),
        (r#"{"name":"x","future":1,"future":2}"#, "future"),
        (
            r#"{"name":"x","error":{"code":1,"details":[{"@type":"t/x","k":1,"k":1}]}}"#,
            "k",
        ),
    ] {
        let error = read_operation(text, ParseMode::Lenient)
            .expect_err(text)
            .to_string();
        assert!(
            error.contains(&format!("duplicate key {key:?}")),
            "{text}: {error}"
        );
    }
}

#[test]
fn timestamps_outside_the_proto3_form_are_refused_with_where() {
    let with_time = |time: &str| {
        format!(r#"{{"name":"x","metadata":{{"@type":"{METADATA}","createTime":"{time}"}}}}"#)
    };
    for (time, why) in [
        ("2024-01-01T00:00:00.1234567891Z", "fractional digits"),
        ("0000-12-31T00:00:00Z", "outside the timestamp range"),
        ("2024-01-01t00:00:00Z", "upper-case"),
        ("2024-01-01T00:00:00z", "end in Z"),
    ] {
        let error = read_operation(&with_time(time), ParseMode::Lenient)
            .expect_err(time)
            .to_string();
        assert!(error.contains(why), "{time}: {error}");
        assert!(error.contains("metadata.createTime"), "{time}: {error}");
    }
    let nine = read_operation(
        &with_time("2024-01-01T00:00:00.123456789Z"),
        ParseMode::Lenient,
    )
    .expect("nine digits");
    let metadata = nine.earth_engine_metadata().expect("metadata");
    assert_eq!(metadata.create_time.map(|t| t.nanos), Some(123_456_789));
}

#[test]
fn statuses_read_as_the_descriptor_driven_reader_reads_them() {
    let text = r#"{"code":3,"message":"bad","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"a","description":"b"}]}]}"#;
    let (typed, tree) = both::<Status>(text, ParseMode::Lenient, read_status, "google.rpc.Status");
    assert!(typed.is_ok(), "{typed:?}");
    assert_eq!(typed, tree);
}

/// The descriptor-driven printer's output, the reference for the typed one.
fn printed_by_reflection(op: &Operation) -> serde_json::Value {
    let dynamic = crate::json::to_dynamic(op, "google.longrunning.Operation").expect("known");
    crate::json::message_to_json(&dynamic)
}

#[test]
fn operations_print_as_the_descriptor_driven_printer_prints_them() {
    use crate::proto::earthengine::{OperationMetadata, OperationNotification, OperationStage};
    let metadata = |metadata: OperationMetadata| {
        Some(prost_types::Any {
            type_url: METADATA.into(),
            value: metadata.encode_to_vec(),
        })
    };
    let mut operations = vec![
        Operation::default(),
        Operation {
            name: "operations/a".into(),
            metadata: metadata(OperationMetadata {
                state: 99,
                progress: -0.0,
                batch_eecu_usage_seconds: f64::NAN,
                priority: -3,
                create_time: Some(prost_types::Timestamp {
                    seconds: -62_135_596_800,
                    nanos: 0,
                }),
                update_time: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 10,
                }),
                start_time: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 1_000,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 100_000_000,
                }),
                stages: vec![
                    OperationStage::default(),
                    OperationStage {
                        display_name: "s".into(),
                        complete_work_units: -1,
                        total_work_units: i64::MIN,
                        description: "d".into(),
                    },
                ],
                notifications: vec![
                    OperationNotification {
                        severity: 7,
                        ..Default::default()
                    },
                    OperationNotification {
                        severity: 2,
                        topic: "t".into(),
                        detail: "x".into(),
                    },
                ],
                destination_uris: vec![String::new(), "gs://b".into()],
                ..Default::default()
            }),
            done: true,
            result: Some(crate::proto::longrunning::operation::Result::Error(
                Status {
                    code: 3,
                    message: "m".into(),
                    details: vec![
                        prost_types::Any::default(),
                        prost_types::Any {
                            type_url: "type.googleapis.com/example.Bytes".into(),
                            value: vec![1, 2, 3],
                        },
                    ],
                },
            )),
        },
        Operation {
            metadata: metadata(OperationMetadata {
                progress: f64::INFINITY,
                batch_eecu_usage_seconds: 1e300,
                ..Default::default()
            }),
            ..Default::default()
        },
        Operation {
            metadata: Some(prost_types::Any {
                type_url: METADATA.into(),
                value: vec![0xff, 0xff],
            }),
            ..Default::default()
        },
    ];
    let read = [
        format!(r#"{{"metadata":{{"@type":"{METADATA}","state":"RUNNING","progress":0.1,"type":"EXPORT_IMAGE","description":"é \"q\""}},"response":{{"@type":"type.googleapis.com/google.protobuf.Empty"}}}}"#),
        r#"{"name":"x","response":{"@type":"type.googleapis.com/example.Later","a":[1,{"b":null}]}}"#.to_owned(),
        r#"{"name":"x","response":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"a":[1,"b",null]}}}"#.to_owned(),
    ];
    operations.extend(
        read.iter()
            .map(|text| read_operation(text, ParseMode::Lenient).expect(text)),
    );
    for op in &operations {
        assert_eq!(
            crate::json::operation_to_json(op),
            printed_by_reflection(op),
            "{op:?}"
        );
        // Enums by number, as a call asking for enum-encoding=int gets them.
        let numbers = super::super::print::Enums::Numbers;
        let dynamic = crate::json::to_dynamic(op, "google.longrunning.Operation").expect("known");
        assert_eq!(
            serde_json::to_value(super::write::Written(op, numbers)).expect("written"),
            super::super::print::message_to_json_with(&dynamic, numbers),
            "{op:?}"
        );
    }
}

#[test]
fn a_page_changed_anywhere_reads_one_operation_at_a_time_as_it_reads_whole() {
    let page = r#"{"nextPageToken": "t\"2", "operations": [{"name": "operations/a", "done": true, "response": {"@type": "type.googleapis.com/example.R", "v": [1, {"w": "]"}]}}, {"name": "b", "metadata": {"@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata", "state": "RUNNING"}}], "unknown": {"x": [1, 2]}, "unreachable": ["u"]}"#;
    let whole = |text: &str| read_list_page(text, ParseMode::Lenient).map_err(|e| e.to_string());
    let mut changed = 0;
    for at in 0..page.len() {
        if !page.is_char_boundary(at) {
            continue;
        }
        let truncated = &page[..at];
        assert_eq!(split_then_read(truncated), whole(truncated), "{truncated}");
        for byte in ["{", "}", "[", "]", "\"", ",", ":", "\\", " ", "0", "n", ""] {
            let mut text = page.to_owned();
            let end = (at + 1..=page.len())
                .find(|&end| page.is_char_boundary(end))
                .unwrap_or(page.len());
            text.replace_range(at..end, byte);
            let expected = whole(&text);
            changed += usize::from(expected.is_err());
            assert_eq!(split_then_read(&text), expected, "{text}");
        }
    }
    // The changes made most pages malformed: the errors were compared too.
    assert!(changed > page.len(), "{changed}");
}
