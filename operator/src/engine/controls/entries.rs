//! Why a binding's entry for a control is in its state, and which entry decides when several bind one system.

use jiff::Timestamp;

use super::{run_auto_check, snapshot_key, unchecked_namespace};
use crate::catalog;
use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::resources::{
    AISystem, Applicability, ControlBinding, ControlEntry, ControlState, Implementation,
    ImplementationStatus,
};

/// Why a binding entry is in its state, with the words built only when someone reads them:
/// a decision that admits reads none, and on a large register every string it would format
/// is a cache miss.
pub(super) enum EntryReason<'a> {
    ExclusionNotAccepted {
        justification: Option<&'a str>,
    },
    ExclusionUnchecked(String),
    ExclusionExpired(Timestamp),
    Excluded {
        justification: Option<&'a str>,
    },
    NotDescribed,
    NotImplemented(&'a Implementation),
    EvidenceDue(&'a str),
    Verified(&'a str),
    CheckFailed(String),
    Implemented {
        description: &'a str,
        evidence: bool,
    },
}

impl EntryReason<'_> {
    pub(super) fn state(&self) -> ControlState {
        match self {
            Self::ExclusionNotAccepted { .. }
            | Self::ExclusionUnchecked(_)
            | Self::NotDescribed
            | Self::NotImplemented(_) => ControlState::Planned,
            Self::ExclusionExpired(_) | Self::EvidenceDue(_) => ControlState::Stale,
            Self::Excluded { .. } => ControlState::Excluded,
            Self::Verified(_) => ControlState::Verified,
            Self::CheckFailed(_) => ControlState::Failed,
            Self::Implemented { .. } => ControlState::Implemented,
        }
    }

    pub(super) fn message(&self, policy: &Policy) -> String {
        match self {
            Self::ExclusionNotAccepted { justification } => format!(
                "excluded ({}), but no approver has accepted the exclusion yet: {} accepts it by setting \
                 spec.controls[].exclusion.acceptedBy to their own user name",
                justification.unwrap_or("no justification"),
                policy.approvers_phrase()
            ),
            Self::ExclusionUnchecked(namespace) => format!(
                "excluded, but in namespace {namespace}, where aims-operator's webhook does not check \
                 writes, so nobody verified who accepted the exclusion; keep ControlBindings in a \
                 namespace the webhook covers"
            ),
            Self::ExclusionExpired(until) => format!(
                "exclusion expired at {until}; review the justification and renew or implement the control"
            ),
            Self::Excluded { justification } => {
                format!(
                    "excluded: {}",
                    justification.unwrap_or("(no justification)")
                )
            }
            Self::NotDescribed => {
                "applicable, but spec.controls[].implementation is not described".into()
            }
            Self::NotImplemented(implementation) => format!(
                "implementation is {:?}: {}",
                implementation.status, implementation.description
            ),
            Self::EvidenceDue(evidence) => format!(
                "evidence \"{evidence}\" was due for review; review it and set a new nextReview"
            ),
            Self::Verified(description) => format!("implemented and verified: {description}"),
            Self::CheckFailed(why) => {
                format!("declared implemented, but the automated check failed: {why}")
            }
            Self::Implemented {
                description,
                evidence: false,
            } => format!("implemented: {description} (no evidence referenced yet)"),
            Self::Implemented {
                description,
                evidence: true,
            } => format!("implemented: {description}"),
        }
    }
}

pub(super) fn entry_reason<'a>(
    entry: &'a ControlEntry,
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> EntryReason<'a> {
    let justification = entry.justification.as_deref();
    match entry.applicability {
        // An exclusion counts only once an approver accepted it (the webhook records who).
        Applicability::Excluded
            if entry
                .exclusion
                .as_ref()
                .and_then(|e| e.accepted_by.as_deref())
                .is_none_or(str::is_empty) =>
        {
            EntryReason::ExclusionNotAccepted { justification }
        }
        // Acceptance is stamped by the webhook; where it does not look, anyone could write it.
        Applicability::Excluded => match (
            unchecked_namespace(system, policy),
            entry.exclusion.as_ref().and_then(|e| e.until),
        ) {
            (Some(namespace), _) => EntryReason::ExclusionUnchecked(namespace.to_string()),
            (None, Some(until)) if now >= until => EntryReason::ExclusionExpired(until),
            (None, _) => EntryReason::Excluded { justification },
        },
        Applicability::Applicable => {
            let Some(implementation) = &entry.implementation else {
                return EntryReason::NotDescribed;
            };
            if implementation.status != ImplementationStatus::Implemented {
                return EntryReason::NotImplemented(implementation);
            }
            if let Some(stale) = entry
                .evidence
                .iter()
                .find(|e| e.next_review.is_some_and(|r| now >= r))
            {
                return EntryReason::EvidenceDue(&stale.description);
            }
            let description = implementation.description.as_str();
            let auto = catalog::find(&entry.id).and_then(|c| c.auto_check);
            match auto.map(|check| run_auto_check(check, snapshot, system, policy, now)) {
                Some(Ok(())) => EntryReason::Verified(description),
                Some(Err(why)) => EntryReason::CheckFailed(why),
                None => EntryReason::Implemented {
                    description,
                    evidence: !entry.evidence.is_empty(),
                },
            }
        }
    }
}

/// State of one binding entry for one system.
pub fn entry_outcome(
    entry: &ControlEntry,
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> (ControlState, String) {
    let reason = entry_reason(entry, snapshot, system, policy, now);
    (reason.state(), reason.message(policy))
}

/// The binding entry that decides control `id` for a system: the best state among every
/// binding that binds it (one binding that implements the control is enough).
pub(super) fn deciding_entry<'a>(
    snapshot: &'a Snapshot,
    system: &AISystem,
    id: &str,
    policy: &Policy,
    now: Timestamp,
) -> Option<(&'a ControlBinding, EntryReason<'a>)> {
    let (ns, name) = snapshot_key(system);
    snapshot
        .bindings_for(ns, name)
        .filter_map(|b| b.spec.controls.iter().find(|e| e.id == id).map(|e| (b, e)))
        .map(|(binding, entry)| (binding, entry_reason(entry, snapshot, system, policy, now)))
        .min_by_key(|(_, reason)| reason.state())
}
