//! The status each AIMS kind should carry: pure, no client. Timestamps (a condition's
//! `lastTransitionTime`, a control's `checkedAt`) are kept from the stored status unless the
//! value they date changed, and comparisons ignore them, so an unchanged object is never
//! written again. The stored status is read as a [`KeptStatus`]: what the operator's cache
//! keeps of it.

use jiff::Timestamp;

use super::kept::{KeptStatus, StatusContent, condition_key, control_key, nonconformity_key};
use crate::engine::Snapshot;
use crate::engine::objectives::nonconformities;
use crate::engine::status::{
    evaluate_assessment, evaluate_binding, evaluate_system, to_conditions,
};
use crate::policy::Policy;
use crate::resources::{
    AISystem, AISystemStatus, ControlBinding, ControlBindingStatus, ControlResult,
    ImpactAssessment, ImpactAssessmentStatus, WorkloadNonconformity,
};

/// Most nonconformities listed in a system's status; the count covers the rest.
pub const MAX_LISTED: usize = 20;

/// The `lastTransitionTime` the stored status gives a condition of this type and status.
fn transitioned(stored: Option<&KeptStatus>) -> impl Fn(&str, &str) -> Option<Timestamp> + '_ {
    move |type_, status| stored?.time(condition_key(type_, status))
}

/// The status `system` should carry at `now`, after the one it carries, and when that
/// changes by itself.
pub fn desired_system_status(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> (AISystemStatus, Option<Timestamp>) {
    let stored = system.status.as_ref().map(KeptStatus::of);
    desired_system_status_after(snapshot, system, stored.as_ref(), policy, now)
}

/// The status `system` should carry at `now` after the `stored` one, and when that changes
/// by itself.
pub fn desired_system_status_after(
    snapshot: &Snapshot,
    system: &AISystem,
    stored: Option<&KeptStatus>,
    policy: &Policy,
    now: Timestamp,
) -> (AISystemStatus, Option<Timestamp>) {
    let evaluation = evaluate_system(snapshot, system, policy, now);
    let generation = system.metadata.generation;
    let open = nonconformities(snapshot, system, policy, now);
    let open_count = u32::try_from(open.len()).unwrap_or(u32::MAX);
    let listed = open
        .into_iter()
        .take(MAX_LISTED)
        .map(|n| WorkloadNonconformity {
            // Seen before with the same rules: it has been open since then.
            since: stored
                .and_then(|k| k.time(nonconformity_key(&n.workload, &n.rules)))
                .unwrap_or(now),
            workload: n.workload,
            rules: n.rules,
            message: n.message,
        })
        .collect();
    let status = AISystemStatus {
        nonconformities: listed,
        open_nonconformities: Some(open_count),
        conditions: to_conditions(
            &evaluation.conditions,
            transitioned(stored),
            generation,
            now,
        ),
        summary: Some(evaluation.summary),
        observed_generation: generation,
    };
    (status, evaluation.next_change)
}

/// The status `assessment` should carry at `now`, after the one it carries, and when it
/// expires.
pub fn desired_assessment_status(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> (ImpactAssessmentStatus, Option<Timestamp>) {
    let stored = assessment.status.as_ref().map(KeptStatus::of);
    desired_assessment_status_after(snapshot, assessment, stored.as_ref(), policy, now)
}

/// The status `assessment` should carry at `now` after the `stored` one, and when it
/// expires.
pub fn desired_assessment_status_after(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
    stored: Option<&KeptStatus>,
    policy: &Policy,
    now: Timestamp,
) -> (ImpactAssessmentStatus, Option<Timestamp>) {
    let (state, outcomes) = evaluate_assessment(assessment, snapshot, policy, now);
    let generation = assessment.metadata.generation;
    let next = state.expires_at.filter(|e| *e > now);
    let status = ImpactAssessmentStatus {
        phase: Some(state.phase),
        expires_at: state.expires_at,
        content_hash: Some(state.content_hash),
        conditions: to_conditions(&outcomes, transitioned(stored), generation, now),
        observed_generation: generation,
    };
    (status, next)
}

/// The status `binding` should carry at `now`, after the one it carries, and the next
/// exclusion end or evidence review date.
pub fn desired_binding_status(
    snapshot: &Snapshot,
    binding: &ControlBinding,
    policy: &Policy,
    now: Timestamp,
) -> (ControlBindingStatus, Option<Timestamp>) {
    let stored = binding.status.as_ref().map(KeptStatus::of);
    desired_binding_status_after(snapshot, binding, stored.as_ref(), policy, now)
}

/// The status `binding` should carry at `now` after the `stored` one, and the next
/// exclusion end or evidence review date.
pub fn desired_binding_status_after(
    snapshot: &Snapshot,
    binding: &ControlBinding,
    stored: Option<&KeptStatus>,
    policy: &Policy,
    now: Timestamp,
) -> (ControlBindingStatus, Option<Timestamp>) {
    let (results, summary, condition) = evaluate_binding(binding, snapshot, policy, now);
    let results = results
        .into_iter()
        .map(|r| {
            // A result that did not change keeps the time it was first found.
            let since =
                stored.and_then(|k| k.time(control_key(&r.id, r.state.as_str(), &r.message)));
            ControlResult {
                checked_at: since.unwrap_or(r.checked_at),
                ..r
            }
        })
        .collect();
    let generation = binding.metadata.generation;
    let next = binding
        .spec
        .controls
        .iter()
        .flat_map(|c| {
            let until = c.exclusion.as_ref().and_then(|e| e.until);
            c.evidence.iter().filter_map(|e| e.next_review).chain(until)
        })
        .filter(|t| *t > now)
        .min();
    let status = ControlBindingStatus {
        conditions: to_conditions(&[condition], transitioned(stored), generation, now),
        controls: results,
        summary: Some(summary),
        observed_generation: generation,
    };
    (status, next)
}

/// Whether the stored system status differs from the desired one in anything but timestamps.
pub fn needs_write<S: StatusContent>(current: Option<&S>, desired: &S) -> bool {
    current.is_none_or(|stored| stored.fingerprint() != desired.fingerprint())
}
