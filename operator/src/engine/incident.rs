//! AI incidents as the engine reads them: the reporting deadline a serious incident implies
//! (from the catalog's regulatory data), whether the report is overdue, the times to detect
//! and to resolve, and which incidents are still open for a system.

use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

use super::Snapshot;
use super::status::ConditionOutcome;
use super::status::types::REPORT_OVERDUE;
use crate::catalog::regulations::reporting_deadline;
use crate::policy::Policy;
use crate::resources::{AIIncident, AIIncidentSpec, AIIncidentStatus, IncidentPhase, Resolution};

/// When a serious incident's report is due, and the rule that says so.
pub fn deadline(incident: &AIIncident) -> Option<(Timestamp, String)> {
    let serious = incident.spec.serious.as_ref()?;
    let (days, rule) = reporting_deadline(serious.category)?;
    let due = incident
        .spec
        .detected_at
        .checked_add(SignedDuration::from_hours(days * 24))
        .ok()?;
    Some((due, rule))
}

/// Whether `incident` is still open.
pub fn is_open(incident: &AIIncident) -> bool {
    incident.spec.resolution.is_none()
}

/// The report condition at `now`: met unless a serious incident's deadline passed without a
/// notification by then.
fn report_outcome(
    incident: &AIIncident,
    deadline: Option<&(Timestamp, String)>,
    now: Timestamp,
) -> ConditionOutcome {
    let Some((due, rule)) = deadline.map(|(due, rule)| (*due, rule)) else {
        return ConditionOutcome::new(
            REPORT_OVERDUE,
            true,
            "NotSerious",
            "not a serious incident: no report to an authority is due",
        );
    };
    let first = incident.spec.notifications.iter().map(|n| n.at).min();
    match first {
        Some(at) if at <= due => ConditionOutcome::new(
            REPORT_OVERDUE,
            true,
            "ReportedOnTime",
            format!("notified {at}, within the deadline {due} ({rule})"),
        ),
        Some(at) => ConditionOutcome::new(
            REPORT_OVERDUE,
            false,
            "ReportedLate",
            format!("notified {at}, after the deadline {due} ({rule})"),
        ),
        None if now >= due => ConditionOutcome::new(
            REPORT_OVERDUE,
            false,
            "PastDeadline",
            format!(
                "the report was due {due} ({rule}) and no notification is recorded: notify the \
                 authority and add it to spec.notifications"
            ),
        ),
        None => ConditionOutcome::new(
            REPORT_OVERDUE,
            true,
            "DueBy",
            format!("report due by {due} ({rule})"),
        ),
    }
}

/// The status `incident` should carry at `now`, and when that changes by itself (the
/// deadline, while nothing is notified).
pub fn desired_status(
    _snapshot: &Snapshot,
    incident: &AIIncident,
    _policy: &Policy,
    now: Timestamp,
) -> (AIIncidentStatus, Option<Timestamp>) {
    let spec = &incident.spec;
    let deadline = deadline(incident);
    let outcome = report_outcome(incident, deadline.as_ref(), now);
    let (time_to_detect_seconds, time_to_resolve_seconds) = times(incident);
    let next = deadline
        .as_ref()
        .map(|(due, _)| *due)
        .filter(|due| *due > now && spec.notifications.is_empty());
    let status = AIIncidentStatus {
        phase: Some(if is_open(incident) {
            IncidentPhase::Open
        } else {
            IncidentPhase::Resolved
        }),
        reporting_deadline: deadline.as_ref().map(|(due, _)| *due),
        reporting_rule: deadline.map(|(_, rule)| rule),
        time_to_detect_seconds,
        time_to_resolve_seconds,
        conditions: super::status::to_conditions(
            &[outcome],
            super::status::stored_transitions(
                incident
                    .status
                    .as_ref()
                    .map(|s| s.conditions.as_slice())
                    .unwrap_or(&[]),
            ),
            incident.metadata.generation,
            now,
        ),
        observed_generation: incident.metadata.generation,
    };
    (status, next)
}

/// The AI system condition for its open incidents (named for the problem: `True` while any
/// is open). It does not decide `Compliant`: an incident is handled, not a reason to stop.
pub fn open_incidents_outcome(
    snapshot: &Snapshot,
    namespace: &str,
    system: &str,
) -> ConditionOutcome {
    let open: Vec<String> = snapshot
        .incidents_of(namespace, system)
        .filter(|i| is_open(i))
        .map(|i| format!("{} ({})", i.name_any(), i.spec.severity.as_str()))
        .collect();
    if open.is_empty() {
        ConditionOutcome::new(
            super::status::types::OPEN_INCIDENTS,
            true,
            "NoneOpen",
            "no AI incident of this system is open",
        )
    } else {
        ConditionOutcome::new(
            super::status::types::OPEN_INCIDENTS,
            false,
            "IncidentsOpen",
            format!("open AI incidents: {}", open.join(", ")),
        )
    }
}

/// The resolution to store for a write by `user`: a new or changed resolution is stamped
/// with who wrote it; an unchanged one keeps its stamp whoever edits something else.
pub fn resolution_after_write(
    old: Option<&AIIncidentSpec>,
    new: &AIIncidentSpec,
    user: &str,
) -> Option<Resolution> {
    let resolution = new.resolution.as_ref()?;
    let previous = old.and_then(|o| o.resolution.as_ref());
    if let Some(previous) = previous
        && unstamped(previous) == unstamped(resolution)
    {
        return Some(previous.clone());
    }
    Some(Resolution {
        resolved_by: Some(user.to_string()),
        ..resolution.clone()
    })
}

fn unstamped(resolution: &Resolution) -> (Timestamp, &str) {
    (resolution.resolved_at, &resolution.summary)
}

/// Checks an incident write after the mutation: the system it names must exist in its
/// namespace when it is recorded or moved to another system (an incident outlives a system
/// retired after it, so later updates are not held to that), and a new or changed
/// resolution carries its writer's own name.
pub fn check_write(
    snapshot: &Snapshot,
    incident: &AIIncident,
    old: Option<&AIIncidentSpec>,
    user: &str,
) -> Result<(), String> {
    if let Some(resolution) = &incident.spec.resolution
        && old.and_then(|o| o.resolution.as_ref()) != Some(resolution)
        && resolution.resolved_by.as_deref() != Some(user)
    {
        return Err(format!(
            "spec.resolution.resolvedBy records who declared the incident resolved and is set \
             by aims-operator (it would be {user}); remove it from the request"
        ));
    }
    let ns = incident.namespace().unwrap_or_default();
    let names_new_system = old.is_none_or(|old| old.system_ref != incident.spec.system_ref);
    if names_new_system && snapshot.system(&ns, &incident.spec.system_ref).is_none() {
        return Err(format!(
            "spec.systemRef: no AISystem {} in namespace {ns}; record the incident where the \
             system is registered (kubectl get aisystems -A)",
            incident.spec.system_ref
        ));
    }
    Ok(())
}

/// Seconds from occurrence to detection and from detection to resolution, where known.
pub fn times(incident: &AIIncident) -> (Option<i64>, Option<i64>) {
    let spec = &incident.spec;
    (
        spec.occurred_at
            .map(|at| spec.detected_at.duration_since(at).as_secs()),
        spec.resolution
            .as_ref()
            .map(|r| r.resolved_at.duration_since(spec.detected_at).as_secs()),
    )
}

/// Mean seconds to detect and to resolve over the incidents that have each.
pub fn mean_times(snapshot: &Snapshot) -> (Option<f64>, Option<f64>) {
    let mean = |values: Vec<i64>| {
        (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
    };
    let all: Vec<(Option<i64>, Option<i64>)> = snapshot.incidents().map(times).collect();
    (
        mean(all.iter().filter_map(|t| t.0).collect()),
        mean(all.iter().filter_map(|t| t.1).collect()),
    )
}
