//! Nonconformity records: which conditions the operator opens one for (pure detection over
//! the snapshot), whether a record's condition persists (closing is refused while it does),
//! and the status a record carries (open, closed, reopened by a recurrence, overdue).

use jiff::Timestamp;
use kube::ResourceExt;
use serde_json::{Value, json};

use super::controls::control_outcome;
use super::status::ConditionOutcome;
use super::status::types::ACTION_OVERDUE;
use super::{BreakGlass, Scope, Snapshot, break_glass, evaluate_workload};
use crate::engine::Rule;
use crate::policy::Policy;
use crate::resources::{
    AISystem, API_VERSION, Closure, ControlState, Finding, Nonconformity, NonconformityPhase,
    NonconformitySeverity, NonconformitySpec, NonconformityStatus, Occurrence,
};

/// Most occurrences a record's status keeps; `occurrences` counts them all.
pub const MAX_HISTORY: usize = 10;

/// A condition the operator detects for one system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// What.
    pub finding: Finding,
    /// The control, for a failed control check.
    pub control: Option<String>,
    /// How serious.
    pub severity: NonconformitySeverity,
    /// What was seen, naming the workloads or the control.
    pub description: String,
}

impl Detection {
    /// The record's name: `<system>-<finding>[-<control>]`, so one condition has one record.
    pub fn record_name(&self, system: &str) -> String {
        let mut name = format!("{system}-{}", self.finding.slug());
        if let Some(control) = &self.control {
            name.push('-');
            name.push_str(&control.to_ascii_lowercase().replace('.', "-"));
        }
        name
    }

    /// The record the operator creates for it; the system's owner owns the action until
    /// someone else takes it.
    pub fn record(&self, namespace: &str, system: &AISystem) -> Value {
        let owner = system.spec.owner.as_ref().filter(|o| !o.name.is_empty());
        let system = system.name_any();
        let system = system.as_str();
        json!({
            "apiVersion": API_VERSION, "kind": "Nonconformity",
            "metadata": { "name": self.record_name(system), "namespace": namespace,
                "labels": { crate::resources::SYSTEM_LABEL: system,
                    "app.kubernetes.io/managed-by": "aims-operator" } },
            "spec": {
                "severity": self.severity.as_str(), "source": "Detected",
                "detected": { "condition": self.finding.as_str(), "control": self.control },
                "systemRef": system, "control": self.control, "description": self.description,
                "owner": owner,
            }
        })
    }
}

/// Every condition the operator opens a record for on `system` now, in a fixed order.
pub fn detect(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> Vec<Detection> {
    let ns = system.namespace().unwrap_or_default();
    let name = system.name_any();
    let (mut lapsed, mut failing, mut broken_open) = (Vec::new(), Vec::new(), Vec::new());
    for workload in snapshot.workloads_of(&ns, &name) {
        let verdict = evaluate_workload(snapshot, workload, policy, now);
        if verdict.scope != Scope::Judged {
            continue;
        }
        let who = format!("{}/{}", workload.kind, workload.name);
        if let Some(BreakGlass::Active { reason, expires }) = break_glass(workload, policy, now) {
            broken_open.push(format!("{who} until {expires} ({reason})"));
        }
        let rules = verdict.findings.iter().map(|f| f.rule);
        if rules.clone().any(|r| r == Rule::AssessmentMissing) {
            lapsed.push(who.clone());
        }
        let others: Vec<&str> = rules
            .filter(|r| *r != Rule::AssessmentMissing)
            .map(|r| r.id())
            .collect();
        if !others.is_empty() {
            failing.push(format!("{who} ({})", others.join(", ")));
        }
    }
    let mut found = Vec::new();
    let mut add = |finding, severity, description: String, control: Option<String>| {
        found.push(Detection {
            finding,
            control,
            severity,
            description,
        });
    };
    if !lapsed.is_empty() {
        add(
            Finding::AssessmentLapsedWhileRunning,
            NonconformitySeverity::Major,
            format!(
                "{} of AI system {name} run(s) while no approved, current assessment covers them",
                lapsed.join(", ")
            ),
            None,
        );
    }
    if !failing.is_empty() {
        add(
            Finding::WorkloadNotCompliant,
            NonconformitySeverity::Major,
            format!(
                "{} of AI system {name} run(s) while the admission rules would refuse them",
                failing.join(", ")
            ),
            None,
        );
    }
    if !broken_open.is_empty() {
        add(
            Finding::BreakGlassUsed,
            NonconformitySeverity::Minor,
            format!(
                "break-glass in use for AI system {name}: {}",
                broken_open.join(", ")
            ),
            None,
        );
    }
    let mut controls: Vec<String> = policy.required_for(system.spec.risk_tier).to_vec();
    for binding in snapshot.bindings_for(&ns, &name) {
        controls.extend(binding.spec.controls.iter().map(|c| c.id.clone()));
    }
    controls.sort();
    controls.dedup();
    for id in controls {
        let outcome = control_outcome(snapshot, system, &id, policy, now);
        if outcome.state == ControlState::Failed {
            add(
                Finding::ControlCheckFailed,
                NonconformitySeverity::Major,
                format!(
                    "the automated check of {id} fails for AI system {name}: {}",
                    outcome.message
                ),
                Some(id),
            );
        }
    }
    found
}

/// Whether the condition `record` was opened for holds now: `None` for a record no detection
/// backs (an audit finding), `Some(false)` once its system is gone.
pub fn persists(
    snapshot: &Snapshot,
    record: &Nonconformity,
    policy: &Policy,
    now: Timestamp,
) -> Option<bool> {
    let detected = record.spec.detected.as_ref()?;
    let ns = record.namespace().unwrap_or_default();
    let system = record.spec.system_ref.as_deref()?;
    let Some(system) = snapshot.system(&ns, system) else {
        return Some(false);
    };
    Some(
        detect(snapshot, system, policy, now)
            .iter()
            .any(|d| d.finding == detected.condition && d.control == detected.control),
    )
}

/// The phase `record` stands in at `now`: open until closed, reopened while the condition it
/// was opened for holds again. Worked out, never read from a stored status, so that records
/// read without one (offline) stand where the operator would put them.
pub fn phase(
    snapshot: &Snapshot,
    record: &Nonconformity,
    policy: &Policy,
    now: Timestamp,
) -> NonconformityPhase {
    phase_given(record, persists(snapshot, record, policy, now))
}

/// The phase of `record` when its condition is `present` (see [`persists`]).
fn phase_given(record: &Nonconformity, present: Option<bool>) -> NonconformityPhase {
    match (&record.spec.closure, present) {
        (None, _) => NonconformityPhase::Open,
        (Some(_), Some(true)) => NonconformityPhase::Reopened,
        (Some(_), _) => NonconformityPhase::Closed,
    }
}

/// The status `record` should carry at `now`, from its stored status, and when it changes by
/// itself (the action's due date).
pub fn desired_status(
    snapshot: &Snapshot,
    record: &Nonconformity,
    policy: &Policy,
    now: Timestamp,
) -> (NonconformityStatus, Option<Timestamp>) {
    let stored = record.status.clone().unwrap_or_default();
    let present = persists(snapshot, record, policy, now);
    let mut history = stored.history.clone();
    let mut occurrences = stored.occurrences.unwrap_or(0);
    let ongoing = history.last().is_some_and(|o| o.resolved_at.is_none());
    match present {
        Some(true) if !ongoing => {
            history.push(Occurrence {
                detected_at: now,
                resolved_at: None,
            });
            occurrences += 1;
        }
        Some(false) if ongoing => {
            if let Some(last) = history.last_mut() {
                last.resolved_at = Some(now);
            }
        }
        _ => {}
    }
    let excess = history.len().saturating_sub(MAX_HISTORY);
    history.drain(..excess);
    let phase = phase_given(record, present);
    let due = record
        .spec
        .corrective_action
        .as_ref()
        .and_then(|a| a.due_date);
    let overdue = phase != NonconformityPhase::Closed && due.is_some_and(|d| d <= now);
    let outcome = match (overdue, due) {
        (true, Some(due)) => ConditionOutcome::new(
            ACTION_OVERDUE,
            false,
            "PastDueDate",
            format!("the corrective action was due {due} and the record is not closed"),
        ),
        _ => ConditionOutcome::new(
            ACTION_OVERDUE,
            true,
            "OnTime",
            "no corrective action is overdue",
        ),
    };
    let status = NonconformityStatus {
        phase: Some(phase),
        condition_present: present,
        occurrences: (occurrences > 0).then_some(occurrences),
        history,
        conditions: super::status::to_conditions(
            &[outcome],
            super::status::stored_transitions(&stored.conditions),
            record.metadata.generation,
            now,
        ),
        observed_generation: record.metadata.generation,
    };
    let next = due.filter(|d| *d > now && phase != NonconformityPhase::Closed);
    (status, next)
}

/// Why closing `record` now is refused, if it is: its detected condition persists.
pub fn closing_refused(
    snapshot: &Snapshot,
    record: &Nonconformity,
    policy: &Policy,
    now: Timestamp,
) -> Option<String> {
    if persists(snapshot, record, policy, now) != Some(true) {
        return None;
    }
    let detected = record.spec.detected.as_ref()?;
    Some(format!(
        "Nonconformity {}/{} cannot be closed: its condition {} still holds ({}). Fix the cause \
         first (`kubectl aims explain` shows what each workload needs), then close it with \
         the evidence.",
        record.namespace().unwrap_or_default(),
        record.name_any(),
        detected.condition.as_str(),
        record.spec.description
    ))
}

/// The closure a write leaves: a new or changed closure is stamped with the requester and
/// `now`; an unchanged one keeps its stamps.
pub fn closure_after_write(
    old: Option<&NonconformitySpec>,
    new: &NonconformitySpec,
    user: &str,
    now: Timestamp,
) -> Option<Closure> {
    let closure = new.closure.as_ref()?;
    let previous = old.and_then(|o| o.closure.as_ref());
    if let Some(previous) = previous
        && unstamped(previous) == unstamped(closure)
    {
        return Some(previous.clone());
    }
    Some(Closure {
        closed_by: Some(user.to_string()),
        closed_at: Some(now),
        ..closure.clone()
    })
}

fn unstamped(closure: &Closure) -> (&[String], Option<&str>) {
    (&closure.evidence, closure.comment.as_deref())
}

/// Checks a write of a nonconformity after the mutation: its content, stamps that are the
/// requester's own (or unchanged), and no closure while the detected condition persists.
pub fn check_write(
    snapshot: &Snapshot,
    record: &Nonconformity,
    old: Option<&NonconformitySpec>,
    user: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<(), String> {
    crate::resources::validate_nonconformity(&record.spec)?;
    let Some(closure) = &record.spec.closure else {
        return Ok(());
    };
    if old.and_then(|o| o.closure.as_ref()) == Some(closure) {
        return Ok(());
    }
    let stamped = closure.closed_by.as_deref() == Some(user)
        && closure
            .closed_at
            .is_some_and(|at| super::approval::fresh(at, now));
    if !stamped {
        return Err(format!(
            "spec.closure.closedBy and closedAt record who closed it and are set by aims-operator \
             (closedBy would be {user}); remove them from the request"
        ));
    }
    match closing_refused(snapshot, record, policy, now) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}
