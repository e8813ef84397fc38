//! An emulator on a thread and a Tokio runtime of its own, for comparisons
//! of whole clients: the server shares the machine with the clients, as
//! any server on loopback does, but not their runtime's worker threads,
//! where its tasks would take turns with theirs and each client's calls
//! would pay for the server's scheduling as well as its own.

use std::sync::mpsc;
use std::thread::JoinHandle;

use eeops::emulator::{Emulator, Handle};
use tokio::sync::oneshot;

pub(crate) struct ServerThread {
    endpoint: String,
    handle: Handle,
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl ServerThread {
    /// Starts the emulator on loopback and waits until it listens.
    pub(crate) fn start() -> Self {
        let (started, listening) = mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("emulator".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the emulator's runtime can be built");
                runtime.block_on(async move {
                    let emulator = Emulator::builder()
                        .start("127.0.0.1:0")
                        .await
                        .expect("the emulator starts on loopback");
                    started
                        .send((emulator.endpoint(), emulator.handle()))
                        .expect("the bench waits for the emulator");
                    // A dropped sender stops the server as well.
                    let _ = stopped.await;
                    emulator
                        .shutdown()
                        .await
                        .expect("the emulator shuts down cleanly");
                });
            })
            .expect("a thread for the emulator");
        let (endpoint, handle) = listening
            .recv()
            .expect("the emulator's thread reports its address");
        Self {
            endpoint,
            handle,
            stop,
            thread,
        }
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts the emulator down and waits for its thread.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        self.thread
            .join()
            .expect("the emulator's thread ends without a panic");
    }
}
