//! The reconciler's own metrics, registered by the reconciler beside the webhook's: how many
//! reconciles of each kind wrote, changed nothing or failed, how long each took, and what
//! its periodic discovery found.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    /// Kind reconciled.
    kind: &'static str,
    /// `written`, `unchanged` or `error`.
    result: &'static str,
}

/// Labels of the reconcile duration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    /// Kind reconciled.
    kind: &'static str,
}

/// Labels of a per-namespace count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    namespace: String,
}

fn reconcile_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Reconcile counts and durations.
#[derive(Clone, Debug)]
pub struct ReconcilerMetrics {
    reconciles: Family<ReconcileLabels, Counter>,
    durations: Family<KindLabels, Histogram, fn() -> Histogram>,
    unregistered: Family<NamespaceLabels, Gauge>,
}

impl ReconcilerMetrics {
    /// Creates the metrics and registers them under `aims_` in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reconciles: Family::default(),
            durations: Family::new_with_constructor(reconcile_histogram),
            unregistered: Family::default(),
        };
        let aims = registry.sub_registry_with_prefix("aims");
        aims.register(
            "reconciles",
            "Reconciles by kind and result",
            metrics.reconciles.clone(),
        );
        aims.register(
            "reconcile_duration_seconds",
            "Time to reconcile one object",
            metrics.durations.clone(),
        );
        aims.register(
            "unregistered_model_workloads",
            "Model-serving workloads no AISystem covers, by namespace (kubectl aims discover lists them)",
            metrics.unregistered.clone(),
        );
        metrics
    }

    /// Counts one reconcile of `kind` that ended in `result` after `seconds`.
    pub(crate) fn record(&self, kind: &'static str, result: &'static str, seconds: f64) {
        self.reconciles
            .get_or_create(&ReconcileLabels { kind, result })
            .inc();
        self.durations
            .get_or_create(&KindLabels { kind })
            .observe(seconds);
    }

    /// Sets the count of unregistered model-serving workloads per namespace from a
    /// discovery round (namespaces with none drop out).
    pub fn set_unregistered(&self, found: &[crate::discover::Discovery]) {
        self.unregistered.clear();
        for d in found {
            self.unregistered
                .get_or_create(&NamespaceLabels {
                    namespace: d.namespace.clone(),
                })
                .inc();
        }
    }
}
