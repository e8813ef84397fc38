//! Ctrl-C for long commands: the first one asks the command to stop and say
//! what it did so far (it then exits 130); a second one exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use super::exit;

/// The first Ctrl-C, seen by the command that armed it.
#[derive(Clone)]
pub(crate) struct Interrupt {
    fired: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Interrupt {
    /// Starts listening for Ctrl-C (from then on it no longer kills the
    /// process by itself).
    pub(crate) fn arm() -> Self {
        let interrupt = Self {
            fired: Arc::new(AtomicBool::new(false)),
            notify: Arc::new(Notify::new()),
        };
        let listener = interrupt.clone();
        // Registered now, not when the task first runs, so that a Ctrl-C
        // right after this returns is already ours.
        let mut presses = Presses::register();
        tokio::spawn(async move {
            if !presses.next().await {
                return;
            }
            listener.fired.store(true, Ordering::SeqCst);
            listener.notify.notify_waiters();
            if presses.next().await {
                eprintln!();
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        });
        interrupt
    }

    /// Whether Ctrl-C was pressed.
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Completes when Ctrl-C is pressed (at once if it already was).
    pub(crate) async fn wait(&self) {
        let notified = self.notify.notified();
        if self.fired() {
            return;
        }
        notified.await;
    }
}

/// Ctrl-C presses, as a stream of events.
struct Presses {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Presses {
    fn register() -> Self {
        #[cfg(unix)]
        {
            Self {
                signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// The next press; false when none can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match self.signal.as_mut() {
                Some(signal) => signal.recv().await.is_some(),
                None => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}
