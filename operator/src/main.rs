//! `aims-operator`: see `aims-operator --help`.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc rather than the C library's allocator: smaller size classes and no header per
/// allocation suit a register of many small strings, and it gives freed pages back.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    aims_operator::cli::run(aims_operator::cli::Cli::parse())
}
