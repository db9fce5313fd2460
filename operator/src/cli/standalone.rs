//! The commands that read no manifests: crds, catalog and demo (on the embedded examples).

use std::path::PathBuf;
use std::process::ExitCode;

use jiff::Timestamp;

use super::{CliError, check_loaded, emit};
use crate::manifests::Loaded;
use crate::policy::Policy;
use crate::{crdgen, render, soa};

pub(super) fn write_crds(output_dir: Option<PathBuf>) -> Result<ExitCode, CliError> {
    for (file, crd) in crdgen::crds() {
        let yaml = crdgen::to_yaml(&crd)
            .map_err(|e| CliError::Input(format!("cannot serialise {file}: {e}")))?;
        match &output_dir {
            Some(dir) => {
                let path = dir.join(file);
                std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(&path, yaml))
                    .map_err(|source| CliError::Write {
                        path: path.clone(),
                        source,
                    })?;
                eprintln!("wrote {}", path.display());
            }
            None => emit(&format!("---\n{yaml}")),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The catalog as text: the Annex A controls, then the admission rules, each under column
/// headers.
pub fn catalog_text() -> String {
    use std::fmt::Write as _;
    let mut out = String::from("Annex A controls (short titles in our own words):\n");
    let _ = writeln!(
        out,
        "  {:<8} {:<52} {:<15} {:<16} NIST AI RMF",
        "ID", "TITLE", "CHECK", "EU AI ACT"
    );
    for c in &crate::catalog::CONTROLS {
        let _ = writeln!(
            out,
            "  {:<8} {:<52} {:<15} {:<16} {}",
            c.id,
            c.title,
            c.check.as_str(),
            c.eu_ai_act.unwrap_or("-"),
            format!("{:?}", c.nist_ai_rmf).to_uppercase()
        );
    }
    out.push_str("\nAdmission rules:\n");
    let _ = writeln!(out, "  {:<8}  TITLE (ISO/IEC 42001 REFERENCE)", "RULE");
    for r in crate::engine::Rule::ALL {
        let _ = writeln!(out, "  {}  {} ({})", r.id(), r.title(), r.reference());
    }
    out
}

/// Runs check and SoA on the embedded examples and always succeeds when they load: the
/// denials it shows are the point of the demonstration.
pub(super) fn demo(now: Timestamp) -> ExitCode {
    let mut loaded = Loaded::new("default");
    for (file, text) in crate::examples::FILES {
        loaded.read_str(file, text);
    }
    let policy = Policy::default();
    let snapshot = loaded.snapshot.clone();
    let report = check_loaded(loaded, &policy, now);
    let statement = soa::build(&snapshot, &policy, "the built-in examples/", now);
    emit(&format!(
        "== Admission decisions for examples/ (as the webhook would answer)\n\n{}\n== Statement of Applicability\n\n{}",
        render::check::text(&report, false),
        render::soa::markdown(&statement)
    ));
    ExitCode::from(if report.errors.is_empty() { 0 } else { 2 })
}
