//! `aims-operator run`: the in-cluster process. Starts the admission webhook and the
//! reconciler over one shared cache and stops them gracefully on SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::cache;
use crate::certs::secret::SelfManaged;
use crate::cli::CliError;
use crate::election::{Election, LeaseFence, lead_and_reconcile};
use crate::policy::Policy;
use crate::reconciler::{self, ReconcileContext};
use crate::webhook::server::{RunningServer, ServeOptions, start, start_health};
use crate::webhook::tls::CertFiles;
use crate::webhook::{Context, events::KubeEvents};

/// Options of `aims-operator run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Run only this component (default: all of them).
    #[arg(long, value_enum, value_name = "COMPONENT")]
    only: Option<Component>,
    /// HTTPS address the webhook listens on.
    #[arg(long, default_value = "0.0.0.0:8443", value_name = "ADDR")]
    listen: SocketAddr,
    /// Plain-HTTP address for /healthz, /readyz and /metrics (probes and scrapes).
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    health_listen: SocketAddr,
    /// PEM certificate chain the webhook serves; reloaded when it changes.
    #[arg(long, default_value = "/tls/tls.crt", value_name = "FILE")]
    tls_cert: PathBuf,
    /// PEM private key of the certificate; reloaded when it changes.
    #[arg(long, default_value = "/tls/tls.key", value_name = "FILE")]
    tls_key: PathBuf,
    /// Seconds between checks of the certificate files for a change.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    cert_reload_seconds: u64,
    /// Seconds reviews in flight get to finish at shutdown.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    drain_seconds: u64,
    /// Policy file (YAML): required controls per risk tier, modes, approver and break-glass groups.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Namespace aims-operator runs in; it is never judged.
    #[arg(long, env = "POD_NAMESPACE", default_value = "aims-system")]
    namespace: String,
    /// This replica's name: its identity in the reconciler's Lease and the instance of its
    /// Events (the chart sets it from the pod name).
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pod_name: Option<String>,
    /// User allowed to write the status of AIMS resources (repeatable). Default: the
    /// operator's service account, system:serviceaccount:<namespace>:aims-operator.
    #[arg(long = "status-writer", value_name = "USER")]
    status_writers: Vec<String>,
    /// Most reconciles of one kind in flight at once. Each may write a status, so this
    /// bounds the requests the reconciler sends the API server after a start or a relist.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    concurrent_reconciles: u16,
    /// Seconds between the leader's discovery rounds: every workload kind is listed, page
    /// by page, for model serving no AISystem covers (metric
    /// aims_unregistered_model_workloads, a log line per new finding). 0 turns it off (and
    /// the chart then grants no list on Pods, Jobs and the other kinds).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    discover_seconds: u64,
    /// The self-managed certificates.
    #[command(flatten)]
    certs: crate::certs::args::SelfManagedArgs,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Set by `aims-operator dev run`: register the webhooks by URL once serving, remove them
    /// at exit.
    #[arg(skip)]
    pub(crate) dev: Option<crate::dev::DevSession>,
}

impl RunArgs {
    /// Namespace aims-operator runs in.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Serve the dev-mode certificate of `dir`.
    pub(crate) fn use_dev_certificates(&mut self, dir: &std::path::Path) {
        self.tls_cert = dir.join("tls.crt");
        self.tls_key = dir.join("tls.key");
        self.certs.self_managed_certs = false;
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Component {
    /// The admission webhook.
    Webhook,
    /// The status reconciler.
    Reconciler,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs until SIGTERM or Ctrl-C; returns the exit status.
pub fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    init_logs(args.log_format);
    let policy = match &args.policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    crate::cli::runtime(2)?.block_on(serve(args, policy))
}

async fn serve(args: RunArgs, policy: Policy) -> Result<ExitCode, CliError> {
    let no_cluster = |e: kube::Error| CliError::NoCluster(e.to_string());
    let config = kube::Config::infer()
        .await
        .map_err(|e| no_cluster(kube::Error::InferConfig(e)))?;
    let client = kube::Client::try_from(cache::with_silence_limit(config)).map_err(no_cluster)?;
    operate(client, args, policy, shutdown_signal()).await
}

/// Runs webhook and reconciler as `client` until `shutdown` completes, then drains and
/// stops them; `aims-operator run` and `dev run` with SIGTERM as `shutdown`, the e2e suite
/// with a signal of its own.
pub async fn operate(
    client: kube::Client,
    args: RunArgs,
    policy: Policy,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<ExitCode, CliError> {
    let wants = |c: Component| args.only.is_none() || args.only == Some(c);
    // Contradictory certificate flags are refused before anything connects or starts.
    let managed = if wants(Component::Webhook) && args.certs.self_managed_certs {
        Some(
            args.certs
                .managed(&args.namespace, cert_files(&args))
                .map_err(CliError::Usage)?,
        )
    } else {
        None
    };
    let cache = cache::start(client.clone()).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);

    let mut ctx = Context::new(cache, policy, &args.namespace);
    if !args.status_writers.is_empty() {
        ctx.status_writers = args.status_writers.clone();
    }
    ctx.events = Arc::new(KubeEvents::new(client.clone(), args.pod_name.clone()));
    let reconciler_metrics = reconciler::metrics::ReconcilerMetrics::register(&mut ctx.registry);
    let ctx = Arc::new(ctx);

    let reconciler = if wants(Component::Reconciler) {
        let started = start_reconciler(&client, &args, &ctx, reconciler_metrics, &stopped);
        Some(started.await)
    } else {
        None
    };
    let health = start_health(ctx.clone(), args.health_listen).await?;
    let server = if wants(Component::Webhook) {
        match start_webhook(ctx, &args, managed, &client, &stopped).await? {
            Some(server) => Some(server),
            // Told to stop before the first certificate came.
            None => {
                health.shutdown().await;
                return Ok(ExitCode::SUCCESS);
            }
        }
    } else {
        None
    };
    let registered = match (&args.dev, &server) {
        (Some(dev), Some(server)) => dev
            .register(&client, server.addr.port())
            .await
            .map_err(|e| format!("cannot register the webhook configurations: {e}")),
        _ => Ok(()),
    };
    if registered.is_ok() {
        shutdown.await;
    }
    tracing::info!("shutting down: readiness off, finishing reviews and reconciles in flight");
    let _ = stop.send(true);
    // Unregistered before the drain, so the API server stops calling while reviews finish.
    if let Some(dev) = &args.dev {
        dev.unregister(&client).await;
    }
    if let Some(server) = server {
        server
            .shutdown(Duration::from_secs(args.drain_seconds))
            .await;
    }
    health.shutdown().await;
    if let Some(reconciler) = reconciler {
        let _ = reconciler.await;
    }
    registered.map_err(CliError::Input)?;
    Ok(ExitCode::SUCCESS)
}

/// Starts leader election and, while this replica leads, the controllers and the periodic
/// discovery, under the webhook's policy and over its cache.
async fn start_reconciler(
    client: &kube::Client,
    args: &RunArgs,
    ctx: &Context,
    metrics: reconciler::metrics::ReconcilerMetrics,
    stopped: &tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let reports_served = client
        .list_api_group_resources("openreports.io/v1alpha1")
        .await
        .is_ok_and(|list| list.resources.iter().any(|r| r.name == "reports"));
    if reports_served {
        tracing::info!(
            "openreports.io Reports are served: one Report per AI system will be published"
        );
    }
    let reconcile_ctx = Arc::new(ReconcileContext {
        discover_every: (args.discover_seconds > 0)
            .then(|| Duration::from_secs(args.discover_seconds)),
        lease: Some(LeaseFence::default()),
        concurrency: args.concurrent_reconciles,
        client: client.clone(),
        cache: ctx.cache.clone(),
        // The webhook's policy, which exempts this namespace too: the reconciler must not
        // trust stamps where the webhook does not check them.
        policy: ctx.policy.clone(),
        clock: Box::new(jiff::Timestamp::now),
        metrics: Some(metrics),
        reports: reports_served.then(reconciler::ReportPublisher::default),
        recorder: Some(kube::runtime::events::Recorder::new(
            client.clone(),
            kube::runtime::events::Reporter {
                controller: "aims-operator".into(),
                instance: args.pod_name.clone(),
            },
        )),
    });
    tokio::spawn(lead_and_reconcile(
        client.clone(),
        Election::in_namespace(&args.namespace, args.pod_name.as_deref()),
        reconcile_ctx,
        stopped.clone(),
    ))
}

/// Serves the webhook once it has a certificate: with self-managed certificates, the first
/// one synced (and their rotation kept running); `None` when told to stop before.
async fn start_webhook(
    ctx: Arc<Context>,
    args: &RunArgs,
    managed: Option<SelfManaged>,
    client: &kube::Client,
    stopped: &tokio::sync::watch::Receiver<bool>,
) -> Result<Option<RunningServer>, CliError> {
    if let Some(managed) = managed {
        ctx.certificate_pending.store(true, Ordering::Release);
        if !first_certificate(&managed, client, stopped.clone()).await {
            return Ok(None);
        }
        let metrics = ctx.metrics.clone();
        tokio::spawn(managed.run(
            client.clone(),
            move |not_after| metrics.certificate_expires("ca", not_after),
            stopped.clone(),
        ));
        ctx.certificate_pending.store(false, Ordering::Release);
    }
    let options = ServeOptions {
        listen: args.listen,
        health_listen: None,
        certs: cert_files(args),
        cert_reload_interval: Duration::from_secs(args.cert_reload_seconds.max(1)),
    };
    Ok(Some(start(ctx, &options).await?))
}

fn cert_files(args: &RunArgs) -> CertFiles {
    CertFiles {
        cert: args.tls_cert.clone(),
        key: args.tls_key.clone(),
    }
}

/// Syncs the self-managed certificates until it works once (the webhook cannot serve
/// before), with backoff; `false` when told to stop first.
async fn first_certificate(
    managed: &SelfManaged,
    client: &kube::Client,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> bool {
    let mut delay = Duration::from_secs(1);
    loop {
        match managed.sync(client, jiff::Timestamp::now()).await {
            Ok(pass) => {
                tracing::info!(renewal = ?pass.renewal, patched = ?pass.patched, "serving certificate ready");
                return true;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "no serving certificate yet; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown_signal() => return false,
            _ = stopped.changed() => return false,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
