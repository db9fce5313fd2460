//! Liveness, readiness and metrics: the routes the kubelet and Prometheus read, served on the webhook's port and on the plain-HTTP health port.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Context;

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(ctx): State<Arc<Context>>) -> Response {
    if ctx.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else if ctx.shutting_down.load(Ordering::Acquire) {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else if ctx.certificate_pending.load(Ordering::Acquire) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the serving certificate",
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("caches not synced: {}", ctx.cache.pending().join(", ")),
        )
            .into_response()
    }
}

async fn metrics_text(State(ctx): State<Arc<Context>>) -> Response {
    let now = (ctx.clock)();
    ctx.cache.read(|s| {
        ctx.metrics.cached_objects.set(s.len() as i64);
        ctx.cluster_metrics.refresh(s, &ctx.policy, now);
    });
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &ctx.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Health and metrics routes alone (also served on the plain-HTTP port).
pub fn health_router(ctx: Arc<Context>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(ctx)
}
