//! The fuzz targets' bodies, shared by `fuzz/` (libFuzzer explores) and `tests/fuzz_corpus.rs`
//! (CI replays every seed and every past finding). Each takes arbitrary bytes and panics only
//! when an invariant breaks: no panic inside aims-operator, and never an allow from input the
//! webhook could not judge.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use aims_operator::manifests::Loaded;
use aims_operator::policy::Policy;
use aims_operator::resources::{AISystem, ControlBinding, ImpactAssessment};
use aims_operator::webhook::{ClusterCache, Context};
use jiff::Timestamp;
use serde_json::Value;

fn now() -> Timestamp {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

/// The webhook with the built-in examples as its register, synced, clock pinned.
fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let mut loaded = Loaded::new("default");
        for (file, text) in aims_operator::examples::FILES {
            loaded.read_str(file, text);
        }
        let mut ctx = Context::new(
            Arc::new(ClusterCache::from_snapshot(loaded.snapshot)),
            Policy::default(),
            "aims-system",
        );
        ctx.clock = Box::new(now);
        ctx
    })
}

/// AdmissionReview bytes: the first byte picks the endpoint, the rest is the body.
pub fn admission_review(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let path = ["/validate", "/mutate", "/validate-aims"][usize::from(selector % 3)];
    let (code, content_type, answer) =
        aims_operator::webhook::answer_raw(context(), path, "application/json", body)
            .expect("a webhook path");
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // The webhook reads workloads from text, the CLI and the reconciler from parsed JSON:
    // the same workload, or the same refusal.
    if let Some(object) = parsed.as_ref().and_then(|v| v.pointer("/request/object")) {
        use aims_operator::engine::Workload;
        let text = object.to_string();
        assert_eq!(
            Workload::from_json(&text, "ns"),
            Workload::from_value(object, "ns"),
            "the two workload readers disagree on {text}"
        );
    }
    let judgeable = parsed.as_ref().is_some_and(|v| {
        v["request"]["uid"].is_string() && v["apiVersion"] == "admission.k8s.io/v1"
    });
    if code != 200 {
        assert!(
            content_type.starts_with("text/plain"),
            "{code} {content_type}"
        );
        assert!(
            !judgeable || !v1_shaped(parsed.as_ref()),
            "a readable v1 review got HTTP {code}: {answer}"
        );
        return;
    }
    let review: Value = serde_json::from_str(&answer).expect("200 answers are JSON");
    let response = &review["response"];
    assert!(response["allowed"].is_boolean(), "{answer}");
    if response["allowed"] == true {
        // An allow only ever answers a review that was read: its uid is echoed.
        let uid = parsed.as_ref().map(|v| v["request"]["uid"].clone());
        assert_eq!(
            Some(response["uid"].clone()),
            uid,
            "an allow for a review it could not read"
        );
    }
}

/// Whether the review has the fields a v1 review must have (so a non-200 for it is a bug).
fn v1_shaped(review: Option<&Value>) -> bool {
    let Some(review) = review else { return false };
    let request = &review["request"];
    review["kind"] == "AdmissionReview"
        && request["kind"]["kind"].is_string()
        && request["kind"]["version"].is_string()
        && request["kind"]["group"].is_string()
        && request["resource"]["resource"].is_string()
        && request["operation"].is_string()
        && request["userInfo"].is_object()
        && request["name"].as_str().is_some_and(|n| !n.is_empty())
}

fn load(data: &[u8]) -> Loaded {
    let mut loaded = Loaded::new("default");
    loaded.read_str("fuzz.yaml", &String::from_utf8_lossy(data));
    loaded
}

/// Manifests for the offline check: loaded, judged and rendered in every format.
pub fn manifests(data: &[u8]) {
    let report = aims_operator::cli::check_loaded(load(data), &Policy::default(), now());
    let _ = aims_operator::render::check::text(&report, true);
    let json = aims_operator::render::check::json(&report);
    serde_json::from_str::<Value>(&json).expect("the JSON report is JSON");
    let _ = aims_operator::render::check::junit(&report);
    let sarif = aims_operator::render::check::sarif(&report);
    serde_json::from_str::<Value>(&sarif).expect("SARIF is JSON");
}

/// One AIMS object (JSON or YAML) decoded as each kind, then evaluated.
pub fn crd_object(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let value: Option<Value> = serde_json::from_slice(data)
        .ok()
        .or_else(|| serde_saphyr::from_str(&text).ok());
    let Some(value) = value else { return };
    let policy = Policy::default();
    let mut snapshot = aims_operator::engine::Snapshot::new();
    if let Ok(system) = serde_json::from_value::<AISystem>(value.clone()) {
        snapshot.add_system(system.clone());
        let _ = aims_operator::engine::status::evaluate_system(&snapshot, &system, &policy, now());
    }
    if let Ok(assessment) = serde_json::from_value::<ImpactAssessment>(value.clone()) {
        let _ = aims_operator::resources::validate_assessment(&assessment.spec);
        snapshot.add_assessment(assessment.clone());
        let _ = aims_operator::engine::status::evaluate_assessment(
            &assessment,
            &snapshot,
            &policy,
            now(),
        );
    }
    if let Ok(binding) = serde_json::from_value::<ControlBinding>(value) {
        let _ = aims_operator::resources::validate_binding(&binding.spec);
        snapshot.add_binding(binding.clone());
        let _ =
            aims_operator::engine::status::evaluate_binding(&binding, &snapshot, &policy, now());
    }
}

/// Manifests rendered as a Statement of Applicability in every format.
pub fn soa(data: &[u8]) {
    let loaded = load(data);
    let statement = aims_operator::soa::build(&loaded.snapshot, &Policy::default(), "fuzz", now());
    assert_eq!(
        statement.controls.len(),
        38,
        "the SoA always covers all 38 controls"
    );
    let _ = aims_operator::render::soa::markdown(&statement);
    let _ = aims_operator::render::soa::html(&statement);
    serde_json::from_str::<Value>(&aims_operator::render::soa::json(&statement)).expect("JSON");
    let _ = aims_operator::render::soa::csv(&statement);
}
