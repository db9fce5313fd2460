//! The snapshot's records of the management system (nonconformities and AI incidents): kept
//! beside the register, read by nothing that decides admission.

use std::sync::Arc;

use kube::ResourceExt;

use super::Snapshot;
use crate::resources::{AIIncident, Nonconformity};

impl Snapshot {
    /// Adds (or replaces) a nonconformity record.
    pub fn add_nonconformity(&mut self, record: Nonconformity) {
        self.add_shared_nonconformity(Arc::new(record));
    }

    /// Adds (or replaces) a nonconformity record held elsewhere too (the reconciler's store).
    pub fn add_shared_nonconformity(&mut self, record: Arc<Nonconformity>) {
        let key = (record.namespace().unwrap_or_default(), record.name_any());
        self.nonconformities.insert(key, record);
    }

    /// Removes a nonconformity record.
    pub fn remove_nonconformity(&mut self, namespace: &str, name: &str) {
        self.nonconformities
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// Forgets every nonconformity record.
    pub fn clear_nonconformities(&mut self) {
        self.nonconformities.clear();
    }

    /// One record, by namespace and name.
    pub fn nonconformity(&self, namespace: &str, name: &str) -> Option<&Nonconformity> {
        self.nonconformities
            .get(&(namespace.to_string(), name.to_string()))
            .map(Arc::as_ref)
    }

    /// Every record, by namespace and name.
    pub fn nonconformities(&self) -> impl Iterator<Item = &Nonconformity> {
        self.nonconformities.values().map(Arc::as_ref)
    }

    /// The records about AI system `system` in `namespace`.
    pub fn nonconformities_of<'s>(
        &'s self,
        namespace: &'s str,
        system: &'s str,
    ) -> impl Iterator<Item = &'s Nonconformity> {
        self.nonconformities().filter(move |n| {
            n.namespace().as_deref() == Some(namespace)
                && n.spec.system_ref.as_deref() == Some(system)
        })
    }

    /// Adds (or replaces) an AI incident.
    pub fn add_incident(&mut self, incident: AIIncident) {
        self.add_shared_incident(Arc::new(incident));
    }

    /// Adds (or replaces) an AI incident held elsewhere too (the reconciler's store).
    pub fn add_shared_incident(&mut self, incident: Arc<AIIncident>) {
        let key = (
            incident.namespace().unwrap_or_default(),
            incident.name_any(),
        );
        self.incidents.insert(key, incident);
    }

    /// Removes an AI incident.
    pub fn remove_incident(&mut self, namespace: &str, name: &str) {
        self.incidents
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// Forgets every AI incident.
    pub fn clear_incidents(&mut self) {
        self.incidents.clear();
    }

    /// Every AI incident, by namespace and name.
    pub fn incidents(&self) -> impl Iterator<Item = &AIIncident> {
        self.incidents.values().map(Arc::as_ref)
    }

    /// The incidents of AI system `system` in `namespace`.
    pub fn incidents_of<'s>(
        &'s self,
        namespace: &'s str,
        system: &'s str,
    ) -> impl Iterator<Item = &'s AIIncident> {
        // Keyed by (namespace, name): only the namespace's incidents are read, not the
        // cluster's, since every system's evaluation asks.
        self.incidents
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, incident)| incident.as_ref())
            .filter(move |i| i.spec.system_ref == system)
    }
}
