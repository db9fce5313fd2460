//! A management review's inputs, gathered from the register: the objectives against their
//! targets with their trend, nonconformities and overdue actions, incidents, internal
//! audits, what changed in the register and the SoA since the last review, assessments and
//! reviews falling due, and earlier reviews' open actions. The same for the offline
//! `aims-operator review` and `kubectl aims review`, which also records a review with them.

use jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

use crate::engine::Snapshot;
use crate::engine::review::{ReviewStanding, review_standing};
use crate::policy::Policy;
use crate::resources::{
    AssessmentPhase, ControlMark, IncidentPhase, IncidentReading, ManagementReview,
    ManagementReviewSpec, NonconformityPhase, NonconformityReading, NonconformitySeverity,
    ObjectiveReading, ReviewInputs, SystemMark,
};

/// What a review reads: its format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFormat {
    /// For the meeting: Markdown.
    Markdown,
    /// For the meeting: one self-contained HTML page.
    Html,
    /// The inputs as JSON.
    Json,
    /// A ManagementReview manifest with the inputs filled in: add the decisions and actions,
    /// then apply it (or record it with `kubectl aims review --record FILE`).
    Yaml,
}

/// Gathers the inputs at `now`, comparing with the latest review held before it; assessments
/// and register reviews due within `horizon` are listed.
pub fn gather(
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
    horizon: SignedDuration,
) -> ReviewInputs {
    let previous = snapshot.latest_review(now);
    let since = previous.map(|r| r.spec.held_at);
    let before = previous.and_then(|r| r.spec.inputs.as_ref());
    let soa = crate::soa::build(snapshot, policy, "", now);
    let in_period = |at: Option<Timestamp>| since.is_none_or(|s| at.is_none_or(|at| at > s));
    let systems: Vec<SystemMark> = snapshot
        .systems()
        .into_iter()
        .map(|s| SystemMark {
            system: format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any()),
            risk_tier: s.spec.risk_tier.as_str().to_string(),
            lifecycle_stage: s.spec.lifecycle_stage.as_str().to_string(),
            generation: s.metadata.generation,
        })
        .collect();
    let controls: Vec<ControlMark> = soa
        .controls
        .iter()
        .map(|c| ControlMark {
            id: c.id.to_string(),
            status: c.status.as_str().to_string(),
        })
        .collect();
    ReviewInputs {
        gathered_at: now,
        previous_review: previous.map(|r| r.name_any()),
        since,
        objectives: soa
            .objectives
            .iter()
            .map(|o| ObjectiveReading {
                name: o.name.clone(),
                target: o.target.clone(),
                owner: o.owner.clone(),
                value: o.value.clone(),
                measured: o.measured,
                met: o.met,
                trend: o.trend.clone(),
            })
            .collect(),
        nonconformities: nonconformities(snapshot, policy, now, &in_period),
        incidents: incidents(snapshot, policy, now, &in_period),
        audits: snapshot
            .audits()
            .filter(|a| in_period(a.spec.completed_at) || in_period(Some(a.spec.started_at)))
            .map(|a| crate::engine::audit::summary(snapshot, a, policy, now))
            .collect(),
        system_changes: before.map_or_else(Vec::new, |b| system_changes(&b.systems, &systems)),
        control_changes: before.map_or_else(Vec::new, |b| control_changes(&b.controls, &controls)),
        assessments_due: falling_due(snapshot, policy, now, horizon),
        open_actions: open_actions(snapshot, now),
        systems,
        controls,
    }
}

/// The nonconformity register, read for the period.
fn nonconformities(
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
    in_period: &dyn Fn(Option<Timestamp>) -> bool,
) -> NonconformityReading {
    let mut reading = NonconformityReading::default();
    for row in crate::nonconformities::register(snapshot, policy, now) {
        let closed = row.phase == NonconformityPhase::Closed.as_str();
        if !closed {
            reading.open += 1;
            if row.severity == NonconformitySeverity::Major.as_str() {
                reading.open_major += 1;
            }
        }
        if in_period(row.opened) {
            reading.opened_since += 1;
        }
        if closed && in_period(row.closed_at) {
            reading.closed_since += 1;
        }
        if row.overdue {
            let due = row.due.map(|d| d.strftime("%Y-%m-%d").to_string());
            reading.overdue.push(format!(
                "{}/{} (due {})",
                row.namespace,
                row.name,
                due.unwrap_or_default()
            ));
        }
    }
    reading
}

/// The incident log, read for the period.
fn incidents(
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
    in_period: &dyn Fn(Option<Timestamp>) -> bool,
) -> IncidentReading {
    let mut reading = IncidentReading::default();
    for row in crate::incidents::log(snapshot, policy, now) {
        if in_period(Some(row.detected_at)) {
            reading.detected_since += 1;
            if !row.serious.is_empty() {
                reading.serious_since += 1;
            }
        }
        if row.phase == IncidentPhase::Open.as_str() {
            reading.open += 1;
        }
        if crate::incidents::report_overdue(&row) {
            reading
                .reports_overdue
                .push(format!("{}/{}", row.namespace, row.name));
        }
    }
    reading
}

/// What changed in the register between the marks of the previous review and now.
fn system_changes(before: &[SystemMark], now: &[SystemMark]) -> Vec<String> {
    let find =
        |marks: &[SystemMark], system: &str| marks.iter().find(|m| m.system == system).cloned();
    let mut changes = Vec::new();
    for mark in now {
        match find(before, &mark.system) {
            None => changes.push(format!("{}: added ({})", mark.system, mark.risk_tier)),
            Some(old) => {
                let mut what = Vec::new();
                if old.risk_tier != mark.risk_tier {
                    what.push(format!("risk tier {} → {}", old.risk_tier, mark.risk_tier));
                }
                if old.lifecycle_stage != mark.lifecycle_stage {
                    what.push(format!(
                        "life cycle {} → {}",
                        old.lifecycle_stage, mark.lifecycle_stage
                    ));
                }
                if what.is_empty()
                    && let (Some(a), Some(b)) = (old.generation, mark.generation)
                    && a != b
                {
                    what.push("register entry changed".to_string());
                }
                if !what.is_empty() {
                    changes.push(format!("{}: {}", mark.system, what.join(", ")));
                }
            }
        }
    }
    for old in before {
        if find(now, &old.system).is_none() {
            changes.push(format!("{}: removed from the register", old.system));
        }
    }
    changes
}

fn control_changes(before: &[ControlMark], now: &[ControlMark]) -> Vec<String> {
    now.iter()
        .filter_map(|mark| {
            let old = before.iter().find(|b| b.id == mark.id)?;
            (old.status != mark.status)
                .then(|| format!("{}: {} → {}", mark.id, old.status, mark.status))
        })
        .collect()
}

/// Approved assessments expiring and register entries due for review within `horizon`
/// (overdue ones included).
fn falling_due(
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
    horizon: SignedDuration,
) -> Vec<String> {
    let until = now.checked_add(horizon).unwrap_or(now);
    let mut due = Vec::new();
    for assessment in snapshot.assessments() {
        let state = snapshot.assessment_state(assessment, policy, now);
        if let (AssessmentPhase::Approved, Some(expiry)) = (state.phase, state.expires_at)
            && expiry <= until
        {
            due.push(format!(
                "assessment {}/{} expires {}",
                assessment.namespace().unwrap_or_default(),
                assessment.name_any(),
                expiry.strftime("%Y-%m-%d")
            ));
        }
    }
    for system in snapshot.systems() {
        let who = format!(
            "{}/{}",
            system.namespace().unwrap_or_default(),
            system.name_any()
        );
        match review_standing(system, now) {
            ReviewStanding::Overdue(at) => due.push(format!(
                "register entry {who} overdue for review since {}",
                at.strftime("%Y-%m-%d")
            )),
            ReviewStanding::DueAt(at) if at <= until => due.push(format!(
                "register entry {who} due for review {}",
                at.strftime("%Y-%m-%d")
            )),
            _ => {}
        }
    }
    due
}

/// Actions of the reviews held before `now` that are not completed, oldest review first.
fn open_actions(snapshot: &Snapshot, now: Timestamp) -> Vec<String> {
    let mut reviews: Vec<&ManagementReview> = snapshot
        .reviews()
        .filter(|r| r.spec.held_at <= now)
        .collect();
    reviews.sort_by_key(|r| r.spec.held_at);
    reviews
        .into_iter()
        .flat_map(|review| {
            let name = review.name_any();
            review
                .spec
                .actions
                .iter()
                .filter(|a| a.completed_at.is_none())
                .map(move |a| {
                    let due = match a.due_date {
                        Some(d) if a.is_overdue(now) => {
                            format!(", overdue since {}", d.strftime("%Y-%m-%d"))
                        }
                        Some(d) => format!(", due {}", d.strftime("%Y-%m-%d")),
                        None => String::new(),
                    };
                    format!("{name}/{}: {} ({}{due})", a.id, a.description, a.owner)
                })
        })
        .collect()
}

/// Refuses a review recorded as held in the future (beyond clock skew): a record of a
/// meeting is written after it.
pub fn check_held(spec: &ManagementReviewSpec, now: Timestamp) -> Result<(), String> {
    let latest = now
        .checked_add(SignedDuration::from_mins(10))
        .unwrap_or(now);
    if spec.held_at > latest {
        return Err(format!(
            "spec.heldAt ({}) is in the future; record the review once it has been held",
            spec.held_at
        ));
    }
    Ok(())
}

/// The options of `review` (offline and live).
#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// Output format: markdown or html for the meeting, json, or yaml for a ManagementReview
    /// manifest with the inputs filled in (add chair, decisions and actions, then apply it).
    #[arg(short, long, value_enum, default_value_t = ReviewFormat::Markdown)]
    pub format: ReviewFormat,
    /// List approved assessments expiring, and register entries due for review, within this
    /// many days.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub horizon_days: u16,
    /// Name of the ManagementReview written with --format yaml (default: review-<date>).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

impl ReviewArgs {
    /// How far ahead falling-due items are listed.
    pub fn horizon(&self) -> SignedDuration {
        SignedDuration::from_hours(24 * i64::from(self.horizon_days))
    }

    /// The inputs gathered from `snapshot` at `now`, in the chosen format.
    pub fn print(
        &self,
        snapshot: &Snapshot,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<String, String> {
        let inputs = gather(snapshot, policy, now, self.horizon());
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| crate::render::review::default_name(now));
        crate::render::review::render(&inputs, self.format, &name, now)
    }
}
