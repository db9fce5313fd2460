//! Internal audits: the nonconformity records their findings call for (opened by the
//! operator for findings that name an AI system), where each finding stands, and the checks
//! on an audit write.

use jiff::Timestamp;
use kube::ResourceExt;
use serde_json::{Value, json};

use super::Snapshot;
use crate::policy::Policy;
use crate::resources::{AISystem, API_VERSION, AuditFinding, InternalAudit, InternalAuditSpec};

/// Label on a Nonconformity the operator opened for an internal audit's finding: the audit.
pub const AUDIT_LABEL: &str = "aims.io/internal-audit";

/// The records the operator opens for the audit findings about `system`, by name: one per
/// nonconformity finding that names the system and no record of its own.
pub fn finding_records(snapshot: &Snapshot, system: &AISystem) -> Vec<(String, Value)> {
    let ns = system.namespace().unwrap_or_default();
    let name = system.name_any();
    let mut records = Vec::new();
    for audit in snapshot.audits() {
        let audit_name = audit.name_any();
        for finding in &audit.spec.findings {
            if finding.nonconformity.is_some()
                || finding.system_ref() != Some((ns.as_str(), name.as_str()))
            {
                continue;
            }
            let (Some(severity), Some((_, record))) = (
                finding.classification.severity(),
                finding.record(&audit_name),
            ) else {
                continue;
            };
            let owner = finding
                .owner
                .as_ref()
                .or(system.spec.owner.as_ref())
                .filter(|o| !o.name.is_empty());
            let manifest = json!({
                "apiVersion": API_VERSION, "kind": "Nonconformity",
                "metadata": { "name": record, "namespace": ns,
                    "labels": { crate::resources::SYSTEM_LABEL: name, AUDIT_LABEL: audit_name,
                        "app.kubernetes.io/managed-by": "aims-operator" } },
                "spec": {
                    "severity": severity.as_str(), "source": "InternalAudit",
                    "systemRef": name, "control": finding.control,
                    "description": format!("Internal audit {audit_name}, finding {}: {}",
                        finding.id, finding.description),
                    "owner": owner,
                }
            });
            records.push((record, manifest));
        }
    }
    records
}

/// Where one finding stands at `now`: its record's phase (`Open`, `Closed`, `Reopened`) as the
/// operator would write it, `awaiting its record` while that does not exist, or the
/// classification for a finding that needs none. The phase is worked out, not read from the
/// record's status, so that manifests without status (offline) show a recurrence too.
pub fn finding_state(
    snapshot: &Snapshot,
    audit: &str,
    finding: &AuditFinding,
    policy: &Policy,
    now: Timestamp,
) -> String {
    let Some((ns, name)) = finding.record(audit) else {
        return finding.classification.as_str().to_string();
    };
    match snapshot.nonconformity(&ns, &name) {
        None => "awaiting its record".to_string(),
        Some(record) => super::nonconformity::phase(snapshot, record, policy, now)
            .as_str()
            .to_string(),
    }
}

/// One line on an audit for a reader: who, when, and where its findings stand.
pub fn summary(
    snapshot: &Snapshot,
    audit: &InternalAudit,
    policy: &Policy,
    now: Timestamp,
) -> String {
    let name = audit.name_any();
    let spec = &audit.spec;
    let when = match spec.completed_at {
        Some(end) => format!("{} to {}", spec.started_at, end),
        None => format!("from {}, under way", spec.started_at),
    };
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for finding in &spec.findings {
        *counts
            .entry(finding_state(snapshot, &name, finding, policy, now))
            .or_default() += 1;
    }
    let findings = if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{name} by {} ({when}): {findings}", spec.auditor)
}

/// Checks an audit write: its content, that it is not completed in the future, and that each
/// AI system a finding newly names exists (an audit outlives a system retired after it, so
/// findings already recorded are not held to that).
pub fn check_write(
    snapshot: &Snapshot,
    audit: &InternalAudit,
    old: Option<&InternalAuditSpec>,
    now: Timestamp,
) -> Result<(), String> {
    crate::resources::validate_audit(&audit.spec)?;
    if let Some(end) = audit.spec.completed_at
        && end > now
    {
        return Err(format!(
            "spec.completedAt ({end}) is in the future; record completion once the audit has ended"
        ));
    }
    for (i, finding) in audit.spec.findings.iter().enumerate() {
        let Some((ns, system)) = finding.system_ref() else {
            continue;
        };
        let known = old.is_some_and(|old| {
            old.findings
                .iter()
                .any(|f| f.id == finding.id && f.system == finding.system)
        });
        if !known && snapshot.system(ns, system).is_none() {
            return Err(format!(
                "spec.findings[{i}].system: no AISystem {system} in namespace {ns}; name a \
                 registered system (kubectl get aisystems -A) or, for a finding about no one \
                 system, the Nonconformity record opened for it"
            ));
        }
    }
    Ok(())
}
