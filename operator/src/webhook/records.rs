//! Nonconformity records in the cache: followed where their CRD is served, shared with the
//! reconciler (which keeps their status and opens the ones it detects), and each change
//! announced for the system it concerns.

use std::sync::Arc;

use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use super::cache::{ClusterCache, Feed, follow};
use super::organisation::aims_kind_served;
use super::shared::SharedStore;
use crate::engine::Snapshot;
use crate::engine::snapshot::namespace_of;
use crate::resources::Nonconformity;

impl Feed for Nonconformity {
    const FEED: &'static str = "nonconformities";
    fn shared(cache: &ClusterCache) -> Option<&SharedStore<Self>> {
        Some(&cache.nonconformities)
    }
    fn add_shared(snapshot: &mut Snapshot, object: Arc<Self>) {
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

/// Follows the nonconformity records into `cache` when they are served; whether they are.
pub async fn follow_nonconformities(client: &Client, cache: &Arc<ClusterCache>) -> bool {
    if !aims_kind_served(client, Nonconformity::FEED).await {
        tracing::info!("nonconformities.aims.io is not served; no records are opened");
        return false;
    }
    cache.expect(Nonconformity::FEED);
    tokio::spawn(follow(
        Api::<Nonconformity>::all(client.clone()),
        watcher::Config::default(),
        cache.clone(),
    ));
    true
}
