//! The AIMS kinds whose status the reconciler keeps, and what each one's reconcile does
//! beside its status: the events it records, the Report it publishes, the nonconformity
//! records it opens.

use jiff::Timestamp;
use kube::core::NamespaceResourceScope;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::kept::{KeptStatus, StatusContent, nonconformity_key};
use super::status::{
    desired_assessment_status_after, desired_binding_status_after, desired_system_status_after,
};
use crate::cache::ClusterCache;
use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::resources::{
    AIIncident, AIIncidentStatus, AISystem, AISystemStatus, ControlBinding, ControlBindingStatus,
    ImpactAssessment, ImpactAssessmentStatus, Nonconformity, NonconformityStatus,
};

/// An AIMS kind whose status the reconciler keeps.
pub trait Reconciled:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + crate::cache::Feed
    + crate::engine::snapshot::Held
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
    type Status: Serialize + StatusContent + Send + Sync;
    /// What is known of the stored status: kept by the cache for the kinds whose objects it
    /// holds without their status (a fingerprint only), else read from the object.
    fn kept(&self, cache: &ClusterCache) -> Option<KeptStatus>;
    /// What the reconciler reads of the status this object carries, timestamps included.
    fn carried(&self) -> Option<KeptStatus>;
    /// An OpenReports Report to publish for this object, if any.
    fn report(
        &self,
        _snapshot: &Snapshot,
        _policy: &Policy,
        _now: Timestamp,
    ) -> Option<serde_json::Value> {
        None
    }
    /// Events worth recording when `desired` replaces the `stored` status (reason, note).
    fn events(
        &self,
        _stored: Option<&KeptStatus>,
        _desired: &Self::Status,
    ) -> Vec<(&'static str, String)> {
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
    /// The status it should carry at `now` after the `stored` one, and when that changes by
    /// itself.
    fn desired(
        &self,
        snapshot: &Snapshot,
        stored: Option<&KeptStatus>,
        policy: &Policy,
        now: Timestamp,
    ) -> (Self::Status, Option<Timestamp>);
}

macro_rules! reconciled {
    ($kind:ty, $name:literal, $status:ty, $desired:expr) => {
        reconciled!(
            $kind,
            $name,
            $status,
            $desired,
            |_, _, _| Vec::new(),
            |_, _, _, _| None
        );
    };
    ($kind:ty, $name:literal, $status:ty, $desired:expr, $events:expr, $report:expr) => {
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
    ($kind:ty, $name:literal, $status:ty, $desired:expr, $events:expr, $report:expr, $records:expr) => {
        impl Reconciled for $kind {
            const KIND: &'static str = $name;
            type Status = $status;
            fn kept(&self, cache: &ClusterCache) -> Option<KeptStatus> {
                <Self as crate::cache::Feed>::tracked(cache)
                    .and_then(|store| store.kept(self))
                    .or_else(|| self.carried())
            }
            fn carried(&self) -> Option<KeptStatus> {
                self.status.as_ref().map(KeptStatus::of)
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
            fn events(
                &self,
                stored: Option<&KeptStatus>,
                desired: &Self::Status,
            ) -> Vec<(&'static str, String)> {
                let events: fn(
                    &$kind,
                    Option<&KeptStatus>,
                    &$status,
                ) -> Vec<(&'static str, String)> = $events;
                events(self, stored, desired)
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
                stored: Option<&KeptStatus>,
                policy: &Policy,
                now: Timestamp,
            ) -> (Self::Status, Option<Timestamp>) {
                let desired: fn(
                    &Snapshot,
                    &$kind,
                    Option<&KeptStatus>,
                    &Policy,
                    Timestamp,
                ) -> ($status, Option<Timestamp>) = $desired;
                desired(snapshot, self, stored, policy, now)
            }
        }
    };
}
reconciled!(
    AISystem,
    "AISystem",
    AISystemStatus,
    desired_system_status_after,
    |_: &AISystem, stored: Option<&KeptStatus>, desired: &AISystemStatus| {
        desired
            .nonconformities
            .iter()
            .filter(|n| {
                stored
                    .and_then(|k| k.time(nonconformity_key(&n.workload, &n.rules)))
                    .is_none()
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
    |snapshot, record, _, policy, now| crate::engine::nonconformity::desired_status(
        snapshot, record, policy, now
    )
);
reconciled!(
    AIIncident,
    "AIIncident",
    AIIncidentStatus,
    |snapshot, incident, _, policy, now| crate::engine::incident::desired_status(
        snapshot, incident, policy, now
    )
);
reconciled!(
    ImpactAssessment,
    "ImpactAssessment",
    ImpactAssessmentStatus,
    desired_assessment_status_after
);
reconciled!(
    ControlBinding,
    "ControlBinding",
    ControlBindingStatus,
    desired_binding_status_after
);
