//! Prometheus metrics of the cluster's AI management system: the AIMS objectives as gauges,
//! refreshed from the cache at each scrape by the same engine. The reconciler registers its
//! own (`reconciler::metrics`), the webhook its own (`webhook::metrics`).

use std::sync::atomic::AtomicU64;

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::engine::Snapshot;
use crate::engine::objectives::objectives;
use crate::policy::Policy;

/// Labels naming one object.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Labels of a per-namespace metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabels {
    /// Namespace.
    pub namespace: String,
}

/// Labels of the nonconformity record and AI incident counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RecordLabels {
    /// Namespace.
    pub namespace: String,
    /// Major or Minor.
    pub severity: String,
    /// Open, Closed or Reopened.
    pub phase: String,
}

/// Handles of the AIMS and reconciler metrics; cheap to clone.
#[derive(Clone)]
pub struct ClusterMetrics {
    compliant: Family<ObjectLabels, Gauge>,
    expiry: Family<ObjectLabels, FloatGauge>,
    high_risk_assessed: FloatGauge,
    reviewed_on_schedule: FloatGauge,
    training_data_documented: FloatGauge,
    disclosed_to_users: FloatGauge,
    corrective_actions_on_time: FloatGauge,
    open_nonconformities: Gauge,
    review_actions_overdue: Gauge,
    records: Family<RecordLabels, Gauge>,
    actions_overdue: Family<NamespaceLabels, Gauge>,
    incidents: Family<RecordLabels, Gauge>,
    reports_overdue: Family<NamespaceLabels, Gauge>,
    /// Unlabelled, present only once measured (no incident yet: no value, not zero).
    time_to_detect: Family<Vec<(String, String)>, FloatGauge>,
    time_to_resolve: Family<Vec<(String, String)>, FloatGauge>,
}

impl ClusterMetrics {
    /// Creates the metrics and registers them under `aims_` in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            compliant: Family::default(),
            expiry: Family::default(),
            high_risk_assessed: FloatGauge::default(),
            reviewed_on_schedule: FloatGauge::default(),
            training_data_documented: FloatGauge::default(),
            disclosed_to_users: FloatGauge::default(),
            corrective_actions_on_time: FloatGauge::default(),
            open_nonconformities: Gauge::default(),
            review_actions_overdue: Gauge::default(),
            records: Family::default(),
            actions_overdue: Family::default(),
            incidents: Family::default(),
            reports_overdue: Family::default(),
            time_to_detect: Family::default(),
            time_to_resolve: Family::default(),
        };
        let aims = registry.sub_registry_with_prefix("aims");
        aims.register(
            "system_compliant",
            "1 when every condition of the AI system holds",
            metrics.compliant.clone(),
        );
        aims.register(
            "assessment_expiry_timestamp_seconds",
            "When an approved impact assessment expires, as a Unix time (alert on the value minus time())",
            metrics.expiry.clone(),
        );
        aims.register(
            "objective_high_risk_assessed_ratio",
            "Share of High-risk AI systems whose deployed models a current approved assessment covers",
            metrics.high_risk_assessed.clone(),
        );
        aims.register(
            "objective_reviewed_on_schedule_ratio",
            "Share of AI systems reviewed within their review interval",
            metrics.reviewed_on_schedule.clone(),
        );
        aims.register(
            "objective_training_data_documented_ratio",
            "Share of AI systems that document their training data",
            metrics.training_data_documented.clone(),
        );
        aims.register(
            "objective_disclosed_to_users_ratio",
            "Share of Limited- and High-risk AI systems that state how their users are told they deal with AI",
            metrics.disclosed_to_users.clone(),
        );
        aims.register(
            "objective_corrective_actions_on_time_ratio",
            "Share of nonconformity corrective actions with a due date closed by it or not yet due",
            metrics.corrective_actions_on_time.clone(),
        );
        aims.register(
            "management_review_actions_overdue",
            "Actions decided at management reviews, not completed and past their due date",
            metrics.review_actions_overdue.clone(),
        );
        aims.register(
            "open_nonconformities",
            "Running labelled workloads the engine would refuse now (drift, expiry, break-glass)",
            metrics.open_nonconformities.clone(),
        );
        aims.register(
            "nonconformity_records",
            "Nonconformity records by namespace, severity and phase (Open, Closed, Reopened)",
            metrics.records.clone(),
        );
        aims.register(
            "nonconformity_actions_overdue",
            "Open nonconformity records whose corrective action is past its due date, by namespace",
            metrics.actions_overdue.clone(),
        );
        aims.register(
            "ai_incidents",
            "AI incidents by namespace, severity and phase (Open, Resolved)",
            metrics.incidents.clone(),
        );
        aims.register(
            "ai_incident_reports_overdue",
            "Serious AI incidents whose report to the authority is past its deadline or was late, by namespace",
            metrics.reports_overdue.clone(),
        );
        aims.register(
            "objective_mean_time_to_detect_seconds",
            "Mean time from an AI incident's occurrence to its detection",
            metrics.time_to_detect.clone(),
        );
        aims.register(
            "objective_mean_time_to_resolve_seconds",
            "Mean time from an AI incident's detection to its resolution",
            metrics.time_to_resolve.clone(),
        );
        metrics
    }

    /// Recomputes the objective gauges from `snapshot` at `now`.
    pub fn refresh(&self, snapshot: &Snapshot, policy: &Policy, now: Timestamp) {
        let o = objectives(snapshot, policy, now);
        self.compliant.clear();
        for s in &o.systems {
            self.compliant
                .get_or_create(&ObjectLabels {
                    namespace: s.namespace.clone(),
                    name: s.name.clone(),
                })
                .set(i64::from(s.compliant));
        }
        self.expiry.clear();
        for e in &o.expiries {
            self.expiry
                .get_or_create(&ObjectLabels {
                    namespace: e.namespace.clone(),
                    name: e.name.clone(),
                })
                // The instant, not the countdown: the series changes only when the
                // expiry does, and alerts subtract time() as for certificates.
                .set(now.as_second() as f64 + e.seconds.round());
        }
        self.high_risk_assessed.set(o.high_risk_assessed);
        self.reviewed_on_schedule.set(o.reviewed_on_schedule);
        self.training_data_documented
            .set(o.training_data_documented);
        self.disclosed_to_users.set(o.disclosed_to_users);
        self.corrective_actions_on_time
            .set(o.corrective_actions_on_time);
        self.open_nonconformities
            .set(i64::try_from(o.open_nonconformities).unwrap_or(i64::MAX));
        self.records.clear();
        self.actions_overdue.clear();
        for row in crate::nonconformities::register(snapshot, policy, now) {
            self.records
                .get_or_create(&RecordLabels {
                    namespace: row.namespace.clone(),
                    severity: row.severity.clone(),
                    phase: row.phase.clone(),
                })
                .inc();
            if row.overdue {
                self.actions_overdue
                    .get_or_create(&NamespaceLabels {
                        namespace: row.namespace,
                    })
                    .inc();
            }
        }
        self.refresh_incidents(snapshot, policy, now, &o);
        let overdue = snapshot
            .reviews()
            .filter(|r| r.spec.held_at <= now)
            .flat_map(|r| &r.spec.actions)
            .filter(|a| a.is_overdue(now))
            .count();
        self.review_actions_overdue
            .set(i64::try_from(overdue).unwrap_or(i64::MAX));
    }

    fn refresh_incidents(
        &self,
        snapshot: &Snapshot,
        policy: &Policy,
        now: Timestamp,
        o: &crate::engine::objectives::Objectives,
    ) {
        self.incidents.clear();
        self.reports_overdue.clear();
        for row in crate::incidents::log(snapshot, policy, now) {
            self.incidents
                .get_or_create(&RecordLabels {
                    namespace: row.namespace.clone(),
                    severity: row.severity.clone(),
                    phase: row.phase.clone(),
                })
                .inc();
            if crate::incidents::report_overdue(&row) {
                self.reports_overdue
                    .get_or_create(&NamespaceLabels {
                        namespace: row.namespace,
                    })
                    .inc();
            }
        }
        for (family, value) in [
            (&self.time_to_detect, o.mean_time_to_detect),
            (&self.time_to_resolve, o.mean_time_to_resolve),
        ] {
            family.clear();
            if let Some(seconds) = value {
                family.get_or_create(&Vec::new()).set(seconds);
            }
        }
    }
}
