//! The record of who allowed an AISystem to ask less of the gate than it otherwise would.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{EnforcementMode, LifecycleStage, RiskTier};

/// Annotation on an AISystem holding its [`Relaxation`] as JSON. Only the webhook writes it;
/// a member of the deciding groups asks for one by setting it to any other value (for
/// example `approve`).
pub const RELAXATION_ANNOTATION: &str = "aims.io/relaxation";

/// Weakening values of an AISystem that a member of the deciding groups approved, with who
/// and when. A value counts only while it is at least as strict as the one recorded here.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Relaxation {
    /// The authenticated user who approved the values.
    pub approved_by: String,
    /// When they approved them.
    pub approved_at: Timestamp,
    /// The weakest mode approved for `spec.enforcement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<EnforcementMode>,
    /// `false` when unpinned images were approved for a tier that requires digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_image_digest: Option<bool>,
    /// The lowest risk tier approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_tier: Option<RiskTier>,
    /// The stage approved for leaving a stage in which workloads may not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<LifecycleStage>,
}

impl Relaxation {
    /// Reads the annotation's value; `None` when it is not a relaxation the webhook wrote.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The annotation's value.
    pub fn to_annotation(&self) -> String {
        // Serialising plain strings and enums into JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
