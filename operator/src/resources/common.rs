use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A status condition in the standard Kubernetes shape (`metav1.Condition`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type in CamelCase, e.g. `Compliant` or `AssessmentApproved`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// One CamelCase word saying why the condition has this status.
    pub reason: String,
    /// What the condition means for this object and, when it is not met, what to do.
    pub message: String,
    /// When the status last changed from one value to another.
    pub last_transition_time: Timestamp,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// How the webhook acts on a workload that fails a rule.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum EnforcementMode {
    /// Refuse the request.
    Enforce,
    /// Admit the request and return the failures as warnings to the client.
    Warn,
    /// Admit the request silently and record the failures for the audit trail.
    Audit,
}

impl EnforcementMode {
    /// Parses the value of the namespace label `aims.io/enforcement` (case-insensitive).
    pub fn from_label(value: &str) -> Option<Self> {
        [Self::Enforce, Self::Warn, Self::Audit]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(value))
    }

    /// Whether this mode lets through more than `other` does (audit < warn < enforce).
    pub fn is_weaker_than(self, other: Self) -> bool {
        self.rank() < other.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Self::Audit => 0,
            Self::Warn => 1,
            Self::Enforce => 2,
        }
    }

    /// Lower-case name as used in labels and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Warn => "warn",
            Self::Audit => "audit",
        }
    }
}

/// Status values of a condition, as strings the API expects.
pub fn condition_status(met: bool) -> &'static str {
    if met { "True" } else { "False" }
}

#[cfg(test)]
mod tests {
    use super::EnforcementMode;

    #[test]
    fn enforcement_labels_are_read_whatever_their_case_and_nothing_else_is_a_mode() {
        for (value, mode) in [
            ("enforce", Some(EnforcementMode::Enforce)),
            ("Warn", Some(EnforcementMode::Warn)),
            ("AUDIT", Some(EnforcementMode::Audit)),
            ("warning", None),
            ("", None),
            ("audit ", None),
        ] {
            assert_eq!(EnforcementMode::from_label(value), mode, "{value:?}");
        }
    }
}
