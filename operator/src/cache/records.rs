//! The management system's records in the cache (nonconformities, AI incidents, internal
//! audits): followed where their CRD is served, shared with the reconciler (which keeps
//! their status and opens the nonconformities it detects or an audit found), and each change
//! announced for the system it concerns.

use std::sync::Arc;

use kube::{Api, Client, ResourceExt};

use super::organisation::aims_kind_served;
use super::tracked::Tracked;
use super::{ClusterCache, Feed, follow};
use crate::engine::Snapshot;
use crate::engine::snapshot::namespace_of;
use crate::resources::{AIIncident, InternalAudit, ManagementReview, Nonconformity};

impl Feed for Nonconformity {
    const FEED: &'static str = "nonconformities";
    fn tracked(cache: &ClusterCache) -> Option<&Tracked<Self>> {
        Some(&cache.nonconformities)
    }
    fn add_held(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_nonconformity(object);
    }
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_nonconformities();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_nonconformity(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_nonconformity(&namespace_of(object), &object.name_any());
    }
    fn affected(_: &Snapshot, object: &Self) -> Vec<(String, String)> {
        // A record deleted while its condition holds is opened again by its system.
        object
            .spec
            .system_ref
            .iter()
            .map(|system| (namespace_of(object), system.clone()))
            .collect()
    }
}

impl Feed for AIIncident {
    const FEED: &'static str = "aiincidents";
    fn tracked(cache: &ClusterCache) -> Option<&Tracked<Self>> {
        Some(&cache.incidents)
    }
    fn add_held(snapshot: &mut Snapshot, object: Arc<Self>) {
        snapshot.add_shared_incident(object);
    }
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_incidents();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_incident(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_incident(&namespace_of(object), &object.name_any());
    }
    fn affected(_: &Snapshot, object: &Self) -> Vec<(String, String)> {
        // Its system's OpenIncidents condition follows it.
        vec![(namespace_of(object), object.spec.system_ref.clone())]
    }
}

impl Feed for InternalAudit {
    const FEED: &'static str = "internalaudits";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_audits();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_audit(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_audit(&object.name_any());
    }
    fn affected(_: &Snapshot, object: &Self) -> Vec<(String, String)> {
        // Each system a finding names: its reconcile opens the finding's record.
        object
            .spec
            .findings
            .iter()
            .filter_map(|f| f.system_ref())
            .map(|(ns, name)| (ns.to_string(), name.to_string()))
            .collect()
    }
}

impl Feed for ManagementReview {
    const FEED: &'static str = "managementreviews";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_reviews();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        snapshot.add_review(object);
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        snapshot.remove_review(&object.name_any());
    }
    fn affected(_: &Snapshot, _: &Self) -> Vec<(String, String)> {
        // Read by reviews, the SoA's trends and the metrics, by no system's evaluation.
        Vec::new()
    }
}

/// Follows the management system's records into `cache`, each kind where its CRD is served,
/// and notes which are followed.
pub async fn follow_records(client: &Client, cache: &Arc<ClusterCache>) {
    let followed = |flag: &std::sync::atomic::AtomicBool| {
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    if follow_served::<Nonconformity>(client, cache, "no nonconformity records are opened").await {
        followed(&cache.records_followed);
    }
    if follow_served::<AIIncident>(client, cache, "AI incidents are not followed").await {
        followed(&cache.incidents_followed);
    }
    follow_served::<InternalAudit>(
        client,
        cache,
        "no nonconformity records are opened for audit findings",
    )
    .await;
    follow_served::<ManagementReview>(
        client,
        cache,
        "management review actions are not counted in the metrics",
    )
    .await;
}

/// Follows kind `K` into `cache` when its CRD is served; whether it is.
async fn follow_served<K: Feed>(client: &Client, cache: &Arc<ClusterCache>, else_: &str) -> bool {
    if !aims_kind_served(client, K::FEED).await {
        tracing::info!("{}.aims.io is not served; {else_}", K::FEED);
        return false;
    }
    cache.expect(K::FEED);
    tokio::spawn(follow(
        Api::<K>::all(client.clone()),
        super::feed_config(),
        cache.clone(),
    ));
    true
}
