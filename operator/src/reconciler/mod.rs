//! The reconciler: turns the engine's evaluation into status on every AISystem,
//! ImpactAssessment and ControlBinding and keeps it true as time passes. Status only, never spec; server-side apply under one field manager;
//! no write when nothing changed; requeued exactly when the evaluation next changes by
//! itself (an assessment expiring, a review falling due).

mod records;
mod status;

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::resources::{
    AIIncident, AIIncidentStatus, AISystem, AISystemStatus, API_VERSION, ControlBinding,
    ControlBindingStatus, ImpactAssessment, ImpactAssessmentStatus, Nonconformity,
    NonconformityStatus,
};
use crate::webhook::ClusterCache;
pub use status::{
    NeedsWrite, desired_assessment_status, desired_binding_status, desired_system_status,
    needs_write,
};

/// An AIMS kind whose status the reconciler keeps.
pub trait Reconciled:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + crate::webhook::cache::Feed
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Kind name for the apply body and messages.
    const KIND: &'static str;
    /// The status type.
    type Status: Serialize + NeedsWrite + Send + Sync;
    /// The stored status.
    fn stored(&self) -> Option<&Self::Status>;
    /// An OpenReports Report to publish for this object, if any.
    fn report(
        &self,
        _snapshot: &Snapshot,
        _policy: &Policy,
        _now: Timestamp,
    ) -> Option<serde_json::Value> {
        None
    }
    /// Events worth recording when `desired` replaces the stored status (reason, note).
    fn events(&self, _desired: &Self::Status) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Nonconformity records this object's condition calls for, by name (the ones missing
    /// are created).
    fn records(
        &self,
        _snapshot: &Snapshot,
        _policy: &Policy,
        _now: Timestamp,
    ) -> Vec<(String, serde_json::Value)> {
        Vec::new()
    }
    /// The status it should carry at `now`, and when that changes by itself.
    fn desired(
        &self,
        snapshot: &Snapshot,
        policy: &Policy,
        now: Timestamp,
    ) -> (Self::Status, Option<Timestamp>);
}

macro_rules! reconciled {
    ($kind:ty, $name:literal, $status:ty, $desired:path) => {
        reconciled!(
            $kind,
            $name,
            $status,
            $desired,
            |_, _| Vec::new(),
            |_, _, _, _| None
        );
    };
    ($kind:ty, $name:literal, $status:ty, $desired:path, $events:expr, $report:expr) => {
        reconciled!(
            $kind,
            $name,
            $status,
            $desired,
            $events,
            $report,
            |_, _, _, _| Vec::new()
        );
    };
    ($kind:ty, $name:literal, $status:ty, $desired:path, $events:expr, $report:expr, $records:expr) => {
        impl Reconciled for $kind {
            const KIND: &'static str = $name;
            type Status = $status;
            fn stored(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn report(
                &self,
                snapshot: &Snapshot,
                policy: &Policy,
                now: Timestamp,
            ) -> Option<serde_json::Value> {
                let report: fn(&$kind, &Snapshot, &Policy, Timestamp) -> Option<serde_json::Value> =
                    $report;
                report(self, snapshot, policy, now)
            }
            fn events(&self, desired: &Self::Status) -> Vec<(&'static str, String)> {
                let events: fn(&$kind, &$status) -> Vec<(&'static str, String)> = $events;
                events(self, desired)
            }
            fn records(
                &self,
                snapshot: &Snapshot,
                policy: &Policy,
                now: Timestamp,
            ) -> Vec<(String, serde_json::Value)> {
                let records: fn(
                    &$kind,
                    &Snapshot,
                    &Policy,
                    Timestamp,
                ) -> Vec<(String, serde_json::Value)> = $records;
                records(self, snapshot, policy, now)
            }
            fn desired(
                &self,
                snapshot: &Snapshot,
                policy: &Policy,
                now: Timestamp,
            ) -> (Self::Status, Option<Timestamp>) {
                $desired(snapshot, self, policy, now)
            }
        }
    };
}
reconciled!(
    AISystem,
    "AISystem",
    AISystemStatus,
    desired_system_status,
    |system: &AISystem, desired: &AISystemStatus| {
        let before = system
            .status
            .as_ref()
            .map(|s| s.nonconformities.as_slice())
            .unwrap_or(&[]);
        desired
            .nonconformities
            .iter()
            .filter(|n| {
                !before
                    .iter()
                    .any(|b| b.workload == n.workload && b.rules == n.rules)
            })
            .map(|n| {
                (
                    "Nonconformity",
                    format!("{} does not comply: {}", n.workload, n.message),
                )
            })
            .collect()
    },
    |system, snapshot, policy, now| Some(crate::engine::openreports::report(
        snapshot, system, policy, now
    )),
    |system: &AISystem, snapshot: &Snapshot, policy: &Policy, now: Timestamp| {
        let ns = system.namespace().unwrap_or_default();
        let name = system.name_any();
        crate::engine::nonconformity::detect(snapshot, system, policy, now)
            .into_iter()
            .map(|d| (d.record_name(&name), d.record(&ns, system)))
            .chain(crate::engine::audit::finding_records(snapshot, system))
            .collect()
    }
);
reconciled!(
    Nonconformity,
    "Nonconformity",
    NonconformityStatus,
    crate::engine::nonconformity::desired_status
);
reconciled!(
    AIIncident,
    "AIIncident",
    AIIncidentStatus,
    crate::engine::incident::desired_status
);
reconciled!(
    ImpactAssessment,
    "ImpactAssessment",
    ImpactAssessmentStatus,
    desired_assessment_status
);
reconciled!(
    ControlBinding,
    "ControlBinding",
    ControlBindingStatus,
    desired_binding_status
);

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
    /// Reconcile counts and durations, when metrics are served.
    pub metrics: Option<crate::metrics::ClusterMetrics>,
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

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The object has no namespace (cannot happen for a namespaced kind served by the API).
    #[error("{0} has no namespace")]
    NoNamespace(String),
    /// The status write failed.
    #[error("status write for {kind} {ns}/{name} failed: {source}")]
    Write {
        /// Kind.
        kind: &'static str,
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
        metrics
            .reconciles
            .get_or_create(&crate::metrics::ReconcileLabels {
                kind: K::KIND,
                result,
            })
            .inc();
        metrics
            .reconcile_seconds
            .get_or_create(&crate::metrics::KindLabels { kind: K::KIND })
            .observe(started.elapsed().as_secs_f64());
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
    let (desired, next_change) = ctx.cache.read(|s| object.desired(s, &ctx.policy, now));
    let write = desired.differs_from(object.stored());
    if (write || ctx.reports.is_some()) && !ctx.may_write() {
        tracing::info!(kind = K::KIND, %ns, %name, "lease lost: nothing written");
        return Ok((Action::await_change(), false));
    }
    if write {
        let patch = json!({"apiVersion": API_VERSION, "kind": K::KIND, "status": desired});
        Api::<K>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await
            .map_err(|source| ReconcileError::Write {
                kind: K::KIND,
                ns: ns.clone(),
                name: name.clone(),
                source,
            })?;
        tracing::info!(kind = K::KIND, %ns, %name, "status written");
        if let Some(recorder) = &ctx.recorder {
            let reference = object.object_ref(&());
            for (reason, note) in object.events(&desired) {
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
                return Err(ReconcileError::Write {
                    kind: "Report",
                    ns,
                    name: report_name,
                    source,
                });
            }
        }
    }
    Ok((Action::requeue(requeue_after(next_change, now)), write))
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

async fn control<K: Reconciled>(
    ctx: Arc<ReconcileContext>,
    triggers: impl Stream<Item = ObjectRef<K>> + Send + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let Some(shared) = K::shared(&ctx.cache) else {
        tracing::error!(
            kind = K::KIND,
            "no shared store for this kind: not reconciled"
        );
        return;
    };
    // A status reads the other kinds too (an assessment's system, a binding's systems and
    // monitors): reconciling before every feed has listed would write a status from half a
    // register, and correct it moments later, at every start. The store's writer lives as
    // long as the cache, so a store never listed would be waited for past any shutdown: wait
    // here, where stopping wins.
    let mut shutdown = Box::pin(shutdown);
    let reader = shared.reader();
    let listed = futures::future::join(reader.wait_until_ready(), ctx.cache.synced());
    tokio::select! {
        (ready, ()) = listed => {
            if ready.is_err() {
                return;
            }
        }
        () = &mut shutdown => return,
    }
    let config = controller::Config::default().concurrency(ctx.concurrency);
    Controller::for_shared_stream(shared.subscribe(), reader)
        .with_config(config)
        .reconcile_on(triggers)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, ctx.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(kind = K::KIND, %error, "reconcile round ended with an error");
            }
        })
        .await;
}

/// Drops what no AIMS evaluation reads from an object's metadata: the managed fields and
/// kubectl's last-applied copy, often most of an object's size.
pub fn strip_bookkeeping(meta: &mut kube::core::ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Runs the three controllers until `shutdown` resolves. Each is triggered by the cache's
/// watch of its kind (a shared store), by time (the next expiry), and by the cache announcing the AI systems whose
/// inputs changed, after the cache applied the change, so a reconcile never reads an older
/// view than the event that caused it.
pub async fn run(
    ctx: Arc<ReconcileContext>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = |mut s: tokio::sync::watch::Receiver<bool>| async move {
        let _ = s.changed().await;
    };
    let cache = ctx.cache.clone();
    let systems = cache.subscribe();
    let for_assessments = {
        let cache = cache.clone();
        cache.subscribe().flat_map(move |system| {
            let ns = system.namespace.clone().unwrap_or_default();
            let refs: Vec<ObjectRef<ImpactAssessment>> = cache.read(|s| {
                s.assessments_for(&ns, &system.name)
                    .iter()
                    .map(|a| ObjectRef::new(&a.name_any()).within(&ns))
                    .collect()
            });
            futures::stream::iter(refs)
        })
    };
    let for_bindings = {
        let cache = cache.clone();
        cache.subscribe().flat_map(move |system| {
            let ns = system.namespace.clone().unwrap_or_default();
            let refs: Vec<ObjectRef<ControlBinding>> = cache.read(|s| {
                s.bindings_for(&ns, &system.name)
                    .map(|b| ObjectRef::new(&b.name_any()).within(&ns))
                    .collect()
            });
            futures::stream::iter(refs)
        })
    };
    let for_records = {
        let cache = cache.clone();
        cache.subscribe().flat_map(move |system| {
            let ns = system.namespace.clone().unwrap_or_default();
            let refs: Vec<ObjectRef<Nonconformity>> = cache.read(|s| {
                s.nonconformities_of(&ns, &system.name)
                    .map(|n| ObjectRef::new(&n.name_any()).within(&ns))
                    .collect()
            });
            futures::stream::iter(refs)
        })
    };
    let followed =
        |flag: &std::sync::atomic::AtomicBool| flag.load(std::sync::atomic::Ordering::Relaxed);
    let records = {
        let (ctx, stopped) = (ctx.clone(), signal(stopped.clone()));
        async move {
            if followed(&ctx.cache.records_followed) {
                control::<Nonconformity>(ctx, for_records, stopped).await;
            }
        }
    };
    // An incident's status reads only the incident and the clock: its own watch and its
    // deadline trigger it.
    let incidents = {
        let (ctx, stopped) = (ctx.clone(), signal(stopped.clone()));
        async move {
            if followed(&ctx.cache.incidents_followed) {
                control::<AIIncident>(ctx, futures::stream::empty(), stopped).await;
            }
        }
    };
    let discovery = {
        let (ctx, stopped) = (ctx.clone(), signal(stopped.clone()));
        async move {
            if let Some(every) = ctx.discover_every {
                crate::discover::periodic::keep_discovering(ctx, every, stopped).await;
            }
        }
    };
    let all = futures::future::join5(
        control::<AISystem>(ctx.clone(), systems, signal(stopped.clone())),
        control::<ImpactAssessment>(ctx.clone(), for_assessments, signal(stopped.clone())),
        control::<ControlBinding>(ctx, for_bindings, signal(stopped)),
        futures::future::join(records, incidents),
        discovery,
    );
    tokio::pin!(all);
    tokio::select! {
        _ = &mut all => {},
        _ = shutdown => {
            let _ = stop.send(true);
            all.await;
        }
    }
}
