//! Reconciler convergence at 10,000 AI systems (30,000 objects): every object reconciled
//! once against a mock API server that accepts each status write, then a second pass over
//! the stored statuses, which must write nothing.
//! Run: `cargo bench -p aims-operator --bench reconciler`. Results go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aims_operator::policy::Policy;
use aims_operator::reconciler::{ReconcileContext, Reconciled, reconcile};
use aims_operator::webhook::ClusterCache;
use http::{Request, Response};
use jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use serde_json::Value;

/// A mock API that answers every status apply with the object carrying the applied status.
fn api(writes: Arc<AtomicUsize>) -> Client {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            writes.fetch_add(1, Ordering::Relaxed);
            let path = request.uri().path().to_string();
            let body = request.into_body().collect_bytes().await.unwrap();
            let mut object: Value = serde_json::from_slice(&body).unwrap();
            object["metadata"] = serde_json::json!({"name": "x", "namespace": "x"});
            // The answer only has to parse; the reconciler does not read it back.
            object["spec"] = if path.contains("/aisystems/") {
                serde_json::json!({"displayName": "x", "riskTier": "Minimal", "lifecycleStage": "Operation"})
            } else if path.contains("/impactassessments/") {
                serde_json::json!({"systemRef": "x"})
            } else {
                serde_json::json!({"controls": []})
            };
            respond.send_response(Response::new(Body::from(
                serde_json::to_vec(&object).unwrap(),
            )));
        }
    });
    Client::new(service, "default")
}

async fn pass<K: Reconciled>(objects: &[K], ctx: &Arc<ReconcileContext>) {
    for object in objects {
        reconcile(Arc::new(object.clone()), ctx.clone())
            .await
            .unwrap();
    }
}

fn with_status<K: Reconciled>(objects: &[K], ctx: &ReconcileContext, now: Timestamp) -> Vec<K>
where
    K::Status: serde::Serialize,
{
    objects
        .iter()
        .map(|o| {
            let (status, _) = ctx.cache.read(|s| o.desired(s, None, &ctx.policy, now));
            let mut v = serde_json::to_value(o).unwrap();
            v["status"] = serde_json::to_value(status).unwrap();
            serde_json::from_value(v).unwrap()
        })
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let mut snapshot = common::snapshot(now);
        let policy = Arc::new(Policy::default());
        snapshot.remember_facts_under(policy.clone());
        let systems: Vec<_> = snapshot.systems().into_iter().cloned().collect();
        let assessments: Vec<_> = snapshot.assessments().into_iter().cloned().collect();
        let bindings: Vec<_> = snapshot.bindings().cloned().collect();
        let writes = Arc::new(AtomicUsize::new(0));
        let ctx = Arc::new(ReconcileContext {
        discover_every: None,
        concurrency: 8,
        lease: None,
            client: api(writes.clone()),
            cache: Arc::new(ClusterCache::from_snapshot(snapshot)),
            policy,
            clock: Box::new(move || now),
            metrics: None,
            recorder: None,
            reports: None,
        });
        let t = Instant::now();
        pass(&systems, &ctx).await;
        pass(&assessments, &ctx).await;
        pass(&bindings, &ctx).await;
        let first = t.elapsed();
        let first_writes = writes.swap(0, Ordering::Relaxed);

        // The second pass sees what the first wrote.
        let systems = with_status(&systems, &ctx, now);
        let assessments = with_status(&assessments, &ctx, now);
        let bindings = with_status(&bindings, &ctx, now);
        let t = Instant::now();
        pass(&systems, &ctx).await;
        pass(&assessments, &ctx).await;
        pass(&bindings, &ctx).await;
        let second = t.elapsed();
        let second_writes = writes.load(Ordering::Relaxed);
        let objects = systems.len() + assessments.len() + bindings.len();
        println!("{objects} objects: first pass {first:?} with {first_writes} writes; second pass {second:?} with {second_writes} writes");
        assert_eq!(second_writes, 0, "an unchanged object must not be written");
    });
}
