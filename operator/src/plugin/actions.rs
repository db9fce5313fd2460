//! What `kubectl aims` does to one object: explain why a workload would be refused now, and
//! record a decision on an assessment as the current user.

use jiff::Timestamp;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use super::{PluginError, api_error, live_snapshot};
use crate::engine::evaluate_object;
use crate::policy::Policy;
use crate::resources::ImpactAssessment;

/// The API resource of a workload named as kubectl would (`deployment`, `deploy`, `sts`, ...).
pub fn workload_resource(kind: &str) -> Option<ApiResource> {
    let (group, version, kind, plural) = match kind.to_ascii_lowercase().as_str() {
        "deployment" | "deployments" | "deploy" => ("apps", "v1", "Deployment", "deployments"),
        "statefulset" | "statefulsets" | "sts" => ("apps", "v1", "StatefulSet", "statefulsets"),
        "daemonset" | "daemonsets" | "ds" => ("apps", "v1", "DaemonSet", "daemonsets"),
        "replicaset" | "replicasets" | "rs" => ("apps", "v1", "ReplicaSet", "replicasets"),
        "job" | "jobs" => ("batch", "v1", "Job", "jobs"),
        "cronjob" | "cronjobs" | "cj" => ("batch", "v1", "CronJob", "cronjobs"),
        "pod" | "pods" | "po" => ("", "v1", "Pod", "pods"),
        "inferenceservice" | "inferenceservices" | "isvc" => (
            "serving.kserve.io",
            "v1beta1",
            "InferenceService",
            "inferenceservices",
        ),
        _ => return None,
    };
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version,
        kind: kind.to_string(),
        plural: plural.to_string(),
    })
}

/// Why `target` (kind/name) in `namespace` would be refused or admitted now.
pub async fn explain(
    client: &Client,
    target: &str,
    namespace: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<(String, bool), PluginError> {
    let (kind, name) = target.split_once('/').ok_or_else(|| {
        PluginError::Usage(format!(
            "\"{target}\" is not kind/name, e.g. deployment/credit-scorer"
        ))
    })?;
    let resource = workload_resource(kind).ok_or_else(|| {
        PluginError::Usage(format!(
            "{kind} is not a workload kind; use deployment, statefulset, daemonset, replicaset, job, cronjob, pod or inferenceservice"
        ))
    })?;
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource);
    let mut object = api.get(name).await.map_err(api_error(format!(
        "reading {} {namespace}/{name}",
        resource.kind
    )))?;
    object.types = Some(kube::core::TypeMeta {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
    });
    let value = serde_json::to_value(&object).map_err(|e| PluginError::Usage(e.to_string()))?;
    let snapshot = live_snapshot(client, Some(namespace)).await?;
    // Namespace labels decide the mode; the namespaced snapshot lists them all anyway.
    let verdict = evaluate_object(&snapshot, &value, namespace, policy, now)
        .map_err(|e| PluginError::Usage(e.to_string()))?;
    Ok((verdict.message(), verdict.allowed))
}

/// Records a decision on an assessment as the current user. The decision goes in without
/// stamps; the webhook stamps who and when, or refuses with the reason.
pub async fn decide(
    client: &Client,
    args_namespace: &str,
    assessment: &str,
    decision: &str,
    comment: Option<&str>,
) -> Result<String, PluginError> {
    let api = Api::<ImpactAssessment>::namespaced(client.clone(), args_namespace);
    let patch = json!({"spec": {"approval": {
        "decision": decision,
        "comment": comment,
        "decidedBy": null, "decidedAt": null, "contentHash": null, "systemFields": null,
    }}});
    let stored = api
        .patch(assessment, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(api_error(format!(
            "recording the decision on {args_namespace}/{assessment}"
        )))?;
    let approval = stored.spec.approval.as_ref();
    Ok(format!(
        "impactassessment {args_namespace}/{assessment}: {decision} by {} at {}",
        approval
            .and_then(|a| a.decided_by.as_deref())
            .unwrap_or("(not stamped: is the aims-operator webhook installed?)"),
        approval
            .and_then(|a| a.decided_at)
            .map(|t| t.to_string())
            .unwrap_or_default()
    ))
}
