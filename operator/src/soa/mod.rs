//! The Statement of Applicability: all 38 Annex A controls with applicability,
//! justification, implementation, status, evidence and verification time, built from a
//! snapshot (live cluster or files), plus the AI system register it rests on.

use std::collections::BTreeMap;

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::catalog::{CONTROLS, CheckKind, Control, NistFunction};
use crate::engine::Snapshot;
use crate::engine::controls::control_outcome;
use crate::engine::status::{evaluate_system, types};
use crate::policy::Policy;
use crate::resources::{AISystem, Applicability, ControlState};

mod objectives;
pub use objectives::*;

/// The whole statement.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct StatementOfApplicability {
    /// When it was built.
    pub generated_at: Timestamp,
    /// What it covers (cluster, namespaces, files).
    pub scope: String,
    /// The AI management system's scope statement, with what it leaves out; empty without
    /// an AIManagementSystem.
    pub aims_scope: String,
    /// The AIMS objectives, with the value now where the cluster measures them.
    pub objectives: Vec<ObjectiveRow>,
    /// The AI system register.
    pub register: Vec<RegisterEntry>,
    /// One row per Annex A control, in document order.
    pub controls: Vec<SoaRow>,
    /// Number of controls in each status.
    pub totals: BTreeMap<&'static str, usize>,
}

/// Why `system` is outside the AI management system's scope; empty when it is in it.
fn out_of_scope(snapshot: &Snapshot, system: &AISystem) -> String {
    if snapshot.in_scope(system) {
        return String::new();
    }
    let (ns, name) = (system.namespace().unwrap_or_default(), system.name_any());
    let reason = snapshot
        .organisation()
        .and_then(|aims| {
            aims.spec
                .scope
                .excluded
                .iter()
                .find(|x| x.what == ns || x.what == format!("{ns}/{name}"))
        })
        .map_or("its namespace is not listed in the scope", |x| {
            x.reason.as_str()
        });
    format!("out of the AIMS scope: {reason}")
}

/// Conditions the register shows in columns of their own, or that sum up the others.
const OWN_COLUMN: &[&str] = &[
    types::COMPLIANT,
    types::RELAXATIONS_APPROVED,
    types::REVIEW_OVERDUE,
];

/// One AI system in the register.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RegisterEntry {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Accountable owner, or empty.
    pub owner: String,
    /// Risk tier.
    pub risk_tier: &'static str,
    /// Life-cycle stage.
    pub lifecycle_stage: &'static str,
    /// Assessment summary (covering assessment or why none).
    pub assessment: String,
    /// Whether the system is compliant.
    pub compliant: bool,
    /// Models as `name version`.
    pub models: Vec<String>,
    /// Suppliers of third-party models.
    pub suppliers: Vec<String>,
    /// Human oversight: when and who, or empty.
    pub human_oversight: String,
    /// Values that ask less of the gate than the namespace and tier do: who approved them,
    /// or that they count for nothing and how to make them count. Empty when there are none.
    pub relaxations: String,
    /// When the register entry is next due for review, or since when it is overdue; empty
    /// without a review schedule.
    pub review: String,
    /// Empty when the system is in the AI management system's scope; otherwise why not.
    pub out_of_scope: String,
    /// What keeps the system from compliance, one condition each as `Type: message` (e.g.
    /// which AISystem field changed since its assessment was approved); empty when compliant.
    pub findings: Vec<String>,
}

/// How one control stands for one system.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    /// `namespace/name` of the system.
    pub system: String,
    /// State.
    pub state: ControlState,
    /// Why.
    pub message: String,
    /// The binding the state comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
}

/// A piece of evidence, as listed in the SoA.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceRef {
    /// What it is.
    pub description: String,
    /// Where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// When it was reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<Timestamp>,
    /// When it is due for review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_review: Option<Timestamp>,
}

/// One row of the statement.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SoaRow {
    /// Control ID.
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Objective group.
    pub group: &'static str,
    /// How it can be checked.
    pub check: CheckKind,
    /// Indicative EU AI Act article(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eu_ai_act: Option<&'static str>,
    /// Indicative NIST AI RMF function.
    pub nist_ai_rmf: NistFunction,
    /// `Applicable`, `Excluded` or `Not addressed`.
    pub applicability: &'static str,
    /// Justifications of exclusions.
    pub justification: Vec<String>,
    /// How it is implemented.
    pub implementation: Vec<String>,
    /// Overall status: the worst across the systems that address the control; `Gap` when
    /// none does.
    pub status: ControlState,
    /// Systems in scope for which nobody addressed the control.
    pub not_covered: Vec<String>,
    /// Evidence references.
    pub evidence: Vec<EvidenceRef>,
    /// Per-system detail.
    pub systems: Vec<SystemControl>,
    /// When the status was established.
    pub last_verified: Timestamp,
}

impl SoaRow {
    /// Whether the control is a gap (nobody addressed it for any system in scope).
    pub fn is_gap(&self) -> bool {
        self.status == ControlState::Gap
    }

    /// Whether the control needs attention: not met, or not covered for some system.
    pub fn is_open(&self) -> bool {
        !self.status.is_met() || !self.not_covered.is_empty()
    }

    /// The status with the number of systems it does not cover, e.g. `Verified (2 not covered)`.
    pub fn status_phrase(&self) -> String {
        if self.not_covered.is_empty() || self.is_gap() {
            self.status.as_str().to_string()
        } else {
            format!(
                "{} ({} not covered)",
                self.status.as_str(),
                self.not_covered.len()
            )
        }
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn row(control: &Control, snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> SoaRow {
    let mut row = SoaRow {
        id: control.id,
        title: control.title,
        group: control.group,
        check: control.check,
        eu_ai_act: control.eu_ai_act,
        nist_ai_rmf: control.nist_ai_rmf,
        applicability: "Not addressed",
        justification: Vec::new(),
        implementation: Vec::new(),
        status: ControlState::Gap,
        not_covered: Vec::new(),
        evidence: Vec::new(),
        systems: Vec::new(),
        last_verified: now,
    };
    let (mut applicable, mut excluded) = (false, false);
    for entry in snapshot
        .bindings()
        .chain(snapshot.organisation_binding())
        .flat_map(|b| b.spec.controls.iter())
        .filter(|e| e.id == control.id)
    {
        match entry.applicability {
            Applicability::Applicable => applicable = true,
            Applicability::Excluded => excluded = true,
        }
        if let Some(j) = &entry.justification {
            push_unique(&mut row.justification, j.clone());
        }
        if let Some(i) = &entry.implementation {
            push_unique(&mut row.implementation, i.description.clone());
        }
        for e in &entry.evidence {
            push_unique(
                &mut row.evidence,
                EvidenceRef {
                    description: e.description.clone(),
                    uri: e.uri.clone(),
                    reviewed_at: e.reviewed_at,
                    next_review: e.next_review,
                },
            );
        }
    }
    row.applicability = match (applicable, excluded) {
        (true, _) => "Applicable",
        (false, true) => "Excluded",
        (false, false) => "Not addressed",
    };
    let mut worst: Option<ControlState> = None;
    // The statement is the management system's: systems outside its scope are not in it.
    for system in snapshot
        .systems()
        .into_iter()
        .filter(|s| snapshot.in_scope(s))
    {
        let outcome = control_outcome(snapshot, system, control.id, policy, now);
        let name = format!(
            "{}/{}",
            system.namespace().unwrap_or_default(),
            system.name_any()
        );
        if outcome.state == ControlState::Gap {
            row.not_covered.push(name.clone());
        } else {
            worst = Some(worst.map_or(outcome.state, |w| w.max(outcome.state)));
        }
        row.systems.push(SystemControl {
            system: name,
            state: outcome.state,
            message: outcome.message,
            binding: outcome.binding,
        });
    }
    row.status = worst.unwrap_or(ControlState::Gap);
    row
}

/// Builds the statement from a snapshot at `now`.
pub fn build(
    snapshot: &Snapshot,
    policy: &Policy,
    scope: &str,
    now: Timestamp,
) -> StatementOfApplicability {
    let register = snapshot
        .systems()
        .into_iter()
        .map(|s| {
            let evaluation = evaluate_system(snapshot, s, policy, now);
            let relaxations = evaluation
                .conditions
                .iter()
                .find(|c| c.type_ == types::RELAXATIONS_APPROVED && c.reason != "NoneAsked")
                .map(|c| c.message.clone())
                .unwrap_or_default();
            let spec = &s.spec;
            RegisterEntry {
                namespace: s.namespace().unwrap_or_default(),
                name: s.name_any(),
                display_name: spec.display_name.clone(),
                owner: spec
                    .owner
                    .as_ref()
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                risk_tier: spec.risk_tier.as_str(),
                lifecycle_stage: spec.lifecycle_stage.as_str(),
                assessment: evaluation.summary.assessment,
                compliant: evaluation.summary.compliant == "True",
                models: spec
                    .models
                    .iter()
                    .map(|m| format!("{} {}", m.name, m.version))
                    .collect(),
                suppliers: crate::register::suppliers(spec),
                human_oversight: crate::register::oversight(spec),
                relaxations,
                review: crate::register::review_phrase(s, now),
                out_of_scope: out_of_scope(snapshot, s),
                findings: evaluation
                    .conditions
                    .iter()
                    .filter(|c| !c.met && !OWN_COLUMN.contains(&c.type_))
                    .map(|c| format!("{}: {}", c.type_, c.message))
                    .collect(),
            }
        })
        .collect();
    let controls: Vec<SoaRow> = CONTROLS
        .iter()
        .map(|c| row(c, snapshot, policy, now))
        .collect();
    let mut totals = BTreeMap::new();
    for r in &controls {
        *totals.entry(r.status.as_str()).or_insert(0) += 1;
    }
    StatementOfApplicability {
        objectives: objective_rows(snapshot, policy, now),
        generated_at: now,
        scope: scope.to_string(),
        aims_scope: snapshot
            .organisation()
            .map(|aims| {
                let scope = &aims.spec.scope;
                let mut text = scope.statement.trim().to_string();
                for x in &scope.excluded {
                    text.push_str(&format!(" Out of scope: {} ({}).", x.what, x.reason));
                }
                text
            })
            .unwrap_or_default(),
        register,
        controls,
        totals,
    }
}
