//! The snapshot's records of the management system (nonconformities, AI incidents, internal
//! audits, management reviews): kept beside the register, read by nothing that decides
//! admission.

use std::sync::Arc;

use kube::ResourceExt;

use super::Snapshot;
use jiff::Timestamp;

use crate::resources::{AIIncident, InternalAudit, ManagementReview, Nonconformity};

impl Snapshot {
    /// Adds (or replaces) a nonconformity record.
    pub fn add_nonconformity(&mut self, record: Nonconformity) {
        self.add_shared_nonconformity(Arc::new(record));
    }

    /// Adds (or replaces) a nonconformity record already in its own allocation (the
    /// cache's, as it was listed).
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
        // Keyed by (namespace, name): only the namespace's records are read, not the
        // cluster's, since every system's reconcile asks.
        self.nonconformities
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, record)| record.as_ref())
            .filter(move |n| n.spec.system_ref.as_deref() == Some(system))
    }

    /// Adds (or replaces) an AI incident.
    pub fn add_incident(&mut self, incident: AIIncident) {
        self.add_shared_incident(Arc::new(incident));
    }

    /// Adds (or replaces) an AI incident already in its own allocation (the cache's, as it
    /// was listed).
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

    /// Adds (or replaces) an internal audit.
    pub fn add_audit(&mut self, audit: InternalAudit) {
        self.add_shared_audit(Arc::new(audit));
    }

    /// Adds (or replaces) an internal audit held elsewhere too (the cache's store).
    pub fn add_shared_audit(&mut self, audit: Arc<InternalAudit>) {
        self.audits.insert(audit.name_any(), audit);
    }

    /// Removes an internal audit.
    pub fn remove_audit(&mut self, name: &str) {
        self.audits.remove(name);
    }

    /// Forgets every internal audit.
    pub fn clear_audits(&mut self) {
        self.audits.clear();
    }

    /// Every internal audit, by name.
    pub fn audits(&self) -> impl Iterator<Item = &InternalAudit> {
        self.audits.values().map(Arc::as_ref)
    }

    /// Adds (or replaces) a management review.
    pub fn add_review(&mut self, review: ManagementReview) {
        self.reviews.insert(review.name_any(), Arc::new(review));
    }

    /// Removes a management review.
    pub fn remove_review(&mut self, name: &str) {
        self.reviews.remove(name);
    }

    /// Forgets every management review.
    pub fn clear_reviews(&mut self) {
        self.reviews.clear();
    }

    /// Every management review, by name.
    pub fn reviews(&self) -> impl Iterator<Item = &ManagementReview> {
        self.reviews.values().map(Arc::as_ref)
    }

    /// The latest management review held before `now` (ties: the last by name).
    pub fn latest_review(&self, now: Timestamp) -> Option<&ManagementReview> {
        self.reviews()
            .filter(|r| r.spec.held_at <= now)
            .max_by(|a, b| (a.spec.held_at, a.name_any()).cmp(&(b.spec.held_at, b.name_any())))
    }
}
