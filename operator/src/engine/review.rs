//! Periodic review of a register entry: when it falls due and what an overdue one means. An
//! entry nobody has looked at for longer than its interval may no longer describe what runs;
//! the policy decides whether that only shows (condition, register, SoA) or also gates.

use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

use super::rules::{Finding, Rule};
use super::status::{ConditionOutcome, types};
use crate::resources::AISystem;

/// Where a system stands with its review schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewStanding {
    /// No `spec.review` schedule.
    Unscheduled,
    /// Next due at this time.
    DueAt(Timestamp),
    /// Due since this time.
    Overdue(Timestamp),
}

/// When the system's register entry is due for review: its interval after the last review,
/// or after the system was registered when it never was (where the registration time is not
/// known, as in manifests, counting from `now`).
pub fn review_standing(system: &AISystem, now: Timestamp) -> ReviewStanding {
    let Some(review) = &system.spec.review else {
        return ReviewStanding::Unscheduled;
    };
    let from = review
        .last_reviewed
        .or_else(|| system.creation_timestamp().map(|t| t.0))
        .unwrap_or(now);
    let interval = SignedDuration::from_hours(24 * i64::from(review.interval_days));
    match from.checked_add(interval) {
        Ok(due) if now >= due => ReviewStanding::Overdue(due),
        Ok(due) => ReviewStanding::DueAt(due),
        Err(_) => ReviewStanding::Unscheduled,
    }
}

/// The next instant at which the standing changes by itself.
pub fn review_lapse(system: &AISystem, now: Timestamp) -> Option<Timestamp> {
    match review_standing(system, now) {
        ReviewStanding::DueAt(due) => Some(due),
        _ => None,
    }
}

/// What an overdue review means, and the exact way to record one.
pub fn overdue_message(system: &AISystem, due: Timestamp) -> (String, String) {
    let last = system
        .spec
        .review
        .as_ref()
        .and_then(|r| r.last_reviewed)
        .map_or("never reviewed".to_string(), |t| {
            format!("last reviewed {t}")
        });
    let every = system.spec.review.as_ref().map_or(0, |r| r.interval_days);
    (
        format!(
            "the register entry of AISystem \"{}\" was due for review at {due} (every {every} days; {last})",
            system.name_any()
        ),
        format!(
            "review the entry with its owner, then record it: kubectl -n {} patch aisystem {} --type merge \
             -p '{{\"spec\":{{\"review\":{{\"lastReviewed\":\"<RFC 3339 time of the review>\"}}}}}}'",
            system.namespace().unwrap_or_default(),
            system.name_any()
        ),
    )
}

/// The admission finding for an overdue review, when the policy makes it gate.
pub fn overdue_finding(system: &AISystem, gates: bool, now: Timestamp) -> Option<Finding> {
    let ReviewStanding::Overdue(due) = review_standing(system, now) else {
        return None;
    };
    gates.then(|| {
        let (message, fix) = overdue_message(system, due);
        Finding::new(Rule::ReviewOverdue, message, fix)
    })
}

/// Whether the register entry is past its review date (`met` when it is not).
pub(crate) fn review_condition(system: &AISystem, now: Timestamp) -> ConditionOutcome {
    match review_standing(system, now) {
        ReviewStanding::Overdue(due) => {
            let (message, fix) = overdue_message(system, due);
            ConditionOutcome::new(
                types::REVIEW_OVERDUE,
                false,
                "Overdue",
                format!("{message}; {fix}"),
            )
        }
        ReviewStanding::DueAt(due) => ConditionOutcome::new(
            types::REVIEW_OVERDUE,
            true,
            "OnSchedule",
            format!("next review due at {due}"),
        ),
        ReviewStanding::Unscheduled => ConditionOutcome::new(
            types::REVIEW_OVERDUE,
            true,
            "NotScheduled",
            "spec.review sets no review interval",
        ),
    }
}
