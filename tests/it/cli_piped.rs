//! The tool in scripts and pipes: one task per tab-separated line with
//! whole values and no colours, explicit formats, `wait`'s result lines and
//! `-q`, `watch` printing only real changes, `watch --all` picking up new
//! tasks, `--on-done`, refusing to cancel everything unasked, and mistakes
//! caught before any credential lookup or call.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::rpc::Code;

use crate::support::serve::{EEOPS, isolated};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ERROR: &str = "Band 'B4' of image 'COPERNICUS/S2_SR/20240101T000000' has no pixels in the \
                     region; check the region and the date range, then start the export again";
const DESCRIPTION: &str =
    "punjab_water_mask_2019_sentinel2_median_composite_export_to_cloud_storage";

/// `eeops --endpoint E --project p --no-auth ARGS`, piped.
async fn run(emulator: &RunningEmulator, args: &[&str]) -> Output {
    let mut command = Command::new(EEOPS);
    isolated(&mut command)
        .args([
            "--endpoint",
            &emulator.endpoint(),
            "--project",
            "p",
            "--no-auth",
        ])
        .args(args)
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || command.output().expect("eeops runs"))
        .await
        .expect("the command's thread ends")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A history of finished tasks: two succeeded, one failed with a long
/// error and a long description.
async fn history() -> Result<(RunningEmulator, Vec<String>), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let done = |description: &str| {
        OperationSpec::new("p")
            .with_description(description)
            .created_ago(Duration::from_secs(3600))
            .with_queue_time(Duration::from_secs(10))
            .with_run_time(Duration::from_secs(60))
    };
    let names = vec![
        emulator.create(done("kenya_ndvi_2023"))?,
        emulator.create(done("borneo_forest_2024").with_type("EXPORT_TABLE"))?,
        emulator.create(done(DESCRIPTION).failing_with(Code::InvalidArgument, ERROR))?,
    ];
    Ok((emulator, names))
}

#[tokio::test]
async fn piped_list_is_one_whole_task_per_tab_separated_line() -> TestResult {
    let (emulator, names) = history().await?;
    let output = run(&emulator, &["list"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(!text.contains('\u{1b}') && !text.contains('…'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        names.len(),
        "one line per task, no header: {text}"
    );
    let failed: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("FAILED"))
        .copied()
        .collect();
    assert_eq!(failed.len(), 1, "grep FAILED finds the task: {text}");
    let fields: Vec<&str> = failed[0].split('\t').collect();
    assert_eq!(
        fields[0],
        eeops::operation_id(&names[2]),
        "the id first: {fields:?}"
    );
    assert_eq!(fields[1], "FAILED");
    assert!(fields.contains(&DESCRIPTION), "{fields:?}");
    assert!(
        fields.contains(&format!("INVALID_ARGUMENT: {ERROR}").as_str()),
        "{fields:?}"
    );
    assert_eq!(
        fields.last().copied(),
        Some(names[2].as_str()),
        "the full name last"
    );
    for line in &lines {
        assert_eq!(line.split('\t').count(), fields.len(), "{line:?}");
    }

    // A table piped keeps every value whole.
    let table = stdout(&run(&emulator, &["list", "--format", "table"]).await);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(DESCRIPTION) && table.contains(ERROR),
        "{table}"
    );
    assert!(!table.contains('\u{1b}') && !table.contains('…'), "{table}");
    Ok(())
}

#[tokio::test]
async fn explicit_formats_parse_as_what_they_claim() -> TestResult {
    let (emulator, names) = history().await?;
    let json: serde_json::Value =
        serde_json::from_slice(&run(&emulator, &["list", "--format", "json"]).await.stdout)?;
    assert_eq!(json.as_array().map(Vec::len), Some(names.len()));
    let jsonl = stdout(&run(&emulator, &["list", "--format", "jsonl"]).await);
    for line in jsonl.lines() {
        let op: serde_json::Value = serde_json::from_str(line)?;
        assert!(names.contains(&op["name"].as_str().unwrap_or_default().to_owned()));
    }
    let csv = stdout(&run(&emulator, &["list", "--format", "csv"]).await);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("id,state,progress,type,created,updated,eecu_seconds,description,error,name")
    );
    assert_eq!(rows.count(), names.len());
    assert!(csv.contains(&format!("\"INVALID_ARGUMENT: {ERROR}\"")) || csv.contains(ERROR));
    let tsv = stdout(&run(&emulator, &["list", "--format", "tsv"]).await);
    assert_eq!(
        tsv,
        stdout(&run(&emulator, &["list"]).await),
        "tsv is what piping gives"
    );
    Ok(())
}

#[tokio::test]
async fn summary_counts_states_and_sort_orders_the_listing() -> TestResult {
    let (emulator, _) = history().await?;
    let summary = stdout(&run(&emulator, &["summary"]).await);
    assert!(
        summary.starts_with("1 failed · 2 succeeded · "),
        "{summary}"
    );
    assert!(
        summary.contains("EECU-h") && summary.contains("median run 1m"),
        "{summary}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &run(&emulator, &["summary", "--format", "json"])
            .await
            .stdout,
    )?;
    assert_eq!(json["byState"]["SUCCEEDED"], 2);
    let recent = stdout(&run(&emulator, &["summary", "--since", "10m"]).await);
    assert!(recent.starts_with("no operations"), "{recent}");

    let by_description = stdout(&run(&emulator, &["list", "--sort-by", "description"]).await);
    let order: Vec<&str> = by_description
        .lines()
        .map(|l| l.split('\t').nth(7).unwrap_or_default())
        .collect();
    assert_eq!(
        order,
        ["borneo_forest_2024", "kenya_ndvi_2023", DESCRIPTION]
    );
    let reversed = stdout(&run(&emulator, &["list", "--sort-by", "~description"]).await);
    assert!(
        reversed
            .lines()
            .next()
            .is_some_and(|l| l.contains(DESCRIPTION)),
        "{reversed}"
    );
    let bad = run(&emulator, &["list", "--sort-by", "size"]).await;
    assert_eq!(bad.status.code(), Some(2));
    Ok(())
}

#[tokio::test]
async fn wait_prints_a_line_per_operation_and_quiet_prints_nothing() -> TestResult {
    let (emulator, names) = history().await?;
    let output = run(&emulator, &["wait", &names[0], &names[2]]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().any(|l| l.contains("\tSUCCEEDED\t")), "{text}");
    assert!(text.contains(ERROR), "the error whole: {text}");
    assert!(
        stderr(&output)
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("1 succeeded, 1 failed in ")),
        "{}",
        stderr(&output)
    );

    let quiet = run(&emulator, &["-q", "wait", &names[2]]).await;
    assert_eq!(quiet.status.code(), Some(3));
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{}{}",
        stdout(&quiet),
        stderr(&quiet)
    );
    let quiet = run(&emulator, &["wait", "-q", &names[0]]).await;
    assert_eq!(quiet.status.code(), Some(0));
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());

    let json = run(&emulator, &["wait", &names[0], "--format", "json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(json[0]["name"], names[0].as_str());
    Ok(())
}

#[tokio::test]
async fn on_done_runs_a_command_per_finished_operation() -> TestResult {
    let (emulator, names) = history().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("done.txt");
    let command = format!(
        "printf '%s|%s|%s|%s|%s\\n' \"$EEOPS_ID\" \"$EEOPS_NAME\" \"$EEOPS_STATE\" \"$EEOPS_DESCRIPTION\" \"$EEOPS_ERROR\" >> '{}'",
        file.display()
    );
    let output = run(
        &emulator,
        &[
            "wait",
            &names[0],
            &names[2],
            "--on-done",
            &command,
            "--bell",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(!output.stderr.contains(&7u8), "no bell off a terminal");
    let lines = std::fs::read_to_string(&file)?;
    let mut lines: Vec<&str> = lines.lines().collect();
    lines.sort_unstable();
    let mut expected = vec![
        format!(
            "{}|{}|SUCCEEDED|kenya_ndvi_2023|",
            eeops::operation_id(&names[0]),
            names[0]
        ),
        format!(
            "{}|{}|FAILED|{DESCRIPTION}|INVALID_ARGUMENT: {ERROR}",
            eeops::operation_id(&names[2]),
            names[2]
        ),
    ];
    expected.sort_unstable();
    assert_eq!(lines, expected);
    Ok(())
}

#[tokio::test]
async fn watch_piped_prints_only_real_changes_with_a_timestamp() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(
        OperationSpec::new("p")
            .with_description("progressing")
            .with_queue_time(Duration::from_millis(300))
            .with_run_time(Duration::from_secs(3)),
    )?;
    let output = run(&emulator, &["watch", &name]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert!(lines.len() >= 2, "first sight and the end: {text}");
    for fields in &lines {
        assert!(
            fields[0].len() >= 20 && fields[0].as_bytes()[10] == b'T' && fields[0].ends_with('Z'),
            "a timestamp first: {fields:?}"
        );
        assert_ne!(fields[2], fields[3], "a real change: {fields:?}");
    }
    assert_eq!(lines.last().map(|f| f[3]), Some("SUCCEEDED"), "{text}");
    Ok(())
}

#[tokio::test]
async fn watch_all_picks_up_tasks_created_after_it_started() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let first = emulator.create(
        OperationSpec::new("p")
            .with_description("first")
            .with_queue_time(Duration::ZERO)
            .with_run_time(Duration::from_secs(2)),
    )?;
    let mut child = isolated(&mut Command::new(EEOPS))
        .args([
            "--endpoint",
            &emulator.endpoint(),
            "--project",
            "p",
            "--no-auth",
        ])
        .args(["watch", "--all", "--format", "tsv"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("piped stdout")?).lines();
    let first_id = eeops::operation_id(&first).to_owned();
    let seen_first = tokio::task::spawn_blocking(move || {
        let line = lines.next().and_then(Result::ok).unwrap_or_default();
        (line, lines)
    })
    .await?;
    assert!(seen_first.0.contains(&first_id), "{:?}", seen_first.0);
    // Created while watching: followed too. It runs past the first, so the
    // watch's last look for live operations, when the first ends, finds it.
    let second = emulator.create(
        OperationSpec::new("p")
            .with_description("second")
            .with_queue_time(Duration::ZERO)
            .with_run_time(Duration::from_secs(4)),
    )?;
    let second_id = eeops::operation_id(&second).to_owned();
    let mut lines = seen_first.1;
    let rest = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = lines.by_ref().map_while(Result::ok).collect();
        let status = child.wait();
        (rest, status)
    })
    .await?;
    let (rest, status) = rest;
    assert_eq!(status?.code(), Some(0));
    assert!(
        rest.iter()
            .any(|l| l.contains(&second_id) && l.contains("\tSUCCEEDED\t")),
        "{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.contains(&first_id) && l.contains("\tSUCCEEDED\t")),
        "{rest:?}"
    );
    Ok(())
}

#[tokio::test]
async fn cancel_all_piped_needs_yes_and_says_cancel_requested() -> TestResult {
    let emulator = Emulator::builder()
        .with_seed("p", 12)
        .start("127.0.0.1:0")
        .await?;
    let live = || {
        emulator
            .handle()
            .states("p")
            .iter()
            .filter(|(_, state)| !state.is_terminal())
            .count()
    };
    let before = live();
    let refused = run(&emulator, &["cancel", "--all"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(live(), before, "nothing cancelled");
    let done = run(
        &emulator,
        &["cancel", "--all", "--yes", "--format", "table"],
    )
    .await;
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let text = stdout(&done);
    assert!(
        before > 0 && text.contains("cancel requested for "),
        "{text}"
    );
    assert!(!text.contains("failed to cancel"), "{text}");
    Ok(())
}

#[test]
fn mistakes_are_usage_errors_before_any_credential_lookup() {
    let run = |args: &[&str]| {
        isolated(&mut Command::new(EEOPS))
            // A key file that does not exist: looking it up would fail loudly.
            .env("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
            .env("RUST_LOG", "debug")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("eeops runs")
    };
    for args in [
        &["list"][..],
        &["cancel", "--all", "--yes"],
        &["wait", "TASKID"],
        &["summary"],
    ] {
        let output = run(args);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {text}");
        for how in ["--project", "EEOPS_PROJECT", "earthengine/credentials"] {
            assert!(text.contains(how), "{args:?}: {how} in {text}");
        }
        assert!(
            !text.contains("nonexistent") && !text.contains("WARN"),
            "{text}"
        );
    }
    let no_scheme = run(&["--endpoint", "127.0.0.1:18080", "--project", "p", "list"]);
    assert_eq!(no_scheme.status.code(), Some(2));
    let text = stderr(&no_scheme);
    assert!(
        text.contains("http://127.0.0.1:18080") && text.contains("https://127.0.0.1:18080"),
        "{text}"
    );
}

#[test]
fn help_shows_a_commands_own_flags_first_and_serve_only_its_own() {
    let help = |args: &[&str]| {
        let output = isolated(&mut Command::new(EEOPS))
            .args(args)
            .output()
            .expect("eeops runs");
        (stdout(&output), stderr(&output), output.status.code())
    };
    let (list, _, _) = help(&["list", "--help"]);
    let own = list.find("--long").expect("--long");
    let heading = list.find("Global options:").expect("a heading");
    let global = list.find("--endpoint").expect("--endpoint");
    assert!(own < heading && heading < global, "{list}");

    let (serve, _, _) = help(&["serve", "--help"]);
    assert!(
        serve.contains("--listen") && serve.contains("--project"),
        "{serve}"
    );
    for client_only in [
        "--access-token",
        "--dry-run",
        "--emulator",
        "--endpoint",
        "--format",
    ] {
        assert!(!serve.contains(client_only), "{client_only} in\n{serve}");
    }
    let (_, refused, code) = help(&["serve", "--dry-run"]);
    assert_eq!(code, Some(2), "{refused}");

    for command in ["wait", "cancel", "watch"] {
        let (_, usage, code) = help(&[command]);
        assert_eq!(code, Some(2));
        assert!(usage.contains("--all"), "{command}: {usage}");
    }
}

#[tokio::test]
async fn a_failed_read_after_a_cancel_is_not_a_failed_cancel() -> TestResult {
    // The second GetOperation — the one that re-reads the task after its
    // cancel — is refused.
    let emulator = Emulator::builder()
        .with_fault(eeops::emulator::Fault::parse(
            "method=GetOperation,every=2,code=PERMISSION_DENIED",
        )?)
        .start("127.0.0.1:0")
        .await?;
    let name = emulator.create(OperationSpec::new("p").running_until_cancelled())?;
    let output = run(&emulator, &["cancel", &name, "--format", "table"]).await;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.contains("cancel requested; could not re-read it: PERMISSION_DENIED"),
        "{text}"
    );
    assert!(
        !text.contains("failed") && !stderr(&output).contains("error:"),
        "{text}"
    );
    Ok(())
}
