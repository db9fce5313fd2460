//! Acceptances recorded under authenticated identity: a control exclusion accepted by an
//! approver, a high-rated risk treated by acceptance accepted by a risk owner. Both work the
//! same way: the entry needs an `acceptedBy`; a member of the deciding groups who did not
//! write the object accepts it (a new or changed entry written by them, or their own name
//! written into a waiting one); any other name is refused; until then the entry waits and
//! counts for nothing.

use super::approval::{Refusal, Requester};
use crate::policy::Policy;
use crate::resources::{
    AIManagementSystemSpec, Applicability, ControlBindingSpec, ControlEntry, ImpactAssessmentSpec,
    Treatment,
};

/// One entry that may need an acceptance, as written.
pub struct Entry<'a> {
    id: &'a str,
    /// Whether it needs an acceptance at all.
    needs: bool,
    /// What was accepted: a change voids the acceptance.
    terms: String,
    accepted_by: Option<&'a str>,
}

/// A kind of object whose entries may need an acceptance: where they are, who decides them
/// and how they are named in messages.
pub trait Accepted {
    /// Its entries, in order.
    fn entries<'a>(&'a self, policy: &Policy) -> Vec<Entry<'a>>;
    /// Whether a user with `groups` decides them.
    fn may_decide(policy: &Policy, groups: &[super::Text]) -> bool;
    /// The deciders, for messages.
    fn deciders(policy: &Policy) -> String;
    /// The entry, for messages.
    fn what(id: &str) -> String;
    /// Where its `acceptedBy` is.
    fn field(id: &str) -> String;
}

/// The exclusions among control entries, each decided by an approver.
fn exclusions(controls: &[ControlEntry]) -> Vec<Entry<'_>> {
    controls
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

/// Organisation-wide exclusions are decided as a binding's are.
impl Accepted for AIManagementSystemSpec {
    fn entries<'a>(&'a self, _: &Policy) -> Vec<Entry<'a>> {
        exclusions(&self.controls)
    }
    fn may_decide(policy: &Policy, groups: &[super::Text]) -> bool {
        ControlBindingSpec::may_decide(policy, groups)
    }
    fn deciders(policy: &Policy) -> String {
        ControlBindingSpec::deciders(policy)
    }
    fn what(id: &str) -> String {
        ControlBindingSpec::what(id)
    }
    fn field(id: &str) -> String {
        ControlBindingSpec::field(id)
    }
}

impl Accepted for ControlBindingSpec {
    fn entries<'a>(&'a self, _: &Policy) -> Vec<Entry<'a>> {
        exclusions(&self.controls)
    }
    fn may_decide(policy: &Policy, groups: &[super::Text]) -> bool {
        policy.is_approver(groups)
    }
    fn deciders(policy: &Policy) -> String {
        policy.approvers_phrase()
    }
    fn what(id: &str) -> String {
        format!("the exclusion of {id}")
    }
    fn field(id: &str) -> String {
        format!("spec.controls[{id}].exclusion.acceptedBy")
    }
}

impl Accepted for ImpactAssessmentSpec {
    fn entries<'a>(&'a self, policy: &Policy) -> Vec<Entry<'a>> {
        self.risks
            .iter()
            .map(|r| Entry {
                id: &r.id,
                needs: needs_risk_acceptance(r, policy),
                terms: format!(
                    "{}|{}|{}|{:?}",
                    r.description, r.likelihood, r.severity, self.residual_risk_acceptance
                ),
                accepted_by: r.accepted_by.as_deref(),
            })
            .collect()
    }
    fn may_decide(policy: &Policy, groups: &[super::Text]) -> bool {
        policy.may_accept_risks(groups)
    }
    fn deciders(policy: &Policy) -> String {
        policy.risk_owners_phrase()
    }
    fn what(id: &str) -> String {
        format!("risk {id}")
    }
    fn field(id: &str) -> String {
        format!("spec.risks[{id}].acceptedBy")
    }
}

/// The `acceptedBy` each entry must carry after this write, by index, with notes for the
/// entries that await acceptance: exclusions of a binding (decided by approvers), high-rated
/// risks of an assessment treated by acceptance (decided by risk owners).
pub fn acceptances_after_write<T: Accepted>(
    old: Option<&T>,
    new: &T,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
) -> Result<(Vec<Option<String>>, Vec<String>), Refusal> {
    let may_accept = T::may_decide(policy, who.groups) && author != Some(who.username);
    let old = old.map(|o| o.entries(policy)).unwrap_or_default();
    let mut accepted = Vec::new();
    let mut notes = Vec::new();
    for entry in new.entries(policy) {
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
            if may_accept {
                Some(who.username.to_string())
            } else if requested.is_some() && requested != recorded {
                return Err(format!(
                    "{} may not accept {}: that takes {} who did not write it",
                    who.username,
                    T::what(entry.id),
                    T::deciders(policy)
                ));
            } else {
                notes.push(format!(
                    "{} awaits acceptance: {} accepts it by setting {} to their own user name",
                    T::what(entry.id),
                    T::deciders(policy),
                    T::field(entry.id)
                ));
                None
            }
        } else {
            return Err(format!(
                "{} can only be the name of the member of {} making the request ({} sent \"{}\")",
                T::field(entry.id),
                T::deciders(policy).trim_start_matches("a member of "),
                who.username,
                requested.unwrap_or_default()
            ));
        };
        accepted.push(value);
    }
    Ok((accepted, notes))
}

/// Checks every `acceptedBy` after all mutation against what [`acceptances_after_write`]
/// records.
pub fn check_acceptances<T: Accepted>(
    old: Option<&T>,
    new: &T,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
) -> Result<(), Refusal> {
    let (expected, _) = acceptances_after_write(old, new, author, who, policy)?;
    for (entry, expected) in new.entries(policy).iter().zip(expected) {
        if entry.accepted_by.is_some() && entry.accepted_by != expected.as_deref() {
            return Err(format!(
                "{} \"{}\" was not recorded by aims-operator; is its mutating webhook registered?",
                T::field(entry.id),
                entry.accepted_by.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// Whether a risk needs a risk owner's acceptance: treated by acceptance and rated (likelihood
/// × severity) above the policy's threshold.
pub fn needs_risk_acceptance(risk: &crate::resources::Risk, policy: &Policy) -> bool {
    risk.treatment == Treatment::Accept
        && u32::from(risk.likelihood) * u32::from(risk.severity)
            > u32::from(policy.risk_acceptance_threshold)
}
