//! Values through which an AISystem could ask less of the gate than its namespace and tier
//! do, and who may let it. An AISystem's author is subject to the gate, so a value of theirs
//! that weakens it counts only once someone who decides such things approved it:
//!
//! - `spec.enforcement` weaker than the namespace's mode, and `spec.requireImageDigest: false`
//!   where the tier requires digests, are decided by platform owners. Unapproved, they are
//!   kept but count for nothing in every shell, which can tell from the object alone: the
//!   stricter value applies and status says what would make the value count.
//! - Lowering `spec.riskTier`, and moving `spec.lifecycleStage` out of a stage in which
//!   workloads may not run, are decided by approvers. Only the previous object shows such a
//!   change, so the webhook refuses it from anyone else.
//!
//! The webhook records an approval in the annotation [`RELAXATION_ANNOTATION`] from the
//! request's `userInfo`; what [`relaxation_after_write`] returns is the only value it may
//! have, as with approval stamps.

use std::fmt;

use kube::ResourceExt;

use super::approval::{Refusal, Requester, fresh};
use crate::policy::Policy;
use crate::resources::{
    AISystem, AISystemSpec, AUTHOR_ANNOTATION, EnforcementMode, RELAXATION_ANNOTATION, Relaxation,
};

/// A field of an AISystem through which the gate could be weakened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `spec.enforcement`.
    Enforcement,
    /// `spec.requireImageDigest`.
    RequireImageDigest,
    /// `spec.riskTier`.
    RiskTier,
    /// `spec.lifecycleStage`.
    LifecycleStage,
}

impl Field {
    /// Where the field is in the object.
    pub fn path(self) -> &'static str {
        match self {
            Self::Enforcement => "spec.enforcement",
            Self::RequireImageDigest => "spec.requireImageDigest",
            Self::RiskTier => "spec.riskTier",
            Self::LifecycleStage => "spec.lifecycleStage",
        }
    }

    fn may_decide(self, policy: &Policy, who: Requester) -> bool {
        match self {
            Self::Enforcement | Self::RequireImageDigest => policy.is_platform_owner(who.groups),
            Self::RiskTier | Self::LifecycleStage => policy.is_approver(who.groups),
        }
    }

    fn deciders(self, policy: &Policy) -> String {
        match self {
            Self::Enforcement | Self::RequireImageDigest => policy.platform_owners_phrase(),
            Self::RiskTier | Self::LifecycleStage => policy.approvers_phrase(),
        }
    }
}

/// One value that asks less of the gate than applies without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weakening {
    /// The field.
    pub field: Field,
    /// The value asked for.
    pub value: String,
    /// What applies without it.
    pub instead: String,
}

impl fmt::Display for Weakening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (instead of {})",
            self.field.path(),
            self.value,
            self.instead
        )
    }
}

fn annotation<'a>(system: &'a AISystem, key: &str) -> Option<&'a str> {
    system.annotations().get(key).map(String::as_str)
}

/// The relaxation recorded on a system when it counts: written by the webhook (which does
/// not look at exempt namespaces) and not approved by the system's own author.
pub fn approved_relaxation(system: &AISystem, policy: &Policy) -> Option<Relaxation> {
    if super::controls::unchecked_namespace(system, policy).is_some() {
        return None;
    }
    let relaxation = Relaxation::parse(annotation(system, RELAXATION_ANNOTATION)?)?;
    (annotation(system, AUTHOR_ANNOTATION) != Some(relaxation.approved_by.as_str()))
        .then_some(relaxation)
}

/// The mode the gate applies to a system's workloads: the system's own where it is at least
/// as strict as `baseline` (the namespace's mode, or the policy's default) or an approved
/// relaxation covers it; `baseline` otherwise.
pub fn honoured_mode(
    requested: Option<EnforcementMode>,
    approved: Option<EnforcementMode>,
    baseline: EnforcementMode,
) -> EnforcementMode {
    match requested {
        Some(mode) if !mode.is_weaker_than(baseline) => mode,
        Some(mode) if approved.is_some_and(|floor| !mode.is_weaker_than(floor)) => mode,
        _ => baseline,
    }
}

/// Whether a system's images must be pinned by digest: the policy's choice for its tier,
/// unless the system asks otherwise and, where that weakens it, an approved relaxation
/// covers it.
pub fn honoured_digest(
    spec: &AISystemSpec,
    approved: Option<&Relaxation>,
    policy: &Policy,
) -> bool {
    let tier_requires = policy.digest_required_tiers.contains(&spec.risk_tier);
    match spec.require_image_digest {
        Some(false) if tier_requires => {
            approved.and_then(|r| r.require_image_digest) != Some(false)
        }
        requested => requested.unwrap_or(tier_requires),
    }
}

/// The values of `new` that weaken the gate and that `covered` does not cover. Risk tier and
/// stage can only weaken relative to `old`.
fn weakenings(
    new: &AISystemSpec,
    old: Option<&AISystemSpec>,
    covered: Option<&Relaxation>,
    baseline: EnforcementMode,
    policy: &Policy,
) -> Vec<Weakening> {
    let mut found = Vec::new();
    if let Some(mode) = new.enforcement
        && honoured_mode(Some(mode), covered.and_then(|c| c.enforcement), baseline) != mode
    {
        found.push(Weakening {
            field: Field::Enforcement,
            value: mode.as_str().to_string(),
            instead: baseline.as_str().to_string(),
        });
    }
    if new.require_image_digest == Some(false) && honoured_digest(new, covered, policy) {
        found.push(Weakening {
            field: Field::RequireImageDigest,
            value: "false".to_string(),
            instead: format!(
                "true, as the policy requires for {} risk",
                new.risk_tier.as_str()
            ),
        });
    }
    let Some(old) = old else {
        return found;
    };
    if new.risk_tier < old.risk_tier
        && covered
            .and_then(|c| c.risk_tier)
            .is_none_or(|floor| new.risk_tier < floor)
    {
        found.push(Weakening {
            field: Field::RiskTier,
            value: new.risk_tier.as_str().to_string(),
            instead: old.risk_tier.as_str().to_string(),
        });
    }
    let forbidden = |stage| policy.forbidden_stages.contains(&stage);
    if forbidden(old.lifecycle_stage)
        && !forbidden(new.lifecycle_stage)
        && covered.and_then(|c| c.lifecycle_stage) != Some(new.lifecycle_stage)
    {
        found.push(Weakening {
            field: Field::LifecycleStage,
            value: new.lifecycle_stage.as_str().to_string(),
            instead: old.lifecycle_stage.as_str().to_string(),
        });
    }
    found
}

/// The weakening values of a system that count for nothing: no approved relaxation covers
/// them. Status, `check` and the SoA show them with [`unapproved_message`].
pub fn unapproved(system: &AISystem, baseline: EnforcementMode, policy: &Policy) -> Vec<Weakening> {
    let approved = approved_relaxation(system, policy);
    weakenings(&system.spec, None, approved.as_ref(), baseline, policy)
}

/// What unapproved weakening values mean and how to make them count.
pub fn unapproved_message(system: &AISystem, found: &[Weakening], policy: &Policy) -> String {
    let list: Vec<String> = found.iter().map(ToString::to_string).collect();
    let deciders: Vec<String> = found.iter().map(|w| w.field.deciders(policy)).collect();
    format!(
        "not approved, so the stricter value applies: {}. {} approves with: \
         kubectl -n {} annotate aisystem {} {RELAXATION_ANNOTATION}=approve --overwrite \
         (or remove the value)",
        list.join(", "),
        capitalised(deciders.first().map_or("", String::as_str)),
        system.namespace().unwrap_or_default(),
        system.name_any()
    )
}

fn capitalised(phrase: &str) -> String {
    let mut chars = phrase.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A write of an AISystem as the webhook sees it.
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
/// - The recorded one is kept (a manifest that leaves it out keeps it too) unless the
///   requester asks for a decision: by writing weakening values the recorded one does not
///   cover, or by setting the annotation to another value (`approve`).
/// - A decision is taken only from someone whose groups decide every field concerned and who
///   did not author the system; it records every weakening value, who and when.
/// - Without that authority, weakening values the object alone shows (mode, digests) are
///   kept with a warning and count for nothing; a lowered risk tier or a stage left that
///   forbids running is refused, as nothing but this write would show it.
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
    let uncovered = weakenings(
        &write.new.spec,
        old_spec,
        recorded.as_ref(),
        write.baseline,
        policy,
    );
    let asks_decision = requested.is_some_and(|r| Some(r) != recorded_text);
    let keep = AfterWrite {
        annotation: recorded_text.map(str::to_string),
        warnings: Vec::new(),
    };
    if !asks_decision && uncovered.is_empty() {
        return Ok(keep);
    }
    let all = weakenings(&write.new.spec, old_spec, None, write.baseline, policy);
    let concerned = if asks_decision { &all } else { &uncovered };
    let author = write
        .old
        .and_then(|o| annotation(o, AUTHOR_ANNOTATION))
        .or(write.old.is_none().then_some(who.username));
    let lacking: Vec<&Weakening> = concerned
        .iter()
        .filter(|w| !w.field.may_decide(policy, who))
        .collect();
    if lacking.is_empty() && author != Some(who.username) && !concerned.is_empty() {
        let value = |field| {
            all.iter()
                .find(|w| w.field == field)
                .map(|w| w.value.as_str())
        };
        let stamp = Relaxation {
            approved_by: who.username.to_string(),
            approved_at: now,
            enforcement: write
                .new
                .spec
                .enforcement
                .filter(|_| value(Field::Enforcement).is_some()),
            require_image_digest: value(Field::RequireImageDigest).map(|_| false),
            risk_tier: value(Field::RiskTier)
                .map(|_| write.new.spec.risk_tier)
                .or(recorded.as_ref().and_then(|r| r.risk_tier)),
            lifecycle_stage: value(Field::LifecycleStage)
                .map(|_| write.new.spec.lifecycle_stage)
                .or(recorded.as_ref().and_then(|r| r.lifecycle_stage)),
        };
        return Ok(AfterWrite {
            annotation: Some(stamp.to_annotation()),
            warnings: Vec::new(),
        });
    }
    if asks_decision && concerned.is_empty() {
        return Err(format!(
            "the annotation {RELAXATION_ANNOTATION} asks to approve weakening values, but no value of this \
             AISystem weakens the gate; remove the annotation"
        ));
    }
    let why_not = |w: &Weakening| {
        if author == Some(who.username) && w.field.may_decide(policy, who) {
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
    let blocking: Vec<&Weakening> = concerned
        .iter()
        .filter(|w| matches!(w.field, Field::RiskTier | Field::LifecycleStage))
        .collect();
    if asks_decision || !blocking.is_empty() {
        let reasons: Vec<String> = if asks_decision {
            concerned.iter().collect()
        } else {
            blocking
        }
        .into_iter()
        .map(why_not)
        .collect();
        let ask = if asks_decision {
            "ask them to approve it"
        } else {
            "ask them to make this change (once they have, the same values from anyone are accepted)"
        };
        return Err(format!("{}; {ask}", reasons.join("; ")));
    }
    let reasons: Vec<String> = uncovered.iter().map(why_not).collect();
    Ok(AfterWrite {
        warnings: vec![format!(
            "{}. Until one of them approves, the gate applies the stricter value. They approve with: \
             kubectl -n {} annotate aisystem {} {RELAXATION_ANNOTATION}=approve --overwrite",
            reasons.join("; "),
            write.new.namespace().unwrap_or_default(),
            write.new.name_any()
        )],
        ..keep
    })
}

/// Checks the relaxation annotation after all mutation: the recorded one (or none), or one
/// stamped for this requester, now, with exactly the values [`relaxation_after_write`] would
/// record. Anything else was not written by the webhook and is refused.
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
    if stamp.approved_by != who.username || !fresh(stamp.approved_at, now) {
        return Err(forged());
    }
    // The same decision, asked for explicitly, must give exactly these values.
    let mut asked = write.new.clone();
    asked
        .annotations_mut()
        .insert(RELAXATION_ANNOTATION.to_string(), "approve".to_string());
    let expected = relaxation_after_write(
        &SystemWrite {
            new: &asked,
            ..*write
        },
        who,
        policy,
        stamp.approved_at,
    )?;
    if expected.annotation.as_deref() != Some(stamp.to_annotation().as_str()) {
        return Err(forged());
    }
    Ok(())
}
