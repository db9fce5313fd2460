//! The consolidated risk register: every risk of every assessment, with its system, owner,
//! rating, treatment, the live state of its controls and who accepted it.

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::acceptance::needs_risk_acceptance;
use crate::engine::controls::control_outcome;
use crate::policy::Policy;
use crate::render::Format;
use crate::render::table::{self, Column};
use crate::resources::{ImpactAssessment, Risk};

/// One risk of one assessment.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RiskRow {
    /// Namespace.
    pub namespace: String,
    /// The AI system assessed.
    pub system: String,
    /// Its accountable owner.
    pub owner: String,
    /// The assessment, with its phase.
    pub assessment: String,
    /// The risk's ID.
    pub risk: String,
    /// The risk in a sentence.
    pub description: String,
    /// Likelihood before treatment, 1 to 5.
    pub likelihood: u8,
    /// Severity before treatment, 1 to 5.
    pub severity: u8,
    /// Likelihood × severity before treatment, as `L×S=R`.
    pub rating: String,
    /// Likelihood after treatment, when rated.
    pub residual_likelihood: Option<u8>,
    /// Severity after treatment, when rated.
    pub residual_severity: Option<u8>,
    /// Likelihood × severity after treatment, when rated.
    pub residual: String,
    /// How it is treated.
    pub treatment: String,
    /// The controls the treatment names, each with its live state for the system.
    pub controls: Vec<String>,
    /// Who accepted it, where acceptance is needed.
    pub accepted_by: String,
}

/// The columns of the risk register.
pub const COLUMNS: &[Column<RiskRow>] = &[
    ("System", |r| format!("{}/{}", r.namespace, r.system)),
    ("Owner", |r| r.owner.clone()),
    ("Assessment", |r| r.assessment.clone()),
    ("Risk", |r| r.risk.clone()),
    ("Description", |r| r.description.clone()),
    ("Rating", |r| r.rating.clone()),
    ("Treatment", |r| r.treatment.clone()),
    ("Controls", |r| r.controls.join("; ")),
    ("Residual", |r| r.residual.clone()),
    ("Accepted by", |r| r.accepted_by.clone()),
];

fn rating(likelihood: u8, severity: u8) -> String {
    format!(
        "{likelihood}×{severity}={}",
        u32::from(likelihood) * u32::from(severity)
    )
}

fn residual(risk: &Risk) -> String {
    match (risk.residual_likelihood, risk.residual_severity) {
        (Some(l), Some(s)) => rating(l, s),
        _ => String::new(),
    }
}

/// The risks of one assessment, in order.
pub(crate) fn rows_of(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> Vec<RiskRow> {
    let namespace = assessment.namespace().unwrap_or_default();
    let system = snapshot.system(&namespace, &assessment.spec.system_ref);
    let phase = snapshot.assessment_state(assessment, policy, now).phase;
    assessment
        .spec
        .risks
        .iter()
        .map(|risk| RiskRow {
            namespace: namespace.clone(),
            system: assessment.spec.system_ref.clone(),
            owner: system
                .and_then(|s| s.spec.owner.as_ref())
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            assessment: format!("{} ({})", assessment.name_any(), phase.as_str()),
            risk: risk.id.clone(),
            description: risk.description.clone(),
            likelihood: risk.likelihood,
            severity: risk.severity,
            rating: rating(risk.likelihood, risk.severity),
            residual_likelihood: risk.residual_likelihood,
            residual_severity: risk.residual_severity,
            residual: residual(risk),
            treatment: format!("{:?}", risk.treatment),
            controls: risk
                .controls
                .iter()
                .map(|id| match system {
                    Some(s) => format!(
                        "{id} {}",
                        control_outcome(snapshot, s, id, policy, now).state.as_str()
                    ),
                    None => format!("{id} (system not registered)"),
                })
                .collect(),
            accepted_by: match (&risk.accepted_by, needs_risk_acceptance(risk, policy)) {
                (Some(by), _) => by.clone(),
                (None, true) => "awaiting a risk owner".to_string(),
                (None, false) => String::new(),
            },
        })
        .collect()
}

/// Every risk of every assessment in the snapshot, by namespace, assessment and order.
pub fn register(snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> Vec<RiskRow> {
    snapshot
        .assessments()
        .into_iter()
        .flat_map(|a| rows_of(snapshot, a, policy, now))
        .collect()
}

/// The risk register in `format`.
pub fn render(rows: &[RiskRow], format: Format) -> String {
    table::render(format, "Risk register", "risks", COLUMNS, rows)
}
