//! The tool as a person sees it, on a pseudo-terminal 80 and 200 columns
//! wide: whole ids and readable descriptions (CJK and emoji measured by
//! display width), whole errors wrapped at word boundaries, colours, live
//! progress with a closing line, confirmation before cancelling everything,
//! and Ctrl-C that says what was done.

use std::time::Duration;

use eeops::emulator::{Emulator, Fault, OperationSpec, RunningEmulator};
use eeops::rpc::Code;

use crate::support::terminal::{self, Screen, Session, columns};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LONG: &str = "landcover_sahel_2020_sentinel2_median_composite_export_to_drive";
const CJK: &str = "土地被覆分類サヘル地域二千二十四年輸出タスク";
const EMOJI: &str = "🌍 global forest 🌲 change export 2024 🚀 to cloud storage";
const ERROR: &str = "Too many concurrent exports (max: 10000) for this project; wait for \
                     running exports to finish or ask for a higher quota before starting more";

/// An emulator with tasks whose descriptions and errors are hard to show.
async fn tasks() -> Result<(RunningEmulator, Vec<String>), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let history = |description: &str| {
        OperationSpec::new("s")
            .with_description(description)
            .created_ago(Duration::from_secs(2 * 3600))
            .with_queue_time(Duration::from_secs(60))
            .with_run_time(Duration::from_secs(600))
    };
    let names = [
        emulator.create(
            OperationSpec::new("s")
                .with_description(LONG)
                .running_until_cancelled(),
        )?,
        emulator.create(history(CJK).with_type("INGEST_IMAGE"))?,
        emulator.create(history(EMOJI).with_type("EXPORT_TABLE"))?,
        emulator.create(
            history("punjab_water_mask_2019").failing_with(Code::ResourceExhausted, ERROR),
        )?,
    ];
    let ids = names
        .iter()
        .map(|name| eeops::operation_id(name).to_owned())
        .collect();
    Ok((emulator, ids))
}

/// `eeops --endpoint E --project s ARGS` on a terminal `width` wide.
async fn on_terminal(endpoint: &str, width: u16, args: &[&str], env: &[(&str, &str)]) -> Screen {
    let mut all: Vec<String> = ["--endpoint", endpoint, "--project", "s", "--no-auth"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        terminal::run(width, &args, &env)
    })
    .await
    .expect("the terminal's thread ends")
}

/// The first characters of `text` that fill at least `wanted` columns.
fn prefix(text: &str, wanted: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if columns(&out) >= wanted {
            break;
        }
        out.push(c);
    }
    out
}

/// The words of the error lines (`└ ...` and their continuations) after
/// the line naming `id`.
fn error_words(text: &str, id: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.contains(id))
        .skip(1)
        .collect();
    let mut words = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let is_error = if i == 0 {
            line.trim_start().starts_with('└')
        } else {
            line.starts_with("    ")
        };
        if !is_error {
            break;
        }
        words.extend(line.split_whitespace().filter(|w| *w != "└"));
    }
    words.join(" ")
}

#[tokio::test]
async fn list_shows_whole_ids_readable_descriptions_and_whole_errors() -> TestResult {
    let (emulator, ids) = tasks().await?;
    let endpoint = emulator.endpoint();
    let narrow = on_terminal(&endpoint, 80, &["list"], &[]).await;
    assert_eq!(narrow.code, 0, "{}", narrow.text);
    for line in narrow.text.lines() {
        assert!(columns(line) <= 80, "{line:?} is {} columns", columns(line));
    }
    for id in &ids {
        assert!(
            narrow.text.contains(id.as_str()),
            "{id} whole in\n{}",
            narrow.text
        );
    }
    for description in [LONG, CJK, EMOJI] {
        let shown = prefix(description, 30);
        assert!(
            narrow.text.contains(&shown),
            "{shown:?} (30 columns) in\n{}",
            narrow.text
        );
    }
    assert!(
        narrow.text.contains("AGE") && narrow.text.contains("2h"),
        "{}",
        narrow.text
    );
    assert_eq!(
        error_words(&narrow.text, &ids[3]),
        format!("RESOURCE_EXHAUSTED: {ERROR}"),
        "the error whole, wrapped between words:\n{}",
        narrow.text
    );

    let wide = on_terminal(&endpoint, 200, &["list"], &[]).await;
    for line in wide.text.lines() {
        assert!(columns(line) <= 200, "{line:?}");
    }
    for whole in [LONG, CJK, EMOJI, "TYPE", "INGEST_IMAGE"] {
        assert!(wide.text.contains(whole), "{whole} in\n{}", wide.text);
    }
    Ok(())
}

#[tokio::test]
async fn long_listing_is_a_line_per_task_when_wide_and_a_few_when_narrow() -> TestResult {
    let (emulator, ids) = tasks().await?;
    let endpoint = emulator.endpoint();
    let wide = on_terminal(&endpoint, 200, &["list", "--long"], &[]).await;
    assert_eq!(wide.code, 0, "{}", wide.text);
    for (id, description) in ids.iter().zip([LONG, CJK, EMOJI]) {
        let lines: Vec<&str> = wide
            .text
            .lines()
            .filter(|l| l.contains(id.as_str()))
            .collect();
        assert_eq!(lines.len(), 1, "{id} in\n{}", wide.text);
        assert!(
            lines[0].contains(description),
            "{description} on {:?}",
            lines[0]
        );
    }
    let failed = wide
        .text
        .lines()
        .find(|l| l.contains(ids[3].as_str()))
        .expect("the failed task's line");
    assert!(
        failed.contains("punjab_water_mask_2019")
            && failed.contains("RESOURCE_EXHAUSTED: Too many"),
        "description and error on one line: {failed:?}"
    );
    assert!(wide.text.lines().all(|l| columns(l) <= 200));

    let narrow = on_terminal(&endpoint, 80, &["list", "--long"], &[]).await;
    assert!(
        narrow.text.lines().all(|l| columns(l) <= 80),
        "{}",
        narrow.text
    );
    let lines = narrow.text.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines <= 6 * ids.len(),
        "a few lines per task, not {lines}:\n{}",
        narrow.text
    );
    assert!(narrow.text.contains("punjab_water_mask_2019"));
    Ok(())
}

#[tokio::test]
async fn states_are_coloured_on_a_terminal_unless_no_color() -> TestResult {
    let (emulator, _) = tasks().await?;
    let endpoint = emulator.endpoint();
    let coloured = on_terminal(&endpoint, 100, &["list"], &[]).await;
    assert!(
        coloured.raw.contains("\u{1b}[31mFAILED"),
        "{:?}",
        coloured.raw
    );
    let plain = on_terminal(&endpoint, 100, &["list"], &[("NO_COLOR", "1")]).await;
    assert!(plain.text.contains("FAILED"));
    assert!(!plain.raw.contains("\u{1b}["), "{:?}", plain.raw);
    Ok(())
}

#[tokio::test]
async fn info_shows_what_it_found_before_errors_and_wraps_between_words() -> TestResult {
    let (emulator, ids) = tasks().await?;
    let endpoint = emulator.endpoint();
    let screen = on_terminal(&endpoint, 80, &["info", "NOSUCHTASK", &ids[3]], &[]).await;
    assert_eq!(screen.code, 6, "{}", screen.text);
    let found = screen.text.find("name:").expect("the found operation");
    let missing = screen.text.find("NOT_FOUND").expect("the missing one");
    assert!(found < missing, "results first:\n{}", screen.text);
    assert!(
        screen.text.lines().all(|l| columns(l) <= 80),
        "{}",
        screen.text
    );
    let words: Vec<&str> = screen.text.split_whitespace().collect();
    for word in ERROR.split_whitespace() {
        assert!(words.contains(&word), "{word:?} whole in\n{}", screen.text);
    }
    Ok(())
}

#[tokio::test]
async fn wait_shows_bars_with_descriptions_then_a_closing_line() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(
        OperationSpec::new("s")
            .with_description("sentinel2_composite_kenya")
            .with_queue_time(Duration::from_millis(200))
            .with_run_time(Duration::from_secs(2)),
    )?;
    let id = eeops::operation_id(&name).to_owned();
    let screen = on_terminal(
        &emulator.endpoint(),
        200,
        &["wait", &id, "--timeout", "60s"],
        &[],
    )
    .await;
    assert_eq!(screen.code, 0, "{}", screen.text);
    assert!(
        screen.raw.contains("\u{1b}[1A"),
        "redrawn in place: {:?}",
        screen.raw
    );
    assert!(
        screen.text.contains("] ") && screen.text.contains("sentinel2_composite_kenya"),
        "a bar with the description:\n{}",
        screen.text
    );
    let last = screen
        .text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        last.starts_with("1 succeeded in "),
        "the closing line last: {last:?}"
    );
    // The result line for the operation sits above the closing line.
    let result = screen.text.rfind(&id).expect("a result line");
    assert!(result < screen.text.rfind("1 succeeded in").unwrap_or(0));
    Ok(())
}

#[tokio::test]
async fn the_bell_rings_once_when_all_are_done_and_only_when_asked() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let quick = || {
        OperationSpec::new("s")
            .with_queue_time(Duration::from_millis(50))
            .with_run_time(Duration::from_millis(300))
    };
    let ids: Vec<String> = [emulator.create(quick())?, emulator.create(quick())?]
        .iter()
        .map(|name| eeops::operation_id(name).to_owned())
        .collect();
    for command in ["wait", "watch"] {
        let rung = on_terminal(
            &emulator.endpoint(),
            120,
            &[command, &ids[0], &ids[1], "--bell"],
            &[],
        )
        .await;
        assert_eq!(rung.code, 0, "{command}: {}", rung.text);
        assert_eq!(
            rung.raw.matches('\u{7}').count(),
            1,
            "{command} --bell rings once: {:?}",
            rung.raw
        );
        let bell = rung.raw.rfind('\u{7}').unwrap_or(0);
        assert!(
            rung.raw[..bell].matches(ids[0].as_str()).count() > 0
                && rung.raw[..bell].matches(ids[1].as_str()).count() > 0,
            "{command}: the bell comes after both are reported: {:?}",
            rung.raw
        );
        let quiet = on_terminal(&emulator.endpoint(), 120, &[command, &ids[0]], &[]).await;
        assert_eq!(quiet.code, 0, "{command}: {}", quiet.text);
        assert!(
            !quiet.raw.contains('\u{7}'),
            "{command} without --bell is silent: {:?}",
            quiet.raw
        );
    }
    Ok(())
}

/// An emulator with `count` tasks that run until cancelled.
async fn live_tasks(count: usize) -> Result<RunningEmulator, Box<dyn std::error::Error>> {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    for i in 0..count {
        emulator.create(
            OperationSpec::new("s")
                .with_description(format!("tile_{i}"))
                .running_until_cancelled(),
        )?;
    }
    Ok(emulator)
}

#[tokio::test]
async fn many_operations_collapse_into_a_moving_summary() -> TestResult {
    let emulator = live_tasks(16).await?;
    let screen = on_terminal(
        &emulator.endpoint(),
        120,
        &["wait", "--all", "--timeout", "3s"],
        &[],
    )
    .await;
    assert_eq!(screen.code, 5, "{}", screen.text);
    assert!(screen.text.contains("operations:"), "{}", screen.text);
    let last = screen
        .text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        last.contains("still running") && last.contains(" in "),
        "closing line below the table: {last:?}"
    );
    Ok(())
}

/// `eeops COMMAND --all` on a terminal over `emulator`, sent Ctrl-C once
/// `shown` is on the screen.
async fn interrupted(
    emulator: &RunningEmulator,
    command: &'static str,
    shown: &'static str,
) -> Screen {
    let endpoint = emulator.endpoint();
    tokio::task::spawn_blocking(move || {
        let mut session = Session::start(
            100,
            &[
                "--endpoint",
                &endpoint,
                "--project",
                "s",
                "--no-auth",
                command,
                "--all",
            ],
            &[],
        );
        session.wait_for(shown);
        session.type_keys(b"\x03");
        session.finish()
    })
    .await
    .expect("the terminal's thread ends")
}

#[tokio::test]
async fn ctrl_c_during_wait_all_says_how_far_it_got_and_exits_130() -> TestResult {
    let emulator = live_tasks(16).await?;
    let screen = interrupted(&emulator, "wait", "operations:").await;
    assert_eq!(screen.code, 130, "{}", screen.text);
    assert!(screen.text.contains("interrupted after"), "{}", screen.text);
    Ok(())
}

#[tokio::test]
async fn ctrl_c_during_watch_says_how_far_it_got_and_exits_130() -> TestResult {
    let emulator = live_tasks(16).await?;
    // Every task seen running, so the closing line has states to report.
    let screen = interrupted(&emulator, "watch", "operations: 16 running").await;
    assert_eq!(screen.code, 130, "{}", screen.text);
    let last = screen
        .text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    // The terminal echoes the key as `^C` before the line.
    let (_, counts) = last
        .trim_start_matches("^C")
        .strip_prefix("interrupted after ")
        .and_then(|rest| rest.split_once(": "))
        .unwrap_or_else(|| panic!("a closing line: {last:?}\n{}", screen.text));
    let still: usize = counts
        .split(", ")
        .filter_map(|part| {
            part.strip_suffix(" still running")
                .or(part.strip_suffix(" still pending"))
        })
        .map(|n| n.parse::<usize>().expect("a count"))
        .sum();
    assert_eq!(still, 16, "every task is said to be still going: {last:?}");
    // Nothing was cancelled by leaving.
    assert_eq!(live(&emulator), 16);
    Ok(())
}

fn live(emulator: &RunningEmulator) -> usize {
    emulator
        .handle()
        .states("s")
        .iter()
        .filter(|(_, state)| !state.is_terminal())
        .count()
}

#[tokio::test]
async fn cancel_all_lists_and_asks_before_cancelling() -> TestResult {
    let emulator = Emulator::builder()
        .with_seed("s", 12)
        .start("127.0.0.1:0")
        .await?;
    let before = live(&emulator);
    assert!(before > 0);
    let answer = |keys: &'static [u8]| {
        let endpoint = emulator.endpoint();
        tokio::task::spawn_blocking(move || {
            let mut session = Session::start(
                100,
                &[
                    "--endpoint",
                    &endpoint,
                    "--project",
                    "s",
                    "--no-auth",
                    "cancel",
                    "--all",
                ],
                &[],
            );
            session.wait_for("[y/N]");
            session.type_keys(keys);
            session.finish()
        })
    };
    let declined = answer(b"n\n").await?;
    assert_eq!(declined.code, 0, "{}", declined.text);
    assert!(
        declined.text.contains("Nothing cancelled."),
        "{}",
        declined.text
    );
    assert!(
        declined.text.contains("DESCRIPTION"),
        "lists them first:\n{}",
        declined.text
    );
    assert_eq!(live(&emulator), before, "nothing was cancelled");

    let accepted = answer(b"y\n").await?;
    assert_eq!(accepted.code, 0, "{}", accepted.text);
    assert!(
        accepted.text.contains("cancel requested for "),
        "{}",
        accepted.text
    );
    Ok(())
}

#[tokio::test]
async fn ctrl_c_during_cancel_all_finishes_what_is_in_flight_and_says_so() -> TestResult {
    let emulator = Emulator::builder()
        .with_seed("s", 60)
        .with_fault(Fault::parse("method=CancelOperation,latency=1s")?)
        .start("127.0.0.1:0")
        .await?;
    let endpoint = emulator.endpoint();
    let screen = tokio::task::spawn_blocking(move || {
        let mut session = Session::start(
            100,
            &[
                "--endpoint",
                &endpoint,
                "--project",
                "s",
                "--no-auth",
                "cancel",
                "--all",
                "--yes",
            ],
            &[],
        );
        // The first answers: "ID: cancel requested, now ..." or "ID: cancelled".
        session.wait_for(": cancel");
        session.type_keys(b"\x03");
        session.finish()
    })
    .await?;
    assert_eq!(screen.code, 130, "{}", screen.text);
    assert!(screen.text.contains("interrupted"), "{}", screen.text);
    let summary = screen
        .text
        .lines()
        .find(|l| l.starts_with("cancel requested for"))
        .unwrap_or_else(|| panic!("a summary in\n{}", screen.text));
    assert!(summary.contains("not attempted"), "{summary}");
    Ok(())
}

#[tokio::test]
async fn a_second_ctrl_c_exits_at_once() -> TestResult {
    let emulator = Emulator::builder()
        .with_seed("s", 30)
        .with_fault(Fault::parse("method=CancelOperation,latency=600s")?)
        .start("127.0.0.1:0")
        .await?;
    let endpoint = emulator.endpoint();
    let screen = tokio::task::spawn_blocking(move || {
        let mut session = Session::start(
            100,
            &[
                "--endpoint",
                &endpoint,
                "--project",
                "s",
                "--no-auth",
                "cancel",
                "--all",
                "--yes",
            ],
            &[],
        );
        // Cancels are in flight (and take ten minutes) once this is shown.
        session.wait_for("Cancelling");
        session.type_keys(b"\x03");
        session.wait_for("Ctrl-C again");
        session.type_keys(b"\x03");
        session.finish()
    })
    .await?;
    assert_eq!(screen.code, 130, "{}", screen.text);
    assert!(
        !screen.text.contains("cancel requested for"),
        "no waiting for the cancels in flight:\n{}",
        screen.text
    );
    Ok(())
}

#[tokio::test]
async fn ctrl_c_during_delete_says_how_far_it_got() -> TestResult {
    let emulator = Emulator::builder()
        .with_fault(Fault::parse("method=DeleteOperation,latency=1s")?)
        .start("127.0.0.1:0")
        .await?;
    let mut names = Vec::new();
    for _ in 0..20 {
        names.push(emulator.create(OperationSpec::new("s").running_until_cancelled())?);
    }
    let endpoint = emulator.endpoint();
    let screen = tokio::task::spawn_blocking(move || {
        let mut args = vec![
            "--endpoint",
            &endpoint,
            "--project",
            "s",
            "--no-auth",
            "delete",
        ];
        args.extend(names.iter().map(String::as_str));
        let mut session = Session::start(100, &args, &[]);
        session.wait_for(": deleted");
        session.type_keys(b"\x03");
        session.finish()
    })
    .await?;
    assert_eq!(screen.code, 130, "{}", screen.text);
    let said = screen
        .text
        .lines()
        .find(|l| l.starts_with("interrupted: deleted"))
        .unwrap_or_else(|| panic!("what was done, in\n{}", screen.text));
    assert!(said.contains("not attempted"), "{said}");
    Ok(())
}
