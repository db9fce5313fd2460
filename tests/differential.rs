//! One engine, three shells, one answer: for random registers and workloads, the offline
//! check (from YAML), the webhook (its HTTP answer over HTTPS) and the reconciler (the
//! system's open nonconformities) name the same failing rules for the same workload. The
//! policy-engine CVE history is full of "admission and background scan disagreed"; this is
//! the test that they cannot.
use crate::{harness, support};

use std::collections::BTreeMap;
use std::sync::Mutex;

use aims_operator::cli::check_loaded;
use aims_operator::engine::{Snapshot, Workload};
use aims_operator::manifests::Loaded;
use aims_operator::policy::Policy;
use aims_operator::reconciler::desired_system_status;
use aims_operator::resources::*;
use aims_operator::webhook::ClusterCache;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use support::*;

/// One random world: a system, what covers it, and a Deployment.
#[derive(Clone, Debug)]
struct World {
    owner: bool,
    monitoring: bool,
    tier: RiskTier,
    retired: bool,
    assessment: Cover,
    controls: bool,
    labelled: Option<&'static str>,
    version: Option<&'static str>,
    pinned: bool,
    serving_image: bool,
    mode: Option<&'static str>,
    /// The system's own mode, unpinned images asked for, and who approved them.
    system_mode: Option<EnforcementMode>,
    unpinned: bool,
    relaxed_by: Option<&'static str>,
    /// The register entry is past its review date (AIMS-010 under the gating policy).
    review_overdue: bool,
    /// The assessment's risk names A.7.4; `Some(true)`: and a binding implements it.
    risk_control: Option<bool>,
}

/// The policy every shell judges under: the default, with the optional gates on, so the
/// worlds reach every rule.
fn policy() -> Policy {
    Policy {
        gate_on_overdue_review: true,
        risk_controls_gate_tiers: RiskTier::ALL.to_vec(),
        ..Policy::default()
    }
}

#[derive(Clone, Copy, Debug)]
enum Cover {
    None,
    Approved,
    OtherVersion,
    Expired,
    Pending,
}

fn worlds() -> impl Strategy<Value = World> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![
                Just(RiskTier::Minimal),
                Just(RiskTier::Limited),
                Just(RiskTier::High)
            ],
        ),
        (
            prop::bool::weighted(0.15),
            prop_oneof![
                1 => Just(Cover::None),
                3 => Just(Cover::Approved),
                1 => Just(Cover::OtherVersion),
                1 => Just(Cover::Expired),
                1 => Just(Cover::Pending)
            ],
            any::<bool>(),
        ),
        (
            prop_oneof![
                Just(Some("sys")),
                Just(None),
                Just(Some("ghost")),
                Just(Some("other"))
            ],
            prop_oneof![Just(Some("1.0.0")), Just(Some("2.0.0")), Just(None)],
        ),
        (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![
                Just(Some("enforce")),
                Just(Some("warn")),
                Just(Some("audit")),
                Just(None)
            ],
        ),
        (
            prop_oneof![
                Just(None),
                Just(Some(EnforcementMode::Enforce)),
                Just(Some(EnforcementMode::Warn)),
                Just(Some(EnforcementMode::Audit))
            ],
            any::<bool>(),
            // pat is a platform owner; alice wrote the system, so hers counts for nothing.
            prop_oneof![Just(None), Just(Some("pat")), Just(Some("alice"))],
        ),
        (
            prop::bool::weighted(0.2),
            prop_oneof![1 => Just(None), 3 => Just(Some(false)), 1 => Just(Some(true))],
        ),
    )
        .prop_map(
            |(
                (owner, monitoring, tier),
                (retired, assessment, controls),
                (labelled, version),
                (pinned, serving_image, mode),
                (system_mode, unpinned, relaxed_by),
                (review_overdue, risk_control),
            )| World {
                owner,
                monitoring,
                tier,
                retired,
                assessment,
                controls,
                labelled,
                version,
                pinned,
                serving_image,
                mode,
                system_mode,
                unpinned,
                relaxed_by,
                review_overdue,
                risk_control,
            },
        )
}

impl World {
    /// The register and workload as manifests (what a Git repository would hold).
    fn manifests(&self) -> (Vec<Value>, Value) {
        let mut system = system("sys");
        if !self.owner {
            system.spec.owner = None;
        }
        if !self.monitoring {
            system.spec.monitoring = None;
        }
        system.spec.risk_tier = self.tier;
        if self.retired {
            system.spec.lifecycle_stage = LifecycleStage::Retired;
        }
        system.spec.enforcement = self.system_mode;
        if self.unpinned {
            system.spec.require_image_digest = Some(false);
        }
        let annotations = system.metadata.annotations.get_or_insert_default();
        annotations.insert(AUTHOR_ANNOTATION.into(), "alice".into());
        if let Some(by) = self.relaxed_by {
            let at = ts("2026-11-01T00:00:00Z");
            let relaxation = Relaxation {
                enforcement: self.system_mode.map(|m| Approved::new(m, by, at)),
                require_image_digest: self.unpinned.then(|| Approved::new(false, by, at)),
                ..Default::default()
            };
            annotations.insert(RELAXATION_ANNOTATION.into(), relaxation.to_annotation());
        }
        if self.review_overdue {
            system.spec.review = Some(Box::new(ReviewSchedule {
                interval_days: 30,
                last_reviewed: Some(ts("2026-09-01T00:00:00Z")),
            }));
        }
        // Another system of the namespace, whose model the workload never runs: a label
        // naming it is refused for running sys's artifact.
        let mut other = support::system("other");
        other.spec.models[0].image = Some(format!("reg/other@{}", digest(9)));
        let mut objects = vec![
            serde_json::to_value(&system).unwrap(),
            serde_json::to_value(&other).unwrap(),
        ];
        let covered = match self.assessment {
            Cover::OtherVersion => "3.x",
            _ => "1.0.x",
        };
        let mut assessment = assessment("sys-assessment", "sys", &[covered]);
        if self.risk_control.is_some() {
            assessment.spec.risks[0].controls = vec!["A.7.4".into()];
        }
        if self.risk_control == Some(true) {
            objects.push(serde_json::to_value(binding("sys-data", &["sys"], &["A.7.4"])).unwrap());
        }
        let assessment = match self.assessment {
            Cover::None => None,
            Cover::Pending => Some(assessment),
            Cover::Expired => Some(
                assessment
                    .valid_until("2026-11-01T00:00:00Z")
                    .approved_by("bob", "2026-06-01T00:00:00Z"),
            ),
            Cover::Approved | Cover::OtherVersion => {
                Some(assessment.approved_by("bob", "2026-10-01T00:00:00Z"))
            }
        };
        objects.extend(assessment.map(|a| serde_json::to_value(&a).unwrap()));
        if self.controls {
            let ids = policy().required_controls[&self.tier].clone();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            if !ids.is_empty() {
                objects
                    .push(serde_json::to_value(binding("sys-controls", &["sys"], &ids)).unwrap());
            }
        }
        let mut labels = BTreeMap::new();
        if let Some(mode) = self.mode {
            labels.insert(ENFORCEMENT_LABEL, mode);
        }
        objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": labels}}));
        let image = match (self.serving_image, self.pinned) {
            (true, _) => "vllm/vllm-openai:v0.6.3".to_string(),
            (false, true) => model_image(),
            (false, false) => "reg/m:1.0.0".to_string(),
        };
        let workload = deployment("scorer", self.labelled, self.version, &image);
        (objects, workload)
    }
}

fn yaml_of(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_saphyr::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The offline check's rules for the workload, and the snapshot it built from the YAML.
fn offline(register: &[Value], workload: &Value) -> (String, bool, Snapshot, Option<String>) {
    let mut with_workload = register.to_vec();
    with_workload.push(workload.clone());
    let mut loaded = Loaded::new(NS);
    loaded.read_str("world.yaml", &yaml_of(&with_workload));
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let snapshot = loaded.snapshot.clone();
    let report = check_loaded(loaded, &policy(), now());
    assert_eq!(report.results.len(), 1);
    let verdict = &report.results[0].verdict;
    (
        verdict.rule_ids(),
        verdict.allowed,
        snapshot,
        verdict.system.as_deref().map(str::to_string),
    )
}

#[test]
fn webhook_reconciler_and_offline_check_name_the_same_rules() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = Mutex::new(runtime.block_on(harness::serve_with_policy(
        ClusterCache::from_snapshot(Snapshot::new()),
        policy(),
    )));
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let judged = std::cell::Cell::new(0);
    let gated = std::cell::Cell::new((0, 0));
    let denied = std::cell::Cell::new(0);
    let by_artifact = std::cell::Cell::new(0);
    runner
        .run(&worlds(), |world| {
            let (register, workload) = world.manifests();
            let (offline_rules, offline_allowed, snapshot, system) = offline(&register, &workload);
            if world.labelled.is_none() && system.as_deref() == Some("sys") {
                by_artifact.set(by_artifact.get() + 1);
            }

            // The webhook, over HTTPS, judging the workload against the same register.
            let mut h = harness.lock().unwrap();
            h.cache.write(|s| *s = snapshot.clone());
            let mut review = fixture("deployment-create.json");
            review["request"]["namespace"] = json!(NS);
            review["request"]["object"] = workload.clone();
            let response = runtime.block_on(h.review("/validate", &review));
            let webhook_rules = harness::audit(&response, "rules");
            prop_assert_eq!(
                &webhook_rules,
                &offline_rules,
                "webhook vs offline: {:?}",
                world
            );
            prop_assert_eq!(
                response["allowed"].as_bool().unwrap(),
                offline_allowed,
                "{:?}",
                world
            );

            // The reconciler, seeing the same workload running: labelled as sys, or
            // unlabelled and running sys's artifact.
            if world.labelled == Some("sys") || (world.labelled.is_none() && !world.serving_image) {
                let mut running = snapshot;
                running.add_workload(Workload::from_value(&workload, NS).unwrap());
                let system = running.system(NS, "sys").unwrap().clone();
                let (status, _) = desired_system_status(&running, &system, &policy(), now());
                let reconciler_rules = status
                    .nonconformities
                    .iter()
                    .find(|n| n.workload == "Deployment/scorer")
                    .map(|n| n.rules.clone())
                    .unwrap_or_default();
                prop_assert_eq!(
                    &reconciler_rules,
                    &offline_rules,
                    "reconciler vs offline: {:?}",
                    world
                );
            }
            if !offline_rules.is_empty() {
                judged.set(judged.get() + 1);
            }
            let (review, risk) = gated.get();
            gated.set((
                review + usize::from(offline_rules.contains("AIMS-010")),
                risk + usize::from(offline_rules.contains("AIMS-011")),
            ));
            if !offline_allowed {
                denied.set(denied.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    // The worlds must exercise the rules, not only agree on admitting everything.
    let (judged, denied) = (judged.get(), denied.get());
    assert!(
        judged >= 40 && denied >= 20,
        "{judged} judged with findings, {denied} denied"
    );
    assert!(
        by_artifact.get() > 0,
        "unlabelled workloads must be judged by their artifact"
    );
    let (review, risk) = gated.get();
    assert!(
        review > 0 && risk > 0,
        "the gated rules must be reached: AIMS-010 {review} times, AIMS-011 {risk} times"
    );
}
