//! The admission decision for one workload: every failing rule at once, each with the exact
//! fix. The webhook, the reconciler and the offline check all call [`evaluate_workload`].

use std::borrow::Cow;

use jiff::Timestamp;
use kube::ResourceExt;
use serde_json::Value;

mod model;

use model::check_model;

use super::Snapshot;
use super::controls::{
    control_outcome, control_states, has_owner, monitoring_gaps, monitoring_in_place, snapshot_key,
};
use super::facts::{SystemFacts, lapses};
use super::identify::{artifact_of_another, unlabelled_owner, unregistered};
use super::relaxation::{approved_relaxation, honoured_digest, honoured_mode, mode_not_approved};
use super::rules::{Finding, Rule};
use super::snapshot::{HeldAssessment, name_of};
use super::verdict::{Scope, Verdict};
use super::workload::{Workload, WorkloadError};
use crate::policy::Policy;
use crate::resources::{AISystem, EnforcementMode, RiskTier, SYSTEM_LABEL};

/// Whether a namespace opted in to enforcement, and the mode its label chooses (a label value
/// that is not a known mode counts as enforce; see `Snapshot::add_namespace`).
pub fn namespace_mode(
    snapshot: &Snapshot,
    namespace: &str,
    policy: &Policy,
) -> (bool, EnforcementMode) {
    match snapshot.namespace_enforcement(namespace) {
        Some(mode) => (true, mode),
        None => (false, policy.default_mode),
    }
}

/// Evaluates a raw Kubernetes object. An object that cannot be read is refused (AIMS-009)
/// in enforce mode rather than waved through.
pub fn evaluate_object(
    snapshot: &Snapshot,
    object: &Value,
    default_namespace: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<Verdict<'static>, WorkloadError> {
    match Workload::from_value(object, default_namespace) {
        Ok(workload) => Ok(evaluate_workload(snapshot, &workload, policy, now).into_owned()),
        // Not a workload at all: the caller decides (the webhook admits, the CLI skips).
        Err(
            error @ (WorkloadError::NotAWorkload(_)
            | WorkloadError::NoKind
            | WorkloadError::NotJson(_)),
        ) => Err(error),
        Err(error) => Ok(unreadable_verdict(
            snapshot,
            object,
            default_namespace,
            &error,
            policy,
        )),
    }
}

/// The refusal (AIMS-009) of an object that names a workload kind but cannot be read as one:
/// in doubt the engine refuses rather than waves it through.
pub fn unreadable_verdict(
    snapshot: &Snapshot,
    object: &Value,
    default_namespace: &str,
    error: &WorkloadError,
    policy: &Policy,
) -> Verdict<'static> {
    let metadata = object.get("metadata");
    let text = |k: &str| {
        metadata
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let namespace = Some(text("namespace"))
        .filter(|s| !s.is_empty())
        .unwrap_or(default_namespace);
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (_, mode) = namespace_mode(snapshot, namespace, policy);
    let mut verdict = Verdict::new(kind, namespace, text("name"), mode);
    verdict.findings.push(Finding::new(
        Rule::UnreadableWorkload,
        format!("the object cannot be read: {error}"),
        "correct the field named above; the webhook refuses what it cannot check",
    ));
    verdict.settle().into_owned()
}

/// Evaluates a workload against the snapshot at `now`.
pub fn evaluate_workload<'a>(
    snapshot: &Snapshot,
    workload: &'a Workload<'_>,
    policy: &Policy,
    now: Timestamp,
) -> Verdict<'a> {
    let ns = workload.namespace.as_ref();
    let (opted_in, ns_mode) = namespace_mode(snapshot, ns, policy);
    let mut verdict = Verdict::new(&workload.kind, ns, &workload.name, ns_mode);

    if policy.exempt_namespaces.iter().any(|n| n == ns) {
        verdict.scope = Scope::NotJudged(format!("namespace {ns} is exempt"));
        return verdict.settle();
    }
    if let Some(controller) = workload.judged_controller() {
        verdict.scope =
            Scope::NotJudged(format!("created by {controller}, which is judged itself"));
        return verdict.settle();
    }
    let system_name = match workload.label(SYSTEM_LABEL) {
        Err((on_object, on_template)) => {
            verdict.findings.push(Finding::new(
                Rule::SystemNotRegistered,
                format!(
                    "the label {SYSTEM_LABEL} says \"{on_object}\" on the object but \"{on_template}\" on the pod template"
                ),
                format!("make both labels {SYSTEM_LABEL} name the same AISystem"),
            ));
            return verdict.settle();
        }
        Ok(Some(name)) if !name.is_empty() => Cow::Borrowed(name),
        Ok(_) if !opted_in => {
            verdict.scope = Scope::NotJudged(format!(
                "no {SYSTEM_LABEL} label and namespace {ns} has not opted in"
            ));
            return verdict.settle();
        }
        Ok(_) => match unlabelled_owner(&mut verdict, snapshot, workload, policy) {
            Some(name) => Cow::Owned(name),
            None => return verdict.settle(),
        },
    };
    verdict.system = Some(system_name.clone());
    let registered = snapshot.registered(ns, &system_name, policy, now, |system, assessments| {
        system_facts(snapshot, system, assessments, policy, now)
    });
    let Some(registered) = registered else {
        verdict
            .findings
            .push(unregistered(snapshot, workload, &system_name));
        return verdict.settle();
    };
    verdict.findings.extend(artifact_of_another(
        snapshot,
        workload,
        registered.system,
        &system_name,
    ));
    let facts = &registered.facts;
    verdict.mode = honoured_mode(facts.enforcement, facts.approved_enforcement, ns_mode);
    if let Some(asked) = facts.enforcement.filter(|m| m.is_weaker_than(verdict.mode)) {
        verdict.mode_not_approved =
            Some(mode_not_approved(registered.system, asked, ns_mode, policy));
    }
    verdict
        .findings
        .extend(facts.system_findings.iter().cloned());
    check_model(&mut verdict, snapshot, &registered, workload, policy, now);
    verdict
        .findings
        .extend(facts.control_findings.iter().cloned());
    verdict.settle()
}

/// What the rules say about a registered system whatever the workload, at `now`.
fn system_facts(
    snapshot: &Snapshot,
    system: &AISystem,
    assessments: &[HeldAssessment],
    policy: &Policy,
    now: Timestamp,
) -> SystemFacts {
    let (ns, name) = snapshot_key(system);
    let approved = approved_relaxation(system, policy);
    let mut facts = SystemFacts::new(
        now,
        lapses(snapshot, ns, name, policy),
        (
            system.spec.enforcement,
            approved
                .as_ref()
                .and_then(|r| r.enforcement.as_ref().map(|a| a.value)),
        ),
        honoured_digest(&system.spec, approved.as_ref(), policy),
    );
    facts.record_approvals(
        assessments
            .iter()
            .map(|a| snapshot.is_approved(a, policy, now)),
    );
    check_system(&mut facts.system_findings, snapshot, system, policy);
    facts.system_findings.extend(super::review::overdue_finding(
        system,
        policy.gate_on_overdue_review,
        now,
    ));
    check_controls(&mut facts.control_findings, snapshot, system, policy, now);
    facts
}

fn patch_cmd(system: &AISystem, patch: &str) -> String {
    format!(
        "kubectl -n {} patch aisystem {} --type merge -p '{patch}'",
        system.namespace().unwrap_or_default(),
        system.name_any()
    )
}

/// Rules about the system's register entry: owner, stage and tier, monitoring.
fn check_system(
    findings: &mut Vec<Finding>,
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
) {
    let name = name_of(system);
    if !has_owner(system) {
        findings.push(Finding::new(
            Rule::OwnerMissing,
            format!("AISystem \"{name}\" has no accountable owner"),
            patch_cmd(
                system,
                r#"{"spec":{"owner":{"name":"<person>","contact":"<e-mail>","team":"<team>"}}}"#,
            ),
        ));
    }
    let stage = system.spec.lifecycle_stage;
    if policy.forbidden_stages.contains(&stage) {
        findings.push(Finding::new(
            Rule::DeploymentForbidden,
            format!(
                "AISystem \"{name}\" is in life-cycle stage {}, which may not run workloads",
                stage.as_str()
            ),
            format!(
                "remove the workload, or move the system back to an active stage: {}",
                patch_cmd(system, r#"{"spec":{"lifecycleStage":"Operation"}}"#)
            ),
        ));
    }
    if system.spec.risk_tier == RiskTier::Prohibited {
        findings.push(Finding::new(
            Rule::DeploymentForbidden,
            format!("AISystem \"{name}\" is classified as a prohibited practice"),
            "do not deploy it; if the classification is wrong, have the risk owner reclassify spec.riskTier",
        ));
    }
    let gaps = monitoring_gaps(system);
    if !gaps.is_empty() {
        findings.push(Finding::new(
            Rule::MonitoringMissing,
            format!("monitoring is not declared for AISystem \"{name}\": {} missing", gaps.join(", ")),
            patch_cmd(system, r#"{"spec":{"monitoring":{"metrics":["<metric>"],"driftSignals":["<signal>"],"alertRoute":"<receiver>"}}}"#),
        ));
    } else if let Err(missing) = monitoring_in_place(snapshot, system, policy) {
        findings.push(Finding::new(
            Rule::MonitoringMissing,
            missing,
            format!(
                "label the ServiceMonitor or PodMonitor that scrapes it: kubectl -n {} label servicemonitor <name> {SYSTEM_LABEL}={name}",
                system.namespace().unwrap_or_default()
            ),
        ));
    }
}

/// Controls the risk tier requires.
fn check_controls(
    findings: &mut Vec<Finding>,
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) {
    let tier = system.spec.risk_tier;
    let required = policy.required_for(tier);
    let states = control_states(snapshot, system, required, policy, now);
    for (id, state) in required.iter().zip(states) {
        // The state first, the words only for a control that is not in operation (a required
        // control cannot be excluded).
        if matches!(
            state,
            crate::resources::ControlState::Verified | crate::resources::ControlState::Implemented
        ) {
            continue;
        }
        let outcome = control_outcome(snapshot, system, id, policy, now);
        let title = crate::catalog::find(id)
            .map(|c| c.title)
            .unwrap_or("unknown control");
        let mut finding = Finding::new(
            Rule::RequiredControlMissing,
            format!(
                "{} risk systems need {id} ({title}) implemented: {}",
                tier.as_str(),
                outcome.message
            ),
            match &outcome.binding {
                Some(b) => format!(
                    "in ControlBinding \"{b}\", set {id} to applicability: Applicable with implementation.status: Implemented and current evidence{}",
                    if outcome.state == crate::resources::ControlState::Failed {
                        ", and fix what the check found"
                    } else {
                        ""
                    }
                ),
                None => format!(
                    "add {id} to a ControlBinding that lists \"{}\" in spec.systems, with applicability: Applicable, \
                     implementation.status: Implemented and evidence",
                    system.name_any()
                ),
            },
        );
        finding.control = Some(crate::catalog::find(id).map(|c| c.id).unwrap_or("unknown"));
        findings.push(finding);
    }
}
