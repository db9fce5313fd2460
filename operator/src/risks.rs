//! Risks for people: the consolidated risk register (every risk of every assessment, with its
//! system, owner, rating, treatment and the live state of its controls) and one assessment
//! rendered in full (impacts by area, the risk matrix before and after treatment, the
//! treatment and its controls, the acceptance rationale and the approval record).

use std::fmt::Write as _;

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
    /// Likelihood × severity before treatment, as `L×S=R`.
    pub rating: String,
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

fn rows_of(
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
            rating: rating(risk.likelihood, risk.severity),
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

/// A 5×5 likelihood × severity grid with the risk IDs in their cells.
fn matrix(out: &mut String, title: &str, placed: &[(String, u8, u8)]) {
    let _ = writeln!(
        out,
        "\n### {title}\n\n| likelihood \\ severity | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|"
    );
    for likelihood in (1..=5).rev() {
        let _ = write!(out, "| {likelihood} |");
        for severity in 1..=5 {
            let ids: Vec<&str> = placed
                .iter()
                .filter(|(_, l, s)| *l == likelihood && *s == severity)
                .map(|(id, _, _)| id.as_str())
                .collect();
            let _ = write!(out, " {} |", ids.join(", "));
        }
        out.push('\n');
    }
}

/// One assessment for a person, in Markdown.
pub fn assessment_markdown(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> String {
    let spec = &assessment.spec;
    let state = snapshot.assessment_state(assessment, policy, now);
    let mut out = format!(
        "# Impact assessment {}/{}\n\nAI system: {}  \nPhase: {} — {}\n",
        assessment.namespace().unwrap_or_default(),
        assessment.name_any(),
        spec.system_ref,
        state.phase.as_str(),
        state.message
    );
    if let Some(summary) = &spec.summary {
        let _ = writeln!(out, "\n{summary}");
    }
    let covered: Vec<String> = spec
        .models
        .iter()
        .map(|m| format!("{} {}", m.name.as_deref().unwrap_or("any model"), m.version))
        .collect();
    let _ = writeln!(out, "\nCovers: {}", covered.join(", "));
    let _ = writeln!(
        out,
        "\n## Impacts\n\n| Area | Direction | Impact |\n|---|---|---|"
    );
    for impact in &spec.impacts {
        let _ = writeln!(
            out,
            "| {:?} | {:?} | {} |",
            impact.area,
            impact.direction,
            table::cell(&impact.description)
        );
    }
    let _ = writeln!(out, "\n## Risks");
    let before: Vec<(String, u8, u8)> = spec
        .risks
        .iter()
        .map(|r| (r.id.clone(), r.likelihood, r.severity))
        .collect();
    let after: Vec<(String, u8, u8)> = spec
        .risks
        .iter()
        .filter_map(|r| Some((r.id.clone(), r.residual_likelihood?, r.residual_severity?)))
        .collect();
    matrix(&mut out, "Before treatment", &before);
    matrix(&mut out, "After treatment", &after);
    let rows = rows_of(snapshot, assessment, policy, now);
    let _ = writeln!(
        out,
        "\n### Treatment\n\n| Risk | Description | Rating | Treatment | Controls (state now) | Residual | Accepted by |\n|---|---|---|---|---|---|---|"
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            table::cell(&r.risk),
            table::cell(&r.description),
            r.rating,
            r.treatment,
            r.controls.join("; "),
            r.residual,
            table::cell(&r.accepted_by)
        );
    }
    if let Some(rationale) = &spec.residual_risk_acceptance {
        let _ = writeln!(out, "\nResidual risk acceptance: {rationale}");
    }
    let _ = writeln!(out, "\n## Approval\n");
    match &spec.approval {
        Some(a) => {
            let _ = writeln!(
                out,
                "{:?} by {} at {}{}  \nContent hash: {}  \nSystem fields bound: {}",
                a.decision,
                a.decided_by.as_deref().unwrap_or("(not recorded)"),
                a.decided_at.map(|t| t.to_string()).unwrap_or_default(),
                a.comment
                    .as_ref()
                    .map(|c| format!(": \"{c}\""))
                    .unwrap_or_default(),
                a.content_hash.as_deref().unwrap_or("(not recorded)"),
                if a.system_fields.is_empty() {
                    "none (approved before they were recorded)"
                } else {
                    "yes"
                }
            );
        }
        None => {
            let _ = writeln!(out, "Not decided yet.");
        }
    }
    out
}

/// The assessment `name` (in `namespace`, when given); an error that says what exists when
/// it is missing or the name is ambiguous.
pub fn find_assessment<'s>(
    snapshot: &'s Snapshot,
    name: &str,
    namespace: Option<&str>,
) -> Result<&'s ImpactAssessment, String> {
    let all = snapshot.assessments();
    let found: Vec<&ImpactAssessment> = all
        .iter()
        .copied()
        .filter(|a| a.name_any() == name)
        .filter(|a| namespace.is_none_or(|ns| a.namespace().as_deref() == Some(ns)))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => {
            let names: Vec<String> = all
                .iter()
                .map(|a| format!("{}/{}", a.namespace().unwrap_or_default(), a.name_any()))
                .collect();
            Err(format!(
                "no ImpactAssessment {name}{}; there are: {}",
                namespace
                    .map(|ns| format!(" in namespace {ns}"))
                    .unwrap_or_default(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        }
        many => Err(format!(
            "ImpactAssessment {name} exists in namespaces {}; choose one with --namespace",
            many.iter()
                .map(|a| a.namespace().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
