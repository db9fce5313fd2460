//! Engine rules, one behaviour a user relies on per test.

use crate::support;

use std::collections::BTreeMap;

use aims_operator::engine::assessment::{assessment_state, version_matches};
use aims_operator::engine::{Rule, Scope, Snapshot, Verdict, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use serde_json::{Value, json};
use support::*;

fn opted_in(snapshot: &mut Snapshot, mode: &str) {
    snapshot.add_namespace(
        NS,
        BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), mode.to_string())]),
    );
}

/// A snapshot where system `s` is fully compliant for `m 1.0.0`.
fn compliant() -> Snapshot {
    let mut s = Snapshot::new();
    opted_in(&mut s, "enforce");
    s.add_system(system("s"));
    s.add_assessment(assessment("a", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z"));
    s
}

fn judge(snapshot: &Snapshot, object: &Value) -> Verdict<'static> {
    evaluate_object(snapshot, object, NS, &Policy::default(), now()).expect("a workload")
}

fn rules(v: &Verdict) -> Vec<&'static str> {
    v.findings.iter().map(|f| f.rule.id()).collect()
}

fn ok_deployment() -> Value {
    deployment("d", Some("s"), Some("1.0.0"), &model_image())
}

#[test]
fn compliant_deployment_is_allowed_and_names_its_assessment() {
    let v = judge(&compliant(), &ok_deployment());
    assert!(v.allowed, "{}", v.message());
    assert!(v.findings.is_empty());
    assert_eq!(v.assessment.as_deref(), Some("a"));
    assert_eq!(
        v.model.as_ref().map(|m| m.to_string()).as_deref(),
        Some("m 1.0.0")
    );
}

#[test]
fn unknown_system_is_refused_with_aims_001() {
    let v = judge(
        &compliant(),
        &deployment("d", Some("nope"), Some("1.0.0"), &model_image()),
    );
    assert!(!v.allowed);
    assert_eq!(rules(&v), ["AIMS-001"]);
    assert!(
        v.message()
            .contains("no AISystem \"nope\" is registered in namespace ml")
    );
}

#[test]
fn unlabelled_model_server_in_opted_in_namespace_is_caught() {
    for image in [
        "vllm/vllm-openai:v0.6.0",
        "nvcr.io/nvidia/tritonserver:24.08-py3",
        "pytorch/torchserve:latest",
    ] {
        let v = judge(&compliant(), &deployment("d", None, None, image));
        assert_eq!(rules(&v), ["AIMS-001"], "{image}");
        assert!(!v.allowed);
    }
}

#[test]
fn unlabelled_ordinary_workload_is_not_judged() {
    let v = judge(&compliant(), &deployment("cache", None, None, "redis:7"));
    assert!(matches!(v.scope, Scope::NotJudged(_)));
    assert!(v.allowed);
}

#[test]
fn unlabelled_model_server_outside_opted_in_namespaces_is_not_judged() {
    let mut s = compliant();
    s.add_namespace(NS, BTreeMap::new());
    let v = judge(&s, &deployment("d", None, None, "vllm/vllm-openai:v0.6.0"));
    assert!(matches!(v.scope, Scope::NotJudged(_)));
}

#[test]
fn exempt_namespace_is_never_judged() {
    let mut d = deployment("d", Some("nope"), None, "x");
    d["metadata"]["namespace"] = json!("kube-system");
    let v = evaluate_object(&compliant(), &d, "kube-system", &Policy::default(), now())
        .expect("workload");
    assert!(matches!(v.scope, Scope::NotJudged(_)));
}

#[test]
fn conflicting_system_labels_are_refused() {
    let mut d = ok_deployment();
    d["spec"]["template"]["metadata"]["labels"][SYSTEM_LABEL] = json!("other");
    assert_eq!(rules(&judge(&compliant(), &d)), ["AIMS-001"]);
}

#[test]
fn system_without_owner_is_refused_with_a_patch_command() {
    let mut s = compliant();
    s.add_system(system("s").owned_by(None));
    let v = judge(&s, &ok_deployment());
    assert_eq!(rules(&v), ["AIMS-002"]);
    assert!(
        v.findings[0]
            .fix
            .contains("kubectl -n ml patch aisystem s --type merge")
    );
}

#[test]
fn missing_assessment_is_refused() {
    let mut s = Snapshot::new();
    s.add_system(system("s"));
    let v = judge(&s, &ok_deployment());
    assert_eq!(rules(&v), ["AIMS-003"]);
    assert!(
        v.message()
            .contains("No ImpactAssessment references AISystem \"s\"")
    );
}

#[test]
fn new_model_version_needs_a_new_assessment() {
    let v = judge(
        &compliant(),
        &deployment("d", Some("s"), Some("1.1.0"), &model_image()),
    );
    assert_eq!(rules(&v), ["AIMS-003"]);
    assert!(
        v.message().contains("\"a\" is Approved and covers 1.0.x"),
        "{}",
        v.message()
    );
}

#[test]
fn undecided_rejected_and_unstamped_assessments_do_not_count() {
    let pending = assessment("a", "s", &["1.0.x"]);
    let mut rejected = pending.clone().approved_by("bob", "2026-11-01T00:00:00Z");
    if let Some(a) = rejected.spec.approval.as_mut() {
        a.decision = Decision::Rejected;
    }
    let mut unstamped = pending.clone().approved_by("bob", "2026-11-01T00:00:00Z");
    if let Some(a) = unstamped.spec.approval.as_mut() {
        a.decided_by = None;
    }
    for (a, phase) in [
        (pending, AssessmentPhase::PendingApproval),
        (rejected, AssessmentPhase::Rejected),
        (unstamped, AssessmentPhase::Voided),
    ] {
        assert_eq!(assessment_state(&a, &Policy::default(), now()).phase, phase);
        let mut s = Snapshot::new();
        s.add_system(system("s"));
        s.add_assessment(a);
        assert_eq!(
            rules(&judge(&s, &ok_deployment())),
            ["AIMS-003"],
            "{phase:?}"
        );
    }
}

#[test]
fn editing_assessed_content_after_approval_voids_it() {
    let mut a = assessment("a", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z");
    a.spec.risks[0].severity = 1;
    let state = assessment_state(&a, &Policy::default(), now());
    assert_eq!(state.phase, AssessmentPhase::Voided);
    assert!(state.message.contains("changed after bob approved it"));
    // Changing only the approval comment is not a content change.
    let mut b = assessment("b", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z");
    if let Some(approval) = b.spec.approval.as_mut() {
        approval.comment = Some("looks fine".into());
    }
    assert_eq!(
        assessment_state(&b, &Policy::default(), now()).phase,
        AssessmentPhase::Approved
    );
}

#[test]
fn self_approval_is_void() {
    let a = assessment("a", "s", &["1.0.x"])
        .authored_by("alice")
        .approved_by("alice", "2026-11-01T00:00:00Z");
    let state = assessment_state(&a, &Policy::default(), now());
    assert_eq!(state.phase, AssessmentPhase::Voided);
    assert!(state.message.contains("self-approval"));
}

#[test]
fn assessment_expires_exactly_at_valid_until() {
    let a = assessment("a", "s", &["1.0.x"])
        .valid_until("2026-12-01T00:00:00Z")
        .approved_by("bob", "2026-11-01T00:00:00Z");
    let p = Policy::default();
    assert_eq!(
        assessment_state(&a, &p, ts("2026-11-30T23:59:59Z")).phase,
        AssessmentPhase::Approved
    );
    assert_eq!(
        assessment_state(&a, &p, ts("2026-12-01T00:00:00Z")).phase,
        AssessmentPhase::Expired
    );
    assert_eq!(
        assessment_state(&a, &p, now()).expires_at,
        Some(ts("2026-12-01T00:00:00Z"))
    );
}

#[test]
fn default_validity_runs_from_approval() {
    let a = assessment("a", "s", &["1.0.x"]).approved_by("bob", "2025-11-23T12:00:00Z");
    // 365 days after 2025-11-23T12:00Z is 2026-11-23T12:00Z: expired at exactly `now`.
    assert_eq!(
        assessment_state(&a, &Policy::default(), now()).phase,
        AssessmentPhase::Expired
    );
    let policy = Policy {
        default_validity_days: 366,
        ..Policy::default()
    };
    assert_eq!(
        assessment_state(&a, &policy, now()).phase,
        AssessmentPhase::Approved
    );
}

/// The policy's default validity applies only when an assessment sets neither `validUntil`
/// nor `validityDays` (as the field docs say); with both, the earlier end counts.
#[test]
fn validity_comes_from_valid_until_or_validity_days_and_the_default_only_without_either() {
    let approved_at = "2026-09-15T10:00:00Z";
    let expiry = |valid_until: Option<&str>, days: Option<u32>| {
        let mut a = assessment("a", "s", &["1.0.x"]);
        a.spec.validity_days = days;
        if let Some(until) = valid_until {
            a = a.valid_until(until);
        }
        let a = a.approved_by("bob", approved_at);
        assessment_state(&a, &Policy::default(), now()).expires_at
    };
    // The example credit-scoring-2026q3: valid until 2027-09-30, not the default's 2027-09-15.
    assert_eq!(
        expiry(Some("2027-09-30T00:00:00Z"), None),
        Some(ts("2027-09-30T00:00:00Z"))
    );
    assert_eq!(expiry(None, Some(30)), Some(ts("2026-10-15T10:00:00Z")));
    assert_eq!(
        expiry(Some("2027-09-30T00:00:00Z"), Some(30)),
        Some(ts("2026-10-15T10:00:00Z"))
    );
    assert_eq!(
        expiry(Some("2026-10-01T00:00:00Z"), Some(30)),
        Some(ts("2026-10-01T00:00:00Z"))
    );
    assert_eq!(expiry(None, None), Some(ts("2027-09-15T10:00:00Z")));

    // At the boundary: approved one second before validUntil, expired at it, past the default.
    let a = assessment("a", "s", &["1.0.x"])
        .valid_until("2027-09-30T00:00:00Z")
        .approved_by("bob", approved_at);
    let p = Policy::default();
    assert_eq!(
        assessment_state(&a, &p, ts("2027-09-29T23:59:59Z")).phase,
        AssessmentPhase::Approved
    );
    assert_eq!(
        assessment_state(&a, &p, ts("2027-09-30T00:00:00Z")).phase,
        AssessmentPhase::Expired
    );
}

#[test]
fn version_patterns() {
    assert!(version_matches("2.3.x", "2.3.1"));
    assert!(version_matches("2.3.*", "2.3.10"));
    assert!(version_matches("2.x", "2.3.1"));
    assert!(version_matches("*", "7"));
    assert!(version_matches("2.3.1", "2.3.1"));
    assert!(!version_matches("2.3.x", "2.4.0"));
    assert!(!version_matches("2.3.x", "2.3"));
    assert!(!version_matches("2.3.1", "2.3.10"));
    assert!(!version_matches("2.3", "2.3.1"));
    assert!(!version_matches("2.3.x.x", "2.3.1"));
    assert!(version_matches("2.X.1", "2.9.1"));
    assert!(!version_matches("", "1"));
}

#[test]
fn missing_monitoring_is_refused() {
    let mut s = compliant();
    s.add_system(system("s").without_monitoring());
    assert_eq!(rules(&judge(&s, &ok_deployment())), ["AIMS-004"]);
    let mut no_route = system("s");
    if let Some(m) = no_route.spec.monitoring.as_mut() {
        m.alert_route = None;
    }
    s.add_system(no_route);
    let v = judge(&s, &ok_deployment());
    assert_eq!(rules(&v), ["AIMS-004"]);
    assert!(v.message().contains("spec.monitoring.alertRoute"));
}

#[test]
fn high_risk_needs_its_controls_and_pinned_images() {
    let mut s = compliant();
    s.add_system(system("s").tier(RiskTier::High));
    let v = judge(
        &s,
        &deployment("d", Some("s"), Some("1.0.0"), "reg/m:1.0.0"),
    );
    let ids = rules(&v);
    assert_eq!(
        ids.iter().filter(|r| **r == "AIMS-005").count(),
        5,
        "{}",
        v.message()
    );
    assert!(ids.contains(&"AIMS-007"));
    let controls: Vec<_> = v.findings.iter().filter_map(|f| f.control).collect();
    assert_eq!(controls, ["A.5.4", "A.6.2.4", "A.6.2.8", "A.8.2", "A.9.2"]);
}

/// A high-risk system that declares what the automated checks of its required controls read:
/// a validation report, an event log and human oversight.
fn documented_high_risk_system(name: &str) -> AISystem {
    let mut sys = system(name).tier(RiskTier::High);
    sys.spec.models[0].validation_report = Some("https://reports/m-1.0.0".into());
    if let Some(m) = sys.spec.monitoring.as_mut() {
        m.event_log = Some("loki://ml".into());
    }
    sys.spec.human_oversight = Some(Box::new(HumanOversight {
        when: "always".into(),
        reviewers: "team".into(),
        mode: None,
    }));
    sys
}

#[test]
fn declared_control_whose_automated_check_fails_does_not_count() {
    let mut s = compliant();
    s.add_system(system("s").tier(RiskTier::High));
    s.add_binding(binding(
        "b",
        &["s"],
        &["A.5.4", "A.6.2.4", "A.6.2.8", "A.8.2", "A.9.2"],
    ));
    let v = judge(&s, &ok_deployment());
    // The system declares no validation report, event log or human oversight.
    let failing: Vec<_> = v.findings.iter().filter_map(|f| f.control).collect();
    assert_eq!(failing, ["A.6.2.4", "A.6.2.8", "A.9.2"], "{}", v.message());
    assert!(
        v.message()
            .contains("automated check failed: spec.monitoring.eventLog is not set")
    );

    s.add_system(documented_high_risk_system("s"));
    let v = judge(&s, &ok_deployment());
    assert!(v.allowed, "{}", v.message());
}

#[test]
fn evidence_past_its_review_date_makes_a_required_control_stale() {
    let mut s = compliant();
    s.add_system(system("s").tier(RiskTier::Limited));
    let mut b = binding("b", &["s"], &["A.8.2"]);
    b.spec.controls[0].evidence.push(Evidence {
        description: "user guide".into(),
        uri: None,
        reviewed_at: None,
        next_review: Some(ts("2026-11-01T00:00:00Z")),
    });
    s.add_binding(b);
    let v = judge(&s, &ok_deployment());
    assert_eq!(rules(&v), ["AIMS-005"]);
    assert!(v.message().contains("was due for review"));
}

#[test]
fn excluding_a_required_control_does_not_satisfy_it() {
    let mut s = compliant();
    s.add_system(system("s").tier(RiskTier::Limited));
    let mut b = binding("b", &["s"], &["A.8.2"]);
    b.spec.controls[0].applicability = Applicability::Excluded;
    b.spec.controls[0].justification = Some("not needed".into());
    s.add_binding(b);
    assert_eq!(rules(&judge(&s, &ok_deployment())), ["AIMS-005"]);
}

#[test]
fn retired_and_prohibited_systems_cannot_deploy() {
    let mut s = compliant();
    s.add_system(system("s").stage(LifecycleStage::Retired));
    assert_eq!(rules(&judge(&s, &ok_deployment())), ["AIMS-006"]);
    s.add_system(system("s").tier(RiskTier::Prohibited));
    assert_eq!(rules(&judge(&s, &ok_deployment())), ["AIMS-006"]);
}

#[test]
fn assessed_digest_must_match_the_deployed_one() {
    let mut s = compliant();
    let mut a = assessment("a", "s", &["1.0.x"]);
    a.spec.models[0].digest = Some(digest(9));
    s.add_assessment(a.approved_by("bob", "2026-11-01T00:00:00Z"));
    let v = judge(&s, &ok_deployment());
    assert!(rules(&v).contains(&"AIMS-007"), "{}", v.message());
    assert!(
        v.message()
            .contains(&format!("assessed digest {}", digest(9)))
    );
}

#[test]
fn image_other_than_the_declared_build_is_refused() {
    let other = format!("reg/m@{}", digest(2));
    let v = judge(
        &compliant(),
        &deployment("d", Some("s"), Some("1.0.0"), &other),
    );
    assert_eq!(rules(&v), ["AIMS-007"]);
}

#[test]
fn model_version_comes_from_the_declared_image_when_unlabelled() {
    let v = judge(
        &compliant(),
        &deployment("d", Some("s"), None, &model_image()),
    );
    assert!(v.allowed, "{}", v.message());
    let v = judge(
        &compliant(),
        &deployment("d", Some("s"), None, "reg/unknown:1"),
    );
    assert_eq!(rules(&v), ["AIMS-008"]);
}

#[test]
fn unreadable_workload_is_refused_not_admitted() {
    let mut d = ok_deployment();
    d["metadata"]["labels"] = json!({ SYSTEM_LABEL: 42 });
    let v = judge(&compliant(), &d);
    assert_eq!(rules(&v), ["AIMS-009"]);
    assert!(!v.allowed);
    assert!(
        v.message().contains(
            "metadata.labels.aims.io/system: invalid type: integer `42`, expected a string"
        )
    );
}

#[test]
fn every_failing_rule_is_reported_at_once() {
    let mut s = Snapshot::new();
    s.add_system(
        system("s")
            .owned_by(None)
            .without_monitoring()
            .stage(LifecycleStage::Retired)
            .tier(RiskTier::High),
    );
    let v = judge(
        &s,
        &deployment("d", Some("s"), Some("1.0.0"), "reg/m:latest"),
    );
    let ids = rules(&v);
    for expected in [
        "AIMS-002", "AIMS-003", "AIMS-004", "AIMS-005", "AIMS-006", "AIMS-007",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    let message = v.message();
    assert!(
        message
            .starts_with("Deployment ml/d (AI system \"s\", model m 1.0.0) is not allowed to run:"),
        "{message}"
    );
    assert_eq!(message.matches("\n- AIMS-").count(), ids.len());
}

#[test]
fn warn_and_audit_modes_admit_with_findings() {
    for (mode, label) in [
        (EnforcementMode::Warn, "warn"),
        (EnforcementMode::Audit, "audit"),
    ] {
        let mut s = Snapshot::new();
        opted_in(&mut s, label);
        s.add_system(system("s"));
        let v = judge(&s, &ok_deployment());
        assert_eq!(v.mode, mode);
        assert!(v.allowed && !v.findings.is_empty());
        assert!(v.headline().contains(&format!("admitted in {label} mode")));
    }
}

#[test]
fn a_mistyped_mode_label_enforces() {
    let mut s = Snapshot::new();
    opted_in(&mut s, "wran");
    s.add_system(system("s"));
    let v = judge(&s, &ok_deployment());
    assert_eq!(v.mode, EnforcementMode::Enforce);
    assert!(!v.allowed);
}

#[test]
fn a_system_mode_counts_when_stricter_than_the_namespace_or_approved_by_a_platform_owner() {
    let mut s = Snapshot::new();
    opted_in(&mut s, "enforce");
    let audit = system("s").mode(EnforcementMode::Audit);
    s.add_system(audit.clone());
    let v = judge(&s, &ok_deployment());
    assert_eq!(
        v.mode,
        EnforcementMode::Enforce,
        "unapproved: counts for nothing"
    );
    assert!(!v.allowed && !v.findings.is_empty());

    let audit = mode_approved_by_pat(audit, EnforcementMode::Audit);
    s.add_system(audit);
    let v = judge(&s, &ok_deployment());
    assert!(v.allowed && !v.findings.is_empty());

    let mut s = Snapshot::new();
    opted_in(&mut s, "audit");
    s.add_system(system("s").mode(EnforcementMode::Enforce));
    assert!(
        !judge(&s, &ok_deployment()).allowed,
        "stricter: always counts"
    );
}

#[test]
fn other_namespaces_assessments_do_not_count() {
    let mut s = Snapshot::new();
    s.add_system(system("s"));
    let mut a = assessment("a", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z");
    a.metadata.namespace = Some("elsewhere".into());
    s.add_assessment(a);
    assert_eq!(rules(&judge(&s, &ok_deployment())), ["AIMS-003"]);
}

#[test]
fn pod_template_paths_of_every_kind_are_read() {
    let template = json!({
        "metadata": { "labels": { SYSTEM_LABEL: "s", MODEL_VERSION_LABEL: "1.0.0" } },
        "spec": { "containers": [{ "name": "c", "image": model_image() }] }
    });
    let meta = json!({ "name": "w", "namespace": NS });
    let objects = [
        json!({ "kind": "StatefulSet", "metadata": meta, "spec": { "template": template } }),
        json!({ "kind": "DaemonSet", "metadata": meta, "spec": { "template": template } }),
        json!({ "kind": "ReplicaSet", "metadata": meta, "spec": { "template": template } }),
        json!({ "kind": "Job", "metadata": meta, "spec": { "template": template } }),
        json!({ "kind": "CronJob", "metadata": meta, "spec": { "jobTemplate": { "spec": { "template": template } } } }),
        json!({ "kind": "Pod", "metadata": { "name": "w", "namespace": NS, "labels": template["metadata"]["labels"] }, "spec": template["spec"] }),
    ];
    for o in objects {
        let v = judge(&compliant(), &o);
        assert!(
            v.allowed && v.findings.is_empty(),
            "{}: {}",
            o["kind"],
            v.message()
        );
        // The same object with a new model version must be caught: the template was read.
        let mut changed = o.clone();
        let text = serde_json::to_string(&changed)
            .expect("json")
            .replace("\"1.0.0\"", "\"9.9.9\"");
        changed = serde_json::from_str(&text).expect("json");
        assert_eq!(
            rules(&judge(&compliant(), &changed)),
            ["AIMS-003"],
            "{}",
            o["kind"]
        );
    }
}

// --- The recorded AdmissionReviews from a real API server ---

fn fixture_object(name: &str) -> Value {
    fixture(name)["request"]["object"].clone()
}

fn judge_fixture(s: &Snapshot, name: &str) -> Verdict<'static> {
    evaluate_object(
        s,
        &fixture_object(name),
        "lending",
        &Policy::default(),
        now(),
    )
    .expect("workload")
}

#[test]
fn recorded_deployment_is_allowed_when_its_version_is_assessed() {
    for name in [
        "deployment-create.json",
        "deployment-create-mutate.json",
        "deployment-update-dryrun.json",
    ] {
        let v = judge_fixture(&lending(), name);
        assert!(
            v.allowed && v.findings.is_empty(),
            "{name}: {}",
            v.message()
        );
    }
}

#[test]
fn recorded_image_change_under_an_old_version_label_is_refused() {
    // The update swaps in credit-scorer:2.4.0 while the label still says 2.3.1.
    let v = judge_fixture(&lending(), "deployment-update-image.json");
    assert!(!v.allowed);
    assert!(rules(&v).contains(&"AIMS-007"), "{}", v.message());
    assert!(v.message().contains("registry.example/credit-scorer:2.4.0"));
}

#[test]
fn recorded_deployment_is_refused_without_an_assessment() {
    let mut s = Snapshot::new();
    s.add_system(
        lending()
            .system("lending", "credit-scoring")
            .expect("system")
            .clone(),
    );
    let v = judge_fixture(&s, "deployment-create.json");
    assert_eq!(rules(&v), ["AIMS-003"]);
    assert!(v.message().starts_with(
        "Deployment lending/credit-scorer (AI system \"credit-scoring\", model scorer 2.3.1)"
    ));
}

#[test]
fn recorded_inference_service_of_an_unregistered_system_is_refused() {
    let v = judge_fixture(&lending(), "inferenceservice-create.json");
    assert_eq!(rules(&v), ["AIMS-001"]);
    assert_eq!(v.kind, "InferenceService");
}

#[test]
fn recorded_bare_pod_without_a_known_model_is_refused() {
    let v = judge_fixture(&lending(), "pod-create.json");
    assert_eq!(rules(&v), ["AIMS-008"]);
}

#[test]
fn recorded_cronjob_and_job_without_labels_are_not_judged() {
    for name in ["cronjob-create.json", "job-create.json"] {
        let v = judge_fixture(&lending(), name);
        assert!(
            matches!(v.scope, Scope::NotJudged(_)),
            "{name}: {}",
            v.message()
        );
    }
}

#[test]
fn recorded_scale_subresource_is_not_a_workload() {
    let object = fixture_object("deployment-scale-subresource.json");
    assert!(evaluate_object(&lending(), &object, "lending", &Policy::default(), now()).is_err());
}

#[test]
fn recorded_statefulset_of_an_unregistered_system_is_refused() {
    let v = judge_fixture(&lending(), "statefulset-create.json");
    assert_eq!(rules(&v), ["AIMS-001"]);
    assert!(
        v.message()
            .contains("no AISystem \"assistant\" is registered in namespace lending")
    );
}

#[test]
fn rule_ids_are_stable() {
    let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
    assert_eq!(
        ids,
        [
            "AIMS-001", "AIMS-002", "AIMS-003", "AIMS-004", "AIMS-005", "AIMS-006", "AIMS-007",
            "AIMS-008", "AIMS-009", "AIMS-010", "AIMS-011"
        ]
    );
    let serialized = serde_json::to_value(Rule::AssessmentMissing).expect("json");
    assert_eq!(serialized, json!("AIMS-003"));
}

// --- Monitoring in place (ServiceMonitor / PodMonitor) ---

fn monitor(
    kind: &str,
    on_monitor: Option<&str>,
    in_selector: Option<&str>,
) -> aims_operator::engine::snapshot::Monitor {
    let mut object = serde_json::json!({"kind": kind, "metadata": {"name": "scrape", "namespace": NS, "labels": {}},
        "spec": {"selector": {"matchLabels": {}}}});
    if let Some(s) = on_monitor {
        object["metadata"]["labels"][SYSTEM_LABEL] = serde_json::json!(s);
    }
    if let Some(s) = in_selector {
        object["spec"]["selector"]["matchLabels"][SYSTEM_LABEL] = serde_json::json!(s);
    }
    aims_operator::engine::snapshot::Monitor::from_value(kind, &object)
        .unwrap()
        .1
}

#[test]
fn where_monitors_exist_declared_monitoring_must_be_scraped() {
    let name = compliant().systems()[0].metadata.name.clone().unwrap();
    let workload = deployment("w", Some(&name), Some("1.0.0"), &model_image());

    // Monitors followed, but none tied to the system: AIMS-004 with the label to add.
    let mut s = compliant();
    s.add_monitor(NS, monitor("ServiceMonitor", Some("other-system"), None));
    let v = judge(&s, &workload);
    assert_eq!(rules(&v), ["AIMS-004"], "{}", v.message());
    assert!(
        v.message().contains("declared but not in place"),
        "{}",
        v.message()
    );
    assert!(v.message().contains(&format!(
        "label servicemonitor <name> aims.io/system={name}"
    )));

    // Tied by the monitor's own label, or by its selector: in place.
    for m in [
        monitor("ServiceMonitor", Some(&name), None),
        monitor("PodMonitor", None, Some(&name)),
    ] {
        let mut s = compliant();
        s.add_monitor(NS, m);
        assert!(judge(&s, &workload).findings.is_empty());
    }

    // Without monitors followed, or with the policy off, declaring is enough.
    assert!(judge(&compliant(), &workload).findings.is_empty());
    let mut s = compliant();
    s.add_monitor(NS, monitor("ServiceMonitor", None, None));
    let relaxed = Policy {
        require_scrape_monitor: false,
        ..Policy::default()
    };
    let v = evaluate_object(&s, &workload, NS, &relaxed, now()).unwrap();
    assert!(v.findings.is_empty());
}

/// An AIMS object without a namespace (a manifest that leaves it to the current context) is
/// the same object in `default`: a high-risk system, its assessment and its binding decide
/// a workload there exactly as when each of them names `default`.
#[test]
fn objects_without_a_namespace_decide_as_objects_in_default() {
    let register = |namespace: Option<&str>| {
        let mut s = Snapshot::new();
        s.add_namespace(
            "default",
            BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())]),
        );
        let mut sys = documented_high_risk_system("s");
        sys.metadata.namespace = namespace.map(Into::into);
        let mut a = assessment("a", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z");
        a.metadata.namespace = namespace.map(Into::into);
        let mut b = binding(
            "b",
            &["s"],
            &["A.5.4", "A.6.2.4", "A.6.2.8", "A.8.2", "A.9.2"],
        );
        b.metadata.namespace = namespace.map(Into::into);
        s.add_system(sys);
        s.add_assessment(a);
        s.add_binding(b);
        s
    };
    let mut workload = deployment("d", Some("s"), Some("1.0.0"), &model_image());
    workload["metadata"]["namespace"] = json!("default");
    let judge_in_default = |s: &Snapshot| {
        evaluate_object(s, &workload, "default", &Policy::default(), now()).expect("a workload")
    };
    let named = judge_in_default(&register(Some("default")));
    assert!(named.allowed, "{}", named.message());
    let unnamed = judge_in_default(&register(None));
    assert!(unnamed.allowed, "{}", unnamed.message());
    assert_eq!(unnamed.assessment, named.assessment);
}

#[test]
fn a_system_with_many_assessments_is_judged_on_every_one_of_them() {
    // 70 drafts sorted before the one approved assessment: a decision remembers the
    // approvals of every one of them, however many, and a change to any still counts.
    let mut s = Snapshot::new();
    let policy = std::sync::Arc::new(Policy::default());
    s.remember_facts_under(policy.clone());
    let judge = |s: &Snapshot, object: &Value| {
        evaluate_object(s, object, NS, &policy, now()).expect("a workload")
    };
    opted_in(&mut s, "enforce");
    s.add_system(system("s"));
    for i in 0..70 {
        s.add_assessment(assessment(&format!("a{i:02}"), "s", &["1.0.x"]));
    }
    s.add_assessment(assessment("z", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z"));
    for round in 0..2 {
        let v = judge(&s, &ok_deployment());
        assert!(v.allowed, "round {round}: {}", v.message());
        assert_eq!(v.assessment.as_deref(), Some("z"));
    }
    // Remembered or not, a later change to that assessment counts.
    s.add_assessment(assessment("z", "s", &["1.0.x"]));
    let v = judge(&s, &ok_deployment());
    assert_eq!(rules(&v), ["AIMS-003"], "{}", v.message());
}

/// A rule that read an annotation the readers drop would never see it; debug builds (the
/// test suite) stop at the read instead.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "add it to RULE_ANNOTATIONS")]
fn reading_an_annotation_that_workloads_do_not_keep_stops_the_tests() {
    let object = deployment("d", Some("s"), Some("1.0.0"), &model_image());
    let workload =
        aims_operator::engine::Workload::from_value(&object, "default").expect("workload");
    let _ = workload.annotation("kubectl.kubernetes.io/last-applied-configuration");
}

/// A workload keeps the annotations the rules read (break-glass) and not the others, which
/// can be kilobytes (kubectl's last-applied configuration), from text or tree alike; an
/// annotation that is not a string is still refused, with the annotation named.
#[test]
fn workloads_keep_only_the_annotations_the_rules_read() {
    use aims_operator::engine::Workload;
    const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
    let mut object = deployment("d", Some("s"), Some("1.0.0"), &model_image());
    object["metadata"]["annotations"] = json!({
        LAST_APPLIED: "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"note\":\"<\u{e9}>\"}}\n",
        BREAK_GLASS_REASON_ANNOTATION: "INC-1 \"caf\u{e9}\"",
        BREAK_GLASS_EXPIRES_ANNOTATION: "2026-11-24T00:00:00Z",
    });
    let text = object.to_string();
    let readings = [
        Workload::from_value(&object, "default").expect("tree reader"),
        Workload::from_json(&text, "default").expect("text reader"),
    ];
    for workload in &readings {
        assert_eq!(
            workload.annotation(BREAK_GLASS_REASON_ANNOTATION),
            Some("INC-1 \"caf\u{e9}\"")
        );
        assert_eq!(
            workload.annotation(BREAK_GLASS_EXPIRES_ANNOTATION),
            Some("2026-11-24T00:00:00Z")
        );
        assert_eq!(workload.annotations.get(LAST_APPLIED), None);
    }
    object["metadata"]["annotations"]["note"] = json!(3);
    let text = object.to_string();
    for read in [
        Workload::from_value(&object, "default"),
        Workload::from_json(&text, "default"),
    ] {
        let error = read
            .expect_err("an annotation that is not a string")
            .to_string();
        assert!(
            error.starts_with("metadata.annotations.note: invalid type: integer"),
            "{error}"
        );
    }
}

#[test]
fn the_system_label_is_found_among_few_labels_and_among_many() {
    // Short label lists are searched by equality, long ones in key order: both must find the
    // system label wherever it sorts, and an unregistered system is named either way.
    for extra in [0, 3, 7, 8, 9, 40] {
        let mut object = ok_deployment();
        for path in ["/metadata/labels", "/spec/template/metadata/labels"] {
            let labels = object
                .pointer_mut(path)
                .and_then(Value::as_object_mut)
                .unwrap();
            for i in 0..extra {
                // Keys sorting before and after `aims.io/system`.
                let key = format!("{}-{i}", if i % 2 == 0 { "a" } else { "z" });
                labels.insert(key, json!("x"));
            }
        }
        let verdict = judge(&compliant(), &object);
        assert!(
            verdict.allowed,
            "{extra} extra labels: {}",
            verdict.message()
        );
        assert_eq!(verdict.system.as_deref(), Some("s"), "{extra} extra labels");
        object["metadata"]["labels"][SYSTEM_LABEL] = json!("unknown");
        object["spec"]["template"]["metadata"]["labels"][SYSTEM_LABEL] = json!("unknown");
        let verdict = judge(&compliant(), &object);
        assert_eq!(rules(&verdict), ["AIMS-001"], "{extra} extra labels");
    }
}

#[test]
fn a_model_reads_the_same_in_audit_annotations_and_in_messages() {
    use aims_operator::engine::verdict::ModelRef;
    for name in [Some("scorer"), None] {
        let model = ModelRef {
            name: name.map(Into::into),
            version: "2.4.0".into(),
        };
        assert_eq!(model.text(), model.to_string());
    }
}
