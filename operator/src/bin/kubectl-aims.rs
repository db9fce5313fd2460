//! `kubectl aims`: see `kubectl aims --help`. Install by putting this binary on the PATH.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    aims_operator::plugin::run(aims_operator::plugin::PluginCli::parse())
}
