//! Property: in enforce mode a workload is allowed only if its system exists, has an owner,
//! declares monitoring and has an approved, unexpired, unaltered assessment covering the
//! deployed model version — for arbitrary registers and workloads.

use crate::support;

use aims_operator::engine::assessment::{content_hash, version_matches};
use aims_operator::engine::{Snapshot, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use support::*;

const VERSIONS: &[&str] = &["1.0.0", "1.0.1", "1.1.0", "2.0.0"];
const PATTERNS: &[&str] = &["1.0.0", "1.0.x", "1.x", "*", "2.0.0", "1.1.*"];

#[derive(Debug, Clone)]
struct AssessmentCase {
    pattern: usize,
    decision: Option<bool>,
    stamped: bool,
    tampered: bool,
    self_approved: bool,
    expires_in_hours: i64,
    other_system: bool,
}

fn assessment_case() -> impl Strategy<Value = AssessmentCase> {
    (
        0..PATTERNS.len(),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        -48i64..48,
        any::<bool>(),
    )
        .prop_map(
            |(
                pattern,
                decision,
                stamped,
                tampered,
                self_approved,
                expires_in_hours,
                other_system,
            )| AssessmentCase {
                pattern,
                decision,
                stamped,
                tampered,
                self_approved,
                expires_in_hours,
                other_system,
            },
        )
}

fn build(case: &AssessmentCase, i: usize, now: Timestamp) -> ImpactAssessment {
    let system = if case.other_system { "other" } else { "s" };
    let mut a =
        assessment(&format!("a{i}"), system, &[PATTERNS[case.pattern]]).authored_by("alice");
    a.spec.valid_until = now
        .checked_add(SignedDuration::from_hours(case.expires_in_hours))
        .ok();
    if let Some(approved) = case.decision {
        let hash = content_hash(&a.spec);
        a.spec.approval = Some(Approval {
            decision: if approved {
                Decision::Approved
            } else {
                Decision::Rejected
            },
            comment: None,
            decided_by: case.stamped.then(|| {
                if case.self_approved {
                    "alice".to_string()
                } else {
                    "bob".to_string()
                }
            }),
            decided_at: case.stamped.then(|| ts("2026-11-01T00:00:00Z")),
            content_hash: case.stamped.then_some(hash),
        });
    }
    if case.tampered {
        a.spec.summary = Some("edited after approval".into());
    }
    a
}

/// The independent statement of what makes an assessment count.
fn counts(case: &AssessmentCase, version: &str) -> bool {
    case.decision == Some(true)
        && case.stamped
        && !case.tampered
        && !case.self_approved
        && case.expires_in_hours > 0
        && !case.other_system
        && version_matches(PATTERNS[case.pattern], version)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn nothing_lacking_an_approved_matching_assessment_gets_in(
        registered in any::<bool>(),
        owner in any::<bool>(),
        monitoring in any::<bool>(),
        version in 0..VERSIONS.len(),
        cases in prop::collection::vec(assessment_case(), 0..4),
        label_system in any::<bool>(),
    ) {
        let now = now();
        let mut snapshot = Snapshot::new();
        if registered {
            let mut sys = system("s").owned_by(owner.then_some("Owner"));
            if !monitoring {
                sys = sys.without_monitoring();
            }
            snapshot.add_system(sys);
        }
        for (i, case) in cases.iter().enumerate() {
            snapshot.add_assessment(build(case, i, now));
        }
        let workload = deployment("d", label_system.then_some("s"), Some(VERSIONS[version]), &model_image());
        let verdict = evaluate_object(&snapshot, &workload, NS, &Policy::default(), now).expect("workload");
        let covered = cases.iter().any(|c| counts(c, VERSIONS[version]));
        if verdict.allowed && verdict.system.is_some() {
            prop_assert!(registered && owner && monitoring && covered, "wrongly admitted: {}", verdict.message());
        }
        // Conversely, a fully compliant minimal-risk workload is admitted.
        if label_system && registered && owner && monitoring && covered {
            prop_assert!(verdict.allowed, "wrongly refused: {}", verdict.message());
        }
    }
}

/// One binding entry, drawn from every way an entry can be met or not.
fn entry_case() -> impl Strategy<Value = ControlEntry> {
    let ids = Policy::default().required_controls[&RiskTier::High].clone();
    (
        prop::sample::select(ids),
        0..7u8,
        any::<bool>(),
        prop::option::of(-48i64..48),
    )
        .prop_map(|(id, shape, evidence, due_in_hours)| {
            let due = |h: i64| now().checked_add(SignedDuration::from_hours(h)).ok();
            let implemented = |status| {
                Some(Implementation {
                    description: "done".into(),
                    status,
                })
            };
            let (applicability, exclusion, implementation) = match shape {
                0 => (Applicability::Excluded, None, None),
                1 => (
                    Applicability::Excluded,
                    Some(Exclusion {
                        accepted_by: Some("bob".into()),
                        until: due_in_hours.and_then(due),
                    }),
                    None,
                ),
                2 => (Applicability::Applicable, None, None),
                3 => (
                    Applicability::Applicable,
                    None,
                    implemented(ImplementationStatus::Planned),
                ),
                _ => (
                    Applicability::Applicable,
                    None,
                    implemented(ImplementationStatus::Implemented),
                ),
            };
            ControlEntry {
                id,
                applicability,
                justification: Some("why".into()),
                exclusion,
                implementation,
                evidence: if evidence {
                    vec![Evidence {
                        description: "report".into(),
                        uri: None,
                        reviewed_at: None,
                        next_review: due_in_hours.and_then(due),
                    }]
                } else {
                    vec![]
                },
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The admission gate reads every required control's state in one pass over the
    /// bindings; the SoA and the status read one control at a time with its words. For any
    /// bindings (several, repeated IDs, every kind of entry) both must give each control the
    /// same state, or the webhook and the auditor's report would disagree.
    #[test]
    fn the_gate_and_the_soa_give_every_control_the_same_state(
        bindings in prop::collection::vec(prop::collection::vec(entry_case(), 0..8), 0..4),
        owner in any::<bool>(),
    ) {
        use aims_operator::engine::controls::{control_outcome, control_states};
        let now = now();
        let mut snapshot = Snapshot::new();
        snapshot.add_system(system("s").owned_by(owner.then_some("Owner")));
        for (i, entries) in bindings.into_iter().enumerate() {
            let mut b = binding(&format!("b{i}"), &["s"], &[]);
            b.spec.controls = entries;
            snapshot.add_binding(b);
        }
        let policy = Policy::default();
        let ids = policy.required_controls[&RiskTier::High].clone();
        let system = snapshot.system(NS, "s").expect("system").clone();
        let states = control_states(&snapshot, &system, &ids, &policy, now);
        for (id, state) in ids.iter().zip(states) {
            let outcome = control_outcome(&snapshot, &system, id, &policy, now);
            prop_assert_eq!(state, outcome.state, "{}: {}", id, outcome.message);
        }
    }
}
