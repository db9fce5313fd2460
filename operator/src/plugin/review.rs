//! `kubectl aims review --record FILE`: a management review's minutes (chair, attendees,
//! decisions, actions) recorded in the cluster with the inputs gathered from it now, as the
//! current user, whose right to record reviews the webhook checks.

use std::path::Path;
use std::process::ExitCode;

use jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, ResourceExt};
use serde_json::Value;

use super::{Cluster, PluginError, api_error};
use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::resources::ManagementReview;
use crate::review_inputs::{ReviewArgs, gather};

/// Reads the ManagementReview in `file`, fills in the inputs gathered from `snapshot` at
/// `now`, and creates it.
pub(super) async fn record(
    cluster: &Cluster,
    file: &Path,
    snapshot: &Snapshot,
    policy: &Policy,
    args: &ReviewArgs,
    now: Timestamp,
) -> Result<ExitCode, PluginError> {
    let mut review = read_minutes(file)?;
    crate::resources::validate_review(&review.spec)
        .map_err(|e| PluginError::Usage(format!("{}: {e}", file.display())))?;
    crate::review_inputs::check_held(&review.spec, now)
        .map_err(|e| PluginError::Usage(format!("{}: {e}", file.display())))?;
    if review.metadata.name.as_deref().is_none_or(str::is_empty) {
        review.metadata.name = Some(crate::render::review::default_name(review.spec.held_at));
    }
    let inputs = gather(snapshot, policy, now, args.horizon());
    let compared = inputs
        .previous_review
        .as_deref()
        .map_or("no earlier review".to_string(), |p| {
            format!("compared with {p}")
        });
    review.spec.inputs = Some(inputs);
    // What the server keeps of the file's metadata is its name and labels.
    review.metadata.resource_version = None;
    review.metadata.uid = None;
    review.metadata.managed_fields = None;
    let name = review.name_any();
    let params = PostParams {
        field_manager: Some("kubectl-aims".to_string()),
        ..PostParams::default()
    };
    let created = Api::<ManagementReview>::all(cluster.client.clone())
        .create(&params, &review)
        .await
        .map_err(api_error(format!("recording ManagementReview {name}")))?;
    println!(
        "managementreview.aims.io/{} recorded: {} decision(s), {} action(s); inputs gathered at {now} ({compared})",
        created.name_any(),
        created.spec.decisions.len(),
        created.spec.actions.len(),
    );
    Ok(ExitCode::SUCCESS)
}

/// The ManagementReview in `file` (YAML or JSON), its kind checked.
fn read_minutes(file: &Path) -> Result<ManagementReview, PluginError> {
    let usage = |what: String| PluginError::Usage(format!("{}: {what}", file.display()));
    let text = std::fs::read_to_string(file).map_err(|e| usage(e.to_string()))?;
    let value: Value = serde_saphyr::from_str(&text).map_err(|e| usage(e.to_string()))?;
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "ManagementReview" {
        return Err(usage(format!(
            "expected a ManagementReview (kind: ManagementReview, apiVersion: {}), found kind {kind:?}; \
             `kubectl aims review --format yaml` writes one to start from",
            crate::resources::API_VERSION
        )));
    }
    serde_json::from_value(value).map_err(|e| usage(format!("not a valid ManagementReview: {e}")))
}
