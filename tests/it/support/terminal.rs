//! The built tool on a pseudo-terminal of a chosen width, through
//! util-linux's `script`: what a person sees, with stdout and stderr on one
//! screen, and a keyboard to type on (Ctrl-C, answers to questions).

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long `wait_for` waits before it gives up on a command that hangs
/// (a guard against a test that never ends, not a measure of speed).
const HANG_GUARD: Duration = Duration::from_secs(120);

use super::serve::{EEOPS, isolated};

/// What a command left on the screen.
pub struct Screen {
    /// Everything written, escape sequences removed, `\r\n` as `\n`.
    pub text: String,
    /// Everything written, exactly.
    pub raw: String,
    /// The tool's exit code.
    pub code: i32,
}

/// One shell word.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `script` running `eeops ARGS` on a terminal `columns` wide.
fn script(columns: u16, args: &[&str], env: &[(&str, &str)]) -> Command {
    let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
    let inner = format!(
        "stty cols {columns} rows 50 && exec {} {}",
        quote(EEOPS),
        words.join(" ")
    );
    let mut command = Command::new("script");
    isolated(&mut command)
        .args(["-qefc", &inner, "/dev/null"])
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `eeops ARGS` on a terminal `columns` wide until it exits.
pub fn run(columns: u16, args: &[&str], env: &[(&str, &str)]) -> Screen {
    let output = script(columns, args, env)
        .stdin(Stdio::null())
        .output()
        .expect("script runs the tool on a pseudo-terminal");
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    Screen {
        text: plain(&raw),
        raw,
        code: output.status.code().expect("exited normally"),
    }
}

/// A command on a terminal, with its keyboard.
pub struct Session {
    child: Child,
    keyboard: ChildStdin,
    screen: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Session {
    /// Starts `eeops ARGS` on a terminal `columns` wide.
    pub fn start(columns: u16, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = script(columns, args, env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script starts");
        let keyboard = child.stdin.take().expect("piped stdin");
        let mut output = child.stdout.take().expect("piped stdout");
        let (sender, screen) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = output.read(&mut buffer) {
                if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            keyboard,
            screen,
            seen: Vec::new(),
        }
    }

    /// Waits until the screen shows `text` (escape sequences removed);
    /// panics with the screen if the command ends first.
    pub fn wait_for(&mut self, text: &str) {
        while !plain(&String::from_utf8_lossy(&self.seen)).contains(text) {
            match self.screen.recv_timeout(HANG_GUARD) {
                Ok(bytes) => self.seen.extend(bytes),
                Err(_) => panic!(
                    "the command did not show {text:?}:\n{}",
                    plain(&String::from_utf8_lossy(&self.seen))
                ),
            }
        }
    }

    /// Types `keys`.
    pub fn type_keys(&mut self, keys: &[u8]) {
        self.keyboard.write_all(keys).expect("typed");
        self.keyboard.flush().expect("flushed");
    }

    /// Waits for the command to exit.
    pub fn finish(mut self) -> Screen {
        let status = self.child.wait().expect("script exits");
        while let Ok(bytes) = self.screen.recv() {
            self.seen.extend(bytes);
        }
        let raw = String::from_utf8_lossy(&self.seen).into_owned();
        Screen {
            text: plain(&raw),
            raw,
            code: status.code().expect("exited normally"),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `raw` without terminal escape sequences, with `\n` line ends.
pub fn plain(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameters, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            '\u{7}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The columns `line` takes on a terminal (wide characters count two).
pub fn columns(line: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(line)
}
