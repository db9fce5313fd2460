//! The report's controls in detail: one row per control, its evidence as links and how its
//! systems stand, those falling short named and linked to their sections.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{SYSTEMS_NAMED, anchor, e};
use crate::resources::ControlState;
use crate::soa::{SoaRow, StatementOfApplicability};

/// Evidence as links where it has a web address.
fn evidence(row: &SoaRow) -> String {
    row.evidence
        .iter()
        .map(|ev| {
            let text = e(&ev.description);
            let linked = match &ev.uri {
                Some(uri) if uri.starts_with("https://") || uri.starts_with("http://") => {
                    format!("<a href=\"{}\">{text}</a>", e(uri))
                }
                Some(uri) => format!("{text} <small>{}</small>", e(uri)),
                None => text,
            };
            match ev.next_review {
                Some(next) => format!(
                    "{linked} <small>review by {}</small>",
                    next.strftime("%Y-%m-%d")
                ),
                None => linked,
            }
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The systems of a control: how many stand in each state, and which ones fall short,
/// each linked to its section.
fn control_systems(row: &SoaRow) -> String {
    let mut counts: BTreeMap<ControlState, usize> = BTreeMap::new();
    for s in &row.systems {
        *counts.entry(s.state).or_default() += 1;
    }
    let mut text: String = counts
        .iter()
        .map(|(state, n)| format!("<span class=\"s {0}\">{0}</span> {n} ", state.as_str()))
        .collect();
    let short: Vec<&crate::soa::SystemControl> =
        row.systems.iter().filter(|s| !s.state.is_met()).collect();
    // Named up to a screenful; the rest are counted, and each system's section says it.
    for s in short.iter().take(SYSTEMS_NAMED) {
        let id = anchor(&s.system);
        let _ = write!(
            text,
            "<div><a href=\"#{id}\">{}</a> <small>{}</small></div>",
            e(&s.system),
            e(&s.message)
        );
    }
    if short.len() > SYSTEMS_NAMED {
        let _ = write!(
            text,
            "<div><small>and {} more falling short: see each system's section</small></div>",
            short.len() - SYSTEMS_NAMED
        );
    }
    text
}

/// The controls section: each control's row, with its evidence and its systems.
pub(super) fn controls(out: &mut String, soa: &StatementOfApplicability) {
    out.push_str("<h2 id=\"controls\">Controls</h2><table><tr><th>Control</th><th>Applicability</th><th>Status</th><th>EU AI Act</th><th>NIST AI RMF</th><th>Justification</th><th>Implementation</th><th>Evidence</th><th>Systems</th><th>Verified</th></tr>\n");
    for r in &soa.controls {
        let _ = writeln!(
            out,
            "<tr id=\"{0}\"><td><b>{0}</b> {1}<br><small>{2} · {3}</small></td><td>{4}</td><td><span class=\"s {5}\">{6}</span></td><td>{7}</td><td>{8}</td><td>{9}</td><td>{10}</td><td>{11}</td><td>{12}</td><td>{13}</td></tr>",
            e(r.id),
            e(r.title),
            e(r.group),
            r.check.as_str(),
            r.applicability,
            r.status.as_str(),
            e(&r.status_phrase()),
            e(r.eu_ai_act.unwrap_or("—")),
            format!("{:?}", r.nist_ai_rmf).to_uppercase(),
            e(&r.justification.join("; ")),
            e(&r.implementation.join("; ")),
            evidence(r),
            control_systems(r),
            r.last_verified.strftime("%Y-%m-%d"),
        );
    }
    out.push_str("</table>\n");
}
