//! Status of the records around a system, computed purely: an impact assessment's phase and
//! conditions, a control binding's per-control results.

use jiff::Timestamp;
use kube::ResourceExt;

use super::Snapshot;
use super::assessment::AssessmentState;
use super::status::{ConditionOutcome, types};
use crate::policy::Policy;
use crate::resources::{
    AISystem, AssessmentPhase, ControlBinding, ControlBindingSummary, ControlResult, ControlState,
    ImpactAssessment,
};

/// Conditions of an impact assessment, with its state.
pub fn evaluate_assessment(
    assessment: &ImpactAssessment,
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
) -> (AssessmentState, Vec<ConditionOutcome>) {
    use types::*;
    let state = snapshot.assessment_state(assessment, policy, now);
    let ns = assessment.namespace().unwrap_or_default();
    let mut conditions = Vec::new();
    if snapshot.system(&ns, &assessment.spec.system_ref).is_none() {
        conditions.push(ConditionOutcome::new(
            APPROVED,
            false,
            "SystemNotFound",
            format!(
                "spec.systemRef names AISystem \"{}\", which does not exist in namespace {ns}",
                assessment.spec.system_ref
            ),
        ));
    } else {
        let approved = matches!(
            state.phase,
            AssessmentPhase::Approved | AssessmentPhase::Expired
        );
        conditions.push(ConditionOutcome::new(
            APPROVED,
            approved,
            state.phase.as_str(),
            state.message.clone(),
        ));
    }
    let current = state.phase == AssessmentPhase::Approved;
    let current_message = match (state.phase, state.expires_at) {
        (AssessmentPhase::Approved, Some(e)) => format!("valid until {e}"),
        (AssessmentPhase::Expired, Some(e)) => format!("expired at {e}"),
        _ => "not approved".to_string(),
    };
    conditions.push(ConditionOutcome::new(
        CURRENT,
        current,
        if current {
            "WithinValidity"
        } else {
            state.phase.as_str()
        },
        current_message,
    ));
    conditions.push(super::treatment::treatment_condition(
        snapshot, assessment, policy, now,
    ));
    (state, conditions)
}

/// Per-control results of a binding: for each control, the worst state across the systems
/// it binds (a control is met only when it is met for all of them).
pub fn evaluate_binding(
    binding: &ControlBinding,
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
) -> (Vec<ControlResult>, ControlBindingSummary, ConditionOutcome) {
    let ns = binding.namespace().unwrap_or_default();
    let systems: Vec<&AISystem> = if binding.spec.all_systems == Some(true) {
        snapshot
            .systems()
            .into_iter()
            .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
            .collect()
    } else {
        binding
            .spec
            .systems
            .iter()
            .filter_map(|n| snapshot.system(&ns, n))
            .collect()
    };
    let missing: Vec<&str> = binding
        .spec
        .systems
        .iter()
        .filter(|n| snapshot.system(&ns, n).is_none())
        .map(String::as_str)
        .collect();
    let mut results = Vec::new();
    for entry in &binding.spec.controls {
        let mut worst: Option<(ControlState, String)> = None;
        for system in &systems {
            let (state, message) =
                super::controls::entry_outcome(entry, snapshot, system, policy, now);
            if worst.as_ref().is_none_or(|(w, _)| state > *w) {
                worst = Some((state, format!("{}: {message}", system.name_any())));
            }
        }
        let (state, message) =
            worst.unwrap_or((ControlState::Gap, "no bound AI system exists".to_string()));
        results.push(ControlResult {
            id: entry.id.clone(),
            state,
            message,
            checked_at: now,
        });
    }
    let met = results.iter().filter(|r| r.state.is_met()).count() as u32;
    let total = results.len() as u32;
    let summary = ControlBindingSummary {
        total,
        met,
        failing: total - met,
    };
    let condition = if !missing.is_empty() {
        ConditionOutcome::new(
            types::VERIFIED,
            false,
            "SystemNotFound",
            format!(
                "spec.systems names AISystems that do not exist in namespace {ns}: {}",
                missing.join(", ")
            ),
        )
    } else if met == total {
        ConditionOutcome::new(
            types::VERIFIED,
            true,
            "AllControlsMet",
            format!("{met} of {total} controls met"),
        )
    } else {
        let failing: Vec<String> = results
            .iter()
            .filter(|r| !r.state.is_met())
            .map(|r| format!("{} {}", r.id, r.state.as_str()))
            .collect();
        ConditionOutcome::new(
            types::VERIFIED,
            false,
            "ControlsFailing",
            format!(
                "{met} of {total} controls met; failing: {}",
                failing.join(", ")
            ),
        )
    };
    (results, summary, condition)
}
