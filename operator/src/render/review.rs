//! A management review's inputs for people (Markdown), as JSON, and as a ManagementReview
//! manifest to complete with the decisions and actions.

use jiff::Timestamp;

use super::document::{self, Block};
use kube::ResourceExt;

use crate::engine::Snapshot;
use crate::resources::{InternalAudit, ManagementReview, ManagementReviewSpec, ReviewInputs};
use crate::review_inputs::ReviewFormat;

/// The inputs in `format`; for YAML, a ManagementReview named `name` held at `held_at`.
pub fn render(
    inputs: &ReviewInputs,
    format: ReviewFormat,
    name: &str,
    held_at: Timestamp,
) -> Result<String, String> {
    match format {
        ReviewFormat::Markdown => Ok(document::markdown(&blocks(inputs))),
        ReviewFormat::Html => Ok(document::html("Management review inputs", &blocks(inputs))),
        ReviewFormat::Json => serde_json::to_string_pretty(inputs)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        ReviewFormat::Yaml => {
            serde_saphyr::to_string(&draft(inputs, name, held_at)).map_err(|e| e.to_string())
        }
    }
}

/// A ManagementReview carrying `inputs`, for the chair and decisions to be filled in.
pub fn draft(inputs: &ReviewInputs, name: &str, held_at: Timestamp) -> ManagementReview {
    ManagementReview::new(
        name,
        ManagementReviewSpec {
            held_at,
            chair: String::new(),
            attendees: Vec::new(),
            inputs: Some(inputs.clone()),
            decisions: Vec::new(),
            actions: Vec::new(),
        },
    )
}

/// The name a review held at `at` gets by default: `review-YYYY-MM-DD`.
pub fn default_name(at: Timestamp) -> String {
    format!("review-{}", at.strftime("%Y-%m-%d"))
}

fn list(blocks: &mut Vec<Block>, title: &str, items: &[String], none: &str) {
    blocks.push(Block::Heading(2, title.to_string()));
    blocks.push(Block::Paragraph(if items.is_empty() {
        vec![none.to_string()]
    } else {
        items.iter().map(|i| format!("- {i}")).collect()
    }));
}

/// The inputs as document blocks for the meeting.
pub fn blocks(inputs: &ReviewInputs) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(1, "Management review inputs".to_string())];
    let period = match (&inputs.previous_review, inputs.since) {
        (Some(previous), Some(since)) => {
            format!("Period: since management review {previous}, held {since}.")
        }
        _ => "No earlier management review is recorded: everything counts as new.".to_string(),
    };
    blocks.push(Block::Paragraph(vec![
        format!("Gathered {}.", inputs.gathered_at),
        period,
    ]));
    blocks.push(Block::Heading(2, "Objectives".to_string()));
    if inputs.objectives.is_empty() {
        blocks.push(Block::Paragraph(vec![
            "No objectives are set (AIManagementSystem spec.objectives).".to_string(),
        ]));
    } else {
        let headers = ["Objective", "Target", "Value", "Met", "Trend", "Owner"];
        let rows = inputs
            .objectives
            .iter()
            .map(|o| {
                let met = match o.met {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                };
                vec![
                    o.name.clone(),
                    o.target.clone(),
                    o.value.clone(),
                    met.to_string(),
                    o.trend.clone(),
                    o.owner.clone(),
                ]
            })
            .collect();
        blocks.push(Block::Table(
            headers.iter().map(|h| h.to_string()).collect(),
            rows,
        ));
    }
    let n = &inputs.nonconformities;
    blocks.push(Block::Heading(2, "Nonconformities".to_string()));
    blocks.push(Block::Paragraph(vec![format!(
        "{} open ({} major); {} opened and {} closed in the period.",
        n.open, n.open_major, n.opened_since, n.closed_since
    )]));
    list(
        &mut blocks,
        "Overdue corrective actions",
        &n.overdue,
        "None.",
    );
    let i = &inputs.incidents;
    blocks.push(Block::Heading(2, "AI incidents".to_string()));
    blocks.push(Block::Paragraph(vec![format!(
        "{} detected in the period ({} serious); {} open.",
        i.detected_since, i.serious_since, i.open
    )]));
    list(
        &mut blocks,
        "Serious incidents not reported in time",
        &i.reports_overdue,
        "None.",
    );
    list(
        &mut blocks,
        "Internal audits",
        &inputs.audits,
        "None in the period.",
    );
    let unchanged = if inputs.previous_review.is_some() {
        "None."
    } else {
        "No earlier review to compare with."
    };
    list(
        &mut blocks,
        "Changes to the AI system register",
        &inputs.system_changes,
        unchanged,
    );
    list(
        &mut blocks,
        "Changes to the Statement of Applicability",
        &inputs.control_changes,
        unchanged,
    );
    list(
        &mut blocks,
        "Assessments and register reviews falling due",
        &inputs.assessments_due,
        "None within the horizon.",
    );
    list(
        &mut blocks,
        "Open actions of earlier reviews",
        &inputs.open_actions,
        "None.",
    );
    blocks
}

/// A recorded management review for a reader: when, who, the inputs it considered, the
/// decisions and the actions with where they stand.
pub fn review_blocks(review: &ManagementReview) -> Vec<Block> {
    let spec = &review.spec;
    let mut blocks = vec![
        Block::Heading(1, format!("Management review {}", review.name_any())),
        Block::Paragraph(vec![
            format!("Held {}, chaired by {}.", spec.held_at, spec.chair),
            format!("Attendees: {}.", spec.attendees.join(", ")),
        ]),
    ];
    blocks.push(Block::Heading(2, "Decisions".to_string()));
    blocks.push(Block::Paragraph(if spec.decisions.is_empty() {
        vec!["None recorded.".to_string()]
    } else {
        spec.decisions
            .iter()
            .map(|d| match &d.topic {
                Some(topic) => format!("- {} ({topic})", d.description),
                None => format!("- {}", d.description),
            })
            .collect()
    }));
    blocks.push(Block::Heading(2, "Actions".to_string()));
    let date = |t: Option<Timestamp>| t.map(|t| t.strftime("%Y-%m-%d").to_string());
    blocks.push(Block::Table(
        ["Action", "What", "Owner", "Due", "Completed"]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        spec.actions
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.description.clone(),
                    a.owner.clone(),
                    date(a.due_date).unwrap_or_default(),
                    date(a.completed_at).unwrap_or_else(|| "open".to_string()),
                ]
            })
            .collect(),
    ));
    if let Some(inputs) = &spec.inputs {
        // The inputs' own title becomes a section of this document.
        blocks.extend(self::blocks(inputs).into_iter().map(|b| match b {
            Block::Heading(level, text) => Block::Heading((level + 1).min(3), text),
            other => other,
        }));
    }
    blocks
}

/// An internal audit for a reader: scope, auditor, dates, and each finding with the record
/// that tracks it and where that stands.
pub fn audit_blocks(
    snapshot: &Snapshot,
    audit: &InternalAudit,
    policy: &crate::policy::Policy,
    now: Timestamp,
) -> Vec<Block> {
    let name = audit.name_any();
    let spec = &audit.spec;
    let completed = spec
        .completed_at
        .map_or("under way".to_string(), |t| t.to_string());
    let mut scope = vec![
        format!("Scope: {}", spec.scope.statement),
        format!("Auditor: {}", spec.auditor),
        format!("Started {}; completed {completed}.", spec.started_at),
    ];
    if !spec.scope.namespaces.is_empty() {
        scope.push(format!("Namespaces: {}", spec.scope.namespaces.join(", ")));
    }
    if !spec.scope.controls.is_empty() {
        scope.push(format!("Controls: {}", spec.scope.controls.join(", ")));
    }
    vec![
        Block::Heading(1, format!("Internal audit {name}")),
        Block::Paragraph(scope),
        Block::Table(
            [
                "Finding",
                "Classification",
                "Control",
                "System",
                "Record",
                "Stands",
                "What",
            ]
            .iter()
            .map(|h| h.to_string())
            .collect(),
            spec.findings
                .iter()
                .map(|f| {
                    vec![
                        f.id.clone(),
                        f.classification.as_str().to_string(),
                        f.control.clone().unwrap_or_default(),
                        f.system.clone().unwrap_or_default(),
                        f.record(&name)
                            .map(|(ns, n)| format!("{ns}/{n}"))
                            .unwrap_or_default(),
                        crate::engine::audit::finding_state(snapshot, &name, f, policy, now),
                        f.description.clone(),
                    ]
                })
                .collect(),
        ),
    ]
}
