//! The record of who allowed an AISystem to ask less of the gate than it otherwise would.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{EnforcementMode, LifecycleStage, RiskTier};

/// Annotation on an AISystem holding its [`Relaxation`] as JSON. Only the webhook writes it;
/// a member of the deciding groups asks for one by setting it to any other value (for
/// example `approve`).
pub const RELAXATION_ANNOTATION: &str = "aims.io/relaxation";

/// Weakening values of an AISystem that members of the deciding groups approved, each with
/// who and when. A value counts only while it is at least as strict as the one approved.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Relaxation {
    /// The weakest mode approved for `spec.enforcement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<Approved<EnforcementMode>>,
    /// `false` when unpinned images were approved for a tier that requires digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_image_digest: Option<Approved<bool>>,
    /// The lowest risk tier approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_tier: Option<Approved<RiskTier>>,
    /// The stage approved for leaving a stage in which workloads may not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<Approved<LifecycleStage>>,
}

/// One approved value.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Approved<T> {
    /// The value.
    pub value: T,
    /// The authenticated user who approved it.
    pub approved_by: String,
    /// When they approved it.
    pub approved_at: Timestamp,
}

impl<T> Approved<T> {
    /// `value` approved by `by` at `at`.
    pub fn new(value: T, by: &str, at: Timestamp) -> Self {
        Self {
            value,
            approved_by: by.to_string(),
            approved_at: at,
        }
    }
}

impl Relaxation {
    /// Reads the annotation's value; `None` when it is not a relaxation the webhook wrote.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// Who approved each value recorded, and when.
    pub fn approvals(&self) -> Vec<(&str, Timestamp)> {
        fn of<T>(a: &Option<Approved<T>>) -> Option<(&str, Timestamp)> {
            a.as_ref().map(|a| (a.approved_by.as_str(), a.approved_at))
        }
        [
            of(&self.enforcement),
            of(&self.require_image_digest),
            of(&self.risk_tier),
            of(&self.lifecycle_stage),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Whether nothing is approved.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Who approved what, for status and the SoA.
    pub fn describe(&self) -> Vec<String> {
        fn line<T: Serialize>(path: &str, a: &Option<Approved<T>>) -> Option<String> {
            let a = a.as_ref()?;
            let value = serde_json::to_value(&a.value).ok()?;
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            Some(format!(
                "{path} {value} approved by {} at {}",
                a.approved_by, a.approved_at
            ))
        }
        [
            line("spec.enforcement", &self.enforcement),
            line("spec.requireImageDigest", &self.require_image_digest),
            line("spec.riskTier", &self.risk_tier),
            line("spec.lifecycleStage", &self.lifecycle_stage),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The annotation's value.
    pub fn to_annotation(&self) -> String {
        // Serialising plain strings and enums into JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
