//! The built tool as the tests run it: an environment with nothing ambient
//! in it, and `eeops serve` in a child process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The tool under test.
pub const EEOPS: &str = env!("CARGO_BIN_EXE_eeops");

/// The variables that would reach outside the test.
const AMBIENT: [&str; 7] = [
    "EEOPS_PROJECT",
    "EEOPS_ENDPOINT",
    "EEOPS_ACCESS_TOKEN",
    "EEOPS_TOKEN_URI",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_QUOTA_PROJECT",
    "RUST_LOG",
];

/// No ambient configuration or credentials: a HOME of its own (so no real
/// Earth Engine credentials file is read), no credential variables.
pub fn isolated(command: &mut Command) -> &mut Command {
    for name in AMBIENT {
        command.env_remove(name);
    }
    command.env("HOME", std::env::temp_dir().join("eeops-cli-tests-home"))
}

/// `eeops serve --listen 127.0.0.1:0 ARGS...`, killed when dropped.
pub struct Serve {
    child: Child,
    /// The URL it printed.
    pub endpoint: String,
}

impl Serve {
    /// Starts it and waits for the line that names its endpoint (so it is
    /// listening before this returns).
    pub fn start(args: &[&str]) -> Self {
        let mut child = isolated(&mut Command::new(EEOPS))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
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
        Self { child, endpoint }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// [`isolated`] for a Tokio child process.
pub fn isolated_async(command: &mut tokio::process::Command) -> &mut tokio::process::Command {
    for name in AMBIENT {
        command.env_remove(name);
    }
    command.env("HOME", std::env::temp_dir().join("eeops-cli-tests-home"))
}
