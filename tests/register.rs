//! What the operator's register holds of each AIMS object, fed through the cache as a watch
//! delivers it: none of the metadata GitOps tools and kustomize add (a map of one entry is
//! 640 bytes, on each of 30,000 objects at 10,000 AI systems), and yet every decision the
//! same as on the whole objects.
use crate::support;

use aims_operator::cache::{Feed, apply_event};
use aims_operator::engine::Snapshot;
use aims_operator::engine::relaxation::approved_relaxation;
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use aims_operator::webhook::ClusterCache;
use kube::ResourceExt;
use kube::runtime::watcher::Event;

use support::*;

/// `object` as it arrives from a cluster run through Argo CD and kustomize: labels, the
/// tracking annotation and kubectl's last-applied copy, beside the author the webhook stamped.
fn from_gitops<K: kube::Resource>(mut object: K, author: &str) -> K {
    let meta = object.meta_mut();
    meta.labels = Some(
        [
            ("app.kubernetes.io/part-of", "lending"),
            ("app.kubernetes.io/managed-by", "kustomize"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let annotations = meta.annotations.get_or_insert_default();
    annotations.insert(AUTHOR_ANNOTATION.into(), author.into());
    annotations.insert(
        "argocd.argoproj.io/tracking-id".into(),
        "lending:aims.io/Kind:lending/name".into(),
    );
    annotations.insert(
        "kubectl.kubernetes.io/last-applied-configuration".into(),
        "{}".into(),
    );
    meta.finalizers = Some(vec!["example.com/keep".into()]);
    object
}

/// A cache that has listed `objects` of one kind.
fn listed<K: Feed>(cache: &ClusterCache, objects: &[K]) {
    let mut buffer = Vec::new();
    apply_event(cache, &mut buffer, Event::Init);
    for object in objects {
        apply_event(cache, &mut buffer, Event::InitApply(object.clone()));
    }
    apply_event(cache, &mut buffer, Event::InitDone);
}

fn lending_system(name: &str, author: &str) -> AISystem {
    let mut system = from_gitops(system(name), author);
    system.metadata.namespace = Some("lending".into());
    system
}

fn lending_assessment(name: &str, author: &str) -> ImpactAssessment {
    let mut a = from_gitops(assessment(name, "credit-scoring", &["1.x"]), author);
    a.metadata.namespace = Some("lending".into());
    a
}

/// A risk treated by acceptance, above the default threshold, accepted by `by`.
fn accepted_risk(mut a: ImpactAssessment, by: &str) -> ImpactAssessment {
    let risk = &mut a.spec.risks[0];
    (risk.likelihood, risk.severity) = (4, 4);
    risk.treatment = Treatment::Accept;
    risk.accepted_by = Some(by.into());
    a.spec.residual_risk_acceptance = Some("within appetite".into());
    a
}

#[test]
fn the_register_keeps_no_metadata_it_does_not_read_and_decides_as_on_whole_objects() {
    let policy = Policy::default();
    let systems = [
        lending_system("credit-scoring", "argocd"),
        // A relaxation its own author approved counts for nothing; one by another does.
        mode_approved_by_pat(lending_system("fraud", "pat"), EnforcementMode::Warn),
        mode_approved_by_pat(lending_system("churn", "alice"), EnforcementMode::Warn),
    ];
    let assessments = [
        lending_assessment("by-another", "alice").approved_by("bob", "2026-10-01T00:00:00Z"),
        lending_assessment("self-approved", "bob").approved_by("bob", "2026-10-01T00:00:00Z"),
        accepted_risk(lending_assessment("own-risk", "carol"), "carol")
            .approved_by("bob", "2026-10-01T00:00:00Z"),
        accepted_risk(lending_assessment("risk-by-another", "carol"), "dave")
            .approved_by("bob", "2026-10-01T00:00:00Z"),
    ];
    let cache = ClusterCache::new(&[AISystem::FEED, ImpactAssessment::FEED]);
    listed(&cache, &systems);
    listed(&cache, &assessments);
    let mut whole = Snapshot::new();
    systems.iter().cloned().for_each(|s| whole.add_system(s));
    assessments
        .iter()
        .cloned()
        .for_each(|a| whole.add_assessment(a));

    cache.read(|held| {
        for system in &systems {
            let name = system.name_any();
            let kept = held.system("lending", &name).unwrap();
            assert_eq!(kept.metadata.labels, None, "{name}");
            assert_eq!(kept.metadata.finalizers, None, "{name}");
            assert_eq!(
                approved_relaxation(kept, &policy),
                approved_relaxation(system, &policy),
                "{name}"
            );
        }
        let relaxed =
            |name: &str| approved_relaxation(held.system("lending", name).unwrap(), &policy);
        assert!(relaxed("fraud").is_none(), "approved by its own author");
        assert!(relaxed("churn").is_some(), "approved by another");
        assert_eq!(
            held.system("lending", "credit-scoring")
                .unwrap()
                .metadata
                .annotations,
            None,
            "without a relaxation its author decides nothing"
        );

        let phases: Vec<_> = held
            .assessments_for("lending", "credit-scoring")
            .iter()
            .map(|a| {
                assert_eq!(a.metadata.labels, None);
                let state = held.assessment_state(a, &policy, now());
                let on_whole = whole
                    .assessments_for("lending", "credit-scoring")
                    .iter()
                    .find(|w| w.name_any() == a.name_any())
                    .map(|w| whole.assessment_state(w, &policy, now()))
                    .unwrap();
                assert_eq!(state, on_whole, "{}", a.name_any());
                (a.name_any(), state.phase, a.annotations().len())
            })
            .collect();
        assert_eq!(
            phases,
            [
                ("by-another".to_string(), AssessmentPhase::Approved, 0),
                ("own-risk".to_string(), AssessmentPhase::Voided, 1),
                ("risk-by-another".to_string(), AssessmentPhase::Approved, 0),
                ("self-approved".to_string(), AssessmentPhase::Voided, 1),
            ],
            "the author is kept only where it decides"
        );
    });
}
