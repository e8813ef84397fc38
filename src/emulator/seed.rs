//! Demo data: a realistic mix of Earth Engine tasks in every state.

use std::time::Duration;

use super::spec::OperationSpec;
use crate::proto::rpc::Code;

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same demo data on every machine.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..high` (`low` when the range is empty).
    pub(crate) fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            low
        } else {
            low + self.next_u64() % (high - low)
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() as u64) as usize]
    }

    /// A 24-character base32 task id, like Earth Engine's.
    pub(crate) fn task_id(&mut self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..24)
            .map(|_| ALPHABET[self.range(0, 32) as usize] as char)
            .collect()
    }
}

const KINDS: [&str; 6] = [
    "EXPORT_IMAGE",
    "EXPORT_FEATURES",
    "EXPORT_VIDEO",
    "EXPORT_TILES",
    "INGEST_IMAGE",
    "INGEST_TABLE",
];

const SUBJECTS: [&str; 8] = [
    "landcover",
    "ndvi_median",
    "sentinel2_composite",
    "forest_loss",
    "water_mask",
    "elevation_tiles",
    "field_boundaries",
    "burn_severity",
];

const REGIONS: [&str; 6] = [
    "kenya",
    "amazon_basin",
    "punjab",
    "california",
    "sahel",
    "borneo",
];

const FAILURES: [(Code, &str); 3] = [
    (
        Code::InvalidArgument,
        "Export too large: specified 2147483648 pixels (max: 100000000). Specify higher maxPixels value if you intend to export a large area.",
    ),
    (Code::ResourceExhausted, "Computation timed out."),
    (
        Code::Internal,
        "An internal error has occurred (request: 7c1f0e2b-3d4a-4b5c-9e6f-0a1b2c3d4e5f).",
    ),
];

/// What kind of demo task the `index`-th one is; the first six cover every
/// kind once.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    FinishingSoon,
    Queued,
    UntilCancelled,
    Succeeded,
    Failed,
    Cancelled,
}

const ROLES: [Role; 10] = [
    Role::FinishingSoon,
    Role::Queued,
    Role::UntilCancelled,
    Role::Succeeded,
    Role::Failed,
    Role::Cancelled,
    Role::Succeeded,
    Role::FinishingSoon,
    Role::Succeeded,
    Role::Queued,
];

/// `count` demo tasks for `project`. `run_time` is how long the tasks that
/// finish soon run.
pub(crate) fn demo_specs(
    project: &str,
    count: usize,
    run_time: Duration,
    seed: u64,
) -> Vec<OperationSpec> {
    let mut rng = SplitMix::new(seed);
    let mut specs = Vec::with_capacity(count);
    // Oldest first, so the newest tasks are the live ones.
    for index in (0..count).rev() {
        let role = ROLES[index % ROLES.len()];
        let kind = rng.pick(&KINDS);
        let subject = rng.pick(&SUBJECTS);
        let region = rng.pick(&REGIONS);
        let year = rng.range(2015, 2025);
        let description = format!("{subject}_{region}_{year}");
        let mut spec = OperationSpec::new(project)
            .with_id(rng.task_id())
            .with_type(kind)
            .with_description(&description)
            .with_priority(if rng.range(0, 5) == 0 { 200 } else { 100 });
        if kind.starts_with("EXPORT") {
            spec = spec.with_destination_uri(format!("gs://eeops-demo-exports/{description}/"));
        }
        spec = match role {
            Role::FinishingSoon => {
                let jitter =
                    Duration::from_millis(rng.range(0, 1 + run_time.as_millis() as u64 / 2));
                spec.with_queue_time(Duration::ZERO)
                    .with_run_time(run_time + jitter)
            }
            Role::Queued => spec.with_queue_time(Duration::from_secs(6 * 3600)),
            Role::UntilCancelled => spec
                .with_queue_time(Duration::ZERO)
                .running_until_cancelled(),
            Role::Succeeded | Role::Failed | Role::Cancelled => {
                let age = Duration::from_secs(60 * rng.range(60, 72 * 60));
                let run = Duration::from_secs(60 * rng.range(1, 45));
                let mut past = spec
                    .created_ago(age)
                    .with_queue_time(Duration::from_secs(rng.range(5, 300)))
                    .with_run_time(run);
                if role == Role::Failed {
                    let (code, message) = FAILURES[rng.range(0, FAILURES.len() as u64) as usize];
                    past = past.failing_with(code, message);
                }
                if role == Role::Cancelled {
                    past = past.cancelled_after(run / 2 + Duration::from_secs(300));
                }
                past
            }
        };
        specs.push(spec);
    }
    specs
}
