//! One OpenReports `Report` (openreports.io/v1alpha1) per AI system, with every result, passes
//! included: the system's conditions, each Annex A control bound to it or required for its
//! tier, and each admission rule for each of its running workloads. Policy Reporter and other
//! readers of that format then show aims-operator's results beside other engines'.

use std::collections::BTreeSet;

use jiff::Timestamp;
use kube::ResourceExt;
use serde_json::{Value, json};

use super::controls::control_outcome;
use super::rules::Rule;
use super::status::evaluate_system;
use super::{Scope, Snapshot, evaluate_workload};
use crate::policy::Policy;
use crate::resources::{AISystem, API_VERSION, ControlState};

/// Most results one Report carries (a Report is a single object; etcd limits its size).
pub const MAX_RESULTS: usize = 500;

/// Name of the Report of AI system `system`.
pub fn report_name(system: &str) -> String {
    format!("aims-{system}")
}

fn result(
    policy: &str,
    rule: &str,
    outcome: &str,
    severity: &str,
    message: &str,
    subject: Option<Value>,
) -> Value {
    let mut r = json!({
        "source": "aims-operator", "policy": policy, "rule": rule, "result": outcome,
        "severity": severity, "scored": true, "message": message,
    });
    if let Some(subject) = subject {
        r["resources"] = json!([subject]);
    }
    r
}

fn control_result(state: ControlState) -> &'static str {
    match state {
        ControlState::Verified | ControlState::Implemented => "pass",
        ControlState::Excluded => "skip",
        ControlState::Planned | ControlState::Stale => "warn",
        ControlState::Failed | ControlState::Gap => "fail",
    }
}

/// The Report for `system` at `now` (apiVersion, kind, metadata name and namespace, scope,
/// summary, results), ready for server-side apply.
pub fn report(snapshot: &Snapshot, system: &AISystem, policy: &Policy, now: Timestamp) -> Value {
    let ns = system.namespace().unwrap_or_default();
    let name = system.name_any();
    let severity = match system.spec.risk_tier {
        crate::resources::RiskTier::High | crate::resources::RiskTier::Prohibited => "high",
        crate::resources::RiskTier::Limited => "medium",
        crate::resources::RiskTier::Minimal => "low",
    };
    let mut results = Vec::new();
    for c in evaluate_system(snapshot, system, policy, now).conditions {
        let outcome = if c.met { "pass" } else { "fail" };
        results.push(result(
            "aims-conditions",
            c.type_,
            outcome,
            severity,
            &c.message,
            None,
        ));
    }
    let mut controls: BTreeSet<String> = policy
        .required_for(system.spec.risk_tier)
        .iter()
        .cloned()
        .collect();
    for binding in snapshot.bindings_for(&ns, &name) {
        controls.extend(binding.spec.controls.iter().map(|e| e.id.clone()));
    }
    for id in &controls {
        let o = control_outcome(snapshot, system, id, policy, now);
        results.push(result(
            "iso42001-annex-a",
            id,
            control_result(o.state),
            severity,
            &o.message,
            None,
        ));
    }
    for workload in snapshot.workloads_of(&ns, &name) {
        let verdict = evaluate_workload(snapshot, workload, policy, now);
        if verdict.scope != Scope::Judged {
            continue;
        }
        let subject = json!({"apiVersion": if workload.kind == "Pod" { "v1" } else { "apps/v1" },
            "kind": workload.kind, "namespace": workload.namespace, "name": workload.name});
        for rule in Rule::ALL {
            let finding = verdict.findings.iter().find(|f| f.rule == rule);
            let (outcome, message) = match finding {
                Some(f) => ("fail", f.message.clone()),
                None => ("pass", rule.title().to_string()),
            };
            results.push(result(
                "aims-admission",
                rule.id(),
                outcome,
                severity,
                &message,
                Some(subject.clone()),
            ));
        }
    }
    results.truncate(MAX_RESULTS);
    let count = |r: &str| results.iter().filter(|x| x["result"] == r).count();
    json!({
        "apiVersion": "openreports.io/v1alpha1", "kind": "Report",
        "metadata": {"name": report_name(&name), "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": "aims-operator", crate::resources::SYSTEM_LABEL: name}},
        "source": "aims-operator",
        "scope": {"apiVersion": API_VERSION, "kind": "AISystem", "namespace": ns, "name": name,
            "uid": system.metadata.uid},
        "summary": {"pass": count("pass"), "fail": count("fail"), "warn": count("warn"),
            "error": count("error"), "skip": count("skip")},
        "results": results,
    })
}
