//! The nonconformity register: every record with its severity, source, system and control,
//! owner, root cause, corrective action and due date, and where it stands now (open, closed,
//! reopened, overdue; whether its detected condition holds), for people and for evidence.

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::nonconformity::desired_status;
use crate::policy::Policy;
use crate::render::Format;
use crate::render::table::{self, Column};
use crate::resources::{Nonconformity, NonconformityPhase};

/// One nonconformity record, as it stands at the time of the register.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NonconformityRow {
    /// Namespace.
    pub namespace: String,
    /// The record's name.
    pub name: String,
    /// Major or Minor.
    pub severity: String,
    /// Detected, InternalAudit, ...
    pub source: String,
    /// The AI system concerned.
    pub system: String,
    /// The control concerned.
    pub control: String,
    /// What was found.
    pub description: String,
    /// Who owns the corrective action.
    pub owner: String,
    /// Why it happened.
    pub root_cause: String,
    /// What is done.
    pub corrective_action: String,
    /// When the action is due.
    pub due: Option<Timestamp>,
    /// Open, Closed or Reopened.
    pub phase: String,
    /// Open (or reopened) past the due date.
    pub overdue: bool,
    /// Whether the detected condition holds now (empty: nothing detected backs it).
    pub condition_present: Option<bool>,
    /// How often the detected condition began.
    pub occurrences: u32,
    /// When it was opened.
    pub opened: Option<Timestamp>,
    /// Who closed it.
    pub closed_by: String,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// Evidence of the closure.
    pub evidence: Vec<String>,
}

/// The columns of the register.
pub const COLUMNS: &[Column<NonconformityRow>] = &[
    ("Record", |r| format!("{}/{}", r.namespace, r.name)),
    ("Severity", |r| r.severity.clone()),
    ("Source", |r| r.source.clone()),
    ("System", |r| r.system.clone()),
    ("Control", |r| r.control.clone()),
    ("Phase", |r| {
        if r.overdue {
            format!("{} (overdue)", r.phase)
        } else {
            r.phase.clone()
        }
    }),
    ("Description", |r| r.description.clone()),
    ("Owner", |r| r.owner.clone()),
    ("Root cause", |r| r.root_cause.clone()),
    ("Corrective action", |r| r.corrective_action.clone()),
    ("Due", |r| r.due.map(|d| d.to_string()).unwrap_or_default()),
    ("Occurrences", |r| r.occurrences.to_string()),
    ("Closed", |r| {
        let at = r.closed_at.map(|t| t.to_string()).unwrap_or_default();
        format!("{} {at}", r.closed_by).trim().to_string()
    }),
    ("Evidence", |r| r.evidence.join("; ")),
];

fn row(
    snapshot: &Snapshot,
    record: &Nonconformity,
    policy: &Policy,
    now: Timestamp,
) -> NonconformityRow {
    let (status, _) = desired_status(snapshot, record, policy, now);
    let spec = &record.spec;
    let phase = status.phase.unwrap_or(NonconformityPhase::Open);
    let overdue = status
        .conditions
        .iter()
        .any(|c| c.type_ == crate::engine::status::types::ACTION_OVERDUE && c.status == "True");
    NonconformityRow {
        namespace: record.namespace().unwrap_or_default(),
        name: record.name_any(),
        severity: spec.severity.as_str().to_string(),
        source: spec.source.as_str().to_string(),
        system: spec.system_ref.clone().unwrap_or_default(),
        control: spec.control.clone().unwrap_or_default(),
        description: spec.description.clone(),
        owner: spec
            .owner
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        root_cause: spec.root_cause.clone().unwrap_or_default(),
        corrective_action: spec
            .corrective_action
            .as_ref()
            .map(|a| a.description.clone())
            .unwrap_or_default(),
        due: spec.corrective_action.as_ref().and_then(|a| a.due_date),
        phase: phase.as_str().to_string(),
        overdue,
        condition_present: status.condition_present,
        occurrences: status.occurrences.unwrap_or(0),
        opened: record.metadata.creation_timestamp.as_ref().map(|t| t.0),
        closed_by: spec
            .closure
            .as_ref()
            .map(|c| {
                c.closed_by
                    .clone()
                    .unwrap_or_else(|| "(not stamped)".into())
            })
            .unwrap_or_default(),
        closed_at: spec.closure.as_ref().and_then(|c| c.closed_at),
        evidence: spec
            .closure
            .as_ref()
            .map(|c| c.evidence.clone())
            .unwrap_or_default(),
    }
}

/// Every record in the snapshot, by namespace and name.
pub fn register(snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> Vec<NonconformityRow> {
    snapshot
        .nonconformities()
        .map(|n| row(snapshot, n, policy, now))
        .collect()
}

/// The records that concern an audit period: open at its end, or opened or closed within it.
pub fn of_period(
    rows: Vec<NonconformityRow>,
    period: &crate::evidence::Period,
) -> Vec<NonconformityRow> {
    rows.into_iter()
        .filter(|r| {
            let within =
                |t: Option<Timestamp>| t.is_some_and(|t| t >= period.from && t < period.to);
            r.phase != NonconformityPhase::Closed.as_str()
                || within(r.opened)
                || within(r.closed_at)
        })
        .collect()
}

/// The register in `format`.
pub fn render(rows: &[NonconformityRow], format: Format) -> String {
    table::render(format, "Nonconformities", "nonconformities", COLUMNS, rows)
}
