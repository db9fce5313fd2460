//! The reconciler against a tower-test mock API server that asserts every request: the
//! server-side-apply status patch (path, field manager, force, body), no write when nothing
//! changed, requeue exactly at the next expiry, and the error policy.
use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aims_operator::election::LeaseFence;
use aims_operator::engine::Snapshot;
use aims_operator::policy::Policy;
use aims_operator::reconciler::Action;
use aims_operator::reconciler::{
    ReconcileContext, ReconcileError, desired_binding_status, desired_system_status, error_policy,
    reconcile, reconcile_system, requeue_after,
};
use aims_operator::resources::*;
use aims_operator::webhook::ClusterCache;
use http::{Method, Request, Response, StatusCode};
use jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use support::*;

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn context(snapshot: Snapshot, at: Timestamp) -> (Arc<ReconcileContext>, ApiHandle) {
    context_with_lease(snapshot, at, None)
}

fn context_with_lease(
    snapshot: Snapshot,
    at: Timestamp,
    lease: Option<LeaseFence>,
) -> (Arc<ReconcileContext>, ApiHandle) {
    on_cache(Arc::new(ClusterCache::from_snapshot(snapshot)), at, lease)
}

fn on_cache(
    cache: Arc<ClusterCache>,
    at: Timestamp,
    lease: Option<LeaseFence>,
) -> (Arc<ReconcileContext>, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let ctx = ReconcileContext {
        discover_every: None,
        concurrency: 8,
        lease,
        client: Client::new(service, "default"),
        cache,
        policy: Policy::default().into(),
        clock: Box::new(move || at),
        metrics: None,
        recorder: None,
        reports: None,
    };
    (Arc::new(ctx), handle)
}

fn credit_scoring(snapshot: &Snapshot) -> AISystem {
    let mut system = snapshot
        .system("lending", "credit-scoring")
        .unwrap()
        .clone();
    system.metadata.generation = Some(3);
    system
}

/// Answers the next request, asserting it is the SSA status patch of `system`; returns its body.
async fn expect_status_apply(handle: &mut ApiHandle, system: &AISystem) -> Value {
    expect_apply(
        handle,
        "/apis/aims.io/v1alpha1/namespaces/lending/aisystems/credit-scoring/status",
        serde_json::to_value(system).unwrap(),
    )
    .await
}

async fn expect_apply(handle: &mut ApiHandle, path: &str, object: Value) -> Value {
    // A request that never comes fails the test instead of hanging it.
    let (request, respond) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .unwrap_or_else(|_| panic!("no request to {path} within 10 s"))
        .expect("a write");
    assert_eq!(request.method(), Method::PATCH);
    assert_eq!(request.uri().path(), path);
    let query = request.uri().query().unwrap_or("");
    assert!(query.contains("fieldManager=aims-operator"), "{query}");
    assert!(query.contains("force=true"), "{query}");
    assert_eq!(
        request.headers()["content-type"],
        "application/apply-patch+yaml"
    );
    let body: Value =
        serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap();
    let mut stored = object;
    stored["status"] = body["status"].clone();
    respond.send_response(Response::new(Body::from(
        serde_json::to_vec(&stored).unwrap(),
    )));
    body
}

fn condition<'a>(body: &'a Value, type_: &str) -> &'a Value {
    body["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no condition {type_} in {body}"))
}

#[tokio::test]
async fn a_new_status_is_written_by_server_side_apply_under_one_field_manager() {
    let snapshot = lending();
    let system = credit_scoring(&snapshot);
    let (ctx, mut handle) = context(snapshot.clone(), now());
    let reconcile = tokio::spawn(reconcile_system(Arc::new(system.clone()), ctx));
    let body = expect_status_apply(&mut handle, &system).await;
    let action = reconcile.await.unwrap().unwrap();

    // The body is only status, with apiVersion and kind as apply requires: never spec.
    assert_eq!(body["apiVersion"], "aims.io/v1alpha1");
    assert_eq!(body["kind"], "AISystem");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    let (desired, _) = desired_system_status(&snapshot, &system, &Policy::default(), now());
    assert_eq!(body["status"], serde_json::to_value(&desired).unwrap());
    for type_ in [
        "OwnerAssigned",
        "AssessmentApproved",
        "MonitoringConfigured",
        "Compliant",
    ] {
        let c = condition(&body, type_);
        assert_eq!(c["observedGeneration"], 3, "{c}");
        assert_eq!(c["lastTransitionTime"], "2026-11-23T12:00:00Z", "{c}");
    }
    assert_eq!(condition(&body, "AssessmentApproved")["status"], "True");
    assert_eq!(body["status"]["observedGeneration"], 3);
    // The assessment was approved 2026-10-01 for a year: nothing changes within the hour,
    // so the safety resync applies.
    assert_eq!(action, Action::requeue(Duration::from_secs(3600)));
}

/// Leader election fences writes: once this replica has lost the Lease, a reconcile still in
/// flight writes nothing (the new leader writes the same engine's result); with the Lease
/// back, it writes again. What it did not write is tried again soon rather than at the
/// object's next change: the fence also closes on a leader whose renewal is late (an API
/// server restarting), which renews without restarting its controllers, and a status left
/// unwritten then stayed stale until the hourly resync (seen on the real API server, e2e
/// `restart::*`).
#[tokio::test]
async fn a_replica_that_lost_the_lease_writes_nothing() {
    let snapshot = lending();
    let system = credit_scoring(&snapshot);
    let fence = LeaseFence::default();
    let (ctx, mut handle) = context_with_lease(snapshot, now(), Some(fence.clone()));
    // Never held, then held until a moment already past: both write nothing.
    for _ in 0..2 {
        let action = reconcile_system(Arc::new(system.clone()), ctx.clone())
            .await
            .unwrap();
        assert_eq!(
            action,
            Action::requeue(aims_operator::reconciler::FENCED_RETRY),
            "an unwritten status is tried again, not left until the next change"
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(300), handle.next_request())
                .await
                .is_err(),
            "no request from a replica without the Lease"
        );
        fence.hold_until(Instant::now());
    }
    fence.hold_until(Instant::now() + Duration::from_secs(60));
    let reconcile = tokio::spawn(reconcile_system(Arc::new(system.clone()), ctx));
    expect_status_apply(&mut handle, &system).await;
    reconcile.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_unchanged_status_causes_no_write_even_later() {
    let snapshot = lending();
    let mut system = credit_scoring(&snapshot);
    let (desired, _) = desired_system_status(&snapshot, &system, &Policy::default(), now());
    system.status = Some(Box::new(desired));
    // The mock API never answers: a request would hang the reconcile, so a prompt Ok proves
    // that none was sent.
    for later in [now(), now() + SignedDuration::from_hours(24 * 30)] {
        let (ctx, _handle) = context(snapshot.clone(), later);
        let result = tokio::time::timeout(
            Duration::from_secs(2),
            reconcile_system(Arc::new(system.clone()), ctx),
        )
        .await
        .expect("no request was made");
        assert!(result.is_ok());
    }
}

#[tokio::test]
async fn an_expiring_assessment_requeues_at_the_expiry_and_then_flips_the_conditions() {
    let mut snapshot = lending();
    let mut expiring = assessment("credit-scoring-2026q3", "credit-scoring", &["2.3.x"])
        .valid_until("2026-11-23T12:30:00Z");
    expiring.metadata.namespace = Some("lending".into());
    snapshot.add_assessment(expiring.approved_by("bob", "2026-10-01T00:00:00Z"));
    let system = credit_scoring(&snapshot);

    let (ctx, mut handle) = context(snapshot.clone(), now());
    let reconcile = tokio::spawn(reconcile_system(Arc::new(system.clone()), ctx));
    let written = expect_status_apply(&mut handle, &system).await;
    assert_eq!(condition(&written, "AssessmentApproved")["status"], "True");
    assert_eq!(
        reconcile.await.unwrap().unwrap(),
        Action::requeue(Duration::from_secs(30 * 60 + 1)),
        "requeued one second after the expiry, not at the next resync"
    );

    // At the requeue the conditions flip, and only the flipped ones get a new transition time.
    let mut stored = system.clone();
    stored.status = Some(serde_json::from_value(written["status"].clone()).unwrap());
    let after = Timestamp::from_second(now().as_second() + 30 * 60 + 1).unwrap();
    let (ctx, mut handle) = context(snapshot, after);
    let reconcile = tokio::spawn(reconcile_system(Arc::new(stored.clone()), ctx));
    let flipped = expect_status_apply(&mut handle, &stored).await;
    reconcile.await.unwrap().unwrap();
    let approved = condition(&flipped, "AssessmentApproved");
    assert_eq!(approved["status"], "False");
    assert_eq!(approved["lastTransitionTime"], "2026-11-23T12:30:01Z");
    assert!(
        approved["message"].as_str().unwrap().contains("expired"),
        "{approved}"
    );
    assert_eq!(
        condition(&flipped, "OwnerAssigned")["lastTransitionTime"],
        "2026-11-23T12:00:00Z"
    );
    assert_eq!(condition(&flipped, "Compliant")["status"], "False");
}

#[test]
fn requeue_is_bounded_and_never_negative() {
    assert_eq!(requeue_after(None, now()), Duration::from_secs(3600));
    assert_eq!(
        requeue_after(Some(now() - SignedDuration::from_secs(5)), now()),
        Duration::from_secs(1)
    );
    assert_eq!(
        requeue_after(Some(now() + SignedDuration::from_hours(48)), now()),
        Duration::from_secs(3600)
    );
}

async fn failed_write(code: u16) -> ReconcileError {
    let snapshot = lending();
    let system = credit_scoring(&snapshot);
    let (ctx, mut handle) = context(snapshot, now());
    let reconcile = tokio::spawn(reconcile_system(Arc::new(system), ctx));
    let (_, respond) = handle.next_request().await.expect("a status write");
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": "injected", "reason": "Injected", "code": code});
    respond.send_response(
        Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .body(Body::from(serde_json::to_vec(&status).unwrap()))
            .unwrap(),
    );
    reconcile.await.unwrap().expect_err("the write failed")
}

#[tokio::test]
async fn transient_api_errors_back_off_and_a_refused_object_waits_for_a_change() {
    let snapshot = lending();
    let system = Arc::new(credit_scoring(&snapshot));
    let (ctx, _handle) = context(snapshot, now());
    for code in [409, 429, 500, 503] {
        let error = failed_write(code).await;
        assert!(error.is_transient(), "{code}: {error}");
        assert_eq!(
            error_policy(system.clone(), &error, ctx.clone()),
            Action::requeue(Duration::from_secs(5)),
            "{code}"
        );
    }
    for code in [404, 422] {
        let error = failed_write(code).await;
        assert!(!error.is_transient(), "{code}: {error}");
        // The log line names the request, the object and the API server's reason.
        let message = error.to_string();
        assert!(
            message.starts_with("status write of AISystem lending/")
                && message.contains("injected"),
            "{message}"
        );
        assert_eq!(
            error_policy(system.clone(), &error, ctx.clone()),
            Action::await_change()
        );
    }
}

#[test]
fn cache_changes_trigger_the_reconcile_of_what_they_affect() {
    use aims_operator::cache::apply_event;
    use kube::runtime::watcher::Event;

    let cache = ClusterCache::from_snapshot(lending());
    for queue in [
        &cache.systems.queue,
        &cache.assessments.queue,
        &cache.bindings.queue,
    ] {
        queue.open();
    }
    let mut buffer = Vec::new();
    let mut moved = assessment("credit-scoring-2026q3", "fraud-detection", &["1.x"]);
    moved.metadata.namespace = Some("lending".into());
    apply_event(&cache, &mut buffer, Event::Apply(moved));
    let keys = |queue: &aims_operator::reconciler::queue::WorkQueue| {
        queue
            .triggered()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&cache.systems.queue),
        ["lending/credit-scoring", "lending/fraud-detection"],
        "an assessment moved to another system re-evaluates both"
    );
    assert_eq!(
        keys(&cache.assessments.queue),
        ["lending/credit-scoring-2026q3"],
        "the assessment itself, once although both systems read it"
    );
    let closed = ClusterCache::from_snapshot(lending());
    let mut again = assessment("credit-scoring-2026q3", "fraud-detection", &["1.x"]);
    again.metadata.namespace = Some("lending".into());
    apply_event(&closed, &mut Vec::new(), Event::Apply(again));
    assert!(
        closed.systems.queue.triggered().is_empty(),
        "nothing waits where no controller takes from the queue"
    );
}

/// The event of a status write, the operator's own above all, brings back an object that is
/// the held one but for its status: the register keeps the very object it holds (no
/// allocation per write, and what the webhook remembers of its system stays), what is kept
/// of the status follows the new one, and the object is reconciled again. A change to
/// anything held but the status still replaces it. For each kind the reconciler writes.
#[tokio::test]
async fn a_status_write_coming_back_leaves_the_held_object_in_place() {
    use aims_operator::cache::apply_event;
    use aims_operator::engine::snapshot::Held;
    use aims_operator::reconciler::Reconciled;
    use aims_operator::reconciler::kept::{KeptStatus, StatusContent};
    use aims_operator::reconciler::queue::WorkQueue;
    use kube::ResourceExt;
    use kube::runtime::watcher::Event;

    async fn check<K: Reconciled + Held>(
        object: K,
        status: K::Status,
        set_status: impl Fn(&mut K, K::Status),
        queue: impl Fn(&ClusterCache) -> &WorkQueue,
    ) {
        let (namespace, name) = (object.namespace().unwrap(), object.name_any());
        let held = |cache: &ClusterCache| cache.read(|s| K::held(s, &namespace, &name)).unwrap();
        let cache = ClusterCache::new(&[<K as aims_operator::cache::Feed>::FEED]);
        queue(&cache).open();
        let mut buffer = Vec::new();
        apply_event(&cache, &mut buffer, Event::Init);
        apply_event(&cache, &mut buffer, Event::InitApply(object.clone()));
        apply_event(&cache, &mut buffer, Event::InitDone);
        let listed = held(&cache);
        let key = queue(&cache).next().await;
        queue(&cache).done(&key, None, Duration::from_secs(3600));
        assert!(queue(&cache).triggered().is_empty());

        let kept = KeptStatus::untimed(status.fingerprint());
        let mut written = object.clone();
        set_status(&mut written, status);
        written.meta_mut().resource_version = Some("2".into());
        apply_event(&cache, &mut buffer, Event::Apply(written));
        assert!(
            Arc::ptr_eq(&held(&cache), &listed),
            "{}: the held object stays",
            K::KIND
        );
        assert_eq!(
            listed.kept(&cache),
            Some(kept),
            "{}: the new status is kept",
            K::KIND
        );
        assert_eq!(
            queue(&cache).triggered(),
            [key],
            "{}: reconciled again",
            K::KIND
        );

        // What a change to the spec brings: a new generation.
        let mut changed = object;
        changed.meta_mut().generation = Some(7);
        apply_event(&cache, &mut buffer, Event::Apply(changed));
        let replaced = held(&cache);
        assert!(
            !Arc::ptr_eq(&replaced, &listed),
            "{}: a change replaces it",
            K::KIND
        );
        assert_eq!(replaced.meta().generation, Some(7), "{}", K::KIND);
    }

    let register = lending();
    let policy = Policy::default();
    let system = register
        .system("lending", "credit-scoring")
        .unwrap()
        .clone();
    let (status, _) = desired_system_status(&register, &system, &policy, now());
    check(
        system,
        status,
        |s, status| s.status = Some(Box::new(status)),
        |c| &c.systems.queue,
    )
    .await;
    let assessment = (*register.assessments()[0]).clone();
    let status = ImpactAssessmentStatus {
        observed_generation: Some(1),
        ..Default::default()
    };
    check(
        assessment,
        status,
        |a, status| a.status = Some(Box::new(status)),
        |c| &c.assessments.queue,
    )
    .await;
    let mut binding = binding("controls", &["credit-scoring"], &["A.6.2.6"]);
    binding.metadata.namespace = Some("lending".into());
    let status = ControlBindingStatus {
        observed_generation: Some(1),
        ..Default::default()
    };
    check(
        binding,
        status,
        |b, status| b.status = Some(Box::new(status)),
        |c| &c.bindings.queue,
    )
    .await;
}

#[tokio::test]
async fn an_assessment_gets_its_phase_expiry_and_hash_and_requeues_at_expiry() {
    let mut snapshot = lending();
    let mut expiring = assessment("credit-scoring-2026q3", "credit-scoring", &["2.3.x"])
        .valid_until("2026-11-24T12:00:00Z");
    expiring.metadata.namespace = Some("lending".into());
    let expiring = expiring.approved_by("bob", "2026-10-01T00:00:00Z");
    snapshot.add_assessment(expiring.clone());
    let (ctx, mut handle) = context(snapshot, now());
    let task = tokio::spawn(reconcile(Arc::new(expiring.clone()), ctx));
    let body = expect_apply(
        &mut handle,
        "/apis/aims.io/v1alpha1/namespaces/lending/impactassessments/credit-scoring-2026q3/status",
        serde_json::to_value(&expiring).unwrap(),
    )
    .await;
    assert_eq!(body["kind"], "ImpactAssessment");
    assert_eq!(body["status"]["phase"], "Approved");
    assert_eq!(body["status"]["expiresAt"], "2026-11-24T12:00:00Z");
    assert_eq!(
        body["status"]["contentHash"],
        expiring
            .spec
            .approval
            .as_ref()
            .unwrap()
            .content_hash
            .clone()
            .unwrap()
    );
    assert_eq!(condition(&body, "Current")["status"], "True");
    assert_eq!(
        task.await.unwrap().unwrap(),
        Action::requeue(Duration::from_secs(3600)),
        "a day away: the hourly resync comes first"
    );
}

#[tokio::test]
async fn a_binding_reports_each_control_and_keeps_its_check_time_while_unchanged() {
    let mut snapshot = lending();
    let mut b = binding("lending-controls", &["credit-scoring"], &["A.8.2"]);
    b.metadata.namespace = Some("lending".into());
    snapshot.add_binding(b.clone());
    let (ctx, mut handle) = context(snapshot.clone(), now());
    let task = tokio::spawn(reconcile(Arc::new(b.clone()), ctx));
    let body = expect_apply(
        &mut handle,
        "/apis/aims.io/v1alpha1/namespaces/lending/controlbindings/lending-controls/status",
        serde_json::to_value(&b).unwrap(),
    )
    .await;
    task.await.unwrap().unwrap();
    let control = &body["status"]["controls"][0];
    assert_eq!(control["id"], "A.8.2");
    assert_eq!(control["checkedAt"], "2026-11-23T12:00:00Z");
    assert!(!control["state"].as_str().unwrap().is_empty());

    // A day later nothing changed: the stored status is kept as it is, with no write.
    let mut stored = b.clone();
    stored.status = Some(serde_json::from_value(body["status"].clone()).unwrap());
    let later = now() + SignedDuration::from_hours(24);
    let (desired, _) = desired_binding_status(&snapshot, &stored, &Policy::default(), later);
    assert_eq!(
        desired.controls[0].checked_at,
        now(),
        "the check time dates the result"
    );
    let (ctx, _handle) = context(snapshot, later);
    tokio::time::timeout(Duration::from_secs(2), reconcile(Arc::new(stored), ctx))
        .await
        .expect("no request was made")
        .unwrap();
}

/// A workload admitted under break-glass: the system is looked at again when the window ends
/// (what the nonconformity says changes then), not at the next periodic resync.
#[test]
fn a_break_glass_window_ending_requeues_the_system_at_its_end() {
    use aims_operator::engine::Workload;
    let mut snapshot = lending();
    let mut drifted = fixture("deployment-update-image.json")["request"]["object"].clone();
    let ends = now() + SignedDuration::from_hours(6);
    drifted["metadata"]["annotations"] = json!({
        BREAK_GLASS_REASON_ANNOTATION: "INC-1 rollback",
        BREAK_GLASS_EXPIRES_ANNOTATION: ends.to_string(),
    });
    snapshot.add_workload(Workload::from_value(&drifted, "lending").unwrap());
    let system = credit_scoring(&snapshot);
    let (status, next) = desired_system_status(&snapshot, &system, &Policy::default(), now());
    assert!(
        status.nonconformities[0]
            .message
            .starts_with("admitted under break-glass until")
    );
    assert_eq!(
        next,
        Some(ends),
        "the assessment lapses later than the window"
    );
    // After the window, nothing about it is left to wait for.
    let after = ends + SignedDuration::from_mins(1);
    let (_, next) = desired_system_status(&snapshot, &system, &Policy::default(), after);
    assert_ne!(next, Some(ends));
}

#[test]
fn running_workloads_that_drifted_are_open_nonconformities_with_a_stable_since() {
    use aims_operator::engine::Workload;
    let mut snapshot = lending();
    // The image was changed outside the webhook: 2.4.0 under a 2.3.1 label.
    let drifted = fixture("deployment-update-image.json")["request"]["object"].clone();
    snapshot.add_workload(Workload::from_value(&drifted, "lending").unwrap());
    let compliant = fixture("deployment-create.json")["request"]["object"].clone();
    let mut other = Workload::from_value(&compliant, "lending").unwrap();
    other.name = "credit-scorer-canary".into();
    snapshot.add_workload(other);

    let mut system = credit_scoring(&snapshot);
    let (status, _) = desired_system_status(&snapshot, &system, &Policy::default(), now());
    assert_eq!(status.open_nonconformities, Some(1));
    let open = &status.nonconformities[0];
    assert_eq!(open.workload, "Deployment/credit-scorer");
    assert_eq!(open.rules, "AIMS-007");
    assert!(
        open.message
            .contains("registry.example/credit-scorer:2.4.0"),
        "{}",
        open.message
    );
    assert_eq!(open.since, now());

    // Still open a day later: same entry, same since, nothing to write.
    system.status = Some(Box::new(status.clone()));
    let later = now() + SignedDuration::from_hours(24);
    let (again, _) = desired_system_status(&snapshot, &system, &Policy::default(), later);
    assert_eq!(again.nonconformities[0].since, now());
    assert!(!aims_operator::reconciler::needs_write(
        Some(&status),
        &again
    ));

    // Fixed (workload gone): the list empties and the status is written.
    snapshot.remove_workload("Deployment", "lending", "credit-scorer");
    let (fixed, _) = desired_system_status(&snapshot, &system, &Policy::default(), later);
    assert!(fixed.nonconformities.is_empty());
    assert_eq!(fixed.open_nonconformities, Some(0));
    assert!(aims_operator::reconciler::needs_write(
        Some(&status),
        &fixed
    ));
}

#[tokio::test]
async fn an_openreports_report_with_every_result_is_published_once_per_change() {
    use aims_operator::engine::Workload;
    use aims_operator::reconciler::ReportPublisher;
    let mut snapshot = lending();
    let running = fixture("deployment-create.json")["request"]["object"].clone();
    snapshot.add_workload(Workload::from_value(&running, "lending").unwrap());
    let mut system = credit_scoring(&snapshot);
    system.metadata.uid = Some("5f0c8a62-0000-4000-8000-000000000001".into());
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let ctx = Arc::new(ReconcileContext {
        discover_every: None,
        concurrency: 8,
        lease: None,
        client: Client::new(service, "default"),
        cache: Arc::new(ClusterCache::from_snapshot(snapshot.clone())),
        policy: Policy::default().into(),
        clock: Box::new(now),
        metrics: None,
        recorder: None,
        reports: Some(ReportPublisher::default()),
    });
    let task = tokio::spawn(reconcile_system(Arc::new(system.clone()), ctx.clone()));
    let written = expect_status_apply(&mut handle, &system).await;
    let report = expect_apply(
        &mut handle,
        "/apis/openreports.io/v1alpha1/namespaces/lending/reports/aims-credit-scoring",
        json!({"apiVersion": "openreports.io/v1alpha1", "kind": "Report",
               "metadata": {"name": "aims-credit-scoring", "namespace": "lending"}}),
    )
    .await;
    task.await.unwrap().unwrap();

    assert_eq!(report["kind"], "Report");
    assert_eq!(report["source"], "aims-operator");
    assert_eq!(report["scope"]["kind"], "AISystem");
    assert_eq!(
        report["metadata"]["ownerReferences"][0]["uid"],
        "5f0c8a62-0000-4000-8000-000000000001"
    );
    let results = report["results"].as_array().unwrap();
    let find = |policy: &str, rule: &str| {
        results
            .iter()
            .find(|r| r["policy"] == policy && r["rule"] == rule)
            .unwrap_or_else(|| panic!("no {policy}/{rule} in {report}"))
    };
    // Passes are reported, not only failures: every condition and every rule of the workload.
    assert_eq!(find("aims-conditions", "OwnerAssigned")["result"], "pass");
    assert_eq!(find("aims-admission", "AIMS-003")["result"], "pass");
    assert_eq!(
        find("aims-admission", "AIMS-001")["resources"][0]["name"],
        "credit-scorer"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r["policy"] == "aims-admission")
            .count(),
        aims_operator::engine::Rule::ALL.len(),
        "one result per rule"
    );
    let pass = results.iter().filter(|r| r["result"] == "pass").count();
    assert_eq!(report["summary"]["pass"], pass);

    // Nothing changed: neither the status nor the Report is written again.
    let mut stored = system.clone();
    stored.status = Some(serde_json::from_value(written["status"].clone()).unwrap());
    tokio::time::timeout(
        Duration::from_secs(2),
        reconcile_system(Arc::new(stored), ctx),
    )
    .await
    .expect("no request was made")
    .unwrap();
}

/// The operator's cache holds AI systems without their status and keeps only what the
/// reconciler reads of it: from that alone it works out the very status stored (timestamps
/// carried), so it writes nothing, and a relist that no longer lists a system forgets it.
/// The cache keeps a fingerprint of each stored status, not the status: enough to tell that
/// nothing needs writing. A reconcile that does write reads the stored status back first,
/// and carries its timestamps over where nothing changed.
#[tokio::test]
async fn the_cache_keeps_a_fingerprint_of_each_status_and_a_write_reads_the_times_back() {
    use aims_operator::cache::apply_event;
    use aims_operator::reconciler::kept::{KeptStatus, StatusContent};
    use aims_operator::reconciler::{Reconciled, desired_system_status_after};
    use kube::runtime::watcher::Event;

    let register = lending();
    let policy = Policy::default();
    let mut system = register
        .system("lending", "credit-scoring")
        .unwrap()
        .clone();
    // Stored an hour ago: its conditions' transition times are an hour old.
    let earlier = now() - SignedDuration::from_hours(1);
    let (stored, _) = desired_system_status(&register, &system, &policy, earlier);
    system.status = Some(Box::new(stored.clone()));

    // The register's other objects, and the system as the feed lists it.
    let cache = Arc::new(ClusterCache::from_snapshot(register.clone()));
    let mut buffer = Vec::new();
    apply_event(&cache, &mut buffer, Event::Init);
    apply_event(&cache, &mut buffer, Event::InitApply(system.clone()));
    apply_event(&cache, &mut buffer, Event::InitDone);
    let held = |cache: &ClusterCache| {
        Arc::new(
            cache
                .read(|s| s.system("lending", "credit-scoring").cloned())
                .unwrap(),
        )
    };
    let listed = held(&cache);
    assert!(listed.status.is_none(), "the status is not held");
    let kept = listed.kept(&cache).expect("its fingerprint is kept");
    assert_eq!(kept, KeptStatus::untimed(stored.fingerprint()));
    assert!(!kept.has_times());
    let (desired, _) = desired_system_status_after(&register, &listed, Some(&kept), &policy, now());
    assert!(!kept.differs_from(&desired), "nothing to write");
    let mut changed = desired.clone();
    changed.conditions[0].message.push('!');
    assert!(kept.differs_from(&changed), "a changed message is a change");
    // Nothing to write: no request, not even a read.
    let (ctx, _handle) = on_cache(cache.clone(), now(), None);
    tokio::time::timeout(Duration::from_secs(2), reconcile_system(listed, ctx))
        .await
        .expect("no request was made")
        .unwrap();

    // A new generation of the spec: every condition now observes it, none transitions.
    let mut edited = system.clone();
    edited.metadata.generation = Some(4);
    apply_event(&cache, &mut buffer, Event::Apply(edited));
    let (ctx, mut handle) = on_cache(cache.clone(), now(), None);
    let reconcile = tokio::spawn(reconcile_system(held(&cache), ctx));
    let path = "/apis/aims.io/v1alpha1/namespaces/lending/aisystems/credit-scoring/status";
    let (request, respond) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .expect("a request")
        .expect("the stored status read back");
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri().path(), path);
    respond.send_response(Response::new(Body::from(
        serde_json::to_vec(&system).unwrap(),
    )));
    let body = expect_apply(&mut handle, path, serde_json::to_value(&system).unwrap()).await;
    reconcile.await.unwrap().unwrap();
    for c in body["status"]["conditions"].as_array().unwrap() {
        assert_eq!(c["observedGeneration"], 4, "{c}");
        assert_eq!(
            c["lastTransitionTime"],
            json!(earlier),
            "the stored transition time carried over: {c}"
        );
    }

    apply_event(&cache, &mut buffer, Event::Init);
    apply_event(&cache, &mut buffer, Event::InitDone);
    assert_eq!(
        cache.systems.kept(&system),
        None,
        "a system gone is forgotten"
    );
}
