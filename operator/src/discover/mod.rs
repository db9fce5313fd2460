//! Shadow-AI discovery: model-serving workloads in any namespace, opted in or not, that no
//! AISystem covers, each with a draft AISystem to start from. The same pure function serves
//! `aims-operator check --discover` (manifests), `kubectl aims discover` (the live cluster)
//! and the operator's metric.

pub mod live;
pub mod periodic;

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::Snapshot;
use crate::engine::artifact::{Runs, owners};
use crate::engine::workload::Workload;
use crate::policy::Policy;
use crate::resources::{API_VERSION, SYSTEM_LABEL};

/// One workload that serves a model no AISystem covers.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// Its kind.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Why it looks like model serving, or which unregistered system its label names.
    pub why: String,
    /// Whether its namespace opted in to enforcement (there the webhook refuses it when it
    /// is next written).
    pub opted_in: bool,
    /// A draft AISystem to start from: its owner, purpose, risk tier and monitoring are for
    /// the team to fill in.
    pub draft: Value,
}

/// Why `workload` is model serving that no AISystem covers, when it is.
fn uncovered(snapshot: &Snapshot, workload: &Workload<'_>, policy: &Policy) -> Option<String> {
    if workload.judged_controller().is_some() {
        return None;
    }
    match workload.label(SYSTEM_LABEL) {
        Ok(Some(name)) if !name.is_empty() => {
            return snapshot
                .system(&workload.namespace, name)
                .is_none()
                .then(|| format!("its label {SYSTEM_LABEL} names AISystem \"{name}\", which is not registered"));
        }
        Ok(_) => {}
        // The labels disagree: the webhook refuses it; nothing to discover.
        Err(_) => return None,
    }
    if !owners(snapshot, workload, None, Runs::Repository).is_empty() {
        return None;
    }
    policy.model_serving.hint(workload)
}

/// A model of the draft for each artifact the workload runs.
fn draft_models(workload: &Workload<'_>) -> Vec<Value> {
    let images = workload.images.iter().filter_map(|c| {
        let reference = c.reference()?;
        let name = reference
            .name
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let version = reference
            .tag
            .clone()
            .or_else(|| reference.digest.as_ref().map(|d| short_digest(d)))
            .unwrap_or_else(|| "unversioned".to_string());
        Some(json!({"name": name, "version": version, "image": c.image}))
    });
    let uris = workload.storage_uris.iter().map(|uri| {
        let mut segments = uri.trim_end_matches('/').rsplit('/');
        let last = segments.next().unwrap_or_default();
        let versioned = last
            .trim_start_matches(['v', 'V'])
            .starts_with(|c: char| c.is_ascii_digit());
        let (name, version) = if versioned {
            (segments.next().unwrap_or(last), last)
        } else {
            (last, "unversioned")
        };
        json!({"name": name, "version": version, "storageUri": uri})
    });
    images.chain(uris).collect()
}

fn short_digest(digest: &str) -> String {
    let hex = digest.rsplit(':').next().unwrap_or_default();
    format!("sha256-{}", hex.get(..12).unwrap_or(hex))
}

/// A draft AISystem for `workload`: named after its label or the workload, risk tier High
/// until the team classifies it (lowering a tier is an approver's decision).
fn draft(workload: &Workload<'_>, why: &str) -> Value {
    let name = match workload.label(SYSTEM_LABEL) {
        Ok(Some(label)) if !label.is_empty() => label.to_string(),
        _ => workload.name.to_string(),
    };
    json!({
        "apiVersion": API_VERSION,
        "kind": "AISystem",
        "metadata": {"name": name, "namespace": workload.namespace},
        "spec": {
            "displayName": name,
            "description": format!("Discovered: {} {}/{} ({why}).", workload.kind, workload.namespace, workload.name),
            "riskTier": "High",
            "lifecycleStage": "Operation",
            "models": draft_models(workload),
        }
    })
}

/// Every workload of `workloads` that serves a model no AISystem covers, in the order given.
pub fn discover<'w>(
    snapshot: &Snapshot,
    workloads: impl IntoIterator<Item = &'w Workload<'w>>,
    policy: &Policy,
) -> Vec<Discovery> {
    workloads
        .into_iter()
        .filter(|w| !policy.exempt_namespaces.iter().any(|n| *n == w.namespace))
        .filter_map(|w| {
            let why = uncovered(snapshot, w, policy)?;
            Some(Discovery {
                kind: w.kind.to_string(),
                namespace: w.namespace.to_string(),
                name: w.name.to_string(),
                opted_in: snapshot.namespace_enforcement(&w.namespace).is_some(),
                draft: draft(w, &why),
                why,
            })
        })
        .collect()
}

/// Name of the OpenReports Report that lists a namespace's discoveries.
pub const REPORT_NAME: &str = "aims-discovery";

/// The OpenReports Report of `namespace`: one failing result per discovered workload (a
/// warning where the namespace has not opted in); no results once there are none.
pub fn report(namespace: &str, found: &[Discovery]) -> Value {
    let results: Vec<Value> = found
        .iter()
        .filter(|d| d.namespace == namespace)
        .take(crate::engine::openreports::MAX_RESULTS)
        .map(|d| {
            json!({
                "source": "aims-operator", "policy": "aims-discovery", "rule": "AIMS-001",
                "result": if d.opted_in { "fail" } else { "warn" }, "severity": "medium",
                "scored": true,
                "message": format!("model serving that no AISystem covers: {}", d.why),
                "resources": [{"kind": d.kind, "namespace": d.namespace, "name": d.name}],
            })
        })
        .collect();
    let count = |r: &str| results.iter().filter(|x| x["result"] == r).count();
    json!({
        "apiVersion": "openreports.io/v1alpha1", "kind": "Report",
        "metadata": {"name": REPORT_NAME, "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "aims-operator"}},
        "source": "aims-operator",
        "summary": {"pass": 0, "fail": count("fail"), "warn": count("warn"), "error": 0, "skip": 0},
        "results": results,
    })
}

/// Output of a discovery.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoverFormat {
    /// One line per workload, then how to register them.
    Text,
    /// The draft AISystems, one YAML document each, with why in a comment.
    Yaml,
    /// Every field of every discovery.
    Json,
}

/// The discoveries in `format`.
pub fn render(found: &[Discovery], format: DiscoverFormat) -> String {
    match format {
        DiscoverFormat::Text => text(found),
        DiscoverFormat::Yaml => yaml(found),
        DiscoverFormat::Json => {
            serde_json::to_string_pretty(&json!({ "unregistered": found })).unwrap_or_default()
                + "\n"
        }
    }
}

fn text(found: &[Discovery]) -> String {
    if found.is_empty() {
        return "No model serving outside the AI system register.\n".to_string();
    }
    let mut out = String::new();
    for d in found {
        let _ = writeln!(
            out,
            "{} {}/{}{}: {}",
            d.kind,
            d.namespace,
            d.name,
            if d.opted_in {
                ""
            } else {
                " (namespace not opted in)"
            },
            d.why
        );
    }
    let _ = writeln!(
        out,
        "\n{} workload(s) serve models no AISystem covers. Draft AISystems to start from: \
         the same command with -o yaml; fill in owner, purpose, intended use, risk tier and \
         monitoring, apply them, and label each workload {SYSTEM_LABEL}=<name>.",
        found.len()
    );
    out
}

fn yaml(found: &[Discovery]) -> String {
    found
        .iter()
        .map(|d| {
            format!(
                "# {} {}/{}: {}\n# Fill in owner, purpose, intendedUse, riskTier and monitoring before applying.\n{}",
                d.kind,
                d.namespace,
                d.name,
                d.why,
                serde_saphyr::to_string(&d.draft).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}
