//! The Statement of Applicability as a report for people: a document-control block, a
//! summary with charts (controls by status and group, systems by compliance and risk tier,
//! objectives against targets), a section per AI system, and each control in detail with
//! its evidence as links. One self-contained page (no scripts, fonts or files from
//! elsewhere) that prints as a document, and stays readable with hundreds of systems.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{StackedBar, TargetBar, stacked, targets};
use super::escape_xml as e;
use crate::resources::ControlState;
use crate::soa::{RegisterEntry, StatementOfApplicability};

mod controls;
use controls::controls;

/// Most systems named in a control's row; more are counted.
const SYSTEMS_NAMED: usize = 20;

const STATES: [ControlState; 7] = [
    ControlState::Verified,
    ControlState::Implemented,
    ControlState::Excluded,
    ControlState::Planned,
    ControlState::Stale,
    ControlState::Failed,
    ControlState::Gap,
];

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1b1f24;padding:0 1rem}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de}h3{font-size:1.05rem;margin:1.4rem 0 .4rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;vertical-align:top;text-align:left}\
th{background:#f6f8fa}table.doc th{width:12rem}.s{font-weight:600;border-radius:3px;padding:0 .3rem}\
.Verified,.Implemented,.met,.compliant{background:#dafbe1}.Excluded{background:#eaeef2}.Planned,.Stale{background:#fff8c5}\
.Failed,.Gap,.unmet,.noncompliant{background:#ffebe9}svg .Verified,svg .met,svg .compliant{fill:#1a7f37}\
svg .Implemented{fill:#6fdd8b}svg .Excluded{fill:#8c959f}svg .Planned{fill:#eac54f}svg .Stale{fill:#e16f24}\
svg .Failed,svg .unmet,svg .noncompliant{fill:#cf222e}svg .Gap{fill:#82071e}\
svg .label,svg .value,svg .legend{font:12px system-ui,sans-serif;fill:#1b1f24}svg .target{stroke:#1b1f24;stroke-dasharray:4 3}\
.no{color:#cf222e;font-weight:600}small{color:#57606a}nav ul{columns:3;padding-left:1rem}\
.figures{display:flex;gap:1rem;flex-wrap:wrap}.figure{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem}\
.figure b{font-size:1.4rem;display:block}section.system{border-top:1px solid #d0d7de;margin-top:1rem}\
@media print{body{margin:0;max-width:none;font-size:11px}nav{display:none}h2{break-before:page}\
section.system,tr,svg{break-inside:avoid}a[href^=http]::after{content:\" (\" attr(href) \")\";font-size:9px;color:#57606a}}";

/// The report as one HTML page.
pub fn html(soa: &StatementOfApplicability) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Statement of Applicability</title><style>{STYLE}</style></head><body>\n\
         <h1>Statement of Applicability — ISO/IEC 42001 Annex A</h1>\n"
    );
    document_control(&mut out, soa);
    contents(&mut out, soa);
    summary(&mut out, soa);
    objectives(&mut out, soa);
    register(&mut out, soa);
    systems(&mut out, soa);
    controls(&mut out, soa);
    out.push_str("<p><small>Control titles are short paraphrases; see ISO/IEC 42001 for the normative text. EU AI Act and NIST AI RMF links are indicative.</small></p>\n</body></html>\n");
    out
}

fn document_control(out: &mut String, soa: &StatementOfApplicability) {
    let rows = [
        ("Scope of the AIMS", soa.aims_scope.as_str()),
        ("Covers", soa.scope.as_str()),
    ];
    out.push_str("<table class=\"doc\" id=\"document-control\">");
    for (name, value) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = write!(out, "<tr><th>{name}</th><td>{}</td></tr>", e(value));
    }
    let _ = write!(
        out,
        "<tr><th>Period</th><td>The state at generation time</td></tr>\
         <tr><th>Generated</th><td>{} by aims-operator {}</td></tr>\
         <tr><th>Version</th><td>v1alpha1 resources; catalog of {} Annex A controls</td></tr></table>",
        soa.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        env!("CARGO_PKG_VERSION"),
        soa.controls.len()
    );
}

/// The id of a system's section, from its `namespace/name`.
fn anchor(system: &str) -> String {
    format!("system-{}", system.replace('/', "-"))
}

fn anchor_of(entry: &RegisterEntry) -> String {
    anchor(&format!("{}/{}", entry.namespace, entry.name))
}

fn contents(out: &mut String, soa: &StatementOfApplicability) {
    out.push_str("<nav><h2>Contents</h2><ul><li><a href=\"#summary\">Summary</a></li>");
    if !soa.objectives.is_empty() {
        out.push_str("<li><a href=\"#objectives\">Objectives</a></li>");
    }
    let _ = write!(
        out,
        "<li><a href=\"#register\">AI system register</a></li><li><a href=\"#systems\">AI systems ({})</a></li><li><a href=\"#controls\">Controls</a></li></ul></nav>",
        soa.register.len()
    );
}

fn summary(out: &mut String, soa: &StatementOfApplicability) {
    let compliant = soa.register.iter().filter(|s| s.compliant).count();
    let open = soa.controls.iter().filter(|c| c.is_open()).count();
    let _ = write!(
        out,
        "<h2 id=\"summary\">Summary</h2><div class=\"figures\">\
         <div class=\"figure\"><b>{}</b>controls applicable</div>\
         <div class=\"figure\"><b>{}</b>controls with open points</div>\
         <div class=\"figure\"><b>{compliant} / {}</b>AI systems compliant</div></div>",
        soa.controls
            .iter()
            .filter(|c| c.applicability != "Excluded")
            .count(),
        open,
        soa.register.len()
    );
    // The controls come in document order, each group's together: one bar per run.
    let bars: Vec<StackedBar> = soa
        .controls
        .chunk_by(|a, b| a.group == b.group)
        .map(|rows| StackedBar {
            label: rows[0].group.to_string(),
            segments: STATES
                .iter()
                .map(|s| (s.as_str(), rows.iter().filter(|r| r.status == *s).count()))
                .collect(),
        })
        .collect();
    let legend: Vec<&'static str> = STATES.iter().map(|s| s.as_str()).collect();
    out.push_str("<h3>Controls by status and group</h3>");
    out.push_str(&stacked("Controls by status and group", &bars, &legend));
    let mut tiers: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for system in &soa.register {
        let counts = tiers.entry(system.risk_tier).or_default();
        if system.compliant {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    let bars: Vec<StackedBar> = ["Prohibited", "High", "Limited", "Minimal"]
        .iter()
        .filter_map(|tier| {
            tiers.get(tier).map(|(yes, no)| StackedBar {
                label: tier.to_string(),
                segments: vec![("compliant", *yes), ("noncompliant", *no)],
            })
        })
        .collect();
    out.push_str("<h3>AI systems by risk tier and compliance</h3>");
    out.push_str(&stacked(
        "AI systems by risk tier and compliance",
        &bars,
        &["compliant", "noncompliant"],
    ));
    let measured: Vec<TargetBar> = soa
        .objectives
        .iter()
        .filter_map(|o| {
            Some(TargetBar {
                label: o.name.clone(),
                progress: o.progress?,
                value: format!("{} (target {})", o.value, o.target),
                met: o.met.unwrap_or(false),
            })
        })
        .collect();
    if !measured.is_empty() {
        out.push_str("<h3>Objectives against their targets</h3>");
        out.push_str(&targets("Objectives against their targets", &measured));
    }
    out.push('\n');
}

fn objectives(out: &mut String, soa: &StatementOfApplicability) {
    if soa.objectives.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"objectives\">Objectives</h2><table><tr><th>Objective</th><th>Target</th><th>Now</th><th>Met</th><th>Trend</th><th>Owner</th></tr>\n");
    for o in &soa.objectives {
        let met = match o.met {
            Some(true) => "yes",
            Some(false) => "<span class=\"no\">no</span>",
            None => "",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{met}</td><td>{}</td><td>{}</td></tr>",
            e(&o.name),
            e(&o.target),
            e(&o.value),
            e(&o.trend),
            e(&o.owner)
        );
    }
    out.push_str("</table>\n");
}

fn yes_no(yes: bool) -> &'static str {
    if yes {
        "yes"
    } else {
        "<span class=\"no\">no</span>"
    }
}

fn register(out: &mut String, soa: &StatementOfApplicability) {
    out.push_str("<h2 id=\"register\">AI system register</h2><table><tr><th>System</th><th>Owner</th><th>Risk</th><th>Stage</th><th>Assessment</th><th>Compliant</th><th>Review</th></tr>\n");
    for s in &soa.register {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{}\">{}/{}</a><br><small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            anchor_of(s),
            e(&s.namespace),
            e(&s.name),
            e(&s.display_name),
            if s.owner.is_empty() {
                "<span class=\"no\">none</span>".to_string()
            } else {
                e(&s.owner)
            },
            s.risk_tier,
            s.lifecycle_stage,
            e(&s.assessment),
            yes_no(s.compliant),
            e(&s.review),
        );
    }
    out.push_str("</table>\n");
}

fn systems(out: &mut String, soa: &StatementOfApplicability) {
    out.push_str("<h2 id=\"systems\">AI systems</h2>\n");
    // Each system's controls, gathered once rather than searched for per system.
    let mut by_system: BTreeMap<&str, Vec<(&str, ControlState, &str)>> = BTreeMap::new();
    for row in &soa.controls {
        for s in &row.systems {
            by_system.entry(s.system.as_str()).or_default().push((
                row.id,
                s.state,
                s.message.as_str(),
            ));
        }
    }
    for s in &soa.register {
        let key = format!("{}/{}", s.namespace, s.name);
        let _ = write!(
            out,
            "<section class=\"system\" id=\"{}\"><h3>{} <small>{}</small></h3><table class=\"doc\">",
            anchor_of(s),
            e(&key),
            e(&s.display_name)
        );
        for (name, value) in [
            ("Owner", s.owner.clone()),
            (
                "Risk tier, stage",
                format!("{}, {}", s.risk_tier, s.lifecycle_stage),
            ),
            ("Assessment", s.assessment.clone()),
            ("Models", s.models.join(", ")),
            ("Suppliers", s.suppliers.join(", ")),
            ("Human oversight", s.human_oversight.clone()),
            ("Review", s.review.clone()),
            ("Relaxations", s.relaxations.clone()),
            ("Scope", s.out_of_scope.clone()),
        ] {
            if !value.is_empty() {
                let _ = write!(out, "<tr><th>{name}</th><td>{}</td></tr>", e(&value));
            }
        }
        let _ = write!(
            out,
            "<tr><th>Compliant</th><td>{}</td></tr></table>",
            yes_no(s.compliant)
        );
        if !s.findings.is_empty() {
            out.push_str("<ul>");
            for finding in &s.findings {
                let _ = write!(out, "<li>{}</li>", e(finding));
            }
            out.push_str("</ul>");
        }
        if let Some(controls) = by_system.get(key.as_str()) {
            system_controls(out, controls);
        }
        out.push_str("</section>\n");
    }
}

/// A system's controls by state, each a link to its detail; why, for the ones whose check
/// failed or whose evidence went stale (a gap says the same for every control: nothing
/// addresses it).
fn system_controls(out: &mut String, controls: &[(&str, ControlState, &str)]) {
    out.push_str("<table>");
    for state in STATES {
        let here: Vec<&(&str, ControlState, &str)> =
            controls.iter().filter(|(_, s, _)| *s == state).collect();
        if here.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "<tr><td><span class=\"s {0}\">{0}</span> {1}</td><td>",
            state.as_str(),
            here.len()
        );
        let explain = matches!(state, ControlState::Failed | ControlState::Stale);
        let links: Vec<String> = here
            .iter()
            .map(|(id, _, why)| {
                if explain {
                    format!(
                        "<div><a href=\"#{id}\">{id}</a> <small>{}</small></div>",
                        e(why)
                    )
                } else {
                    format!("<a href=\"#{id}\">{id}</a>")
                }
            })
            .collect();
        out.push_str(&links.join(if explain { "" } else { ", " }));
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
}
