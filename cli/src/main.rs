//! The `eeops` command-line tool; see `eeops --help`. It uses the library
//! through its public API only.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
