//! The snapshot's nonconformity records: kept beside the register, read by nothing that
//! decides admission.

use std::sync::Arc;

use kube::ResourceExt;

use super::Snapshot;
use crate::resources::Nonconformity;

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
}
