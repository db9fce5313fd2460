//! Admission decisions over an audit period, read from the API server's audit log: the
//! workload webhooks annotate every decision (`<webhook>/decision`, `/system`, `/rules`),
//! and the API server writes those annotations into its audit events. The summary counts
//! them per namespace, system and rule, so an auditor sees how often the gate refused, warned
//! or was broken open, without reading the log.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::Period;

/// The suffix of the workload webhooks' names (`enforce.workloads.aims.io`, ...).
const WEBHOOK_SUFFIX: &str = ".workloads.aims.io/";

/// The decisions the webhook records, in the order the summary shows them.
pub const DECISIONS: [&str; 6] = [
    "allowed",
    "denied",
    "warned",
    "audited",
    "break-glass",
    "not-judged",
];

/// Decisions of one system under one rule (`rule` empty: decisions without a finding).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRow {
    /// The workload's namespace.
    pub namespace: String,
    /// The AI system judged (empty when the workload was not judged).
    pub system: String,
    /// The admission rule that found something, or empty.
    pub rule: String,
    /// Count per decision (`allowed`, `denied`, ...).
    pub decisions: BTreeMap<String, u64>,
}

/// Every decision of the period, from one or more audit logs.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DecisionSummary {
    /// The audit logs read, as named.
    pub logs: Vec<String>,
    /// Admission decisions counted (each request once).
    pub requests: u64,
    /// Lines that were not audit events (counted, not fatal: a log being rotated may end in
    /// half a line).
    pub unreadable_lines: u64,
    /// One row per namespace, system and rule.
    pub rows: Vec<DecisionRow>,
}

/// Reads the audit logs and counts the webhook's decisions received within `period`.
pub fn summarise(logs: &[impl AsRef<Path>], period: &Period) -> Result<DecisionSummary, String> {
    let mut summary = DecisionSummary::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut counts: BTreeMap<(String, String, String), BTreeMap<String, u64>> = BTreeMap::new();
    for log in logs {
        let log = log.as_ref();
        let file = std::fs::File::open(log)
            .map_err(|e| format!("cannot read the audit log {}: {e}", log.display()))?;
        summary.logs.push(log.display().to_string());
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("cannot read {}: {e}", log.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                summary.unreadable_lines += 1;
                continue;
            };
            let Some(decision) = read_decision(&event, period) else {
                continue;
            };
            // A request is logged at several stages; only one carries the answer, but a log
            // read twice (or overlapping rotated files) must not count it twice either.
            if !seen.insert(decision.audit_id.clone()) {
                continue;
            }
            summary.requests += 1;
            let rules: Vec<String> = if decision.rules.is_empty() {
                vec![String::new()]
            } else {
                decision.rules
            };
            for rule in rules {
                *counts
                    .entry((decision.namespace.clone(), decision.system.clone(), rule))
                    .or_default()
                    .entry(decision.decision.clone())
                    .or_default() += 1;
            }
        }
    }
    summary.rows = counts
        .into_iter()
        .map(|((namespace, system, rule), decisions)| DecisionRow {
            namespace,
            system,
            rule,
            decisions,
        })
        .collect();
    Ok(summary)
}

struct Decision {
    audit_id: String,
    namespace: String,
    system: String,
    decision: String,
    rules: Vec<String>,
}

/// The webhook's decision recorded in one audit event, when it has one within `period`.
fn read_decision(event: &Value, period: &Period) -> Option<Decision> {
    let annotations = event.get("annotations")?.as_object()?;
    let value = |key: &str| {
        annotations
            .iter()
            .find(|(k, _)| k.contains(WEBHOOK_SUFFIX) && k.ends_with(&format!("/{key}")))
            .and_then(|(_, v)| v.as_str())
    };
    let decision = value("decision")?.to_string();
    let received: Timestamp = event
        .get("requestReceivedTimestamp")?
        .as_str()?
        .parse()
        .ok()?;
    if received < period.from || received >= period.to {
        return None;
    }
    Some(Decision {
        audit_id: event.get("auditID")?.as_str()?.to_string(),
        namespace: event["objectRef"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        system: value("system").unwrap_or_default().to_string(),
        decision,
        rules: value("rules")
            .map(|r| {
                r.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The summary as Markdown: one table row per namespace, system and rule.
pub fn markdown(summary: &DecisionSummary, period: &Period) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "# Admission decisions\n\nPeriod: {} to {} (UTC). Read from {} audit log(s): {}. \
         {} decision(s) counted; {} unreadable line(s).\n\n",
        period.from,
        period.to,
        summary.logs.len(),
        summary.logs.join(", "),
        summary.requests,
        summary.unreadable_lines
    );
    out.push_str("| Namespace | System | Rule |");
    for d in DECISIONS {
        let _ = write!(out, " {d} |");
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---:|".repeat(DECISIONS.len()));
    out.push('\n');
    for row in &summary.rows {
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        let _ = write!(
            out,
            "| {} | {} | {} |",
            row.namespace,
            dash(&row.system),
            dash(&row.rule)
        );
        for d in DECISIONS {
            let _ = write!(out, " {} |", row.decisions.get(d).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, at: &str, decision: &str, rules: &str) -> String {
        serde_json::json!({
            "auditID": id, "stage": "ResponseComplete", "requestReceivedTimestamp": at,
            "objectRef": { "namespace": "lending", "resource": "deployments" },
            "annotations": {
                "enforce.workloads.aims.io/decision": decision,
                "enforce.workloads.aims.io/system": "credit-scoring",
                "enforce.workloads.aims.io/rules": rules,
                "authorization.k8s.io/decision": "allow",
            }
        })
        .to_string()
    }

    #[test]
    fn decisions_are_counted_once_per_request_within_the_period_and_per_rule() {
        let dir = std::env::temp_dir().join(format!("aims-decisions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("audit.log");
        let lines = [
            event("a", "2026-03-01T10:00:00Z", "denied", "AIMS-002,AIMS-003"),
            event("a", "2026-03-01T10:00:00Z", "denied", "AIMS-002,AIMS-003"),
            event("b", "2026-03-02T10:00:00Z", "allowed", ""),
            event("c", "2025-12-31T23:59:59Z", "denied", "AIMS-002"),
            "{ half a line".to_string(),
            // Another webhook's annotations are not ours.
            r#"{"auditID":"d","requestReceivedTimestamp":"2026-03-03T00:00:00Z","annotations":{"pod-security.kubernetes.io/enforce-policy":"x"}}"#.to_string(),
        ];
        std::fs::write(&log, lines.join("\n")).expect("log");
        let period = Period {
            from: "2026-01-01T00:00:00Z".parse().expect("from"),
            to: "2027-01-01T00:00:00Z".parse().expect("to"),
        };
        let summary = summarise(&[&log], &period).expect("summary");
        assert_eq!(summary.requests, 2, "{summary:#?}");
        assert_eq!(summary.unreadable_lines, 1);
        let count = |rule: &str, decision: &str| {
            summary
                .rows
                .iter()
                .find(|r| r.rule == rule)
                .and_then(|r| r.decisions.get(decision).copied())
                .unwrap_or(0)
        };
        assert_eq!(count("AIMS-002", "denied"), 1);
        assert_eq!(count("AIMS-003", "denied"), 1);
        assert_eq!(count("", "allowed"), 1);
        let text = markdown(&summary, &period);
        assert!(
            text.contains("| lending | credit-scoring | AIMS-002 | 0 | 1 |"),
            "{text}"
        );
        assert!(summarise(&[dir.join("missing.log")], &period).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
