//! The cache behind the webhook and the reconciler, fed by real kube-runtime watches from a
//! tower-test mock API server that misbehaves: the watch expires (410 Gone) and the relist
//! must replace the cached view, an unreachable API server must be retried with backoff,
//! never in a hot loop (the tests count requests), and one lost mid-run leaves the last view
//! in place. The webhook under a 10x burst and under clients that hold connections idle
//! answers every review correctly.
use crate::{harness, https, support};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aims_operator::cache::follow;
use aims_operator::resources::{AISystem, MODEL_VERSION_LABEL};
use aims_operator::webhook::ClusterCache;
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

/// What an API server answers while etcd is down.
fn unavailable() -> Response<Body> {
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": "ServiceUnavailable", "code": 503, "message": "etcd unavailable"});
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .body(Body::from(serde_json::to_vec(&status).unwrap()))
        .unwrap()
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
            respond.send_response(unavailable());
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

#[tokio::test]
async fn an_api_server_lost_after_sync_unsyncs_the_view_and_is_retried_with_backoff() {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        let mut listed = false;
        while let Some((_, respond)) = handle.next_request().await {
            counted.fetch_add(1, Ordering::SeqCst);
            if !listed {
                listed = true;
                respond.send_response(Response::new(Body::from(list(&["a", "b"], "10"))));
                continue;
            }
            // From now on the API server is gone: every watch and relist fails.
            respond.send_response(unavailable());
        }
    });
    let cache = Arc::new(ClusterCache::new(&["aisystems"]));
    let api = Api::<AISystem>::all(Client::new(service, "default"));
    tokio::spawn(follow(api, watcher::Config::default(), cache.clone()));
    // The list lands (and the watch after it fails at once).
    until(|| names(&cache) == ["a", "b"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The view may now lack a change (a revoked approval): it counts as unsynced, so
    // enforcing namespaces refuse until a list succeeds; nothing in it is invented.
    assert!(!cache.is_synced());
    assert_eq!(names(&cache), ["a", "b"]);
    let made = requests.load(Ordering::SeqCst);
    assert!(
        (2..=7).contains(&made),
        "{made} requests in 3 s: backoff, no hot loop"
    );
}

/// Ten times the usual concurrency at once: every review gets its own, correct answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reviews_gets_every_answer_right() {
    let h = harness::serve_snapshot(lending()).await;
    let allowed = fixture("deployment-create.json");
    let mut refused = fixture("deployment-create.json");
    refused["request"]["object"]["spec"]["template"]["metadata"]["labels"][MODEL_VERSION_LABEL] =
        json!("9.9.9");
    let mut tasks = Vec::new();
    for connection in 0..20 {
        let mut client = https::Client::connect(h.server.addr, &h.ca).await;
        let (allowed, refused) = (allowed.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let deny = (connection + i) % 3 == 0;
                let mut review = if deny {
                    refused.clone()
                } else {
                    allowed.clone()
                };
                let uid = format!("burst-{connection}-{i}");
                review["request"]["uid"] = json!(uid);
                let (status, body) = client.post_json("/validate", &review).await;
                assert_eq!(status, 200);
                let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(answer["response"]["uid"], uid);
                assert_eq!(answer["response"]["allowed"], !deny, "{uid}: {body}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Clients that connect and then say nothing (or half a TLS hello) do not keep others out.
#[tokio::test]
async fn clients_holding_idle_connections_do_not_block_reviews() {
    use tokio::io::AsyncWriteExt;
    let h = harness::serve_snapshot(lending()).await;
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(h.server.addr).await.unwrap();
        if i % 2 == 0 {
            // The first bytes of a TLS ClientHello, then silence.
            stream
                .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
                .await
                .unwrap();
        }
        idle.push(stream);
    }
    let mut client = https::Client::connect(h.server.addr, &h.ca).await;
    let review = fixture("deployment-create.json");
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(5),
        client.post_json("/validate", &review),
    )
    .await
    .expect("answered while 200 connections sit idle");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"allowed\":true"), "{body}");
    drop(idle);
}

/// The serving certificate runs out while reviews keep coming: the renewed one (written as a
/// Secret volume update would) is served before the old one expires, and no handshake and no
/// review fails across the expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_expiring_under_load_is_replaced_without_a_failed_review() {
    let h = harness::serve_snapshot(lending()).await;
    let expires = std::time::SystemTime::now() + Duration::from_secs(3);
    h.ca.issue_valid(&h.dir, "expiring", Some(expires));
    until_serving(&h, "expiring").await;
    let started = std::time::Instant::now();
    let review = fixture("deployment-create.json");
    let mut load = Vec::new();
    for _ in 0..4 {
        let (addr, ca, review) = (h.server.addr, h.ca.der(), review.clone());
        load.push(tokio::spawn(async move {
            let (mut answered, mut failed) = (0, Vec::new());
            // New connections throughout, so every handshake checks the certificate's dates.
            while started.elapsed() < Duration::from_secs(5) {
                match https::Client::try_connect_trusting(addr, ca.clone()).await {
                    Ok(mut client) => {
                        let (status, body) = client.post_json("/validate", &review).await;
                        if status == 200 && body.contains("\"allowed\":true") {
                            answered += 1;
                        } else {
                            failed.push(format!("{status} {body}"));
                        }
                    }
                    Err(error) => failed.push(error),
                }
            }
            (answered, failed)
        }));
    }
    // Renewed a second and a half before expiry, as the operator does days before.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.ca.issue(&h.dir, "renewed");
    let (mut answered, mut failed) = (0, Vec::new());
    for task in load {
        let (a, f) = task.await.unwrap();
        answered += a;
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    assert!(answered > 20, "{answered} reviews answered");
    assert_eq!(
        https::Client::connect(h.server.addr, &h.ca).await.server_cn,
        "renewed"
    );
}

async fn until_serving(h: &harness::Harness, common_name: &str) {
    for _ in 0..100 {
        if https::Client::connect(h.server.addr, &h.ca).await.server_cn == common_name {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{common_name} not served within 5 s");
}
