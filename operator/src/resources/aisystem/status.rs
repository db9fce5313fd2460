//! What the operator keeps in an AI system's status: its conditions, the values of its printer
//! columns and the running workloads the rules would refuse now.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resources::Condition;

/// Observed state of an AI system, kept by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AISystemStatus {
    /// Standard conditions: OwnerAssigned, AssessmentApproved, MonitoringConfigured,
    /// ControlsImplemented, RelaxationsApproved, ReviewOverdue (`True` when the register entry
    /// is past its review date) and Compliant.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Short values for the printer columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<AISystemSummary>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Running workloads of the system that the admission rules would refuse now (an
    /// assessment expired, an image changed outside the webhook, break-glass in use). They
    /// are reported, never stopped. At most 20 are listed; `openNonconformities` counts all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["workload"]))]
    pub nonconformities: Vec<WorkloadNonconformity>,
    /// Number of open nonconformities, including those beyond the listed ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_nonconformities: Option<u32>,
}

/// A running workload that does not comply.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadNonconformity {
    /// `Kind/name` of the workload.
    pub workload: String,
    /// Failing rule IDs, comma-separated.
    pub rules: String,
    /// What is wrong and, for break-glass, who invoked it and until when.
    pub message: String,
    /// When it was first seen with these rules.
    pub since: Timestamp,
}

/// Short values shown by `kubectl get aisystems`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AISystemSummary {
    /// Name and phase of the assessment that covers the system, or why none does.
    pub assessment: String,
    /// `Yes` when monitoring is declared.
    pub monitored: String,
    /// `True` when every condition is met.
    pub compliant: String,
}
