//! The reconciler: turns the engine's evaluation into status on every AISystem,
//! ImpactAssessment, ControlBinding, Nonconformity and AIIncident and keeps it true as time
//! passes. Status only, never spec; server-side apply under one field manager; no write
//! when nothing changed; requeued exactly when the evaluation next changes by itself (an
//! assessment expiring, a review falling due).

mod controllers;
mod error;
pub mod kept;
mod kinds;
pub mod metrics;
pub mod queue;
mod records;
mod status;

pub use controllers::run;
pub use error::{ApiRequest, ReconcileError};
pub use kinds::Reconciled;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::policy::Policy;
use crate::resources::{AISystem, API_VERSION};
use crate::webhook::ClusterCache;
use kept::KeptStatus;
pub use status::{
    desired_assessment_status, desired_assessment_status_after, desired_binding_status,
    desired_binding_status_after, desired_system_status, desired_system_status_after, needs_write,
};

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
    pub policy: Arc<Policy>,
    /// The clock; tests pin it.
    pub clock: Box<dyn Fn() -> Timestamp + Send + Sync>,
    /// Reconcile counts and durations, when metrics are served.
    pub metrics: Option<metrics::ReconcilerMetrics>,
    /// Where Events are recorded (new nonconformities), when in a cluster.
    pub recorder: Option<kube::runtime::events::Recorder>,
    /// OpenReports publishing, when the cluster serves `openreports.io/v1alpha1` Reports.
    pub reports: Option<ReportPublisher>,
    /// The fence of the reconciler's Lease, under leader election (`None`: no election,
    /// always write). Checked right before every write, so a replica whose Lease may have
    /// passed to another writes nothing from reconciles still in flight.
    pub lease: Option<crate::election::LeaseFence>,
    /// Most reconciles of one kind in flight at once (each may write). Unbounded, a start
    /// against 10,000 objects would send 10,000 status writes at once, which the API server
    /// answers with timeouts that are retried, and so on.
    pub concurrency: u16,
    /// How often the leader lists the cluster's workloads for model serving no AISystem
    /// covers (metric `aims_unregistered_model_workloads`); `None`: never.
    pub discover_every: Option<Duration>,
}

impl ReconcileContext {
    /// Whether this replica may write now.
    fn may_write(&self) -> bool {
        self.lease
            .as_ref()
            .is_none_or(crate::election::LeaseFence::may_write)
    }
}

/// Publishes one OpenReports Report per AI system, writing only when its content changed.
#[derive(Default)]
pub struct ReportPublisher {
    last: std::sync::Mutex<std::collections::HashMap<(String, String), u64>>,
}

impl ReportPublisher {
    pub(crate) fn changed(&self, key: (String, String), report: &serde_json::Value) -> bool {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        report.to_string().hash(&mut hasher);
        let digest = hasher.finish();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.insert(key, digest) != Some(digest)
    }

    pub(crate) fn forget(&self, key: &(String, String)) {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// The API resource of OpenReports Reports.
pub fn report_resource() -> kube::api::ApiResource {
    kube::api::ApiResource {
        group: "openreports.io".into(),
        version: "v1alpha1".into(),
        api_version: "openreports.io/v1alpha1".into(),
        kind: "Report".into(),
        plural: "reports".into(),
    }
}

/// When to reconcile an object again if nothing it reads changes meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Again after `wait`.
    #[must_use]
    pub const fn requeue(wait: Duration) -> Self {
        Self {
            requeue_after: Some(wait),
        }
    }

    /// Only when something it reads changes.
    #[must_use]
    pub const fn await_change() -> Self {
        Self {
            requeue_after: None,
        }
    }

    /// How long until it is reconciled again, if nothing changes.
    pub fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }
}

/// How long until `next` from `now`, bounded by the resync interval; a second is added so the
/// evaluation runs after the boundary, not a hair before it.
pub fn requeue_after(next: Option<Timestamp>, now: Timestamp) -> Duration {
    let Some(next) = next else { return RESYNC };
    let wait = next.duration_since(now).as_secs_f64().max(0.0) + 1.0;
    Duration::from_secs_f64(wait).min(RESYNC)
}

/// How soon a reconcile that the lease fence kept from writing is tried again.
pub const FENCED_RETRY: Duration = Duration::from_secs(5);

/// Reconciles one object: computes its status and writes it when it differs.
pub async fn reconcile<K: Reconciled>(
    object: Arc<K>,
    ctx: Arc<ReconcileContext>,
) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    // Everything logged while reconciling carries the object it belongs to.
    let span = tracing::info_span!(
        "reconcile",
        kind = K::KIND,
        ns = object.namespace().unwrap_or_default(),
        name = %object.name_any()
    );
    let outcome = tracing::Instrument::instrument(reconcile_inner(object, &ctx), span).await;
    if let Some(metrics) = &ctx.metrics {
        let result = match &outcome {
            Ok((_, true)) => "written",
            Ok((_, false)) => "unchanged",
            Err(_) => "error",
        };
        metrics.record(K::KIND, result, started.elapsed().as_secs_f64());
    }
    outcome.map(|(action, _)| action)
}

async fn reconcile_inner<K: Reconciled>(
    object: Arc<K>,
    ctx: &ReconcileContext,
) -> Result<(Action, bool), ReconcileError> {
    let now = (ctx.clock)();
    let name = object.name_any();
    let ns = object
        .namespace()
        .ok_or_else(|| ReconcileError::NoNamespace(format!("{} {name}", K::KIND)))?;
    let mut stored = object.kept(&ctx.cache);
    // The status to write, when the object next changes, and whether `stored` needs the write.
    let evaluate = |stored: Option<&KeptStatus>| {
        let (desired, next_change) = ctx
            .cache
            .read(|s| object.desired(s, stored, &ctx.policy, now));
        let write = stored.is_none_or(|k| k.differs_from(&desired));
        (desired, next_change, write)
    };
    let (mut desired, mut next_change, mut write) = evaluate(stored.as_ref());
    if (write || ctx.reports.is_some()) && !ctx.may_write() {
        tracing::info!(kind = K::KIND, %ns, %name, "lease lost: nothing written");
        // Tried again soon, not only at the next change: the fence also closes while this
        // replica still leads but its renewal is late (an API server restarting), and the
        // renewal that reopens it restarts nothing. A replica that did lose the Lease stops
        // its controllers within a round, and the queue forgets the retry.
        return Ok((Action::requeue(FENCED_RETRY), false));
    }
    if write && stored.as_ref().is_some_and(|k| !k.has_times()) {
        // The cache kept the stored status's fingerprint only: its timestamps, which the
        // new status carries over where nothing changed, are read back now.
        stored = Api::<K>::namespaced(ctx.client.clone(), &ns)
            .get_status(&name)
            .await
            .map_err(ReconcileError::api(
                ApiRequest::ReadStatus,
                K::KIND,
                &ns,
                &name,
            ))?
            .carried();
        (desired, next_change, write) = evaluate(stored.as_ref());
    }
    if write {
        let patch = json!({"apiVersion": API_VERSION, "kind": K::KIND, "status": desired});
        write_status::<K>(&ctx.client, &ns, &name, &patch)
            .await
            .map_err(ReconcileError::api(
                ApiRequest::WriteStatus,
                K::KIND,
                &ns,
                &name,
            ))?;
        tracing::info!(kind = K::KIND, %ns, %name, "status written");
        if let Some(recorder) = &ctx.recorder {
            let reference = object.object_ref(&());
            for (reason, note) in object.events(stored.as_ref(), &desired) {
                let event = kube::runtime::events::Event {
                    type_: kube::runtime::events::EventType::Warning,
                    reason: reason.to_string(),
                    note: Some(note),
                    action: "Evaluate".to_string(),
                    secondary: None,
                };
                if let Err(error) = recorder.publish(&event, &reference).await {
                    tracing::warn!(%error, %ns, %name, "event not recorded");
                }
            }
        }
    }
    if ctx
        .cache
        .records_followed
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        let missing: Vec<serde_json::Value> = ctx.cache.read(|s| {
            object
                .records(s, &ctx.policy, now)
                .into_iter()
                .filter(|(record, _)| s.nonconformity(&ns, record).is_none())
                .map(|(_, manifest)| manifest)
                .collect()
        });
        if !missing.is_empty() {
            records::open(ctx, &ns, missing).await?;
        }
    }
    if let Some(reports) = &ctx.reports
        && let Some(mut report) = ctx.cache.read(|s| object.report(s, &ctx.policy, now))
    {
        let key = (ns.clone(), name.clone());
        if let Some(uid) = object.meta().uid.clone() {
            // The Report goes when its AI system goes.
            report["metadata"]["ownerReferences"] = json!([{"apiVersion": API_VERSION, "kind": K::KIND,
                "name": name, "uid": uid, "controller": true}]);
        }
        if reports.changed(key.clone(), &report) {
            let report_name = report["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let api = Api::<kube::api::DynamicObject>::namespaced_with(
                ctx.client.clone(),
                &ns,
                &report_resource(),
            );
            if let Err(source) = api
                .patch(
                    &report_name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&report),
                )
                .await
            {
                reports.forget(&key);
                return Err(ReconcileError::api(
                    ApiRequest::Apply,
                    "Report",
                    &ns,
                    &report_name,
                )(source));
            }
        }
    }
    Ok((Action::requeue(requeue_after(next_change, now)), write))
}

/// Applies `patch` to the status of `K` `ns/name`, leaving the API server's answer (the
/// whole object, its managed fields included) unparsed: the watch brings the object back,
/// and on a first start at 10,000 AI systems the 30,000 answers, each parsed into a tree of
/// small allocations and dropped, interleaved with what the cache keeps.
async fn write_status<K: kube::Resource<DynamicType = ()>>(
    client: &Client,
    ns: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<(), kube::Error> {
    let mut request = kube::core::Request::new(K::url_path(&(), Some(ns)))
        .patch_subresource(
            "status",
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .map_err(kube::Error::BuildRequest)?;
    // The name kube's own `patch_status` gives the request in the client's traces.
    request.extensions_mut().insert("patch_status");
    client.request_text(request).await.map(drop)
}

/// Reconciles one AI system (see [`reconcile`]).
pub async fn reconcile_system(
    system: Arc<AISystem>,
    ctx: Arc<ReconcileContext>,
) -> Result<Action, ReconcileError> {
    reconcile(system, ctx).await
}

/// Transient errors back off; an object the API refuses waits for a change.
pub fn error_policy<K: Reconciled>(
    object: Arc<K>,
    error: &ReconcileError,
    _ctx: Arc<ReconcileContext>,
) -> Action {
    tracing::warn!(kind = K::KIND, ns = object.namespace().unwrap_or_default(), name = %object.name_any(), %error, "reconcile failed");
    if error.is_transient() {
        Action::requeue(Duration::from_secs(5))
    } else {
        Action::await_change()
    }
}

/// Drops what no AIMS evaluation reads from an object's metadata: the managed fields and
/// kubectl's last-applied copy, often most of an object's size.
pub fn strip_bookkeeping(meta: &mut kube::core::ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}
