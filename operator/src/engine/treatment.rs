//! Risk treatment checked against the controls it names. An assessment that says a risk is
//! reduced by a control is only as true as that control: each one must be bound for the
//! system and implemented (or verified by the cluster). The assessment's status names every
//! risk whose control is not in place; for the tiers the policy chooses, admission refuses
//! (AIMS-011) until it is.

use jiff::Timestamp;
use kube::ResourceExt;

use super::Snapshot;
use super::controls::control_outcome;
use super::rules::{Finding, Rule};
use super::status::{ConditionOutcome, types};
use crate::policy::Policy;
use crate::resources::{AISystem, ControlState, ImpactAssessment};

/// A control a risk's treatment relies on that is not in place for the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreatmentGap<'a> {
    /// The risk's ID.
    pub risk: &'a str,
    /// The control's ID.
    pub control: &'a str,
    /// The control's state for the system.
    pub state: ControlState,
}

/// Every (risk, control) of the assessment whose control is neither implemented nor
/// verified for `system`.
pub fn treatment_gaps<'a>(
    snapshot: &Snapshot,
    system: &AISystem,
    assessment: &'a ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> Vec<TreatmentGap<'a>> {
    assessment
        .spec
        .risks
        .iter()
        .flat_map(|risk| risk.controls.iter().map(move |id| (risk.id.as_str(), id)))
        .filter_map(|(risk, control)| {
            let state = control_outcome(snapshot, system, control, policy, now).state;
            (!matches!(state, ControlState::Verified | ControlState::Implemented)).then_some(
                TreatmentGap {
                    risk,
                    control: control.as_str(),
                    state,
                },
            )
        })
        .collect()
}

fn phrase(gaps: &[TreatmentGap]) -> String {
    gaps.iter()
        .map(|g| {
            format!(
                "risk {} relies on {}, which is {}",
                g.risk,
                g.control,
                g.state.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn fix(system: &AISystem, gaps: &[TreatmentGap]) -> String {
    let mut ids: Vec<&str> = gaps.iter().map(|g| g.control).collect();
    ids.sort_unstable();
    ids.dedup();
    format!(
        "bind and implement {} for AISystem \"{}\" (a ControlBinding in namespace {} with spec.systems: [{}] \
         and implementation.status: Implemented), or revise the risks' treatment and have the assessment \
         approved again",
        ids.join(", "),
        system.name_any(),
        system.namespace().unwrap_or_default(),
        system.name_any()
    )
}

/// The assessment's RiskControlsInPlace condition.
pub fn treatment_condition(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> ConditionOutcome {
    let ns = assessment.namespace().unwrap_or_default();
    let Some(system) = snapshot.system(&ns, &assessment.spec.system_ref) else {
        return ConditionOutcome::new(
            types::RISK_CONTROLS_IN_PLACE,
            false,
            "SystemNotFound",
            "the controls are checked for the AISystem in spec.systemRef, which does not exist",
        );
    };
    let gaps = treatment_gaps(snapshot, system, assessment, policy, now);
    if gaps.is_empty() {
        ConditionOutcome::new(
            types::RISK_CONTROLS_IN_PLACE,
            true,
            "InPlace",
            "every control a risk's treatment names is implemented for the system",
        )
    } else {
        ConditionOutcome::new(
            types::RISK_CONTROLS_IN_PLACE,
            false,
            "ControlsMissing",
            format!("{}: {}", phrase(&gaps), fix(system, &gaps)),
        )
    }
}

/// The admission finding for a covering assessment whose risk controls are not in place,
/// for the tiers the policy gates.
pub fn treatment_finding(
    snapshot: &Snapshot,
    system: &AISystem,
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> Option<Finding> {
    if !policy
        .risk_controls_gate_tiers
        .contains(&system.spec.risk_tier)
    {
        return None;
    }
    let gaps = treatment_gaps(snapshot, system, assessment, policy, now);
    (!gaps.is_empty()).then(|| {
        Finding::new(
            Rule::RiskControlMissing,
            format!(
                "assessment \"{}\" treats its risks with controls that are not in place: {}",
                assessment.name_any(),
                phrase(&gaps)
            ),
            fix(system, &gaps),
        )
    })
}
