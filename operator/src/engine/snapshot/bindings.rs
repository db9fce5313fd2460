//! The register's ControlBindings: each indexed by the systems it binds (or by its namespace,
//! when it binds them all), and in the order added for the SoA.

use std::sync::Arc;

use kube::ResourceExt;

use super::{Snapshot, namespace_of, object_key};
use crate::resources::{ControlBinding, ShrinkToFit};

impl Snapshot {
    /// Removes the control binding `name` in `namespace` from every index.
    pub fn remove_binding(&mut self, namespace: &str, name: &str) {
        self.facts_generation += 1;
        let Some(old) = self
            .binding_seq
            .remove(&object_key(namespace, name))
            .and_then(|seq| self.bindings.remove(&seq))
        else {
            return;
        };
        let other = |b: &Arc<ControlBinding>| !Arc::ptr_eq(b, &old);
        if let Some(list) = self.bindings_for_all.get_mut(namespace) {
            list.retain(other);
        }
        for system in &old.spec.systems {
            self.change_entry(namespace, system, |entry| entry.bindings.retain(other));
        }
    }

    /// Adds (or replaces) a control binding, indexed by each system it binds.
    pub fn add_binding(&mut self, mut binding: ControlBinding) {
        binding.spec.shrink_to_fit();
        self.add_shared_binding(Arc::new(binding));
    }

    /// Adds (or replaces) a control binding already in its own allocation (the
    /// cache's, as it was listed).
    pub fn add_shared_binding(&mut self, binding: Arc<ControlBinding>) {
        self.facts_generation += 1;
        let ns = namespace_of(&*binding);
        self.remove_binding(&ns, &binding.name_any());
        if binding.spec.all_systems == Some(true) {
            self.bindings_for_all
                .entry(ns.clone())
                .or_default()
                .push(binding.clone());
        }
        for system in &binding.spec.systems {
            self.entry_mut(ns.clone(), system)
                .bindings
                .push(binding.clone());
        }
        self.binding_seq
            .insert(object_key(&ns, &binding.name_any()), self.next_seq);
        self.bindings.insert(self.next_seq, binding);
        self.next_seq += 1;
    }

    /// Forgets every control binding (before a relist replaces them).
    pub fn clear_bindings(&mut self) {
        self.facts_generation += 1;
        self.bindings.clear();
        self.binding_seq.clear();
        self.bindings_for_all.clear();
        self.change_every_entry(|entry| entry.bindings.clear());
    }

    /// The cached control binding `name` in `namespace`.
    pub fn binding(&self, namespace: &str, name: &str) -> Option<&ControlBinding> {
        self.binding_seq
            .get(&object_key(namespace, name))
            .and_then(|seq| self.bindings.get(seq))
            .map(Arc::as_ref)
    }

    /// Control bindings that bind system `name` in `namespace` (by name or to all systems).
    pub fn bindings_for(
        &self,
        namespace: &str,
        system: &str,
    ) -> impl Iterator<Item = &ControlBinding> {
        let named = self
            .entry(namespace, system)
            .into_iter()
            .flat_map(|entry| &entry.bindings);
        let all = self.bindings_for_all.get(namespace).into_iter().flatten();
        let organisation = self
            .organisation
            .as_ref()
            .filter(|(aims, _)| aims.spec.covers(namespace, system))
            .map(|(_, binding)| binding);
        named.chain(all).chain(organisation).map(Arc::as_ref)
    }

    /// Every control binding, in the order added.
    pub fn bindings(&self) -> impl Iterator<Item = &ControlBinding> {
        self.bindings.values().map(Arc::as_ref)
    }
}
