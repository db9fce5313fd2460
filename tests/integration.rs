//! Every integration suite in one test binary. Each binary links the whole dependency tree
//! (hundreds of megabytes with debug info), so sixteen of them filled the CI machine's disk;
//! one binary also links once instead of sixteen times on a two-core machine.
//!
//! Run one suite: `cargo test --test integration webhook::` (the module is the file name).
//! Two suites keep binaries of their own: `memory` (it measures the process's RSS, so nothing
//! else may run beside it) and `e2e` (it needs a cluster).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

#[path = "support/fuzzing.rs"]
mod fuzzing;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/https.rs"]
mod https;
mod support;
#[path = "support/tools.rs"]
mod tools;

mod adversarial;
mod approvals;
mod artifacts;
mod certs;
mod cli;
mod crds;
mod differential;
mod election;
mod engine;
mod evidence;
mod faults;
mod fuzz_corpus;
mod incidents;
mod install;
mod management;
mod nonconformities;
mod plugin;
mod properties;
mod queue;
mod reconciler;
mod register;
mod relaxations;
mod report;
mod status;
mod webhook;
