//! `json_decode_vs_serde`: a page of 1,000 Earth Engine operations decoded
//! by eeops' proto3 JSON reader against `serde_json` into plain derived
//! structs of the same shape. The plain structs read no more than the text
//! says (timestamps stay strings, enums stay names, the `@type` is not
//! looked at), so they are the practical limit of a JSON reader for these
//! messages; eeops also checks the proto3 forms and refuses keys given twice.

use std::time::Instant;

use eeops::earthengine::{OperationMetadata, OperationStage, State};
use eeops::longrunning::{Operation, operation};
use prost::Message;
use serde::Deserialize;

use crate::harness::{in_round_order, median, round_spread};
use crate::{Config, Ratio, metric};

const PAGE_OPERATIONS: usize = 1_000;

/// A page as `serde_json` reads it into plain structs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainPage {
    #[serde(default)]
    operations: Vec<PlainOperation>,
    #[serde(default)]
    next_page_token: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainOperation {
    #[serde(default)]
    name: String,
    metadata: Option<PlainMetadata>,
    #[serde(default)]
    done: bool,
    error: Option<PlainStatus>,
    response: Option<PlainAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainMetadata {
    #[serde(rename = "@type")]
    type_url: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    priority: i32,
    create_time: Option<String>,
    update_time: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    #[serde(default)]
    progress: f64,
    #[serde(default)]
    stages: Vec<PlainStage>,
    #[serde(default)]
    attempt: i32,
    #[serde(default)]
    script_uri: String,
    #[serde(default)]
    destination_uris: Vec<String>,
    #[serde(default)]
    batch_eecu_usage_seconds: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainStage {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    complete_work_units: i32,
    #[serde(default)]
    total_work_units: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainStatus {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainAny {
    #[serde(rename = "@type")]
    type_url: String,
}

/// A finished export as Earth Engine describes it.
fn operation(index: usize) -> Operation {
    let at = |seconds: i64| {
        Some(prost_types::Timestamp {
            seconds: 1_764_000_000 + seconds,
            nanos: 123_000_000,
        })
    };
    let metadata = OperationMetadata {
        state: State::Succeeded as i32,
        description: format!("export_{index}"),
        r#type: "EXPORT_IMAGE".into(),
        priority: 100,
        create_time: at(0),
        update_time: at(90),
        start_time: at(5),
        end_time: at(90),
        progress: 1.0,
        stages: vec![OperationStage {
            display_name: "Create Local Files".into(),
            complete_work_units: 1,
            total_work_units: 1,
            description: "Computation and writing of temporary files.".into(),
        }],
        attempt: 1,
        script_uri: "https://code.earthengine.google.com/5f2a".into(),
        destination_uris: vec![format!("https://drive.google.com/#folders/1aBcD{index}")],
        batch_eecu_usage_seconds: 12.5,
        ..Default::default()
    };
    Operation {
        name: format!("projects/bench/operations/{index:024X}"),
        metadata: Some(prost_types::Any {
            type_url: eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
            value: metadata.encode_to_vec(),
        }),
        done: true,
        result: Some(operation::Result::Response(prost_types::Any {
            type_url: "type.googleapis.com/google.protobuf.Empty".into(),
            value: Vec::new(),
        })),
    }
}

fn page_text() -> String {
    let operations: Vec<serde_json::Value> = (0..PAGE_OPERATIONS)
        .map(|index| eeops::json::operation_to_json(&operation(index)))
        .collect();
    serde_json::json!({"operations": operations, "nextPageToken": "next"}).to_string()
}

pub(crate) fn compare_json_decode(config: &Config) -> Ratio {
    const NAME: &str = "json_decode_vs_serde";
    let text = page_text();
    let (rounds, pages) = if config.short { (3, 2) } else { (15, 20) };
    let eeops_page = || {
        let page = eeops::json::parse_list_page(&text).expect("eeops reads the page");
        assert_eq!(page.operations.len(), PAGE_OPERATIONS);
        std::hint::black_box(page);
    };
    let serde_page = || {
        let page: PlainPage = serde_json::from_str(&text).expect("serde reads the page");
        assert_eq!(page.operations.len(), PAGE_OPERATIONS);
        std::hint::black_box(page);
    };
    let sides: [(&dyn Fn(), usize); 2] = [(&eeops_page, 0), (&serde_page, 1)];
    for (side, _) in sides {
        side();
    }
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (side, which) in in_round_order(round, sides.into_iter()) {
            let started = Instant::now();
            for _ in 0..pages {
                side();
            }
            times[which].push(started.elapsed().as_secs_f64() / pages as f64);
        }
    }
    let [mut eeops, mut plain] = times;
    round_spread(NAME, &eeops, &plain);
    let (te, tp) = (median(&mut eeops), median(&mut plain));
    metric(&format!("{NAME}_eeops_ms"), te * 1e3, "ms");
    metric(&format!("{NAME}_serde_ms"), tp * 1e3, "ms");
    metric(&format!("{NAME}_page_bytes"), text.len() as f64, "bytes");
    Ratio {
        name: NAME,
        ratio: te / tp,
        budget: 1.5,
    }
}
