//! The organisation's AI management system in the snapshot: its scope, and its
//! organisation-wide controls as a binding every system in scope reads beside its own.

use std::sync::Arc;

use kube::ResourceExt;

use super::{Snapshot, namespace_of};
use crate::resources::{AIManagementSystem, AISystem, ControlBinding};

impl Snapshot {
    /// Records the organisation's AI management system (replacing the one before). Its
    /// controls count for every AI system in its scope, the organisational ones only.
    pub fn set_organisation(&mut self, aims: AIManagementSystem) {
        self.facts_generation += 1;
        let controls = aims
            .spec
            .controls
            .iter()
            .filter(|c| crate::catalog::is_organisational(&c.id))
            .cloned()
            .collect();
        let mut binding = ControlBinding::new(
            &format!("AIManagementSystem/{}", aims.name_any()),
            crate::resources::ControlBindingSpec {
                systems: Vec::new(),
                all_systems: Some(true),
                controls,
            },
        );
        binding.metadata.annotations = aims.metadata.annotations.clone();
        self.organisation = Some((Arc::new(aims), Arc::new(binding)));
    }

    /// Forgets the organisation's AI management system.
    pub fn clear_organisation(&mut self) {
        self.facts_generation += 1;
        self.organisation = None;
    }

    /// The organisation's AI management system, when there is one.
    pub fn organisation(&self) -> Option<&AIManagementSystem> {
        self.organisation.as_ref().map(|(aims, _)| aims.as_ref())
    }

    /// The organisation-wide controls, as the binding systems in scope read.
    pub fn organisation_binding(&self) -> Option<&ControlBinding> {
        self.organisation
            .as_ref()
            .map(|(_, binding)| binding.as_ref())
    }

    /// Whether `system` is in the AI management system's scope (every system is, while
    /// there is no AIManagementSystem).
    pub fn in_scope(&self, system: &AISystem) -> bool {
        self.organisation().is_none_or(|aims| {
            aims.spec
                .covers(&namespace_of(system), system.name_any().as_str())
        })
    }
}
