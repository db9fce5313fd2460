//! The webhook's view of the cluster: one [`Snapshot`] kept current by watches, read under a
//! lock for the microseconds a decision takes. No API call happens on the admission path.

pub mod organisation;
pub mod records;
pub mod shared;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::engine::snapshot::namespace_of;
use crate::engine::{Snapshot, Workload};
use crate::resources::{AISystem, ControlBinding, ImpactAssessment, SYSTEM_LABEL};
use shared::SharedStore;

/// A snapshot shared between the watches that write it and the reviews that read it.
pub struct ClusterCache {
    snapshot: RwLock<Snapshot>,
    pending: Mutex<BTreeSet<&'static str>>,
    /// Whether every feed has listed; a channel, so that the reconciler can wait for it.
    synced: tokio::sync::watch::Sender<bool>,
    /// Where the systems affected by each applied change are announced (the reconciler).
    listeners: Mutex<Vec<mpsc::UnboundedSender<ObjectRef<AISystem>>>>,
    /// The AI systems as watched, shared with the reconciler.
    pub systems: SharedStore<AISystem>,
    /// The impact assessments as watched, shared with the reconciler.
    pub assessments: SharedStore<ImpactAssessment>,
    /// The control bindings as watched, shared with the reconciler.
    pub bindings: SharedStore<ControlBinding>,
    /// The nonconformity records as watched, shared with the reconciler.
    pub nonconformities: SharedStore<crate::resources::Nonconformity>,
    /// Whether nonconformity records are followed (their CRD is served).
    pub records_followed: std::sync::atomic::AtomicBool,
    /// The AI incidents as watched, shared with the reconciler.
    pub incidents: SharedStore<crate::resources::AIIncident>,
    /// Whether AI incidents are followed (their CRD is served).
    pub incidents_followed: std::sync::atomic::AtomicBool,
}

impl ClusterCache {
    /// A cache that reports synced once every named feed has listed its objects.
    pub fn new(feeds: &[&'static str]) -> Self {
        Self {
            snapshot: RwLock::new(Snapshot::new()),
            pending: Mutex::new(feeds.iter().copied().collect()),
            synced: tokio::sync::watch::Sender::new(feeds.is_empty()),
            listeners: Mutex::new(Vec::new()),
            systems: SharedStore::default(),
            assessments: SharedStore::default(),
            bindings: SharedStore::default(),
            nonconformities: SharedStore::default(),
            records_followed: std::sync::atomic::AtomicBool::new(false),
            incidents: SharedStore::default(),
            incidents_followed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A cache already holding `snapshot` and synced: offline use, tests and benchmarks.
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        Self {
            snapshot: RwLock::new(snapshot),
            pending: Mutex::new(BTreeSet::new()),
            synced: tokio::sync::watch::Sender::new(true),
            listeners: Mutex::new(Vec::new()),
            systems: SharedStore::default(),
            assessments: SharedStore::default(),
            bindings: SharedStore::default(),
            nonconformities: SharedStore::default(),
            records_followed: std::sync::atomic::AtomicBool::new(false),
            incidents: SharedStore::default(),
            incidents_followed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether every feed has completed its first list.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Resolves once every feed has completed its first list (at once if they have).
    pub async fn synced(&self) {
        let mut synced = self.synced.subscribe();
        // The sender lives as long as the cache, which outlives this borrow of it.
        let _ = synced.wait_for(|synced| *synced).await;
    }

    /// Feeds that have not completed their first list yet.
    pub fn pending(&self) -> Vec<&'static str> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect()
    }

    /// Adds a feed that must list its objects before the cache counts as synced.
    pub fn expect(&self, feed: &'static str) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.insert(feed);
        self.synced.send_replace(false);
    }

    fn mark_synced(&self, feed: &'static str) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.remove(feed);
        if pending.is_empty() {
            self.synced.send_replace(true);
        }
    }

    /// A stream of the AI systems whose inputs changed, each announced after the change is
    /// in the snapshot.
    pub fn subscribe(&self) -> impl Stream<Item = ObjectRef<AISystem>> + Send + 'static {
        let (sender, receiver) = mpsc::unbounded();
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        receiver
    }

    fn announce(&self, systems: Vec<(String, String)>) {
        let mut listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A closed receiver means its controller stopped; forget it.
        listeners.retain(|sender| {
            systems.iter().all(|(ns, name)| {
                sender
                    .unbounded_send(ObjectRef::new(name).within(ns))
                    .is_ok()
            })
        });
    }

    /// Runs `f` on the current snapshot.
    pub fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        // A writer that panicked mid-update cannot leave a half-applied event behind (each
        // Snapshot method completes or does nothing), so a poisoned lock is still readable.
        f(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `f` to the snapshot.
    pub fn write(&self, f: impl FnOnce(&mut Snapshot)) {
        f(&mut self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner));
    }
}

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
    /// Removes one object.
    fn remove(snapshot: &mut Snapshot, object: &Self);
    /// The AI systems (namespace, name) whose evaluation depends on this object.
    fn affected(snapshot: &Snapshot, object: &Self) -> Vec<(String, String)>;
    /// The store this kind shares with the reconciler, for the kinds it keeps status on.
    fn shared(_cache: &ClusterCache) -> Option<&SharedStore<Self>> {
        None
    }
    /// Adds one object held in the shared store.
    fn add_shared(snapshot: &mut Snapshot, object: Arc<Self>) {
        Self::add(snapshot, Arc::unwrap_or_clone(object));
    }
}

impl Feed for AISystem {
    // The stored status stays: the reconciler compares it with the one it works out. The
    // engine never reads it.
    fn shared(cache: &ClusterCache) -> Option<&SharedStore<Self>> {
        Some(&cache.systems)
    }
    fn add_shared(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_system(object);
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
    // The stored status stays: the reconciler compares it with the one it works out. The
    // engine never reads it.
    fn shared(cache: &ClusterCache) -> Option<&SharedStore<Self>> {
        Some(&cache.assessments)
    }
    fn add_shared(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_assessment(object);
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
    // The stored status stays: the reconciler compares it with the one it works out. The
    // engine never reads it.
    fn shared(cache: &ClusterCache) -> Option<&SharedStore<Self>> {
        Some(&cache.bindings)
    }
    fn add_shared(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_binding(object);
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
/// The Prometheus Operator's monitors, reduced to what ties them to AI systems.
pub mod monitors {
    use kube::CustomResource;
    use serde::{Deserialize, Serialize};

    /// `monitoring.coreos.com/v1` ServiceMonitor (only its selector is read).
    #[derive(CustomResource, Deserialize, Serialize, Clone, Debug)]
    #[kube(
        group = "monitoring.coreos.com",
        version = "v1",
        kind = "ServiceMonitor",
        namespaced,
        schema = "disabled"
    )]
    pub struct ServiceMonitorSpec {
        /// Which Services it scrapes.
        #[serde(default)]
        pub selector: Option<serde_json::Value>,
    }

    /// `monitoring.coreos.com/v1` PodMonitor (only its selector is read).
    #[derive(CustomResource, Deserialize, Serialize, Clone, Debug)]
    #[kube(
        group = "monitoring.coreos.com",
        version = "v1",
        kind = "PodMonitor",
        namespaced,
        schema = "disabled"
    )]
    pub struct PodMonitorSpec {
        /// Which Pods it scrapes.
        #[serde(default)]
        pub selector: Option<serde_json::Value>,
    }
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

/// Applies one watch event. A relist (`Init` .. `InitDone`) is buffered and swapped in whole,
/// so objects deleted while the watch was down disappear and readers never see half a list.
/// A kind with a shared store is buffered there, and the snapshot indexes the store's copies.
pub fn apply_event<K: Feed>(cache: &ClusterCache, buffer: &mut Vec<K>, event: Event<K>) {
    let held = K::shared(cache).map(|store| store.apply(&event));
    match event {
        Event::Init => buffer.clear(),
        Event::InitApply(object) => {
            if held.is_none() {
                buffer.push(object);
            }
        }
        Event::InitDone => {
            let objects = std::mem::take(buffer);
            let mut affected = Vec::new();
            cache.write(|s| {
                K::clear(s);
                match held {
                    Some(held) => held.into_iter().for_each(|o| K::add_shared(s, o)),
                    None => objects.into_iter().for_each(|o| K::add(s, o)),
                }
                // After a relist anything may have changed: every system is re-evaluated.
                affected = s
                    .systems()
                    .iter()
                    .map(|sys| (sys.namespace().unwrap_or_default(), sys.name_any()))
                    .collect();
            });
            cache.mark_synced(K::FEED);
            cache.announce(affected);
        }
        Event::Apply(object) => {
            let mut affected = Vec::new();
            cache.write(|s| {
                affected = K::affected(s, &object);
                match held.and_then(|held| held.into_iter().next()) {
                    Some(held) => K::add_shared(s, held),
                    None => K::add(s, object),
                }
            });
            cache.announce(affected);
        }
        Event::Delete(object) => {
            let mut affected = Vec::new();
            cache.write(|s| {
                affected = K::affected(s, &object);
                K::remove(s, &object);
            });
            cache.announce(affected);
        }
    }
}

/// Strips what nothing reads before an object is cached: managed fields and the
/// last-applied copy are often most of an object's size.
fn slim<K: Feed>(object: &mut K) {
    crate::reconciler::strip_bookkeeping(object.meta_mut());
}

/// First and longest pause before a failed watch is started again.
const RETRY: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(30));

/// Follows one kind for ever, feeding the cache. A watch that fails (the API server
/// restarted, the connection dropped, the history expired) leaves the kind unsynced until a
/// fresh list has replaced its view: the view may lack a change made meanwhile, such as a
/// revoked approval, so until then enforcing namespaces refuse and the webhook is not ready.
/// Retried with backoff (0.5 s doubling to 30 s, back to 0.5 s after a list succeeds).
pub async fn follow<K: Feed>(api: Api<K>, config: watcher::Config, cache: Arc<ClusterCache>) {
    let mut delay = RETRY.0;
    loop {
        let stream = watcher::watcher(api.clone(), config.clone()).modify(slim::<K>);
        if drive(stream, &cache).await {
            delay = RETRY.0;
        }
        cache.expect(K::FEED);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY.1);
    }
}

/// Feeds the cache until the watch fails; whether it listed (and so synced) meanwhile.
async fn drive<K: Feed>(
    stream: impl Stream<Item = Result<Event<K>, watcher::Error>>,
    cache: &ClusterCache,
) -> bool {
    let mut stream = std::pin::pin!(stream);
    let mut buffer = Vec::new();
    let mut listed = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => {
                listed |= matches!(event, Event::InitDone);
                apply_event(cache, &mut buffer, event);
            }
            Err(error) => {
                let text = error.to_string();
                let hint = if text.contains("404") || text.contains("NotFound") {
                    "the API does not serve this kind: are the aims.io CRDs installed (kubectl apply -f crds/)?"
                } else if text.contains("403") || text.contains("Forbidden") {
                    "the service account may not list or watch this kind: check the ClusterRole"
                } else {
                    "enforcing namespaces refuse and the webhook is not ready until this kind is listed again"
                };
                tracing::warn!(feed = K::FEED, %error, hint, "watch failed; listing again after a pause");
                return listed;
            }
        }
    }
    listed
}

/// Every feed the webhook needs.
pub const FEEDS: [&str; 7] = [
    AISystem::FEED,
    ImpactAssessment::FEED,
    ControlBinding::FEED,
    Namespace::FEED,
    Deployment::FEED,
    StatefulSet::FEED,
    ReplicaSet::FEED,
];

/// Which of the Prometheus Operator's monitor kinds the cluster serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonitorsServed {
    /// `servicemonitors.monitoring.coreos.com`.
    pub service_monitors: bool,
    /// `podmonitors.monitoring.coreos.com`.
    pub pod_monitors: bool,
}

/// Asks the API server which monitor kinds exist (none when the group is not served).
pub async fn monitors_served(client: &Client) -> MonitorsServed {
    match client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
    {
        Ok(resources) => {
            let served = |plural: &str| resources.resources.iter().any(|r| r.name == plural);
            MonitorsServed {
                service_monitors: served("servicemonitors"),
                pod_monitors: served("podmonitors"),
            }
        }
        Err(error) => {
            tracing::info!(%error, "monitoring.coreos.com/v1 is not served; monitors are not followed");
            MonitorsServed::default()
        }
    }
}

/// Starts following every kind the webhook needs; returns the cache they fill. Monitors are
/// followed only where the Prometheus Operator's API is served (asked once, at start).
pub async fn start(client: Client) -> Arc<ClusterCache> {
    let cache = Arc::new(ClusterCache::new(&FEEDS));
    organisation::follow_organisation(&client, &cache).await;
    records::follow_records(&client, &cache).await;
    let served = monitors_served(&client).await;
    if served.service_monitors {
        cache.expect(monitors::ServiceMonitor::FEED);
        tokio::spawn(follow(
            Api::<monitors::ServiceMonitor>::all(client.clone()),
            watcher::Config::default(),
            cache.clone(),
        ));
    }
    if served.pod_monitors {
        cache.expect(monitors::PodMonitor::FEED);
        tokio::spawn(follow(
            Api::<monitors::PodMonitor>::all(client.clone()),
            watcher::Config::default(),
            cache.clone(),
        ));
    }
    let all = watcher::Config::default();
    let labelled = watcher::Config::default().labels(SYSTEM_LABEL);
    tokio::spawn(follow(
        Api::<AISystem>::all(client.clone()),
        all.clone(),
        cache.clone(),
    ));
    tokio::spawn(follow(
        Api::<ImpactAssessment>::all(client.clone()),
        all.clone(),
        cache.clone(),
    ));
    tokio::spawn(follow(
        Api::<ControlBinding>::all(client.clone()),
        all.clone(),
        cache.clone(),
    ));
    tokio::spawn(follow(
        Api::<Namespace>::all(client.clone()),
        all,
        cache.clone(),
    ));
    tokio::spawn(follow(
        Api::<Deployment>::all(client.clone()),
        labelled.clone(),
        cache.clone(),
    ));
    tokio::spawn(follow(
        Api::<StatefulSet>::all(client.clone()),
        labelled.clone(),
        cache.clone(),
    ));
    tokio::spawn(follow(
        Api::<ReplicaSet>::all(client),
        labelled,
        cache.clone(),
    ));
    cache
}
