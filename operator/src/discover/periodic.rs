//! The operator's discovery: every interval, while this replica leads, the cluster's
//! workloads are listed page by page and judged against the cache's register; the count per
//! namespace goes to the metric `aims_unregistered_model_workloads` and, where OpenReports is
//! served, to a Report `aims-discovery` in the namespace; each workload that is newly found
//! (or gone) is logged once, with why. The first round waits for the cache's first lists.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};

use super::discover;
use super::live::discover_pages;
use crate::reconciler::ReconcileContext;

/// Runs discovery every `every` until `shutdown` resolves.
pub async fn keep_discovering(
    ctx: Arc<ReconcileContext>,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    // Judged against half a register, every registered workload would look unregistered:
    // nothing is counted or reported until every kind has been listed.
    tokio::select! {
        _ = ctx.cache.synced() => {}
        _ = &mut shutdown => return,
    }
    let mut known: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    loop {
        let round = discover_pages(&ctx.client, None, |page| {
            ctx.cache
                .read(|snapshot| discover(snapshot, page.iter(), &ctx.policy))
        });
        match round.await {
            Ok(found) => {
                let now: BTreeSet<(String, String, String)> = found
                    .iter()
                    .map(|d| (d.kind.clone(), d.namespace.clone(), d.name.clone()))
                    .collect();
                for d in found.iter().filter(|d| {
                    !known.contains(&(d.kind.clone(), d.namespace.clone(), d.name.clone()))
                }) {
                    tracing::warn!(kind = %d.kind, namespace = %d.namespace, name = %d.name,
                        why = %d.why, "model serving that no AISystem covers (kubectl aims discover drafts one)");
                }
                for (kind, namespace, name) in known.difference(&now) {
                    tracing::info!(%kind, %namespace, %name, "no longer unregistered model serving");
                }
                known = now;
                if let Some(metrics) = &ctx.metrics {
                    metrics.set_unregistered(&found);
                }
                reported = publish(&ctx, &found, reported).await;
            }
            Err(error) => tracing::warn!(%error, "discovery: the workloads could not be listed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut shutdown => return,
        }
    }
}

/// Where OpenReports Reports are served, writes the Report of every namespace with a
/// discovery, and empties those of namespaces that had one; returns the namespaces whose
/// Report lists something now.
async fn publish(
    ctx: &ReconcileContext,
    found: &[super::Discovery],
    reported: BTreeSet<String>,
) -> BTreeSet<String> {
    let Some(reports) = &ctx.reports else {
        return BTreeSet::new();
    };
    let now: BTreeSet<String> = found.iter().map(|d| d.namespace.clone()).collect();
    for namespace in now.union(&reported) {
        let report = super::report(namespace, found);
        let key = (namespace.clone(), super::REPORT_NAME.to_string());
        if !reports.changed(key.clone(), &report) {
            continue;
        }
        let api = Api::<DynamicObject>::namespaced_with(
            ctx.client.clone(),
            namespace,
            &crate::reconciler::report_resource(),
        );
        let params = PatchParams::apply(crate::reconciler::FIELD_MANAGER).force();
        if let Err(error) = api
            .patch(super::REPORT_NAME, &params, &Patch::Apply(&report))
            .await
        {
            reports.forget(&key);
            tracing::warn!(%error, %namespace, "discovery: the Report could not be written");
        }
    }
    now
}
