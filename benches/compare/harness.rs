//! The measuring: rounds that alternate the two sides, medians and
//! percentiles, and one comparison per kind of load (latency, throughput,
//! listing), each ending in a [`Ratio`](crate::Ratio).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sides::{Getter, Lister, Prepared, Sides};
use crate::{Config, Ratio, metric};

/// The sides in the order they run in round `round`: as given in even
/// rounds, reversed in odd ones, so that no side always follows another
/// (whose connection, caches and allocator state it would inherit).
pub(crate) fn in_round_order<T>(round: usize, sides: impl Iterator<Item = T>) -> Vec<T> {
    let mut sides: Vec<T> = sides.collect();
    if round % 2 == 1 {
        sides.reverse();
    }
    sides
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

pub(crate) fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((values.len() - 1) as f64 * p).round() as usize;
    values[rank]
}

/// How much the ratio moved from round to round: the lowest, median and
/// highest ratio of one round's eeops cost to the same round's raw cost.
/// The median of these paired ratios is reported beside the verdict, not
/// as it: the two sides of a round run seconds apart, so a machine that
/// speeds up or slows down between rounds moves it less.
pub(crate) fn round_spread(name: &str, eeops: &[f64], raw: &[f64]) {
    let mut ratios: Vec<f64> = eeops.iter().zip(raw).map(|(a, b)| a / b).collect();
    let middle = median(&mut ratios);
    if let (Some(low), Some(high)) = (ratios.first(), ratios.last()) {
        metric(&format!("{name}_round_ratio_min"), *low, "ratio");
        metric(&format!("{name}_round_ratio_median"), middle, "ratio");
        metric(&format!("{name}_round_ratio_max"), *high, "ratio");
    }
}

/// Sequential calls, one at a time; per-call latencies in microseconds.
pub(crate) async fn sequential(side: &mut Getter, calls: usize, offset: usize, out: &mut Vec<f64>) {
    for i in 0..calls {
        let started = Instant::now();
        side.get(offset + i).await;
        out.push(started.elapsed().as_secs_f64() * 1e6);
    }
}

pub(crate) async fn compare_latency(
    name: &'static str,
    budget: f64,
    sides: &mut Sides,
    config: &Config,
) -> Ratio {
    eprintln!("# {name}: warming up");
    let warm = (config.latency_calls / 2).max(50);
    for side in sides.all() {
        sequential(side, warm, 0, &mut Vec::new()).await;
    }
    let mut samples = vec![Vec::new(); sides.all().len()];
    for round in 0..config.latency_rounds {
        let offset = round * config.latency_calls;
        for (side, out) in in_round_order(round, sides.all().into_iter().zip(&mut samples)) {
            sequential(side, config.latency_calls, offset, out).await;
        }
    }
    let per_round = |samples: &[f64]| -> Vec<f64> {
        samples
            .chunks(config.latency_calls)
            .map(|round| median(&mut round.to_vec()))
            .collect()
    };
    round_spread(name, &per_round(&samples[0]), &per_round(&samples[1]));
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let labels = sides.labels();
    for ((label, samples), median) in labels.iter().zip(&mut samples).zip(&medians) {
        metric(&format!("{name}_{label}_median"), *median, "us");
        metric(
            &format!("{name}_{label}_p99"),
            percentile(samples, 0.99),
            "us",
        );
    }
    diagnostic_ratios(name, &labels, &medians);
    Ratio {
        name,
        ratio: medians[0] / medians[1],
        budget,
    }
}

/// With a diagnostic third side: eeops against it, and it against the
/// other side, as the ratio eeops' would be with no cost of its own.
fn diagnostic_ratios(name: &str, labels: &[&str], medians: &[f64]) {
    if let [eeops, other, diagnostic] = medians {
        let label = labels[2];
        metric(
            &format!("{name}_eeops_vs_{label}"),
            eeops / diagnostic,
            "ratio",
        );
        metric(
            &format!("{name}_{label}_vs_{}", labels[1]),
            diagnostic / other,
            "ratio",
        );
    }
}

/// `total` Gets with `in_flight` tasks each calling in a loop; the time
/// taken.
pub(crate) async fn concurrent(side: &Getter, total: usize, in_flight: usize) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (mut side, next) = (side.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= total {
                        break;
                    }
                    side.get(index).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a throughput worker finishes");
    }
    started.elapsed()
}

/// The ratio, and the raw side's calls per second.
pub(crate) async fn compare_throughput(
    name: &'static str,
    budget: f64,
    in_flight: usize,
    sides: &mut Sides,
    config: &Config,
) -> (Ratio, f64) {
    eprintln!("# {name}: warming up");
    let warm = (config.throughput_calls / 4).max(in_flight);
    for side in sides.all() {
        concurrent(side, warm, in_flight).await;
    }
    let mut times = vec![Vec::new(); sides.all().len()];
    for round in 0..config.throughput_rounds {
        for (side, out) in in_round_order(round, sides.all().into_iter().zip(&mut times)) {
            let elapsed = concurrent(side, config.throughput_calls, in_flight).await;
            out.push(elapsed.as_secs_f64());
        }
    }
    round_spread(name, &times[0], &times[1]);
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let labels = sides.labels();
    let calls = config.throughput_calls as f64;
    for (label, time) in labels.iter().zip(&medians) {
        metric(
            &format!("{name}_{label}_calls_per_s"),
            calls / time,
            "calls/s",
        );
    }
    diagnostic_ratios(name, &labels, &medians);
    // The emulator's own rate: what it serves to the quickest raw side.
    let fastest_raw = medians[1..].iter().copied().fold(f64::INFINITY, f64::min);
    (
        Ratio {
            name,
            ratio: medians[0] / medians[1],
            budget,
        },
        calls / fastest_raw,
    )
}

/// What one listing lists: every operation of `parent`, `count` of them;
/// `first` is the REST request of the first page, for the raw REST side.
pub(crate) struct Listing {
    pub(crate) parent: String,
    pub(crate) count: usize,
    pub(crate) first: Option<Prepared>,
}

/// Each side lists `warm` once, then `listing` in alternating rounds.
pub(crate) async fn compare_list(
    name: &'static str,
    budget: f64,
    (eeops, raw): (&Lister, &Lister),
    config: &Config,
    (warm, listing): (&Listing, &Listing),
) -> Ratio {
    eprintln!("# {name}: warming up");
    for side in [eeops, raw] {
        let listed = side.list(&warm.parent, warm.first.as_ref()).await;
        assert_eq!(listed, warm.count, "warm-up listing");
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..config.list_rounds {
        eprintln!("# {name}: round {}/{}", round + 1, config.list_rounds);
        for (side, times) in in_round_order(round, [(eeops, &mut a), (raw, &mut b)].into_iter()) {
            let started = Instant::now();
            let listed = side.list(&listing.parent, listing.first.as_ref()).await;
            times.push(started.elapsed().as_secs_f64());
            assert_eq!(listed, listing.count, "every operation is listed");
        }
    }
    round_spread(name, &a, &b);
    let (ta, tb) = (median(&mut a), median(&mut b));
    metric(&format!("{name}_eeops_ms"), ta * 1e3, "ms");
    metric(&format!("{name}_{}_ms", raw.label()), tb * 1e3, "ms");
    metric(
        &format!("{name}_eeops_operations_per_s"),
        listing.count as f64 / ta,
        "ops/s",
    );
    Ratio {
        name,
        ratio: ta / tb,
        budget,
    }
}

/// The eeops executable next to this benchmark's: Cargo builds it for
/// benchmarks, in `target/<profile>/`, one level above `deps/`.
pub(crate) fn cli_binary() -> Option<PathBuf> {
    if let Some(path) = option_env!("CARGO_BIN_EXE_eeops").map(PathBuf::from)
        && path.exists()
    {
        return Some(path);
    }
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join(format!("eeops{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

/// `1000` as `1k`, for metric names.
pub(crate) fn count_label(count: usize) -> String {
    if count >= 1000 && count.is_multiple_of(1000) {
        format!("{}k", count / 1000)
    } else {
        count.to_string()
    }
}
