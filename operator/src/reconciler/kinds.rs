//! The AIMS kinds whose status the reconciler keeps, and what each one's reconcile does
//! beside its status: the events it records, the Report it publishes, the nonconformity
//! records it opens.

use jiff::Timestamp;
use kube::core::NamespaceResourceScope;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::status::{
    NeedsWrite, desired_assessment_status, desired_binding_status, desired_system_status,
};
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
