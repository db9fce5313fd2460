//! Engine benchmark at 10,000 AI systems, assessments and bindings: latency of one admission
//! decision (p50/p99/max) and the time to build the Statement of Applicability.
//! Run: `cargo bench -p aims-operator --bench engine`. Results go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

mod common;

use std::hint::black_box;
use std::time::Instant;

use aims_operator::engine::evaluate_object;
use aims_operator::policy::Policy;
use common::{percentile, snapshot, systems, workload};
use jiff::Timestamp;

fn main() {
    let now: Timestamp = "2026-11-23T12:00:00Z".parse().expect("time");
    // Decisions remember system facts under this policy, as the webhook's do under its own.
    let policy = std::sync::Arc::new(Policy::default());
    let started = Instant::now();
    let mut snap = snapshot(now);
    snap.remember_facts_under(policy.clone());
    println!(
        "built snapshot of {} objects in {:?}",
        snap.len(),
        started.elapsed()
    );

    let workloads: Vec<_> = (0..systems()).map(workload).collect();
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
