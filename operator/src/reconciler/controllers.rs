//! The controllers: one per kind, each taking from its kind's [`WorkQueue`], which the cache
//! fills as changes arrive (the object's own, and those of the AI system its status reads),
//! and which falls due by time (an expiry, a review date). Every hour each controller goes
//! through every object of its kind, as a net for anything missed.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::task::JoinSet;

use super::queue::{Key, split};
use super::{Action, RESYNC, ReconcileContext, Reconciled, error_policy, reconcile};
use crate::resources::{AIIncident, AISystem, ControlBinding, ImpactAssessment, Nonconformity};

/// Reconciles the object `key` names, as the register holds it now: an object deleted
/// meanwhile is not reconciled. Returns when to reconcile it again.
async fn reconcile_key<K: Reconciled>(ctx: Arc<ReconcileContext>, key: Key) -> (Key, Action) {
    let (ns, name) = split(&key);
    let Some(object) = ctx.cache.read(|s| K::held(s, ns, name)) else {
        return (key, Action::await_change());
    };
    let outcome = AssertUnwindSafe(reconcile(object.clone(), ctx.clone()))
        .catch_unwind()
        .await;
    let action = match outcome {
        Ok(Ok(action)) => action,
        Ok(Err(error)) => error_policy(object, &error, ctx),
        Err(_) => {
            // A defect: the object waits for its next change rather than failing in a loop.
            tracing::error!(kind = K::KIND, %key, "reconcile panicked");
            Action::await_change()
        }
    };
    (key, action)
}

async fn control<K: Reconciled>(
    ctx: Arc<ReconcileContext>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    let Some(tracked) = K::tracked(&ctx.cache) else {
        tracing::error!(kind = K::KIND, "no queue for this kind: not reconciled");
        return;
    };
    // A status reads the other kinds too (an assessment's system, a binding's systems and
    // monitors): reconciling before every feed has listed would write a status from half a
    // register, and correct it moments later, at every start.
    let mut shutdown = std::pin::pin!(shutdown);
    tokio::select! {
        () = ctx.cache.synced() => {}
        () = &mut shutdown => return,
    }
    let queue = &tracked.queue;
    queue.open();
    // Its first tick is now: every object held is reconciled once at start.
    let mut resync = tokio::time::interval(RESYNC);
    let concurrency = usize::from(ctx.concurrency.max(1));
    let mut running: JoinSet<(Key, Action)> = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(ended) = running.join_next(), if !running.is_empty() => {
                if let Ok((key, action)) = ended {
                    queue.done(&key, action.requeue_after(), RESYNC);
                }
            }
            _ = resync.tick() => {
                for (ns, name) in ctx.cache.read(K::every) {
                    queue.trigger(&ns, &name);
                }
            }
            key = queue.next(), if running.len() < concurrency => {
                running.spawn(reconcile_key::<K>(ctx.clone(), key));
            }
        }
    }
    queue.close();
    // Reconciles in flight end; none starts.
    while running.join_next().await.is_some() {}
}

/// Runs the controllers until `shutdown` resolves: AI systems, impact assessments and
/// control bindings always; nonconformity records and AI incidents where their CRDs are
/// served; and the periodic discovery of unregistered model workloads when asked for.
pub async fn run(
    ctx: Arc<ReconcileContext>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = |mut s: tokio::sync::watch::Receiver<bool>| async move {
        let _ = s.changed().await;
    };
    let followed =
        |flag: &std::sync::atomic::AtomicBool| flag.load(std::sync::atomic::Ordering::Relaxed);
    let records = {
        let (ctx, stopped) = (ctx.clone(), signal(stopped.clone()));
        async move {
            if followed(&ctx.cache.records_followed) {
                control::<Nonconformity>(ctx, stopped).await;
            }
        }
    };
    let incidents = {
        let (ctx, stopped) = (ctx.clone(), signal(stopped.clone()));
        async move {
            if followed(&ctx.cache.incidents_followed) {
                control::<AIIncident>(ctx, stopped).await;
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
        control::<AISystem>(ctx.clone(), signal(stopped.clone())),
        control::<ImpactAssessment>(ctx.clone(), signal(stopped.clone())),
        control::<ControlBinding>(ctx, signal(stopped)),
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
