//! Nonconformities and their corrective actions: durable records, one per finding that needs
//! action, kept until closed with a root cause, an action and evidence. The operator opens
//! them for what it detects; people open them for audit findings. Closing is refused while
//! the detected condition persists, and a recurrence reopens the record.

use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, Owner};

/// A finding that needs action, tracked to closure.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "Nonconformity",
    plural = "nonconformities",
    singular = "nonconformity",
    doc = "A nonconformity: a finding that needs action, with its root cause and corrective action, tracked to closure with evidence.",
    namespaced,
    shortname = "nc",
    category = "aims",
    status = "NonconformityStatus",
    printcolumn(name = "Severity", type_ = "string", json_path = ".spec.severity"),
    printcolumn(name = "System", type_ = "string", json_path = ".spec.systemRef"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Due", type_ = "string", json_path = ".spec.correctiveAction.dueDate"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.closure) || (has(self.spec.rootCause) && size(self.spec.rootCause) > 0 && has(self.spec.correctiveAction) && size(self.spec.correctiveAction.description) > 0)").message("a nonconformity is closed only with spec.rootCause and spec.correctiveAction.description set"),
    validation = Rule::new("!has(self.spec.closure) || size(self.spec.closure.evidence) > 0").message("closing needs evidence that the action worked: spec.closure.evidence")
)]
#[serde(rename_all = "camelCase")]
pub struct NonconformitySpec {
    /// Major (the management system or a control fails) or Minor (a lapse).
    pub severity: NonconformitySeverity,
    /// Who found it: the operator (Detected), an internal or external audit, an incident or
    /// a management review.
    pub source: NonconformitySource,
    /// For a detected nonconformity, what the operator detects; closing is refused while it
    /// persists, and it reopens the record when it recurs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<DetectedCondition>,
    /// The AI system concerned, in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_ref: Option<String>,
    /// The Annex A control concerned (e.g. A.6.2.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// What was found.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Who is accountable for the corrective action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Why it happened, once analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    /// What is done so it does not recur.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrective_action: Option<CorrectiveAction>,
    /// Set to close the record; the webhook stamps who closed it and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
}

/// How serious a nonconformity is.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum NonconformitySeverity {
    /// A requirement or control is not met at all.
    Major,
    /// A lapse that does not stop the management system working.
    Minor,
}

impl NonconformitySeverity {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Major => "Major",
            Self::Minor => "Minor",
        }
    }
}

/// Where a nonconformity came from.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum NonconformitySource {
    /// Opened by the operator for a condition it detects.
    Detected,
    /// An internal audit finding.
    InternalAudit,
    /// An external (certification) audit finding.
    ExternalAudit,
    /// Found through an AI incident.
    Incident,
    /// Raised at a management review.
    ManagementReview,
}

impl NonconformitySource {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detected => "Detected",
            Self::InternalAudit => "InternalAudit",
            Self::ExternalAudit => "ExternalAudit",
            Self::Incident => "Incident",
            Self::ManagementReview => "ManagementReview",
        }
    }
}

/// A condition the operator detects and keeps checking.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetectedCondition {
    /// What is detected.
    pub condition: Finding,
    /// The control concerned, for ControlCheckFailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
}

/// Conditions the operator opens nonconformities for.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum Finding {
    /// A workload of the system runs while no approved, current assessment covers it.
    AssessmentLapsedWhileRunning,
    /// A workload of the system runs while another admission rule fails for it.
    WorkloadNotCompliant,
    /// A workload of the system runs under break-glass.
    BreakGlassUsed,
    /// An automated check of a control bound to the system fails.
    ControlCheckFailed,
}

impl Finding {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AssessmentLapsedWhileRunning => "AssessmentLapsedWhileRunning",
            Self::WorkloadNotCompliant => "WorkloadNotCompliant",
            Self::BreakGlassUsed => "BreakGlassUsed",
            Self::ControlCheckFailed => "ControlCheckFailed",
        }
    }

    /// The name part the operator gives the record (`<system>-<this>`).
    pub fn slug(self) -> &'static str {
        match self {
            Self::AssessmentLapsedWhileRunning => "assessment-lapsed",
            Self::WorkloadNotCompliant => "workload-not-compliant",
            Self::BreakGlassUsed => "break-glass-used",
            Self::ControlCheckFailed => "control-check-failed",
        }
    }
}

/// The corrective action.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CorrectiveAction {
    /// What is done.
    #[schemars(length(min = 1))]
    pub description: String,
    /// When it is due; past it, an open record is Overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Timestamp>,
}

/// How the record was closed.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Closure {
    /// Evidence that the action worked (links, ticket or document references).
    pub evidence: Vec<String>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who closed it: stamped by the admission webhook from the authenticated user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// When: stamped by the admission webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

/// What the operator observes of a nonconformity.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NonconformityStatus {
    /// Open, Closed, or Reopened (closed, then the detected condition came back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<NonconformityPhase>,
    /// Whether the detected condition holds now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_present: Option<bool>,
    /// How often the detected condition has begun, this record's first detection included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<u32>,
    /// The latest occurrences (at most ten), newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Occurrence>,
    /// Standard conditions: Overdue (the corrective action is past its due date and the
    /// record open).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Where a nonconformity stands.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum NonconformityPhase {
    /// Not closed yet.
    Open,
    /// Closed with root cause, action and evidence.
    Closed,
    /// Closed, and then the detected condition came back: close again once it is gone.
    Reopened,
}

impl NonconformityPhase {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Closed => "Closed",
            Self::Reopened => "Reopened",
        }
    }
}

/// One occurrence of a detected condition.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    /// When the operator saw it begin.
    pub detected_at: Timestamp,
    /// When it was gone, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
}
