//! Renders the Statement of Applicability: Markdown and a self-contained HTML page for
//! people, JSON and CSV for machines.

use std::fmt::Write as _;

use super::csv_field;
use crate::resources::ControlState;
use crate::soa::{SoaRow, StatementOfApplicability};

fn evidence_text(row: &SoaRow) -> String {
    row.evidence
        .iter()
        .map(|e| match (&e.uri, e.next_review) {
            (Some(uri), Some(next)) => format!(
                "{} <{uri}> (review by {})",
                e.description,
                next.strftime("%Y-%m-%d")
            ),
            (Some(uri), None) => format!("{} <{uri}>", e.description),
            (None, Some(next)) => format!(
                "{} (review by {})",
                e.description,
                next.strftime("%Y-%m-%d")
            ),
            (None, None) => e.description.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn systems_text(row: &SoaRow) -> String {
    row.systems
        .iter()
        .map(|s| format!("{}: {}", s.system, s.state.as_str()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn totals_line(soa: &StatementOfApplicability) -> String {
    soa.totals
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown, readable in a terminal and rendered by Git hosting.
/// The statement in `format`.
pub fn render(soa: &StatementOfApplicability, format: super::Format) -> String {
    match format {
        super::Format::Markdown => markdown(soa),
        super::Format::Html => html(soa),
        super::Format::Json => json(soa),
        super::Format::Csv => csv(soa),
    }
}

pub fn markdown(soa: &StatementOfApplicability) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Statement of Applicability — ISO/IEC 42001 Annex A\n"
    );
    let _ = writeln!(
        out,
        "Generated {} from {}. Controls: {}.\n",
        soa.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        soa.scope,
        totals_line(soa)
    );
    if !soa.aims_scope.is_empty() {
        let _ = writeln!(
            out,
            "Scope of the AI management system: {}\n",
            soa.aims_scope
        );
    }
    if !soa.objectives.is_empty() {
        let _ = writeln!(
            out,
            "## Objectives\n\n| Objective | Target | Now | Met | Trend | Owner |\n|---|---|---|---|---|---|"
        );
        for o in &soa.objectives {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md_cell(&o.name),
                md_cell(&o.target),
                o.value,
                met_word(o.met, "**no**"),
                md_cell(&o.trend),
                md_cell(&o.owner)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## AI system register\n");
    if soa.register.is_empty() {
        let _ = writeln!(out, "No AI system is registered.\n");
    } else {
        let _ = writeln!(
            out,
            "| System | Owner | Risk | Stage | Assessment | Compliant | Review | Models | Suppliers | Human oversight | Relaxations |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
        for s in &soa.register {
            let _ = writeln!(
                out,
                "| {}/{} ({}){} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.namespace,
                s.name,
                md_cell(&s.display_name),
                if s.out_of_scope.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", md_cell(&s.out_of_scope))
                },
                md_cell(if s.owner.is_empty() {
                    "**none**"
                } else {
                    &s.owner
                }),
                s.risk_tier,
                s.lifecycle_stage,
                md_cell(&s.assessment),
                if s.compliant { "yes" } else { "**no**" },
                md_cell(&s.review),
                md_cell(&s.models.join(", ")),
                md_cell(&s.suppliers.join(", ")),
                md_cell(&s.human_oversight),
                md_cell(&s.relaxations),
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Controls\n");
    let _ = writeln!(
        out,
        "| Control | Title | Applicability | Status | Justification | Implementation | Evidence | Systems | Verified |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for r in &soa.controls {
        let status = if r.is_open() {
            format!("**{}**", r.status_phrase())
        } else {
            r.status_phrase()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            r.title,
            r.applicability,
            status,
            md_cell(&r.justification.join("; ")),
            md_cell(&r.implementation.join("; ")),
            md_cell(&evidence_text(r)),
            md_cell(&systems_text(r)),
            r.last_verified.strftime("%Y-%m-%d"),
        );
    }
    let mut open: Vec<String> = soa
        .controls
        .iter()
        .filter(|r| r.is_open())
        .map(|r| format!("{} {}: {}", r.id, r.title, open_point(r)))
        .collect();
    open.extend(system_findings(soa));
    if !open.is_empty() {
        let _ = writeln!(out, "\n## Open points\n");
        for line in open {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

/// One line per finding that keeps a system from compliance, named by the system.
fn system_findings(soa: &StatementOfApplicability) -> Vec<String> {
    soa.register
        .iter()
        .flat_map(|s| {
            s.findings
                .iter()
                .map(move |f| format!("{}/{}: {f}", s.namespace, s.name))
        })
        .collect()
}

/// `yes`, `no` (as given), or nothing when the objective is not measured against a number.
fn met_word(met: Option<bool>, no: &'static str) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => no,
        None => "",
    }
}

/// One line for a control that is not met: gaps as a list of systems, other states with why.
fn open_point(row: &SoaRow) -> String {
    if row.systems.is_empty() {
        return "not addressed (no AI system in scope)".to_string();
    }
    let gaps: Vec<&str> = row
        .systems
        .iter()
        .filter(|s| s.state == ControlState::Gap)
        .map(|s| s.system.as_str())
        .collect();
    let mut parts: Vec<String> = row
        .systems
        .iter()
        .filter(|s| !s.state.is_met() && s.state != ControlState::Gap)
        .map(|s| format!("{} for {} ({})", s.state.as_str(), s.system, s.message))
        .collect();
    if !gaps.is_empty() {
        parts.insert(0, format!("not addressed for {}", gaps.join(", ")));
    }
    parts.join("; ")
}

/// JSON, the full structure.
pub fn json(soa: &StatementOfApplicability) -> String {
    serde_json::to_string_pretty(soa).unwrap_or_default()
}

/// CSV, one row per control, for spreadsheets and GRC tools.
pub fn csv(soa: &StatementOfApplicability) -> String {
    let mut out = String::from(
        "control,title,group,check,eu_ai_act,nist_ai_rmf,applicability,status,justification,implementation,evidence,systems,last_verified\r\n",
    );
    for r in &soa.controls {
        let fields = [
            r.id.to_string(),
            r.title.to_string(),
            r.group.to_string(),
            r.check.as_str().to_string(),
            r.eu_ai_act.unwrap_or_default().to_string(),
            format!("{:?}", r.nist_ai_rmf),
            r.applicability.to_string(),
            r.status_phrase(),
            r.justification.join("; "),
            r.implementation.join("; "),
            evidence_text(r),
            systems_text(r),
            r.last_verified.to_string(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// The report: a self-contained HTML page (no scripts, no external assets) an auditor can
/// open or print.
pub fn html(soa: &StatementOfApplicability) -> String {
    super::report::html(soa)
}
