//! Discovery over the live cluster: every workload kind read page by page (so a large
//! cluster's Pods are never all held at once) and judged against the live register.

use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::{Api, Client};

use super::{Discovery, discover};
use crate::engine::Snapshot;
use crate::engine::workload::Workload;
use crate::plugin::{PluginError, workload_resource};
use crate::policy::Policy;

/// The kinds read, as `kubectl` names them. ReplicaSets and Jobs of a judged controller are
/// skipped by the engine; bare ones are listed.
const KINDS: [&str; 8] = [
    "deployment",
    "statefulset",
    "daemonset",
    "replicaset",
    "job",
    "cronjob",
    "pod",
    "inferenceservice",
];

/// Objects per list request.
const PAGE: u32 = 500;

/// Model-serving workloads of the cluster (or of `namespace`) that no AISystem in `snapshot`
/// covers. A kind the API server does not serve (KServe not installed) is skipped.
pub async fn discover_cluster(
    client: &Client,
    namespace: Option<&str>,
    snapshot: &Snapshot,
    policy: &Policy,
) -> Result<Vec<Discovery>, PluginError> {
    discover_pages(client, namespace, |page| {
        discover(snapshot, page.iter(), policy)
    })
    .await
}

/// Lists every workload kind page by page and gives each page to `judge`.
pub async fn discover_pages(
    client: &Client,
    namespace: Option<&str>,
    judge: impl Fn(&[Workload<'static>]) -> Vec<Discovery>,
) -> Result<Vec<Discovery>, PluginError> {
    let mut found = Vec::new();
    for kind in KINDS {
        let Some(resource) = workload_resource(kind) else {
            continue;
        };
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let mut params = ListParams::default().limit(PAGE);
        loop {
            let page = match api.list(&params).await {
                Ok(page) => page,
                Err(kube::Error::Api(e)) if e.code == 404 => break,
                Err(source) => {
                    return Err(PluginError::Api {
                        what: format!("listing {}s", resource.kind),
                        source,
                    });
                }
            };
            found.extend(judge(&readable(&page.items, &resource)));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
    }
    Ok(found)
}

/// The page's objects read as workloads; one that cannot be read is left to the webhook
/// (it refuses such objects when they are written).
fn readable(items: &[DynamicObject], resource: &ApiResource) -> Vec<Workload<'static>> {
    items
        .iter()
        .filter_map(|object| {
            let mut value = serde_json::to_value(object).ok()?;
            value["apiVersion"] = resource.api_version.clone().into();
            value["kind"] = resource.kind.clone().into();
            let namespace = object.metadata.namespace.clone().unwrap_or_default();
            Workload::from_value(&value, &namespace)
                .ok()
                .map(Workload::into_owned)
        })
        .collect()
}
