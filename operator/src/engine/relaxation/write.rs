//! The relaxation record through a write: what the mutating webhook records and what the
//! validating webhook accepts, from the request's `userInfo`.

use kube::ResourceExt;

use super::{Field, Weakening, annotation, approve_command, weakenings};
use crate::engine::approval::{Refusal, Requester, fresh};
use crate::policy::Policy;
use crate::resources::{
    AISystem, AUTHOR_ANNOTATION, Approved, EnforcementMode, RELAXATION_ANNOTATION, Relaxation,
};

/// A write of an AISystem as the webhook sees it.
#[derive(Clone, Copy)]
pub struct SystemWrite<'a> {
    /// The stored object; `None` at creation.
    pub old: Option<&'a AISystem>,
    /// The object as written.
    pub new: &'a AISystem,
    /// The mode that applies without the system's own: its namespace's, or the default.
    pub baseline: EnforcementMode,
}

/// The relaxation annotation after a write, with warnings for the requester.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AfterWrite {
    /// The annotation's value (`None`: none).
    pub annotation: Option<String>,
    /// What the requester should know: values of theirs that count for nothing.
    pub warnings: Vec<String>,
}

/// The relaxation annotation a system must carry after this write.
///
/// - The recorded one is kept (a manifest that leaves it out keeps it too); approvals the
///   write needs are added to it: for weakening values it does not cover, or for every
///   weakening value when the requester sets the annotation to another value (`approve`).
/// - A value is approved only by someone whose groups decide it and who did not author the
///   system; the entry records the value, who and when.
/// - Otherwise values the object alone shows to be weaker (mode, digests) are kept with a
///   warning and count for nothing; a lowered risk tier or a stage left that forbids
///   running is refused, as nothing but this write would show it. An explicit request for
///   approval from someone who may not give it is refused.
pub fn relaxation_after_write(
    write: &SystemWrite,
    who: Requester,
    policy: &Policy,
    now: jiff::Timestamp,
) -> Result<AfterWrite, Refusal> {
    let recorded_text = write.old.and_then(|o| annotation(o, RELAXATION_ANNOTATION));
    let recorded = recorded_text.and_then(Relaxation::parse);
    let requested = annotation(write.new, RELAXATION_ANNOTATION);
    let old_spec = write.old.map(|o| &o.spec);
    let asks_decision = requested.is_some_and(|r| Some(r) != recorded_text);
    let covered = if asks_decision {
        None
    } else {
        recorded.as_ref()
    };
    let concerned = weakenings(&write.new.spec, old_spec, covered, write.baseline, policy);
    if asks_decision && concerned.is_empty() {
        return Err(format!(
            "the annotation {RELAXATION_ANNOTATION} asks to approve weakening values, but no value of this \
             AISystem weakens the gate; remove the annotation"
        ));
    }
    let author = write
        .old
        .and_then(|o| annotation(o, AUTHOR_ANNOTATION))
        .or(write.old.is_none().then_some(who.username));
    let own = author == Some(who.username);
    let (decided, undecided): (Vec<&Weakening>, Vec<&Weakening>) = concerned
        .iter()
        .partition(|w| w.field.may_decide(policy, who) && !own);
    let why_not = |w: &Weakening| {
        if own && w.field.may_decide(policy, who) {
            format!(
                "{} created this AISystem and cannot approve its own {w}; ask another {}",
                who.username,
                w.field.deciders(policy).trim_start_matches("a ")
            )
        } else {
            format!(
                "{w} is decided by {} ({} has {})",
                w.field.deciders(policy),
                who.username,
                who.groups_phrase()
            )
        }
    };
    let refused: Vec<String> = undecided
        .iter()
        .filter(|w| asks_decision || matches!(w.field, Field::RiskTier | Field::LifecycleStage))
        .map(|w| why_not(w))
        .collect();
    if !refused.is_empty() {
        let ask = if asks_decision {
            "ask them to approve it"
        } else {
            "ask them to make this change (once they have, the same values from anyone are accepted)"
        };
        return Err(format!("{}; {ask}", refused.join("; ")));
    }
    let annotation = if decided.is_empty() {
        recorded_text.map(str::to_string)
    } else {
        let spec = &write.new.spec;
        let mut stamp = recorded.unwrap_or_default();
        for w in &decided {
            match w.field {
                Field::Enforcement => {
                    stamp.enforcement = spec
                        .enforcement
                        .map(|m| Approved::new(m, who.username, now));
                }
                Field::RequireImageDigest => {
                    stamp.require_image_digest = Some(Approved::new(false, who.username, now));
                }
                Field::RiskTier => {
                    stamp.risk_tier = Some(Approved::new(spec.risk_tier, who.username, now));
                }
                Field::LifecycleStage => {
                    stamp.lifecycle_stage =
                        Some(Approved::new(spec.lifecycle_stage, who.username, now));
                }
            }
        }
        Some(stamp.to_annotation())
    };
    let warnings = if undecided.is_empty() {
        Vec::new()
    } else {
        let reasons: Vec<String> = undecided.iter().map(|w| why_not(w)).collect();
        vec![format!(
            "{}. Until one of them approves, the gate applies the stricter value. They approve with: {}",
            reasons.join("; "),
            approve_command(write.new)
        )]
    };
    Ok(AfterWrite {
        annotation,
        warnings,
    })
}

/// Checks the relaxation annotation after all mutation: the recorded one (or none), or
/// exactly what [`relaxation_after_write`] records for this requester, now. Anything else
/// was not written by the webhook and is refused.
pub fn check_relaxation(
    write: &SystemWrite,
    who: Requester,
    policy: &Policy,
    now: jiff::Timestamp,
) -> Result<(), Refusal> {
    let recorded_text = write.old.and_then(|o| annotation(o, RELAXATION_ANNOTATION));
    let present = annotation(write.new, RELAXATION_ANNOTATION);
    let forged = || {
        format!(
            "the annotation {RELAXATION_ANNOTATION} is recorded by aims-operator from the authenticated user \
             and cannot be written; set it to \"approve\" to ask for a decision (is the aims-operator \
             mutating webhook registered?)"
        )
    };
    if present.is_none() || present == recorded_text {
        // Refuses what cannot be kept without a decision (a lowered tier, a stage left).
        return relaxation_after_write(write, who, policy, now).map(|_| ());
    }
    let stamp = present.and_then(Relaxation::parse).ok_or_else(forged)?;
    let at = stamp
        .approvals()
        .into_iter()
        .find(|(by, at)| *by == who.username && fresh(*at, now))
        .map(|(_, at)| at)
        .ok_or_else(forged)?;
    // What the mutating webhook records at `at`, whether or not the requester asked.
    for ask in [recorded_text, Some("approve")] {
        let mut candidate = write.new.clone();
        let annotations = candidate.annotations_mut();
        match ask {
            Some(value) => annotations.insert(RELAXATION_ANNOTATION.to_string(), value.to_string()),
            None => annotations.remove(RELAXATION_ANNOTATION),
        };
        let after = relaxation_after_write(
            &SystemWrite {
                new: &candidate,
                ..*write
            },
            who,
            policy,
            at,
        );
        if after.is_ok_and(|a| {
            a.annotation.as_deref().and_then(Relaxation::parse) == Some(stamp.clone())
        }) {
            return Ok(());
        }
    }
    Err(forged())
}
