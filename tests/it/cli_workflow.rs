//! The workflow commands against `eeops serve --seed`: state filters with new
//! and old names, JSON Lines, info, cancel --all, wait --all, watch and
//! completions — with exit codes and output off a terminal.

use std::process::{Command, Output, Stdio};

use crate::support::serve::{EEOPS, Serve, isolated};

/// `eeops serve` seeded with `seed` tasks in `project`, quick to finish and
/// to cancel.
fn start(project: &str, seed: usize) -> Serve {
    let seed = seed.to_string();
    Serve::start(&[
        "--project",
        project,
        "--seed",
        &seed,
        "--run-time",
        "1s",
        "--cancel-latency",
        "100ms",
    ])
}

/// Runs the tool against `server` for `project`.
fn run(server: &Serve, project: &str, args: &[&str]) -> Output {
    isolated(&mut Command::new(EEOPS))
        .args(["--endpoint", &server.endpoint, "--project", project])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("eeops runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn jsonl(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

fn states(ops: &[serde_json::Value]) -> Vec<String> {
    ops.iter()
        .map(|op| {
            op["metadata"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn state_filters_accept_new_and_old_names_and_jsonl_has_one_operation_per_line() {
    let server = start("f", 20);
    let all = jsonl(&run(&server, "f", &["list", "--format", "jsonl"]));
    assert_eq!(all.len(), 20);
    let pending = jsonl(&run(
        &server,
        "f",
        &["list", "--state", "PENDING", "--format", "jsonl"],
    ));
    let ready = jsonl(&run(
        &server,
        "f",
        &["list", "--state", "ready", "--format", "jsonl"],
    ));
    assert!(!pending.is_empty());
    assert_eq!(states(&pending), states(&ready), "READY is PENDING");
    assert!(states(&pending).iter().all(|s| s == "PENDING"));
    let finished = jsonl(&run(
        &server,
        "f",
        &[
            "list",
            "--state",
            "COMPLETED,FAILED",
            "--state",
            "CANCELLED",
            "--format",
            "jsonl",
        ],
    ));
    assert!(
        states(&finished)
            .iter()
            .all(|s| ["SUCCEEDED", "FAILED", "CANCELLED"].contains(&s.as_str()))
    );
    assert!(
        states(&finished).iter().any(|s| s == "SUCCEEDED")
            && states(&finished).iter().any(|s| s == "FAILED")
    );
    let kind = all[0]["metadata"]["type"]
        .as_str()
        .expect("a type")
        .to_owned();
    let by_type = jsonl(&run(
        &server,
        "f",
        &["list", "--type", &kind, "--format", "jsonl"],
    ));
    assert!(
        !by_type.is_empty()
            && by_type
                .iter()
                .all(|op| op["metadata"]["type"] == kind.as_str())
    );
    // Seeded history is hours old; the live tasks are minutes old.
    let recent = jsonl(&run(
        &server,
        "f",
        &["list", "--since", "30m", "--format", "jsonl"],
    ));
    assert!(!recent.is_empty() && recent.len() < all.len());
    let bad = run(&server, "f", &["list", "--state", "DONE"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unknown state"), "{}", stderr(&bad));
}

#[test]
fn info_shows_everything_and_long_listing_fits_the_width() {
    let server = start("i", 6);
    let all = jsonl(&run(&server, "i", &["list", "--format", "jsonl"]));
    let ids: Vec<String> = all
        .iter()
        .take(2)
        .map(|op| {
            op["name"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let info = run(
        &server,
        "i",
        &["info", &ids[0], &ids[1], "--format", "table"],
    );
    assert_eq!(info.status.code(), Some(0));
    let text = stdout(&info);
    for field in ["name:", "state:", "created:", "priority:", "done:"] {
        assert_eq!(text.matches(field).count(), 2, "{field} in\n{text}");
    }
    for width in [80, 200] {
        let screen = crate::support::terminal::run(
            width,
            &[
                "--endpoint",
                &server.endpoint,
                "--project",
                "i",
                "list",
                "--long",
            ],
            &[],
        );
        assert!(
            screen.text.contains("gs://eeops-demo-exports/"),
            "{}",
            screen.text
        );
        for line in screen.text.lines() {
            assert!(
                crate::support::terminal::columns(line) <= usize::from(width),
                "{line:?} wider than {width}"
            );
        }
    }
}

#[test]
fn cancel_all_leaves_nothing_pending_or_running() {
    let server = start("c", 30);
    let dry = run(&server, "c", &["--dry-run", "cancel", "--all"]);
    assert_eq!(dry.status.code(), Some(0));
    let would = stdout(&dry)
        .lines()
        .filter(|l| l.starts_with("would cancel"))
        .count();
    assert!(would > 0, "{}", stdout(&dry));
    let live = |server: &Serve| {
        jsonl(&run(
            server,
            "c",
            &["list", "--state", "PENDING,RUNNING", "--format", "jsonl"],
        ))
        .len()
    };
    assert_eq!(live(&server), would, "the dry run cancelled nothing");
    let done = run(
        &server,
        "c",
        &["cancel", "--all", "--yes", "--format", "table"],
    );
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let summary = stdout(&done);
    assert!(
        summary.contains(&format!("cancel requested for {would}")),
        "{summary}"
    );
    assert_eq!(live(&server), 0);
}

#[test]
fn wait_all_times_out_with_5_and_prints_timestamped_lines_off_a_terminal() {
    let server = start("w", 10);
    let output = run(
        &server,
        "w",
        &["wait", "--all", "--timeout", "3s", "--format", "json"],
    );
    // The seeded mix has tasks that only end when cancelled.
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let log = stderr(&output);
    let lines: Vec<&str> = log.lines().collect();
    let timestamped = lines.iter().filter(|line| {
        let bytes = line.as_bytes();
        bytes.len() > 9 && bytes[2] == b':' && bytes[5] == b':' && bytes[8] == b' '
    });
    assert!(timestamped.count() >= 3, "{lines:?}");
    let finals: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(finals.as_array().is_some_and(|ops| !ops.is_empty()));
}

#[test]
fn watch_prints_each_transition_until_done() {
    let server = start("x", 8);
    let running = jsonl(&run(
        &server,
        "x",
        &["list", "--state", "RUNNING", "--format", "jsonl"],
    ));
    // A task of the seeded mix that finishes within a second or two.
    let soon = running
        .iter()
        .find(|op| op["metadata"]["progress"].as_f64().is_some_and(|p| p > 0.0))
        .or_else(|| running.first())
        .and_then(|op| op["name"].as_str())
        .expect("a running task")
        .to_owned();
    let cancel_it = run(&server, "x", &["cancel", &soon]);
    assert_eq!(cancel_it.status.code(), Some(0));
    let output = run(&server, "x", &["watch", &soon, "--format", "table"]);
    let text = stdout(&output);
    assert!(
        text.contains("→ CANCELLED") || text.contains("CANCELLED"),
        "{text}"
    );
    assert_eq!(
        output.status.code(),
        Some(4),
        "cancelled: {text}{}",
        stderr(&output)
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = isolated(&mut Command::new(EEOPS))
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(
            script.contains("eeops") && script.contains("wait") && script.contains("state"),
            "{shell}"
        );
    }
}

#[test]
fn wait_draws_progress_bars_on_a_terminal() {
    let server = start("t", 4);
    let running = jsonl(&run(
        &server,
        "t",
        &["list", "--state", "RUNNING", "--format", "jsonl"],
    ));
    let name = running
        .first()
        .and_then(|op| op["name"].as_str())
        .expect("a running task")
        .to_owned();
    // `script` runs the tool on a pseudo-terminal and copies what it draws.
    let command = format!(
        "{EEOPS} --endpoint {} --project t wait {name} --timeout 3s --format table",
        server.endpoint
    );
    let output = isolated(&mut Command::new("script"))
        .args(["-qfec", &command, "/dev/null"])
        .env("COLUMNS", "100")
        .output()
        .expect("script runs the tool on a pseudo-terminal");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("[#") || screen.contains("[-"),
        "a progress bar: {screen}"
    );
    assert!(screen.contains("\u{1b}[1A"), "redrawn in place: {screen:?}");
    assert!(
        !screen
            .lines()
            .any(|line| line.len() > 9 && line.as_bytes()[2] == b':' && line.as_bytes()[5] == b':'),
        "no log lines on a terminal"
    );
}
