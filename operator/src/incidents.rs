//! The AI incident log: every incident with its system and model, severity, whether it is
//! serious and by when it had to be reported, the notifications made, its resolution and the
//! times to detect and to resolve, for people and for evidence.

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::incident::desired_status;
use crate::policy::Policy;
use crate::render::Format;
use crate::render::table::{self, Column};
use crate::resources::{AIIncident, IncidentPhase};

/// One AI incident, as it stands at the time of the log.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRow {
    /// Namespace.
    pub namespace: String,
    /// The incident's name.
    pub name: String,
    /// The AI system affected.
    pub system: String,
    /// The model affected.
    pub model: String,
    /// Critical, High, Medium or Low.
    pub severity: String,
    /// The serious-incident category, empty when not serious.
    pub serious: String,
    /// What happened.
    pub description: String,
    /// When it happened.
    pub occurred_at: Option<Timestamp>,
    /// When it was found.
    pub detected_at: Timestamp,
    /// When the report to the authority is due (serious incidents).
    pub report_due: Option<Timestamp>,
    /// Where the report stands: the ReportOverdue condition's reason (DueBy, PastDeadline,
    /// ReportedOnTime, ReportedLate, NotSerious).
    pub report: String,
    /// Notifications made: recipient and time.
    pub notifications: Vec<String>,
    /// Open or Resolved.
    pub phase: String,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// How.
    pub resolution: String,
    /// Seconds from occurrence to detection.
    pub time_to_detect_seconds: Option<i64>,
    /// Seconds from detection to resolution.
    pub time_to_resolve_seconds: Option<i64>,
}

/// A number of seconds as people read it: hours under a day, days from one day on.
pub fn duration(seconds: Option<i64>) -> String {
    seconds
        .map(|s| match s as f64 {
            s if s >= 86_400.0 => format!("{:.1}d", s / 86_400.0),
            s => format!("{:.1}h", s / 3_600.0),
        })
        .unwrap_or_default()
}

/// The columns of the log.
pub const COLUMNS: &[Column<IncidentRow>] = &[
    ("Incident", |r| format!("{}/{}", r.namespace, r.name)),
    ("System", |r| r.system.clone()),
    ("Model", |r| r.model.clone()),
    ("Severity", |r| r.severity.clone()),
    ("Serious", |r| r.serious.clone()),
    ("Detected", |r| r.detected_at.to_string()),
    ("Report due", |r| {
        r.report_due.map(|d| d.to_string()).unwrap_or_default()
    }),
    ("Report", |r| r.report.clone()),
    ("Phase", |r| r.phase.clone()),
    ("Description", |r| r.description.clone()),
    ("Notifications", |r| r.notifications.join("; ")),
    ("Resolution", |r| r.resolution.clone()),
    ("Time to detect", |r| duration(r.time_to_detect_seconds)),
    ("Time to resolve", |r| duration(r.time_to_resolve_seconds)),
];

fn row(snapshot: &Snapshot, incident: &AIIncident, policy: &Policy, now: Timestamp) -> IncidentRow {
    let (status, _) = desired_status(snapshot, incident, policy, now);
    let spec = &incident.spec;
    let report = status
        .conditions
        .iter()
        .find(|c| c.type_ == crate::engine::status::types::REPORT_OVERDUE)
        .map(|c| c.reason.clone())
        .unwrap_or_default();
    IncidentRow {
        namespace: incident.namespace().unwrap_or_default(),
        name: incident.name_any(),
        system: spec.system_ref.clone(),
        model: spec.model.clone().unwrap_or_default(),
        severity: spec.severity.as_str().to_string(),
        serious: spec
            .serious
            .as_ref()
            .map(|s| s.category.as_str().to_string())
            .unwrap_or_default(),
        description: spec.description.clone(),
        occurred_at: spec.occurred_at,
        detected_at: spec.detected_at,
        report_due: status.reporting_deadline,
        report,
        notifications: spec
            .notifications
            .iter()
            .map(|n| format!("{} {}", n.recipient, n.at))
            .collect(),
        phase: status
            .phase
            .unwrap_or(IncidentPhase::Open)
            .as_str()
            .to_string(),
        resolved_at: spec.resolution.as_ref().map(|r| r.resolved_at),
        resolution: spec
            .resolution
            .as_ref()
            .map(|r| r.summary.clone())
            .unwrap_or_default(),
        time_to_detect_seconds: status.time_to_detect_seconds,
        time_to_resolve_seconds: status.time_to_resolve_seconds,
    }
}

/// Whether a serious incident's report is late: past its deadline without a notification,
/// or notified after it.
pub fn report_overdue(row: &IncidentRow) -> bool {
    matches!(row.report.as_str(), "PastDeadline" | "ReportedLate")
}

/// Every incident in the snapshot, by namespace and name.
pub fn log(snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> Vec<IncidentRow> {
    snapshot
        .incidents()
        .map(|i| row(snapshot, i, policy, now))
        .collect()
}

/// The incidents that concern an audit period: open at some time within it (detected
/// before its end and not resolved before its start).
pub fn of_period(rows: Vec<IncidentRow>, period: &crate::evidence::Period) -> Vec<IncidentRow> {
    rows.into_iter()
        .filter(|r| r.detected_at < period.to && r.resolved_at.is_none_or(|at| at >= period.from))
        .collect()
}

/// The log in `format`.
pub fn render(rows: &[IncidentRow], format: Format) -> String {
    table::render(format, "AI incidents", "incidents", COLUMNS, rows)
}
