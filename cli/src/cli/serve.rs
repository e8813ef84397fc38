//! `eeops serve`: the emulator as a server, until Ctrl-C or SIGTERM.

use eeops::emulator::{Emulator, EmulatorBuilder, RunningEmulator};

use super::args::{GlobalArgs, ServeArgs};
use super::{CliError, DEMO_PROJECT, commands, exit};

/// The exit code after a second interrupt cut shutdown short (128 + SIGINT,
/// as shells report it).
const INTERRUPTED: u8 = 130;

/// Serves until the first Ctrl-C or SIGTERM, then shuts down within the
/// grace period; a second signal exits at once.
pub(crate) async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<u8, CliError> {
    let project = global
        .project
        .clone()
        .unwrap_or_else(|| DEMO_PROJECT.to_owned());
    let seed = args.seed;
    let guards = Guards {
        calls: args.require_token.is_some(),
        admin: args.admin_token.is_some() || args.require_token.is_some(),
    };
    let mut signals = StopSignals::new();
    let listen = args.listen.clone();
    let emulator = builder(args, &project).start(&listen).await?;
    say!(
        "eeops emulator listening on {} (gRPC with reflection, and HTTP/JSON)",
        emulator.endpoint()
    );
    if seed > 0 {
        say!("seeded {seed} operations in projects/{project}");
    }
    if !emulator.local_addr().ip().is_loopback() {
        eprintln!("{}", exposure_warning(&emulator, guards));
    }
    commands::flush();
    signals.recv().await;
    eprintln!("eeops emulator stopping (press Ctrl-C again to exit at once)");
    tokio::select! {
        stopped = emulator.shutdown() => stopped?,
        () = signals.recv() => {
            eprintln!("eeops emulator interrupted");
            return Ok(INTERRUPTED);
        }
    }
    eprintln!("eeops emulator stopped");
    Ok(exit::SUCCESS)
}

/// The emulator `args` describe.
fn builder(args: ServeArgs, project: &str) -> EmulatorBuilder {
    let mut builder = Emulator::builder()
        .with_queue_time(args.queue_time)
        .with_run_time(args.run_time)
        .with_cancel_latency(args.cancel_latency)
        .with_header_read_timeout(args.header_read_timeout)
        .with_body_read_timeout(args.body_read_timeout)
        .with_idle_timeout(args.idle_timeout)
        .with_max_connections(args.max_connections)
        .with_max_concurrent_streams(args.max_streams)
        .with_shutdown_grace(args.shutdown_grace);
    if args.seed > 0 {
        builder = builder.with_seed(project, args.seed);
    }
    if let Some(token) = args.require_token {
        builder = builder.with_required_token(token);
    }
    if let Some(token) = args.admin_token {
        builder = builder.with_admin_token(token);
    }
    for fault in args.faults {
        builder = builder.with_fault(fault);
    }
    if let Some(path) = args.record {
        builder = builder.with_record_file(path);
    }
    builder
}

/// Which parts of the server require a token.
#[derive(Clone, Copy)]
struct Guards {
    calls: bool,
    admin: bool,
}

/// What a server bound beyond loopback lets anyone who reaches it do.
fn exposure_warning(emulator: &RunningEmulator, guards: Guards) -> String {
    let who = |guarded: bool| {
        if guarded {
            "for callers with its token"
        } else {
            "for anyone (no token required)"
        }
    };
    format!(
        "warning: listening on {}, which other hosts can reach, in plaintext. Exposed: the \
         Operations API (list, get, wait, cancel, delete) {}; the fault endpoint /_eeops/faults, \
         which can make every call fail, {}; gRPC reflection and the discovery document for \
         anyone. Use --require-token (and --admin-token) or listen on 127.0.0.1.",
        emulator.local_addr(),
        who(guards.calls),
        who(guards.admin),
    )
}

/// Ctrl-C and, on Unix, SIGTERM, listened for from creation on, so that a
/// signal that comes while the previous one is handled is not missed.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Completes on the next signal.
    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(self.interrupt.as_mut()) => {}
                () = next(self.terminate.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::super::args::{Cli, Command};

    #[test]
    fn serve_defaults_are_the_emulators() {
        let cli = Cli::try_parse_from(["eeops", "serve"]).expect("serve parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        use eeops::emulator as e;
        assert_eq!(args.header_read_timeout, e::DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(args.body_read_timeout, e::DEFAULT_BODY_READ_TIMEOUT);
        assert_eq!(args.idle_timeout, e::DEFAULT_IDLE_TIMEOUT);
        assert_eq!(args.max_connections, e::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(args.max_streams, e::DEFAULT_MAX_CONCURRENT_STREAMS);
        assert_eq!(args.shutdown_grace, e::DEFAULT_SHUTDOWN_GRACE);
    }
}
