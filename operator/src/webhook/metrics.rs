//! Prometheus metrics of the webhook: decisions by result, findings by rule, latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one admission decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// Which webhook answered: `workloads`, `aims-mutate` or `aims-validate`.
    pub webhook: &'static str,
    /// `allowed`, `denied`, `warned`, `audited`, `break_glass`, `not_judged`, `invalid`.
    pub result: &'static str,
}

/// Labels of one failing rule in one decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// Rule ID, e.g. `AIMS-003`.
    pub rule: &'static str,
    /// The decision's result.
    pub result: &'static str,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// Which webhook answered.
    pub webhook: &'static str,
}

/// Labels of a certificate's expiry.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabels {
    /// `serving` (the certificate this replica presents) or `ca` (the newest self-managed CA).
    pub certificate: &'static str,
}

/// What a review can end in, as the `result` label spells it.
pub const RESULTS: [&str; 9] = [
    "allowed",
    "denied",
    "warned",
    "audited",
    "break_glass",
    "not_judged",
    "invalid",
    "error",
    "recorded",
];

/// One webhook's decision counters and latency histogram, resolved once: a review then counts
/// without hashing a label set under the family's lock.
#[derive(Clone)]
pub struct EndpointMetrics {
    decisions: [Counter; RESULTS.len()],
    latency: Histogram,
    webhook: &'static str,
    family: Family<DecisionLabels, Counter>,
}

impl EndpointMetrics {
    /// Counts one decision.
    pub fn decided(&self, result: &'static str) {
        match RESULTS.iter().position(|r| *r == result) {
            Some(at) => self.decisions[at].inc(),
            None => self
                .family
                .get_or_create(&DecisionLabels {
                    webhook: self.webhook,
                    result,
                })
                .inc(),
        };
    }

    /// Records how long one review took.
    pub fn took(&self, seconds: f64) {
        self.latency.observe(seconds);
    }
}

fn latency_histogram() -> Histogram {
    // 25 µs .. ~0.4 s: the engine answers in microseconds, the API server waits up to 10 s.
    Histogram::new(exponential_buckets(0.000_025, 2.0, 15))
}

/// The webhook's metric handles; cheap to clone.
#[derive(Clone)]
pub struct WebhookMetrics {
    /// Decisions by webhook and result.
    pub decisions: Family<DecisionLabels, Counter>,
    /// Failing rules by rule and result.
    pub findings: Family<RuleLabels, Counter>,
    /// Seconds from reading the body to writing the answer.
    pub latency: Family<WebhookLabels, Histogram, fn() -> Histogram>,
    /// AIMS objects held in the cache.
    pub cached_objects: Gauge,
    /// Expiry of the serving certificate and the self-managed CA, in Unix seconds.
    pub certificate_expiry: Family<CertificateLabels, Gauge>,
}

impl WebhookMetrics {
    /// Creates the metrics and registers them under `aims_webhook_` in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            decisions: Family::default(),
            findings: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            cached_objects: Gauge::default(),
            certificate_expiry: Family::default(),
        };
        let sub = registry.sub_registry_with_prefix("aims_webhook");
        sub.register(
            "decisions",
            "Admission decisions by webhook and result",
            metrics.decisions.clone(),
        );
        sub.register(
            "findings",
            "Failing rules in admission decisions, by rule and result",
            metrics.findings.clone(),
        );
        sub.register(
            "duration_seconds",
            "Time to answer one admission review",
            metrics.latency.clone(),
        );
        sub.register(
            "cached_objects",
            "AISystems, ImpactAssessments and ControlBindings held in the webhook's cache",
            metrics.cached_objects.clone(),
        );
        sub.register(
            "certificate_expiry_timestamp_seconds",
            "When the serving certificate (and, when self-managed, the newest CA) expires, in Unix seconds",
            metrics.certificate_expiry.clone(),
        );
        metrics
    }

    /// The counters and histogram of one webhook, resolved now (and shown at zero from now).
    pub fn endpoint(&self, webhook: &'static str) -> EndpointMetrics {
        EndpointMetrics {
            decisions: RESULTS.map(|result| {
                self.decisions
                    .get_or_create(&DecisionLabels { webhook, result })
                    .clone()
            }),
            latency: self
                .latency
                .get_or_create(&WebhookLabels { webhook })
                .clone(),
            webhook,
            family: self.decisions.clone(),
        }
    }

    /// Records when a certificate expires.
    pub fn certificate_expires(&self, certificate: &'static str, not_after: jiff::Timestamp) {
        self.certificate_expiry
            .get_or_create(&CertificateLabels { certificate })
            .set(not_after.as_second());
    }
}
