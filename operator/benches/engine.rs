//! Engine benchmark at 10,000 AI systems, assessments and bindings: latency of one admission
//! decision (p50/p99/max) and the time to build the Statement of Applicability.
//! Run: `cargo bench -p aims-operator --bench engine`. Results go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aims_operator::engine::assessment::content_hash;
use aims_operator::engine::{Snapshot, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use jiff::Timestamp;
use serde_json::json;

const SYSTEMS: usize = 10_000;
const NAMESPACES: usize = 100;

fn snapshot(now: Timestamp) -> Snapshot {
    let mut s = Snapshot::new();
    for n in 0..NAMESPACES {
        s.add_namespace(
            &format!("ns{n}"),
            BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())]),
        );
    }
    for i in 0..SYSTEMS {
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
        s.add_system(system);
        let mut a: ImpactAssessment = serde_json::from_value(json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "ImpactAssessment",
            "metadata": { "name": format!("{name}-ia"), "namespace": ns },
            "spec": { "systemRef": name, "models": [{ "version": "1.0.x" }],
                "impacts": [{ "area": "Individuals", "direction": "Negative", "description": "x" }],
                "risks": [{ "id": "R1", "description": "x", "likelihood": 2, "severity": 2, "treatment": "Mitigate" }],
                "validityDays": 365 }
        }))
        .expect("assessment");
        a.spec.approval = Some(Approval {
            decision: Decision::Approved,
            comment: None,
            decided_by: Some("bob".into()),
            decided_at: Some(now),
            content_hash: Some(content_hash(&a.spec)),
        });
        s.add_assessment(a);
        let controls: Vec<_> = ["A.5.4", "A.6.2.4", "A.6.2.8", "A.8.2", "A.9.2", "A.3.2"]
            .iter()
            .map(|id| json!({ "id": id, "applicability": "Applicable", "implementation": { "description": "x", "status": "Implemented" } }))
            .collect();
        let b: ControlBinding = serde_json::from_value(json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "ControlBinding",
            "metadata": { "name": format!("{name}-controls"), "namespace": ns },
            "spec": { "systems": [name], "controls": controls }
        }))
        .expect("binding");
        s.add_binding(b);
    }
    s
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let now: Timestamp = "2026-11-23T12:00:00Z".parse().expect("time");
    let policy = Policy::default();
    let started = Instant::now();
    let snap = snapshot(now);
    println!(
        "built snapshot of {} objects in {:?}",
        snap.len(),
        started.elapsed()
    );

    let workloads: Vec<_> = (0..SYSTEMS)
        .map(|i| {
            json!({ "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": { "name": format!("w{i}"), "namespace": format!("ns{}", i % NAMESPACES), "labels": { SYSTEM_LABEL: format!("sys{i}") } },
                "spec": { "template": { "metadata": { "labels": { SYSTEM_LABEL: format!("sys{i}"), MODEL_VERSION_LABEL: "1.0.0" } },
                    "spec": { "containers": [{ "name": "c", "image": format!("reg/m{i}@sha256:{i:064x}") }] } } } })
        })
        .collect();
    // Warm up, and check the benchmark measures admitted decisions (the full rule path).
    for w in workloads.iter().take(1000) {
        let v = evaluate_object(&snap, w, "default", &policy, now).expect("workload");
        assert!(v.allowed && v.findings.is_empty(), "{}", v.message());
    }
    let mut samples = Vec::with_capacity(workloads.len() * 3);
    for _ in 0..3 {
        for w in &workloads {
            let t = Instant::now();
            black_box(
                evaluate_object(&snap, black_box(w), "default", &policy, now).expect("workload"),
            );
            samples.push(t.elapsed());
        }
    }
    samples.sort();
    println!(
        "admission decision over {} samples: p50 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );

    let t = Instant::now();
    let soa = aims_operator::soa::build(&snap, &policy, "bench", now);
    println!(
        "SoA for {} systems x {} controls built in {:?}",
        soa.register.len(),
        soa.controls.len(),
        t.elapsed()
    );
}
