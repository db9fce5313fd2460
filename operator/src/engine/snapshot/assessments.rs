//! The register's impact assessments: each kept beside its content hash, indexed under the
//! system it references.

use std::sync::Arc;

use kube::ResourceExt;

use super::{DEFAULT_NAMESPACE, Snapshot, namespace_of, object_key};
use crate::engine::assessment::{
    AssessmentState, ContentHash, assessment_phase, assessment_state_with_hash,
};
use crate::policy::Policy;
use crate::resources::{AISystemSpec, AssessmentPhase, ImpactAssessment, ShrinkToFit};

/// An impact assessment as the register holds it: the object, and the hash of its content,
/// worked out once per version stored rather than once per decision that reads it.
#[derive(Clone, Debug)]
pub struct HeldAssessment {
    object: Arc<ImpactAssessment>,
    content_hash: ContentHash,
}

impl HeldAssessment {
    fn new(object: Arc<ImpactAssessment>) -> Self {
        let content_hash = ContentHash::of(&object.spec);
        Self {
            object,
            content_hash,
        }
    }

    /// The hash of the assessment's content, which an approval names.
    pub fn content_hash(&self) -> ContentHash {
        self.content_hash
    }

    /// The shared copy of the assessment (the reconciler's store holds the same one).
    pub fn object(&self) -> &Arc<ImpactAssessment> {
        &self.object
    }
}

impl AsRef<ImpactAssessment> for HeldAssessment {
    fn as_ref(&self) -> &ImpactAssessment {
        &self.object
    }
}

impl std::ops::Deref for HeldAssessment {
    type Target = ImpactAssessment;
    fn deref(&self) -> &ImpactAssessment {
        &self.object
    }
}

impl Snapshot {
    /// Adds (or replaces) an impact assessment, indexed by the system it references.
    pub fn add_assessment(&mut self, mut assessment: ImpactAssessment) {
        assessment.spec.shrink_to_fit();
        self.add_shared_assessment(Arc::new(assessment));
    }

    /// Adds (or replaces) an impact assessment already in its own allocation (the
    /// cache's, as it was listed).
    pub fn add_shared_assessment(&mut self, assessment: Arc<ImpactAssessment>) {
        self.facts_generation += 1;
        let ns = namespace_of(&*assessment);
        self.remove_assessment(&ns, &assessment.name_any());
        self.assessment_system.insert(
            object_key(&ns, &assessment.name_any()),
            assessment.spec.system_ref.as_str().into(),
        );
        let system = assessment.spec.system_ref.clone();
        let list = &mut self.entry_mut(ns, &system).assessments;
        list.push(HeldAssessment::new(assessment));
        list.sort_by_key(|a| a.name_any());
    }

    /// Removes the impact assessment `name` in `namespace`, whichever system it references.
    pub fn remove_assessment(&mut self, namespace: &str, name: &str) {
        self.facts_generation += 1;
        let Some(system) = self.assessment_system.remove(&object_key(namespace, name)) else {
            return;
        };
        self.change_entry(namespace, &system, |entry| {
            entry.assessments.retain(|a| a.name_any() != name);
        });
    }

    /// Forgets every impact assessment (before a relist replaces them).
    pub fn clear_assessments(&mut self) {
        self.facts_generation += 1;
        self.change_every_entry(|entry| entry.assessments.clear());
        self.assessment_system.clear();
    }

    /// The system the cached assessment `name` references.
    pub fn assessment_system(&self, namespace: &str, name: &str) -> Option<&str> {
        self.assessment_system
            .get(&object_key(namespace, name))
            .map(AsRef::as_ref)
    }

    /// Assessments that reference system `name` in `namespace`, sorted by name.
    pub fn assessments_for(&self, namespace: &str, system: &str) -> &[HeldAssessment] {
        self.entry(namespace, system)
            .map(|entry| entry.assessments.as_slice())
            .unwrap_or(&[])
    }

    /// Every assessment, sorted by namespace and name.
    pub fn assessments(&self) -> Vec<&ImpactAssessment> {
        let mut all: Vec<&ImpactAssessment> = self
            .entries()
            .flat_map(|entry| entry.assessments.iter().map(|a| &**a))
            .collect();
        all.sort_by_key(|a| (a.namespace(), a.name_any()));
        all
    }

    /// The content hash of an assessment: the one kept beside it when this snapshot holds
    /// this very copy, else worked out now.
    pub fn content_hash_of(&self, assessment: &ImpactAssessment) -> ContentHash {
        let namespace = assessment
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE);
        self.assessments_for(namespace, &assessment.spec.system_ref)
            .iter()
            .find(|held| std::ptr::eq(Arc::as_ptr(held.object()), assessment))
            .map_or_else(
                || ContentHash::of(&assessment.spec),
                HeldAssessment::content_hash,
            )
    }

    /// The phase of an assessment at `now`, using the kept content hash.
    pub fn assessment_state(
        &self,
        assessment: &ImpactAssessment,
        policy: &Policy,
        now: jiff::Timestamp,
    ) -> AssessmentState {
        assessment_state_with_hash(
            assessment,
            self.content_hash_of(assessment),
            self.assessed_system(assessment),
            policy,
            now,
        )
    }

    /// Whether an assessment is approved and current at `now` (no words, no copies).
    pub fn is_approved(
        &self,
        assessment: &ImpactAssessment,
        policy: &Policy,
        now: jiff::Timestamp,
    ) -> bool {
        let hash = self.content_hash_of(assessment);
        let system = self.assessed_system(assessment);
        assessment_phase(assessment, &hash, system, policy, now).0 == AssessmentPhase::Approved
    }

    /// The spec of the system an assessment references, when it is registered.
    fn assessed_system(&self, assessment: &ImpactAssessment) -> Option<&AISystemSpec> {
        let namespace = assessment
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE);
        self.system(namespace, &assessment.spec.system_ref)
            .map(|system| &system.spec)
    }
}
