//! The internal audit register: every audit with each of its findings, the nonconformity
//! record that tracks the finding and where it stands — an auditor's "what did your last
//! internal audit find, and how did you address it?" in one table.

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::audit::finding_state;
use crate::policy::Policy;
use crate::render::Format;
use crate::render::table::{self, Column};
use crate::resources::InternalAudit;

/// One finding of an internal audit (or the audit itself, when it found nothing).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FindingRow {
    /// The audit.
    pub audit: String,
    /// Who carried it out.
    pub auditor: String,
    /// When it began.
    pub started_at: Timestamp,
    /// When it ended, if it has.
    pub completed_at: Option<Timestamp>,
    /// The finding's ID; empty for an audit without findings.
    pub finding: String,
    /// MajorNonconformity, MinorNonconformity, Observation or OpportunityForImprovement.
    pub classification: String,
    /// The Annex A control concerned.
    pub control: String,
    /// The AI system concerned, as `namespace/name`.
    pub system: String,
    /// The Nonconformity record that tracks it, as `namespace/name`.
    pub record: String,
    /// Where it stands: the record's phase, `awaiting its record`, the classification of a
    /// finding that needs no record, or `no findings`.
    pub stands: String,
    /// What was found.
    pub description: String,
}

/// The columns of the register.
pub const COLUMNS: &[Column<FindingRow>] = &[
    ("Audit", |r| r.audit.clone()),
    ("Auditor", |r| r.auditor.clone()),
    ("Started", |r| r.started_at.strftime("%Y-%m-%d").to_string()),
    ("Completed", |r| {
        r.completed_at
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "under way".to_string())
    }),
    ("Finding", |r| r.finding.clone()),
    ("Classification", |r| r.classification.clone()),
    ("Control", |r| r.control.clone()),
    ("System", |r| r.system.clone()),
    ("Record", |r| r.record.clone()),
    ("Stands", |r| r.stands.clone()),
    ("Description", |r| r.description.clone()),
];

fn rows(
    snapshot: &Snapshot,
    audit: &InternalAudit,
    policy: &Policy,
    now: Timestamp,
) -> Vec<FindingRow> {
    let name = audit.name_any();
    let spec = &audit.spec;
    let base = FindingRow {
        audit: name.clone(),
        auditor: spec.auditor.clone(),
        started_at: spec.started_at,
        completed_at: spec.completed_at,
        finding: String::new(),
        classification: String::new(),
        control: String::new(),
        system: String::new(),
        record: String::new(),
        stands: "no findings".to_string(),
        description: spec.scope.statement.clone(),
    };
    if spec.findings.is_empty() {
        return vec![base];
    }
    spec.findings
        .iter()
        .map(|f| FindingRow {
            finding: f.id.clone(),
            classification: f.classification.as_str().to_string(),
            control: f.control.clone().unwrap_or_default(),
            system: f.system.clone().unwrap_or_default(),
            record: f
                .record(&name)
                .map(|(ns, record)| format!("{ns}/{record}"))
                .unwrap_or_default(),
            stands: finding_state(snapshot, &name, f, policy, now),
            description: f.description.clone(),
            ..base.clone()
        })
        .collect()
}

/// Every audit's findings, the latest audit first, each where it stands at `now`.
pub fn register(snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> Vec<FindingRow> {
    let mut audits: Vec<&InternalAudit> = snapshot.audits().collect();
    audits.sort_by_key(|a| std::cmp::Reverse(a.spec.started_at));
    audits
        .into_iter()
        .flat_map(|a| rows(snapshot, a, policy, now))
        .collect()
}

/// The register in `format`.
pub fn render(rows: &[FindingRow], format: Format) -> String {
    table::render(format, "Internal audit findings", "findings", COLUMNS, rows)
}
