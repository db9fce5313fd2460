//! Internal audits and management reviews: the nonconformity records an audit's findings
//! call for, the webhook's refusal of records from outside the policy's groups (over HTTPS,
//! under identity), the offline checks the CRD makes, and a review's inputs compared with
//! the last review (objective trends, register and SoA changes, open actions).

use aims_operator::engine::Snapshot;
use aims_operator::engine::audit::{AUDIT_LABEL, finding_records};
use aims_operator::resources::*;
use jiff::{Timestamp, ToSpan};
use kube::ResourceExt;
use serde_json::{Value, json};

use crate::harness::{as_user, in_process_snapshot, lending_unassessed};
use crate::support::*;

fn audit(findings: Value) -> InternalAudit {
    serde_json::from_value(
        json!({"apiVersion": "aims.io/v1alpha1", "kind": "InternalAudit",
        "metadata": {"name": "ia-2026h2"},
        "spec": {"scope": {"statement": "oversight"}, "auditor": "Erin",
            "startedAt": "2026-09-14T08:00:00Z", "completedAt": "2026-09-25T17:00:00Z",
            "findings": findings}}),
    )
    .unwrap()
}

#[test]
fn an_audit_finding_about_a_registered_system_is_opened_as_its_nonconformity() {
    let mut s = Snapshot::new();
    s.add_system(system("scoring"));
    s.add_audit(audit(json!([
        {"id": "override-log", "classification": "MajorNonconformity", "control": "A.9.2",
         "system": format!("{NS}/scoring"), "description": "overrides are not logged"},
        {"id": "own-record", "classification": "MinorNonconformity",
         "system": format!("{NS}/scoring"), "nonconformity": format!("{NS}/opened-by-hand"),
         "description": "tracked in a record people opened"},
        {"id": "threshold", "classification": "Observation",
         "system": format!("{NS}/scoring"), "description": "no alert threshold"},
        {"id": "elsewhere", "classification": "MinorNonconformity",
         "system": "other/scoring", "description": "another namespace's system"}
    ])));
    let records = finding_records(&s, s.system(NS, "scoring").unwrap());
    assert_eq!(records.len(), 1, "{records:?}");
    let (name, manifest) = &records[0];
    assert_eq!(name, "ia-2026h2-override-log");
    let record: Nonconformity = serde_json::from_value(manifest.clone()).unwrap();
    assert_eq!(record.metadata.namespace.as_deref(), Some(NS));
    assert_eq!(record.spec.source, NonconformitySource::InternalAudit);
    assert_eq!(record.spec.severity, NonconformitySeverity::Major);
    assert_eq!(record.spec.control.as_deref(), Some("A.9.2"));
    assert_eq!(record.spec.system_ref.as_deref(), Some("scoring"));
    assert_eq!(
        record.spec.owner.as_ref().map(|o| o.name.as_str()),
        Some("Owner"),
        "the system's owner owns the action unless the finding names someone"
    );
    assert_eq!(record.labels()[AUDIT_LABEL], "ia-2026h2");
    validate_nonconformity(&record.spec).unwrap();
}

#[test]
fn the_offline_check_refuses_the_audits_and_reviews_the_api_server_refuses() {
    let refusal = |findings: Value| validate_audit(&audit(findings).spec).unwrap_err();
    let unnamed = refusal(json!([{"id": "a", "classification": "MajorNonconformity",
        "description": "x"}]));
    assert!(
        unnamed.contains("names the AI system it concerns"),
        "{unnamed}"
    );
    let twice = refusal(json!([
        {"id": "a", "classification": "Observation", "description": "x"},
        {"id": "a", "classification": "Observation", "description": "y"}]));
    assert!(twice.contains("listed twice"), "{twice}");
    let bad_ref = refusal(json!([{"id": "a", "classification": "MinorNonconformity",
        "system": "scoring", "description": "x"}]));
    assert!(bad_ref.contains("is not namespace/name"), "{bad_ref}");
    let mut reversed = audit(json!([]));
    reversed.spec.completed_at = Some(reversed.spec.started_at - 1.hour());
    assert!(
        validate_audit(&reversed.spec)
            .unwrap_err()
            .contains("before spec.startedAt")
    );
    validate_audit(
        &audit(json!([{"id": "a", "classification": "Observation", "description": "x"}])).spec,
    )
    .unwrap();

    let review: ManagementReviewSpec = serde_json::from_value(json!({
        "heldAt": "2026-12-01T10:00:00Z", "chair": "CRO",
        "actions": [{"id": "a", "description": "x", "owner": "o"},
                    {"id": "a", "description": "y", "owner": "o"}]}))
    .unwrap();
    assert!(validate_review(&review).unwrap_err().contains("unique"));
}

fn write_review(kind: &str, resource: &str, object: Value, user: &str, groups: &[&str]) -> Value {
    let mut review = fixture("custom-resource-create.json");
    review["request"]["kind"] = json!({"group": "aims.io", "version": "v1alpha1", "kind": kind});
    review["request"]["resource"] =
        json!({"group": "aims.io", "version": "v1alpha1", "resource": resource});
    review["request"]["namespace"] = Value::Null;
    review["request"]["name"] = object["metadata"]["name"].clone();
    review["request"]["object"] = object;
    as_user(review, user, groups)
}

#[tokio::test]
async fn audits_and_reviews_are_recorded_only_by_their_groups_and_only_as_they_can_be_true() {
    let mut h = in_process_snapshot(lending_unassessed(true));
    let audit = |system: &str| {
        json!({"apiVersion": "aims.io/v1alpha1", "kind": "InternalAudit",
            "metadata": {"name": "ia-1"},
            "spec": {"scope": {"statement": "lending"}, "auditor": "Erin",
                "startedAt": "2026-09-14T08:00:00Z", "completedAt": "2026-09-25T17:00:00Z",
                "findings": [{"id": "f", "classification": "MinorNonconformity",
                    "system": system, "description": "x"}]}})
    };
    let outsider = h
        .write(&write_review(
            "InternalAudit",
            "internalaudits",
            audit("lending/credit-scoring"),
            "alice",
            &["dev-team"],
        ))
        .await;
    assert!(outsider.stored.is_none());
    assert!(
        outsider.refusal().contains(
            "InternalAudit records are written by a member of aims-internal-auditors; alice (groups dev-team) is not one"
        ),
        "{}",
        outsider.refusal()
    );
    let unknown = h
        .write(&write_review(
            "InternalAudit",
            "internalaudits",
            audit("lending/forecaster"),
            "erin",
            &["aims-internal-auditors"],
        ))
        .await;
    assert!(
        unknown
            .refusal()
            .contains("no AISystem forecaster in namespace lending"),
        "{}",
        unknown.refusal()
    );
    let recorded = h
        .write(&write_review(
            "InternalAudit",
            "internalaudits",
            audit("lending/credit-scoring"),
            "erin",
            &["aims-internal-auditors"],
        ))
        .await;
    let stored = recorded.stored.expect("an auditor records the audit");
    assert_eq!(stored["metadata"]["annotations"][AUTHOR_ANNOTATION], "erin");

    let review = |held: Timestamp| {
        json!({"apiVersion": "aims.io/v1alpha1", "kind": "ManagementReview",
            "metadata": {"name": "review-1"},
            "spec": {"heldAt": held.to_string(), "chair": "CRO"}})
    };
    let future = h
        .write(&write_review(
            "ManagementReview",
            "managementreviews",
            review(now() + 48.hours()),
            "rita",
            &["aims-management-reviewers"],
        ))
        .await;
    assert!(
        future.refusal().contains("spec.heldAt") && future.refusal().contains("future"),
        "{}",
        future.refusal()
    );
    let auditor = h
        .write(&write_review(
            "ManagementReview",
            "managementreviews",
            review(now() - 1.hour()),
            "erin",
            &["aims-internal-auditors"],
        ))
        .await;
    assert!(
        auditor
            .refusal()
            .contains("written by a member of aims-management-reviewers"),
        "{}",
        auditor.refusal()
    );
    let held = h
        .write(&write_review(
            "ManagementReview",
            "managementreviews",
            review(now() - 1.hour()),
            "rita",
            &["aims-management-reviewers"],
        ))
        .await;
    assert!(held.stored.is_some(), "{:?}", held.validate);
}

#[test]
fn review_inputs_compare_with_the_last_review_and_list_what_it_left_open() {
    let inputs = aims_operator_json(&[
        "review",
        "examples",
        "--format",
        "json",
        "--now",
        "2026-12-05T00:00:00Z",
    ]);
    assert_eq!(inputs["previousReview"], "management-review-2026h1");
    assert_eq!(inputs["since"], "2026-06-30T10:00:00Z");
    let objective = |name: &str| objective(&inputs, name);
    // 2 of the 3 Limited- and High-risk examples say how their users are told: 67 %,
    // against 33 % at the last review.
    let disclosed = objective("tell their users");
    assert_eq!(disclosed["value"], "67 %");
    assert_eq!(
        disclosed["trend"],
        "Improving (was 33 % at management-review-2026h1)"
    );
    assert!(
        objective("reviewed within")["trend"]
            .as_str()
            .unwrap()
            .starts_with("Worsening")
    );
    assert!(
        objective("time to detect")["trend"]
            .as_str()
            .unwrap()
            .starts_with("First measured")
    );
    let listed = |key: &str| inputs[key].to_string();
    assert!(
        listed("systemChanges").contains("clinic/appointment-scheduling: added (Limited)"),
        "{inputs}"
    );
    assert!(
        listed("systemChanges")
            .contains("support/support-assistant: life cycle Deployment → Operation"),
        "{inputs}"
    );
    assert!(listed("controlChanges").contains("A.6.2.6: Implemented → Verified"));
    assert!(
        listed("openActions").contains(
            "management-review-2026h1/competence-matrix: Publish the AI competence matrix"
        ) && listed("openActions").contains("overdue since 2026-11-30"),
        "{inputs}"
    );
    assert!(
        !listed("openActions").contains("alert-routes"),
        "a completed action is not open"
    );
    // Offline nobody opens the oversight finding's record; the one people opened is open.
    assert!(
        listed("audits").contains("internal-audit-2026h2")
            && listed("audits").contains("1 awaiting its record")
            && listed("audits").contains("1 Open"),
        "{inputs}"
    );
}

#[test]
fn a_draft_review_carries_the_inputs_and_refuses_to_be_applied_without_a_chair() {
    let out = aims_operator(&[
        "review",
        "examples",
        "--format",
        "yaml",
        "--name",
        "review-2026h2",
        "--now",
        "2026-12-05T00:00:00Z",
    ]);
    assert!(out.status.success());
    let draft: ManagementReview = serde_saphyr::from_slice(&out.stdout).unwrap();
    assert_eq!(draft.metadata.name.as_deref(), Some("review-2026h2"));
    let inputs = draft.spec.inputs.clone().unwrap();
    assert_eq!(
        inputs.previous_review.as_deref(),
        Some("management-review-2026h1")
    );
    assert!(
        validate_review(&draft.spec)
            .unwrap_err()
            .contains("spec.chair")
    );
    let mut completed = draft.spec;
    completed.chair = "CRO".into();
    validate_review(&completed).unwrap();
}

#[test]
fn the_soa_shows_each_objective_trend_since_the_last_review() {
    let out = aims_operator(&["soa", "examples", "--now", "2026-12-05T00:00:00Z"]);
    let soa = String::from_utf8(out.stdout).unwrap();
    assert!(
        soa.contains("| Objective | Target | Now | Met | Trend | Owner |")
            && soa.contains(
                "| 100 % | 67 % | **no** | Improving (was 33 % at management-review-2026h1) |"
            ),
        "{soa}"
    );
}

#[test]
fn the_audit_register_says_what_each_audit_found_and_how_it_is_addressed() {
    let register = aims_operator_json(&[
        "audits",
        "examples",
        "--format",
        "json",
        "--now",
        "2026-12-05T00:00:00Z",
    ]);
    let rows = register["findings"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["finding"] == id).unwrap().clone();
    let tracked = row("fairness-evidence");
    assert_eq!(tracked["record"], "lending/audit-2026-fairness-evidence");
    assert_eq!(tracked["stands"], "Open");
    // Offline nobody opens the record the operator opens in the cluster.
    let opened_by_operator = row("oversight-log");
    assert_eq!(
        opened_by_operator["record"],
        "lending/internal-audit-2026h2-oversight-log"
    );
    assert_eq!(opened_by_operator["stands"], "awaiting its record");
    assert_eq!(row("handover-metric")["stands"], "Observation");
    assert!(rows.iter().all(|r| r["audit"] == "internal-audit-2026h2"));
}

#[test]
fn a_management_review_action_past_its_due_date_shows_in_the_metrics() {
    let mut loaded = aims_operator::manifests::Loaded::new("default");
    for (file, text) in aims_operator::examples::FILES {
        loaded.read_str(file, text);
    }
    // The example review's competence-matrix action is due 2026-11-30 and open; its
    // alert-routes action was completed.
    let before = metrics_text(&loaded.snapshot, "2026-11-29T00:00:00Z".parse().unwrap());
    assert!(
        before.contains("aims_management_review_actions_overdue 0"),
        "{before}"
    );
    let after = metrics_text(&loaded.snapshot, "2026-12-01T00:00:00Z".parse().unwrap());
    assert!(
        after.contains("aims_management_review_actions_overdue 1"),
        "{after}"
    );
}
