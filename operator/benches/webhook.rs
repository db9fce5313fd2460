//! Webhook over HTTPS with keep-alive, against two allow-everything rustls servers in the
//! same run (a bare one answering fixed bytes, and one that reads the review and echoes its
//! uid as an API server requires): throughput ratios and p50/p99 latency with 10,000 AI
//! systems (30,000 objects) cached, and the process RSS at that cache size. With
//! `AIMS_BENCH_SPIN_US=N`, another server answers fixed bytes after N µs of busy work: what
//! a handler of that cost would read. The webhook is also loaded a second time as if it were
//! another server: that ratio shows how far chance alone moves the others in this run.
//! Run: `cargo bench -p aims-operator --bench webhook`. Results go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches fail loudly by design

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aims_operator::policy::Policy;
use aims_operator::webhook::server::{ServeOptions, start};
use aims_operator::webhook::tls::{CertFiles, server_config};
use aims_operator::webhook::{ClusterCache, Context};
use axum::routing::post;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use serde_json::json;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use common::{percentile, review_bodies, snapshot};

const CONNECTIONS: usize = 4;
/// Rounds are short and alternate (each set of rounds, one per server, starts with another
/// server): this VM's speed drifts over seconds, and finer alternation keeps the drift out of
/// the ratio. Connections stay open across rounds, so short rounds cost no handshakes; many
/// sets give the median ratio a confidence interval narrow enough to judge the target by.
const ROUND: Duration = Duration::from_millis(250);
const SETS: usize = 40;
const WARM_UP: Duration = Duration::from_secs(1);

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of this whole process (user and system, all threads) so far, from
/// `/proc/self/stat` (clock ticks of 10 ms).
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may contain spaces) start at state.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some(user + system)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

async fn connect(
    addr: SocketAddr,
    ca: CertificateDer<'static>,
) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let mut roots = RootCertStore::empty();
    roots.add(ca).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

struct Round {
    requests: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// CPU the whole process spent in the round: client, server and kernel on its behalf.
    cpu: Duration,
}

/// One server's keep-alive connections, opened once and kept across its rounds.
type Connections = Vec<hyper::client::conn::http1::SendRequest<Full<Bytes>>>;

async fn open_connections(addr: SocketAddr, ca: &CertificateDer<'static>) -> Connections {
    let mut connections = Vec::new();
    for _ in 0..CONNECTIONS {
        connections.push(connect(addr, ca.clone()).await);
    }
    connections
}

/// Loads a server over its open connections for `length`; each connection sends its next
/// review as soon as the previous answer is in.
async fn load(
    connections: &mut Connections,
    bodies: Arc<Vec<Bytes>>,
    length: Duration,
    check: bool,
) -> Round {
    let started = Instant::now();
    let cpu_at_start = process_cpu();
    let mut tasks = Vec::new();
    for (c, mut sender) in connections.drain(..).enumerate() {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            let until = Instant::now() + length;
            while Instant::now() < until {
                let request = hyper::Request::post("/validate")
                    .header("host", "localhost")
                    .header("content-type", "application/json")
                    .body(Full::new(bodies[i % bodies.len()].clone()))
                    .unwrap();
                let t = Instant::now();
                sender.ready().await.unwrap();
                let response = sender.send_request(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                latencies.push(t.elapsed());
                if check && i < 100 {
                    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    assert_eq!(answer["response"]["allowed"], true, "{answer}");
                    assert_eq!(
                        answer["response"]["auditAnnotations"]["decision"], "allowed",
                        "{answer}"
                    );
                }
                i += CONNECTIONS;
            }
            (sender, latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        let (sender, done) = t.await.unwrap();
        connections.push(sender);
        latencies.extend(done);
    }
    let elapsed = started.elapsed();
    Round {
        requests: latencies.len(),
        latencies,
        elapsed,
        cpu: process_cpu().saturating_sub(cpu_at_start),
    }
}

/// Answers every review with the same fixed bytes, after `work` of busy CPU (none for the
/// bare baseline). With `AIMS_BENCH_SPIN_US` set, a second copy that works that many µs per
/// review joins the run: it tells what a handler of that cost does to the ratio on this
/// machine, serving path and load generator included.
async fn fixed_answer_server(cert: &[u8], key: &[u8], work: Duration) -> SocketAddr {
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": "x", "allowed": true}})
    .to_string();
    let app = axum::Router::new().route(
        "/validate",
        post(move |_body: Bytes| {
            let body = body.clone();
            async move {
                if !work.is_zero() {
                    let until = Instant::now() + work;
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                }
                ([("content-type", "application/json")], body)
            }
        }),
    );
    serve_tls(app, cert, key)
}

/// The least a webhook that a real API server accepts must do: read the review (serde_json,
/// which checks all of it is JSON) and echo its `request.uid` in an allow. The fixed answer of
/// the bare [`fixed_answer_server`] would be refused by an API server (wrong uid).
async fn echo_server(cert: &[u8], key: &[u8]) -> SocketAddr {
    let app = axum::Router::new().route(
        "/validate",
        post(|body: Bytes| async move {
            match common::allow_review(&body, None) {
                Some(answer) => (
                    axum::http::StatusCode::OK,
                    [("content-type", "application/json")],
                    answer,
                ),
                None => (
                    axum::http::StatusCode::BAD_REQUEST,
                    [("content-type", "text/plain")],
                    "not an AdmissionReview".to_string(),
                ),
            }
        }),
    );
    serve_tls(app, cert, key)
}

fn serve_tls(app: axum::Router, cert: &[u8], key: &[u8]) -> SocketAddr {
    let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(
        server_config(cert, key).unwrap(),
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        axum_server::from_tcp_rustls(listener, config)
            .unwrap()
            .serve(app.into_make_service()),
    );
    addr
}

fn report(name: &str, rounds: &[Round]) -> f64 {
    let requests: usize = rounds.iter().map(|r| r.requests).sum();
    if requests == 0 {
        println!("{name:<28} not loaded");
        return f64::NAN;
    }
    let secs: f64 = rounds.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut all: Vec<Duration> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    all.sort();
    let rps = requests as f64 / secs;
    let cpu: Duration = rounds.iter().map(|r| r.cpu).sum();
    println!(
        "{name:<28} {rps:>9.0} req/s   p50 {:>9.1?}   p99 {:>9.1?}   CPU {:>5.1} µs/request   ({requests} requests)",
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        cpu.as_secs_f64() * 1e6 / requests as f64
    );
    rps
}

/// Prints the throughput ratio of server `name` to `baseline`, pooled over the run and per
/// set of rounds (the two were loaded in the same sets).
fn compare(
    name: &str,
    rps: f64,
    rounds: &[Round],
    baseline: &str,
    baseline_rps: f64,
    baseline_rounds: &[Round],
) {
    println!(
        "throughput ratio {name}/{baseline}: {:.2}",
        rps / baseline_rps
    );
    let per_second = |r: &Round| r.requests as f64 / r.elapsed.as_secs_f64();
    let mut set_ratios: Vec<f64> = rounds
        .iter()
        .zip(baseline_rounds)
        .map(|(r, b)| per_second(r) / per_second(b))
        .collect();
    set_ratios.sort_by(f64::total_cmp);
    if let (Some(low), Some(high)) = (set_ratios.first(), set_ratios.last()) {
        let n = set_ratios.len();
        let median = (set_ratios[(n - 1) / 2] + set_ratios[n / 2]) / 2.0;
        let interval = median_interval(&set_ratios)
            .map(|(lower, upper)| format!(" (95 % interval {lower:.2}..{upper:.2})"))
            .unwrap_or_default();
        println!(
            "  per set of rounds: median {median:.2}{interval}, {low:.2}..{high:.2} over {n} sets"
        );
    }
}

/// A distribution-free 95 % confidence interval for the median of `sorted`: the order
/// statistics that a Binomial(n, 1/2) count of values below the true median puts around it.
/// `None` when there are too few values for one (n < 6).
fn median_interval(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    // The first count `j` with P(count <= j) above 2.5 %: the interval is from the j-th
    // smallest value to the j-th largest.
    let (mut below, mut pmf) = (0.0, 0.5f64.powi(i32::try_from(n).ok()?));
    for j in 0..n {
        below += pmf;
        if below > 0.025 {
            return (j > 0).then(|| (sorted[j - 1], sorted[n - j]));
        }
        pmf *= (n - j) as f64 / (j + 1) as f64;
    }
    None
}

fn main() {
    common::runtime().block_on(async {
        let rss_start = rss_kib();
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let snap = snapshot(now);
        let objects = snap.len();
        let cache = Arc::new(ClusterCache::from_snapshot(snap));
        let rss_cache = rss_kib();

        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        let dir = std::env::temp_dir().join(format!("aims-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();

        let mut ctx = Context::new(cache, Policy::default(), "aims-system");
        ctx.clock = Box::new(move || now);
        let ctx = Arc::new(ctx);
        let server = start(
            ctx.clone(),
            &ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                health_listen: None,
                certs: CertFiles { cert: dir.join("tls.crt"), key: dir.join("tls.key") },
                cert_reload_interval: Duration::from_secs(3600),
            },
        )
        .await
        .unwrap();
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        let bare = fixed_answer_server(cert_pem.as_bytes(), key_pem.as_bytes(), Duration::ZERO).await;
        let echo = echo_server(cert_pem.as_bytes(), key_pem.as_bytes()).await;
        let spin = std::env::var("AIMS_BENCH_SPIN_US").ok().and_then(|us| us.parse().ok()).map(Duration::from_micros);
        let bodies: Arc<Vec<Bytes>> = Arc::new(review_bodies().into_iter().map(Bytes::from).collect());
        let ca = cert.der().clone();
        println!(
            "{objects} objects cached; RSS {} MiB at start, {} MiB with the cache, {CONNECTIONS} keep-alive connections per server, {} ms rounds in {SETS} alternating sets, reviews of {} bytes",
            rss_start / 1024,
            rss_cache / 1024,
            ROUND.as_millis(),
            bodies[0].len()
        );
        // `AIMS_BENCH_ONLY=webhook` (or `bare`, `echo`, `spin`) loads only one server, warm-up
        // included, so that a profiler attached to the run (`perf record`, `strace -c`) sees
        // one server's work per request.
        let only = std::env::var("AIMS_BENCH_ONLY").unwrap_or_default();
        let mut servers = vec![("bare", bare), ("echo", echo), ("webhook", server.addr)];
        let mut spin_at = None;
        if let Some(work) = spin {
            spin_at = Some((servers.len(), work));
            servers.push(("spin", fixed_answer_server(cert_pem.as_bytes(), key_pem.as_bytes(), work).await));
        }
        // The noise floor: the same webhook loaded again as if it were another server, over its
        // own connections, in its own rounds. Its ratio to the webhook would be 1.00 on a quiet
        // machine; how far it strays is how far this run's other ratios can stray by chance.
        servers.push(("webhook again", server.addr));
        let loaded = |name: &str| only.is_empty() || only == name;
        let mut connections = Vec::new();
        for &(name, addr) in &servers {
            connections.push(if loaded(name) { open_connections(addr, &ca).await } else { Vec::new() });
        }
        // Warm up, checking the webhook really admits (the whole rule path runs).
        for (at, &(name, _)) in servers.iter().enumerate() {
            if loaded(name) {
                load(&mut connections[at], bodies.clone(), WARM_UP, name == "webhook").await;
            }
        }
        println!("warmed up");
        // One list of rounds per server; each set of rounds starts with a different server.
        let mut rounds: Vec<Vec<Round>> = servers.iter().map(|_| Vec::new()).collect();
        for set in 0..SETS {
            for turn in 0..servers.len() {
                let at = (set + turn) % servers.len();
                if loaded(servers[at].0) {
                    rounds[at].push(load(&mut connections[at], bodies.clone(), ROUND, false).await);
                }
            }
        }
        let rss_after = rss_kib();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &ctx.registry).unwrap();
        // The workload webhook's series (the others are there too, at zero).
        let metric = |name: &str| -> f64 {
            text.lines()
                .find(|l| l.starts_with(name) && l.contains("webhook=\"workloads\""))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        let handler_mean = metric("aims_webhook_duration_seconds_sum") / metric("aims_webhook_duration_seconds_count");
        let (bare_rounds, echo_rounds, webhook_rounds) = (&rounds[0], &rounds[1], &rounds[2]);
        let bare_rps = report("bare rustls allow-all", bare_rounds);
        let echo_rps = report("allow-all echoing the uid", echo_rounds);
        let webhook_rps = report("aims-operator webhook", webhook_rounds);
        compare("webhook", webhook_rps, webhook_rounds, "bare", bare_rps, bare_rounds);
        compare("webhook", webhook_rps, webhook_rounds, "allow-all echoing the uid", echo_rps, echo_rounds);
        if let Some((at, work)) = spin_at {
            let name = format!("allow-all after {work:?} of work");
            let spin_rps = report(&name, &rounds[at]);
            compare(&name, spin_rps, &rounds[at], "bare", bare_rps, bare_rounds);
        }
        if let Some(again_rounds) = rounds.last().filter(|r| !r.is_empty()) {
            let again_rps = report("the same webhook again", again_rounds);
            compare("webhook again", again_rps, again_rounds, "webhook", webhook_rps, webhook_rounds);
        }
        println!("handler time (read review, decide, write answer), mean under load: {:.1} µs", handler_mean * 1e6);
        println!("RSS after load: {} MiB (bench process: cache, server, load generator)", rss_after / 1024);
        std::fs::remove_dir_all(&dir).ok();
    });
}
