//! The reconciler: turns the engine's evaluation into status on every AISystem and keeps it
//! true as time passes. Status only, never spec; server-side apply under one field manager;
//! no write when nothing changed; requeued exactly when the evaluation next changes by
//! itself (an assessment expiring, a review falling due).

mod status;

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::policy::Policy;
use crate::resources::{AISystem, API_VERSION};
use crate::webhook::ClusterCache;
pub use status::{desired_system_status, needs_write};

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "aims-operator";

/// Longest wait between two evaluations of a system, as a safety net for missed events.
const RESYNC: Duration = Duration::from_secs(3600);

/// Everything a reconcile needs.
pub struct ReconcileContext {
    /// API client for status writes.
    pub client: Client,
    /// The snapshot the webhook decides against (one engine, one view).
    pub cache: Arc<ClusterCache>,
    /// Policy.
    pub policy: Policy,
    /// The clock; tests pin it.
    pub clock: Box<dyn Fn() -> Timestamp + Send + Sync>,
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The object has no namespace (cannot happen for a namespaced kind served by the API).
    #[error("AISystem {0} has no namespace")]
    NoNamespace(String),
    /// The status write failed.
    #[error("status write for AISystem {ns}/{name} failed: {source}")]
    Write {
        /// Namespace.
        ns: String,
        /// Name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
}

impl ReconcileError {
    /// Whether retrying later can help: API errors other than a missing object and a
    /// rejected body are transient.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::NoNamespace(_) => false,
            ReconcileError::Write { source, .. } => !matches!(
                source,
                kube::Error::Api(status) if status.code == 404 || status.code == 422
            ),
        }
    }
}

/// How long until `next` from `now`, bounded by the resync interval; a second is added so the
/// evaluation runs after the boundary, not a hair before it.
pub fn requeue_after(next: Option<Timestamp>, now: Timestamp) -> Duration {
    let Some(next) = next else { return RESYNC };
    let wait = next.duration_since(now).as_secs_f64().max(0.0) + 1.0;
    Duration::from_secs_f64(wait).min(RESYNC)
}

/// Reconciles one AI system: computes its status and writes it when it differs.
pub async fn reconcile_system(
    system: Arc<AISystem>,
    ctx: Arc<ReconcileContext>,
) -> Result<Action, ReconcileError> {
    let now = (ctx.clock)();
    let name = system.name_any();
    let ns = system
        .namespace()
        .ok_or_else(|| ReconcileError::NoNamespace(name.clone()))?;
    let (desired, next_change) = ctx
        .cache
        .read(|s| desired_system_status(s, &system, &ctx.policy, now));
    if needs_write(system.status.as_ref(), &desired) {
        let patch = json!({"apiVersion": API_VERSION, "kind": "AISystem", "status": desired});
        Api::<AISystem>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await
            .map_err(|source| ReconcileError::Write {
                ns: ns.clone(),
                name: name.clone(),
                source,
            })?;
        tracing::info!(%ns, %name, compliant = %desired.summary.as_ref().map(|s| s.compliant.as_str()).unwrap_or(""), "status written");
    }
    Ok(Action::requeue(requeue_after(next_change, now)))
}

/// Transient errors back off; an object the API refuses waits for a change.
pub fn error_policy(
    system: Arc<AISystem>,
    error: &ReconcileError,
    _ctx: Arc<ReconcileContext>,
) -> Action {
    tracing::warn!(ns = system.namespace().unwrap_or_default(), name = %system.name_any(), %error, "reconcile failed");
    if error.is_transient() {
        Action::requeue(Duration::from_secs(5))
    } else {
        Action::await_change()
    }
}

/// Runs the controller until `shutdown` resolves. `triggers` names systems whose inputs
/// changed (assessments, bindings, namespaces, workloads), sent after the cache applied
/// the change, so a reconcile never reads an older view than the event that caused it.
pub async fn run(
    ctx: Arc<ReconcileContext>,
    triggers: impl Stream<Item = ObjectRef<AISystem>> + Send + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let api = Api::<AISystem>::all(ctx.client.clone());
    Controller::new(api, watcher::Config::default())
        .reconcile_on(triggers)
        .graceful_shutdown_on(shutdown)
        .run(reconcile_system, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile round ended with an error");
            }
        })
        .await;
}
