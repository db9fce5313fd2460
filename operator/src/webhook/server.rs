//! Serving the webhook over HTTPS (and health and metrics over plain HTTP for probes and
//! scrapes), with graceful shutdown: readiness fails first, new connections stop, reviews in
//! flight finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum_server::Handle;
use tokio::task::JoinHandle;

use super::tls::{CertFiles, TlsError};
use super::{Context, health_router, router};

/// How the webhook listens.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// HTTPS address for reviews (and health, metrics).
    pub listen: SocketAddr,
    /// Plain-HTTP address for `/healthz`, `/readyz`, `/metrics`; `None` to serve them only
    /// over HTTPS.
    pub health_listen: Option<SocketAddr>,
    /// Serving certificate and key.
    pub certs: CertFiles,
    /// How often the certificate files are checked for a change.
    pub cert_reload_interval: Duration,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The certificate could not be loaded.
    #[error("serving certificate: {0}")]
    Tls(#[from] TlsError),
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A running webhook server.
pub struct RunningServer {
    /// The HTTPS address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// The plain-HTTP health address actually bound.
    pub health_addr: Option<SocketAddr>,
    ctx: Arc<Context>,
    handle: Handle<SocketAddr>,
    https: JoinHandle<std::io::Result<()>>,
    health: Option<HealthServer>,
}

/// The plain-HTTP server of `/healthz`, `/readyz` and `/metrics`.
pub struct HealthServer {
    /// The address actually bound.
    pub addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl HealthServer {
    /// Stops it and waits for it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves health and metrics over plain HTTP on `addr` (also used alone when this replica
/// runs only the reconciler).
pub async fn start_health(ctx: Arc<Context>, addr: SocketAddr) -> Result<HealthServer, ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = health_router(ctx);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(HealthServer {
        addr: bound,
        task,
        stop,
    })
}

/// Starts serving; returns once both ports are bound.
pub async fn start(ctx: Arc<Context>, options: &ServeOptions) -> Result<RunningServer, ServeError> {
    let metrics = ctx.metrics.clone();
    let tls = options
        .certs
        .load_and_watch(options.cert_reload_interval, move |not_after| {
            metrics.certificate_expires("serving", not_after)
        })?;
    let listener =
        std::net::TcpListener::bind(options.listen).map_err(|source| ServeError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: options.listen,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    let handle: Handle<SocketAddr> = Handle::new();
    let app = router(ctx.clone());
    let https = tokio::spawn(
        axum_server::from_tcp_rustls(listener, tls)
            .map_err(|source| ServeError::Bind { addr, source })?
            // Each answer is sent as soon as it is written: with Nagle's algorithm an answer
            // written while the previous one on the connection is unacknowledged waits for
            // the API server's delayed ACK (Go's clients and servers turn it off too).
            .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
            .handle(handle.clone())
            .serve(app.into_make_service()),
    );
    let health = match options.health_listen {
        None => None,
        Some(health_addr) => Some(start_health(ctx.clone(), health_addr).await?),
    };
    let health_addr = health.as_ref().map(|h| h.addr);
    tracing::info!(%addr, ?health_addr, "webhook listening");
    Ok(RunningServer {
        addr,
        health_addr,
        ctx,
        handle,
        https,
        health,
    })
}

impl RunningServer {
    /// Connections currently open on the HTTPS port.
    pub fn connections(&self) -> usize {
        self.handle.connection_count()
    }

    /// Shuts down gracefully: readiness fails, no new connections are accepted, and reviews
    /// in flight get up to `drain` to finish.
    pub async fn shutdown(self, drain: Duration) {
        self.ctx.shutting_down.store(true, Ordering::Release);
        self.handle.graceful_shutdown(Some(drain));
        if let Err(error) = self
            .https
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            tracing::warn!(%error, "webhook server ended with an error");
        }
        if let Some(health) = self.health {
            health.shutdown().await;
        }
        tracing::info!("webhook stopped");
    }
}
