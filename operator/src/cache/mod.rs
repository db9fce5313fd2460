//! The webhook's view of the cluster: one [`Snapshot`] kept current by watches, read under a
//! lock for the microseconds a decision takes. No API call happens on the admission path.

mod feeds;
pub mod organisation;
pub mod records;
pub mod tracked;
mod watch;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::watcher::Event;
use kube::{Api, Client, ResourceExt};

use crate::engine::Snapshot;
use crate::engine::snapshot::name_of;
pub use crate::resources::monitors;
use crate::resources::{AISystem, ControlBinding, ImpactAssessment, SYSTEM_LABEL};
pub use feeds::Feed;
use tracked::Tracked;
pub(crate) use watch::feed_config;
pub use watch::{SILENCE_BOUND, follow, with_silence_limit};

/// A snapshot shared between the watches that write it and the reviews that read it.
pub struct ClusterCache {
    snapshot: RwLock<Snapshot>,
    /// Held by whoever changes the snapshot, so that a relist rebuilt on a copy cannot lose
    /// a change another feed made meanwhile. Reviews never take it.
    writing: Mutex<()>,
    pending: Mutex<BTreeSet<&'static str>>,
    /// Whether every feed has listed; a channel, so that the reconciler can wait for it.
    synced: tokio::sync::watch::Sender<bool>,
    /// Whether every feed has listed at least once since the start: before that no decision
    /// rests on the view, and a relist is built in place rather than on a copy.
    listed_once: std::sync::atomic::AtomicBool,
    /// The AI systems' kept statuses and reconcile queue.
    pub systems: Tracked<AISystem>,
    /// The impact assessments' kept statuses and reconcile queue.
    pub assessments: Tracked<ImpactAssessment>,
    /// The control bindings' kept statuses and reconcile queue.
    pub bindings: Tracked<ControlBinding>,
    /// The nonconformity records' reconcile queue.
    pub nonconformities: Tracked<crate::resources::Nonconformity>,
    /// Whether nonconformity records are followed (their CRD is served).
    pub records_followed: std::sync::atomic::AtomicBool,
    /// The AI incidents' reconcile queue.
    pub incidents: Tracked<crate::resources::AIIncident>,
    /// Whether AI incidents are followed (their CRD is served).
    pub incidents_followed: std::sync::atomic::AtomicBool,
}

impl ClusterCache {
    /// A cache that reports synced once every named feed has listed its objects.
    pub fn new(feeds: &[&'static str]) -> Self {
        Self {
            snapshot: RwLock::new(Snapshot::new()),
            writing: Mutex::new(()),
            pending: Mutex::new(feeds.iter().copied().collect()),
            synced: tokio::sync::watch::Sender::new(feeds.is_empty()),
            listed_once: std::sync::atomic::AtomicBool::new(feeds.is_empty()),
            systems: Tracked::default(),
            assessments: Tracked::default(),
            bindings: Tracked::default(),
            nonconformities: Tracked::default(),
            records_followed: std::sync::atomic::AtomicBool::new(false),
            incidents: Tracked::default(),
            incidents_followed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A cache already holding `snapshot` and synced: offline use, tests and benchmarks.
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let cache = Self::new(&[]);
        *cache
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = snapshot;
        cache
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
            self.listed_once
                .store(true, std::sync::atomic::Ordering::Relaxed);
            self.synced.send_replace(true);
        }
    }

    /// Triggers the reconcile of each AI system whose inputs changed, and of the objects
    /// whose status reads it (its assessments, bindings and nonconformity records). Called
    /// after the change is in the snapshot, so a reconcile never reads an older view than
    /// the change that caused it.
    fn announce(&self, systems: Vec<(String, String)>) {
        for (ns, name) in &systems {
            self.systems.queue.trigger(ns, name);
        }
        let (assessments, bindings, records) = (
            &self.assessments.queue,
            &self.bindings.queue,
            &self.nonconformities.queue,
        );
        if systems.is_empty() || !(assessments.is_open() || bindings.is_open() || records.is_open())
        {
            return;
        }
        self.read(|s| {
            for (ns, name) in &systems {
                for assessment in s.assessments_for(ns, name) {
                    assessments.trigger(ns, name_of(&**assessment));
                }
                for binding in s.bindings_for(ns, name) {
                    bindings.trigger(ns, name_of(binding));
                }
                for record in s.nonconformities_of(ns, name) {
                    records.trigger(ns, name_of(record));
                }
            }
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
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner));
    }

    /// Applies `f` to a copy of the snapshot and puts the copy in its place: for a change as
    /// large as a relist (10,000 objects), so that reviews go on reading the current view
    /// while it is rebuilt and wait only for the swap.
    ///
    /// Until every feed has listed once, nothing is decided from the view (enforcing
    /// namespaces refuse, the webhook is not ready), so the first lists are built in place:
    /// a copy of the other kinds' maps was 4 MB of the peak at 10,000 systems.
    pub fn rebuild(&self, f: impl FnOnce(&mut Snapshot)) {
        if !self.listed_once.load(std::sync::atomic::Ordering::Relaxed) {
            return self.write(f);
        }
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut copy = self.read(Snapshot::clone);
        f(&mut copy);
        let replaced = std::mem::replace(
            &mut *self
                .snapshot
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            copy,
        );
        // Freed after the lock is released: dropping 10,000 entries is not instant either.
        drop(replaced);
    }
}

/// Strips what nothing reads before an object is cached: managed fields and the
/// last-applied copy are often most of an object's size; and spare list capacity.
fn slim<K: Feed>(object: &mut K) {
    crate::reconciler::strip_bookkeeping(object.meta_mut());
    object.compact();
}

/// Applies one watch event, its object slimmed first. A relist (`Init` .. `InitDone`) is
/// buffered and swapped in whole, rebuilt off the lock, so objects deleted while the watch
/// was down disappear, readers never see half a list and reviews do not wait for it. Every
/// change triggers the reconcile of what it affects, once the snapshot holds it.
pub fn apply_event<K: Feed>(cache: &ClusterCache, buffer: &mut Vec<Arc<K>>, mut event: Event<K>) {
    if let Event::Apply(object) | Event::InitApply(object) = &mut event {
        slim(object);
    }
    let tracked = K::tracked(cache);
    if let Some(tracked) = tracked {
        tracked.keep_status(&mut event, K::keep_status);
    }
    match event {
        Event::Init => buffer.clear(),
        // Each object in its own allocation as it arrives: a list buffered inline grew by
        // doubling to room for 16,384 objects of a kilobyte each, beside the copies made of
        // them, and was the operator's peak at 10,000 systems.
        Event::InitApply(object) => buffer.push(Arc::new(object)),
        Event::InitDone => {
            let objects = std::mem::take(buffer);
            let listed = tracked.map(|tracked| tracked.relisted(&objects));
            let mut affected = Vec::new();
            cache.rebuild(|s| {
                K::clear(s);
                objects.into_iter().for_each(|o| K::add_held(s, o));
                // After a relist anything may have changed: every system is re-evaluated.
                affected = s
                    .systems()
                    .iter()
                    .map(|sys| (sys.namespace().unwrap_or_default(), sys.name_any()))
                    .collect();
            });
            cache.mark_synced(K::FEED);
            if let (Some(tracked), Some(listed)) = (tracked, listed) {
                listed
                    .into_iter()
                    .for_each(|key| tracked.queue.trigger_key(key));
            }
            cache.announce(affected);
        }
        Event::Apply(object) => {
            let key = tracked.map(|_| tracked::object_key(&object));
            // A status write, the operator's own above all, comes back as an object equal to
            // the held one once its status is off: the register keeps that one, and what the
            // webhook remembers of its system. Replacing it cost an allocation per object
            // (30,000 on a first start at 10,000 systems) and every system's remembered facts.
            // This kind's events are applied by one task only: the view cannot change between
            // the look and the write.
            let mut affected = Vec::new();
            if !cache.read(|s| K::held_unchanged(s, &object)) {
                cache.write(|s| {
                    affected = K::affected(s, &object);
                    K::add(s, object);
                });
            }
            // The status may have changed, by anyone: the object is reconciled either way.
            if let (Some(tracked), Some(key)) = (tracked, key) {
                tracked.queue.trigger_key(key);
            }
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
            feed_config(),
            cache.clone(),
        ));
    }
    if served.pod_monitors {
        cache.expect(monitors::PodMonitor::FEED);
        tokio::spawn(follow(
            Api::<monitors::PodMonitor>::all(client.clone()),
            feed_config(),
            cache.clone(),
        ));
    }
    let all = feed_config();
    let labelled = feed_config().labels(SYSTEM_LABEL);
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
