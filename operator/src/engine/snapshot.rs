//! An immutable, indexed view of the AIMS objects the engine decides against. In the cluster
//! it is fed from watch caches, offline from parsed files; the engine cannot tell which.

use std::collections::BTreeMap;

/// The register's maps hash with foldhash rather than SipHash: every admission looks a
/// namespace and a system up, and SipHash was a twentieth of the webhook's instructions.
/// Its per-process random seed keeps the minimal resistance to crafted keys that names
/// chosen by cluster users call for.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;

use jiff::Timestamp;
use kube::ResourceExt;

use super::Workload;

mod assessments;
mod bindings;
mod held;
mod organisation;
mod records;
mod workloads;

use super::facts::{FactsCell, SystemFacts};
use crate::policy::Policy;
use crate::resources::{
    AIManagementSystem, AISystem, ControlBinding, ENFORCEMENT_LABEL, EnforcementMode, ShrinkToFit,
};
pub use assessments::HeldAssessment;
pub use held::Held;
pub use workloads::Monitor;

/// The namespace of an object that names none, as `kubectl apply` with the default context
/// puts it. Every shell and every index reads namespace-less objects as being here.
pub const DEFAULT_NAMESPACE: &str = "default";

type ByName<T> = HashMap<String, T>;

/// One key for a namespaced object: `namespace/name` (neither may contain a `/`).
fn object_key(namespace: &str, name: &str) -> Box<str> {
    format!("{namespace}/{name}").into_boxed_str()
}
/// (kind, namespace, name) of a cached workload.
type WorkloadKey = (String, String, String);

/// Everything the engine knows about the cluster (or the files) at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Per namespace and system name: the system and what references it, so that a decision
    /// finds all of them in one place.
    register: HashMap<String, ByName<SystemEntry>>,
    /// System each assessment references, so that removal touches one list. Keyed by
    /// [`object_key`]: one allocation per entry instead of two, at 10,000 entries.
    assessment_system: HashMap<Box<str>, Box<str>>,
    bindings_for_all: HashMap<String, Vec<Arc<ControlBinding>>>,
    /// Every binding by insertion sequence (iteration in the order added).
    bindings: BTreeMap<u64, Arc<ControlBinding>>,
    /// Each binding's sequence, by [`object_key`].
    binding_seq: HashMap<Box<str>, u64>,
    next_seq: u64,
    /// For each namespace recorded, the mode its `aims.io/enforcement` label chooses (`None`:
    /// no such label, it has not opted in). Read from the labels once, when the namespace is
    /// recorded, rather than looked up among them at every decision.
    namespace_modes: HashMap<String, Option<EnforcementMode>>,
    workloads: HashMap<WorkloadKey, Arc<Workload<'static>>>,
    /// ServiceMonitors and PodMonitors by namespace, with the AI systems each is tied to.
    monitors: HashMap<String, Vec<Monitor>>,
    /// Whether monitors are followed at all (the Prometheus Operator CRDs exist, or the
    /// manifests contain monitors).
    monitors_known: bool,
    /// In a reading merged from several clusters, the namespace prefixes (`context/`) of the
    /// clusters that serve monitors: only there are they followed. `None`: wherever known.
    monitors_only_under: Option<Vec<String>>,
    /// Workload keys by (namespace, system label).
    workloads_by_system: HashMap<(String, String), std::collections::BTreeSet<WorkloadKey>>,
    /// Counts the changes remembered system facts may depend on: every change to an AI
    /// system, assessment, binding or monitor. Workloads and namespace labels do not count
    /// (no fact reads them), so a busy cluster's workload churn keeps the facts.
    facts_generation: u64,
    /// The policy facts are remembered for (see [`Snapshot::remember_facts_under`]): one
    /// address compare per decision tells it from any other. Decisions under another policy
    /// work everything out afresh.
    facts_policy: Option<Arc<Policy>>,
    /// The organisation's AI management system, with its organisation-wide controls as a
    /// binding that every system in its scope reads beside its own.
    organisation: Option<(Arc<AIManagementSystem>, Arc<ControlBinding>)>,
    /// Nonconformity records by (namespace, name). No decision reads them: they are kept for
    /// the registers, the evidence and the operator that opens them.
    nonconformities: BTreeMap<(String, String), Arc<crate::resources::Nonconformity>>,
    /// AI incident records by (namespace, name): read for the systems' open-incident
    /// condition, the registers and the objectives, never by admission.
    incidents: BTreeMap<(String, String), Arc<crate::resources::AIIncident>>,
    /// Internal audits by name: their findings name the nonconformity records the operator
    /// opens for AI systems.
    audits: BTreeMap<String, Arc<crate::resources::InternalAudit>>,
    /// Management reviews by name, for the next review's inputs and the objectives' trends.
    reviews: BTreeMap<String, Arc<crate::resources::ManagementReview>>,
}

/// What the register holds under one system name in a namespace: the system, when it exists,
/// and the assessments and bindings that name it (which may exist before it does).
#[derive(Clone, Debug, Default)]
struct SystemEntry {
    system: Option<Arc<AISystem>>,
    /// Sorted by name.
    assessments: Vec<HeldAssessment>,
    bindings: Vec<Arc<ControlBinding>>,
    /// What the last decision worked out about the system regardless of its workload.
    facts: FactsCell,
}

/// A registered system as a decision needs it: the system, its assessments (sorted by name)
/// and its workload-independent facts.
pub(crate) struct Registered<'s> {
    /// The system.
    pub system: &'s AISystem,
    /// The assessments that reference it, in the order the facts' approvals are recorded.
    pub assessments: &'s [HeldAssessment],
    /// What holds for it whatever the workload, remembered or worked out just now.
    pub facts: Arc<SystemFacts>,
}

impl SystemEntry {
    fn is_empty(&self) -> bool {
        self.system.is_none() && self.assessments.is_empty() && self.bindings.is_empty()
    }
}

/// An object's name, as `ResourceExt::name_any` gives it but borrowed: the admission path
/// reads several per decision.
pub(crate) fn name_of<K: ResourceExt>(object: &K) -> &str {
    let meta = object.meta();
    meta.name
        .as_deref()
        .or(meta.generate_name.as_deref())
        .unwrap_or_default()
}

/// The namespace an object is indexed under.
pub(crate) fn namespace_of<K: ResourceExt>(object: &K) -> String {
    object
        .namespace()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an AI system.
    pub fn add_system(&mut self, mut system: AISystem) {
        system.spec.shrink_to_fit();
        self.add_shared_system(Arc::new(system));
    }

    /// Adds (or replaces) an AI system already in its own allocation (the
    /// cache's, as it was listed).
    pub fn add_shared_system(&mut self, system: Arc<AISystem>) {
        self.facts_generation += 1;
        let (namespace, name) = (namespace_of(&*system), system.name_any());
        self.entry_mut(namespace, &name).system = Some(system);
    }

    /// The register's entry for `system` in `namespace`, created when missing.
    fn entry_mut(&mut self, namespace: String, system: &str) -> &mut SystemEntry {
        self.register
            .entry(namespace)
            .or_default()
            .entry(system.to_string())
            .or_default()
    }

    /// Changes the entry for `system` in `namespace`, if there is one, and drops it once it
    /// holds nothing.
    fn change_entry(
        &mut self,
        namespace: &str,
        system: &str,
        change: impl FnOnce(&mut SystemEntry),
    ) {
        let Some(by_name) = self.register.get_mut(namespace) else {
            return;
        };
        if let Some(entry) = by_name.get_mut(system) {
            change(entry);
            if entry.is_empty() {
                by_name.remove(system);
            }
        }
        if by_name.is_empty() {
            self.register.remove(namespace);
        }
    }

    /// Changes every entry, dropping those left empty.
    fn change_every_entry(&mut self, change: impl Fn(&mut SystemEntry)) {
        for by_name in self.register.values_mut() {
            by_name.values_mut().for_each(&change);
            by_name.retain(|_, entry| !entry.is_empty());
        }
        self.register.retain(|_, by_name| !by_name.is_empty());
    }

    /// Removes the AI system `name` in `namespace`.
    pub fn remove_system(&mut self, namespace: &str, name: &str) {
        self.facts_generation += 1;
        self.change_entry(namespace, name, |entry| entry.system = None);
    }

    /// Records a namespace's labels (enforcement opt-in and mode; no other label is read).
    /// A value of the label that names no mode enforces: a typo must not turn the gate off.
    pub fn add_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        let mode = labels
            .get(ENFORCEMENT_LABEL)
            .map(|value| EnforcementMode::from_label(value).unwrap_or(EnforcementMode::Enforce));
        self.namespace_modes.insert(name.to_string(), mode);
    }

    /// Forgets a namespace's labels.
    pub fn remove_namespace(&mut self, name: &str) {
        self.namespace_modes.remove(name);
    }

    /// Forgets every AI system (before a relist replaces them).
    pub fn clear_systems(&mut self) {
        self.facts_generation += 1;
        self.change_every_entry(|entry| entry.system = None);
    }

    /// Forgets every namespace (before a relist replaces them).
    pub fn clear_namespaces(&mut self) {
        self.namespace_modes.clear();
    }

    /// The AI system `name` in `namespace`.
    pub fn system(&self, namespace: &str, name: &str) -> Option<&AISystem> {
        self.register.get(namespace)?.get(name)?.system.as_deref()
    }

    /// Remembers what decisions under `policy` work out about each system, for as long as it
    /// holds. Decisions must pass this very `policy` (`&*policy`): the snapshot's reference
    /// keeps its address from being reused by another, so the address alone identifies it.
    pub fn remember_facts_under(&mut self, policy: Arc<Policy>) {
        self.facts_policy = Some(policy);
    }

    /// The AI system `name` in `namespace` as a decision at `now` under `policy` needs it.
    /// Its facts are the remembered ones while they hold (nothing they depend on changed,
    /// the policy they are remembered under, `now` before their next lapse); otherwise
    /// `work_out` gives them afresh, and they are remembered for the next decision.
    pub(crate) fn registered(
        &self,
        namespace: &str,
        name: &str,
        policy: &Policy,
        now: Timestamp,
        work_out: impl FnOnce(&AISystem, &[HeldAssessment]) -> SystemFacts,
    ) -> Option<Registered<'_>> {
        let entry = self.entry(namespace, name)?;
        let system = entry.system.as_deref()?;
        let assessments = entry.assessments.as_slice();
        let work_out = || work_out(system, assessments);
        let remembered = self
            .facts_policy
            .as_ref()
            .is_some_and(|p| std::ptr::eq(Arc::as_ptr(p), policy));
        let facts = if remembered {
            entry
                .facts
                .get_or_work_out(self.facts_generation, now, work_out)
        } else {
            Arc::new(work_out())
        };
        Some(Registered {
            system,
            assessments,
            facts,
        })
    }

    /// Names of the AI systems in `namespace`.
    pub fn system_names_in(&self, namespace: &str) -> Vec<String> {
        self.register
            .get(namespace)
            .map(|m| {
                m.iter()
                    .filter(|(_, entry)| entry.system.is_some())
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The AI systems registered in `namespace`, sorted by name.
    pub fn systems_in(&self, namespace: &str) -> Vec<&AISystem> {
        let mut systems: Vec<&AISystem> = self
            .register
            .get(namespace)
            .into_iter()
            .flat_map(|m| m.values().filter_map(|entry| entry.system.as_deref()))
            .collect();
        systems.sort_by(|a, b| name_of(*a).cmp(name_of(*b)));
        systems
    }

    /// Every AI system, sorted by namespace and name.
    pub fn systems(&self) -> Vec<&AISystem> {
        let mut all: Vec<&AISystem> = self
            .entries()
            .filter_map(|entry| entry.system.as_deref())
            .collect();
        all.sort_by_key(|s| (s.namespace(), s.name_any()));
        all
    }

    fn entry(&self, namespace: &str, system: &str) -> Option<&SystemEntry> {
        self.register.get(namespace)?.get(system)
    }

    fn entries(&self) -> impl Iterator<Item = &SystemEntry> {
        self.register.values().flat_map(HashMap::values)
    }

    /// The mode a namespace's `aims.io/enforcement` label chooses; `None` when the namespace
    /// has no such label or is not known.
    pub fn namespace_enforcement(&self, namespace: &str) -> Option<EnforcementMode> {
        self.namespace_modes.get(namespace).copied().flatten()
    }

    /// Number of AIMS objects held (systems, assessments, bindings).
    pub fn len(&self) -> usize {
        let (systems, assessments) = self.entries().fold((0, 0), |(s, a), entry| {
            (
                s + usize::from(entry.system.is_some()),
                a + entry.assessments.len(),
            )
        });
        systems + assessments + self.bindings.len()
    }

    /// Whether the snapshot holds no AIMS object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
