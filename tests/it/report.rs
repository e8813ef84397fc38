//! `eeops report` over a scripted project: tasks with known times and
//! outcomes on the in-process emulator, the page read back for what it says
//! (every task, the totals, the EECU-seconds, the failure groups) and for
//! being self-contained.

use std::process::Output;
use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::rpc::Code;
use tokio::process::Command;

use crate::support::serve::EEOPS;

const PROJECT: &str = "report-test";
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const TOO_LARGE: &str = "Export too large: specified <n> pixels (max: <n>).";

/// One scripted task: its id, the state it is in when the report is made,
/// and its EECU-seconds when they are fixed (0.25 a second of running).
struct Expected {
    id: &'static str,
    state: &'static str,
    eecu_seconds: Option<f64>,
}

fn finished(
    id: &'static str,
    kind: &str,
    description: &str,
    age: Duration,
    queue: Duration,
    run: Duration,
) -> OperationSpec {
    OperationSpec::new(PROJECT)
        .with_id(id)
        .with_type(kind)
        .with_description(description)
        .created_ago(age)
        .with_queue_time(queue)
        .with_run_time(run)
}

/// Eight tasks: two succeeded, three failed (two the same way, but for
/// their numbers), one cancelled in the queue, one running, one queued.
async fn scripted() -> (RunningEmulator, Vec<Expected>) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("emulator starts");
    let specs = [
        finished(
            "REPORTSUCCEEDEDLANDCOVER",
            "EXPORT_IMAGE",
            "landcover_kenya_2020",
            3 * HOUR,
            MINUTE,
            10 * MINUTE,
        ),
        finished(
            "REPORTSUCCEEDEDFIELDS001",
            "INGEST_TABLE",
            "fields_punjab_2021",
            26 * HOUR,
            5 * MINUTE,
            20 * MINUTE,
        ),
        finished(
            "REPORTFAILEDTOOLARGE0001",
            "EXPORT_IMAGE",
            "ndvi_sahel_2019",
            2 * HOUR,
            Duration::from_secs(10),
            2 * MINUTE,
        )
        .failing_with(
            Code::InvalidArgument,
            "Export too large: specified 2147483648 pixels (max: 100000000).",
        ),
        finished(
            "REPORTFAILEDTOOLARGE0002",
            "EXPORT_IMAGE",
            "ndvi_borneo_2020",
            90 * MINUTE,
            Duration::from_secs(20),
            MINUTE,
        )
        .failing_with(
            Code::InvalidArgument,
            "Export too large: specified 5000000000 pixels (max: 100000000).",
        ),
        finished(
            "REPORTFAILEDINTERNAL0001",
            "EXPORT_FEATURES",
            "water_mask_amazon",
            HOUR,
            Duration::from_secs(5),
            Duration::from_secs(40),
        )
        .failing_with(
            Code::Internal,
            "An internal error has occurred (request: 7c1f0e2b-3d4a-4b5c-9e6f-0a1b2c3d4e5f).",
        ),
        finished(
            "REPORTCANCELLEDINQUEUE01",
            "EXPORT_VIDEO",
            "burn_severity_video",
            HOUR,
            10 * MINUTE,
            10 * MINUTE,
        )
        .cancelled_after(2 * MINUTE),
        OperationSpec::new(PROJECT)
            .with_id("REPORTRUNNING00000000001")
            .with_type("INGEST_IMAGE")
            .with_description("elevation <tiles> & \"quotes\"")
            .created_ago(10 * MINUTE)
            .with_queue_time(Duration::ZERO)
            .running_until_cancelled(),
        OperationSpec::new(PROJECT)
            .with_id("REPORTQUEUED000000000001")
            .with_type("EXPORT_IMAGE")
            .with_description("forest_loss_queued")
            .with_queue_time(6 * HOUR),
    ];
    for spec in specs {
        emulator.create(spec).expect("task created");
    }
    let expected = vec![
        Expected {
            id: "REPORTSUCCEEDEDLANDCOVER",
            state: "SUCCEEDED",
            eecu_seconds: Some(150.0),
        },
        Expected {
            id: "REPORTSUCCEEDEDFIELDS001",
            state: "SUCCEEDED",
            eecu_seconds: Some(300.0),
        },
        Expected {
            id: "REPORTFAILEDTOOLARGE0001",
            state: "FAILED",
            eecu_seconds: Some(30.0),
        },
        Expected {
            id: "REPORTFAILEDTOOLARGE0002",
            state: "FAILED",
            eecu_seconds: Some(15.0),
        },
        Expected {
            id: "REPORTFAILEDINTERNAL0001",
            state: "FAILED",
            eecu_seconds: Some(10.0),
        },
        Expected {
            id: "REPORTCANCELLEDINQUEUE01",
            state: "CANCELLED",
            eecu_seconds: Some(0.0),
        },
        Expected {
            id: "REPORTRUNNING00000000001",
            state: "RUNNING",
            eecu_seconds: None,
        },
        Expected {
            id: "REPORTQUEUED000000000001",
            state: "PENDING",
            eecu_seconds: Some(0.0),
        },
    ];
    (emulator, expected)
}

async fn report(emulator: &RunningEmulator, args: &[&str]) -> Output {
    eeops(emulator, &[&["report"], args].concat()).await
}

/// What a command printed, which must have succeeded.
async fn cli(emulator: &RunningEmulator, args: &[&str]) -> String {
    page_of(&eeops(emulator, args).await)
}

async fn eeops(emulator: &RunningEmulator, args: &[&str]) -> Output {
    crate::support::serve::isolated_async(&mut Command::new(EEOPS))
        .args([
            "--endpoint",
            &emulator.endpoint(),
            "--no-auth",
            "--project",
            PROJECT,
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("eeops runs")
}

/// The opening tags that start with `start` (`<li class=`), each up to its
/// `>`: attribute values are escaped, so they hold no `>`.
fn tags<'a>(page: &'a str, start: &str) -> Vec<&'a str> {
    page.match_indices(start)
        .map(|(at, _)| {
            let rest = &page[at..];
            &rest[..rest.find('>').expect("tag closes")]
        })
        .collect()
}

/// An attribute's (escaped) value in a tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// The timeline's rows: (id, state, EECU-seconds).
fn rows(page: &str) -> Vec<(String, String, f64)> {
    tags(page, "<li class=")
        .into_iter()
        .filter_map(|tag| {
            Some((
                attr(tag, "data-id")?.to_owned(),
                attr(tag, "data-state")?.to_owned(),
                attr(tag, "data-eecu-seconds")?.parse().expect("a number"),
            ))
        })
        .collect()
}

fn page_of(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[tokio::test]
async fn the_page_shows_every_task_the_totals_and_the_failures_grouped() {
    let (emulator, expected) = scripted().await;
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("tasks.html");
    let output = report(&emulator, &["--out", path.to_str().expect("UTF-8 path")]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("report of 8 tasks") && stderr.contains("tasks.html"),
        "{stderr}"
    );
    let page = std::fs::read_to_string(&path).expect("the report was written");

    // Every task, once, in its state, with its EECU-seconds.
    let rows = rows(&page);
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for task in &expected {
        let found: Vec<_> = rows.iter().filter(|(id, _, _)| id == task.id).collect();
        assert_eq!(found.len(), 1, "{} in {rows:?}", task.id);
        let (_, state, eecu) = found[0];
        assert_eq!(state, task.state, "{}", task.id);
        if let Some(want) = task.eecu_seconds {
            assert!(
                (eecu - want).abs() < 0.01,
                "{}: {eecu} EECU-s, not {want}",
                task.id
            );
        }
    }
    let running_eecu = rows
        .iter()
        .find(|r| r.0 == "REPORTRUNNING00000000001")
        .map(|r| r.2);
    assert!(running_eecu.is_some_and(|e| e >= 150.0), "{running_eecu:?}");
    // The description is escaped, not markup.
    assert!(page.contains("elevation &lt;tiles&gt; &amp; &quot;quotes&quot;"));

    // The totals agree with the rows.
    let totals = tags(&page, "<p class=\"totals\"");
    assert_eq!(totals.len(), 1);
    for (name, count) in [
        ("tasks", 8),
        ("succeeded", 2),
        ("failed", 3),
        ("cancelled", 1),
        ("running", 1),
        ("pending", 1),
    ] {
        assert_eq!(
            attr(totals[0], &format!("data-{name}")),
            Some(count.to_string().as_str()),
            "{name}"
        );
    }
    let total_eecu: f64 = attr(totals[0], "data-eecu-seconds")
        .and_then(|v| v.parse().ok())
        .expect("total EECU");
    let summed: f64 = rows.iter().map(|r| r.2).sum();
    assert!(
        (total_eecu - summed).abs() < 0.01,
        "{total_eecu} against {summed}"
    );
    // The line is the one `eeops summary` prints over the same tasks. The
    // running task's EECU-hours may move between the two commands, so the
    // counts are compared whole and the EECU-hours by their form.
    let summary = cli(&emulator, &["summary"]).await;
    let summary_line = summary.lines().next().expect("a totals line");
    let (counts, eecu) = summary_line.rsplit_once(" · ").expect("counts · EECU-h");
    assert_eq!(
        counts,
        "1 running · 1 pending · 3 failed · 1 cancelled · 2 succeeded"
    );
    assert!(eecu.ends_with(" EECU-h"), "{summary_line}");
    let shown = page
        .split("<p class=\"totals\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</p>"))
        .map(|(line, _)| line)
        .expect("the totals paragraph");
    assert!(
        shown.starts_with(&format!("{counts} · ")) && shown.ends_with(" EECU-h"),
        "the page says {shown:?}, eeops summary says {summary_line:?}"
    );

    // Failures: the two oversize exports are one group, the internal error another.
    let groups = tags(&page, "<tr class=\"failure\"");
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(attr(groups[0], "data-count"), Some("2"));
    assert_eq!(attr(groups[0], "data-code"), Some("INVALID_ARGUMENT"));
    assert_eq!(
        attr(groups[0], "data-pattern"),
        Some(TOO_LARGE.replace('<', "&lt;").replace('>', "&gt;").as_str())
    );
    let examples = attr(groups[0], "data-examples").expect("examples");
    assert!(
        examples.contains("REPORTFAILEDTOOLARGE0001")
            && examples.contains("REPORTFAILEDTOOLARGE0002"),
        "{examples}"
    );
    assert_eq!(attr(groups[1], "data-count"), Some("1"));
    assert_eq!(
        attr(groups[1], "data-examples"),
        Some("REPORTFAILEDINTERNAL0001")
    );

    // The slowest task ran 20 minutes; the longest wait is the queued one's.
    let slowest = tags(&page, "<tr data-id=");
    assert_eq!(
        attr(slowest[0], "data-id"),
        Some("REPORTSUCCEEDEDFIELDS001")
    );
    assert_eq!(attr(slowest[0], "data-ms"), Some("1200000"));

    // Self-contained: nothing to fetch, nothing to run.
    for forbidden in [
        "<script",
        "src=",
        "url(",
        "@import",
        "href=\"http",
        "<link rel=\"stylesheet",
    ] {
        assert!(!page.contains(forbidden), "the page has {forbidden:?}");
    }
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn filters_choose_the_tasks_and_are_named_on_the_page() {
    let (emulator, _) = scripted().await;
    let ids = |page: &str| -> Vec<String> {
        let mut ids: Vec<String> = rows(page).into_iter().map(|r| r.0).collect();
        ids.sort();
        ids
    };

    let failed = page_of(&report(&emulator, &["--state", "FAILED", "--out", "-"]).await);
    assert_eq!(
        ids(&failed),
        [
            "REPORTFAILEDINTERNAL0001",
            "REPORTFAILEDTOOLARGE0001",
            "REPORTFAILEDTOOLARGE0002"
        ]
    );
    assert!(
        failed.contains("<code>--state FAILED</code>"),
        "the filters are not named"
    );

    let images = page_of(
        &report(
            &emulator,
            &[
                "--type",
                "export_image",
                "--description",
                "NDVI_*",
                "--out",
                "-",
            ],
        )
        .await,
    );
    assert_eq!(
        ids(&images),
        ["REPORTFAILEDTOOLARGE0001", "REPORTFAILEDTOOLARGE0002"]
    );

    let recent = page_of(&report(&emulator, &["--since", "2h30m", "--out", "-"]).await);
    let recent = ids(&recent);
    assert_eq!(recent.len(), 6, "{recent:?}");
    assert!(
        !recent.iter().any(|id| id.starts_with("REPORTSUCCEEDED")),
        "{recent:?}"
    );

    let none = page_of(&report(&emulator, &["--description", "no such task", "--out", "-"]).await);
    assert!(rows(&none).is_empty());
    assert!(none.contains("data-tasks=\"0\""));
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_missing_folder_is_a_usage_error() {
    let (emulator, _) = scripted().await;
    let output = report(&emulator, &["--out", "/nonexistent-eeops-folder/r.html"]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent-eeops-folder") && stderr.contains("does not exist"),
        "{stderr}"
    );
    emulator.shutdown().await.expect("shutdown");
}
