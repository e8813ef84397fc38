//! The `eeops` command-line tool; see `eeops --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
