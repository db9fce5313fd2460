//! One impact assessment rendered for a person: impacts by area, the risk matrix before and
//! after treatment, the treatment with its controls' state now, the acceptance rationale and
//! the approval record with what it bound. `aims-operator assessment` and
//! `kubectl aims assessment` both print it, in Markdown, HTML, JSON or CSV (one row per risk).

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::render::Format;
use crate::render::document::{self, Block};
use crate::render::table;
use crate::resources::ImpactAssessment;
use crate::risks::{self, RiskRow};

/// One impact of the assessment.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ImpactRow {
    /// Who or what it falls on.
    pub area: String,
    /// Beneficial or harmful.
    pub direction: String,
    /// The impact in a sentence.
    pub description: String,
}

/// The approval as recorded, with what it bound of the AISystem.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    /// `Approved` or `Rejected`.
    pub decision: String,
    /// Who decided (empty when the webhook did not record it).
    pub decided_by: String,
    /// When, RFC 3339.
    pub decided_at: String,
    /// The approver's comment.
    pub comment: String,
    /// SHA-256 of the assessed content at decision time.
    pub content_hash: String,
    /// The AISystem's material fields the approval bound (empty for approvals recorded before
    /// fields were bound).
    pub bound_fields: Vec<String>,
    /// Those of them that differ now: any entry voids the approval.
    pub changed_since: Vec<String>,
}

/// One assessment, everything a reader needs.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentView {
    /// Namespace.
    pub namespace: String,
    /// The assessment's name.
    pub name: String,
    /// The AI system assessed.
    pub system: String,
    /// Its phase now (Draft, Approved, Voided, ...).
    pub phase: String,
    /// Why it is in this phase, and what to do.
    pub message: String,
    /// The assessor's summary.
    pub summary: String,
    /// The model versions it covers.
    pub covers: Vec<String>,
    /// Impacts by area.
    pub impacts: Vec<ImpactRow>,
    /// Each risk with its rating, treatment, controls' state and acceptance.
    pub risks: Vec<RiskRow>,
    /// The rationale for the residual risk that remains.
    pub residual_risk_acceptance: String,
    /// The approval record, when a decision was made.
    pub approval: Option<ApprovalRecord>,
}

/// Reads `assessment` as the engine judges it now.
pub fn view(
    snapshot: &Snapshot,
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> AssessmentView {
    let spec = &assessment.spec;
    let namespace = assessment.namespace().unwrap_or_default();
    let state = snapshot.assessment_state(assessment, policy, now);
    let system = snapshot.system(&namespace, &spec.system_ref);
    AssessmentView {
        name: assessment.name_any(),
        system: spec.system_ref.clone(),
        phase: state.phase.as_str().to_string(),
        message: state.message,
        summary: spec.summary.clone().unwrap_or_default(),
        covers: spec
            .models
            .iter()
            .map(|m| format!("{} {}", m.name.as_deref().unwrap_or("any model"), m.version))
            .collect(),
        impacts: spec
            .impacts
            .iter()
            .map(|i| ImpactRow {
                area: format!("{:?}", i.area),
                direction: format!("{:?}", i.direction),
                description: i.description.clone(),
            })
            .collect(),
        risks: risks::rows_of(snapshot, assessment, policy, now),
        residual_risk_acceptance: spec.residual_risk_acceptance.clone().unwrap_or_default(),
        approval: spec.approval.as_ref().map(|a| ApprovalRecord {
            decision: format!("{:?}", a.decision),
            decided_by: a.decided_by.clone().unwrap_or_default(),
            decided_at: a.decided_at.map(|t| t.to_string()).unwrap_or_default(),
            comment: a.comment.clone().unwrap_or_default(),
            content_hash: a.content_hash.clone().unwrap_or_default(),
            bound_fields: a
                .system_fields
                .fields()
                .into_iter()
                .map(String::from)
                .collect(),
            changed_since: system
                .map(|s| a.system_fields.changed(&s.spec))
                .unwrap_or_default()
                .into_iter()
                .map(String::from)
                .collect(),
        }),
        namespace,
    }
}

/// A 5×5 likelihood × severity grid with the risk IDs in their cells, likelihood 5 on top.
fn matrix(title: &str, placed: &[(&str, u8, u8)]) -> [Block; 2] {
    let headers = std::iter::once("likelihood \\ severity".to_string())
        .chain((1..=5).map(|s: u8| s.to_string()))
        .collect();
    let rows = (1..=5u8)
        .rev()
        .map(|likelihood| {
            std::iter::once(likelihood.to_string())
                .chain((1..=5u8).map(|severity| {
                    placed
                        .iter()
                        .filter(|(_, l, s)| (*l, *s) == (likelihood, severity))
                        .map(|(id, _, _)| *id)
                        .collect::<Vec<_>>()
                        .join(", ")
                }))
                .collect()
        })
        .collect();
    [
        Block::Heading(3, title.to_string()),
        Block::Table(headers, rows),
    ]
}

fn or(text: &str, otherwise: &str) -> String {
    if text.is_empty() {
        otherwise.to_string()
    } else {
        text.to_string()
    }
}

/// The approval record as lines of a paragraph.
fn approval_lines(approval: Option<&ApprovalRecord>) -> Vec<String> {
    let Some(a) = approval else {
        return vec!["Not decided yet.".to_string()];
    };
    let comment = if a.comment.is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", a.comment)
    };
    let bound = if a.bound_fields.is_empty() {
        "none (approved before they were recorded)".to_string()
    } else {
        a.bound_fields.join(", ")
    };
    let mut lines = vec![
        format!(
            "{} by {} at {}{comment}",
            a.decision,
            or(&a.decided_by, "(not recorded)"),
            a.decided_at
        ),
        format!("Content hash: {}", or(&a.content_hash, "(not recorded)")),
        format!("System fields bound: {bound}"),
    ];
    if !a.changed_since.is_empty() {
        lines.push(format!(
            "Changed since the approval: {} (the approval no longer covers the system)",
            a.changed_since.join(", ")
        ));
    }
    lines
}

/// The view as a document: the same blocks make the Markdown and the HTML.
fn blocks(view: &AssessmentView) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(
            1,
            format!("Impact assessment {}/{}", view.namespace, view.name),
        ),
        Block::Paragraph(vec![
            format!("AI system: {}", view.system),
            format!("Phase: {} — {}", view.phase, view.message),
        ]),
    ];
    if !view.summary.is_empty() {
        blocks.push(Block::Paragraph(vec![view.summary.clone()]));
    }
    blocks.push(Block::Paragraph(vec![format!(
        "Covers: {}",
        view.covers.join(", ")
    )]));
    blocks.push(Block::Heading(2, "Impacts".to_string()));
    blocks.push(Block::Table(
        vec!["Area".into(), "Direction".into(), "Impact".into()],
        view.impacts
            .iter()
            .map(|i| vec![i.area.clone(), i.direction.clone(), i.description.clone()])
            .collect(),
    ));
    blocks.push(Block::Heading(2, "Risks".to_string()));
    let before: Vec<(&str, u8, u8)> = view
        .risks
        .iter()
        .map(|r| (r.risk.as_str(), r.likelihood, r.severity))
        .collect();
    let after: Vec<(&str, u8, u8)> = view
        .risks
        .iter()
        .filter_map(|r| {
            Some((
                r.risk.as_str(),
                r.residual_likelihood?,
                r.residual_severity?,
            ))
        })
        .collect();
    blocks.extend(matrix("Before treatment", &before));
    blocks.extend(matrix("After treatment", &after));
    blocks.push(Block::Heading(3, "Treatment".to_string()));
    let columns = &risks::COLUMNS[3..];
    blocks.push(Block::Table(
        columns.iter().map(|(h, _)| h.to_string()).collect(),
        view.risks
            .iter()
            .map(|r| columns.iter().map(|(_, value)| value(r)).collect())
            .collect(),
    ));
    if !view.residual_risk_acceptance.is_empty() {
        blocks.push(Block::Paragraph(vec![format!(
            "Residual risk acceptance: {}",
            view.residual_risk_acceptance
        )]));
    }
    blocks.push(Block::Heading(2, "Approval".to_string()));
    blocks.push(Block::Paragraph(approval_lines(view.approval.as_ref())));
    blocks
}

/// The view in `format`; CSV is the treatment table, one row per risk.
pub fn render(view: &AssessmentView, format: Format) -> String {
    match format {
        Format::Markdown => document::markdown(&blocks(view)),
        Format::Html => document::html(
            &format!("Impact assessment {}/{}", view.namespace, view.name),
            &blocks(view),
        ),
        Format::Json => serde_json::to_string_pretty(view).unwrap_or_default() + "\n",
        Format::Csv => table::csv(risks::COLUMNS, &view.risks),
    }
}

/// The assessment `name` (in `namespace`, when given); an error that says what exists when
/// it is missing or the name is ambiguous.
pub fn find<'s>(
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
