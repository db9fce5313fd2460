//! Why an assessment is in its phase: the checks an approval must pass, in the order they
//! are reported (the first that fails decides), and the words for each.

use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

use super::{ContentHash, missing_content};
use crate::policy::Policy;
use crate::resources::{
    AISystemSpec, AUTHOR_ANNOTATION, AssessmentPhase, Decision, ImpactAssessment,
};

/// Why an assessment is in its phase, worded only when someone reads it (formatting the
/// timestamps of every approved assessment on every decision was a third of its cost).
pub(super) enum PhaseReason<'a> {
    Incomplete(Vec<&'static str>),
    Pending,
    Rejected {
        by: &'a str,
        comment: Option<&'a str>,
    },
    Unstamped,
    Unchecked(&'a str),
    SelfApproved(&'a str),
    ContentChanged {
        by: &'a str,
        approved: &'a str,
    },
    SystemChanged {
        by: &'a str,
        system: &'a str,
        fields: Vec<&'static str>,
    },
    RiskNotAccepted {
        risk: &'a str,
        rating: u32,
    },
    Expired {
        by: &'a str,
        expiry: Timestamp,
    },
    Approved {
        by: &'a str,
        at: Timestamp,
        until: Option<Timestamp>,
    },
}

impl PhaseReason<'_> {
    pub(super) fn phase(&self) -> AssessmentPhase {
        match self {
            Self::Incomplete(_) => AssessmentPhase::Draft,
            Self::Pending => AssessmentPhase::PendingApproval,
            Self::Rejected { .. } => AssessmentPhase::Rejected,
            Self::Unstamped
            | Self::Unchecked(_)
            | Self::SelfApproved(_)
            | Self::ContentChanged { .. }
            | Self::SystemChanged { .. }
            | Self::RiskNotAccepted { .. } => AssessmentPhase::Voided,
            Self::Expired { .. } => AssessmentPhase::Expired,
            Self::Approved { .. } => AssessmentPhase::Approved,
        }
    }

    pub(super) fn message(&self, hash: &ContentHash, policy: &Policy) -> String {
        match self {
            Self::Incomplete(missing) => format!("incomplete: fill in {}", missing.join(", ")),
            Self::Pending => format!(
                "complete and waiting for {} to approve it",
                policy.approvers_phrase()
            ),
            Self::Rejected { by, comment } => format!(
                "rejected by {by}{}",
                comment.map(|c| format!(": {c}")).unwrap_or_default()
            ),
            Self::Unstamped => {
                "the approval carries no verified stamp (decidedBy, decidedAt, contentHash); \
                 approve it through the API so the webhook records the approver"
                    .to_string()
            }
            Self::Unchecked(namespace) => format!(
                "approved in namespace {namespace}, where aims-operator's webhook does not check \
                 writes, so nobody verified who approved it; keep ImpactAssessments in a namespace \
                 the webhook covers"
            ),
            Self::SelfApproved(by) => {
                format!("self-approval: {by} wrote the assessment and cannot approve it")
            }
            Self::ContentChanged { by, approved } => format!(
                "the assessed content changed after {by} approved it ({approved} approved, \
                 {hash} now); it needs a new approval"
            ),
            Self::SystemChanged { by, system, fields } => format!(
                "AISystem {system} changed after {by} approved this assessment ({} differ{}); \
                 the approval no longer covers the system as it is: review the assessment against \
                 the change and have {} approve it again, or restore the previous value{}",
                fields
                    .iter()
                    .map(|f| format!("spec.{f}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if fields.len() == 1 { "s" } else { "" },
                policy.approvers_phrase(),
                if fields.len() == 1 { "" } else { "s" },
            ),
            Self::RiskNotAccepted { risk, rating } => format!(
                "risk {risk} is treated by acceptance with a rating of {rating} (likelihood × severity, above \
                 {}), and no member of {} has accepted it: they do so by setting spec.risks[{risk}].acceptedBy \
                 to their own user name; until then no approval of this assessment counts",
                policy.risk_acceptance_threshold,
                policy.risk_acceptance_groups.join(" or ")
            ),
            Self::Expired { by, expiry } => format!(
                "approved by {by} but expired at {expiry}; review it and have it approved again"
            ),
            Self::Approved { by, at, until } => format!(
                "approved by {by} at {at}{}",
                until
                    .map(|e| format!(", valid until {e}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Why `assessment` is in its phase at `now`, and when its approval ends.
pub(super) fn phase_reason<'a>(
    assessment: &'a ImpactAssessment,
    hash: &ContentHash,
    system: Option<&AISystemSpec>,
    policy: &Policy,
    now: Timestamp,
) -> (PhaseReason<'a>, Option<Timestamp>) {
    let spec = &assessment.spec;
    let Some(approval) = &spec.approval else {
        let missing = missing_content(spec);
        let reason = if missing.is_empty() {
            PhaseReason::Pending
        } else {
            PhaseReason::Incomplete(missing)
        };
        return (reason, None);
    };
    if approval.decision == Decision::Rejected {
        let by = approval.decided_by.as_deref().unwrap_or("an approver");
        let comment = approval.comment.as_deref();
        return (PhaseReason::Rejected { by, comment }, None);
    }
    // The stamps below are written by the webhook; where it does not look, anyone could.
    if let Some(namespace) = super::super::controls::unchecked_namespace(assessment, policy) {
        return (PhaseReason::Unchecked(namespace), None);
    }
    let (Some(by), Some(at), Some(approved)) = (
        approval.decided_by.as_deref(),
        approval.decided_at,
        approval.content_hash.as_deref(),
    ) else {
        return (PhaseReason::Unstamped, None);
    };
    let author = author_of(assessment);
    if author == Some(by) {
        return (PhaseReason::SelfApproved(by), None);
    }
    if !hash.is_recorded_as(approved) {
        return (PhaseReason::ContentChanged { by, approved }, None);
    }
    if let Some(risk) = spec.risks.iter().find(|r| {
        super::super::acceptance::needs_risk_acceptance(r, policy)
            && (r.accepted_by.is_none() || r.accepted_by.as_deref() == author)
    }) {
        let rating = u32::from(risk.likelihood) * u32::from(risk.severity);
        return (
            PhaseReason::RiskNotAccepted {
                risk: &risk.id,
                rating,
            },
            None,
        );
    }
    // Approvals recorded before the system's fields were bound carry none and bind nothing
    // (they keep counting, so an upgrade voids no approval; the next approval binds them).
    if let Some(system) = system {
        let fields = approval.system_fields.changed(system);
        if !fields.is_empty() {
            let system = spec.system_ref.as_str();
            return (PhaseReason::SystemChanged { by, system, fields }, None);
        }
    }
    // The policy's default validity stands in only for an assessment that sets neither end.
    let days = match (spec.valid_until, spec.validity_days) {
        (_, Some(days)) => Some(days),
        (None, None) => Some(policy.default_validity_days),
        (Some(_), None) => None,
    };
    let by_days = days.and_then(|days| {
        at.checked_add(SignedDuration::from_hours(24 * i64::from(days)))
            .ok()
    });
    let expires_at = match (spec.valid_until, by_days) {
        (Some(until), Some(by_days)) => Some(until.min(by_days)),
        (until, by_days) => until.or(by_days),
    };
    match expires_at {
        Some(expiry) if now >= expiry => (PhaseReason::Expired { by, expiry }, Some(expiry)),
        _ => (
            PhaseReason::Approved {
                by,
                at,
                until: expires_at,
            },
            expires_at,
        ),
    }
}

/// Who wrote the assessment, as the webhook recorded it.
fn author_of(assessment: &ImpactAssessment) -> Option<&str> {
    assessment
        .annotations()
        .get(AUTHOR_ANNOTATION)
        .map(String::as_str)
}

/// Whether the assessment's author decides its phase: the author approved it (a
/// self-approval, void) or accepted one of its risks (which then counts as not accepted).
/// Anywhere else [`phase_reason`] reads the same with or without the author, so a register
/// short of memory may leave it out.
pub fn author_decides_phase(assessment: &ImpactAssessment) -> bool {
    let spec = &assessment.spec;
    author_of(assessment).is_some_and(|author| {
        spec.approval.as_ref().and_then(|a| a.decided_by.as_deref()) == Some(author)
            || spec
                .risks
                .iter()
                .any(|r| r.accepted_by.as_deref() == Some(author))
    })
}
