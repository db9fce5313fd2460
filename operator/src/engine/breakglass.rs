//! Break-glass: an emergency admission of a non-compliant workload, time-boxed, with a reason,
//! honoured only for members of the configured groups. It never hides the findings: the
//! workload is admitted *and* reported as an open nonconformity until the annotations go.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::Workload;
use super::verdict::Verdict;
use crate::policy::Policy;
use crate::resources::{BREAK_GLASS_EXPIRES_ANNOTATION, BREAK_GLASS_REASON_ANNOTATION};

/// What the break-glass annotations on a workload amount to at one moment.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum BreakGlass {
    /// Well-formed and within its window.
    Active {
        /// Why it was invoked.
        reason: String,
        /// When it ends.
        expires: Timestamp,
    },
    /// Present but not usable (why).
    Unusable {
        /// Why the annotations do not count.
        why: String,
    },
}

/// Reads the break-glass annotations. `None` when the workload carries neither.
pub fn break_glass(workload: &Workload, policy: &Policy, now: Timestamp) -> Option<BreakGlass> {
    let reason = workload.annotation(BREAK_GLASS_REASON_ANNOTATION);
    let expires = workload.annotation(BREAK_GLASS_EXPIRES_ANNOTATION);
    if reason.is_none() && expires.is_none() {
        return None;
    }
    let unusable = |why: String| Some(BreakGlass::Unusable { why });
    let reason = match reason.map(|r| r.trim()) {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => return unusable(format!("{BREAK_GLASS_REASON_ANNOTATION} must say why")),
    };
    let Some(expires) = expires else {
        return unusable(format!(
            "{BREAK_GLASS_EXPIRES_ANNOTATION} must give the end of the window (RFC 3339)"
        ));
    };
    let Ok(expires) = expires.trim().parse::<Timestamp>() else {
        return unusable(format!(
            "{BREAK_GLASS_EXPIRES_ANNOTATION} \"{expires}\" is not an RFC 3339 time such as 2026-11-24T08:00:00Z"
        ));
    };
    if now >= expires {
        return unusable(format!("the break-glass window ended at {expires}"));
    }
    let longest = SignedDuration::from_hours(i64::from(policy.max_break_glass_hours));
    if expires.duration_since(now) > longest {
        return unusable(format!(
            "the break-glass window may last at most {} hours; {expires} is further away",
            policy.max_break_glass_hours
        ));
    }
    Some(BreakGlass::Active { reason, expires })
}

/// How break-glass changed (or did not change) one admission.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum BreakGlassOutcome {
    /// The refusal was lifted for the window.
    Honoured {
        /// Why it was invoked.
        reason: String,
        /// When it ends.
        expires: Timestamp,
        /// Who invoked it.
        by: String,
    },
    /// The annotations were present and changed nothing (why).
    Ignored {
        /// Why they did not count.
        why: String,
    },
}

/// Applies break-glass to a verdict for a request by `user` in `groups`. Only a refusal can
/// be lifted; a compliant workload's annotations are simply not needed.
pub fn apply_break_glass<'a>(
    mut verdict: Verdict<'a>,
    workload: &Workload,
    user: &str,
    groups: &[impl AsRef<str>],
    policy: &Policy,
    now: Timestamp,
) -> Verdict<'a> {
    if verdict.findings.is_empty() {
        return verdict;
    }
    let outcome = match break_glass(workload, policy, now) {
        None => return verdict,
        Some(BreakGlass::Unusable { why }) => BreakGlassOutcome::Ignored { why },
        Some(BreakGlass::Active { .. }) if !policy.may_break_glass(groups) => {
            BreakGlassOutcome::Ignored {
                why: format!(
                    "{user} is not a member of {}",
                    if policy.break_glass_groups.is_empty() {
                        "any break-glass group".to_string()
                    } else {
                        policy.break_glass_groups.join(" or ")
                    }
                ),
            }
        }
        Some(BreakGlass::Active { reason, expires }) => {
            verdict.allowed = true;
            BreakGlassOutcome::Honoured {
                reason,
                expires,
                by: user.to_string(),
            }
        }
    };
    verdict.break_glass = Some(outcome);
    verdict
}
