//! The AIMS objectives as numbers, for metrics and dashboards: how much of the register is
//! assessed, reviewed and documented, and how many running workloads do not comply.

use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

use super::status::{evaluate_system, types};
use super::{BreakGlass, Scope, Snapshot, Workload, break_glass, evaluate_workload};
use crate::policy::Policy;
use crate::resources::AISystem;
use crate::resources::{AssessmentPhase, RiskTier};

/// One AI system's standing.
#[derive(Clone, Debug, PartialEq)]
pub struct SystemStanding {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Every condition met.
    pub compliant: bool,
}

/// Seconds until an approved assessment expires (negative once expired).
#[derive(Clone, Debug, PartialEq)]
pub struct AssessmentExpiry {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Seconds from now to the expiry.
    pub seconds: f64,
}

/// A running workload that the admission rules would refuse now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenNonconformity {
    /// `Kind/name`.
    pub workload: String,
    /// Failing rule IDs, comma-separated.
    pub rules: String,
    /// What is wrong (and break-glass, when in use).
    pub message: String,
}

fn nonconformity_of(
    snapshot: &Snapshot,
    workload: &Workload,
    policy: &Policy,
    now: Timestamp,
) -> Option<OpenNonconformity> {
    let verdict = evaluate_workload(snapshot, workload, policy, now);
    if verdict.scope != Scope::Judged || verdict.findings.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(BreakGlass::Active { reason, expires }) = break_glass(workload, policy, now) {
        parts.push(format!(
            "admitted under break-glass until {expires} ({reason})"
        ));
    }
    parts.extend(
        verdict
            .findings
            .iter()
            .map(|f| format!("{} {}", f.rule.id(), f.message)),
    );
    Some(OpenNonconformity {
        workload: format!("{}/{}", workload.kind, workload.name),
        rules: verdict.rule_ids(),
        message: parts.join("; "),
    })
}

/// The running workloads of `system` (labelled, cached) that would be refused now, sorted.
pub fn nonconformities(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> Vec<OpenNonconformity> {
    let ns = system.namespace().unwrap_or_default();
    let mut open: Vec<OpenNonconformity> = snapshot
        .workloads_of(&ns, &system.name_any())
        .into_iter()
        .filter_map(|w| nonconformity_of(snapshot, w, policy, now))
        .collect();
    open.sort_by(|a, b| a.workload.cmp(&b.workload));
    open
}

/// The objectives at one moment.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Objectives {
    /// Per system.
    pub systems: Vec<SystemStanding>,
    /// Per approved or expired assessment with an end.
    pub expiries: Vec<AssessmentExpiry>,
    /// Share of High-risk systems whose deployed models an approved, current assessment
    /// covers (1 when there are none).
    pub high_risk_assessed: f64,
    /// Share of systems whose last review lies within their review interval.
    pub reviewed_on_schedule: f64,
    /// Share of systems that document their training data.
    pub training_data_documented: f64,
    /// Cached running workloads (labelled Deployments, StatefulSets, ReplicaSets) that the
    /// engine would refuse now: open nonconformities.
    pub open_nonconformities: usize,
    /// Share of nonconformity corrective actions with a due date closed by it or not yet due
    /// (1 when none has a due date).
    pub corrective_actions_on_time: f64,
    /// Share of Limited- and High-risk systems that state their disclosure to users (1 when
    /// there are none).
    pub disclosed_to_users: f64,
    /// Mean seconds from an AI incident's occurrence to its detection, when any has both.
    pub mean_time_to_detect: Option<f64>,
    /// Mean seconds from an AI incident's detection to its resolution, when any is resolved.
    pub mean_time_to_resolve: Option<f64>,
}

fn share(hits: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        hits as f64 / total as f64
    }
}

/// Computes the objectives from a snapshot at `now`.
pub fn objectives(snapshot: &Snapshot, policy: &Policy, now: Timestamp) -> Objectives {
    let systems = snapshot.systems();
    let mut out = Objectives::default();
    let (mut high, mut high_assessed, mut reviewed, mut documented) = (0, 0, 0, 0);
    let (mut transparent, mut disclosed) = (0, 0);
    for system in &systems {
        let evaluation = evaluate_system(snapshot, system, policy, now);
        let met = |type_: &str| {
            evaluation
                .conditions
                .iter()
                .find(|c| c.type_ == type_)
                .is_some_and(|c| c.met)
        };
        out.systems.push(SystemStanding {
            namespace: system.namespace().unwrap_or_default(),
            name: system.name_any(),
            compliant: met(types::COMPLIANT),
        });
        if system.spec.risk_tier == RiskTier::High {
            high += 1;
            // The condition already says whether current approved assessments cover every
            // declared model version.
            if met(types::ASSESSMENT_APPROVED) {
                high_assessed += 1;
            }
        }
        if let Some(review) = &system.spec.review {
            let interval = SignedDuration::from_hours(24 * i64::from(review.interval_days));
            if review
                .last_reviewed
                .and_then(|at| at.checked_add(interval).ok())
                .is_some_and(|due| now < due)
            {
                reviewed += 1;
            }
        }
        if !system.spec.training_data.is_empty() {
            documented += 1;
        }
        if matches!(system.spec.risk_tier, RiskTier::Limited | RiskTier::High) {
            transparent += 1;
            if system.spec.user_disclosure.is_some() {
                disclosed += 1;
            }
        }
    }
    out.high_risk_assessed = share(high_assessed, high);
    out.reviewed_on_schedule = share(reviewed, systems.len());
    out.training_data_documented = share(documented, systems.len());
    out.disclosed_to_users = share(disclosed, transparent);
    for assessment in snapshot.assessments() {
        let state = snapshot.assessment_state(assessment, policy, now);
        if let (AssessmentPhase::Approved | AssessmentPhase::Expired, Some(expiry)) =
            (state.phase, state.expires_at)
        {
            out.expiries.push(AssessmentExpiry {
                namespace: assessment.namespace().unwrap_or_default(),
                name: assessment.name_any(),
                seconds: expiry.duration_since(now).as_secs_f64(),
            });
        }
    }
    out.open_nonconformities = snapshot
        .workloads()
        .filter(|w| nonconformity_of(snapshot, w, policy, now).is_some())
        .count();
    (out.mean_time_to_detect, out.mean_time_to_resolve) = super::incident::mean_times(snapshot);
    out.corrective_actions_on_time = corrective_actions_on_time(snapshot, now);
    out
}

/// Share of corrective actions with a due date that were closed by it (an unstamped closure
/// counts as in time: offline manifests carry no stamp) or are open and not yet due.
fn corrective_actions_on_time(snapshot: &Snapshot, now: Timestamp) -> f64 {
    let (mut due, mut on_time) = (0, 0);
    for record in snapshot.nonconformities() {
        let Some(by) = record
            .spec
            .corrective_action
            .as_ref()
            .and_then(|a| a.due_date)
        else {
            continue;
        };
        due += 1;
        let in_time = match &record.spec.closure {
            Some(closure) => closure.closed_at.is_none_or(|at| at <= by),
            None => now <= by,
        };
        if in_time {
            on_time += 1;
        }
    }
    share(on_time, due)
}
