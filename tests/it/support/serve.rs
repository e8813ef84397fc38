//! The built tool as the tests run it: an environment with nothing ambient
//! in it, and `eeops serve` in a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// The tool under test.
pub const EEOPS: &str = env!("CARGO_BIN_EXE_eeops");

/// The variables that would reach outside the test: configuration,
/// credentials and proxies.
const AMBIENT: [&str; 15] = [
    "EEOPS_PROJECT",
    "EEOPS_ENDPOINT",
    "EEOPS_ACCESS_TOKEN",
    "EEOPS_TOKEN_URI",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_QUOTA_PROJECT",
    "RUST_LOG",
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// No ambient configuration, credentials or proxies: a HOME of its own (so
/// no real Earth Engine credentials file is read), none of [`AMBIENT`].
pub fn isolated(command: &mut Command) -> &mut Command {
    for name in AMBIENT {
        command.env_remove(name);
    }
    command.env("HOME", std::env::temp_dir().join("eeops-cli-tests-home"))
}

/// How long a test waits for the server to do something it must do before
/// the test fails: a bound that catches a hang, not a measurement.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `eeops serve --listen 127.0.0.1:0 ARGS...`, killed when dropped.
pub struct Serve {
    child: Option<Child>,
    pid: u32,
    /// The URL it printed.
    pub endpoint: String,
    /// The first line it printed.
    pub banner: String,
    /// Its stderr, line by line, when started with [`Serve::start_logged`].
    log: Option<Receiver<String>>,
}

impl Serve {
    /// Starts it and waits for the line that names its endpoint (so it is
    /// listening before this returns).
    pub fn start(args: &[&str]) -> Self {
        Self::spawn("127.0.0.1:0", args, false)
    }

    /// Like [`start`](Self::start), with its debug log readable through
    /// [`log_line`](Self::log_line).
    pub fn start_logged(args: &[&str]) -> Self {
        Self::spawn("127.0.0.1:0", args, true)
    }

    /// Like [`start_logged`](Self::start_logged), listening on `listen`.
    pub fn start_logged_on(listen: &str, args: &[&str]) -> Self {
        Self::spawn(listen, args, true)
    }

    fn spawn(listen: &str, args: &[&str], logged: bool) -> Self {
        let mut command = Command::new(EEOPS);
        isolated(&mut command)
            .args(["serve", "--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(if logged {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        if logged {
            command.env("RUST_LOG", "eeops=debug");
        }
        let mut child = command.spawn().expect("serve starts");
        let log = child.stderr.take().map(|stderr| {
            let (lines, log) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
            log
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("serve prints its endpoint");
        let endpoint = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
            .to_owned();
        Self {
            pid: child.id(),
            child: Some(child),
            endpoint,
            banner: first,
            log,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("an address in the endpoint")
    }

    /// The next stderr line that contains `needle`, skipping others; fails
    /// the test if none comes within [`PATIENCE`].
    pub fn log_line(&self, needle: &str) -> String {
        let log = self.log.as_ref().expect("started with start_logged");
        loop {
            match log.recv_timeout(PATIENCE) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(error) => panic!("no log line with {needle:?}: {error}"),
            }
        }
    }

    /// Sends the signal `name` (such as `TERM` or `INT`) to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} failed: {status}");
    }

    /// Waits for the server to exit and returns how it did; fails the test
    /// (and kills the server) if it is still running after [`PATIENCE`].
    pub fn exit_status(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("still running");
        let (done, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait());
            child
        });
        match exited.recv_timeout(PATIENCE) {
            Ok(status) => status.expect("the server's exit status"),
            Err(_) => {
                self.signal("KILL");
                panic!("the server was still running {PATIENCE:?} after it was told to stop");
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// [`isolated`] for a Tokio child process.
pub fn isolated_async(command: &mut tokio::process::Command) -> &mut tokio::process::Command {
    for name in AMBIENT {
        command.env_remove(name);
    }
    command.env("HOME", std::env::temp_dir().join("eeops-cli-tests-home"))
}
