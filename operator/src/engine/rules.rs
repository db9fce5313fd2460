//! Admission rules: stable IDs, the ISO/IEC 42001 clauses and Annex A controls they rest on,
//! and the findings a failed rule produces.

use serde::Serialize;

/// A rule a model deployment must pass. IDs are stable: tooling and audit logs key on them.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// The workload does not belong to a registered AI system.
    #[serde(rename = "AIMS-001")]
    SystemNotRegistered,
    /// The AI system has no accountable owner.
    #[serde(rename = "AIMS-002")]
    OwnerMissing,
    /// No approved, current impact assessment covers the deployed model version.
    #[serde(rename = "AIMS-003")]
    AssessmentMissing,
    /// The AI system declares no monitoring.
    #[serde(rename = "AIMS-004")]
    MonitoringMissing,
    /// A control the risk tier requires is not implemented.
    #[serde(rename = "AIMS-005")]
    RequiredControlMissing,
    /// The life-cycle stage or risk tier forbids running the system.
    #[serde(rename = "AIMS-006")]
    DeploymentForbidden,
    /// An image is not pinned by digest, or not the digest that was assessed.
    #[serde(rename = "AIMS-007")]
    ImageNotPinned,
    /// The deployed model or its version cannot be determined.
    #[serde(rename = "AIMS-008")]
    ModelVersionUnknown,
    /// The object could not be read; in doubt the engine refuses.
    #[serde(rename = "AIMS-009")]
    UnreadableWorkload,
    /// The AI system's register entry is overdue for review (only when the policy gates on it).
    #[serde(rename = "AIMS-010")]
    ReviewOverdue,
    /// A control the covering assessment's risk treatment names is not in place (for the
    /// tiers the policy gates).
    #[serde(rename = "AIMS-011")]
    RiskControlMissing,
}

impl Rule {
    /// Every rule, in ID order.
    pub const ALL: [Rule; 11] = [
        Self::SystemNotRegistered,
        Self::OwnerMissing,
        Self::AssessmentMissing,
        Self::MonitoringMissing,
        Self::RequiredControlMissing,
        Self::DeploymentForbidden,
        Self::ImageNotPinned,
        Self::ModelVersionUnknown,
        Self::UnreadableWorkload,
        Self::ReviewOverdue,
        Self::RiskControlMissing,
    ];

    /// Stable rule ID, e.g. `AIMS-003`.
    pub fn id(self) -> &'static str {
        match self {
            Self::SystemNotRegistered => "AIMS-001",
            Self::OwnerMissing => "AIMS-002",
            Self::AssessmentMissing => "AIMS-003",
            Self::MonitoringMissing => "AIMS-004",
            Self::RequiredControlMissing => "AIMS-005",
            Self::DeploymentForbidden => "AIMS-006",
            Self::ImageNotPinned => "AIMS-007",
            Self::ModelVersionUnknown => "AIMS-008",
            Self::UnreadableWorkload => "AIMS-009",
            Self::ReviewOverdue => "AIMS-010",
            Self::RiskControlMissing => "AIMS-011",
        }
    }

    /// Short title of the rule.
    pub fn title(self) -> &'static str {
        match self {
            Self::SystemNotRegistered => "workload belongs to a registered AI system",
            Self::OwnerMissing => "AI system has an accountable owner",
            Self::AssessmentMissing => {
                "an approved, current impact assessment covers the model version"
            }
            Self::MonitoringMissing => "monitoring is declared",
            Self::RequiredControlMissing => "controls required for the risk tier are implemented",
            Self::DeploymentForbidden => "life-cycle stage and risk tier allow deployment",
            Self::ImageNotPinned => "images are pinned to the assessed digest",
            Self::ModelVersionUnknown => "the deployed model version is known",
            Self::UnreadableWorkload => "the workload can be read",
            Self::ReviewOverdue => "the register entry was reviewed on schedule",
            Self::RiskControlMissing => "the controls the risk treatment relies on are in place",
        }
    }

    /// ISO/IEC 42001 clauses and Annex A controls the rule rests on.
    pub fn reference(self) -> &'static str {
        match self {
            Self::SystemNotRegistered => "ISO/IEC 42001 4.3, A.4.2",
            Self::OwnerMissing => "ISO/IEC 42001 5.3, A.3.2",
            Self::AssessmentMissing => "ISO/IEC 42001 6.1.4, 8.4, A.5.2",
            Self::MonitoringMissing => "ISO/IEC 42001 9.1, A.6.2.6",
            Self::RequiredControlMissing => "ISO/IEC 42001 6.1.3",
            Self::DeploymentForbidden => "ISO/IEC 42001 8.1, A.6.2.5",
            Self::ImageNotPinned => "ISO/IEC 42001 A.6.2.5",
            Self::ModelVersionUnknown => "ISO/IEC 42001 8.4, A.6.2.5",
            Self::UnreadableWorkload => "ISO/IEC 42001 8.1",
            Self::ReviewOverdue => "ISO/IEC 42001 9.1",
            Self::RiskControlMissing => "ISO/IEC 42001 6.1.3, 8.3",
        }
    }
}

/// One failed rule for one workload: what is wrong and the exact fix.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that failed.
    pub rule: Rule,
    /// The Annex A control concerned, for rules about a specific control (AIMS-005).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<&'static str>,
    /// What is missing or wrong.
    pub message: String,
    /// What to do: the field to set or the command to run.
    pub fix: String,
}

impl Finding {
    /// A finding for a rule.
    pub fn new(rule: Rule, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            rule,
            control: None,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// Clause and control references, including the specific control when there is one.
    pub fn reference(&self) -> String {
        match self.control {
            Some(control) => format!("{}, {control}", self.rule.reference()),
            None => self.rule.reference().to_string(),
        }
    }
}
