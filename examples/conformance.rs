//! Runs every vector of a conformance file (format `lro-transcoding-oracle/1`)
//! and prints one result line per vector: `{"id": ..., "actual": ...}`.
//!
//! ```sh
//! cargo run --release --example conformance -- tests/data/conformance/vectors.json
//! ```
//!
//! A summary (`N passed, N failed`) goes to stderr; the exit code is 1 when
//! any vector's result differs from its `expected` and `alternatives`.

use std::process::ExitCode;

use eeops::conformance::Conformance;
use prost::Message;
use serde_json::{Value, json};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: conformance VECTORS.json");
        return ExitCode::from(2);
    };
    match run(&path) {
        Ok(all_passed) => ExitCode::from(if all_passed { 0 } else { 1 }),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(path: &str) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let document: Value =
        serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?;
    let vectors = document["vectors"]
        .as_array()
        .ok_or_else(|| format!("{path} has no \"vectors\" list"))?;
    let runner = runner()?;
    let (mut passed, mut failed) = (0, 0);
    for vector in vectors {
        let actual = runner.run(vector);
        if Conformance::check(vector, &actual) {
            passed += 1;
        } else {
            failed += 1;
        }
        let mut shown = actual;
        if let Some(object) = shown.as_object_mut() {
            object.remove("reason");
            object.remove("query_string");
        }
        println!("{}", json!({"id": vector["id"], "actual": shown}));
    }
    eprintln!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

/// This crate's types plus the test-only request message of the `synthetic`
/// group.
fn runner() -> Result<Conformance, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let synthetic = protox::compile(
        [format!("{root}/tests/data/proto/synthetic.proto")],
        [format!("{root}/tests/data/proto")],
    )
    .map_err(|e| format!("cannot compile the synthetic test proto: {e}"))?;
    Conformance::new()
        .with_descriptors(&synthetic.encode_to_vec())
        .map_err(|e| e.to_string())
}
