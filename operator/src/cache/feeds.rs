//! How each kind the cache follows enters the snapshot, and which AI systems a change to
//! one of its objects affects.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::ClusterCache;
use super::tracked::Tracked;
use crate::engine::assessment::author_decides_phase;
use crate::engine::relaxation::relaxation_annotations;
use crate::engine::snapshot::{Held, name_of, namespace_of};
use crate::engine::{Snapshot, Workload};
use crate::reconciler::kept::StatusContent;
use crate::resources::monitors;
use crate::resources::{
    AISystem, AUTHOR_ANNOTATION, ControlBinding, ImpactAssessment, SYSTEM_LABEL, ShrinkToFit,
};

/// A kind the cache follows, and how its objects enter the snapshot.
pub trait Feed:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
    /// Name used in readiness and logs.
    const FEED: &'static str;
    /// Forgets every object of the kind.
    fn clear(snapshot: &mut Snapshot);
    /// Adds or replaces one object.
    fn add(snapshot: &mut Snapshot, object: Self);
    /// Adds one object already in its own allocation (a relist's).
    fn add_held(snapshot: &mut Snapshot, object: Arc<Self>) {
        Self::add(snapshot, Arc::unwrap_or_clone(object));
    }
    /// Gives back what the object holds beyond what the register's readers use (spare list
    /// capacity, metadata nobody reads), before the cache holds it.
    fn compact(&mut self) {}
    /// Whether the register already holds this object as it is (slimmed, its status taken
    /// off): what the event of a status write brings back. Such an event then leaves the held
    /// object, and all that was worked out from it, in place.
    fn held_unchanged(_snapshot: &Snapshot, _object: &Self) -> bool {
        false
    }
    /// Removes one object.
    fn remove(snapshot: &mut Snapshot, object: &Self);
    /// The AI systems (namespace, name) whose evaluation depends on this object.
    fn affected(snapshot: &Snapshot, object: &Self) -> Vec<(String, String)>;
    /// What the cache tracks for the reconciler beside the register, for the kinds it keeps
    /// status on.
    fn tracked(_cache: &ClusterCache) -> Option<&Tracked<Self>> {
        None
    }
    /// For the kinds the cache tracks ([`Feed::tracked`]): takes the status off an object
    /// before the register holds it and returns its fingerprint, `None` where it had none.
    /// The other kinds are held whole, what is kept of their status read from the object.
    fn keep_status(_object: &mut Self) -> Option<u64> {
        None
    }
}

/// Drops the metadata no reader of the register uses: the resourceVersion (the watch has
/// taken the one it resumes from before this step), the self link, a uid where nothing names
/// the object by it (an AI system's report does, as its owner), the labels, finalizers and
/// owner references, and every annotation but those `keep` names. One string or map per
/// object, 30,000 objects at 10,000 AI systems; a map of even one entry takes 640 bytes, and
/// every AIMS object carries at least one (the author the webhook stamps) besides what
/// GitOps tools and kustomize add.
fn slim_meta(meta: &mut ObjectMeta, keep_uid: bool, keep: impl Fn(&str) -> bool) {
    meta.resource_version = None;
    meta.self_link = None;
    if !keep_uid {
        meta.uid = None;
    }
    meta.labels = None;
    meta.finalizers = None;
    meta.owner_references = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.retain(|key, _| keep(key));
    }
    if meta.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
        meta.annotations = None;
    }
}

/// Whether the register holds `object` as it is (see [`Feed::held_unchanged`]).
fn holds_as_is<K: Held + PartialEq + Resource>(snapshot: &Snapshot, object: &K) -> bool {
    K::held(snapshot, &namespace_of(object), name_of(object)).is_some_and(|held| *held == *object)
}

/// Takes a status off its object, keeping its fingerprint.
fn take_status<S: StatusContent>(status: &mut Option<S>) -> Option<u64> {
    status.take().map(|status| status.fingerprint())
}

impl Feed for AISystem {
    fn add_held(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_system(object);
    }
    fn compact(&mut self) {
        self.spec.shrink_to_fit();
        let kept = relaxation_annotations(self);
        slim_meta(&mut self.metadata, true, |key| kept.contains(&key));
    }
    // The engine never reads the status, and the reconciler only what is kept of it.
    fn keep_status(object: &mut Self) -> Option<u64> {
        take_status(&mut object.status)
    }
    fn tracked(cache: &ClusterCache) -> Option<&Tracked<Self>> {
        Some(&cache.systems)
    }
    fn held_unchanged(snapshot: &Snapshot, object: &Self) -> bool {
        holds_as_is(snapshot, object)
    }
    const FEED: &'static str = "aisystems";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_systems();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_system(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_system(&namespace_of(object), &object.name_any());
    }
    fn affected(_: &Snapshot, object: &Self) -> Vec<(String, String)> {
        vec![(namespace_of(object), object.name_any())]
    }
}

impl Feed for ImpactAssessment {
    fn add_held(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_assessment(object);
    }
    fn compact(&mut self) {
        self.spec.shrink_to_fit();
        // Most assessments are approved by someone other than their author.
        let keep_author = author_decides_phase(self);
        slim_meta(&mut self.metadata, false, |key| {
            keep_author && key == AUTHOR_ANNOTATION
        });
    }
    // The engine never reads the status, and the reconciler only what is kept of it.
    fn keep_status(object: &mut Self) -> Option<u64> {
        take_status(&mut object.status)
    }
    fn tracked(cache: &ClusterCache) -> Option<&Tracked<Self>> {
        Some(&cache.assessments)
    }
    fn held_unchanged(snapshot: &Snapshot, object: &Self) -> bool {
        holds_as_is(snapshot, object)
    }
    const FEED: &'static str = "impactassessments";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_assessments();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_assessment(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_assessment(&namespace_of(object), &object.name_any());
    }
    fn affected(snapshot: &Snapshot, object: &Self) -> Vec<(String, String)> {
        let ns = namespace_of(object);
        // The system it referenced before this change, too: a moved assessment leaves it.
        let before = snapshot.assessment_system(&ns, &object.name_any());
        let mut names = vec![object.spec.system_ref.clone()];
        names.extend(
            before
                .filter(|b| *b != object.spec.system_ref)
                .map(str::to_string),
        );
        names.into_iter().map(|n| (ns.clone(), n)).collect()
    }
}

impl Feed for ControlBinding {
    fn add_held(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_binding(object);
    }
    fn compact(&mut self) {
        self.spec.shrink_to_fit();
        // Nothing reads a binding's annotations: its author included.
        slim_meta(&mut self.metadata, false, |_| false);
    }
    // The engine never reads the status, and the reconciler only what is kept of it.
    fn keep_status(object: &mut Self) -> Option<u64> {
        take_status(&mut object.status)
    }
    fn tracked(cache: &ClusterCache) -> Option<&Tracked<Self>> {
        Some(&cache.bindings)
    }
    fn held_unchanged(snapshot: &Snapshot, object: &Self) -> bool {
        holds_as_is(snapshot, object)
    }
    const FEED: &'static str = "controlbindings";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_bindings();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_binding(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_binding(&namespace_of(object), &object.name_any());
    }
    fn affected(snapshot: &Snapshot, object: &Self) -> Vec<(String, String)> {
        let ns = namespace_of(object);
        let bound = |b: &ControlBinding| {
            if b.spec.all_systems == Some(true) {
                snapshot.system_names_in(&ns)
            } else {
                b.spec.systems.clone()
            }
        };
        // Systems it bound before this change, too: an unbound system loses its controls.
        let mut names = bound(object);
        if let Some(before) = snapshot.binding(&ns, &object.name_any()) {
            names.extend(bound(before));
        }
        names.sort();
        names.dedup();
        names.into_iter().map(|n| (ns.clone(), n)).collect()
    }
}

impl Feed for Namespace {
    const FEED: &'static str = "namespaces";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_namespaces();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_namespace(&object.name_any(), object.labels().clone());
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_namespace(&object.name_any());
    }
    fn affected(snapshot: &Snapshot, object: &Self) -> Vec<(String, String)> {
        let ns = object.name_any();
        snapshot
            .system_names_in(&ns)
            .into_iter()
            .map(|n| (ns.clone(), n))
            .collect()
    }
}

/// Workload kinds with a `scale` subresource: a scale-up is judged against the workload as
/// last written, so the cache holds the labelled ones.
macro_rules! workload_feed {
    ($kind:ty, $feed:literal, $name:literal) => {
        impl Feed for $kind {
            const FEED: &'static str = $feed;
            fn clear(snapshot: &mut Snapshot) {
                snapshot.clear_workloads($name);
            }
            fn add(snapshot: &mut Snapshot, object: Self) {
                let namespace = namespace_of(&object);
                let value = serde_json::to_value(&object).ok().map(|mut v| {
                    v["kind"] = serde_json::Value::from($name);
                    v
                });
                // The snapshot keeps its own copy of the strings (`add_workload`).
                match value
                    .as_ref()
                    .and_then(|v| Workload::from_value(v, &namespace).ok())
                {
                    Some(workload) => snapshot.add_workload(workload),
                    None => snapshot.remove_workload($name, &namespace, &object.name_any()),
                }
            }
            fn remove(snapshot: &mut Snapshot, object: &Self) {
                snapshot.remove_workload($name, &namespace_of(object), &object.name_any());
            }
            fn affected(_: &Snapshot, object: &Self) -> Vec<(String, String)> {
                object
                    .labels()
                    .get(SYSTEM_LABEL)
                    .map(|s| vec![(namespace_of(object), s.clone())])
                    .unwrap_or_default()
            }
        }
    };
}
macro_rules! monitor_feed {
    ($kind:ty, $feed:literal, $name:literal) => {
        impl Feed for $kind {
            const FEED: &'static str = $feed;
            fn clear(snapshot: &mut Snapshot) {
                snapshot.clear_monitors($name);
            }
            fn add(snapshot: &mut Snapshot, object: Self) {
                let value = serde_json::to_value(&object).unwrap_or_default();
                if let Some((ns, monitor)) =
                    crate::engine::snapshot::Monitor::from_value($name, &value)
                {
                    snapshot.add_monitor(&ns, monitor);
                }
            }
            fn remove(snapshot: &mut Snapshot, object: &Self) {
                snapshot.remove_monitor(&namespace_of(object), $name, &object.name_any());
            }
            fn affected(snapshot: &Snapshot, object: &Self) -> Vec<(String, String)> {
                let ns = namespace_of(object);
                let value = serde_json::to_value(object).unwrap_or_default();
                let mut systems: Vec<String> =
                    crate::engine::snapshot::Monitor::from_value($name, &value)
                        .map(|(_, m)| m.systems)
                        .unwrap_or_default();
                // The systems it was tied to before this change lose (or keep) their monitor too.
                systems.extend(snapshot.monitor_systems(&ns, $name, &object.name_any()));
                systems.sort();
                systems.dedup();
                systems.into_iter().map(|s| (ns.clone(), s)).collect()
            }
        }
    };
}
monitor_feed!(
    monitors::ServiceMonitor,
    "servicemonitors",
    "ServiceMonitor"
);
monitor_feed!(monitors::PodMonitor, "podmonitors", "PodMonitor");

workload_feed!(Deployment, "deployments", "Deployment");
workload_feed!(StatefulSet, "statefulsets", "StatefulSet");
workload_feed!(ReplicaSet, "replicasets", "ReplicaSet");
