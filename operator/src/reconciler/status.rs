//! The status each AIMS kind should carry: pure, no client. Timestamps (a condition's
//! `lastTransitionTime`, a control's `checkedAt`) are kept from the stored status unless the
//! value they date changed, and comparisons ignore them, so an unchanged object is never
//! written again.

use jiff::Timestamp;

use crate::engine::Snapshot;
use crate::engine::objectives::nonconformities;
use crate::engine::status::{
    evaluate_assessment, evaluate_binding, evaluate_system, to_conditions,
};
use crate::policy::Policy;
use crate::resources::{
    AISystem, AISystemStatus, Condition, ControlBinding, ControlBindingStatus, ControlResult,
    ImpactAssessment, ImpactAssessmentStatus, WorkloadNonconformity,
};

/// Most nonconformities listed in a system's status; the count covers the rest.
pub const MAX_LISTED: usize = 20;

fn previous(conditions: Option<&Vec<Condition>>) -> &[Condition] {
    conditions.map(Vec::as_slice).unwrap_or(&[])
}

/// The status `system` should carry at `now`, and when that changes by itself.
pub fn desired_system_status(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> (AISystemStatus, Option<Timestamp>) {
    let evaluation = evaluate_system(snapshot, system, policy, now);
    let generation = system.metadata.generation;
    let open = nonconformities(snapshot, system, policy, now);
    let stored = system
        .status
        .as_ref()
        .map(|s| s.nonconformities.as_slice())
        .unwrap_or(&[]);
    let open_count = u32::try_from(open.len()).unwrap_or(u32::MAX);
    let listed = open
        .into_iter()
        .take(MAX_LISTED)
        .map(|n| WorkloadNonconformity {
            // Seen before with the same rules: it has been open since then.
            since: stored
                .iter()
                .find(|p| p.workload == n.workload && p.rules == n.rules)
                .map_or(now, |p| p.since),
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
            previous(system.status.as_ref().map(|s| &s.conditions)),
            generation,
            now,
        ),
        summary: Some(evaluation.summary),
        observed_generation: generation,
    };
    (status, evaluation.next_change)
}

/// The status `assessment` should carry at `now`, and when it expires.
pub fn desired_assessment_status(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
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
        conditions: to_conditions(
            &outcomes,
            previous(assessment.status.as_ref().map(|s| &s.conditions)),
            generation,
            now,
        ),
        observed_generation: generation,
    };
    (status, next)
}

/// The status `binding` should carry at `now`, and the next exclusion end or evidence
/// review date.
pub fn desired_binding_status(
    snapshot: &Snapshot,
    binding: &ControlBinding,
    policy: &Policy,
    now: Timestamp,
) -> (ControlBindingStatus, Option<Timestamp>) {
    let (results, summary, condition) = evaluate_binding(binding, snapshot, policy, now);
    let stored = binding.status.as_ref();
    let results = results
        .into_iter()
        .map(|r| {
            // A result that did not change keeps the time it was first found.
            let since = stored
                .and_then(|s| s.controls.iter().find(|p| p.id == r.id))
                .filter(|p| p.state == r.state && p.message == r.message)
                .map(|p| p.checked_at);
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
        conditions: to_conditions(
            &[condition],
            previous(stored.map(|s| &s.conditions)),
            generation,
            now,
        ),
        controls: results,
        summary: Some(summary),
        observed_generation: generation,
    };
    (status, next)
}

type Untimed<'a> = (&'a str, &'a str, &'a str, &'a str, Option<i64>);

fn without_times(conditions: &[Condition]) -> Vec<Untimed<'_>> {
    conditions
        .iter()
        .map(|c| {
            (
                c.type_.as_str(),
                c.status.as_str(),
                c.reason.as_str(),
                c.message.as_str(),
                c.observed_generation,
            )
        })
        .collect()
}

/// Whether a status differs from the desired one in anything but timestamps.
pub trait NeedsWrite {
    /// `true` when `current` (the stored status) must be replaced by `self`.
    fn differs_from(&self, current: Option<&Self>) -> bool;
}

impl NeedsWrite for AISystemStatus {
    fn differs_from(&self, current: Option<&Self>) -> bool {
        let Some(c) = current else { return true };
        let untimed = |ns: &[WorkloadNonconformity]| -> Vec<(String, String, String)> {
            ns.iter()
                .map(|n| (n.workload.clone(), n.rules.clone(), n.message.clone()))
                .collect()
        };
        without_times(&c.conditions) != without_times(&self.conditions)
            || c.summary != self.summary
            || c.observed_generation != self.observed_generation
            || untimed(&c.nonconformities) != untimed(&self.nonconformities)
            || c.open_nonconformities != self.open_nonconformities
    }
}

impl NeedsWrite for ImpactAssessmentStatus {
    fn differs_from(&self, current: Option<&Self>) -> bool {
        let Some(c) = current else { return true };
        without_times(&c.conditions) != without_times(&self.conditions)
            || (
                c.phase,
                c.expires_at,
                &c.content_hash,
                c.observed_generation,
            ) != (
                self.phase,
                self.expires_at,
                &self.content_hash,
                self.observed_generation,
            )
    }
}

impl NeedsWrite for ControlBindingStatus {
    fn differs_from(&self, current: Option<&Self>) -> bool {
        let Some(c) = current else { return true };
        let untimed =
            |rs: &[ControlResult]| -> Vec<(String, crate::resources::ControlState, String)> {
                rs.iter()
                    .map(|r| (r.id.clone(), r.state, r.message.clone()))
                    .collect()
            };
        without_times(&c.conditions) != without_times(&self.conditions)
            || untimed(&c.controls) != untimed(&self.controls)
            || c.summary != self.summary
            || c.observed_generation != self.observed_generation
    }
}

impl NeedsWrite for crate::resources::NonconformityStatus {
    fn differs_from(&self, current: Option<&Self>) -> bool {
        let Some(c) = current else { return true };
        without_times(&c.conditions) != without_times(&self.conditions)
            || (
                c.phase,
                c.condition_present,
                c.occurrences,
                &c.history,
                c.observed_generation,
            ) != (
                self.phase,
                self.condition_present,
                self.occurrences,
                &self.history,
                self.observed_generation,
            )
    }
}

impl NeedsWrite for crate::resources::AIIncidentStatus {
    fn differs_from(&self, current: Option<&Self>) -> bool {
        let Some(c) = current else { return true };
        without_times(&c.conditions) != without_times(&self.conditions)
            || (
                c.phase,
                c.reporting_deadline,
                &c.reporting_rule,
                c.time_to_detect_seconds,
                c.time_to_resolve_seconds,
                c.observed_generation,
            ) != (
                self.phase,
                self.reporting_deadline,
                &self.reporting_rule,
                self.time_to_detect_seconds,
                self.time_to_resolve_seconds,
                self.observed_generation,
            )
    }
}

/// Whether the stored system status differs from the desired one in anything but timestamps.
pub fn needs_write(current: Option<&AISystemStatus>, desired: &AISystemStatus) -> bool {
    desired.differs_from(current)
}
