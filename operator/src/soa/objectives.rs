//! The objectives of the AI management system as the SoA states them: each one's value, its target and its trend since the last management review.

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use crate::engine::Snapshot;
use crate::policy::Policy;

/// One objective of the AI management system.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveRow {
    /// What is aimed at.
    pub name: String,
    /// The target as stated.
    pub target: String,
    /// Who is accountable.
    pub owner: String,
    /// The measured value now, as a percentage; empty when the cluster does not measure it.
    pub value: String,
    /// Whether the value meets a percentage target; `None` when either is not a number.
    pub met: Option<bool>,
    /// The value as a number: a share from 0 to 1, or seconds.
    pub measured: Option<f64>,
    /// How far along the way to its target the objective is, the target being 1 (above 1:
    /// beyond it); `None` when not measured against a number.
    pub progress: Option<f64>,
    /// Improving, Worsening or Steady since the last management review recorded it, with
    /// the value then; empty when there is nothing to compare with.
    pub trend: String,
}

/// The organisation's objectives, each measured where it can be.
pub(super) fn objective_rows(
    snapshot: &Snapshot,
    policy: &Policy,
    now: Timestamp,
) -> Vec<ObjectiveRow> {
    let Some(aims) = snapshot.organisation() else {
        return Vec::new();
    };
    let measured = aims
        .spec
        .objectives
        .iter()
        .any(|o| o.measure.is_some())
        .then(|| crate::engine::objectives::objectives(snapshot, policy, now));
    let previous = snapshot.latest_review(now);
    aims.spec
        .objectives
        .iter()
        .map(|o| {
            let reading = match o.measure.zip(measured.as_ref()) {
                Some((measure, values)) => measured_value(measure, values, &o.target),
                None => Reading::default(),
            };
            let number = reading.number;
            let trend = match (o.measure, previous) {
                (Some(measure), Some(review)) => trend(measure, number, &o.name, review),
                _ => String::new(),
            };
            ObjectiveRow {
                name: o.name.clone(),
                target: o.target.clone(),
                owner: o.owner.clone(),
                value: reading.value,
                met: reading.met,
                measured: number,
                progress: reading.progress,
                trend,
            }
        })
        .collect()
}

/// How objective `name`'s value `now` compares with what management review `review`
/// recorded for it: `Improving`, `Worsening` or `Steady`, with the value then.
pub(super) fn trend(
    measure: crate::resources::Measure,
    now: Option<f64>,
    name: &str,
    review: &crate::resources::ManagementReview,
) -> String {
    let Some(then) = review
        .spec
        .inputs
        .as_ref()
        .and_then(|inputs| inputs.objectives.iter().find(|o| o.name == name))
    else {
        return String::new();
    };
    let before = match (now, then.measured) {
        (Some(_), None) => return format!("First measured since {}", review.name_any()),
        (None, _) => return String::new(),
        (Some(_), Some(before)) => before,
    };
    let now = now.unwrap_or(before);
    // A change under half a percentage point (or half a percent of a time) is noise.
    let scale = if measure.is_time() { before.abs() } else { 1.0 };
    let word = if (now - before).abs() <= 0.005 * scale.max(f64::EPSILON) {
        "Steady"
    } else if (now < before) == measure.is_time() {
        "Improving"
    } else {
        "Worsening"
    };
    format!("{word} (was {} at {})", then.value, review.name_any())
}

/// An objective as measured now.
#[derive(Default)]
pub(super) struct Reading {
    /// The value as written for people.
    value: String,
    /// Whether it meets the target (`None` when the target is not a share or time, or
    /// nothing was measured).
    met: Option<bool>,
    /// The value as a number: a share, or seconds.
    number: Option<f64>,
    /// How far along the way to the target it is, the target being 1.
    progress: Option<f64>,
}

/// An objective's value now against `target`.
pub(super) fn measured_value(
    measure: crate::resources::Measure,
    values: &crate::engine::objectives::Objectives,
    target: &str,
) -> Reading {
    use crate::resources::Measure;
    let target = target.trim().trim_start_matches(['≤', '<', '=']).trim();
    let share = |v: f64| {
        let target = target
            .strip_suffix('%')
            .and_then(|t| t.trim().parse::<f64>().ok())
            .map(|t| t / 100.0);
        Reading {
            value: format!("{:.0} %", v * 100.0),
            met: target.map(|t| v + f64::EPSILON >= t),
            number: Some(v),
            progress: target.map(|t| if t > 0.0 { v / t } else { 1.0 }),
        }
    };
    let time = |seconds: Option<f64>| match seconds {
        None => Reading {
            value: "no incident measured".to_string(),
            ..Reading::default()
        },
        Some(seconds) => {
            let target = target
                .parse::<jiff::Span>()
                .ok()
                .and_then(|span| {
                    span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                        .ok()
                })
                .map(|d| d.as_secs_f64());
            Reading {
                value: crate::incidents::duration(Some(seconds as i64)),
                met: target.map(|t| seconds <= t),
                number: Some(seconds),
                // Lower is better: half the target is twice as far along.
                progress: target.map(|t| if seconds > 0.0 { t / seconds } else { 2.0 }),
            }
        }
    };
    match measure {
        Measure::HighRiskAssessed => share(values.high_risk_assessed),
        Measure::ReviewedOnSchedule => share(values.reviewed_on_schedule),
        Measure::TrainingDataDocumented => share(values.training_data_documented),
        Measure::CorrectiveActionsOnTime => share(values.corrective_actions_on_time),
        Measure::MeanTimeToDetect => time(values.mean_time_to_detect),
        Measure::MeanTimeToResolve => time(values.mean_time_to_resolve),
        Measure::DisclosedToUsers => share(values.disclosed_to_users),
    }
}
