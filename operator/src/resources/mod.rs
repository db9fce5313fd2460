//! The AIMS custom resources (group `aims.io`, version `v1alpha1`) and the types they
//! share. Every field carries a `///` comment: it becomes the text `kubectl explain` shows.

// kube's printcolumn(...) arguments repeat key names by design; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

mod aisystem;
mod assessment;
mod audit;
mod binding;
mod common;
mod compact;
mod fields;
mod incident;
mod management_review;
pub mod monitors;
mod nonconformity;
mod organisation;
mod relaxation;
mod validate;

pub use aisystem::*;
pub use assessment::*;
pub use audit::*;
pub use binding::*;
pub use common::*;
pub use compact::ShrinkToFit;
pub use fields::{SystemFields, spec_fields};
pub use incident::*;
pub use management_review::*;
pub use nonconformity::*;
pub use organisation::*;
pub use relaxation::*;
pub use validate::*;

/// API group of every AIMS resource.
pub const GROUP: &str = "aims.io";
/// API version of every AIMS resource.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` string of every AIMS resource.
pub const API_VERSION: &str = "aims.io/v1alpha1";

/// Label that ties a workload (or its pod template) to the AISystem it belongs to.
pub const SYSTEM_LABEL: &str = "aims.io/system";
/// Label on a workload or pod template naming the model version it deploys.
pub const MODEL_VERSION_LABEL: &str = "aims.io/model-version";
/// Label on a workload or pod template naming the model (one of the AISystem's `spec.models`).
pub const MODEL_NAME_LABEL: &str = "aims.io/model";
/// Namespace label that opts a namespace in to enforcement and chooses the mode.
pub const ENFORCEMENT_LABEL: &str = "aims.io/enforcement";
/// Annotation the webhook stamps at creation with the authenticated author of an assessment.
pub const AUTHOR_ANNOTATION: &str = "aims.io/author";
/// Annotation on a workload: why break-glass is invoked (required for it to count).
pub const BREAK_GLASS_REASON_ANNOTATION: &str = "aims.io/break-glass-reason";
/// Annotation on a workload: RFC 3339 time at which the break-glass admission ends.
pub const BREAK_GLASS_EXPIRES_ANNOTATION: &str = "aims.io/break-glass-expires";
