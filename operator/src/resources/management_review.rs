//! Management reviews: when top management reviewed the AI management system, who took part,
//! what they were shown (the inputs `kubectl aims review` gathers from the cluster), and the
//! decisions and actions taken. The inputs recorded here are also what the next review
//! compares against: objective trends, changed systems, changed controls.

use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A management review of the AI management system.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "ManagementReview",
    plural = "managementreviews",
    singular = "managementreview",
    doc = "A management review of the AI management system: when it was held, who took part, the inputs it considered (gathered from the cluster by kubectl aims review) and the decisions and actions taken.",
    shortname = "mgmtreview",
    category = "aims",
    printcolumn(name = "Held", type_ = "string", json_path = ".spec.heldAt"),
    printcolumn(name = "Chair", type_ = "string", json_path = ".spec.chair"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ManagementReviewSpec {
    /// When the review was held.
    #[schemars(extend("format" = "date-time"))]
    pub held_at: Timestamp,
    /// Who chaired it (top management).
    #[schemars(length(min = 1))]
    pub chair: String,
    /// Who took part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<String>,
    /// What the review considered, as gathered from the cluster (`kubectl aims review`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<ReviewInputs>,
    /// Decisions taken (on improvement, changes to the AIMS, resources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<ReviewDecision>,
    /// Actions decided, each with an owner; the next review lists those not completed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub actions: Vec<ReviewAction>,
}

/// A decision of a management review.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDecision {
    /// What was decided.
    #[schemars(length(min = 1))]
    pub description: String,
    /// What it is about (an objective, a control, a system), when it is about one thing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// An action decided at a management review.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewAction {
    /// Short ID, unique in the review.
    #[schemars(length(min = 1, max = 40))]
    pub id: String,
    /// What is to be done.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Who is accountable for it.
    #[schemars(length(min = 1))]
    pub owner: String,
    /// When it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub due_date: Option<Timestamp>,
    /// When it was completed; unset while open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub completed_at: Option<Timestamp>,
}

impl ReviewAction {
    /// Whether the action is past its due date at `now` and not completed.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.completed_at.is_none() && self.due_date.is_some_and(|due| due < now)
    }
}

/// What a management review considered, gathered from the cluster at one moment.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewInputs {
    /// When the inputs were gathered.
    #[schemars(extend("format" = "date-time"))]
    pub gathered_at: Timestamp,
    /// The review before this one, whose inputs the changes and trends compare against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_review: Option<String>,
    /// Start of the period considered: the previous review's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub since: Option<Timestamp>,
    /// The AIMS objectives against their targets, with the trend since the last review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<ObjectiveReading>,
    /// Nonconformities and corrective actions.
    #[serde(default)]
    pub nonconformities: NonconformityReading,
    /// AI incidents.
    #[serde(default)]
    pub incidents: IncidentReading,
    /// Internal audits of the period, each with where its findings stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audits: Vec<String>,
    /// What changed in the AI system register since the previous review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_changes: Vec<String>,
    /// Annex A controls whose status in the SoA changed since the previous review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub control_changes: Vec<String>,
    /// Approved assessments that expire within the horizon, and systems overdue for review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assessments_due: Vec<String>,
    /// Actions of earlier reviews not completed yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_actions: Vec<String>,
    /// The register as it stood (the next review's baseline for system changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<SystemMark>,
    /// Each control's SoA status as it stood (the next review's baseline for control
    /// changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlMark>,
}

/// An objective as a review saw it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveReading {
    /// The objective.
    pub name: String,
    /// Its target.
    pub target: String,
    /// Who is accountable.
    pub owner: String,
    /// The value then, as written for people; empty when the cluster does not measure it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// The value as a number (a share from 0 to 1, or seconds), for the next trend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<f64>,
    /// Whether it met the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
    /// Improving, Worsening or Steady against the previous review; empty without one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trend: String,
}

/// Nonconformities as a review saw them.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NonconformityReading {
    /// Records not closed (open or reopened).
    pub open: u32,
    /// Of those, Major.
    pub open_major: u32,
    /// Records opened in the period.
    pub opened_since: u32,
    /// Records closed in the period.
    pub closed_since: u32,
    /// Open records whose corrective action is past due, as `namespace/name (due date)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overdue: Vec<String>,
}

/// AI incidents as a review saw them.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentReading {
    /// Incidents detected in the period.
    pub detected_since: u32,
    /// Of those, serious ones.
    pub serious_since: u32,
    /// Incidents not resolved.
    pub open: u32,
    /// Serious incidents past their reporting deadline without a notification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports_overdue: Vec<String>,
}

/// One AI system as a review saw it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemMark {
    /// `namespace/name`.
    pub system: String,
    /// Its risk tier.
    pub risk_tier: String,
    /// Its life-cycle stage.
    pub lifecycle_stage: String,
    /// Its `metadata.generation` (a spec change since shows as a change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

/// One control's SoA status as a review saw it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlMark {
    /// The Annex A control ID.
    pub id: String,
    /// Its status.
    pub status: String,
}
