//! Conditions, binding results and the SoA computed from a snapshot.

use crate::support;

use aims_operator::engine::Snapshot;
use aims_operator::engine::status::{
    evaluate_assessment, evaluate_binding, evaluate_system, stored_transitions, to_conditions,
    types,
};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use aims_operator::soa;
use support::*;

fn condition<'a>(
    e: &'a aims_operator::engine::status::SystemEvaluation,
    t: &str,
) -> &'a aims_operator::engine::status::ConditionOutcome {
    e.conditions
        .iter()
        .find(|c| c.type_ == t)
        .expect("condition present")
}

#[test]
fn compliant_system_has_every_condition_true() {
    let mut s = Snapshot::new();
    s.add_system(system("s"));
    s.add_assessment(
        assessment("a", "s", &["1.0.x"])
            .valid_until("2027-01-01T00:00:00Z")
            .approved_by("bob", "2026-11-01T00:00:00Z"),
    );
    let sys = s.system(NS, "s").expect("system").clone();
    let e = evaluate_system(&s, &sys, &Policy::default(), now());
    assert!(e.conditions.iter().all(|c| c.met), "{:?}", e.conditions);
    assert_eq!(e.summary.compliant, "True");
    assert_eq!(e.summary.monitored, "Yes");
    assert_eq!(e.summary.assessment, "a");
    assert_eq!(
        e.next_change,
        Some(ts("2027-01-01T00:00:00Z")),
        "requeue exactly at expiry"
    );
}

#[test]
fn uncovered_declared_version_fails_assessment_approved() {
    let mut s = Snapshot::new();
    s.add_system(system("s").with_model("m", "2.0.0", None));
    s.add_assessment(assessment("a", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z"));
    let sys = s.system(NS, "s").expect("system").clone();
    let e = evaluate_system(&s, &sys, &Policy::default(), now());
    let c = condition(&e, types::ASSESSMENT_APPROVED);
    assert!(!c.met);
    assert_eq!(c.reason, "ModelVersionNotCovered");
    assert!(c.message.contains("m 2.0.0"));
    assert!(!condition(&e, types::COMPLIANT).met);
}

#[test]
fn owner_and_monitoring_conditions_say_what_to_set() {
    let mut s = Snapshot::new();
    s.add_system(system("s").owned_by(None).without_monitoring());
    let sys = s.system(NS, "s").expect("system").clone();
    let e = evaluate_system(&s, &sys, &Policy::default(), now());
    assert_eq!(condition(&e, types::OWNER_ASSIGNED).reason, "OwnerMissing");
    assert_eq!(
        condition(&e, types::MONITORING_CONFIGURED).message,
        "set spec.monitoring"
    );
    assert_eq!(e.summary.monitored, "No");
    assert_eq!(e.summary.assessment, "Missing");
    assert_eq!(
        condition(&e, types::COMPLIANT).message,
        "not met: OwnerAssigned (set spec.owner.name, contact and team); AssessmentApproved (no approved, \
         current assessment: no ImpactAssessment references this system); MonitoringConfigured (set spec.monitoring)"
    );
}

#[test]
fn last_transition_time_is_kept_unless_the_status_flips() {
    let mut s = Snapshot::new();
    s.add_system(system("s"));
    let sys = s.system(NS, "s").expect("system").clone();
    let earlier = ts("2026-01-01T00:00:00Z");
    let first = to_conditions(
        &evaluate_system(&s, &sys, &Policy::default(), now()).conditions,
        stored_transitions(&[]),
        Some(3),
        earlier,
    );
    assert!(
        first
            .iter()
            .all(|c| c.last_transition_time == earlier && c.observed_generation == Some(3))
    );
    // Same evaluation later: times kept.
    let again = to_conditions(
        &evaluate_system(&s, &sys, &Policy::default(), now()).conditions,
        stored_transitions(&first),
        Some(4),
        now(),
    );
    assert!(again.iter().all(|c| c.last_transition_time == earlier));
    // The assessment arrives: AssessmentApproved and Compliant flip, the others keep their time.
    s.add_assessment(assessment("a", "s", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z"));
    let flipped = to_conditions(
        &evaluate_system(&s, &sys, &Policy::default(), now()).conditions,
        stored_transitions(&again),
        Some(4),
        now(),
    );
    for c in &flipped {
        let expected = if c.type_ == types::ASSESSMENT_APPROVED || c.type_ == types::COMPLIANT {
            now()
        } else {
            earlier
        };
        assert_eq!(c.last_transition_time, expected, "{}", c.type_);
    }
}

#[test]
fn assessment_conditions_flag_a_missing_system() {
    let s = Snapshot::new();
    let a = assessment("a", "ghost", &["1"]);
    let (state, conditions) = evaluate_assessment(&a, &s, &Policy::default(), now());
    assert_eq!(state.phase, AssessmentPhase::PendingApproval);
    assert_eq!(conditions[0].reason, "SystemNotFound");
}

#[test]
fn binding_reports_the_worst_state_across_its_systems() {
    let mut s = Snapshot::new();
    s.add_system(system("good"));
    s.add_system(system("bad").owned_by(None));
    let b = binding("b", &["good", "bad", "ghost"], &["A.3.2", "A.2.2"]);
    s.add_binding(b.clone());
    let (results, summary, condition) = evaluate_binding(&b, &s, &Policy::default(), now());
    assert_eq!(results[0].id, "A.3.2");
    assert_eq!(results[0].state, ControlState::Failed);
    assert!(results[0].message.starts_with("bad: "));
    assert_eq!(results[1].state, ControlState::Implemented);
    assert_eq!((summary.total, summary.met, summary.failing), (2, 1, 1));
    assert_eq!(condition.reason, "SystemNotFound");
    assert!(condition.message.contains("ghost"));
}

#[test]
fn soa_covers_all_controls_and_shows_gaps() {
    let mut s = Snapshot::new();
    s.add_system(system("s"));
    let mut b = binding("b", &["s"], &["A.3.2"]);
    b.spec.controls.push(accepted_exclusion("A.10.3", "bob"));
    // Proposed by someone, accepted by nobody: not yet an exclusion.
    b.spec.controls.push(ControlEntry {
        id: "A.10.2".into(),
        applicability: Applicability::Excluded,
        justification: Some("no third parties".into()),
        exclusion: None,
        implementation: None,
        evidence: vec![],
    });
    s.add_binding(b);
    let statement = soa::build(&s, &Policy::default(), "test", now());
    assert_eq!(statement.controls.len(), 38);
    let row = |id: &str| statement.controls.iter().find(|r| r.id == id).expect("row");
    assert_eq!(row("A.3.2").status, ControlState::Verified);
    assert_eq!(row("A.10.3").status, ControlState::Excluded);
    assert_eq!(row("A.10.3").justification, ["no suppliers"]);
    assert_eq!(row("A.10.2").status, ControlState::Planned);
    assert_eq!(row("A.2.2").status, ControlState::Gap);
    assert_eq!(row("A.2.2").applicability, "Not addressed");
    assert_eq!(statement.totals.get("Gap"), Some(&35));
}

#[test]
fn objectives_count_assessed_high_risk_systems_reviews_documentation_and_drift() {
    use aims_operator::engine::objectives::objectives;
    use aims_operator::engine::{Snapshot, Workload};

    let mut s = Snapshot::new();
    // High risk and covered by an approved assessment; reviewed a month ago every 90 days.
    let mut covered = system("covered").in_ns().tier(RiskTier::High);
    covered.spec.review = Some(Box::new(ReviewSchedule {
        interval_days: 90,
        last_reviewed: Some(ts("2026-10-23T00:00:00Z")),
    }));
    s.add_system(covered);
    s.add_assessment(
        assessment("covered-ia", "covered", &["1.0.x"])
            .valid_until("2026-12-23T12:00:00Z")
            .approved_by("bob", "2026-11-01T00:00:00Z"),
    );
    // High risk without an assessment; review overdue.
    let mut bare = system("bare").in_ns().tier(RiskTier::High);
    bare.spec.review = Some(Box::new(ReviewSchedule {
        interval_days: 30,
        last_reviewed: Some(ts("2026-01-01T00:00:00Z")),
    }));
    s.add_system(bare);
    // A running workload of the unassessed system: an open nonconformity.
    s.add_workload(
        Workload::from_value(
            &deployment("w", Some("bare"), Some("1.0.0"), &model_image()),
            NS,
        )
        .unwrap(),
    );
    let o = objectives(&s, &Policy::default(), now());
    assert_eq!(o.high_risk_assessed, 0.5);
    assert_eq!(o.reviewed_on_schedule, 0.5);
    assert_eq!(o.training_data_documented, 0.0);
    assert_eq!(o.open_nonconformities, 1);
    assert_eq!(o.expiries.len(), 1);
    assert_eq!(o.expiries[0].seconds, 30.0 * 24.0 * 3600.0);
}

#[test]
fn monitoring_declared_but_not_scraped_says_which_label_to_add() {
    let mut s = Snapshot::new();
    let sys = system("scoring").in_ns();
    s.add_system(sys.clone());
    let object =
        serde_json::json!({"kind": "ServiceMonitor", "metadata": {"name": "m", "namespace": NS}});
    let (ns, monitor) =
        aims_operator::engine::snapshot::Monitor::from_value("ServiceMonitor", &object).unwrap();
    s.add_monitor(&ns, monitor);
    let e = evaluate_system(&s, &sys, &Policy::default(), now());
    let c = e
        .conditions
        .iter()
        .find(|c| c.type_ == "MonitoringConfigured")
        .unwrap();
    assert!(!c.met);
    assert_eq!(c.reason, "NotInPlace");
    assert!(
        c.message
            .ends_with("label the monitor that scrapes it with aims.io/system=scoring"),
        "{}",
        c.message
    );
}

/// A register entry past its review date shows as ReviewOverdue (status True) with the date
/// and the command that records a review; it decides Compliant and refuses workloads
/// (AIMS-010) only where the policy gates on it. The reconciler wakes at the due date.
#[test]
fn an_overdue_review_shows_and_gates_only_where_the_policy_says() {
    let reviewed = |last: Option<&str>| {
        let mut sys = system("s");
        sys.spec.review = Some(Box::new(ReviewSchedule {
            interval_days: 90,
            last_reviewed: last.map(ts),
        }));
        sys
    };
    let world = |sys: AISystem| {
        let mut s = Snapshot::new();
        s.add_system(sys);
        s.add_assessment(
            assessment("a", "s", &["1.0.x"])
                .valid_until("2027-06-01T00:00:00Z")
                .approved_by("bob", "2026-11-01T00:00:00Z"),
        );
        s
    };
    let gating = Policy {
        gate_on_overdue_review: true,
        ..Policy::default()
    };
    // Last reviewed 2026-08-01: due 2026-10-30T00:00Z, before `now` (2026-11-23).
    let s = world(reviewed(Some("2026-08-01T00:00:00Z")));
    let sys = s.system(NS, "s").unwrap().clone();
    let e = evaluate_system(&s, &sys, &Policy::default(), now());
    let c = condition(&e, types::REVIEW_OVERDUE);
    let written = to_conditions(&e.conditions, stored_transitions(&[]), None, now());
    let status = |type_: &str| {
        written
            .iter()
            .find(|c| c.type_ == type_)
            .map(|c| c.status.clone())
    };
    assert_eq!(status(types::REVIEW_OVERDUE).as_deref(), Some("True"));
    assert_eq!(c.reason, "Overdue");
    assert_eq!(
        c.message,
        "the register entry of AISystem \"s\" was due for review at 2026-10-30T00:00:00Z (every 90 days; \
         last reviewed 2026-08-01T00:00:00Z); review the entry with its owner, then record it: \
         kubectl -n ml patch aisystem s --type merge -p '{\"spec\":{\"review\":{\"lastReviewed\":\"<RFC 3339 time of the review>\"}}}'"
    );
    assert_eq!(e.summary.compliant, "True", "by default it only shows");
    let d = deployment("d", Some("s"), Some("1.0.0"), &model_image());
    let judge = |policy: &Policy| {
        aims_operator::engine::evaluate_object(&s, &d, NS, policy, now())
            .unwrap()
            .rule_ids()
    };
    assert_eq!(judge(&Policy::default()), "");
    assert_eq!(judge(&gating), "AIMS-010");
    let e = evaluate_system(&s, &sys, &gating, now());
    assert_eq!(e.summary.compliant, "False");
    assert!(
        condition(&e, types::COMPLIANT)
            .message
            .contains("ReviewOverdue (")
    );

    // At the boundary: on schedule one second before the due date, overdue at it.
    let due = ts("2026-10-30T00:00:00Z");
    let before = evaluate_system(&s, &sys, &gating, ts("2026-10-29T23:59:59Z"));
    assert!(condition(&before, types::REVIEW_OVERDUE).met);
    assert_eq!(
        before.next_change,
        Some(due),
        "the reconciler wakes at the due date"
    );
    assert!(
        !condition(
            &evaluate_system(&s, &sys, &gating, due),
            types::REVIEW_OVERDUE
        )
        .met
    );

    // Never reviewed: due one interval after the system was registered.
    let mut fresh = reviewed(None);
    fresh.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        ts("2026-10-01T00:00:00Z"),
    ));
    let s = world(fresh);
    let sys = s.system(NS, "s").unwrap().clone();
    let c = evaluate_system(&s, &sys, &gating, now());
    assert_eq!(
        condition(&c, types::REVIEW_OVERDUE).message,
        "next review due at 2026-12-30T00:00:00Z"
    );
    let register = soa::build(&s, &gating, "test", now()).register;
    assert_eq!(register[0].review, "due 2026-12-30");
}

/// An assessment's risk treatment is only as true as the controls it names: each must be
/// implemented for the system. The assessment's status names every risk whose control is
/// not in place; admission refuses (AIMS-011) only for the tiers the policy gates, so an
/// upgrade stops nothing that ran.
#[test]
fn risk_treatment_is_checked_against_the_controls_it_names() {
    let mut sys = system("s");
    sys.spec.risk_tier = RiskTier::Limited;
    let mut a = assessment("a", "s", &["1.0.x"]);
    a.spec.risks[0].controls = vec!["A.8.2".into(), "A.7.4".into()];
    let a = a
        .valid_until("2027-06-01T00:00:00Z")
        .approved_by("bob", "2026-11-01T00:00:00Z");
    let world = |bound: &[&str]| {
        let mut s = Snapshot::new();
        s.add_system(sys.clone());
        s.add_assessment(a.clone());
        let policy = Policy::default();
        let mut required: Vec<&str> = policy
            .required_for(RiskTier::Limited)
            .iter()
            .map(String::as_str)
            .collect();
        required.extend_from_slice(bound);
        s.add_binding(binding("b", &["s"], &required));
        s
    };
    let risk = |s: &Snapshot| {
        let (_, conditions) = evaluate_assessment(&a, s, &Policy::default(), now());
        conditions
            .into_iter()
            .find(|c| c.type_ == types::RISK_CONTROLS_IN_PLACE)
            .unwrap()
    };
    // A.8.2 is required for Limited (so bound and implemented); A.7.4 is not bound.
    let s = world(&[]);
    let c = risk(&s);
    assert!(!c.met);
    assert_eq!(
        c.message,
        "risk R1 relies on A.7.4, which is Gap: bind and implement A.7.4 for AISystem \"s\" (a ControlBinding \
         in namespace ml with spec.systems: [s] and implementation.status: Implemented), or revise the \
         risks' treatment and have the assessment approved again"
    );
    let d = deployment("d", Some("s"), Some("1.0.0"), &model_image());
    let judge = |s: &Snapshot, policy: &Policy| {
        aims_operator::engine::evaluate_object(s, &d, NS, policy, now()).unwrap()
    };
    assert_eq!(
        judge(&s, &Policy::default()).rule_ids(),
        "",
        "by default it only shows"
    );
    let gating = Policy {
        risk_controls_gate_tiers: vec![RiskTier::Limited],
        ..Policy::default()
    };
    let refused = judge(&s, &gating);
    assert_eq!(refused.rule_ids(), "AIMS-011");
    assert!(refused.message().contains(
        "AIMS-011 assessment \"a\" treats its risks with controls that are not in place: risk R1 relies on A.7.4, which is Gap"
    ));
    // Bound and implemented: in place, admitted.
    let s = world(&["A.7.4"]);
    assert!(risk(&s).met);
    assert_eq!(judge(&s, &gating).rule_ids(), "");
    // Excluded for the system: a treatment cannot rely on it.
    let mut excluded = world(&[]);
    let mut b = binding("x", &["s"], &[]);
    b.spec.controls.push(accepted_exclusion("A.7.4", "bob"));
    excluded.add_binding(b);
    assert!(risk(&excluded).message.contains("A.7.4, which is Excluded"));
}

/// An approved assessment's expiry is exported as the instant it expires (a Unix time, as
/// the serving certificate's is), so the series changes only when the expiry does and an
/// alert subtracts `time()`.
#[test]
fn an_assessment_expiry_is_exported_as_the_instant_it_expires() {
    let s = lending();
    let assessment = s.assessments_for("lending", "credit-scoring")[0].clone();
    let expires = s
        .assessment_state(&assessment, &Policy::default(), now())
        .expires_at
        .unwrap();
    for at in [now(), now() + jiff::SignedDuration::from_hours(48)] {
        let text = metrics_text(&s, at);
        assert!(
            text.contains(&format!(
                "aims_assessment_expiry_timestamp_seconds{{namespace=\"lending\",name=\"credit-scoring-2026q3\"}} {}",
                expires.as_second()
            )),
            "{text}"
        );
    }
}
