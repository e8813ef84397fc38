//! `eeops demo`: the main job end to end on an in-process emulator, narrated.
//! It exits 0 only if every step behaved as Earth Engine would.

use std::io::{IsTerminal, Write as _};
use std::time::Duration;

use eeops::earthengine::State;
use eeops::emulator::{Emulator, OperationSpec};
use eeops::rpc::Code;
use tokio::time::Instant;

use super::args::{Format, GlobalArgs};
use super::{CliError, Context, DEMO_PROJECT, commands, exit};

const EXPORT_RUN_TIME: Duration = Duration::from_secs(3);
const DEMO_TIMEOUT: Duration = Duration::from_secs(60);

/// One narrated check.
struct Checks {
    failures: Vec<String>,
}

impl Checks {
    fn expect(&mut self, ok: bool, what: &str) {
        if ok {
            say!("   ✓ {what}");
        } else {
            say!("   ✗ {what}");
            self.failures.push(what.to_owned());
        }
    }
}

pub(crate) async fn run(global: &GlobalArgs) -> Result<u8, CliError> {
    let project = global
        .project
        .clone()
        .unwrap_or_else(|| DEMO_PROJECT.to_owned());
    let emulator = Emulator::builder()
        .with_seed(&project, 10)
        .with_run_time(Duration::from_secs(8))
        .start("127.0.0.1:0")
        .await?;
    let export = emulator.create(
        OperationSpec::new(&project)
            .with_type("EXPORT_IMAGE")
            .with_description("demo_landcover_export")
            .with_queue_time(Duration::from_millis(300))
            .with_run_time(EXPORT_RUN_TIME)
            .with_destination_uri("gs://eeops-demo-exports/demo_landcover_export/"),
    )?;
    let ingestion = emulator.create(
        OperationSpec::new(&project)
            .with_type("INGEST_IMAGE")
            .with_description("demo_long_ingestion")
            .with_queue_time(Duration::ZERO)
            .running_until_cancelled(),
    )?;
    let finished = emulator.create(
        OperationSpec::new(&project)
            .with_type("EXPORT_FEATURES")
            .with_description("demo_old_export")
            .created_ago(Duration::from_secs(3600))
            .with_queue_time(Duration::from_secs(10))
            .with_run_time(Duration::from_secs(120)),
    )?;
    let ctx = Context {
        client: super::build_client(global, &emulator.endpoint())?.in_project(&project),
        project: Some(project.clone()),
        format: Format::Table,
        explicit_format: None,
        quiet: false,
        screen: super::screen::Screen::stdout(),
    };
    let mut checks = Checks {
        failures: Vec::new(),
    };
    say!("eeops demo: list, wait, cancel and delete Earth Engine tasks on an in-process emulator.");
    say!(
        "Emulator: {} (gRPC), project {project}\n",
        emulator.endpoint()
    );

    say!("1. Listing the tasks in projects/{project}");
    let operations = ctx
        .client
        .list(format!("projects/{project}"))
        .operations()
        .try_collect()
        .await?;
    say!(
        "{}",
        indent(&super::table::table(&operations, {
            let mut screen = super::screen::Screen::stdout();
            screen.width = screen.width.map(|w| w.saturating_sub(3));
            screen
        }))
    );
    checks.expect(
        [&export, &ingestion, &finished]
            .iter()
            .all(|name| operations.iter().any(|op| &&op.name == name)),
        &format!(
            "{} tasks listed, the demo's three among them",
            operations.len()
        ),
    );

    say!(
        "\n2. Waiting for export {} to finish",
        eeops::operation_id(&export)
    );
    let started = Instant::now();
    let done = wait_with_progress(&ctx, &export).await?;
    checks.expect(
        done.done && done.state() == State::Succeeded,
        &format!(
            "it ended {} after {:.1}s",
            done.state().as_str_name(),
            started.elapsed().as_secs_f64()
        ),
    );

    say!(
        "\n3. Cancelling ingestion {} (it would run forever)",
        eeops::operation_id(&ingestion)
    );
    ctx.client.cancel(&ingestion).await?;
    let right_after = ctx.client.get(&ingestion).await?;
    say!(
        "   cancel sent; the task is now {}",
        right_after.state().as_str_name()
    );
    let cancelled = wait_with_progress(&ctx, &ingestion).await?;
    let code = cancelled.error().map(|error| error.code());
    checks.expect(
        cancelled.done && cancelled.state() == State::Cancelled && code == Some(Code::Cancelled),
        &format!(
            "it ended {} with error code {}",
            cancelled.state().as_str_name(),
            code.map_or("none".to_owned(), |code| format!(
                "{} ({})",
                code as i32,
                code.as_str_name()
            ))
        ),
    );

    say!(
        "\n4. Deleting finished task {}",
        eeops::operation_id(&finished)
    );
    ctx.client.delete(&finished).await?;
    match ctx.client.get(&finished).await {
        Err(error) => checks.expect(error.is_not_found(), &format!("Get now answers {error}")),
        Ok(operation) => checks.expect(
            false,
            &format!("Get still returns it ({})", operation.state().as_str_name()),
        ),
    }

    say!("\n5. Writing a report of projects/{project}: timeline, EECU-hours, failures");
    match super::report::write_default(&ctx, &project).await {
        Ok(path) => {
            let shown = std::env::current_dir().map_or(path.clone(), |dir| dir.join(&path));
            checks.expect(
                true,
                &format!(
                    "report written to {} (open it in a browser)",
                    shown.display()
                ),
            );
        }
        Err(message) => checks.expect(false, &message),
    }

    emulator.shutdown().await?;
    say!();
    if checks.failures.is_empty() {
        say!("All steps behaved as expected.");
        Ok(exit::SUCCESS)
    } else {
        say!(
            "{} step(s) did not behave as expected: {}",
            checks.failures.len(),
            checks.failures.join("; ")
        );
        Ok(exit::RPC_ERROR)
    }
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|line| format!("   {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits with short server-side waits, drawing a progress bar (redrawn in
/// place on a terminal, one line per change otherwise).
async fn wait_with_progress(
    ctx: &Context,
    name: &str,
) -> Result<eeops::longrunning::Operation, CliError> {
    let terminal = std::io::stdout().is_terminal();
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let mut last = String::new();
    loop {
        let operation = ctx
            .client
            .wait_once(name)
            .set_server_wait(Duration::from_millis(400))
            .await?;
        let fraction = operation
            .earth_engine_metadata()
            .map_or(0.0, |m| m.progress_fraction());
        let filled = (fraction * 20.0).round() as usize;
        let line = format!(
            "   [{}{}] {:>4}  {} {}",
            "#".repeat(filled),
            "-".repeat(20 - filled.min(20)),
            super::task::Task::new(&operation).progress(),
            operation.id(),
            super::progress::describe(&operation),
        );
        if line != last {
            if terminal {
                let _ = write!(std::io::stdout().lock(), "\r\x1b[2K{line}");
                commands::flush();
            } else {
                say!("{line}");
            }
            last = line;
        }
        if operation.done || Instant::now() >= deadline {
            if terminal {
                say!();
            }
            return Ok(operation);
        }
    }
}
