//! The snapshot's running workloads and Prometheus Operator monitors: what the reconciler
//! finds a system's workloads by, what a `scale` request is judged against, and which
//! monitors scrape which systems.

use std::sync::Arc;

use super::{DEFAULT_NAMESPACE, Snapshot, Workload};

/// A ServiceMonitor or PodMonitor, reduced to what ties it to AI systems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    /// `ServiceMonitor` or `PodMonitor`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Systems it is tied to: the `aims.io/system` label on the monitor itself or in its
    /// `spec.selector.matchLabels`.
    pub systems: Vec<String>,
}

impl Monitor {
    /// Reads a monitor object (JSON); `None` when it has no name.
    pub fn from_value(kind: &str, object: &serde_json::Value) -> Option<(String, Self)> {
        let text = |p: &str| object.pointer(p).and_then(serde_json::Value::as_str);
        let name = text("/metadata/name")?.to_string();
        let namespace = text("/metadata/namespace")
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string();
        let label = format!("/{}", crate::resources::SYSTEM_LABEL.replace('/', "~1"));
        let mut systems: Vec<String> = [
            format!("/metadata/labels{label}"),
            format!("/spec/selector/matchLabels{label}"),
        ]
        .iter()
        .filter_map(|p| text(p).map(str::to_string))
        .collect();
        systems.dedup();
        Some((
            namespace,
            Self {
                kind: kind.to_string(),
                name,
                systems,
            },
        ))
    }
}

/// The (namespace, system label) a workload is indexed under; an unlabelled one under the
/// empty name, where a system finds those that run its artifacts.
fn system_of(workload: &Workload) -> Option<(String, String)> {
    match workload.label(crate::resources::SYSTEM_LABEL) {
        Ok(system) => Some((
            workload.namespace.to_string(),
            system.unwrap_or_default().to_string(),
        )),
        Err(_) => None,
    }
}

impl Snapshot {
    /// Adds (or replaces) a running workload, as last written to the cluster. The webhook
    /// judges a `scale` request against it; the reconciler finds a system's workloads here.
    pub fn add_workload(&mut self, mut workload: Workload<'_>) {
        // Serving signals judge unlabelled workloads at admission only; the cache holds many
        // workloads and none needs them again.
        workload.signals = Vec::new();
        let workload = workload.into_owned();
        let key = (
            workload.kind.to_string(),
            workload.namespace.to_string(),
            workload.name.to_string(),
        );
        self.remove_workload(&key.0, &key.1, &key.2);
        if let Some(system) = system_of(&workload) {
            self.workloads_by_system
                .entry(system)
                .or_default()
                .insert(key.clone());
        }
        self.workloads.insert(key, Arc::new(workload));
    }

    /// Removes a workload.
    pub fn remove_workload(&mut self, kind: &str, namespace: &str, name: &str) {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        if let Some(old) = self.workloads.remove(&key)
            && let Some(system) = system_of(&old)
            && let Some(keys) = self.workloads_by_system.get_mut(&system)
        {
            keys.remove(&key);
            if keys.is_empty() {
                self.workloads_by_system.remove(&system);
            }
        }
    }

    /// Forgets every workload of `kind` (before a relist replaces them).
    pub fn clear_workloads(&mut self, kind: &str) {
        self.workloads.retain(|(k, _, _), _| k != kind);
        for keys in self.workloads_by_system.values_mut() {
            keys.retain(|(k, _, _)| k != kind);
        }
        self.workloads_by_system.retain(|_, keys| !keys.is_empty());
    }

    /// The cached workloads of system `name` in `namespace`, by kind and name: those labelled
    /// as its own, then the unlabelled ones that run one of its declared artifacts (the
    /// admission judges those as the system's too).
    pub fn workloads_of(&self, namespace: &str, name: &str) -> Vec<&Workload<'static>> {
        let indexed = |system: &str| {
            self.workloads_by_system
                .get(&(namespace.to_string(), system.to_string()))
                .into_iter()
                .flatten()
                .filter_map(|key| self.workloads.get(key).map(Arc::as_ref))
        };
        let models = self
            .system(namespace, name)
            .map(|s| s.spec.models.as_slice())
            .unwrap_or_default();
        let unlabelled = indexed("").filter(|w| {
            !models.is_empty() && crate::engine::artifact::first_run(w, models).is_some()
        });
        indexed(name).chain(unlabelled).collect()
    }

    /// Adds (or replaces) a monitor in `namespace`, and marks monitors as followed.
    pub fn add_monitor(&mut self, namespace: &str, monitor: Monitor) {
        self.facts_generation += 1;
        self.monitors_known = true;
        self.remove_monitor(namespace, &monitor.kind, &monitor.name);
        self.monitors
            .entry(namespace.to_string())
            .or_default()
            .push(monitor);
    }

    /// Removes a monitor.
    pub fn remove_monitor(&mut self, namespace: &str, kind: &str, name: &str) {
        self.facts_generation += 1;
        if let Some(list) = self.monitors.get_mut(namespace) {
            list.retain(|m| !(m.kind == kind && m.name == name));
        }
    }

    /// Forgets every monitor of `kind`; monitors stay followed.
    pub fn clear_monitors(&mut self, kind: &str) {
        self.facts_generation += 1;
        self.monitors_known = true;
        for list in self.monitors.values_mut() {
            list.retain(|m| m.kind != kind);
        }
    }

    /// The systems the cached monitor `kind`/`name` in `namespace` is tied to.
    pub fn monitor_systems(&self, namespace: &str, kind: &str, name: &str) -> Vec<String> {
        self.monitors
            .get(namespace)
            .and_then(|list| list.iter().find(|m| m.kind == kind && m.name == name))
            .map(|m| m.systems.clone())
            .unwrap_or_default()
    }

    /// Whether monitors are followed where `namespace` is: only then can "monitoring in
    /// place" be checked there.
    pub fn monitors_known_in(&self, namespace: &str) -> bool {
        self.monitors_known
            && self.monitors_only_under.as_ref().is_none_or(|prefixes| {
                prefixes
                    .iter()
                    .any(|prefix| namespace.starts_with(prefix.as_str()))
            })
    }

    /// Follows monitors only in the namespaces under `prefixes` (each `context/`): a
    /// reading merged from several clusters, of which only these serve the Prometheus
    /// Operator's monitors. A cluster without them has its systems judged as its own
    /// webhook judges them, with no monitor required.
    pub fn follow_monitors_only_under(&mut self, prefixes: Vec<String>) {
        self.facts_generation += 1;
        self.monitors_known = !prefixes.is_empty();
        self.monitors_only_under = Some(prefixes);
    }

    /// A monitor in `namespace` tied to AI system `system`.
    pub fn monitor_for(&self, namespace: &str, system: &str) -> Option<&Monitor> {
        self.monitors
            .get(namespace)?
            .iter()
            .find(|m| m.systems.iter().any(|s| s == system))
    }

    /// Every cached workload, in no particular order.
    pub fn workloads(&self) -> impl Iterator<Item = &Workload<'static>> {
        self.workloads.values().map(Arc::as_ref)
    }

    /// The workload of `kind` named `name` in `namespace`, when known.
    pub fn workload(&self, kind: &str, namespace: &str, name: &str) -> Option<&Workload<'static>> {
        self.workloads
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .map(Arc::as_ref)
    }
}
