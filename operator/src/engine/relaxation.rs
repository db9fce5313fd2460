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
    AISystem, AISystemSpec, AUTHOR_ANNOTATION, Approved, EnforcementMode, RELAXATION_ANNOTATION,
    Relaxation,
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

/// The approvals recorded on a system that count: written by the webhook (which does not
/// look at exempt namespaces), each by someone other than the system's author.
pub fn approved_relaxation(system: &AISystem, policy: &Policy) -> Option<Relaxation> {
    if super::controls::unchecked_namespace(system, policy).is_some() {
        return None;
    }
    let mut relaxation = Relaxation::parse(annotation(system, RELAXATION_ANNOTATION)?)?;
    let author = annotation(system, AUTHOR_ANNOTATION);
    fn not_by<T>(entry: &mut Option<Approved<T>>, author: Option<&str>) {
        if entry.as_ref().map(|a| a.approved_by.as_str()) == author {
            *entry = None;
        }
    }
    if author.is_some() {
        not_by(&mut relaxation.enforcement, author);
        not_by(&mut relaxation.require_image_digest, author);
        not_by(&mut relaxation.risk_tier, author);
        not_by(&mut relaxation.lifecycle_stage, author);
    }
    (!relaxation.is_empty()).then_some(relaxation)
}

fn value<T: Copy>(entry: &Option<Approved<T>>) -> Option<T> {
    entry.as_ref().map(|a| a.value)
}

/// The mode the gate applies to a system's workloads: the system's own where it is at least
/// as strict as `baseline` (the namespace's mode, or the policy's default) or an approval
/// covers it; `baseline` otherwise.
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
/// unless the system asks otherwise and, where that weakens it, an approval covers it.
pub fn honoured_digest(
    spec: &AISystemSpec,
    approved: Option<&Relaxation>,
    policy: &Policy,
) -> bool {
    let tier_requires = policy.digest_required_tiers.contains(&spec.risk_tier);
    match spec.require_image_digest {
        Some(false) if tier_requires => {
            approved.and_then(|r| value(&r.require_image_digest)) != Some(false)
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
        && honoured_mode(
            Some(mode),
            covered.and_then(|c| value(&c.enforcement)),
            baseline,
        ) != mode
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
            .and_then(|c| value(&c.risk_tier))
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
        && covered.and_then(|c| value(&c.lifecycle_stage)) != Some(new.lifecycle_stage)
    {
        found.push(Weakening {
            field: Field::LifecycleStage,
            value: new.lifecycle_stage.as_str().to_string(),
            instead: old.lifecycle_stage.as_str().to_string(),
        });
    }
    found
}

/// The weakening values of a system that count for nothing: no approval covers them.
/// Status, `check` and the SoA show them with [`unapproved_message`].
pub fn unapproved(system: &AISystem, baseline: EnforcementMode, policy: &Policy) -> Vec<Weakening> {
    let approved = approved_relaxation(system, policy);
    weakenings(&system.spec, None, approved.as_ref(), baseline, policy)
}

fn approve_command(system: &AISystem) -> String {
    format!(
        "kubectl -n {} annotate aisystem {} {RELAXATION_ANNOTATION}=approve --overwrite",
        system.namespace().unwrap_or_default(),
        system.name_any()
    )
}

/// What unapproved weakening values mean and how to make them count.
pub fn unapproved_message(system: &AISystem, found: &[Weakening], policy: &Policy) -> String {
    let list: Vec<String> = found.iter().map(ToString::to_string).collect();
    let deciders = found
        .first()
        .map(|w| w.field.deciders(policy))
        .unwrap_or_default();
    format!(
        "not approved, so the stricter value applies: {}. {} approves with: {} (or remove the value)",
        list.join(", "),
        capitalised(&deciders),
        approve_command(system)
    )
}

fn capitalised(phrase: &str) -> String {
    let mut chars = phrase.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Why a workload is judged in `baseline` although its AISystem asks for the weaker `asked`.
pub fn mode_not_approved(
    system: &AISystem,
    asked: EnforcementMode,
    baseline: EnforcementMode,
    policy: &Policy,
) -> String {
    format!(
        "AISystem \"{}\" asks for {} mode instead of {}, which counts only once {} approves it: {}",
        system.name_any(),
        asked.as_str(),
        baseline.as_str(),
        Field::Enforcement.deciders(policy),
        approve_command(system)
    )
}

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
    let mine = [
        stamp
            .enforcement
            .as_ref()
            .map(|a| (&a.approved_by, a.approved_at)),
        stamp
            .require_image_digest
            .as_ref()
            .map(|a| (&a.approved_by, a.approved_at)),
        stamp
            .risk_tier
            .as_ref()
            .map(|a| (&a.approved_by, a.approved_at)),
        stamp
            .lifecycle_stage
            .as_ref()
            .map(|a| (&a.approved_by, a.approved_at)),
    ];
    let at = mine
        .into_iter()
        .flatten()
        .find(|(by, at)| by.as_str() == who.username && fresh(*at, now))
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
