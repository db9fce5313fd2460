//! `aims-operator check`: every workload in the manifests judged as the webhook would judge
//! it (text, JSON, JUnit, SARIF), or, with `--discover`, the model serving no AISystem
//! covers.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use jiff::Timestamp;

use super::{CliError, CommonArgs, emit, list, load};
use crate::engine::evaluate_object;
use crate::manifests::Loaded;
use crate::policy::Policy;
use crate::render;
use crate::render::check::{CheckReport, LocatedVerdict};

/// How `check` prints its report.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum CheckFormat {
    /// Human-readable text.
    Text,
    /// JSON document.
    Json,
    /// JUnit XML for CI test reports.
    Junit,
    /// SARIF 2.1.0 for code-scanning annotations.
    Sarif,
    /// Draft AISystems as YAML (with --discover only).
    Yaml,
}

/// `check --discover`: the model-serving workloads of the manifests that no AISystem covers.
fn discover_loaded(
    loaded: &Loaded,
    policy: &Policy,
    output: CheckFormat,
) -> Result<ExitCode, CliError> {
    use crate::discover::{DiscoverFormat, discover, render};
    let format = match output {
        CheckFormat::Text => DiscoverFormat::Text,
        CheckFormat::Json => DiscoverFormat::Json,
        CheckFormat::Yaml => DiscoverFormat::Yaml,
        CheckFormat::Junit | CheckFormat::Sarif => {
            return Err(CliError::Usage(
                "--discover prints text, json or yaml (draft AISystems)".into(),
            ));
        }
    };
    let workloads: Vec<crate::engine::Workload<'_>> = loaded
        .workloads
        .iter()
        .filter_map(|w| {
            crate::engine::Workload::from_value(&w.object, &loaded_namespace(&w.object)).ok()
        })
        .collect();
    let found = discover(&loaded.snapshot, workloads.iter(), policy);
    emit(&render(&found, format));
    for e in &loaded.errors {
        eprintln!("error: {e}");
    }
    Ok(match (loaded.errors.is_empty(), found.is_empty()) {
        (false, _) => ExitCode::from(2),
        (true, true) => ExitCode::SUCCESS,
        (true, false) => ExitCode::from(1),
    })
}

/// Judges every workload that was loaded.
pub fn check_loaded(loaded: Loaded, policy: &Policy, now: Timestamp) -> CheckReport {
    let results = loaded
        .workloads
        .iter()
        .filter_map(|w| {
            let namespace = loaded_namespace(&w.object);
            evaluate_object(&loaded.snapshot, &w.object, &namespace, policy, now)
                .ok()
                .map(|verdict| LocatedVerdict {
                    location: w.location.clone(),
                    verdict,
                })
        })
        .collect();
    CheckReport::new(results, loaded.errors, loaded.snapshot.len(), loaded.files)
}

fn loaded_namespace(object: &serde_json::Value) -> String {
    object
        .pointer("/metadata/namespace")
        .and_then(|v| v.as_str())
        .unwrap_or(crate::engine::snapshot::DEFAULT_NAMESPACE)
        .to_string()
}

/// `check`: judges every workload in `paths` (or, with `discover`, lists the model serving
/// no AISystem covers); exit 1 when anything would be refused.
pub(super) fn check(
    paths: &[PathBuf],
    output: CheckFormat,
    common: &CommonArgs,
    verbose: bool,
    discover: bool,
) -> Result<ExitCode, CliError> {
    let (loaded, policy, now) = load(paths, common)?;
    if discover {
        return discover_loaded(&loaded, &policy, output);
    }
    if loaded.errors.is_empty() && loaded.workloads.is_empty() && loaded.aims_objects == 0 {
        return Err(CliError::Input(format!(
            "nothing to judge in {}: no workload and no AIMS resource in {} file(s){}",
            list(paths),
            loaded.files,
            match loaded.ignored {
                0 => String::new(),
                n => format!(" ({n} document(s) of other kinds)"),
            }
        )));
    }
    let report = check_loaded(loaded, &policy, now);
    let text = match output {
        CheckFormat::Text => render::check::text(&report, verbose),
        CheckFormat::Json => render::check::json(&report),
        CheckFormat::Junit => render::check::junit(&report),
        CheckFormat::Sarif => render::check::sarif(&report),
        CheckFormat::Yaml => {
            return Err(CliError::Usage(
                "-o yaml prints draft AISystems and goes with --discover; judge with -o text, json, junit or sarif".into(),
            ));
        }
    };
    emit(&text);
    if !matches!(output, CheckFormat::Text) {
        for e in &report.errors {
            eprintln!("error: {e}");
        }
    }
    Ok(ExitCode::from(report.exit_code()))
}
