//! The register both benchmarks run against: 10,000 AI systems in 100 enforced namespaces,
//! each with an approved assessment and a binding of six implemented controls.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use aims_operator::engine::Snapshot;
use aims_operator::engine::assessment::{content_hash, material_hashes};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use jiff::Timestamp;
use serde_json::{Value, json};

pub const SYSTEMS: usize = 10_000;

/// The register's size: [`SYSTEMS`], or `AIMS_BENCH_SYSTEMS` when set. A small register makes
/// instruction counts under valgrind quick (building 10,000 systems there takes minutes); the
/// code a decision runs is the same, only its data stays in cache more.
pub fn systems() -> usize {
    std::env::var("AIMS_BENCH_SYSTEMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(SYSTEMS)
}
pub const NAMESPACES: usize = 100;

/// The enforced namespaces the register's systems live in, with their labels.
pub fn namespaces() -> impl Iterator<Item = (String, BTreeMap<String, String>)> {
    (0..NAMESPACES).map(|n| {
        (
            format!("ns{n}"),
            BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())]),
        )
    })
}

/// The register as a snapshot.
pub fn snapshot(now: Timestamp) -> Snapshot {
    let mut s = Snapshot::new();
    for (name, labels) in namespaces() {
        s.add_namespace(&name, labels);
    }
    for (system, assessment, binding) in objects(now) {
        s.add_system(system);
        s.add_assessment(assessment);
        s.add_binding(binding);
    }
    s
}

/// Each system of the register with its approved assessment and its binding, made one system
/// at a time (as a watch delivers them) rather than all at once.
pub fn objects(
    now: Timestamp,
) -> impl Iterator<Item = (AISystem, ImpactAssessment, ControlBinding)> {
    (0..systems()).map(move |i| {
        let ns = format!("ns{}", i % NAMESPACES);
        let name = format!("sys{i}");
        let tier = if i % 3 == 0 {
            RiskTier::High
        } else {
            RiskTier::Limited
        };
        let yaml = format!(
            r#"{{"apiVersion":"aims.io/v1alpha1","kind":"AISystem","metadata":{{"name":"{name}","namespace":"{ns}"}},
            "spec":{{"displayName":"System {i}","description":"d","purpose":"p","intendedUse":"u","riskTier":"{tier}",
            "lifecycleStage":"Operation","owner":{{"name":"Owner {i}"}},
            "models":[{{"name":"m","version":"1.0.0","image":"reg/m{i}@sha256:{i:064x}","validationReport":"r"}}],
            "monitoring":{{"metrics":["x"],"alertRoute":"r","eventLog":"l"}},
            "humanOversight":{{"when":"always","reviewers":"team"}}}}}}"#,
            tier = tier.as_str()
        );
        let system: AISystem = serde_json::from_str(&yaml).expect("system");
        let system_fields = material_hashes(&system.spec, &Policy::default());
        // From text, as a watch delivers objects (lists are grown while read).
        let mut a: ImpactAssessment = serde_json::from_str(&json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "ImpactAssessment",
            "metadata": { "name": format!("{name}-ia"), "namespace": ns },
            "spec": { "systemRef": name, "models": [{ "version": "1.0.x" }],
                "impacts": [{ "area": "Individuals", "direction": "Negative", "description": "x" }],
                "risks": [{ "id": "R1", "description": "x", "likelihood": 2, "severity": 2, "treatment": "Mitigate" }],
                "validityDays": 365 }
        }).to_string())
        .expect("assessment");
        a.spec.approval = Some(Approval {
            decision: Decision::Approved,
            comment: None,
            decided_by: Some("bob".into()),
            decided_at: Some(now),
            content_hash: Some(content_hash(&a.spec)),
            system_fields,
        });
        let controls: Vec<_> = ["A.5.4", "A.6.2.4", "A.6.2.8", "A.8.2", "A.9.2", "A.3.2"]
            .iter()
            .map(|id| json!({ "id": id, "applicability": "Applicable", "implementation": { "description": "x", "status": "Implemented" } }))
            .collect();
        let b: ControlBinding = serde_json::from_str(
            &json!({
                "apiVersion": "aims.io/v1alpha1", "kind": "ControlBinding",
                "metadata": { "name": format!("{name}-controls"), "namespace": ns },
                "spec": { "systems": [name], "controls": controls }
            })
            .to_string(),
        )
        .expect("binding");
        (system, a, b)
    })
}

/// `object` as Argo CD leaves it, synced from a kustomize base by client-side apply: the
/// base's labels, Argo CD's tracking annotation and kubectl's last-applied copy of the
/// manifest, and the author aims-operator's webhook stamps on every AIMS object it admits
/// (the webhook does not run where the benches store or build them, so this writes it).
pub fn as_synced(mut object: Value) -> Value {
    let last_applied = object.to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let app = format!("aims-{ns}");
    object["metadata"]["labels"] = json!({
        "app.kubernetes.io/part-of": app,
        "app.kubernetes.io/managed-by": "kustomize",
    });
    object["metadata"]["annotations"] = json!({
        AUTHOR_ANNOTATION: "system:serviceaccount:argocd:argocd-application-controller",
        "argocd.argoproj.io/tracking-id": format!("{app}:aims.io/{kind}:{ns}/{name}"),
        "kubectl.kubernetes.io/last-applied-configuration": last_applied,
    });
    object
}

/// A typed object as [`as_synced`] leaves it.
pub fn synced<K: serde::Serialize + serde::de::DeserializeOwned>(object: K) -> K {
    let value = serde_json::to_value(object).expect("an object serialises");
    serde_json::from_value(as_synced(value)).expect("and reads back")
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A Deployment of system `i` that the register admits.
pub fn workload(i: usize) -> Value {
    json!({ "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": format!("w{i}"), "namespace": format!("ns{}", i % NAMESPACES), "labels": { SYSTEM_LABEL: format!("sys{i}") } },
        "spec": { "template": { "metadata": { "labels": { SYSTEM_LABEL: format!("sys{i}"), MODEL_VERSION_LABEL: "1.0.0" } },
            "spec": { "containers": [{ "name": "c", "image": format!("reg/m{i}@sha256:{i:064x}") }] } } } })
}

const RECORDED: &str = "../tests/fixtures/admission-reviews/deployment-create.json";

/// One Deployment review body per system, each admitted. By default the recorded review's
/// shell around a minimal Deployment, re-serialised (1.2 KB, keys sorted). With
/// `AIMS_BENCH_BODIES=recorded`, the recorded review byte for byte as the API server wrote it
/// (managedFields, kubectl's last-applied annotation, the API server's field order; 4 KB
/// without the fixture's indentation, which the API server does not send), with only the
/// names, model version and image swapped for each system's.
pub fn review_bodies() -> Vec<Vec<u8>> {
    let recorded = std::fs::read_to_string(RECORDED).expect("fixture (benches run from operator/)");
    if std::env::var("AIMS_BENCH_BODIES").is_ok_and(|v| v == "recorded") {
        let recorded = without_indentation(&recorded);
        return (0..systems())
            .map(|i| {
                let image = workload(i)["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .expect("image")
                    .to_string();
                recorded
                    .replace(
                        "registry.example/credit-scorer@sha256:0000000000000000000000000000000000000000000000000000000000000001",
                        &image,
                    )
                    .replace("credit-scoring", &format!("sys{i}"))
                    .replace("lending", &format!("ns{}", i % NAMESPACES))
                    .replace("2.3.1", "1.0.0")
                    .into_bytes()
            })
            .collect();
    }
    let template: Value = serde_json::from_str(&recorded).expect("fixture");
    (0..systems())
        .map(|i| {
            let mut review = template.clone();
            let object = workload(i);
            review["request"]["namespace"] = object["metadata"]["namespace"].clone();
            review["request"]["name"] = object["metadata"]["name"].clone();
            review["request"]["object"] = object;
            serde_json::to_vec(&review).expect("json")
        })
        .collect()
}

/// JSON text without the whitespace between tokens (strings kept byte for byte).
fn without_indentation(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// The runtime the benches drive the server or the control plane from: two workers, as
/// the machine has two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The least a webhook the API server accepts must do: read the review (serde_json checks
/// all of it is JSON) and allow it under its uid, with `audit_annotations` when given. `None`
/// when the body is no AdmissionReview.
pub fn allow_review(body: &[u8], audit_annotations: Option<&Value>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Review<'a> {
        #[serde(borrow)]
        request: Request<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Request<'a> {
        #[serde(borrow)]
        uid: std::borrow::Cow<'a, str>,
    }
    let review: Review = serde_json::from_slice(body).ok()?;
    let mut answer = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": review.request.uid, "allowed": true}});
    if let Some(annotations) = audit_annotations {
        answer["response"]["auditAnnotations"] = annotations.clone();
    }
    Some(answer.to_string())
}
