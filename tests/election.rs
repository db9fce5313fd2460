//! Leader election of the reconciler: replicas, each with its own connection to one mock API
//! server that keeps a Lease the way the real one does (create, get, patch with
//! resourceVersion preconditions, 409 on a stale write). At no moment may two replicas
//! write status, not even when the leader is cut off and never hears that it lost; when the
//! leader stops, another takes over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aims_operator::election::LeaseFence;
use aims_operator::election::{Election, lead_and_reconcile};
use aims_operator::engine::Snapshot;
use aims_operator::policy::Policy;
use aims_operator::reconciler::ReconcileContext;
use aims_operator::webhook::ClusterCache;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/aims-system/leases";

/// RFC 7386 merge, which is what a merge patch means for a Lease.
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

/// The API server's storage of the Lease, shared by every replica's connection.
#[derive(Default)]
struct Store {
    lease: Option<Value>,
    version: u64,
    /// When each replica's last write of the Lease was stored.
    last_write: std::collections::HashMap<String, Instant>,
}

type Shared = Arc<Mutex<Store>>;

fn holder(store: &Shared) -> Value {
    store.lock().unwrap().lease.as_ref().unwrap()["spec"]["holderIdentity"].clone()
}

/// One replica's connection: serves the Lease with the API server's concurrency rules, empty
/// lists for the AIMS kinds, and holds their watches open. Once `cut` is set, nothing more is
/// answered (a network partition: requests hang).
fn connection(store: Shared, cut: Arc<AtomicBool>) -> kube::Client {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        let mut unanswered = Vec::new();
        while let Some((request, respond)) = handle.next_request().await {
            let (method, path) = (request.method().clone(), request.uri().path().to_string());
            let query = request.uri().query().unwrap_or("").to_string();
            let body: Value =
                serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap())
                    .unwrap_or(Value::Null);
            if cut.load(Ordering::Acquire) || query.contains("watch=true") {
                unanswered.push(respond);
                continue;
            }
            let answer = if path.starts_with(LEASE) {
                let mut store = store.lock().unwrap();
                let writer = body["spec"]["holderIdentity"].as_str().map(str::to_string);
                let answer = match method {
                    Method::GET => match store.lease.as_ref() {
                        Some(l) => reply(StatusCode::OK, l.clone()),
                        None => reply(StatusCode::NOT_FOUND, status(404, "NotFound")),
                    },
                    Method::POST if store.lease.is_some() => {
                        reply(StatusCode::CONFLICT, status(409, "AlreadyExists"))
                    }
                    Method::POST => {
                        let mut created = body;
                        created["apiVersion"] = json!("coordination.k8s.io/v1");
                        created["kind"] = json!("Lease");
                        created["metadata"]["namespace"] = json!("aims-system");
                        store.version += 1;
                        created["metadata"]["resourceVersion"] = json!(store.version.to_string());
                        store.lease = Some(created.clone());
                        reply(StatusCode::CREATED, created)
                    }
                    Method::PATCH => {
                        let version = store.version + 1;
                        let stored = store.lease.as_mut().unwrap();
                        let expected = &body["metadata"]["resourceVersion"];
                        if !expected.is_null() && *expected != stored["metadata"]["resourceVersion"]
                        {
                            reply(StatusCode::CONFLICT, status(409, "Conflict"))
                        } else {
                            merge(stored, &body);
                            stored["metadata"]["resourceVersion"] = json!(version.to_string());
                            let answer = reply(StatusCode::OK, stored.clone());
                            store.version = version;
                            answer
                        }
                    }
                    _ => reply(
                        StatusCode::METHOD_NOT_ALLOWED,
                        status(405, "MethodNotAllowed"),
                    ),
                };
                if answer.status().is_success()
                    && method != Method::GET
                    && let Some(writer) = writer
                {
                    store.last_write.insert(writer, Instant::now());
                }
                answer
            } else {
                reply(
                    StatusCode::OK,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": []}),
                )
            };
            respond.send_response(answer);
        }
    });
    kube::Client::new(service, "default")
}

struct Replica {
    identity: &'static str,
    fence: LeaseFence,
    cut: Arc<AtomicBool>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn replica(
    store: &Shared,
    identity: &'static str,
    lease_seconds: u64,
    grace_seconds: u64,
) -> Replica {
    let cut = Arc::new(AtomicBool::new(false));
    let client = connection(store.clone(), cut.clone());
    let fence = LeaseFence::default();
    let ctx = Arc::new(ReconcileContext {
        discover_every: None,
        concurrency: 8,
        client: client.clone(),
        cache: Arc::new(ClusterCache::from_snapshot(Snapshot::new())),
        policy: Policy::default().into(),
        clock: Box::new(jiff::Timestamp::now),
        metrics: None,
        recorder: None,
        reports: None,
        lease: Some(fence.clone()),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let election = Election {
        namespace: "aims-system".into(),
        identity: identity.into(),
        lease_seconds,
        grace_seconds,
    };
    let task = tokio::spawn(lead_and_reconcile(client, election, ctx, stopped));
    Replica {
        identity,
        fence,
        cut,
        stop,
        task,
    }
}

/// Polls the replicas until `done` holds, failing the moment two may write at once.
async fn watch_until(replicas: &[&Replica], within: Duration, done: impl Fn(&[bool]) -> bool) {
    let started = Instant::now();
    loop {
        let writing: Vec<bool> = replicas.iter().map(|r| r.fence.may_write()).collect();
        assert!(
            writing.iter().filter(|w| **w).count() <= 1,
            "two replicas may write status at once: {writing:?}"
        );
        if done(&writing) {
            return;
        }
        assert!(
            started.elapsed() < within,
            "not reached within {within:?} (may write: {writing:?})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_replica_writes_status_and_the_other_takes_over_when_it_stops() {
    let store = Shared::default();
    // Renewals 3 s before the end of a 10 s Lease: a replica slowed down for a second still
    // renews in time, so leadership changes only for the reasons this test gives.
    let a = replica(&store, "replica-a", 10, 3);
    let b = replica(&store, "replica-b", 10, 3);

    // One of them leads; through a renewal it stays that one, and the other never writes.
    watch_until(&[&a, &b], Duration::from_secs(10), |w| w[0] || w[1]).await;
    let (mut leader, follower) = if a.fence.may_write() { (a, b) } else { (b, a) };
    let first_version = store.lock().unwrap().version;
    let started = Instant::now();
    watch_until(&[&leader, &follower], Duration::from_secs(20), |w| {
        assert!(
            !w[1],
            "the follower may write while the leader holds the Lease"
        );
        assert_eq!(
            holder(&store),
            leader.identity,
            "leadership changed without cause"
        );
        started.elapsed() > Duration::from_secs(9)
    })
    .await;
    assert!(
        store.lock().unwrap().version > first_version,
        "the leader renewed its Lease"
    );

    // The leader shuts down: it stops writing at once, releases the Lease, and the other
    // takes over without waiting for it to run out.
    leader.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), &mut leader.task)
        .await
        .expect("the leader stops")
        .unwrap();
    assert!(!leader.fence.may_write());
    watch_until(&[&leader, &follower], Duration::from_secs(8), |w| w[1]).await;
    assert_eq!(holder(&store), follower.identity);
    let _ = follower.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_the_api_server_stops_writing_before_another_takes_over() {
    let store = Shared::default();
    let a = replica(&store, "replica-a", 3, 1);
    watch_until(&[&a], Duration::from_secs(10), |w| w[0]).await;
    let b = replica(&store, "replica-b", 3, 1);
    // The leader's connection goes silent: it never hears that its Lease ran out.
    a.cut.store(true, Ordering::Release);
    let last_renewal = store.lock().unwrap().last_write["replica-a"];
    watch_until(&[&a, &b], Duration::from_secs(20), |w| w[1]).await;
    assert_eq!(holder(&store), "replica-b");
    // Its fence closed before its last renewal's Lease ran out, whatever its task did.
    let taken = store.lock().unwrap().last_write["replica-b"];
    assert!(
        taken >= last_renewal + Duration::from_secs(3),
        "the Lease was taken before it ran out"
    );
    assert!(!a.fence.may_write());
    let _ = (a.stop.send(true), b.stop.send(true));
}
