//! Reading the live cluster, or several, into one snapshot for the engine: what the webhook's
//! cache would hold. Read from several contexts, every namespace is placed under its context
//! (`<context>/<namespace>`), so one organisation view names each system with its cluster.

use std::process::ExitCode;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::ListParams;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::PolicyArgs;
use super::connect::{Cluster, Connection, Namespaces, PluginError, api_error};
use crate::cache::organisation::{aims_kind_served, organisation_served};
use crate::cache::{Feed, monitors_served};
use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::resources::monitors;
use crate::resources::{
    AIIncident, AIManagementSystem, AISystem, ControlBinding, ImpactAssessment, InternalAudit,
    ManagementReview, Nonconformity, ORGANISATION_NAME,
};

/// Where one cluster's objects go in a snapshot that may hold several.
struct Placement<'a> {
    /// The context that names the cluster, when several are merged.
    cluster: Option<&'a str>,
    /// Whether this is the first cluster read into the snapshot (the only one that starts
    /// each kind afresh).
    first: bool,
}

impl Placement<'_> {
    /// `object` as it is placed: its namespace (or, for the organisation's records and
    /// Namespaces, its name) and the namespaces its references name, under the cluster.
    fn place<K: Serialize + DeserializeOwned>(&self, object: K) -> Result<K, PluginError> {
        let Some(cluster) = self.cluster else {
            return Ok(object);
        };
        let under = |value: &mut Value| {
            if let Some(text) = value.as_str() {
                *value = Value::from(format!("{cluster}/{text}"));
            }
        };
        let mut tree = serde_json::to_value(&object)
            .map_err(|e| PluginError::Usage(format!("an object cannot be placed: {e}")))?;
        let kind = tree["kind"].as_str().unwrap_or_default().to_string();
        match tree["metadata"].get_mut("namespace") {
            Some(namespace) => under(namespace),
            None if kind != "AIManagementSystem" => under(&mut tree["metadata"]["name"]),
            None => {}
        }
        if let Some(findings) = tree["spec"]
            .get_mut("findings")
            .and_then(Value::as_array_mut)
        {
            for finding in findings {
                for field in ["system", "nonconformity"] {
                    if let Some(reference) = finding.get_mut(field) {
                        under(reference);
                    }
                }
            }
        }
        serde_json::from_value(tree)
            .map_err(|e| PluginError::Usage(format!("an object cannot be placed: {e}")))
    }
}

/// Lists one kind into the snapshot the way the webhook's cache adds it.
async fn list_into<K: Feed + Serialize>(
    api: Api<K>,
    what: &str,
    snapshot: &mut Snapshot,
    placement: &Placement<'_>,
) -> Result<(), PluginError> {
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(api_error(format!("listing {what}")))?;
    // As the cache does on a relist; for monitors this also records that they exist.
    if placement.first {
        K::clear(snapshot);
    }
    for object in list {
        K::add(snapshot, placement.place(object)?);
    }
    Ok(())
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Reads the AIMS objects and namespace labels of the cluster (or one namespace) into a
/// snapshot.
pub async fn live_snapshot(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Snapshot, PluginError> {
    let mut snapshot = Snapshot::new();
    let placement = Placement {
        cluster: None,
        first: true,
    };
    read_cluster(client, namespace, &mut snapshot, &placement).await?;
    Ok(snapshot)
}

/// Reads one cluster's objects into `snapshot` as `at` places them; whether the cluster
/// serves the Prometheus Operator's monitors.
async fn read_cluster(
    client: &Client,
    namespace: Option<&str>,
    snapshot: &mut Snapshot,
    at: &Placement<'_>,
) -> Result<bool, PluginError> {
    let s = snapshot;
    list_into(api::<AISystem>(client, namespace), "AISystems", s, at).await?;
    let assessments = api::<ImpactAssessment>(client, namespace);
    list_into(assessments, "ImpactAssessments", s, at).await?;
    let bindings = api::<ControlBinding>(client, namespace);
    list_into(bindings, "ControlBindings", s, at).await?;
    list_into(Api::<Namespace>::all(client.clone()), "Namespaces", s, at).await?;
    if organisation_served(client).await {
        let organisation = Api::<AIManagementSystem>::all(client.clone())
            .list(&ListParams::default())
            .await
            .map_err(api_error("listing AIManagementSystems"))?
            .items
            .into_iter()
            .find(|aims| aims.metadata.name.as_deref() == Some(ORGANISATION_NAME));
        // One organisation, one AIMS: the first cluster's counts when several are read.
        if let Some(aims) = organisation {
            match s.organisation() {
                None => s.set_organisation(aims),
                Some(first) if first.spec != aims.spec => eprintln!(
                    "warning: the AIManagementSystem of context {} differs from the first \
                     context's; the first one's scope, objectives and controls apply",
                    at.cluster.unwrap_or("current")
                ),
                Some(_) => {}
            }
        }
    }
    if aims_kind_served(client, "nonconformities").await {
        let records = api::<Nonconformity>(client, namespace);
        list_into(records, "Nonconformities", s, at).await?;
    }
    if aims_kind_served(client, "aiincidents").await {
        let incidents = api::<AIIncident>(client, namespace);
        list_into(incidents, "AIIncidents", s, at).await?;
    }
    // Audits and reviews are the organisation's: read whole even for one namespace.
    if aims_kind_served(client, "internalaudits").await {
        let audits = Api::<InternalAudit>::all(client.clone());
        list_into(audits, "InternalAudits", s, at).await?;
    }
    if aims_kind_served(client, "managementreviews").await {
        let reviews = Api::<ManagementReview>::all(client.clone());
        list_into(reviews, "ManagementReviews", s, at).await?;
    }
    // Where the Prometheus Operator's monitors exist, the webhook requires one per system:
    // read them too, or this answer could differ from the webhook's.
    let served = monitors_served(client).await;
    if served.service_monitors {
        let monitors = api::<monitors::ServiceMonitor>(client, namespace);
        list_into(monitors, "ServiceMonitors", s, at).await?;
    }
    if served.pod_monitors {
        let monitors = api::<monitors::PodMonitor>(client, namespace);
        list_into(monitors, "PodMonitors", s, at).await?;
    }
    Ok(served.service_monitors || served.pod_monitors)
}

/// The policy the live commands judge with: the file given (else the default), with the
/// operator's namespace exempt as the operator itself has it, so that status, the webhook
/// and `kubectl aims` trust the same stamps.
pub fn live_policy(
    path: Option<&std::path::Path>,
    operator_namespace: &str,
) -> Result<Policy, PluginError> {
    let policy = match path {
        Some(p) => Policy::from_file(p).map_err(|e| PluginError::Usage(e.to_string()))?,
        None => Policy::default(),
    };
    Ok(policy.exempting(operator_namespace))
}

/// The policy and the AIMS objects (in one namespace, or all) of every cluster the
/// connection names, merged, with what the reading covers in words.
pub(super) async fn live_reading(
    connection: &Connection,
    args: &PolicyArgs,
    namespaces: &Namespaces,
) -> Result<(Policy, Snapshot, String), PluginError> {
    let policy = live_policy(args.policy.as_deref(), &args.operator_namespace)?;
    let clusters = connection.clusters().await?;
    let merged = clusters.len() > 1;
    let mut snapshot = Snapshot::new();
    let mut serving_monitors = Vec::new();
    for (i, cluster) in clusters.iter().enumerate() {
        let placement = Placement {
            cluster: cluster.context.as_deref().filter(|_| merged),
            first: i == 0,
        };
        let served = read_cluster(
            &cluster.client,
            namespaces.only(),
            &mut snapshot,
            &placement,
        )
        .await?;
        if let (Some(context), true) = (placement.cluster, served) {
            serving_monitors.push(format!("{context}/"));
        }
    }
    // Each cluster's webhook requires a monitor only where its own cluster serves them.
    if merged {
        snapshot.follow_monitors_only_under(serving_monitors);
    }
    Ok((policy, snapshot, scope(&clusters, namespaces.only())))
}

/// What a reading covers, for the SoA and the evidence: the cluster(s), and the namespace.
fn scope(clusters: &[Cluster], namespace: Option<&str>) -> String {
    let clusters = match clusters {
        [one] => format!("cluster {}", one.url),
        many => format!(
            "clusters {}",
            many.iter()
                .map(|c| format!("{} ({})", c.context.as_deref().unwrap_or("current"), c.url))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match namespace {
        Some(ns) => format!("namespace {ns} of {clusters}"),
        None => clusters,
    }
}

/// Reads the live cluster(s) as the policy says and prints what `render` makes of it.
pub(super) async fn print_reading(
    connection: &Connection,
    args: &PolicyArgs,
    namespaces: &Namespaces,
    render: impl FnOnce(&Snapshot, &Policy) -> String,
) -> Result<ExitCode, PluginError> {
    let (policy, snapshot, _) = live_reading(connection, args, namespaces).await?;
    crate::cli::emit(&render(&snapshot, &policy));
    Ok(ExitCode::SUCCESS)
}
