//! The AI system register: every register field of every AISystem, with its assessment,
//! compliance and review standing worked out by the same engine as the SoA. One row per
//! system; [`COLUMNS`] is the one table the Markdown, HTML and CSV renderings share.

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::review::{ReviewStanding, review_standing};
use crate::engine::status::evaluate_system;
use crate::policy::Policy;
use crate::render::Format;
use crate::render::table::{self, Column};
use crate::resources::{AISystem, AISystemSpec, DataSource, ModelOrigin};

/// One AI system in the register.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRow {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// What the system does.
    pub description: String,
    /// Accountable owner, with contact and team.
    pub owner: String,
    /// The business purpose.
    pub purpose: String,
    /// The use it is designed and validated for.
    pub intended_use: String,
    /// The organisation's roles for it.
    pub roles: Vec<String>,
    /// AI techniques used.
    pub techniques: Vec<String>,
    /// Each as `name (provenance)`.
    pub training_data: Vec<String>,
    /// Each as `name (provenance)`.
    pub input_data: Vec<String>,
    /// The kind of output.
    pub output_type: String,
    /// People and groups affected.
    pub affected_parties: Vec<String>,
    /// Risk tier.
    pub risk_tier: String,
    /// Regulations that apply.
    pub regulations: Vec<String>,
    /// Life-cycle stage.
    pub lifecycle_stage: String,
    /// Each as `name version`, with the image or storage URI.
    pub models: Vec<String>,
    /// Suppliers of third-party models.
    pub suppliers: Vec<String>,
    /// Metrics, drift and performance signals, alert route, event log.
    pub monitoring: String,
    /// When and by whom people oversee outputs.
    pub human_oversight: String,
    /// When the entry was last reviewed.
    pub last_reviewed: String,
    /// When it is next due, or since when it is overdue.
    pub review: String,
    /// The covering assessment, or why none covers it.
    pub assessment: String,
    /// Whether every condition holds.
    pub compliant: bool,
}

/// The columns of the Markdown, HTML and CSV renderings, in order.
pub const COLUMNS: &[Column<RegisterRow>] = &[
    ("System", |r| format!("{}/{}", r.namespace, r.name)),
    ("Name", |r| r.display_name.clone()),
    ("Owner", |r| r.owner.clone()),
    ("Purpose", |r| r.purpose.clone()),
    ("Intended use", |r| r.intended_use.clone()),
    ("Roles", |r| r.roles.join(", ")),
    ("Techniques", |r| r.techniques.join(", ")),
    ("Training data", |r| r.training_data.join("; ")),
    ("Input data", |r| r.input_data.join("; ")),
    ("Output", |r| r.output_type.clone()),
    ("Affected parties", |r| r.affected_parties.join(", ")),
    ("Risk", |r| r.risk_tier.clone()),
    ("Regulations", |r| r.regulations.join(", ")),
    ("Stage", |r| r.lifecycle_stage.clone()),
    ("Models", |r| r.models.join("; ")),
    ("Suppliers", |r| r.suppliers.join("; ")),
    ("Monitoring", |r| r.monitoring.clone()),
    ("Human oversight", |r| r.human_oversight.clone()),
    ("Last reviewed", |r| r.last_reviewed.clone()),
    ("Review", |r| r.review.clone()),
    ("Assessment", |r| r.assessment.clone()),
    ("Compliant", |r| {
        if r.compliant { "yes" } else { "no" }.to_string()
    }),
];

fn data(sources: &[DataSource]) -> Vec<String> {
    sources
        .iter()
        .map(|d| match &d.provenance {
            Some(p) => format!("{} ({p})", d.name),
            None => format!("{} (provenance not recorded)", d.name),
        })
        .collect()
}

fn debug_names<T: std::fmt::Debug>(items: &[T]) -> Vec<String> {
    items.iter().map(|i| format!("{i:?}")).collect()
}

fn row(snapshot: &Snapshot, system: &AISystem, policy: &Policy, now: Timestamp) -> RegisterRow {
    let spec = &system.spec;
    let evaluation = evaluate_system(snapshot, system, policy, now);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let owner = spec.owner.as_ref().map_or(String::new(), |o| {
        [Some(o.name.clone()), o.contact.clone(), o.team.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    });
    let monitoring = spec.monitoring.as_ref().map_or(String::new(), |m| {
        let mut parts = Vec::new();
        for (label, items) in [
            ("metrics", &m.metrics),
            ("drift", &m.drift_signals),
            ("performance", &m.performance_signals),
        ] {
            if !items.is_empty() {
                parts.push(format!("{label}: {}", items.join(", ")));
            }
        }
        parts.extend(m.alert_route.as_ref().map(|a| format!("alerts: {a}")));
        parts.extend(m.event_log.as_ref().map(|l| format!("log: {l}")));
        parts.join("; ")
    });
    RegisterRow {
        namespace: system.namespace().unwrap_or_default(),
        name: system.name_any(),
        display_name: spec.display_name.clone(),
        description: text(&spec.description),
        owner,
        purpose: text(&spec.purpose),
        intended_use: text(&spec.intended_use),
        roles: debug_names(&spec.roles),
        techniques: spec.techniques.clone(),
        training_data: data(&spec.training_data),
        input_data: data(&spec.input_data),
        output_type: spec
            .output_type
            .map(|o| format!("{o:?}"))
            .unwrap_or_default(),
        affected_parties: spec.affected_parties.clone(),
        risk_tier: spec.risk_tier.as_str().to_string(),
        regulations: spec.regulations.clone(),
        lifecycle_stage: spec.lifecycle_stage.as_str().to_string(),
        models: spec
            .models
            .iter()
            .map(|m| match m.image.as_ref().or(m.storage_uri.as_ref()) {
                Some(artifact) => format!("{} {} ({artifact})", m.name, m.version),
                None => format!("{} {}", m.name, m.version),
            })
            .collect(),
        suppliers: suppliers(spec),
        monitoring,
        human_oversight: oversight(spec),
        last_reviewed: spec
            .review
            .as_ref()
            .and_then(|r| r.last_reviewed)
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        review: review_phrase(system, now),
        assessment: evaluation.summary.assessment,
        compliant: evaluation.summary.compliant == "True",
    }
}

/// Suppliers of the system's third-party models, each as `supplier (model)`.
pub fn suppliers(spec: &AISystemSpec) -> Vec<String> {
    spec.models
        .iter()
        .filter(|m| m.origin == Some(ModelOrigin::ThirdParty))
        .map(|m| {
            format!(
                "{} ({})",
                m.supplier.as_deref().unwrap_or("supplier not named"),
                m.name
            )
        })
        .collect()
}

/// When and by whom people oversee the system's outputs; empty when not declared.
pub fn oversight(spec: &AISystemSpec) -> String {
    spec.human_oversight
        .as_ref()
        .map(|h| format!("{} — by {}", h.when, h.reviewers))
        .unwrap_or_default()
}

/// When the entry is next due for review, or since when it is overdue; empty without a
/// schedule.
pub fn review_phrase(system: &AISystem, now: Timestamp) -> String {
    match review_standing(system, now) {
        ReviewStanding::Unscheduled => String::new(),
        ReviewStanding::DueAt(due) => format!("due {}", due.strftime("%Y-%m-%d")),
        ReviewStanding::Overdue(due) => format!("overdue since {}", due.strftime("%Y-%m-%d")),
    }
}

/// The register of every system in the snapshot, sorted by namespace and name.
pub fn build(snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> Vec<RegisterRow> {
    snapshot
        .systems()
        .into_iter()
        .map(|s| row(snapshot, s, policy, now))
        .collect()
}

/// The register in `format`.
pub fn render(rows: &[RegisterRow], format: Format) -> String {
    table::render(format, "AI system register", "register", COLUMNS, rows)
}
