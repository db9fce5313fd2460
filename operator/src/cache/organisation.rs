//! The organisation's AIManagementSystem in the cache: followed where its CRD is served
//! (an install that predates it keeps working), and every AI system re-evaluated when it
//! changes, since its controls count for all of them.

use std::sync::Arc;

use kube::{Api, Client, ResourceExt};

use super::{ClusterCache, Feed, follow};
use crate::engine::Snapshot;
use crate::engine::snapshot::namespace_of;
use crate::resources::{AIManagementSystem, API_VERSION, ORGANISATION_NAME};

impl Feed for AIManagementSystem {
    const FEED: &'static str = "aimanagementsystems";
    fn clear(snapshot: &mut Snapshot) {
        snapshot.clear_organisation();
    }
    fn add(snapshot: &mut Snapshot, object: Self) {
        // The CRD admits only the one named aims; anything else is not the organisation's.
        if object.name_any() == ORGANISATION_NAME {
            snapshot.set_organisation(object);
        }
    }
    fn remove(snapshot: &mut Snapshot, object: &Self) {
        if object.name_any() == ORGANISATION_NAME {
            snapshot.clear_organisation();
        }
    }
    fn affected(snapshot: &Snapshot, _: &Self) -> Vec<(String, String)> {
        snapshot
            .systems()
            .into_iter()
            .map(|s| (namespace_of(s), s.name_any()))
            .collect()
    }
}

/// Whether the API server serves AIManagementSystems.
pub async fn organisation_served(client: &Client) -> bool {
    aims_kind_served(client, AIManagementSystem::FEED).await
}

/// Whether the API server serves the aims.io kind of this plural name (a CRD added after
/// an install is absent until the chart is upgraded).
pub async fn aims_kind_served(client: &Client, plural: &str) -> bool {
    client
        .list_api_group_resources(API_VERSION)
        .await
        .is_ok_and(|list| list.resources.iter().any(|r| r.name == plural))
}

/// Follows the AIManagementSystem into `cache` when it is served.
pub async fn follow_organisation(client: &Client, cache: &Arc<ClusterCache>) {
    if organisation_served(client).await {
        cache.expect(AIManagementSystem::FEED);
        tokio::spawn(follow(
            Api::<AIManagementSystem>::all(client.clone()),
            super::feed_config(),
            cache.clone(),
        ));
    } else {
        tracing::info!("aimanagementsystems.aims.io is not served; no organisation-wide controls");
    }
}
