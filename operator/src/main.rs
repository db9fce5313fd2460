//! `aims-operator`: see `aims-operator --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    aims_operator::cli::run(aims_operator::cli::Cli::parse())
}
