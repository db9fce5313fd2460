//! The AIMS kinds whose status the reconciler keeps, looked up in the register by namespace
//! and name: the register is the only copy of them the operator holds, and the reconciler
//! takes each object it reconciles from here.

use std::sync::Arc;

use super::{Snapshot, name_of, namespace_of, object_key};
use crate::resources::{AIIncident, AISystem, ControlBinding, ImpactAssessment, Nonconformity};

/// A kind the register holds shared, by namespace and name.
pub trait Held: Sized {
    /// The object `name` in `namespace`, if held.
    fn held(snapshot: &Snapshot, namespace: &str, name: &str) -> Option<Arc<Self>>;
    /// The namespace and name of every object of the kind held.
    fn every(snapshot: &Snapshot) -> Vec<(String, String)>;
}

/// (namespace, name) of each object.
fn names<'a, K: kube::ResourceExt + 'a>(
    objects: impl IntoIterator<Item = &'a K>,
) -> Vec<(String, String)> {
    objects
        .into_iter()
        .map(|object| (namespace_of(object), name_of(object).to_string()))
        .collect()
}

impl Held for AISystem {
    fn held(snapshot: &Snapshot, namespace: &str, name: &str) -> Option<Arc<Self>> {
        snapshot.entry(namespace, name)?.system.clone()
    }
    fn every(snapshot: &Snapshot) -> Vec<(String, String)> {
        names(snapshot.systems())
    }
}

impl Held for ImpactAssessment {
    fn held(snapshot: &Snapshot, namespace: &str, name: &str) -> Option<Arc<Self>> {
        let system = snapshot.assessment_system(namespace, name)?;
        snapshot
            .assessments_for(namespace, system)
            .iter()
            .find(|held| name_of(held.object().as_ref()) == name)
            .map(|held| held.object().clone())
    }
    fn every(snapshot: &Snapshot) -> Vec<(String, String)> {
        names(snapshot.assessments())
    }
}

impl Held for ControlBinding {
    fn held(snapshot: &Snapshot, namespace: &str, name: &str) -> Option<Arc<Self>> {
        let seq = snapshot.binding_seq.get(&object_key(namespace, name))?;
        snapshot.bindings.get(seq).cloned()
    }
    fn every(snapshot: &Snapshot) -> Vec<(String, String)> {
        names(snapshot.bindings())
    }
}

/// A record kept by (namespace, name).
fn record<T>(
    records: &std::collections::BTreeMap<(String, String), Arc<T>>,
    namespace: &str,
    name: &str,
) -> Option<Arc<T>> {
    records
        .get(&(namespace.to_string(), name.to_string()))
        .cloned()
}

impl Held for Nonconformity {
    fn held(snapshot: &Snapshot, namespace: &str, name: &str) -> Option<Arc<Self>> {
        record(&snapshot.nonconformities, namespace, name)
    }
    fn every(snapshot: &Snapshot) -> Vec<(String, String)> {
        names(snapshot.nonconformities())
    }
}

impl Held for AIIncident {
    fn held(snapshot: &Snapshot, namespace: &str, name: &str) -> Option<Arc<Self>> {
        record(&snapshot.incidents, namespace, name)
    }
    fn every(snapshot: &Snapshot) -> Vec<(String, String)> {
        names(snapshot.incidents())
    }
}
