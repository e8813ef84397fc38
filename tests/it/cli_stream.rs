//! `list` streams: each page's operations are on stdout before the next
//! page is asked for, in every format (a JSON array stays one valid
//! array), and pages are as large as the server allows unless
//! `--page-size` or `--limit` say otherwise.
//!
//! The server holds every page after the first until the test has looked
//! at stdout: by the time a page is asked for, whatever the tool wrote
//! before asking is in the pipe, so reading the pipe without waiting shows
//! exactly that.

use std::process::Stdio;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use crate::support::paced_rest::{PROJECT, PacedRest};
use crate::support::serve::isolated_async;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PAGES: usize = 3;
const PER_PAGE: usize = 4;

fn eeops(server: &PacedRest, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(crate::support::serve::EEOPS);
    isolated_async(&mut command)
        .args([
            "--endpoint",
            &server.endpoint,
            "--transport",
            "rest",
            "--project",
            PROJECT,
            "--no-auth",
            "list",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Everything in the pipe now, without waiting for more.
fn drain(stdout: &pipe::Receiver, into: &mut Vec<u8>) -> std::io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stdout.try_read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => into.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}

/// Runs `list --format FORMAT` against a paced server and checks, as each
/// later page is asked for, that every operation of the pages before it
/// is already on stdout; returns the whole output.
async fn paced_listing(format: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut server = PacedRest::start(PAGES, PER_PAGE).await?;
    let ids = server.ids();
    let mut child = eeops(&server, &["--format", format]).spawn()?;
    let stdout = child.stdout.take().ok_or("stdout is piped")?;
    let stdout = pipe::Receiver::from_owned_fd(stdout.into_owned_fd()?)?;
    let mut seen = Vec::new();
    for page in 1..PAGES {
        server.asked_for(page).await;
        drain(&stdout, &mut seen)?;
        let text = String::from_utf8_lossy(&seen);
        for (at, id) in ids.iter().enumerate() {
            let due = at < page * PER_PAGE;
            assert_eq!(
                text.contains(id.as_str()),
                due,
                "--format {format}: when page {page} was asked for, {id} was {}on stdout:\n{text}",
                if due { "not " } else { "" }
            );
        }
        server.release(page);
    }
    let mut stdout = stdout;
    stdout.read_to_end(&mut seen).await?;
    let output = child.wait_with_output().await?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "--format {format}: {stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), PAGES, "{requests:?}");
    for request in &requests {
        assert!(
            request.contains("pageSize=1000"),
            "with no --page-size the largest page is asked for: {request}"
        );
    }
    Ok(String::from_utf8(seen)?)
}

/// The task ids in `text`, in order of appearance, of the lines that name
/// one.
fn ids_in_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .find(|word| word.starts_with("PAGE") && word.contains("TASK"))
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn json_is_written_page_by_page_and_is_one_array() -> TestResult {
    let text = paced_listing("json").await?;
    let array: serde_json::Value = serde_json::from_str(&text)?;
    let names: Vec<&str> = array
        .as_array()
        .ok_or("an array")?
        .iter()
        .filter_map(|op| op["name"].as_str())
        .collect();
    let expected: Vec<String> = (0..PAGES)
        .flat_map(|p| (0..PER_PAGE).map(move |i| PacedRest::id(p, i)))
        .map(|id| format!("projects/{PROJECT}/operations/{id}"))
        .collect();
    assert_eq!(names, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_is_written_page_by_page() -> TestResult {
    let text = paced_listing("jsonl").await?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), PAGES * PER_PAGE);
    assert_eq!(ids_in_lines(&text).len(), PAGES * PER_PAGE);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn piped_tables_are_written_page_by_page_under_one_header() -> TestResult {
    let text = paced_listing("table").await?;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ID "), "{text}");
    assert_eq!(
        lines.iter().filter(|line| line.starts_with("ID ")).count(),
        1,
        "one header: {text}"
    );
    assert_eq!(ids_in_lines(&text).len(), PAGES * PER_PAGE, "{text}");
    // Every row is laid out as the first page's were.
    let state_at = lines[0].find("STATE").ok_or("a STATE column")?;
    for line in &lines[1..] {
        assert_eq!(line.find("SUCCEEDED"), Some(state_at), "{text}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_tsv_are_written_page_by_page() -> TestResult {
    let csv = paced_listing("csv").await?;
    assert!(csv.starts_with("id,state,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + PAGES * PER_PAGE, "{csv}");
    let tsv = paced_listing("tsv").await?;
    assert_eq!(ids_in_lines(&tsv).len(), PAGES * PER_PAGE, "{tsv}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sorted_listings_are_whole_and_ordered() -> TestResult {
    let server = PacedRest::start(PAGES, PER_PAGE).await?;
    server.release(PAGES);
    let output = eeops(&server, &["--format", "jsonl", "--reverse"])
        .output()
        .await?;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut expected = server.ids();
    expected.reverse();
    assert_eq!(ids_in_lines(&String::from_utf8(output.stdout)?), expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_bounds_the_page_asked_for_and_ends_the_listing() -> TestResult {
    let server = PacedRest::start(PAGES, PER_PAGE).await?;
    server.release(PAGES);
    for (args, page_size, listed, requests) in [
        (vec!["--limit", "3"], "pageSize=3", 3, 1),
        (vec!["--limit", "5"], "pageSize=5", 5, 2),
        (
            vec!["--limit", "5000"],
            "pageSize=1000",
            PAGES * PER_PAGE,
            PAGES,
        ),
        (
            vec!["--page-size", "2"],
            "pageSize=2",
            PAGES * PER_PAGE,
            PAGES,
        ),
    ] {
        let before = server.requests().len();
        let output = eeops(&server, &args).output().await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        let text = String::from_utf8(output.stdout)?;
        assert_eq!(ids_in_lines(&text).len(), listed, "{args:?}: {text}");
        let sent = &server.requests()[before..];
        assert_eq!(sent.len(), requests, "{args:?}: {sent:?}");
        assert!(sent[0].contains(page_size), "{args:?}: {sent:?}");
    }
    Ok(())
}
