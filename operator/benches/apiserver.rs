//! What a user waits for: the latency the real kube-apiserver adds when it calls the
//! webhook. 50 concurrent clients send server-side dry-run creates of a model Deployment to
//! four namespaces of the same control plane, in alternating rounds: one no webhook sees,
//! one behind a ValidatingAdmissionPolicy (the in-process floor of admission), one behind a
//! null webhook (the same TLS, HTTP/2 and socket settings as the operator's, reading only
//! the request's uid and admitting: the floor of any webhook), one the aims-operator webhook
//! judges (an admitted, compliant deployment: the full evaluation).
//! Target (docs/benchmarks.md): webhook p99 ≤ no-webhook p99 + 2 ms.
//!
//! Run: `cargo bench -p aims-operator --bench apiserver` (builds the control plane like the
//! e2e suite on first use). `AIMS_BENCH_CLIENTS` (default 50), `AIMS_BENCH_ROUNDS` (default
//! 6) and `AIMS_BENCH_REQUESTS` (per client per round, default 10) size it;
//! `AIMS_BENCH_MATCH_CONDITIONS=off` takes the operator's webhooks' matchConditions off, and
//! `AIMS_BENCH_NULL_AUDIT=on` has the null webhook answer with the operator's audit
//! annotations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches fail loudly by design
#![allow(dead_code)]

mod common;

/// The operator's allocator with its settings (.cargo/config.toml), as in the image: the
/// webhook runs in this process, and its CPU per review depends on how its memory is freed.
/// `_RJEM_MALLOC_CONF` overrides the settings at run time, as for the binary.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "../../tests/support/cluster.rs"]
mod cluster;
#[path = "../../tests/e2e/env.rs"]
mod env;
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::time::{Duration, Instant};

use aims_operator::resources::{API_VERSION, MODEL_VERSION_LABEL, SYSTEM_LABEL};
use cluster::{ControlPlane, User};
use common::percentile;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The Deployment each request creates: of the registered system where the webhook judges
/// it; without the system label elsewhere (a labelled one is sent to the webhook in any
/// namespace without a mode).
fn model(ns: &str, judged: bool) -> Deployment {
    let labels = if judged {
        json!({SYSTEM_LABEL: "scoring", MODEL_VERSION_LABEL: "1.0.0", "app": "scorer"})
    } else {
        json!({"app": "scorer"})
    };
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"generateName": "scorer-", "namespace": ns, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "scorer"}},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "server", "image": "registry.k8s.io/pause:3.10"}]}}}}))
    .unwrap()
}

/// A policy as cheap as admission gets: one CEL expression on the object.
fn admission_policy(ns: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "bench-floor"},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
                "validations": [{"expression": "has(object.metadata.labels) && 'app' in object.metadata.labels"}]}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "bench-floor"},
            "spec": {"policyName": "bench-floor", "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}}}),
    ]
}

/// One round: every client sends `requests` dry-run creates to `ns`; the latencies.
async fn round(
    clients: &[kube::Client],
    (ns, judged): (&str, bool),
    requests: usize,
) -> Vec<Duration> {
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            let object = model(ns, judged);
            tokio::spawn(async move {
                let params = PostParams {
                    dry_run: true,
                    ..PostParams::default()
                };
                let mut took = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let start = Instant::now();
                    api.create(&params, &object).await.expect("admitted");
                    took.push(start.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// Takes the matchConditions off the webhooks of `configuration`: with
/// `AIMS_BENCH_MATCH_CONDITIONS=off`, to tell what the API server spends on evaluating them
/// from what it spends calling the webhook.
fn without_match_conditions(plane: &ControlPlane, configuration: &str) {
    let json = plane
        .kubectl(
            User::Admin,
            &[
                "get",
                "validatingwebhookconfiguration",
                configuration,
                "-o",
                "json",
            ],
        )
        .ok();
    let mut object: Value = serde_json::from_str(&json).unwrap();
    for webhook in object["webhooks"].as_array_mut().unwrap() {
        webhook.as_object_mut().unwrap().remove("matchConditions");
    }
    plane
        .kubectl_with_input(
            User::Admin,
            &["replace", "-f", "-"],
            Some(&object.to_string()),
        )
        .ok();
}

/// CPU time used so far by the API server, etcd, the in-process operator's threads, the
/// null webhook's and the rest of this process (the clients), in that order.
fn cpu_times(plane: &ControlPlane) -> [Duration; 5] {
    let component = |name| plane.cpu_time(name).unwrap_or_default();
    let (mut operator, mut null_webhook) = (Duration::ZERO, Duration::ZERO);
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let used = || cluster::proc_cpu_time(path.join("stat")).unwrap_or_default();
        match name.trim_end() {
            env::OPERATOR_THREADS => operator += used(),
            NULL_WEBHOOK_THREADS => null_webhook += used(),
            _ => {}
        }
    }
    let process = cluster::proc_cpu_time("/proc/self/stat").unwrap_or_default();
    [
        component("kube-apiserver"),
        component("etcd"),
        operator,
        null_webhook,
        process.saturating_sub(operator + null_webhook),
    ]
}

/// What the API server itself measured of its calls to `webhook`
/// (`apiserver_admission_webhook_admission_duration_seconds`): calls, mean, and the share
/// answered within each bucket bound.
fn server_side(metrics: &str, webhook: &str) -> (f64, f64, Vec<(String, f64)>) {
    let name = "apiserver_admission_webhook_admission_duration_seconds";
    let ours =
        |line: &&str| line.starts_with(name) && line.contains(&format!("name=\"{webhook}\""));
    let value = |line: &str| {
        line.rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (mut count, mut sum) = (0.0, 0.0);
    let mut buckets: Vec<(String, f64)> = Vec::new();
    for line in metrics.lines().filter(ours) {
        if line.starts_with(&format!("{name}_count")) {
            count += value(line);
        } else if line.starts_with(&format!("{name}_sum")) {
            sum += value(line);
        } else if let Some(le) = line.split("le=\"").nth(1).and_then(|r| r.split('"').next()) {
            match buckets.iter_mut().find(|(bound, _)| bound == le) {
                Some((_, n)) => *n += value(line),
                None => buckets.push((le.to_string(), value(line))),
            }
        }
    }
    let shares = buckets
        .into_iter()
        .map(|(bound, n)| (bound, if count > 0.0 { n / count } else { 0.0 }))
        .collect();
    (count, if count > 0.0 { sum / count } else { 0.0 }, shares)
}

/// Names the null webhook's threads, so that their CPU time is told from the clients'.
const NULL_WEBHOOK_THREADS: &str = "null-webhook";

/// With `AIMS_BENCH_NULL_AUDIT=on` the null webhook's answers carry the five audit
/// annotations aims-operator's carry for an admitted workload: what recording them in the
/// API server's audit events costs, told apart from the rest.
static NULL_WEBHOOK_AUDITS: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var("AIMS_BENCH_NULL_AUDIT").as_deref() == Ok("on"));

/// The least any webhook does: read the request's uid and admit it.
async fn admit_anything(body: axum::body::Bytes) -> axum::response::Response {
    let audit = NULL_WEBHOOK_AUDITS.then(|| {
        json!({"assessment": "scoring-ia", "decision": "allowed", "mode": "enforce",
            "model": "scorer 1.0.0", "system": "scoring"})
    });
    let answer = common::allow_review(&body, audit.as_ref()).expect("an AdmissionReview");
    axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer,
    ))
}

/// Serves the null webhook on its own runtime (two threads, as the operator's) and registers
/// it for Deployments in namespace `ns`.
fn start_null_webhook(plane: &ControlPlane, ns: &str) {
    let certs =
        aims_operator::dev::local_certificates(&plane.dir.join("null-webhook"), "127.0.0.1")
            .unwrap();
    let tls =
        aims_operator::webhook::tls::server_config(certs.cert.as_bytes(), certs.key.as_bytes())
            .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::Builder::new()
        .name(NULL_WEBHOOK_THREADS.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(NULL_WEBHOOK_THREADS)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app =
                    axum::Router::new().route("/validate", axum::routing::post(admit_anything));
                let tls =
                    axum_server::tls_rustls::RustlsConfig::from_config(std::sync::Arc::new(tls));
                axum_server::from_tcp_rustls(listener, tls)
                    .unwrap()
                    .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
                    .serve(app.into_make_service())
                    .await
                    .unwrap();
            });
        })
        .unwrap();
    let ca_bundle = aims_operator::webhook::review::base64(certs.ca_bundle.as_bytes());
    env::admin_apply(
        plane,
        &[json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "bench-null"},
        "webhooks": [{"name": "null.bench.aims.io", "admissionReviewVersions": ["v1"],
            "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 10,
            "clientConfig": {"url": format!("https://127.0.0.1:{port}/validate"), "caBundle": ca_bundle},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                "resources": ["deployments"]}]}]})],
    );
}

fn main() {
    common::runtime().block_on(async {
        let clients_count = count("AIMS_BENCH_CLIENTS", 50);
        let rounds = count("AIMS_BENCH_ROUNDS", 6);
        let requests = count("AIMS_BENCH_REQUESTS", 10);
        // The operator measured formats no log lines.
        env::operator_log::off();
        let mut journey = env::Journey::start("bench-webhook", "enforce").await;
        let plane: &ControlPlane = journey.plane;
        env::create_namespace(plane, "bench-none", "");
        plane.kubectl(User::Admin, &["label", "namespace", "bench-none", "aims.io/enforcement-"]).ok();
        env::create_namespace(plane, "bench-vap", "");
        plane.kubectl(User::Admin, &["label", "namespace", "bench-vap", "aims.io/enforcement-"]).ok();
        env::admin_apply(plane, &admission_policy("bench-vap"));
        env::create_namespace(plane, "bench-null", "");
        plane.kubectl(User::Admin, &["label", "namespace", "bench-null", "aims.io/enforcement-"]).ok();
        start_null_webhook(plane, "bench-null");
        let ns = journey.ns.clone();
        env::admin_apply(plane, &[json!({"apiVersion": API_VERSION, "kind": "AISystem",
            "metadata": {"name": "scoring", "namespace": ns},
            "spec": {"displayName": "Scoring", "riskTier": "Minimal", "lifecycleStage": "Operation",
                "owner": {"name": "Dana", "contact": "dana@example.com", "team": "risk"},
                "models": [{"name": "scorer", "version": "1.0.0"}],
                "monitoring": {"metrics": ["auc"], "alertRoute": "risk-oncall"}}})]);
        plane.kubectl_with_input(User::Alice, &["apply", "-f", "-"], Some(&json!({"apiVersion": API_VERSION,
            "kind": "ImpactAssessment", "metadata": {"name": "scoring-ia", "namespace": ns},
            "spec": {"systemRef": "scoring", "models": [{"name": "scorer", "version": "1.0.x"}],
                "impacts": [{"area": "Individuals", "direction": "Negative", "description": "x"}],
                "risks": [{"id": "R1", "description": "x", "likelihood": 1, "severity": 1, "treatment": "Mitigate"}]}}).to_string())).ok();
        plane.kubectl(User::Bob, &["aims", "approve", "scoring-ia", "-n", &ns]).ok();
        tokio::time::sleep(Duration::from_secs(2)).await;

        if std::env::var("AIMS_BENCH_MATCH_CONDITIONS").as_deref() == Ok("off") {
            without_match_conditions(plane, &format!("aims-e2e-{ns}"));
        }
        let mut clients = Vec::new();
        for _ in 0..clients_count {
            clients.push(plane.client(User::Admin).await);
        }
        let modes = [
            ("no webhook", ("bench-none", false)),
            ("ValidatingAdmissionPolicy", ("bench-vap", false)),
            ("null webhook", ("bench-null", false)),
            ("aims-operator webhook", (ns.as_str(), true)),
        ];
        // Warm-up, then rounds in a rotating order so that drift hits every mode alike.
        for (_, target) in modes {
            round(&clients, target, 2).await;
        }
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
        let mut cpu = vec![[Duration::ZERO; 5]; modes.len()];
        for r in 0..rounds {
            for i in 0..modes.len() {
                let mode = (i + r) % modes.len();
                let before = cpu_times(plane);
                samples[mode].extend(round(&clients, modes[mode].1, requests).await);
                let after = cpu_times(plane);
                for (used, (a, b)) in cpu[mode].iter_mut().zip(after.iter().zip(before)) {
                    *used += a.saturating_sub(b);
                }
            }
        }
        println!(
            "kube-apiserver {} on {} cores: {clients_count} clients, {rounds} rounds x {requests} dry-run creates each",
            plane.version,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        let mut p99s = Vec::new();
        for ((name, _), mut took) in modes.iter().zip(samples) {
            took.sort();
            let (p50, p99) = (percentile(&took, 0.50), percentile(&took, 0.99));
            p99s.push(p99);
            println!(
                "  {name:<27} n={:>5}  p50 {:>6.2} ms  p99 {:>6.2} ms",
                took.len(),
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
        // Where the machine's two cores went: per request, what each process spent. Where
        // the cores are saturated, a mode's added latency follows its added CPU time.
        println!("  CPU per request (ms): API server / etcd / operator / null webhook / clients");
        for ((name, _), used) in modes.iter().zip(&cpu) {
            let per = |d: Duration| d.as_secs_f64() * 1e3 / (clients_count * rounds * requests) as f64;
            println!(
                "  {name:<27} {:.3} / {:.3} / {:.3} / {:.3} / {:.3}",
                per(used[0]),
                per(used[1]),
                per(used[2]),
                per(used[3]),
                per(used[4])
            );
        }
        let over_none = |i: usize| (p99s[i].as_secs_f64() - p99s[0].as_secs_f64()) * 1e3;
        println!(
            "  p99 over no webhook: null webhook {:+.2} ms, aims-operator webhook {:+.2} ms (target ≤ +2 ms)",
            over_none(2),
            over_none(3)
        );
        let metrics = plane.curl(User::Admin, "/metrics").unwrap();
        for webhook in ["null.bench.aims.io", "enforce.workloads.aims.io"] {
            let (calls, mean, shares) = server_side(&metrics, webhook);
            let shares: Vec<String> = shares
                .iter()
                .filter(|(bound, _)| bound != "+Inf")
                .map(|(bound, share)| format!("≤{bound}s {:.1} %", share * 100.0))
                .collect();
            println!(
                "  the API server's own timing of its calls to {webhook}: {calls} calls, mean {:.2} ms; {}",
                mean * 1e3,
                shares.join(", ")
            );
        }
        journey.operator.stop().await;
        journey.operator.unregister(&journey.admin).await;
    });
}
