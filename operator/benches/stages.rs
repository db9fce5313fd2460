//! Where a webhook decision's time goes, single-threaded with cold caches: reading the review,
//! reading the workload, the engine's decision, building and writing the answer, rotating
//! through the 10,000 systems of the register.
//! Run: `cargo bench -p aims-operator --bench stages`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches fail loudly by design
mod common;
use aims_operator::engine::{Workload, evaluate_workload};
use aims_operator::policy::Policy;
use aims_operator::webhook::review::{read_review, write_review};
use std::time::Instant;
fn main() {
    let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
    let bodies = common::review_bodies();
    // The handler as the server calls it (metrics, audit annotations, panic guard), measured
    // after the stages; its policy is the one the stages decide under, so that they share
    // the systems' remembered facts.
    let mut ctx = aims_operator::webhook::Context::new(
        std::sync::Arc::new(aims_operator::webhook::ClusterCache::from_snapshot(
            common::snapshot(now),
        )),
        Policy::default(),
        "aims-system",
    );
    ctx.clock = Box::new(move || now);
    let policy = ctx.policy.clone();
    let (mut tp, mut tw, mut te, mut ta, mut tr) = (
        std::time::Duration::ZERO,
        std::time::Duration::ZERO,
        std::time::Duration::ZERO,
        std::time::Duration::ZERO,
        std::time::Duration::ZERO,
    );
    let rounds = 3;
    // `AIMS_BENCH_ONLY=handler` runs the whole handler alone, once over the register: the run
    // to count instructions in (`valgrind --tool=callgrind --toggle-collect=*answer_raw`).
    // One pass of the stages first decides for every system, so that the handler finds the
    // systems' facts remembered, as a running server does.
    let handler_only = std::env::var("AIMS_BENCH_ONLY").is_ok_and(|v| v == "handler");
    for _ in 0..if handler_only { 1 } else { rounds } {
        for b in &bodies {
            let t = Instant::now();
            let req = read_review("application/json", b).unwrap();
            tp += t.elapsed();
            let t = Instant::now();
            let w = Workload::from_json(req.object_text().unwrap(), "x").unwrap();
            tw += t.elapsed();
            let t = Instant::now();
            let v = ctx
                .cache
                .read(|snap| evaluate_workload(snap, &w, &policy, now));
            te += t.elapsed();
            let t = Instant::now();
            let d = aims_operator::webhook::workloads::from_verdict(&req, v);
            ta += t.elapsed();
            let t = Instant::now();
            std::hint::black_box(write_review(&d.response));
            tr += t.elapsed();
        }
    }
    let t = std::time::Instant::now();
    let handler_rounds = if handler_only { 1 } else { rounds };
    for _ in 0..handler_rounds {
        for b in &bodies {
            std::hint::black_box(aims_operator::webhook::answer_raw(
                &ctx,
                "/validate",
                "application/json",
                b,
            ));
        }
    }
    let whole = t.elapsed();
    let n = (bodies.len() * handler_rounds) as u32;
    println!("whole handler (answer_raw): {:?}", whole / n);
    if handler_only {
        return;
    }
    let n = (bodies.len() * rounds) as u32;
    // Two handlers at once, as on the webhook's two cores: what sharing caches, memory and the
    // snapshot's lock costs each of them.
    let t = std::time::Instant::now();
    std::thread::scope(|scope| {
        for k in 0..2 {
            let (ctx, bodies) = (&ctx, &bodies);
            scope.spawn(move || {
                for _ in 0..rounds {
                    for b in bodies.iter().skip(k) {
                        std::hint::black_box(aims_operator::webhook::answer_raw(
                            ctx,
                            "/validate",
                            "application/json",
                            b,
                        ));
                    }
                }
            });
        }
    });
    println!(
        "two threads at once, per call per thread: {:?}",
        t.elapsed() / n
    );
    println!(
        "cold, rotating 10k: read {:?} workload {:?} evaluate {:?} answer {:?} write {:?}",
        tp / n,
        tw / n,
        te / n,
        ta / n,
        tr / n
    );
}
