//! Decisions recorded under authenticated identity: who wrote an AIMS object, who approved or
//! rejected an impact assessment, who accepted a control exclusion. The webhook calls these
//! pure functions with the request's `userInfo`; what they return is the only value the
//! stamps may have, so a stamp typed into a manifest, an annotation or a patch never counts.

use jiff::Timestamp;

use super::assessment::{content_hash, material_hashes};
use crate::policy::Policy;
use crate::resources::{AISystemSpec, Approval, ImpactAssessmentSpec, SystemFields};

/// The authenticated user behind a request.
#[derive(Clone, Copy, Debug)]
pub struct Requester<'a> {
    /// `userInfo.username`.
    pub username: &'a str,
    /// `userInfo.groups`.
    pub groups: &'a [super::Text<'a>],
}

impl Requester<'_> {
    /// The requester's own groups as a phrase for messages (system groups left out).
    pub(crate) fn groups_phrase(&self) -> String {
        let own: Vec<&str> = self
            .groups
            .iter()
            .map(AsRef::as_ref)
            .filter(|g| !g.starts_with("system:"))
            .collect();
        if own.is_empty() {
            "no group that may decide".to_string()
        } else {
            format!("groups {}", own.join(", "))
        }
    }
}

/// The author an AIMS object must carry: the creator at creation, unchanged afterwards. An
/// object created before the webhook was installed has no recorded author and keeps none.
pub fn author_after_write(
    old_author: Option<&str>,
    is_create: bool,
    who: Requester,
) -> Option<String> {
    if is_create {
        Some(who.username.to_string())
    } else {
        old_author.map(str::to_string)
    }
}

type Stamps<'a> = (
    Option<&'a str>,
    Option<Timestamp>,
    Option<&'a str>,
    &'a SystemFields,
);

fn stamps(a: &Approval) -> Stamps<'_> {
    (
        a.decided_by.as_deref(),
        a.decided_at,
        a.content_hash.as_deref(),
        &a.system_fields,
    )
}

/// Whether a decision stamped at `at` can have been stamped for a request handled at `now`.
pub(crate) fn fresh(at: Timestamp, now: Timestamp) -> bool {
    at <= now + jiff::SignedDuration::from_secs(5) && now.duration_since(at) <= STAMP_SKEW
}

/// Why a write is refused, in words the requester can act on.
pub type Refusal = String;

/// The approval an assessment must carry after this write.
///
/// - unchanged decision and stamps: kept as they are (content edits then void it, by hash);
/// - a new decision or comment, with no stamps or with the previous stamps left in place:
///   a decision by the requester, accepted only from an approver who is not the author, and
///   stamped with who, when and the hash of the assessed content;
/// - stamps that differ from the recorded ones: refused, whoever sends them.
///
/// An approval also records the material fields of `system`, the AISystem assessed as it is
/// registered now; approving an assessment of a system that is not registered is refused.
pub fn approval_after_write(
    old: Option<&ImpactAssessmentSpec>,
    new: &ImpactAssessmentSpec,
    system: Option<&AISystemSpec>,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
    now: Timestamp,
) -> Result<Option<Approval>, Refusal> {
    let Some(requested) = &new.approval else {
        return Ok(None);
    };
    let recorded = old.and_then(|o| o.approval.as_ref());
    if recorded == Some(requested) {
        return Ok(Some(requested.clone()));
    }
    // Clearing the other stamps (as `kubectl aims approve` does) while the previous system
    // fields stay behind in a merge patch is still a request without stamps.
    let unstamped = requested.decided_by.is_none()
        && requested.decided_at.is_none()
        && requested.content_hash.is_none()
        && (requested.system_fields.is_empty()
            || recorded.is_some_and(|r| r.system_fields == requested.system_fields));
    let system_fields = system
        .map(|s| material_hashes(s, policy))
        .unwrap_or_default();
    let stamps_kept = recorded.is_some_and(|r| stamps(r) == stamps(requested));
    // The API server may call the mutating webhook again after other webhooks changed the
    // object (reinvocation), with the stamps it just wrote: stamps for this requester, now,
    // on this content are what it would write again, and still need the authority below.
    let stamped_for_this_request = requested.decided_by.as_deref() == Some(who.username)
        && requested.decided_at.is_some_and(|at| fresh(at, now))
        && requested.content_hash.as_deref() == Some(content_hash(new).as_str())
        && requested.system_fields == system_fields;
    if !unstamped && !stamps_kept && !stamped_for_this_request {
        return Err(
            "spec.approval.decidedBy, decidedAt, contentHash and systemFields are recorded by the webhook \
             from the authenticated user and cannot be written; remove them and set only decision and comment"
                .to_string(),
        );
    }
    let verb = match requested.decision {
        crate::resources::Decision::Approved => "approve",
        crate::resources::Decision::Rejected => "reject",
    };
    if !policy.is_approver(who.groups) {
        return Err(format!(
            "{} may not {verb} impact assessments: that takes {} ({} has {}). Ask an approver to run: \
             kubectl aims {verb} <assessment>",
            who.username,
            policy.approvers_phrase(),
            who.username,
            who.groups_phrase()
        ));
    }
    if author == Some(who.username) {
        return Err(format!(
            "{} wrote this assessment and cannot {verb} it; ask another member of {}",
            who.username,
            policy.approver_groups.join(" or ")
        ));
    }
    if system.is_none() && requested.decision == crate::resources::Decision::Approved {
        return Err(format!(
            "AISystem {} is not registered in this namespace, so there is nothing to approve the \
             assessment for; register it first (an approval binds the system's material fields: {})",
            new.system_ref,
            policy.material_fields.join(", ")
        ));
    }
    Ok(Some(Approval {
        decided_by: Some(who.username.to_string()),
        decided_at: Some(now),
        content_hash: Some(content_hash(new)),
        system_fields,
        ..requested.clone()
    }))
}

/// How far back a stamp written by the mutating webhook may lie when the validating webhook
/// checks it (the two calls belong to one API request).
const STAMP_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Checks the approval an assessment carries after all mutation: unchanged from the recorded
/// one, or stamped for this requester, now, on this content, by an approver who is not the
/// author. Anything else was not written by the webhook and is refused.
pub fn check_approval(
    old: Option<&ImpactAssessmentSpec>,
    new: &ImpactAssessmentSpec,
    system: Option<&AISystemSpec>,
    author: Option<&str>,
    who: Requester,
    policy: &Policy,
    now: Timestamp,
) -> Result<(), Refusal> {
    let Some(approval) = &new.approval else {
        return Ok(());
    };
    if old.and_then(|o| o.approval.as_ref()) == Some(approval) {
        return Ok(());
    }
    let genuine = approval.decided_by.as_deref() == Some(who.username)
        && approval.decided_at.is_some_and(|at| fresh(at, now))
        && approval.content_hash.as_deref() == Some(content_hash(new).as_str())
        && approval.system_fields
            == system
                .map(|s| material_hashes(s, policy))
                .unwrap_or_default();
    if !genuine {
        return Err(
            "spec.approval does not carry the stamps aims-operator records (decidedBy, decidedAt, contentHash \
             and systemFields for this user, now, on this content and system); is the aims-operator \
             mutating webhook registered?"
                .to_string(),
        );
    }
    // Authority is checked again: the mutating webhook may not have run.
    let unstamped = Approval {
        decided_by: None,
        decided_at: None,
        content_hash: None,
        system_fields: SystemFields::default(),
        ..approval.clone()
    };
    let as_requested = ImpactAssessmentSpec {
        approval: Some(unstamped),
        ..new.clone()
    };
    approval_after_write(old, &as_requested, system, author, who, policy, now).map(|_| ())
}

/// Checks the author annotation after all mutation: the creator at creation, unchanged after.
pub fn check_author(
    old_author: Option<&str>,
    new_author: Option<&str>,
    is_create: bool,
    who: Requester,
) -> Result<(), Refusal> {
    let expected = author_after_write(old_author, is_create, who);
    if new_author == expected.as_deref() {
        return Ok(());
    }
    Err(format!(
        "the annotation {} records who created the object and cannot be set or changed (expected {}, got {})",
        crate::resources::AUTHOR_ANNOTATION,
        expected.as_deref().unwrap_or("none"),
        new_author.unwrap_or("none")
    ))
}
