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

mod write;

use std::fmt;

use kube::ResourceExt;

use super::Snapshot;
use super::approval::Requester;
use super::status::{ConditionOutcome, types};
pub use write::{AfterWrite, SystemWrite, check_relaxation, relaxation_after_write};

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

/// The annotations of `system` that [`approved_relaxation`] decides by: the relaxation
/// record and who wrote the system; none when it carries no record.
pub fn relaxation_annotations(system: &AISystem) -> &'static [&'static str] {
    if annotation(system, RELAXATION_ANNOTATION).is_some() {
        &[RELAXATION_ANNOTATION, AUTHOR_ANNOTATION]
    } else {
        &[]
    }
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

/// Whether every value of the system that asks less of the gate counts.
pub(crate) fn relaxations_condition(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
) -> ConditionOutcome {
    let ns = system.namespace().unwrap_or_default();
    let baseline = super::admission::namespace_mode(snapshot, &ns, policy).1;
    let approved = approved_relaxation(system, policy);
    let found = weakenings(&system.spec, None, approved.as_ref(), baseline, policy);
    if !found.is_empty() {
        return ConditionOutcome::new(
            types::RELAXATIONS_APPROVED,
            false,
            "NotApproved",
            unapproved_message(system, &found, policy),
        );
    }
    match approved {
        Some(r) => ConditionOutcome::new(
            types::RELAXATIONS_APPROVED,
            true,
            "Approved",
            r.describe().join("; "),
        ),
        None => ConditionOutcome::new(
            types::RELAXATIONS_APPROVED,
            true,
            "NoneAsked",
            "no value asks less of the gate than the namespace and the tier do",
        ),
    }
}
