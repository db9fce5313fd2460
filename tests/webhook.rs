//! The webhook served over real HTTPS (rustls, test CA from rcgen), fed the AdmissionReviews a
//! real kube-apiserver recorded, and variants of them for each rule, user and mode. Every
//! test reads the full response: allowed, message, warnings, patch, auditAnnotations, uid.
use crate::{harness, https, support};

use std::time::Duration;

use aims_operator::engine::{Snapshot, Workload, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use aims_operator::webhook::ClusterCache;
use serde_json::{Value, json};

use harness::*;
use https::{
    Client, TestCa, dead_kubeconfig, free_port, http_get, temp_dir, terminate, wait_until_alive,
};
use support::*;

// --- Workloads ------------------------------------------------------------------------------

#[tokio::test]
async fn every_recorded_workload_review_gets_exactly_the_engine_verdict() {
    let register = lending();
    let mut h = serve_snapshot(register.clone()).await;
    for name in [
        "deployment-create.json",
        "deployment-create-mutate.json",
        "deployment-update-image.json",
        "deployment-update-dryrun.json",
        "deployment-update-server-side-apply-1.json",
        "deployment-update-server-side-apply-2.json",
        "deployment-update-server-side-apply-3.json",
        "deployment-update-server-side-apply-4.json",
        "statefulset-create.json",
        "cronjob-create.json",
        "job-create.json",
        "pod-create.json",
        "inferenceservice-create.json",
    ] {
        let review = fixture(name);
        let response = h.review("/validate", &review).await;
        let object = &review["request"]["object"];
        let Ok(verdict) = evaluate_object(&register, object, "lending", &Policy::default(), now())
        else {
            panic!("{name}: not a workload")
        };
        assert_eq!(response["allowed"], verdict.allowed, "{name}: {response}");
        if verdict.allowed {
            assert_eq!(message(&response), "", "{name}");
        } else {
            assert_eq!(message(&response), verdict.message(), "{name}");
            assert_eq!(response["status"]["code"], 403, "{name}");
            assert_eq!(audit(&response, "rules"), verdict.rule_ids(), "{name}");
        }
        assert!(
            !audit(&response, "decision").is_empty(),
            "{name}: {response}"
        );
    }
}

#[tokio::test]
async fn a_compliant_deployment_is_admitted_with_its_evidence_in_the_audit_log() {
    let mut h = in_process_snapshot(lending());
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("warnings").is_none(), "{response}");
    assert_eq!(audit(&response, "decision"), "allowed");
    assert_eq!(audit(&response, "system"), "credit-scoring");
    assert_eq!(audit(&response, "assessment"), "credit-scoring-2026q3");
    assert_eq!(audit(&response, "model"), "scorer 2.3.1");
    assert_eq!(audit(&response, "mode"), "enforce");
}

#[tokio::test]
async fn a_refusal_lists_every_failing_rule_with_its_fix_in_status_message() {
    let mut h = in_process_snapshot(lending_unassessed(false));
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], false);
    let text = message(&response);
    assert!(
        text.starts_with(
            "Deployment lending/credit-scorer (AI system \"credit-scoring\", model scorer 2.3.1) is not allowed to run:\n- AIMS-003 "
        ),
        "{text}"
    );
    assert!(
        text.contains("\n- AIMS-004 monitoring is not declared"),
        "{text}"
    );
    assert!(
        text.contains("Fix: kubectl -n lending patch aisystem credit-scoring"),
        "{text}"
    );
    assert!(text.contains("ai-approvers"), "{text}");
    assert_eq!(response["status"]["reason"], "Forbidden");
    assert_eq!(audit(&response, "rules"), "AIMS-003,AIMS-004");
    assert_eq!(audit(&response, "decision"), "denied");
}

#[tokio::test]
async fn warn_mode_admits_with_warnings_and_audit_mode_admits_silently() {
    let mut h = in_process_snapshot(with_namespace_mode(lending_unassessed(true), "warn"));
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
    let w = warnings(&response);
    assert!(
        w[0].contains("is admitted in warn mode but does not comply"),
        "{w:?}"
    );
    assert!(w[1].starts_with("AIMS-003 "), "{w:?}");
    assert_eq!(audit(&response, "decision"), "warned");
    assert_eq!(audit(&response, "rules"), "AIMS-003");

    let mut h = in_process_snapshot(with_namespace_mode(lending_unassessed(true), "audit"));
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("warnings").is_none(), "{response}");
    assert_eq!(audit(&response, "decision"), "audited");
    assert_eq!(audit(&response, "rules"), "AIMS-003");
}

#[tokio::test]
async fn an_ai_system_mode_weaker_than_the_namespace_counts_once_a_platform_owner_approved_it() {
    let mut s = lending_unassessed(true);
    let mut system = s.system("lending", "credit-scoring").unwrap().clone();
    system.spec.enforcement = Some(EnforcementMode::Warn);
    s.add_system(system.clone());
    let mut h = in_process_snapshot(s.clone());
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(
        response["allowed"], false,
        "unapproved: the namespace's mode"
    );
    assert_eq!(audit(&response, "mode"), "enforce");

    let system = mode_approved_by_pat(system, EnforcementMode::Warn);
    s.add_system(system);
    let mut h = in_process_snapshot(s);
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
    assert_eq!(audit(&response, "mode"), "warn");
}

#[tokio::test]
async fn deletes_are_never_blocked_even_before_the_caches_sync() {
    let mut h = in_process(ClusterCache::new(&["aisystems"]));
    let response = h
        .review("/validate", &fixture("deployment-delete.json"))
        .await;
    assert_eq!(response["allowed"], true);
    assert_eq!(audit(&response, "decision"), "not-judged");
}

#[tokio::test]
async fn until_the_caches_sync_reviews_are_refused_with_a_starting_message() {
    let mut h = in_process(ClusterCache::new(&["aisystems", "namespaces"]));
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], false);
    let text = message(&response);
    assert!(text.starts_with("aims-operator is starting"), "{text}");
    assert!(text.contains("aisystems, namespaces"), "{text}");
    assert!(text.contains("Deployment lending/credit-scorer"), "{text}");
    let (status, body) = h.client.get("/readyz").await;
    assert_eq!(
        (status, body.as_str()),
        (503, "caches not synced: aisystems, namespaces")
    );
    let (status, _) = h.client.get("/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn exempt_and_own_namespaces_are_never_judged() {
    let mut h = in_process_snapshot(lending_unassessed(false));
    for ns in ["kube-system", "aims-system"] {
        let mut review = fixture("deployment-create.json");
        review["request"]["namespace"] = json!(ns);
        review["request"]["object"]["metadata"]["namespace"] = json!(ns);
        let response = h.review("/validate", &review).await;
        assert_eq!(response["allowed"], true, "{ns}");
        assert_eq!(audit(&response, "reason"), "namespace is exempt", "{ns}");
    }
}

fn review_owner_reference(kind: &str, name: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name,
            "uid": "1f0e5c7a-0000-4000-8000-000000000001", "controller": true}])
}

#[tokio::test]
async fn pods_created_by_a_judged_controller_are_not_judged_twice() {
    let mut h = in_process_snapshot(lending_unassessed(false));
    let mut review = fixture("pod-create.json");
    review["request"]["object"]["metadata"]["ownerReferences"] =
        review_owner_reference("ReplicaSet", "credit-scorer-5d4f");
    let response = h
        .review(
            "/validate",
            &as_user(
                review,
                "system:serviceaccount:kube-system:replicaset-controller",
                &[],
            ),
        )
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(audit(&response, "decision"), "not-judged");

    // The same owner reference claimed by a person (or any non-controller identity) is no
    // way around the rules: the Pod is judged itself.
    let mut forged = fixture("pod-create.json");
    forged["request"]["object"]["metadata"]["ownerReferences"] =
        review_owner_reference("ReplicaSet", "credit-scorer-5d4f");
    for user in ["alice", "system:serviceaccount:lending:deployer"] {
        let response = h
            .review("/validate", &as_user(forged.clone(), user, &[]))
            .await;
        assert_eq!(response["allowed"], false, "{user}: {response}");
        assert_eq!(audit(&response, "decision"), "denied");
    }

    // An owner the engine does not judge itself is no way around the rules.
    let mut review = fixture("pod-create.json");
    review["request"]["object"]["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "example.com/v1", "kind": "Whatever", "name": "x",
        "uid": "1f0e5c7a-0000-4000-8000-000000000002", "controller": true
    }]);
    let response = h.review("/validate", &review).await;
    assert_eq!(response["allowed"], false);
}

fn stored_deployment(s: &mut Snapshot) {
    let object = fixture("deployment-create.json")["request"]["object"].clone();
    s.add_workload(Workload::from_value(&object, "lending").unwrap());
}

#[tokio::test]
async fn scale_up_is_judged_like_an_update_and_scale_down_is_always_allowed() {
    let mut unassessed = lending_unassessed(true);
    stored_deployment(&mut unassessed);
    let mut h = in_process_snapshot(unassessed);
    let up = fixture("deployment-scale-subresource.json"); // 2 -> 3
    let response = h.review("/validate", &up).await;
    assert_eq!(response["allowed"], false);
    assert!(message(&response).contains("AIMS-003"), "{response}");

    let mut down = up.clone();
    down["request"]["object"]["spec"]["replicas"] = json!(1);
    let response = h.review("/validate", &down).await;
    assert_eq!(response["allowed"], true);
    let mut zero = up.clone();
    zero["request"]["object"]["spec"]["replicas"] = json!(0);
    zero["request"]["oldObject"]["spec"]["replicas"] = json!(0);
    let response = h.review("/validate", &zero).await;
    assert_eq!(response["allowed"], true);
    assert_eq!(
        audit(&response, "reason"),
        "scaling to zero is always allowed"
    );

    let mut assessed = lending();
    stored_deployment(&mut assessed);
    let mut h = in_process_snapshot(assessed);
    let response = h.review("/validate", &up).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(audit(&response, "assessment"), "credit-scoring-2026q3");
}

fn break_glass(mut review: Value, expires: &str) -> Value {
    let annotations = &mut review["request"]["object"]["metadata"]["annotations"];
    annotations[BREAK_GLASS_REASON_ANNOTATION] = json!("INC-4711 scoring outage");
    annotations[BREAK_GLASS_EXPIRES_ANNOTATION] = json!(expires);
    review
}

#[tokio::test]
async fn break_glass_admits_for_its_group_only_and_records_an_event() {
    let mut h = in_process_snapshot(lending_unassessed(true));
    let review = break_glass(fixture("deployment-create.json"), "2026-11-23T18:00:00Z");

    let response = h
        .review(
            "/validate",
            &as_user(review.clone(), "carol", &["sre", "aims-break-glass"]),
        )
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    let w = warnings(&response);
    assert!(
        w[0].contains("admitted under break-glass by carol until 2026-11-23T18:00:00Z"),
        "{w:?}"
    );
    assert!(w[0].contains("open nonconformity"), "{w:?}");
    assert!(w[1].starts_with("AIMS-003"), "{w:?}");
    assert_eq!(audit(&response, "decision"), "break-glass");
    assert_eq!(
        audit(&response, "break-glass"),
        "carol until 2026-11-23T18:00:00Z: INC-4711 scoring outage"
    );
    let events = h.events.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].name.as_str(),
            events[0].by.as_str(),
            events[0].rules.as_str()
        ),
        ("credit-scorer", "carol", "AIMS-003")
    );

    // From anyone else the annotations change nothing, and the message says so.
    let response = h.review("/validate", &review).await; // alice, dev-team
    assert_eq!(response["allowed"], false);
    assert!(
        message(&response).ends_with(
            "The break-glass annotations changed nothing: alice is not a member of aims-break-glass."
        ),
        "{}",
        message(&response)
    );

    // A window that has ended, or one longer than the policy allows, counts for nobody.
    for (expires, why) in [
        ("2026-11-23T11:00:00Z", "the break-glass window ended"),
        ("2026-11-30T12:00:00Z", "may last at most 24 hours"),
        ("tomorrow", "is not an RFC 3339 time"),
    ] {
        let review = as_user(
            break_glass(fixture("deployment-create.json"), expires),
            "carol",
            &["aims-break-glass"],
        );
        let response = h.review("/validate", &review).await;
        assert_eq!(response["allowed"], false, "{expires}");
        assert!(
            message(&response).contains(why),
            "{expires}: {}",
            message(&response)
        );
    }
    assert_eq!(
        h.events.0.lock().unwrap().len(),
        1,
        "refusals record no break-glass event"
    );
}

#[tokio::test]
async fn a_dry_run_is_evaluated_without_side_effects() {
    let mut h = in_process_snapshot(lending_unassessed(true));
    let review = fixture("deployment-update-dryrun.json");
    assert_eq!(review["request"]["dryRun"], true);
    let response = h.review("/validate", &review).await;
    assert_eq!(
        response["allowed"], false,
        "a dry run gets the real decision"
    );

    let review = as_user(
        break_glass(review, "2026-11-23T18:00:00Z"),
        "carol",
        &["aims-break-glass"],
    );
    let response = h.review("/validate", &review).await;
    assert_eq!(response["allowed"], true);
    assert!(
        h.events.0.lock().unwrap().is_empty(),
        "a dry run records no event"
    );
}

#[tokio::test]
async fn objects_being_deleted_are_still_judged() {
    let mut h = in_process_snapshot(lending_unassessed(true));
    let mut review = fixture("deployment-update-image.json");
    review["request"]["object"]["metadata"]["deletionTimestamp"] = json!("2026-11-23T11:59:00Z");
    let response = h.review("/validate", &review).await;
    assert_eq!(response["allowed"], false);
}

// --- Bad input ----------------------------------------------------------------------------

#[tokio::test]
async fn unreadable_requests_get_fast_clear_errors_and_never_an_allow() {
    let mut h = in_process_snapshot(lending());
    let good = serde_json::to_vec(&fixture("deployment-create.json")).unwrap();

    let (status, body) = h
        .client
        .send(
            "POST",
            "/validate",
            "application/json",
            b"not json".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("the request body is not a JSON AdmissionReview"),
        "{body}"
    );

    let (status, body) = h
        .client
        .send(
            "POST",
            "/validate",
            "application/json",
            good[..good.len() / 2].to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("EOF"), "{body}");

    let (status, body) = h
        .client
        .send("POST", "/validate", "text/yaml", good.clone())
        .await;
    assert_eq!(status, 415);
    assert!(body.contains("Content-Type: application/json"), "{body}");

    // A JSON media type with parameters or in another case is JSON all the same: the same
    // answer as to the exact header the API server sends.
    let (_, exact) = h
        .client
        .send("POST", "/validate", "application/json", good.clone())
        .await;
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let (status, body) = h
            .client
            .send("POST", "/validate", content_type, good.clone())
            .await;
        assert_eq!((status, &body), (200, &exact), "{content_type}");
    }

    let (status, _) = h
        .client
        .send(
            "POST",
            "/validate",
            "application/json",
            vec![b' '; 3 * 1024 * 1024 + 1],
        )
        .await;
    assert_eq!(status, 413);

    let (status, body) = h
        .client
        .post_json(
            "/validate",
            &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}),
        )
        .await;
    assert_eq!(
        (status, body.as_str()),
        (400, "the AdmissionReview carries no request")
    );

    let mut no_uid = fixture("deployment-create.json");
    no_uid["request"].as_object_mut().unwrap().remove("uid");
    let (status, body) = h.client.post_json("/validate", &no_uid).await;
    assert_eq!(
        (status, body.as_str()),
        (400, "the AdmissionReview request carries no uid")
    );

    let mut v1beta1 = fixture("deployment-create.json");
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = h.client.post_json("/validate", &v1beta1).await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(answer["response"]["uid"], v1beta1["request"]["uid"]);
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("admissionReviewVersions")
    );

    let mut broken = fixture("deployment-create.json");
    broken["request"]["operation"] = json!("EXPLODE");
    let response = h.review("/validate", &broken).await;
    assert_eq!(response["allowed"], false);
    assert!(message(&response).starts_with("aims-operator could not read the AdmissionReview"));

    // The connection survived all of it.
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
}

#[tokio::test]
async fn unknown_kinds_and_odd_labels_get_correct_decisions() {
    let mut h = in_process_snapshot(lending());
    let mut config_map = fixture("deployment-create.json");
    config_map["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "ConfigMap"});
    config_map["request"]["object"] = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "lending"}, "data": {}});
    let response = h.review("/validate", &config_map).await;
    assert_eq!(response["allowed"], true);
    assert_eq!(
        audit(&response, "reason"),
        "ConfigMap is not a workload kind"
    );

    // null, missing and empty labels on the object all mean "no label here"; the pod
    // template still carries the system label, so the decision is the same.
    for labels in [json!(null), Value::Null, json!({})] {
        let mut review = fixture("deployment-create.json");
        let metadata = review["request"]["object"]["metadata"]
            .as_object_mut()
            .unwrap();
        if labels.is_null() && metadata.contains_key("labels") {
            metadata.remove("labels");
        } else {
            metadata.insert("labels".into(), labels.clone());
        }
        let response = h.review("/validate", &review).await;
        assert_eq!(response["allowed"], true, "{labels}: {response}");
    }

    // A label of the wrong type, on the object or its pod template, is refused with the
    // field named (AIMS-009), never waved through.
    for pointer in ["/metadata/labels", "/spec/template/metadata/labels"] {
        let mut review = fixture("deployment-create.json");
        review["request"]["object"].pointer_mut(pointer).unwrap()["aims.io/system"] = json!(42);
        let response = h.review("/validate", &review).await;
        assert_eq!(response["allowed"], false, "{pointer}");
        assert_eq!(audit(&response, "rules"), "AIMS-009", "{pointer}");
        assert!(
            message(&response).contains(&format!(
                "{}.aims.io/system: invalid type: integer `42`, expected a string",
                pointer[1..].replace('/', ".")
            )),
            "{response}"
        );
    }

    // A huge label value is judged like any other: here, an unregistered system.
    let mut review = fixture("deployment-create.json");
    let huge = "x".repeat(200_000);
    review["request"]["object"]["metadata"]["labels"]["aims.io/system"] = json!(huge);
    review["request"]["object"]["spec"]["template"]["metadata"]["labels"]["aims.io/system"] =
        json!(huge);
    let response = h.review("/validate", &review).await;
    assert_eq!(response["allowed"], false);
    assert_eq!(audit(&response, "rules"), "AIMS-001");
}

// --- Health, metrics, certificates, shutdown ------------------------------------------------

#[tokio::test]
async fn metrics_count_decisions_by_result_and_rule_and_time_them() {
    let mut h = serve_snapshot(lending_unassessed(false)).await;
    h.review("/validate", &fixture("deployment-create.json"))
        .await;
    h.review("/validate", &fixture("deployment-delete.json"))
        .await;
    let (status, text) = h.client.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"aims_webhook_decisions_total{webhook="workloads",result="denied"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"aims_webhook_decisions_total{webhook="workloads",result="not_judged"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"aims_webhook_findings_total{rule="AIMS-003",result="denied"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"aims_webhook_findings_total{rule="AIMS-004",result="denied"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"aims_webhook_duration_seconds_count{webhook="workloads"} 2"#),
        "{text}"
    );
    assert!(text.contains("aims_webhook_cached_objects 1"), "{text}");
    // Results that have not happened yet read zero, not "no data", for rates and alerts.
    assert!(
        text.contains(
            r#"aims_webhook_decisions_total{webhook="workloads",result="break_glass"} 0"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"aims_webhook_duration_seconds_count{webhook="aims-mutate"} 0"#),
        "{text}"
    );
    // When the certificate being served expires, read from the certificate itself.
    let served = std::fs::read_to_string(h.dir.join("tls.crt")).unwrap();
    let not_after = aims_operator::certs::inspect_pem(&served).unwrap()[0].not_after;
    assert!(
        text.contains(&format!(
            r#"aims_webhook_certificate_expiry_timestamp_seconds{{certificate="serving"}} {}"#,
            not_after.as_second()
        )),
        "{text}"
    );
    // The AIMS objectives come from the same cache, by the same engine.
    assert!(
        text.contains(r#"aims_system_compliant{namespace="lending",name="credit-scoring"} 0"#),
        "{text}"
    );
    assert!(text.contains("aims_open_nonconformities 0"), "{text}");
    let (status, body) = h.client.get("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready"));
}

#[tokio::test]
async fn a_new_certificate_is_served_without_a_restart() {
    let mut h = serve_snapshot(lending()).await;
    assert_eq!(h.client.server_cn, "first");
    h.ca.issue(&h.dir, "second");
    let mut served = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        served = Client::connect(h.server.addr, &h.ca).await.server_cn;
        if served == "second" {
            break;
        }
    }
    assert_eq!(served, "second");
    // A broken pair on disk is not loaded; the server keeps serving the last good one.
    std::fs::write(h.dir.join("tls.key"), b"garbage").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        Client::connect(h.server.addr, &h.ca).await.server_cn,
        "second"
    );
    // The connection opened before the swap still answers.
    let response = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(response["allowed"], true);
}

#[tokio::test]
async fn graceful_shutdown_stops_accepting_connections() {
    let h = serve_snapshot(lending()).await;
    let addr = h.server.addr;
    drop(h.client);
    tokio::time::timeout(
        Duration::from_secs(5),
        h.server.shutdown(Duration::from_secs(2)),
    )
    .await
    .expect("shutdown finishes within the drain time");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

// --- The cache behind the webhook ------------------------------------------------------------

#[test]
fn a_relist_replaces_the_cached_objects_atomically_and_marks_the_feed_synced() {
    use aims_operator::cache::apply_event;
    use kube::runtime::watcher::Event;

    let cache = ClusterCache::new(&["aisystems"]);
    let mut buffer = Vec::new();
    let names = |cache: &ClusterCache| {
        cache.read(|s| {
            s.systems()
                .iter()
                .map(|s| s.metadata.name.clone().unwrap())
                .collect::<Vec<_>>()
        })
    };
    apply_event(&cache, &mut buffer, Event::Init);
    apply_event(&cache, &mut buffer, Event::InitApply(system("a").in_ns()));
    apply_event(&cache, &mut buffer, Event::InitApply(system("b").in_ns()));
    assert!(!cache.is_synced());
    assert!(names(&cache).is_empty(), "half a list is never visible");
    apply_event(&cache, &mut buffer, Event::InitDone);
    assert!(cache.is_synced());
    assert_eq!(names(&cache), ["a", "b"]);

    apply_event(&cache, &mut buffer, Event::Apply(system("c").in_ns()));
    apply_event(&cache, &mut buffer, Event::Delete(system("a").in_ns()));
    assert_eq!(names(&cache), ["b", "c"]);

    // After a watch gap, the relist is the truth: c was deleted meanwhile.
    apply_event(&cache, &mut buffer, Event::Init);
    apply_event(&cache, &mut buffer, Event::InitApply(system("b").in_ns()));
    assert_eq!(
        names(&cache),
        ["b", "c"],
        "the old view serves until the relist is complete"
    );
    apply_event(&cache, &mut buffer, Event::InitDone);
    assert_eq!(names(&cache), ["b"]);
}

#[test]
fn reviews_read_the_current_view_while_a_relist_is_rebuilt_and_then_the_new_one() {
    use std::sync::Arc;
    let cache = Arc::new(ClusterCache::new(&[]));
    cache.write(|s| s.add_system(system("old").in_ns()));
    let (seen, during) = std::sync::mpsc::channel();
    cache.rebuild(|s| {
        s.clear_systems();
        s.add_system(system("new").in_ns());
        // A review arriving mid-rebuild, on another thread: it must not wait for the rebuild.
        let reader = cache.clone();
        std::thread::spawn(move || {
            let names = reader.read(|s| s.system_names_in(NS));
            let _ = seen.send(names);
        });
        let names = during
            .recv_timeout(Duration::from_secs(5))
            .expect("a review during a relist is answered without waiting for it");
        assert_eq!(
            names,
            ["old"],
            "the view before the relist serves meanwhile"
        );
    });
    assert_eq!(cache.read(|s| s.system_names_in(NS)), ["new"]);
}

#[tokio::test]
async fn an_update_is_judged_on_the_new_object_whatever_the_old_one_holds() {
    let mut h = in_process_snapshot(lending());
    let review = fixture("deployment-update-server-side-apply-4.json");
    let expected = h.review("/validate", &review).await;
    for old in [json!(null), json!(42), json!({"kind": "Deployment"})] {
        let mut variant = review.clone();
        variant["request"]["oldObject"] = old.clone();
        let response = h.review("/validate", &variant).await;
        assert_eq!(response["allowed"], expected["allowed"], "{old}");
        assert_eq!(
            response["auditAnnotations"], expected["auditAnnotations"],
            "{old}"
        );
    }
}

// --- The real binary ----------------------------------------------------------------------

#[tokio::test]
async fn the_binary_serves_refuses_while_starting_and_stops_on_sigterm() {
    let dir = temp_dir("binary");
    let ca = TestCa::new("aims test CA");
    let (cert, key) = ca.issue(&dir, "binary");
    // An API server nobody answers: the caches never sync, so the webhook must stay unready
    // and refuse, and the reconciler must wait for its lease without giving up.
    dead_kubeconfig(&dir);
    let (https_port, health_port) = (free_port(), free_port());
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["run", "--listen", &format!("127.0.0.1:{https_port}")])
        .args(["--health-listen", &format!("127.0.0.1:{health_port}")])
        .args([
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(
        wait_until_alive(health_port).await,
        Some((200, "ok".to_string()))
    );
    let (code, body) = http_get(health_port, "/readyz").await.unwrap();
    assert_eq!(code, 503);
    assert!(body.starts_with("caches not synced: aisystems"), "{body}");

    let mut client = Client::connect(format!("127.0.0.1:{https_port}").parse().unwrap(), &ca).await;
    let (status, body) = client
        .post_json("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("aims-operator is starting"),
        "{answer}"
    );
    drop(client);

    assert_eq!(terminate(child).await, Some(0));
}

/// JSON nested far deeper than any object (100,000 levels) neither crashes the webhook nor
/// slips anything through: in a field the rules never read it changes nothing (the workload
/// is judged on what it runs, exactly as without it), and where the rules read (the labels)
/// the object cannot be read and is refused, saying so.
#[tokio::test]
async fn deeply_nested_objects_are_judged_or_refused_never_crashed_on() {
    let mut h = in_process_snapshot(lending());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let plain = h
        .review("/validate", &fixture("deployment-create.json"))
        .await;
    assert_eq!(plain["allowed"], true, "{plain}");
    for field in ["affinity", "labels"] {
        let mut review = fixture("deployment-create.json");
        let object = &mut review["request"]["object"];
        match field {
            "affinity" => object["spec"]["template"]["spec"]["affinity"] = json!("DEEP"),
            _ => object["metadata"]["labels"] = json!("DEEP"),
        }
        let body = serde_json::to_string(&review)
            .unwrap()
            .replace("\"DEEP\"", &deep);
        let (status, answer) = h
            .client
            .send("POST", "/validate", "application/json", body.into_bytes())
            .await;
        assert_eq!(status, 200, "{field}: {answer}");
        let response = serde_json::from_str::<Value>(&answer).unwrap()["response"].clone();
        if field == "affinity" {
            assert_eq!(response, plain, "{field}");
        } else {
            assert_eq!(response["allowed"], false, "{field}: {response}");
            let message = response["status"]["message"].as_str().unwrap();
            assert!(message.contains("cannot be read"), "{message}");
            assert!(message.contains("recursion limit"), "{message}");
        }
    }
}

/// A refusal is logged at info, inside a span that names the review, so the platform team
/// can find what a developer saw at kubectl (the log is what the operator's stderr carries).
#[test]
fn a_refusal_is_logged_at_info_with_the_review_it_belongs_to() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let mut ctx = aims_operator::webhook::Context::new(
        std::sync::Arc::new(ClusterCache::from_snapshot(lending_unassessed(false))),
        Policy::default(),
        "aims-system",
    );
    ctx.clock = Box::new(now);
    let body = fixture("deployment-create.json").to_string();
    let answered = tracing::subscriber::with_default(subscriber, || {
        aims_operator::webhook::answer_raw(&ctx, "/validate", "application/json", body.as_bytes())
    });
    assert!(answered.is_some_and(|(_, _, text)| text.contains("\"allowed\":false")));
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("review refused"))
        .unwrap_or_else(|| panic!("no refusal logged: {log}"));
    for field in [
        " INFO ",
        "review{webhook=\"workloads\"",
        "kind=Deployment",
        "ns=\"lending\"",
        "name=credit-scorer",
        "rules=AIMS-003,AIMS-004",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}
