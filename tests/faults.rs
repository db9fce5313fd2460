//! The cache behind the webhook and the reconciler, fed by real kube-runtime watches from a
//! tower-test mock API server that misbehaves: the watch expires (410 Gone) and the relist
//! must replace the cached view, an unreachable API server must be retried with backoff,
//! never in a hot loop (the tests count requests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aims_operator::resources::AISystem;
use aims_operator::webhook::ClusterCache;
use aims_operator::webhook::cache::follow;
use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;
use tower_test::mock;

use support::*;

fn list(names: &[&str], rv: &str) -> Vec<u8> {
    let items: Vec<_> = names
        .iter()
        .map(|n| serde_json::to_value(system(n).in_ns()).unwrap())
        .collect();
    serde_json::to_vec(
        &json!({"apiVersion": "aims.io/v1alpha1", "kind": "AISystemList",
        "metadata": {"resourceVersion": rv}, "items": items}),
    )
    .unwrap()
}

fn names(cache: &ClusterCache) -> Vec<String> {
    cache.read(|s| {
        s.systems()
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect()
    })
}

async fn until(mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached within 5 s");
}

#[tokio::test]
async fn a_watch_that_expires_is_followed_by_a_relist_that_replaces_the_view() {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        let (mut lists, mut watches) = (0, 0);
        let mut held = Vec::new(); // watches left open, as a quiet API server does
        while let Some((request, respond)) = handle.next_request().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let query = request.uri().query().unwrap_or("").to_string();
            if query.contains("watch=true") {
                watches += 1;
                if watches == 1 {
                    let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
                        "status": "Failure", "reason": "Expired", "code": 410, "message": "too old resource version"}});
                    respond.send_response(Response::new(Body::from(
                        serde_json::to_vec(&gone).unwrap(),
                    )));
                } else {
                    held.push(respond);
                }
            } else {
                lists += 1;
                // After the gap, system "a" is gone and "c" is new.
                let body = if lists == 1 {
                    list(&["a", "b"], "10")
                } else {
                    list(&["b", "c"], "20")
                };
                respond.send_response(Response::new(Body::from(body)));
            }
        }
    });
    let cache = Arc::new(ClusterCache::new(&["aisystems"]));
    let api = Api::<AISystem>::all(Client::new(service, "default"));
    tokio::spawn(follow(api, watcher::Config::default(), cache.clone()));

    until(|| cache.is_synced()).await;
    until(|| names(&cache) == ["b", "c"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // list, watch (410), list, watch (held open): nothing more while the watch is quiet.
    assert_eq!(requests.load(Ordering::SeqCst), 4, "no hot loop");
}

#[tokio::test]
async fn an_unreachable_api_server_is_retried_with_backoff_and_the_cache_stays_unsynced() {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Some((_, respond)) = handle.next_request().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "ServiceUnavailable", "code": 503, "message": "etcd unavailable"});
            respond.send_response(
                Response::builder()
                    .status(StatusCode::SERVICE_UNAVAILABLE)
                    .body(Body::from(serde_json::to_vec(&status).unwrap()))
                    .unwrap(),
            );
        }
    });
    let cache = Arc::new(ClusterCache::new(&["aisystems"]));
    let api = Api::<AISystem>::all(Client::new(service, "default"));
    tokio::spawn(follow(api, watcher::Config::default(), cache.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !cache.is_synced(),
        "an API server that never answers leaves the webhook not ready"
    );
    let made = requests.load(Ordering::SeqCst);
    // Backoff starts at 0.8 s and doubles (with jitter): a handful of attempts in 3 s.
    assert!((1..=5).contains(&made), "{made} requests in 3 s");
}
