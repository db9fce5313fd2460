//! Leader election of the reconciler, two replicas against one mock API server that keeps a
//! Lease the way the real one does (create, get, patch with resourceVersion preconditions,
//! 409 on a stale write): exactly one replica may write status at any moment, and when the
//! leader stops the other takes over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aims_operator::engine::Snapshot;
use aims_operator::policy::Policy;
use aims_operator::reconciler::ReconcileContext;
use aims_operator::run::{Election, lead_and_reconcile};
use aims_operator::webhook::ClusterCache;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/aims-system/leases";

/// RFC 7386 merge, which is what a strategic merge patch means for a Lease.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn reply(code: StatusCode, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code})
}

/// Serves the Lease with the API server's concurrency rules, empty lists for the AIMS kinds,
/// and holds their watches open.
fn api_server(
    mut handle: mock::Handle<Request<Body>, Response<Body>>,
) -> Arc<Mutex<Option<Value>>> {
    let stored: Arc<Mutex<Option<Value>>> = Arc::new(Mutex::new(None));
    let lease = stored.clone();
    tokio::spawn(async move {
        let mut watches = Vec::new();
        let mut version = 1u64;
        while let Some((request, respond)) = handle.next_request().await {
            let (method, path) = (request.method().clone(), request.uri().path().to_string());
            let query = request.uri().query().unwrap_or("").to_string();
            let body: Value =
                serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap())
                    .unwrap_or(Value::Null);
            let mut current = lease.lock().unwrap();
            let answer = if path.starts_with(LEASE) {
                match method {
                    Method::GET => match current.as_ref() {
                        Some(l) => reply(StatusCode::OK, l.clone()),
                        None => reply(StatusCode::NOT_FOUND, status(404, "NotFound")),
                    },
                    Method::POST if current.is_some() => {
                        reply(StatusCode::CONFLICT, status(409, "AlreadyExists"))
                    }
                    Method::POST => {
                        let mut created = body;
                        created["apiVersion"] = json!("coordination.k8s.io/v1");
                        created["kind"] = json!("Lease");
                        created["metadata"]["namespace"] = json!("aims-system");
                        created["metadata"]["resourceVersion"] = json!(version.to_string());
                        *current = Some(created.clone());
                        reply(StatusCode::CREATED, created)
                    }
                    Method::PATCH => {
                        let stored = current.as_mut().unwrap();
                        let expected = &body["metadata"]["resourceVersion"];
                        if !expected.is_null() && *expected != stored["metadata"]["resourceVersion"]
                        {
                            reply(StatusCode::CONFLICT, status(409, "Conflict"))
                        } else {
                            merge(stored, &body);
                            version += 1;
                            stored["metadata"]["resourceVersion"] = json!(version.to_string());
                            reply(StatusCode::OK, stored.clone())
                        }
                    }
                    _ => reply(
                        StatusCode::METHOD_NOT_ALLOWED,
                        status(405, "MethodNotAllowed"),
                    ),
                }
            } else if query.contains("watch=true") {
                watches.push(respond);
                continue;
            } else {
                reply(
                    StatusCode::OK,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": []}),
                )
            };
            drop(current);
            respond.send_response(answer);
        }
    });
    stored
}

struct Replica {
    held: Arc<AtomicBool>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn replica(client: &kube::Client, identity: &str) -> Replica {
    let held = Arc::new(AtomicBool::new(false));
    let ctx = Arc::new(ReconcileContext {
        client: client.clone(),
        cache: Arc::new(ClusterCache::from_snapshot(Snapshot::new())),
        policy: Policy::default(),
        clock: Box::new(jiff::Timestamp::now),
        metrics: None,
        recorder: None,
        reports: None,
        lease_held: Some(held.clone()),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let election = Election {
        namespace: "aims-system".into(),
        identity: identity.into(),
        lease_seconds: 3,
        grace_seconds: 1,
    };
    let task = tokio::spawn(lead_and_reconcile(client.clone(), election, ctx, stopped));
    Replica { held, stop, task }
}

/// Polls both replicas until `done`, failing the moment both may write.
async fn watch_until(
    a: &Replica,
    b: &Replica,
    within: Duration,
    done: impl Fn(bool, bool) -> bool,
) {
    let started = Instant::now();
    loop {
        let (x, y) = (
            a.held.load(Ordering::Acquire),
            b.held.load(Ordering::Acquire),
        );
        assert!(!(x && y), "both replicas may write status at once");
        if done(x, y) {
            return;
        }
        assert!(
            started.elapsed() < within,
            "not reached within {within:?} (a {x}, b {y})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_replica_writes_status_and_the_other_takes_over_when_it_stops() {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let lease = api_server(handle);
    let client = kube::Client::new(service, "default");
    let a = replica(&client, "replica-a");
    let b = replica(&client, "replica-b");

    // One of them leads; for a few renewals it stays that one, never both.
    watch_until(&a, &b, Duration::from_secs(10), |x, y| x || y).await;
    let a_leads = a.held.load(Ordering::Acquire);
    let started = Instant::now();
    watch_until(&a, &b, Duration::from_secs(10), |x, y| {
        assert_eq!(
            (x, y),
            (a_leads, !a_leads),
            "leadership changed without cause"
        );
        started.elapsed() > Duration::from_secs(4)
    })
    .await;
    let holder = lease.lock().unwrap().as_ref().unwrap()["spec"]["holderIdentity"].clone();
    assert_eq!(holder, if a_leads { "replica-a" } else { "replica-b" });

    // The leader shuts down: it stops writing at once, and the other takes over.
    let (leader, follower) = if a_leads { (a, b) } else { (b, a) };
    leader.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), leader.task)
        .await
        .expect("the leader stops")
        .unwrap();
    assert!(!leader.held.load(Ordering::Acquire));
    let started = Instant::now();
    while !follower.held.load(Ordering::Acquire) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no takeover within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = follower.stop.send(true);
}
