//! Convergence at scale on the real control plane: 10,000 AI systems, each with an
//! assessment and a ControlBinding, stored in the loopback kube-apiserver across 100
//! namespaces with the labels and annotations Argo CD and the webhook give them
//! (`AIMS_BENCH_METADATA=bare` leaves those out). The release `aims-operator run` binary
//! starts against them twice: first with no status written anywhere (every object needs a
//! write), then again after SIGTERM (every status is current: nothing should be written).
//! Both times: seconds until every object has been reconciled, the reconciles stopped (its
//! own `aims_reconciles_total`) and every stored status is current (read from the API
//! server), the writes that took, the statuses not yet current when the reconciles first
//! stood still, and the process's resident memory (VmHWM, the peak, from /proc). Targets
//! (docs/benchmarks.md): converged ≤ 60 s after a restart, RSS ≤ 64 MiB.
//!
//! Run: `cargo bench -p aims-operator --bench converge` (builds the control plane like the
//! e2e suite on first use). `AIMS_BENCH_SYSTEMS` (default 10000) sizes it; `AIMS_BENCH_LOG`
//! (default `warn`) is the operator's `RUST_LOG`, its log on the bench's stderr;
//! `AIMS_BENCH_OPERATOR` the binary measured (default: the release build), e.g. the image's
//! `target/dist/aims-operator` after `cargo build --profile dist`. Several binaries separated
//! by `:` are compared in one sitting on the same objects: the first starts first, then each
//! restarts in turn (memory differs by a few MiB between sittings of this machine, which is
//! as much as a change often gives).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches fail loudly by design
#![allow(dead_code)]

mod common;

#[path = "../../tests/support/cluster.rs"]
mod cluster;
#[path = "../../tests/support/https.rs"]
mod https;
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aims_operator::resources::API_VERSION;
use cluster::{ControlPlane, User};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};

const NAMESPACES: usize = 100;
const KINDS: [(&str, &str); 3] = [
    ("AISystem", "aisystems"),
    ("ImpactAssessment", "impactassessments"),
    ("ControlBinding", "controlbindings"),
];

/// System `i`'s three objects in namespace `ns`, each with the metadata a cluster run
/// through Argo CD gives it (see [`common::as_synced`]).
fn objects(ns: &str, i: usize) -> [Value; 3] {
    let name = format!("system-{i:05}");
    let meta = |suffix: &str| json!({"name": format!("{name}{suffix}"), "namespace": ns});
    [
        json!({"apiVersion": API_VERSION, "kind": "AISystem", "metadata": meta(""),
            "spec": {"displayName": name, "riskTier": "Limited", "lifecycleStage": "Operation",
                "owner": {"name": "Dana", "contact": "dana@example.com", "team": "risk"},
                "models": [{"name": "scorer", "version": "1.0.0"}],
                "monitoring": {"metrics": ["auc"], "driftSignals": ["psi"], "alertRoute": "oncall", "eventLog": "loki"}}}),
        json!({"apiVersion": API_VERSION, "kind": "ImpactAssessment", "metadata": meta("-ia"),
            "spec": {"systemRef": name, "models": [{"name": "scorer", "version": "1.0.x"}],
                "impacts": [{"area": "Individuals", "direction": "Negative", "description": "unfair refusals"}],
                "risks": [{"id": "R1", "description": "bias", "likelihood": 2, "severity": 3, "treatment": "Mitigate"}]}}),
        json!({"apiVersion": API_VERSION, "kind": "ControlBinding", "metadata": meta("-controls"),
            "spec": {"systems": [name], "controls": [
                {"id": "A.8.2", "applicability": "Applicable",
                 "implementation": {"description": "Drift alerts to on-call.", "status": "Implemented"}}]}}),
    ]
    .map(|object| {
        if std::env::var("AIMS_BENCH_METADATA").is_ok_and(|m| m == "bare") {
            object
        } else {
            common::as_synced(object)
        }
    })
}

/// Creates every object, 32 requests in flight; prints progress.
async fn populate(client: &kube::Client, systems: usize) {
    let started = Instant::now();
    let requests = (0..systems).flat_map(|i| {
        let ns = format!("scale-{:03}", i % NAMESPACES);
        objects(&ns, i).into_iter().map(move |o| (ns.clone(), o))
    });
    let mut done = 0usize;
    let mut creates = futures::stream::iter(requests)
        .map(|(ns, object)| {
            let client = client.clone();
            async move {
                let kind = object["kind"].as_str().unwrap().to_string();
                let plural = KINDS.iter().find(|(k, _)| *k == kind).unwrap().1;
                let resource = ApiResource {
                    group: "aims.io".into(),
                    version: "v1alpha1".into(),
                    api_version: API_VERSION.into(),
                    kind: kind.clone(),
                    plural: plural.into(),
                };
                let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &resource);
                let object: DynamicObject = serde_json::from_value(object).unwrap();
                match api.create(&PostParams::default(), &object).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(status)) if status.code == 409 => {} // an earlier run's
                    Err(e) => panic!("cannot create {kind}: {e}"),
                }
            }
        })
        .buffer_unordered(32);
    while creates.next().await.is_some() {
        done += 1;
        if done.is_multiple_of(3000) {
            eprintln!(
                "[bench] {done} of {} objects stored ({:.0}/s)",
                systems * 3,
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

/// `aims_reconciles_total` by (kind, result).
fn reconciles(metrics: &str) -> BTreeMap<(String, String), f64> {
    let label = |line: &str, name: &str| {
        line.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    metrics
        .lines()
        .filter(|l| l.starts_with("aims_reconciles_total{"))
        .map(|l| {
            let value = l
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            ((label(l, "kind"), label(l, "result")), value)
        })
        .collect()
}

/// kB of a `/proc/<pid>/status` field.
fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Run {
    converged: Duration,
    /// Status writes per kind, in the order of KINDS.
    writes: [f64; 3],
    errors: f64,
    /// CPU time the operator spent until converged (user and system): what the build's
    /// optimisation level costs or saves in reading, hashing and judging 30,000 objects.
    cpu: Duration,
    peak_kib: u64,
    /// Resident memory QUIET after convergence: anonymous (heap, stacks) and file-backed
    /// (the binary's code and libraries), to tell what the data costs from what code does.
    settled_kib: (u64, u64),
    /// Objects without a current status when the reconciles first stood still: more than 0
    /// only where the operator stalled (or lost a write) before it had converged.
    stale_when_still: usize,
}

/// Starts the operator, waits until every object of every kind has been reconciled, and
/// stops it again (SIGTERM).
async fn converge(
    plane: &ControlPlane,
    operator: &std::path::Path,
    systems: usize,
    dir: &std::path::Path,
) -> Run {
    let health = https::free_port();
    let started = Instant::now();
    let child = tokio::process::Command::new(operator)
        .args(["run", "--namespace=aims-system", "--pod-name=bench-0"])
        .arg(format!("--listen=127.0.0.1:{}", https::free_port()))
        .arg(format!("--health-listen=127.0.0.1:{health}"))
        .arg(format!("--tls-cert={}", dir.join("tls.crt").display()))
        .arg(format!("--tls-key={}", dir.join("tls.key").display()))
        .env("KUBECONFIG", plane.kubeconfig(User::Admin))
        .env(
            "RUST_LOG",
            std::env::var("AIMS_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    // Reconciles are counted per request, and an object may be reconciled more than once
    // (its own watch, then each cache feed that lists): converged is when the counts last
    // moved, once every kind has at least one reconcile per object, QUIET passed and every
    // stored status is current.
    let mut last = (0.0, started.elapsed());
    let mut first_still_stale = None;
    // When the statuses were last read back: listing 30,000 objects takes CPU from an
    // operator still catching up, so at most once per QUIET.
    let mut read_back_at: Option<Duration> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some((200, metrics)) = https::http_get(health, "/metrics").await else {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the operator never served its metrics"
            );
            continue;
        };
        let counts = reconciles(&metrics);
        let by = |kind: &str, result: &str| {
            counts
                .get(&(kind.to_string(), result.to_string()))
                .copied()
                .unwrap_or(0.0)
        };
        let total: f64 = counts.values().sum();
        if total != last.0 {
            last = (total, started.elapsed());
        }
        let all_seen = KINDS
            .iter()
            .all(|(kind, _)| by(kind, "written") + by(kind, "unchanged") >= systems as f64);
        let read_back_due = read_back_at.is_none_or(|at| started.elapsed() - at >= QUIET);
        if all_seen && started.elapsed() - last.1 >= QUIET && read_back_due {
            // Still is not converged: an operator stalled for QUIET (a slow sitting, a
            // profiler) looks the same. Converged is still with every stored status current.
            let stale = stale_statuses(plane).await;
            read_back_at = Some(started.elapsed());
            let stale_when_still = *first_still_stale.get_or_insert(stale);
            if stale > 0 {
                assert!(
                    started.elapsed() < Duration::from_secs(1200),
                    "{stale} statuses still not current after 20 minutes: {counts:?}"
                );
                continue;
            }
            let run = Run {
                converged: last.1,
                writes: KINDS.map(|(k, _)| by(k, "written")),
                errors: KINDS.iter().map(|(k, _)| by(k, "error")).sum(),
                cpu: cluster::proc_cpu_time(format!("/proc/{pid}/stat")).unwrap_or_default(),
                peak_kib: memory_kib(pid, "VmHWM:"),
                settled_kib: (memory_kib(pid, "RssAnon:"), memory_kib(pid, "RssFile:")),
                stale_when_still,
            };
            https::terminate(child).await;
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1200),
            "not converged in 20 minutes: {counts:?}"
        );
    }
}

/// The operator binaries measured: `AIMS_BENCH_OPERATOR` when set (e.g. the image's `dist`
/// build, whose code pages are part of the resident memory; several separated by `:`), else
/// this bench's release build.
fn operator_binaries() -> Vec<std::path::PathBuf> {
    match std::env::var_os("AIMS_BENCH_OPERATOR") {
        Some(list) => std::env::split_paths(&list).collect(),
        None => vec![env!("CARGO_BIN_EXE_aims-operator").into()],
    }
}

/// How long the reconcile counts must stay still before the operator counts as converged.
const QUIET: Duration = Duration::from_secs(10);

/// Objects, of every kind, whose stored status does not describe their current generation.
async fn stale_statuses(plane: &ControlPlane) -> usize {
    let client = plane.client(User::Admin).await;
    let mut stale = 0;
    for (kind, plural) in KINDS {
        let resource = ApiResource {
            group: "aims.io".into(),
            version: "v1alpha1".into(),
            api_version: API_VERSION.into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let list = api.list(&Default::default()).await.unwrap();
        stale += list
            .items
            .iter()
            .filter(|o| o.data["status"]["observedGeneration"].as_i64() != o.metadata.generation)
            .count();
    }
    stale
}

fn main() {
    common::runtime().block_on(async {
        let systems: usize = std::env::var("AIMS_BENCH_SYSTEMS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let plane = ControlPlane::shared();
        let crds = plane.kubectl(User::Admin, &["apply", "--server-side", "-k", "crds/"]);
        assert!(crds.success, "CRDs: {}", crds.stderr);
        plane
            .kubectl(
                User::Admin,
                &["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"],
            )
            .ok();
        let mut namespaces = vec!["aims-system".to_string()];
        namespaces.extend((0..NAMESPACES).map(|n| format!("scale-{n:03}")));
        for ns in &namespaces {
            plane.kubectl(User::Admin, &["create", "namespace", ns]);
        }
        let dir = plane.dir.join("bench-certs");
        aims_operator::dev::local_certificates(&dir, "127.0.0.1").unwrap();
        let client = plane.client(User::Admin).await;
        populate(&client, systems).await;

        let operators = operator_binaries();
        let mut runs = vec![(
            "first (no status yet)",
            &operators[0],
            converge(plane, &operators[0], systems, &dir).await,
        )];
        for operator in &operators {
            runs.push((
                "restart",
                operator,
                converge(plane, operator, systems, &dir).await,
            ));
        }

        println!(
            "kube-apiserver {} on {} cores: {systems} AI systems, {systems} assessments, {systems} bindings in {NAMESPACES} namespaces",
            plane.version,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        );
        println!("| operator | start | converged | status writes (systems / assessments / bindings) | errors | stale when first still | operator CPU | peak RSS | RSS then: anonymous / file |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for (name, operator, run) in &runs {
            println!(
                "| {} | {name} | {:.1} s | {:.0} / {:.0} / {:.0} | {:.0} | {} | {:.1} s | {:.1} MiB | {:.1} / {:.1} MiB |",
                operator.display(),
                run.converged.as_secs_f64(),
                run.writes[0],
                run.writes[1],
                run.writes[2],
                run.errors,
                run.stale_when_still,
                run.cpu.as_secs_f64(),
                run.peak_kib as f64 / 1024.0,
                run.settled_kib.0 as f64 / 1024.0,
                run.settled_kib.1 as f64 / 1024.0
            );
        }
    });
}
