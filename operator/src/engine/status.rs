//! Status the operator writes, computed purely: AISystem conditions and the time they next
//! change by themselves; assessments and bindings are in `records`.

use jiff::Timestamp;
use kube::ResourceExt;

use super::Snapshot;
use super::assessment::AssessmentState;
use super::controls::{control_outcome, has_owner, monitoring_gaps, monitoring_in_place};
pub use super::records::{evaluate_assessment, evaluate_binding};
use crate::policy::Policy;
use crate::resources::{
    AISystem, AISystemSummary, AssessmentPhase, Condition, ControlState, ImpactAssessment,
    condition_status,
};

/// Condition types, as constants so that shells and tests cannot misspell them.
pub mod types;

/// A condition before it is timestamped: type, whether it holds, reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionOutcome {
    /// Condition type.
    pub type_: &'static str,
    /// Whether what it asks for holds (for the types in [`types::NAMED_FOR_PROBLEM`] the
    /// status written is the opposite).
    pub met: bool,
    /// CamelCase reason.
    pub reason: String,
    /// What it means and what to do.
    pub message: String,
}

impl ConditionOutcome {
    pub(crate) fn new(
        type_: &'static str,
        met: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            met,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// The stored `lastTransitionTime` of each condition in `previous`, by type and status.
pub fn stored_transitions(previous: &[Condition]) -> impl Fn(&str, &str) -> Option<Timestamp> + '_ {
    |type_, status| {
        previous
            .iter()
            .find(|p| p.type_ == type_ && p.status == status)
            .map(|p| p.last_transition_time)
    }
}

/// Turns outcomes into conditions, keeping the `lastTransitionTime` that `transitioned`
/// gives for a condition's type and status (the stored one unless the status flipped), and
/// stamping `observedGeneration`.
pub fn to_conditions(
    outcomes: &[ConditionOutcome],
    transitioned: impl Fn(&str, &str) -> Option<Timestamp>,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    outcomes
        .iter()
        .map(|o| {
            let status =
                condition_status(o.met != types::NAMED_FOR_PROBLEM.contains(&o.type_)).to_string();
            let last_transition_time = transitioned(o.type_, &status).unwrap_or(now);
            Condition {
                type_: o.type_.to_string(),
                status,
                reason: o.reason.clone(),
                message: o.message.clone(),
                last_transition_time,
                observed_generation: generation,
            }
        })
        .collect()
}

/// Evaluation of an AI system: its conditions, printer-column summary and when it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemEvaluation {
    /// Conditions in a fixed order, Compliant last.
    pub conditions: Vec<ConditionOutcome>,
    /// Printer-column values.
    pub summary: AISystemSummary,
    /// The earliest time the evaluation changes by itself (an expiry or review date).
    pub next_change: Option<Timestamp>,
}

/// Evaluates an AI system's conditions at `now`.
pub fn evaluate_system(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> SystemEvaluation {
    let ns = system.namespace().unwrap_or_default();
    let name = system.name_any();
    let (assessment, summary_assessment) = assessment_outcome(snapshot, system, policy, now);
    let gaps = monitoring_gaps(system);
    let mut conditions = vec![
        owner_outcome(system),
        assessment,
        monitoring_outcome(snapshot, system, policy, &gaps),
        controls_outcome(snapshot, system, policy, now),
        super::relaxation::relaxations_condition(snapshot, system, policy),
        super::review::review_condition(system, now),
        super::incident::open_incidents_outcome(snapshot, &ns, &name),
    ];
    let compliant = compliant_outcome(system, policy, &conditions);
    let met = compliant.met;
    conditions.push(compliant);
    SystemEvaluation {
        summary: AISystemSummary {
            assessment: summary_assessment,
            monitored: if gaps.is_empty() { "Yes" } else { "No" }.to_string(),
            compliant: condition_status(met).to_string(),
        },
        conditions,
        next_change: next_change_for_system(snapshot, system, policy, now),
    }
}

fn owner_outcome(system: &AISystem) -> ConditionOutcome {
    if has_owner(system) {
        ConditionOutcome::new(
            types::OWNER_ASSIGNED,
            true,
            "OwnerSet",
            "an accountable owner is named",
        )
    } else {
        ConditionOutcome::new(
            types::OWNER_ASSIGNED,
            false,
            "OwnerMissing",
            "set spec.owner.name, contact and team",
        )
    }
}

/// Whether approved, current assessments cover every model version the system declares,
/// and the assessment the summary names (or why there is none).
fn assessment_outcome(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> (ConditionOutcome, String) {
    let (ns, name) = (system.namespace().unwrap_or_default(), system.name_any());
    let states: Vec<(&ImpactAssessment, AssessmentState)> = snapshot
        .assessments_for(&ns, &name)
        .iter()
        .map(|a| (a.as_ref(), snapshot.assessment_state(a, policy, now)))
        .collect();
    let approved: Vec<&(&ImpactAssessment, AssessmentState)> = states
        .iter()
        .filter(|(_, s)| s.phase == AssessmentPhase::Approved)
        .collect();
    let approved_only: Vec<&ImpactAssessment> = approved.iter().map(|(a, _)| *a).collect();
    let uncovered = super::controls::uncovered_models(system, &approved_only);
    let (met, reason, message, summary) = if approved.is_empty() {
        let detail = if states.is_empty() {
            "no ImpactAssessment references this system".to_string()
        } else {
            states
                .iter()
                .map(|(a, s)| format!("{}: {}", a.name_any(), s.message))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let label = states.last().map_or("Missing".to_string(), |(a, s)| {
            format!("{} ({})", a.name_any(), s.phase.as_str())
        });
        (
            false,
            "NoApprovedAssessment",
            format!("no approved, current assessment: {detail}"),
            label,
        )
    } else if !uncovered.is_empty() {
        (
            false,
            "ModelVersionNotCovered",
            format!(
                "no approved assessment covers {}; extend one or add one and have it approved",
                uncovered.join(", ")
            ),
            "Partial".to_string(),
        )
    } else {
        let names: Vec<String> = approved
            .iter()
            .map(|(a, s)| format!("{} ({})", a.name_any(), s.message))
            .collect();
        (
            true,
            "Approved",
            format!("covered by {}", names.join("; ")),
            approved[0].0.name_any(),
        )
    };
    (
        ConditionOutcome::new(types::ASSESSMENT_APPROVED, met, reason, message),
        summary,
    )
}

/// Monitoring declared (`gaps` are the declarations missing) and, where monitors are
/// followed and the policy asks, a monitor that scrapes the system.
fn monitoring_outcome(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    gaps: &[&str],
) -> ConditionOutcome {
    use types::MONITORING_CONFIGURED;
    let in_place = monitoring_in_place(snapshot, system, policy);
    if let (true, Err(missing)) = (gaps.is_empty(), &in_place) {
        ConditionOutcome::new(
            MONITORING_CONFIGURED,
            false,
            "NotInPlace",
            format!(
                "{missing}; label the monitor that scrapes it with {}={}",
                crate::resources::SYSTEM_LABEL,
                system.name_any()
            ),
        )
    } else if gaps.is_empty() {
        ConditionOutcome::new(
            MONITORING_CONFIGURED,
            true,
            "Declared",
            if policy.require_scrape_monitor
                && snapshot.monitors_known_in(&system.namespace().unwrap_or_default())
            {
                "metrics and an alert route are declared, and a monitor scrapes the system"
            } else {
                "metrics and an alert route are declared"
            },
        )
    } else {
        ConditionOutcome::new(
            MONITORING_CONFIGURED,
            false,
            "NotDeclared",
            format!("set {}", gaps.join(", ")),
        )
    }
}

/// Every control the system's risk tier requires, implemented.
fn controls_outcome(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> ConditionOutcome {
    let failing: Vec<String> = policy
        .required_for(system.spec.risk_tier)
        .iter()
        .filter_map(|id| {
            let o = control_outcome(snapshot, system, id, policy, now);
            (!matches!(o.state, ControlState::Verified | ControlState::Implemented))
                .then(|| format!("{id} {}: {}", o.state.as_str(), o.message))
        })
        .collect();
    if failing.is_empty() {
        ConditionOutcome::new(
            types::CONTROLS_IMPLEMENTED,
            true,
            "RequiredControlsMet",
            "every control the risk tier requires is implemented",
        )
    } else {
        ConditionOutcome::new(
            types::CONTROLS_IMPLEMENTED,
            false,
            "RequiredControlsMissing",
            failing.join("; "),
        )
    }
}

/// Compliant: every condition that decides is met, and neither the stage nor the tier
/// forbids running the system.
fn compliant_outcome(
    system: &AISystem,
    policy: &Policy,
    conditions: &[ConditionOutcome],
) -> ConditionOutcome {
    use types::*;
    let forbidden = policy
        .forbidden_stages
        .contains(&system.spec.lifecycle_stage)
        || system.spec.risk_tier == crate::resources::RiskTier::Prohibited;
    // An unapproved weaker value counts for nothing, so it is no gap; an overdue review is
    // one where the policy gates on it; an open incident is being handled, not a gap.
    let decides = |type_: &str| match type_ {
        RELAXATIONS_APPROVED | OPEN_INCIDENTS => false,
        REVIEW_OVERDUE => policy.gate_on_overdue_review,
        _ => true,
    };
    // Each unmet condition with its own message: this one message is what Argo CD shows for
    // a Degraded system, so it must say what to fix, not only which condition failed.
    let unmet: Vec<String> = conditions
        .iter()
        .filter(|c| !c.met && decides(c.type_))
        .map(|c| format!("{} ({})", c.type_, c.message))
        .collect();
    if forbidden {
        ConditionOutcome::new(
            COMPLIANT,
            false,
            "DeploymentForbidden",
            "the life-cycle stage or risk tier forbids running this system",
        )
    } else if unmet.is_empty() {
        ConditionOutcome::new(
            COMPLIANT,
            true,
            "AllRequirementsMet",
            "the system meets every AIMS requirement",
        )
    } else {
        ConditionOutcome::new(
            COMPLIANT,
            false,
            "RequirementsUnmet",
            format!("not met: {}", unmet.join("; ")),
        )
    }
}

/// The earliest future time at which something about the system lapses by itself.
fn next_change_for_system(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> Option<Timestamp> {
    let (ns, name) = super::controls::snapshot_key(system);
    // A break-glass window ending changes what its workload's nonconformity says.
    let break_glass_ends = snapshot.workloads_of(ns, name).into_iter().filter_map(|w| {
        match super::break_glass(w, policy, now) {
            Some(super::BreakGlass::Active { expires, .. }) => Some(expires),
            _ => None,
        }
    });
    super::facts::lapses(snapshot, ns, name, policy)
        .chain(break_glass_ends)
        .filter(|t| *t > now)
        .min()
}
