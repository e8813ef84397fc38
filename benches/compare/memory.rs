//! Memory, as the scenarios report it: the resident set read from
//! `/proc/self/status` (or a child's `/proc/PID/status`), sampled while a
//! scenario runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::metric;

/// `VmRSS` or `VmHWM` of this process, in KiB.
pub(crate) fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status_field_kib(&status, field).unwrap_or(0)
}

/// A field such as `VmHWM` of a `/proc/PID/status` text, in KiB.
pub(crate) fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        line.strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The resident set before a scenario, at its peak, and the growth, in MiB.
pub(crate) fn rss_metrics(name: &str, before_kib: u64, peak_kib: u64) {
    metric(&format!("{name}_rss_before"), mib(before_kib), "MiB");
    metric(&format!("{name}_rss_peak"), mib(peak_kib), "MiB");
    metric(
        &format!("{name}_rss_growth"),
        mib(peak_kib.saturating_sub(before_kib)),
        "MiB",
    );
}

/// Samples the resident set every 2 ms on a thread of its own until
/// finished; the highest value seen.
pub(crate) struct RssSampler {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) thread: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    pub(crate) fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut highest = 0;
            while !flag.load(Ordering::Relaxed) {
                highest = highest.max(proc_status_kib("VmRSS"));
                std::thread::sleep(Duration::from_millis(2));
            }
            highest.max(proc_status_kib("VmRSS"))
        });
        Self { stop, thread }
    }

    pub(crate) fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler thread ends")
    }
}
