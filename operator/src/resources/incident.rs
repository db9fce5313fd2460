//! AI incidents: what happened to which system and model, when it happened and when it was
//! found, whether it is serious in the EU AI Act's sense (and so which reporting deadline
//! applies, from the catalog's versioned regulatory data), who was notified, and how it was
//! resolved.

use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// An AI incident and its handling.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "AIIncident",
    plural = "aiincidents",
    singular = "aiincident",
    doc = "An AI incident: the system and model affected, occurrence and detection times, severity, whether it is a serious incident with a reporting deadline, notifications made and the resolution.",
    namespaced,
    shortname = "aiinc",
    category = "aims",
    status = "AIIncidentStatus",
    printcolumn(name = "System", type_ = "string", json_path = ".spec.systemRef"),
    printcolumn(name = "Severity", type_ = "string", json_path = ".spec.severity"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Report by", type_ = "string", json_path = ".status.reportingDeadline"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.occurredAt) || self.spec.occurredAt <= self.spec.detectedAt").message("spec.occurredAt is after spec.detectedAt: an incident is found after it happens"),
    validation = Rule::new("!has(self.spec.resolution) || self.spec.resolution.resolvedAt >= self.spec.detectedAt").message("spec.resolution.resolvedAt is before spec.detectedAt")
)]
#[serde(rename_all = "camelCase")]
pub struct AIIncidentSpec {
    /// The AI system affected, in this namespace.
    #[schemars(length(min = 1))]
    pub system_ref: String,
    /// The model affected (name or version), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// When it happened, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub occurred_at: Option<Timestamp>,
    /// When the organisation became aware of it: reporting deadlines run from here.
    #[schemars(extend("format" = "date-time"))]
    pub detected_at: Timestamp,
    /// How bad it is for the people affected.
    pub severity: IncidentSeverity,
    /// What happened.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Set when it is a serious incident in the EU AI Act's sense; its category decides the
    /// reporting deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serious: Option<SeriousIncident>,
    /// Notifications made (market surveillance authority, customers, affected people).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    /// How it was resolved; set when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// How bad an incident is.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum IncidentSeverity {
    /// Harm to people happened or is imminent.
    Critical,
    /// Significant harm or a significant failure of a safeguard.
    High,
    /// Limited harm, contained.
    Medium,
    /// No harm; a near miss.
    Low,
}

impl IncidentSeverity {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "Critical",
            Self::High => "High",
            Self::Medium => "Medium",
            Self::Low => "Low",
        }
    }
}

/// Why an incident is serious.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriousIncident {
    /// The kind of consequence, which decides the reporting deadline.
    pub category: SeriousCategory,
}

/// Consequences that make an incident serious (the EU AI Act's definition, in our words).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SeriousCategory {
    /// A person died.
    Death,
    /// Serious harm to a person's health.
    SeriousHealthHarm,
    /// Serious and irreversible disruption of critical infrastructure.
    CriticalInfrastructureDisruption,
    /// An infringement of fundamental rights obligations.
    FundamentalRightsInfringement,
    /// Serious harm to property or the environment.
    PropertyOrEnvironmentHarm,
    /// An infringement across several Member States (widespread).
    WidespreadInfringement,
}

impl SeriousCategory {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Death => "Death",
            Self::SeriousHealthHarm => "SeriousHealthHarm",
            Self::CriticalInfrastructureDisruption => "CriticalInfrastructureDisruption",
            Self::FundamentalRightsInfringement => "FundamentalRightsInfringement",
            Self::PropertyOrEnvironmentHarm => "PropertyOrEnvironmentHarm",
            Self::WidespreadInfringement => "WidespreadInfringement",
        }
    }
}

/// A notification made about an incident.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Who was notified (e.g. the market surveillance authority of a Member State).
    #[schemars(length(min = 1))]
    pub recipient: String,
    /// When.
    #[schemars(extend("format" = "date-time"))]
    pub at: Timestamp,
    /// Their reference, when they gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// How an incident was resolved.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// When it was resolved.
    #[schemars(extend("format" = "date-time"))]
    pub resolved_at: Timestamp,
    /// What was done.
    #[schemars(length(min = 1))]
    pub summary: String,
    /// Who declared it resolved: set by aims-operator from the authenticated user who wrote
    /// the resolution (a request naming someone else is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
}

/// What the operator works out of an incident.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AIIncidentStatus {
    /// Open or Resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<IncidentPhase>,
    /// For a serious incident, when the report to the authority is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_deadline: Option<Timestamp>,
    /// The rule the deadline comes from, with the catalog version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_rule: Option<String>,
    /// Seconds from occurrence to detection, when both are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_detect_seconds: Option<i64>,
    /// Seconds from detection to resolution, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_resolve_seconds: Option<i64>,
    /// Standard conditions: ReportOverdue (`True` when a serious incident's deadline passed
    /// without a notification).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Where an incident stands.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum IncidentPhase {
    /// Not resolved yet.
    Open,
    /// Resolved.
    Resolved,
}

impl IncidentPhase {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Resolved => "Resolved",
        }
    }
}
