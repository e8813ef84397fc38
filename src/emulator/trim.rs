//! Giving memory back after a burst. Freed memory stays with the allocator
//! for reuse: after 10,000 concurrent waits, glibc's malloc keeps the
//! resident set near its peak although every connection, stream and wait
//! is gone. So when the server goes quiet after a burst — no request in
//! progress after many were at once, or no connection left at all — the
//! allocator is asked to return what it holds free (`malloc_trim`), a
//! moment later and at most once in that moment, off the runtime's threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Requests in progress at once that make a burst worth trimming after.
const BURST: usize = 64;

/// How long after a quiet moment the trim comes: what the last connections
/// free as they wind down is freed by then, and quiet moments meanwhile
/// fold into the one trim.
const SETTLE: Duration = Duration::from_millis(250);

/// What the server has in progress, watched for the moment it goes quiet.
#[derive(Default)]
pub(crate) struct Load {
    requests: AtomicUsize,
    /// The most requests in progress at once since the last trim.
    peak: AtomicUsize,
    connections: AtomicUsize,
    quiet: Notify,
}

impl Load {
    pub(crate) fn request_started(&self) {
        let now = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    pub(crate) fn request_ended(&self) {
        if self.requests.fetch_sub(1, Ordering::Relaxed) == 1
            && self.peak.load(Ordering::Relaxed) >= BURST
        {
            self.peak.store(0, Ordering::Relaxed);
            self.quiet.notify_one();
        }
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        if self.connections.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.quiet.notify_one();
        }
    }

    /// Trims after every quiet moment, until dropped.
    pub(crate) async fn trim_when_quiet(self: Arc<Self>) {
        loop {
            self.quiet.notified().await;
            tokio::time::sleep(SETTLE).await;
            // A quiet moment from now on leaves a permit for the next round.
            // malloc_trim walks every arena: not on a runtime thread.
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
        }
    }
}

/// Returns the memory glibc's allocator holds free to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_free_memory() {
    // SAFETY: malloc_trim takes no pointers and only reorganises glibc's
    // own free lists under their locks; any thread may call it at any time.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(
        released = released != 0,
        "returned free memory to the system"
    );
}

/// Other allocators return memory on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    fn quiet(load: &Load) -> bool {
        load.quiet.notified().now_or_never().is_some()
    }

    #[test]
    fn the_end_of_a_burst_and_the_last_connection_are_quiet_moments() {
        let load = Load::default();
        load.connection_opened();
        for _ in 0..BURST {
            load.request_started();
        }
        load.request_ended();
        assert!(!quiet(&load), "still busy");
        for _ in 1..BURST {
            load.request_ended();
        }
        assert!(quiet(&load), "a burst ended");
        load.request_started();
        load.request_ended();
        assert!(!quiet(&load), "one request is no burst");
        load.connection_closed();
        assert!(quiet(&load), "no connection left");
    }
}
