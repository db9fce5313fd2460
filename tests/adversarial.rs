//! Adversarial workload reviews from the policy-engine CVE history, through the real webhook
//! over HTTPS: each way around the rules must end in a refusal (enforce) or a record
//! (audit), never a silent allow. Approval attacks (self-approval, forged stamps, claimed
//! groups, a ServiceAccount approving its own work) are in `approvals.rs`; the table of every
//! threat and the test that covers it is docs/threats.md.
use crate::{harness, support};

use aims_operator::engine::evaluate_object;
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use serde_json::{Value, json};

use harness::*;
use support::*;

/// The recorded Deployment, admitted as it stands in `lending()`.
fn deployment() -> Value {
    fixture("deployment-create.json")
}

/// A review of `object` by `user`, as the API server would send it.
fn review_of(mut review: Value, object: Value) -> Value {
    review["request"]["object"] = object;
    review
}

fn rules_of(response: &Value) -> String {
    audit(response, "rules")
}

#[tokio::test]
async fn objects_being_deleted_or_held_by_finalizers_are_still_judged() {
    let mut h = in_process_snapshot(lending_unassessed(true));
    let mut object = deployment()["request"]["object"].clone();
    object["metadata"]["deletionTimestamp"] = json!("2026-11-23T11:00:00Z");
    object["metadata"]["finalizers"] = json!(["example.com/keep-running"]);
    let mut review = review_of(deployment(), object);
    review["request"]["operation"] = json!("UPDATE");
    review["request"]["oldObject"] = deployment()["request"]["object"].clone();
    let response = h.review("/validate", &review).await;
    assert_eq!(response["allowed"], false, "{response}");
    assert!(rules_of(&response).contains("AIMS-003"));
}

#[tokio::test]
async fn an_assessment_in_another_namespace_covers_nothing_here() {
    let mut snapshot = lending_unassessed(true);
    let mut elsewhere = assessment("credit-scoring-2026q3", "credit-scoring", &["2.3.x"])
        .approved_by("bob", "2026-10-01T00:00:00Z");
    elsewhere.metadata.namespace = Some("sandbox".into());
    snapshot.add_assessment(elsewhere);
    let mut h = in_process_snapshot(snapshot);
    let response = h.review("/validate", &deployment()).await;
    assert_eq!(response["allowed"], false);
    assert!(rules_of(&response).contains("AIMS-003"), "{response}");
}

/// Labels and annotations a tenant can set on their own objects grant nothing: no
/// exemption, no mode change, no break-glass without the group. Namespaces whose names merely
/// resemble the exempt ones are judged.
#[tokio::test]
async fn exemptions_claimed_by_a_tenant_change_nothing() {
    let mut snapshot = lending_unassessed(true);
    snapshot.add_namespace(
        "kube-system-ml",
        [(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())].into(),
    );
    let mut system = snapshot
        .system("lending", "credit-scoring")
        .unwrap()
        .clone();
    system.metadata.namespace = Some("kube-system-ml".into());
    snapshot.add_system(system);
    let mut h = in_process_snapshot(snapshot);
    let mut object = deployment()["request"]["object"].clone();
    let labels = &mut object["metadata"]["labels"];
    labels[ENFORCEMENT_LABEL] = json!("audit");
    labels["aims.io/exempt"] = json!("true");
    labels["aims.io/mode"] = json!("audit");
    object["metadata"]["annotations"] = json!({
        "aims.io/exempt": "true",
        "aims.io/break-glass-reason": "trust me",
        "aims.io/break-glass-expires": "2026-11-23T13:00:00Z"
    });
    let response = h
        .review("/validate", &review_of(deployment(), object.clone()))
        .await;
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(audit(&response, "mode"), "enforce");

    let mut lookalike = object;
    lookalike["metadata"]["namespace"] = json!("kube-system-ml");
    let mut review = review_of(deployment(), lookalike);
    review["request"]["namespace"] = json!("kube-system-ml");
    let response = h.review("/validate", &review).await;
    assert_eq!(response["allowed"], false, "{response}");
}

/// The model reaches the cluster by another road: a ReplicaSet or a Pod created directly, a
/// Pod claiming a controller it does not have, or an ephemeral container added to a running
/// Pod. Each is judged on what it would run.
#[tokio::test]
async fn another_kind_or_a_subresource_is_no_road_around_the_rules() {
    let mut h = in_process_snapshot(lending_unassessed(true));
    let template = deployment()["request"]["object"]["spec"]["template"].clone();
    let replica_set = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "scorer-direct", "namespace": "lending", "labels": template["metadata"]["labels"]},
        "spec": {"replicas": 1, "selector": {"matchLabels": template["metadata"]["labels"]}, "template": template}
    });
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "scorer-direct", "namespace": "lending", "labels": template["metadata"]["labels"]},
        "spec": template["spec"]
    });
    for (resource, object) in [("replicasets", replica_set), ("pods", pod.clone())] {
        let mut review = review_of(deployment(), object);
        review["request"]["resource"]["resource"] = json!(resource);
        let response = h.review("/validate", &review).await;
        assert_eq!(response["allowed"], false, "{resource}: {response}");
        assert!(rules_of(&response).contains("AIMS-003"), "{resource}");
    }

    // An ephemeral container is judged with the Pod it joins, as the engine judges that Pod.
    let mut running = pod;
    running["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox:1.36"}]);
    let mut review = review_of(fixture("pod-create.json"), running.clone());
    review["request"]["operation"] = json!("UPDATE");
    review["request"]["subResource"] = json!("ephemeralcontainers");
    review["request"]["oldObject"] = running.clone();
    let response = h.review("/validate", &review).await;
    assert_ne!(audit(&response, "decision"), "not-judged", "{response}");
    let verdict = evaluate_object(
        &lending_unassessed(true),
        &running,
        "lending",
        &Policy::default(),
        now(),
    )
    .unwrap();
    assert_eq!(response["allowed"], verdict.allowed);
    assert_eq!(rules_of(&response), verdict.rule_ids());
}

/// Keys that only look like `aims.io/system` (case, Unicode look-alikes, stray spaces) are
/// not the system label, and a look-alike system name names no system: a model server
/// behind either is still caught in an opted-in namespace.
#[tokio::test]
async fn look_alike_label_keys_and_system_names_do_not_pass_for_the_real_ones() {
    let mut h = in_process_snapshot(lending());
    let server = |labels: Value| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "llm", "namespace": "lending", "labels": labels},
            "spec": {"selector": {"matchLabels": {"app": "llm"}}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "llm", "image": "vllm/vllm-openai:v0.6.3"}]}}}
        })
    };
    for labels in [
        json!({"app": "llm", "AIMS.io/system": "credit-scoring"}),
        json!({"app": "llm", "aims.io/System": "credit-scoring"}),
        json!({"app": "llm", "aims\u{2024}io/system": "credit-scoring"}),
        json!({"app": "llm", "aіms.io/system": "credit-scoring"}), // Cyrillic і
        json!({"app": "llm", "aims.io/system": "credit\u{2011}scoring"}), // non-breaking hyphen
        json!({"app": "llm", "aims.io/system": "Credit-Scoring"}),
    ] {
        let response = h
            .review(
                "/validate",
                &review_of(deployment(), server(labels.clone())),
            )
            .await;
        assert_eq!(response["allowed"], false, "{labels}: {response}");
        assert!(
            rules_of(&response).contains("AIMS-001"),
            "{labels}: {response}"
        );
    }
}

/// Unlabelled serving runtimes in an opted-in namespace are model serving: refused in
/// enforce, admitted and recorded in audit.
#[tokio::test]
async fn unlabelled_serving_runtimes_are_caught_in_opted_in_namespaces() {
    let images = [
        "vllm/vllm-openai:v0.6.3",
        "nvcr.io/nvidia/tritonserver:24.08-py3",
        "pytorch/torchserve:0.11.0-gpu",
        "kserve/huggingfaceserver:v0.14.0",
        "docker.io/kserve/sklearnserver:v0.14.0",
    ];
    for (mode, allowed, decision) in [("enforce", false, "denied"), ("audit", true, "audited")] {
        let mut h = in_process_snapshot(with_namespace_mode(lending(), mode));
        for image in images {
            let object = json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "serving", "namespace": "lending", "labels": {"app": "serving"}},
                "spec": {"selector": {"matchLabels": {"app": "serving"}}, "template": {
                    "metadata": {"labels": {"app": "serving"}},
                    "spec": {"containers": [{"name": "server", "image": image}]}}}
            });
            let response = h
                .review("/validate", &review_of(deployment(), object))
                .await;
            assert_eq!(response["allowed"], allowed, "{mode} {image}: {response}");
            assert_eq!(audit(&response, "decision"), decision, "{mode} {image}");
            assert!(rules_of(&response).contains("AIMS-001"), "{mode} {image}");
        }
    }
}
