//! Renders the offline check's verdicts: human text, JSON, JUnit XML and SARIF 2.1.0.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use super::escape_xml;
use crate::engine::{Rule, Scope, Verdict};
use crate::manifests::{LoadError, Location};
use crate::resources::EnforcementMode;

/// The result of checking a set of manifests.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// One verdict per workload, with where it was found.
    pub results: Vec<LocatedVerdict>,
    /// Documents that could not be used.
    pub errors: Vec<LoadError>,
    /// Counts.
    pub summary: Summary,
}

/// A verdict and where the workload is.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LocatedVerdict {
    /// Where the workload's document is.
    pub location: Location,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict<'static>,
}

/// Counts of the report.
#[derive(Serialize, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Workloads found.
    pub workloads: usize,
    /// Judged and compliant.
    pub allowed: usize,
    /// Refused (enforce mode).
    pub denied: usize,
    /// Admitted despite findings (warn or audit mode).
    pub admitted_with_findings: usize,
    /// Outside enforcement.
    pub not_judged: usize,
    /// AI systems, assessments and bindings read.
    pub aims_objects: usize,
    /// Files read.
    pub files: usize,
    /// Documents that could not be used.
    pub errors: usize,
}

impl CheckReport {
    /// Builds the report and its counts.
    pub fn new(
        results: Vec<LocatedVerdict>,
        errors: Vec<LoadError>,
        aims_objects: usize,
        files: usize,
    ) -> Self {
        let mut summary = Summary {
            workloads: results.len(),
            aims_objects,
            files,
            errors: errors.len(),
            ..Default::default()
        };
        for r in &results {
            let v = &r.verdict;
            match (&v.scope, v.findings.is_empty(), v.allowed) {
                (Scope::NotJudged(_), _, _) => summary.not_judged += 1,
                (_, true, _) => summary.allowed += 1,
                (_, false, false) => summary.denied += 1,
                (_, false, true) => summary.admitted_with_findings += 1,
            }
        }
        Self {
            results,
            errors,
            summary,
        }
    }

    /// Exit status: 2 when input could not be read, 1 when anything is denied, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if self.summary.denied > 0 {
            1
        } else {
            0
        }
    }
}

fn status_word(v: &Verdict<'_>) -> &'static str {
    match (&v.scope, v.findings.is_empty(), v.allowed, v.mode) {
        (Scope::NotJudged(_), _, _, _) => "SKIP ",
        (_, true, _, _) => "ALLOW",
        (_, false, false, _) => "DENY ",
        (_, false, true, EnforcementMode::Warn) => "WARN ",
        (_, false, true, _) => "AUDIT",
    }
}

/// Human-readable text: each workload's message exactly as the webhook would send it.
pub fn text(report: &CheckReport, verbose: bool) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let _ = writeln!(out, "ERROR {error}");
    }
    for r in &report.results {
        if !verbose && matches!(r.verdict.scope, Scope::NotJudged(_)) {
            continue;
        }
        let message = r.verdict.message().replace('\n', "\n      ");
        let _ = writeln!(
            out,
            "{} {message}\n      at {}",
            status_word(&r.verdict),
            r.location
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} workloads: {} allowed, {} denied, {} admitted with findings, {} not judged{}. Read {} AIMS objects from {} files{}.",
        s.workloads,
        s.allowed,
        s.denied,
        s.admitted_with_findings,
        s.not_judged,
        if !verbose && s.not_judged > 0 {
            " (--verbose lists them)"
        } else {
            ""
        },
        s.aims_objects,
        s.files,
        if s.errors > 0 {
            format!(
                "; {} documents could not be used (see ERROR lines)",
                s.errors
            )
        } else {
            String::new()
        },
    );
    out
}

/// JSON: the report as a document.
pub fn json(report: &CheckReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// JUnit XML: one test case per workload, a failure per denial, an error per unreadable
/// document, so CI systems show results beside unit tests.
pub fn junit(report: &CheckReport) -> String {
    let s = &report.summary;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // The suite and its wrapper carry the same counts.
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
        s.workloads + s.errors,
        s.denied,
        s.errors,
        s.not_judged
    );
    let _ = writeln!(out, "<testsuites name=\"aims-operator check\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"aims-check\" {counts}>");
    for r in &report.results {
        let v = &r.verdict;
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\">",
            escape_xml(&v.namespace),
            escape_xml(&format!("{}/{}", v.kind, v.name)),
            escape_xml(&r.location.file)
        );
        match (&v.scope, v.findings.is_empty(), v.allowed) {
            (Scope::NotJudged(reason), _, _) => {
                let _ = write!(out, "<skipped message=\"{}\"/>", escape_xml(reason));
            }
            (_, true, _) => {}
            (_, false, allowed) => {
                let element = if allowed { "system-out" } else { "failure" };
                let attrs = if allowed {
                    String::new()
                } else {
                    format!(
                        " message=\"{}\" type=\"{}\"",
                        escape_xml(&v.headline()),
                        escape_xml(&v.rule_ids())
                    )
                };
                let _ = write!(
                    out,
                    "<{element}{attrs}>{}</{element}>",
                    escape_xml(&v.message())
                );
            }
        }
        out.push_str("</testcase>\n");
    }
    for e in &report.errors {
        let _ = writeln!(
            out,
            "    <testcase classname=\"input\" name=\"{}\" file=\"{}\"><error message=\"{}\"/></testcase>",
            escape_xml(&e.location.to_string()),
            escape_xml(&e.location.file),
            escape_xml(&e.message)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// SARIF 2.1.0: one result per finding, located at the workload's document, so code-scanning
/// UIs annotate the pull request.
pub fn sarif(report: &CheckReport) -> String {
    let rules: Vec<_> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": format!("{r:?}"),
                "shortDescription": { "text": r.title() },
                "fullDescription": { "text": format!("{} ({})", r.title(), r.reference()) },
                "properties": { "tags": ["iso-42001", "ai-governance"] },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in &report.results {
        for f in &r.verdict.findings {
            let level = if r.verdict.allowed {
                "warning"
            } else {
                "error"
            };
            results.push(json!({
                "ruleId": f.rule.id(),
                "ruleIndex": Rule::ALL.iter().position(|x| *x == f.rule),
                "level": level,
                "message": { "text": format!("{}: {} ({}). Fix: {}", r.verdict.workload_ref(), f.message, f.reference(), f.fix) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": r.location.file },
                        "region": { "startLine": r.location.line.max(1) },
                    },
                    "logicalLocations": [{ "fullyQualifiedName": r.verdict.workload_ref(), "kind": "resource" }],
                }],
            }));
        }
    }
    for e in &report.errors {
        results.push(json!({
            "ruleId": Rule::UnreadableWorkload.id(),
            "level": "error",
            "message": { "text": e.message },
            "locations": [{ "physicalLocation": {
                "artifactLocation": { "uri": e.location.file },
                "region": { "startLine": e.location.line.max(1) },
            }}],
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "aims-operator",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
