//! Acceptances recorded under authenticated identity: a control exclusion accepted by an
//! approver, a high-rated risk treated by acceptance accepted by a risk owner. Both work the
//! same way: the entry needs an `acceptedBy`; a member of the deciding groups who did not
//! write the object accepts it (a new or changed entry written by them, or their own name
//! written into a waiting one); any other name is refused; until then the entry waits and
//! counts for nothing.

use super::approval::{Refusal, Requester};
use crate::policy::Policy;
use crate::resources::{Applicability, ControlBindingSpec, ImpactAssessmentSpec, Treatment};

/// One entry that may need an acceptance, as written.
struct Entry<'a> {
    id: &'a str,
    /// Whether it needs an acceptance at all.
    needs: bool,
    /// What was accepted: a change voids the acceptance.
    terms: String,
    accepted_by: Option<&'a str>,
}

/// Who decides entries of one kind, and how they are named in messages.
struct Deciders<'p> {
    may_accept: bool,
    phrase: String,
    what: &'p dyn Fn(&str) -> String,
    field: &'p dyn Fn(&str) -> String,
}

fn after_write(
    old: &[Entry],
    new: &[Entry],
    who: Requester,
    deciders: &Deciders,
) -> Result<(Vec<Option<String>>, Vec<String>), Refusal> {
    let mut accepted = Vec::with_capacity(new.len());
    let mut notes = Vec::new();
    for entry in new {
        if !entry.needs {
            accepted.push(None);
            continue;
        }
        let requested = entry.accepted_by;
        let previous = old.iter().find(|e| e.id == entry.id && e.needs);
        let recorded = previous.and_then(|p| p.accepted_by);
        let unchanged_terms = previous.is_some_and(|p| p.terms == entry.terms);
        let value = if unchanged_terms && requested == recorded {
            recorded.map(str::to_string)
        } else if requested == Some(who.username) || requested.is_none() || requested == recorded {
            // A decision by the requester: a new or changed entry, or an explicit acceptance.
            if deciders.may_accept {
                Some(who.username.to_string())
            } else if requested.is_some() && requested != recorded {
                return Err(format!(
                    "{} may not accept {}: that takes {} who did not write it",
                    who.username,
                    (deciders.what)(entry.id),
                    deciders.phrase
                ));
            } else {
                notes.push(format!(
                    "{} awaits acceptance: {} accepts it by setting {} to their own user name",
                    (deciders.what)(entry.id),
                    deciders.phrase,
                    (deciders.field)(entry.id)
                ));
                None
            }
        } else {
            return Err(format!(
                "{} can only be the name of the member of {} making the request ({} sent \"{}\")",
                (deciders.field)(entry.id),
                deciders.phrase.trim_start_matches("a member of "),
                who.username,
                requested.unwrap_or_default()
            ));
        };
        accepted.push(value);
    }
    Ok((accepted, notes))
}

fn check(new: &[Entry], expected: Vec<Option<String>>, deciders: &Deciders) -> Result<(), Refusal> {
    for (entry, expected) in new.iter().zip(expected) {
        if entry.accepted_by.is_some() && entry.accepted_by != expected.as_deref() {
            return Err(format!(
                "{} \"{}\" was not recorded by aims-operator; is its mutating webhook registered?",
                (deciders.field)(entry.id),
                entry.accepted_by.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

fn exclusions(spec: &ControlBindingSpec) -> Vec<Entry<'_>> {
    spec.controls
        .iter()
        .map(|e| Entry {
            id: &e.id,
            needs: e.applicability == Applicability::Excluded,
            terms: format!(
                "{:?}{:?}",
                e.justification,
                e.exclusion.as_ref().and_then(|x| x.until)
            ),
            accepted_by: e.exclusion.as_ref().and_then(|x| x.accepted_by.as_deref()),
        })
        .collect()
}

fn exclusion_deciders<'p>(
    policy: &Policy,
    author: Option<&str>,
    who: Requester,
    what: &'p dyn Fn(&str) -> String,
    field: &'p dyn Fn(&str) -> String,
) -> Deciders<'p> {
    Deciders {
        may_accept: policy.is_approver(who.groups) && author != Some(who.username),
        phrase: policy.approvers_phrase(),
        what,
        field,
    }
}

/// The `acceptedBy` each control entry of a binding must carry after this write, by index,
/// with notes for entries that await acceptance. Exclusions are accepted by approvers.
pub fn exclusions_after_write(
    old: Option<&ControlBindingSpec>,
    new: &ControlBindingSpec,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
) -> Result<(Vec<Option<String>>, Vec<String>), Refusal> {
    let what = |id: &str| format!("the exclusion of {id}");
    let field = |id: &str| format!("spec.controls[{id}].exclusion.acceptedBy");
    let deciders = exclusion_deciders(policy, author, who, &what, &field);
    let old = old.map(exclusions).unwrap_or_default();
    after_write(&old, &exclusions(new), who, &deciders)
}

/// Checks the `acceptedBy` of every excluded control after all mutation.
pub fn check_exclusions(
    old: Option<&ControlBindingSpec>,
    new: &ControlBindingSpec,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
) -> Result<(), Refusal> {
    let (expected, _) = exclusions_after_write(old, new, author, who, policy)?;
    let what = |id: &str| format!("the exclusion of {id}");
    let field = |id: &str| format!("spec.controls[{id}].exclusion.acceptedBy");
    check(
        &exclusions(new),
        expected,
        &exclusion_deciders(policy, author, who, &what, &field),
    )
}

/// Whether a risk needs a risk owner's acceptance: treated by acceptance and rated (likelihood
/// × severity) above the policy's threshold.
pub fn needs_risk_acceptance(risk: &crate::resources::Risk, policy: &Policy) -> bool {
    risk.treatment == Treatment::Accept
        && u32::from(risk.likelihood) * u32::from(risk.severity)
            > u32::from(policy.risk_acceptance_threshold)
}

fn risks<'a>(spec: &'a ImpactAssessmentSpec, policy: &Policy) -> Vec<Entry<'a>> {
    spec.risks
        .iter()
        .map(|r| Entry {
            id: &r.id,
            needs: needs_risk_acceptance(r, policy),
            terms: format!(
                "{}|{}|{}|{:?}",
                r.description, r.likelihood, r.severity, spec.residual_risk_acceptance
            ),
            accepted_by: r.accepted_by.as_deref(),
        })
        .collect()
}

fn risk_deciders<'p>(
    policy: &Policy,
    author: Option<&str>,
    who: Requester,
    what: &'p dyn Fn(&str) -> String,
    field: &'p dyn Fn(&str) -> String,
) -> Deciders<'p> {
    Deciders {
        may_accept: policy.may_accept_risks(who.groups) && author != Some(who.username),
        phrase: policy.risk_owners_phrase(),
        what,
        field,
    }
}

/// The `acceptedBy` each risk of an assessment must carry after this write, by index, with
/// notes for risks that await acceptance. High-rated risks treated by acceptance are
/// accepted by the policy's risk-acceptance groups.
pub fn risk_acceptances_after_write(
    old: Option<&ImpactAssessmentSpec>,
    new: &ImpactAssessmentSpec,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
) -> Result<(Vec<Option<String>>, Vec<String>), Refusal> {
    let what = |id: &str| format!("risk {id}");
    let field = |id: &str| format!("spec.risks[{id}].acceptedBy");
    let deciders = risk_deciders(policy, author, who, &what, &field);
    let old = old.map(|o| risks(o, policy)).unwrap_or_default();
    after_write(&old, &risks(new, policy), who, &deciders)
}

/// Checks the `acceptedBy` of every risk after all mutation.
pub fn check_risk_acceptances(
    old: Option<&ImpactAssessmentSpec>,
    new: &ImpactAssessmentSpec,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
) -> Result<(), Refusal> {
    let (expected, _) = risk_acceptances_after_write(old, new, author, who, policy)?;
    let what = |id: &str| format!("risk {id}");
    let field = |id: &str| format!("spec.risks[{id}].acceptedBy");
    check(
        &risks(new, policy),
        expected,
        &risk_deciders(policy, author, who, &what, &field),
    )
}
