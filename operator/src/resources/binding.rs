use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// Binds Annex A controls to AI systems: for each control whether it applies, why not when
/// excluded, how it is implemented and where the evidence is. Controls the cluster can check
/// are verified automatically and the result lands in status.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "ControlBinding",
    plural = "controlbindings",
    singular = "controlbinding",
    namespaced,
    derive = "PartialEq",
    doc = "Annex A controls bound to AI systems: applicability, justification, implementation and evidence.",
    // Boxed: the register holds every object of this kind without its status (the
    // reconciler keeps a fingerprint of it), and an empty box is 8 bytes, not the struct.
    status = "Box<ControlBindingStatus>",
    shortname = "acb",
    category = "aims",
    printcolumn(name = "Controls", type_ = "integer", json_path = ".status.summary.total"),
    printcolumn(name = "Met", type_ = "integer", json_path = ".status.summary.met"),
    printcolumn(name = "Failing", type_ = "integer", json_path = ".status.summary.failing"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("(has(self.spec.allSystems) && self.spec.allSystems) || (has(self.spec.systems) && size(self.spec.systems) > 0)").message("name at least one AI system in spec.systems, or set spec.allSystems: true")
)]
#[serde(rename_all = "camelCase")]
pub struct ControlBindingSpec {
    /// Names of the AISystems (same namespace) these controls apply to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<String>,
    /// Apply the controls to every AISystem in the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_systems: Option<bool>,
    /// The controls, one entry per Annex A control ID.
    #[schemars(length(min = 1))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub controls: Vec<ControlEntry>,
}

/// How one Annex A control is addressed for the bound systems.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.applicability != 'Excluded' || (has(self.justification) && size(self.justification) > 0)",
    "message": "an excluded control needs a justification"
}]))]
pub struct ControlEntry {
    /// Annex A control ID, e.g. `A.6.2.6`.
    #[schemars(schema_with = "crate::catalog::control_id_schema")]
    pub id: String,
    /// Whether the control applies to the bound systems.
    pub applicability: Applicability,
    /// Why the control is excluded (required when excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Who accepted the exclusion and until when.
    // Boxed: few controls are excluded, and the register holds tens of thousands of entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion: Option<Box<Exclusion>>,
    /// How the control is implemented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<Implementation>,
    /// References to the evidence that the control works.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// Whether a control applies.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Applicability {
    /// The control applies and must be implemented.
    Applicable,
    /// The control is excluded, with a justification.
    Excluded,
}

/// Acceptance of a control exclusion.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion {
    /// Who accepted the exclusion (stamped by the webhook from the authenticated user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
    /// The exclusion must be reviewed by this time; after it the control shows as a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// How a control is implemented.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// What is done to meet the control.
    #[schemars(length(min = 1))]
    pub description: String,
    /// How far the implementation has got.
    pub status: ImplementationStatus,
}

/// Progress of a control's implementation.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ImplementationStatus {
    /// Decided, not started.
    Planned,
    /// Under way.
    InProgress,
    /// Done and operating.
    Implemented,
}

/// A piece of evidence for a control.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// What the evidence is.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Where it is (URL, document ID, ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// When it was last reviewed or collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<Timestamp>,
    /// When it must be reviewed again; after that the control is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_review: Option<Timestamp>,
}

/// Observed state of a control binding, kept by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlBindingStatus {
    /// Standard conditions: Verified.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Result for each control of the binding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub controls: Vec<ControlResult>,
    /// Counts for the printer columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ControlBindingSummary>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Result of checking one control.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlResult {
    /// Annex A control ID.
    pub id: String,
    /// Outcome.
    pub state: ControlState,
    /// What was found and, when the control is not met, what to do.
    pub message: String,
    /// When the control was checked.
    pub checked_at: Timestamp,
}

/// Outcome of checking a control for a system or a binding.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum ControlState {
    /// Implemented and confirmed by an automated check in the cluster.
    Verified,
    /// Implemented, with evidence that is current.
    Implemented,
    /// Excluded with a justification that is still accepted.
    Excluded,
    /// Planned or in progress.
    Planned,
    /// Evidence or exclusion is past its review date.
    Stale,
    /// The automated check failed.
    Failed,
    /// Nobody addressed the control.
    Gap,
}

impl ControlState {
    /// Name as shown in status and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "Verified",
            Self::Implemented => "Implemented",
            Self::Excluded => "Excluded",
            Self::Planned => "Planned",
            Self::Stale => "Stale",
            Self::Failed => "Failed",
            Self::Gap => "Gap",
        }
    }

    /// Whether the control counts as met (operating or legitimately excluded).
    pub fn is_met(self) -> bool {
        matches!(self, Self::Verified | Self::Implemented | Self::Excluded)
    }
}

/// Counts shown by `kubectl get controlbindings`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlBindingSummary {
    /// Controls in the binding.
    pub total: u32,
    /// Controls verified, implemented or excluded.
    pub met: u32,
    /// Controls failed, stale, planned or missing.
    pub failing: u32,
}
