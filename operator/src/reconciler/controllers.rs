//! The controllers: one per kind, each triggered by its own watch (the cache's shared
//! store), by time (the next expiry) and by the cache announcing the AI systems whose inputs
//! changed.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::ResourceExt;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;

use super::{ReconcileContext, Reconciled, error_policy, reconcile};
use crate::resources::{AIIncident, AISystem, ControlBinding, ImpactAssessment, Nonconformity};

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
