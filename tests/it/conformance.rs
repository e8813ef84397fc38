//! Every reference vector in `tests/data/conformance/vectors.json` passes:
//! transcoding, proto3 JSON and REST error mapping.

use eeops::conformance::Conformance;
use prost::Message;
use serde_json::Value;

/// The repository's top level (the tests are declared by the package in `cli/`).
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn runner() -> Conformance {
    let root = ROOT;
    let synthetic = protox::compile(
        [format!("{root}/tests/data/proto/synthetic.proto")],
        [format!("{root}/tests/data/proto")],
    )
    .expect("the synthetic test proto compiles");
    Conformance::new()
        .with_descriptors(&synthetic.encode_to_vec())
        .expect("the synthetic descriptors load")
}

#[test]
fn every_shared_vector_passes() {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/data/conformance/vectors.json"))
        .expect("the vectors are in the test data");
    let document: Value = serde_json::from_str(&text).expect("the vectors are JSON");
    assert_eq!(document["format"], "lro-transcoding-oracle/1");
    let vectors = document["vectors"].as_array().expect("a list of vectors");
    assert_eq!(
        vectors.len() as u64,
        document["count"].as_u64().expect("a count")
    );
    let runner = runner();
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|vector| {
            let actual = runner.run(vector);
            (!Conformance::check(vector, &actual)).then(|| {
                format!(
                    "{}\n  expected {}\n  actual   {}",
                    vector["id"], vector["expected"], actual
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wrong_answer_is_caught() {
    // The checker itself must be able to fail.
    let vector: Value = serde_json::json!({
        "kind": "http_error", "http_status": 404, "body": "",
        "expected": {"code": "INTERNAL"}
    });
    let actual = runner().run(&vector);
    assert_eq!(actual["code"], "NOT_FOUND");
    assert!(!Conformance::check(&vector, &actual));
}
