//! `eeops report`: one self-contained HTML page of a project's tasks over
//! time (a timeline, EECU-hours, finishes per day, failures by message, the
//! slowest tasks and the longest queue waits).
//!
//! The operations are listed as a stream and each is reduced at once to
//! what the page shows ([`model`]); the page is then written in one piece
//! ([`html`]), so a failed listing leaves no half-written file.

mod charts;
mod escape;
mod failures;
mod html;
mod model;
mod time;
mod timeline;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use eeops::{Client, TaskFilter};

use super::args::{ReportArgs, TaskFilterArgs};
use super::listing::LARGEST_PAGE;
use super::since::Since;
use super::summary::Tally;
use super::{CliError, Context, exit};
use html::Provenance;
use model::{Report, Task};

/// Where the page goes.
#[derive(Debug)]
enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    /// `-` is stdout; no path is `eeops-report-<project>-<date>.html` here.
    /// A file's folder must exist: that is checked before any listing.
    fn choose(out: Option<&Path>, project: &str, now: time::Millis) -> Result<Self, CliError> {
        let path = match out {
            Some(path) if path == Path::new("-") => return Ok(Self::Stdout),
            Some(path) => path.to_owned(),
            None => PathBuf::from(default_file_name(project, now)),
        };
        if path.is_dir() {
            return Err(CliError::Usage(format!(
                "--out {} is a directory; give a file name",
                path.display()
            )));
        }
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = folder.filter(|f| !f.is_dir()) {
            return Err(CliError::Usage(format!(
                "--out {}: the folder {} does not exist",
                path.display(),
                folder.display()
            )));
        }
        Ok(Self::File(path))
    }
}

/// `eeops-report-<project>-<date>.html`, with anything but letters, digits,
/// `.`, `_` and `-` in the project replaced.
fn default_file_name(project: &str, now: time::Millis) -> String {
    let safe: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "eeops-report-{}-{}.html",
        safe.trim_start_matches('.'),
        time::date(time::day_of(now))
    )
}

/// The filters as a command line would give them, for the page's header.
fn describe_filters(args: &TaskFilterArgs) -> String {
    let mut parts = Vec::new();
    if !args.state.is_empty() {
        let states: Vec<&str> = args.state.iter().map(|s| s.as_str_name()).collect();
        parts.push(format!("--state {}", states.join(",")));
    }
    if !args.kinds.is_empty() {
        let kinds: Vec<&str> = args.kinds.iter().flatten().copied().collect();
        parts.push(format!("--type {}", kinds.join(",")));
    }
    match args.since {
        Some(Since::Ago(duration)) => parts.push(format!("--since {}", compact_duration(duration))),
        Some(Since::At(at)) => parts.push(format!("--since {}", prost_types::Timestamp::from(at))),
        None => {}
    }
    if let Some(pattern) = &args.description {
        parts.push(format!("--description {pattern:?}"));
    }
    parts.join(" ")
}

/// `3d`, `90m`, `45s`: the largest unit that divides the duration.
fn compact_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0 => format!("{}ms", duration.as_millis()),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Lists the tasks under `parent` that `filter` keeps, and keeps what the
/// page needs of each.
async fn gather(
    client: &Client,
    parent: String,
    filter: TaskFilter,
    now: time::Millis,
) -> Result<Report, eeops::Error> {
    let mut stream = client
        .list(parent)
        .set_page_size(LARGEST_PAGE)
        .with_task_filter(filter)
        .operations();
    let mut report = Report::new(now);
    let mut tally = Tally::default();
    while let Some(operation) = stream.next().await {
        let operation = operation?;
        tally.add(&operation);
        report.add(Task::from_operation(&operation));
    }
    report.summary = tally.finish();
    Ok(report)
}

/// Writes the page; says where (to stderr) unless it went to stdout.
fn deliver(
    ctx: &Context,
    destination: &Destination,
    page: &str,
    tasks: usize,
) -> Result<(), String> {
    match destination {
        Destination::Stdout => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(page.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => Ok(()),
                // A reader that stopped reading (`| head`) is not an error.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(error) => Err(format!("cannot write the report to stdout: {error}")),
            }
        }
        Destination::File(path) => {
            write_whole(path, page.as_bytes()).map_err(|error| {
                format!("cannot write the report to {}: {error}", path.display())
            })?;
            ctx.note(&format!(
                "Wrote the report of {tasks} task{} to {}",
                if tasks == 1 { "" } else { "s" },
                path.display()
            ));
            Ok(())
        }
    }
}

/// Writes beside the destination and renames, so that a reader never sees
/// half a page and a failure leaves any earlier report in place.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
}

pub(crate) async fn run(ctx: &Context, args: ReportArgs) -> Result<u8, CliError> {
    let project = ctx.project()?.to_owned();
    let clock = SystemTime::now();
    let now = time::from_system_time(clock);
    let destination = Destination::choose(args.out.as_deref(), &project, now)?;
    let filter = args.filters.task_filter(clock);
    let report = gather(&ctx.client, format!("projects/{project}"), filter, now).await?;
    let made = Provenance {
        project,
        endpoint: ctx.client.endpoint().to_owned(),
        filters: describe_filters(&args.filters),
        since: args
            .filters
            .since
            .map(|since| time::from_system_time(since.cutoff(clock))),
    };
    let page = html::page(&report, &made);
    match deliver(ctx, &destination, &page, report.tasks.len()) {
        Ok(()) => Ok(exit::SUCCESS),
        Err(message) => {
            eprintln!("error: {message}");
            Ok(exit::RPC_ERROR)
        }
    }
}

/// The demo's last step: the report of every task of `project`, in the
/// current folder under its default name. Returns where it went.
pub(crate) async fn write_default(ctx: &Context, project: &str) -> Result<PathBuf, String> {
    let now = time::from_system_time(SystemTime::now());
    let path = PathBuf::from(default_file_name(project, now));
    let report = gather(
        &ctx.client,
        format!("projects/{project}"),
        TaskFilter::new(),
        now,
    )
    .await
    .map_err(|error| format!("listing the tasks failed: {error}"))?;
    let made = Provenance {
        project: project.to_owned(),
        endpoint: ctx.client.endpoint().to_owned(),
        filters: String::new(),
        since: None,
    };
    write_whole(&path, html::page(&report, &made).as_bytes())
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_carry_the_project_and_the_day() {
        let now = 1_773_478_931_000;
        assert_eq!(
            default_file_name("my-project", now),
            "eeops-report-my-project-2026-03-14.html"
        );
        assert_eq!(
            default_file_name("../a b", now),
            "eeops-report-_a_b-2026-03-14.html"
        );
    }

    #[test]
    fn missing_folders_are_refused_before_listing() {
        let missing = Path::new("/nonexistent-eeops-folder/report.html");
        match Destination::choose(Some(missing), "p", 0) {
            Err(CliError::Usage(message)) => {
                assert!(message.contains("does not exist"), "{message}")
            }
            Ok(destination) => panic!("accepted: {destination:?}"),
            Err(CliError::Call(error)) => panic!("not a usage error: {error}"),
        }
        assert!(matches!(
            Destination::choose(Some(Path::new("-")), "p", 0),
            Ok(Destination::Stdout)
        ));
        assert_eq!(
            compact_duration(std::time::Duration::from_secs(3 * 86_400)),
            "3d"
        );
        assert_eq!(
            compact_duration(std::time::Duration::from_secs(90 * 60)),
            "90m"
        );
    }
}
