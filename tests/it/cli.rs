//! The built `eeops` tool, run as a user would: exit codes, JSON output, the
//! demo, and `serve` in a child process.

use std::process::{Command, Output, Stdio};

use crate::support::closed_port::ClosedPort;
use crate::support::serve::{EEOPS, Serve as Server, isolated};

fn eeops(args: &[&str]) -> Output {
    isolated(Command::new(EEOPS).args(args))
        .stdin(Stdio::null())
        .output()
        .expect("the eeops binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

#[test]
fn demo_runs_the_main_job_and_exits_zero() {
    // In a folder of its own: the demo leaves its report where it runs.
    let folder = tempfile::tempdir().expect("temp dir");
    let output = isolated(Command::new(EEOPS).arg("demo"))
        .current_dir(folder.path())
        .stdin(Stdio::null())
        .output()
        .expect("the eeops binary runs");
    let stdout = text(&output.stdout);
    assert_eq!(exit_code(&output), 0, "{stdout}\n{}", text(&output.stderr));
    for expected in [
        "✓ 13 tasks listed",
        "ended SUCCEEDED",
        "ended CANCELLED with error code 1",
        "NOT_FOUND",
        "All steps behaved as expected.",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    let reports: Vec<_> = std::fs::read_dir(folder.path())
        .expect("readable")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let name = reports[0]
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(
        name.starts_with("eeops-report-demo-") && name.ends_with(".html"),
        "{name}"
    );
    assert!(
        stdout.contains(&format!("report written to {}", reports[0].display())),
        "{stdout}"
    );
    let page = std::fs::read_to_string(&reports[0]).expect("the report is readable");
    assert!(page.contains("data-tasks=\"12\""), "the demo's 12 tasks");
}

#[test]
fn emulator_list_prints_proto3_json_that_parses() {
    let output = eeops(&["--emulator", "list", "--format", "json"]);
    assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));
    let operations: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let operations = operations.as_array().expect("a JSON array");
    assert_eq!(operations.len(), 24);
    for op in operations {
        let name = op["name"].as_str().expect("name");
        assert!(name.starts_with("projects/demo/operations/"), "{name}");
        assert_eq!(
            op["metadata"]["@type"],
            "type.googleapis.com/google.earthengine.v1.OperationMetadata"
        );
        assert!(op["metadata"]["state"].is_string());
    }
    let limited = eeops(&["--emulator", "list", "--limit", "5", "--format", "json"]);
    let limited: serde_json::Value = serde_json::from_slice(&limited.stdout).expect("valid JSON");
    assert_eq!(limited.as_array().map(Vec::len), Some(5));
}

#[test]
fn table_output_fits_80_columns_on_a_terminal() {
    let screen = crate::support::terminal::run(80, &["--emulator", "list"], &[]);
    assert_eq!(screen.code, 0, "{}", screen.text);
    assert!(screen.text.starts_with("ID"), "{}", screen.text);
    for line in screen.text.lines() {
        assert!(crate::support::terminal::columns(line) <= 80, "{line:?}");
    }
    for state in ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] {
        assert!(
            screen.text.contains(state),
            "no {state} in\n{}",
            screen.text
        );
    }
}

#[test]
fn exit_codes_tell_usage_not_found_and_errors_apart() {
    let missing = eeops(&["--emulator", "get", "NOSUCHTASK"]);
    assert_eq!(exit_code(&missing), 6);
    assert!(
        text(&missing.stderr).contains("NOT_FOUND"),
        "{}",
        text(&missing.stderr)
    );

    let no_project = eeops(&["--endpoint", "http://127.0.0.1:9", "get", "ABC"]);
    assert_eq!(exit_code(&no_project), 2);
    assert!(text(&no_project.stderr).contains("--project"));

    let bad_duration = eeops(&["--emulator", "wait", "X", "--timeout", "soon"]);
    assert_eq!(exit_code(&bad_duration), 2);

    let closed = ClosedPort::new().expect("a closed port");
    let endpoint = closed.endpoint();
    let down = eeops(&[
        "--endpoint",
        &endpoint,
        "--rpc-timeout",
        "2s",
        "get",
        "projects/p/operations/x",
    ]);
    assert_eq!(exit_code(&down), 1);
    let stderr = text(&down.stderr);
    assert!(
        stderr.contains("UNAVAILABLE") && stderr.contains(&endpoint),
        "{stderr}"
    );

    let bad_filter = eeops(&["--emulator", "list", "--filter", "colour=red"]);
    assert_eq!(exit_code(&bad_filter), 1);
    assert!(
        text(&bad_filter.stderr).contains("field filter: invalid filter"),
        "{}",
        text(&bad_filter.stderr)
    );
}

#[test]
fn serve_then_get_cancel_wait_and_delete_from_another_process() {
    let server = Server::start(&["--project", "cli", "--seed", "6", "--run-time", "1s"]);
    let base = [
        "--endpoint",
        server.endpoint.as_str(),
        "--project",
        "cli",
        "--format",
        "json",
    ];
    let run = |args: &[&str]| eeops(&[&base[..], args].concat());

    let listed = run(&["list"]);
    assert_eq!(exit_code(&listed), 0, "{}", text(&listed.stderr));
    let operations: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let operations = operations.as_array().expect("array").clone();
    assert_eq!(operations.len(), 6);
    let by_state = |state: &str| {
        operations
            .iter()
            .find(|op| {
                op["metadata"]["state"] == state
                    && op["metadata"]["progress"].as_f64().unwrap_or(0.0) < 0.5
            })
            .and_then(|op| op["name"].as_str())
            .map(|name| name.rsplit('/').next().unwrap_or(name).to_owned())
            .unwrap_or_else(|| panic!("no {state} operation in {operations:?}"))
    };
    let pending = by_state("PENDING");

    // A bare id with --project, and the full name, both work.
    let got = run(&["get", &pending]);
    assert_eq!(exit_code(&got), 0);
    let got: serde_json::Value = serde_json::from_slice(&got.stdout).expect("JSON");
    assert_eq!(got["name"], format!("projects/cli/operations/{pending}"));

    // Waiting on a queued task past a short timeout: exit 5.
    let timed_out = run(&["wait", &pending, "--timeout", "300ms"]);
    assert_eq!(exit_code(&timed_out), 5, "{}", text(&timed_out.stderr));

    // Cancel it, then wait: CANCELLED, exit 4.
    let cancelled = run(&["cancel", &pending]);
    assert_eq!(exit_code(&cancelled), 0, "{}", text(&cancelled.stderr));
    let waited = run(&["wait", &pending, "--timeout", "30s"]);
    assert_eq!(exit_code(&waited), 4, "{}", text(&waited.stderr));
    let waited: serde_json::Value = serde_json::from_slice(&waited.stdout).expect("JSON");
    assert_eq!(waited[0]["error"]["code"], 1);
    assert_eq!(waited[0]["metadata"]["state"], "CANCELLED");

    // A task that finishes within seconds: exit 0 once it succeeds.
    let soon = operations
        .iter()
        .find(|op| op["metadata"]["state"] == "RUNNING" && op["metadata"]["type"].is_string())
        .and_then(|op| op["name"].as_str())
        .expect("a running task");
    let succeeded = run(&["wait", soon, "--timeout", "60s"]);
    let code = exit_code(&succeeded);
    // The seeded mix has one task that runs until cancelled; either way the code is meaningful.
    assert!(
        code == 0 || code == 5,
        "{code}: {}",
        text(&succeeded.stderr)
    );

    // Delete, then get: NOT_FOUND, exit 6.
    let deleted = run(&["delete", &pending]);
    assert_eq!(exit_code(&deleted), 0);
    assert_eq!(exit_code(&run(&["get", &pending])), 6);
}

#[test]
fn wait_exit_codes_for_failed_and_succeeded() {
    let server = Server::start(&["--project", "w", "--seed", "6", "--run-time", "300ms"]);
    let base = ["--endpoint", server.endpoint.as_str(), "--format", "json"];
    let listed = eeops(
        &[
            &base[..],
            &[
                "--project",
                "w",
                "list",
                "--filter",
                "metadata.state=FAILED",
            ],
        ]
        .concat(),
    );
    let failed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let failed_name = failed[0]["name"]
        .as_str()
        .expect("a failed task")
        .to_owned();
    let waited = eeops(&[&base[..], &["wait", &failed_name]].concat());
    assert_eq!(exit_code(&waited), 3, "{}", text(&waited.stderr));

    let listed = eeops(
        &[
            &base[..],
            &[
                "--project",
                "w",
                "list",
                "--filter",
                "metadata.state=SUCCEEDED",
            ],
        ]
        .concat(),
    );
    let succeeded: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let succeeded_name = succeeded[0]["name"]
        .as_str()
        .expect("a succeeded task")
        .to_owned();
    let waited = eeops(&[&base[..], &["wait", &succeeded_name, &failed_name]].concat());
    assert_eq!(exit_code(&waited), 3, "one failed among several: 3");
    let waited = eeops(&[&base[..], &["wait", &succeeded_name]].concat());
    assert_eq!(exit_code(&waited), 0);
}

#[test]
fn dry_run_prints_the_http_request_and_sends_nothing() {
    // Nothing listens on this endpoint: a request would fail.
    let closed = ClosedPort::new().expect("a closed port");
    let endpoint = closed.endpoint();
    let output = eeops(&[
        "--endpoint",
        &endpoint,
        "--transport",
        "rest",
        "--dry-run",
        "--project",
        "my-project",
        "--api-version",
        "v1beta",
        "list",
        "--filter",
        "a+b #c",
        "--page-size",
        "7",
    ]);
    assert_eq!(exit_code(&output), 0, "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with(&format!(
            "GET {endpoint}/v1beta/projects/my-project/operations?filter=a%2Bb%20%23c&pageSize=7\n"
        )),
        "{stdout}"
    );
    let cancel = eeops(&[
        "--endpoint",
        &endpoint,
        "--dry-run",
        "--project",
        "p",
        "--header",
        "authorization: Bearer s3cret",
        "--header",
        "x-request-reason: audit",
        "cancel",
        "TASK 1",
    ]);
    let stdout = text(&cancel.stdout);
    assert!(
        stdout.starts_with(&format!(
            "POST {endpoint}/v1/projects/p/operations/TASK%201:cancel\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("content-type: application/json"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("{}"), "{stdout}");
    assert!(
        stdout.contains("authorization: <redacted>") && !stdout.contains("s3cret"),
        "{stdout}"
    );
    assert!(stdout.contains("x-request-reason: audit"), "{stdout}");

    let refused = eeops(&[
        "--endpoint",
        &endpoint,
        "--dry-run",
        "get",
        "projects/p/operations/../secret",
    ]);
    assert_eq!(exit_code(&refused), 1);
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("INVALID_ARGUMENT")
            && stderr.contains("/v1/{name=projects/*/operations/**}"),
        "{stderr}"
    );
}
