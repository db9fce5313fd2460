//! Internal audits: what was audited, by whom and when, and what was found. A finding that
//! is a nonconformity is tracked as a Nonconformity record: the operator opens one for each
//! finding that names an AI system, or the finding names the record people opened.

use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{NonconformitySeverity, Owner};

/// An internal audit of the AI management system.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "InternalAudit",
    plural = "internalaudits",
    singular = "internalaudit",
    doc = "An internal audit of the AI management system: its scope, the auditor, when it was carried out and its findings; each nonconformity found is tracked as a Nonconformity record.",
    shortname = "aiaudit",
    category = "aims",
    printcolumn(name = "Auditor", type_ = "string", json_path = ".spec.auditor"),
    printcolumn(name = "Started", type_ = "string", json_path = ".spec.startedAt"),
    printcolumn(name = "Completed", type_ = "string", json_path = ".spec.completedAt"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.completedAt) || self.spec.completedAt >= self.spec.startedAt").message("spec.completedAt is before spec.startedAt")
)]
#[serde(rename_all = "camelCase")]
pub struct InternalAuditSpec {
    /// What the audit covered.
    pub scope: AuditScope,
    /// Who carried it out (name; the webhook records the authenticated author separately).
    #[schemars(length(min = 1))]
    pub auditor: String,
    /// When the audit began.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Timestamp,
    /// When it ended; unset while it is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub completed_at: Option<Timestamp>,
    /// What was found, each with an ID unique in this audit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub findings: Vec<AuditFinding>,
}

/// What an internal audit covered.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditScope {
    /// The scope in a sentence or two, as the audit programme states it.
    #[schemars(length(min = 1))]
    pub statement: String,
    /// Namespaces whose AI systems were audited; empty: the whole AIMS scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Annex A controls (e.g. A.6.2.4) or clauses audited; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
}

/// One finding of an internal audit.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.classification in ['Observation', 'OpportunityForImprovement'] || has(self.system) || has(self.nonconformity)",
    "message": "a nonconformity finding names the AI system it concerns (system: namespace/name; the operator opens its Nonconformity record) or the record opened for it (nonconformity: namespace/name)"
}]))]
pub struct AuditFinding {
    /// Short ID, unique in the audit (lower case, digits and dashes): it names the
    /// Nonconformity record the operator opens (`<audit>-<id>`).
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub id: String,
    /// What kind of finding it is.
    pub classification: FindingClassification,
    /// What was found.
    #[schemars(length(min = 1))]
    pub description: String,
    /// The Annex A control concerned (e.g. A.6.2.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// The AI system concerned, as `namespace/name`: for a nonconformity, the operator opens
    /// its Nonconformity record there (`<audit>-<id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    ))]
    pub system: Option<String>,
    /// The Nonconformity record tracking it, as `namespace/name`, when people opened it
    /// (findings about no one AI system, such as the AI policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    ))]
    pub nonconformity: Option<String>,
    /// Who owns the corrective action (default: the AI system's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// Kinds of audit finding.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum FindingClassification {
    /// A requirement or control is not met at all: a Major nonconformity.
    MajorNonconformity,
    /// A lapse: a Minor nonconformity.
    MinorNonconformity,
    /// Not a nonconformity, but worth watching.
    Observation,
    /// A way to do better.
    OpportunityForImprovement,
}

impl FindingClassification {
    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MajorNonconformity => "MajorNonconformity",
            Self::MinorNonconformity => "MinorNonconformity",
            Self::Observation => "Observation",
            Self::OpportunityForImprovement => "OpportunityForImprovement",
        }
    }

    /// The nonconformity's severity, for the classifications that are one.
    pub fn severity(self) -> Option<NonconformitySeverity> {
        match self {
            Self::MajorNonconformity => Some(NonconformitySeverity::Major),
            Self::MinorNonconformity => Some(NonconformitySeverity::Minor),
            Self::Observation | Self::OpportunityForImprovement => None,
        }
    }
}

impl AuditFinding {
    /// The Nonconformity record that tracks this finding of audit `audit`, as (namespace,
    /// name): the one it names, or the one the operator opens for its system. `None` for a
    /// finding that is no nonconformity.
    pub fn record(&self, audit: &str) -> Option<(String, String)> {
        self.classification.severity()?;
        // The name is after the last `/`: a namespace read from one of several clusters is
        // `<context>/<namespace>`.
        let split = |r: &str| {
            r.rsplit_once('/')
                .map(|(ns, name)| (ns.to_string(), name.to_string()))
        };
        match (&self.nonconformity, &self.system) {
            (Some(record), _) => split(record),
            (None, Some(system)) => {
                split(system).map(|(ns, _)| (ns, format!("{audit}-{}", self.id)))
            }
            (None, None) => None,
        }
    }

    /// The AI system concerned, as (namespace, name).
    pub fn system_ref(&self) -> Option<(&str, &str)> {
        self.system.as_deref().and_then(|s| s.rsplit_once('/'))
    }
}
