//! The admission webhook: HTTPS in, the engine's decision out. Three paths, one engine:
//! `/validate` judges model deployments, `/mutate` records who wrote and who approved AIMS
//! resources, `/validate-aims` checks those records survived every mutation. `/healthz`,
//! `/readyz` and `/metrics` sit beside them.

pub mod aims;
pub mod events;
mod health;
pub mod metrics;
pub mod review;
pub mod server;
pub mod tls;
pub mod workloads;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::{HeaderValue, StatusCode, header, request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::Timestamp;
use prometheus_client::registry::Registry;

pub use crate::cache::ClusterCache;
use crate::policy::Policy;
pub use health::health_router;
pub use metrics::WebhookMetrics;
pub use review::{Answer, ReviewRequest};

/// One use of break-glass that admitted a non-compliant workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassUse {
    /// Workload kind.
    pub kind: String,
    /// Workload namespace.
    pub namespace: String,
    /// Workload name.
    pub name: String,
    /// Who invoked it.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When the window ends.
    pub expires: Timestamp,
    /// The rules it bypassed.
    pub rules: String,
}

/// Where break-glass uses are reported (Kubernetes Events in the cluster).
pub trait EventSink: Send + Sync {
    /// Records one use; must not block the review.
    fn break_glass(&self, used: BreakGlassUse);
}

/// An event sink that only logs.
pub struct LogEvents;

impl EventSink for LogEvents {
    fn break_glass(&self, used: BreakGlassUse) {
        tracing::warn!(
            kind = %used.kind, ns = %used.namespace, name = %used.name, by = %used.by,
            reason = %used.reason, expires = %used.expires, rules = %used.rules,
            "break-glass admitted a non-compliant workload"
        );
    }
}

/// Everything a review needs; shared by every request.
pub struct Context {
    /// The cluster snapshot.
    pub cache: Arc<ClusterCache>,
    /// Policy, with the operator's own namespace among the exempt ones. Shared with the
    /// reconciler and the snapshot, which remembers system facts under this very copy.
    pub policy: Arc<Policy>,
    /// Namespace aims-operator runs in (named in messages).
    pub operator_namespace: String,
    /// Users allowed to write the status of AIMS resources (the operator's service account).
    pub status_writers: Vec<String>,
    /// The clock; tests pin it.
    pub clock: Box<dyn Fn() -> Timestamp + Send + Sync>,
    /// Break-glass reporting.
    pub events: Arc<dyn EventSink>,
    /// Metrics handles.
    pub metrics: WebhookMetrics,
    /// AIMS objective and reconciler metrics (refreshed at each scrape).
    pub cluster_metrics: crate::metrics::ClusterMetrics,
    /// The registry the metrics live in, for `/metrics`.
    pub registry: Registry,
    /// Set when shutdown begins: readiness fails so no new reviews are routed here.
    pub shutting_down: AtomicBool,
    /// Set while the serving certificate is not there yet (self-managed certificates before
    /// their first sync): not ready.
    pub certificate_pending: AtomicBool,
    /// The review paths, each with its judge and metric handles.
    endpoints: Vec<Endpoint>,
}

/// One review path: the webhook's name (in metrics), its judge and its metric handles.
struct Endpoint {
    path: &'static str,
    webhook: &'static str,
    judge: Judge,
    metrics: metrics::EndpointMetrics,
}

impl Context {
    /// A context with the given cache and policy, the system clock, log-only events and a
    /// fresh metrics registry. The operator's namespace is added to the exempt namespaces.
    pub fn new(cache: Arc<ClusterCache>, policy: Policy, operator_namespace: &str) -> Self {
        let policy = Arc::new(policy.exempting(operator_namespace));
        cache.write(|s| s.remember_facts_under(policy.clone()));
        let mut registry = Registry::default();
        let metrics = WebhookMetrics::register(&mut registry);
        let cluster_metrics = crate::metrics::ClusterMetrics::register(&mut registry);
        let endpoints = ENDPOINTS
            .iter()
            .map(|&(path, webhook, judge)| Endpoint {
                path,
                webhook,
                judge,
                metrics: metrics.endpoint(webhook),
            })
            .collect();
        Self {
            cache,
            policy,
            operator_namespace: operator_namespace.to_string(),
            status_writers: vec![format!(
                "system:serviceaccount:{operator_namespace}:aims-operator"
            )],
            clock: Box::new(Timestamp::now),
            events: Arc::new(LogEvents),
            metrics,
            cluster_metrics,
            registry,
            shutting_down: AtomicBool::new(false),
            certificate_pending: AtomicBool::new(false),
            endpoints,
        }
    }

    /// Whether reviews should be routed here.
    pub fn is_ready(&self) -> bool {
        self.cache.is_synced()
            && !self.shutting_down.load(Ordering::Acquire)
            && !self.certificate_pending.load(Ordering::Acquire)
    }
}

/// A decision and what it means beyond the response.
pub struct Decision<'a> {
    /// The answer.
    pub response: Answer<'a>,
    /// Result label for metrics.
    pub result: &'static str,
    /// Failing rule IDs.
    pub rules: Vec<&'static str>,
    /// A break-glass use to report (unless the request is a dry run).
    pub break_glass: Option<BreakGlassUse>,
}

impl<'a> Decision<'a> {
    /// A decision without rules or break-glass.
    pub fn new(response: Answer<'a>, result: &'static str) -> Self {
        Self {
            response,
            result,
            rules: Vec::new(),
            break_glass: None,
        }
    }
}

type Judge = for<'a> fn(&Context, &'a ReviewRequest<'_>, Timestamp) -> Decision<'a>;

/// Runs a judge; a panic (a bug) becomes a refusal that says so, never a dropped connection
/// the API server might read under `failurePolicy: Ignore` as an allow.
fn judge_safely<'a>(ctx: &Context, judge: Judge, request: &'a ReviewRequest<'_>) -> Decision<'a> {
    let now = (ctx.clock)();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| judge(ctx, request, now))) {
        Ok(decision) => decision,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(uid = %request.uid, %what, "judging the review panicked");
            Decision::new(
                review::refuse(
                    request,
                    format!(
                        "aims-operator failed while judging {} and, in doubt, refuses it ({what}). \
                         This is a bug: please report it with the object.",
                        workloads::subject(request)
                    ),
                ),
                "error",
            )
        }
    }
}

/// The request's Content-Type header, taken without copying the others (axum's `HeaderMap`
/// extractor copies them all, for every review).
struct ContentType(Option<HeaderValue>);

impl<S: Sync> FromRequestParts<S> for ContentType {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::CONTENT_TYPE).cloned()))
    }
}

fn answer(ctx: &Context, endpoint: &Endpoint, content_type: &ContentType, body: &[u8]) -> Response {
    let content_type = content_type
        .0
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (code, content_type, body) = answer_parts(ctx, endpoint, content_type, body);
    (code, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The review paths: each with the webhook's name (in metrics) and its judge.
const ENDPOINTS: [(&str, &str, Judge); 3] = [
    ("/validate", "workloads", workloads::review_workload),
    ("/mutate", "aims-mutate", aims::mutate),
    ("/validate-aims", "aims-validate", aims::validate),
];

/// The answer to one raw request body at `path` (`/validate`, `/mutate`, `/validate-aims`),
/// exactly as the HTTP handlers produce it: status code, content type and body. The fuzz
/// targets drive the webhook through this.
pub fn answer_raw(
    ctx: &Context,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Option<(u16, &'static str, String)> {
    let endpoint = ctx.endpoints.iter().find(|e| e.path == path)?;
    let (code, content_type, body) = answer_parts(ctx, endpoint, content_type, body);
    Some((code.as_u16(), content_type, body))
}

fn answer_parts(
    ctx: &Context,
    endpoint: &Endpoint,
    content_type: &str,
    body: &[u8],
) -> (StatusCode, &'static str, String) {
    let started = Instant::now();
    let webhook = endpoint.webhook;
    let request = match review::read_review(content_type, body) {
        Ok(request) => request,
        Err(bad) => {
            endpoint.metrics.decided("invalid");
            let (code, body) = bad.into_parts();
            tracing::info!(webhook, code = code.as_u16(), "unreadable review");
            let content_type = if code == StatusCode::OK {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            return (code, content_type, body);
        }
    };
    // Everything logged while judging carries the review it belongs to.
    let _review = tracing::info_span!(
        "review", webhook, uid = %request.uid, kind = %request.kind.kind,
        ns = request.namespace.as_deref().unwrap_or(""), name = %request.name,
        user = request.username()
    )
    .entered();
    let decision = judge_safely(ctx, endpoint.judge, &request);
    endpoint.metrics.decided(decision.result);
    if decision.result == "denied" {
        // A refusal is what someone at kubectl asks the platform team about.
        tracing::info!(
            rules = %decision.rules.join(","),
            dry_run = request.is_dry_run(),
            "review refused"
        );
    }
    for rule in &decision.rules {
        ctx.metrics
            .findings
            .get_or_create(&metrics::RuleLabels {
                rule,
                result: decision.result,
            })
            .inc();
    }
    if let Some(used) = decision.break_glass
        && !request.is_dry_run()
    {
        ctx.events.break_glass(used);
    }
    tracing::debug!(
        result = decision.result,
        dry_run = request.is_dry_run(),
        "review answered"
    );
    let body = review::write_review(&decision.response);
    endpoint.metrics.took(started.elapsed().as_secs_f64());
    (StatusCode::OK, "application/json", body)
}

/// Every route of the webhook.
pub fn router(ctx: Arc<Context>) -> Router {
    let mut reviews = Router::new();
    for (at, endpoint) in ctx.endpoints.iter().enumerate() {
        reviews =
            reviews.route(
                endpoint.path,
                post(
                    move |State(ctx): State<Arc<Context>>,
                          content_type: ContentType,
                          body: Bytes| async move {
                        answer(&ctx, &ctx.endpoints[at], &content_type, &body)
                    },
                ),
            );
    }
    reviews
        .layer(DefaultBodyLimit::max(review::MAX_BODY_BYTES))
        .with_state(ctx.clone())
        .merge(health_router(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exploding<'a>(_: &Context, _: &'a ReviewRequest<'_>, _: Timestamp) -> Decision<'a> {
        panic!("index out of bounds")
    }

    #[test]
    fn a_panicking_judge_refuses_and_says_why() {
        let ctx = Context::new(
            Arc::new(ClusterCache::from_snapshot(Default::default())),
            Policy::default(),
            "aims-system",
        );
        let text = serde_json::json!({
            "uid": "u1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": "w", "namespace": "ml", "operation": "CREATE", "userInfo": {"username": "alice"}
        })
        .to_string();
        let request: ReviewRequest = serde_json::from_str(&text).expect("request");
        let decision = judge_safely(&ctx, exploding, &request);
        assert!(!decision.response.allowed);
        assert_eq!(decision.result, "error");
        let message = decision
            .response
            .status
            .map(|s| s.message)
            .unwrap_or_default();
        assert!(
            message.starts_with("aims-operator failed while judging Deployment ml/w"),
            "{message}"
        );
        assert!(message.contains("index out of bounds"), "{message}");
    }
}
