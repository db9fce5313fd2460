//! Internal audits and management reviews on the real API server: only the policy's groups
//! may record them (someone RBAC lets write is still refused by the webhook, and nothing is
//! written), an audit finding about a system that does not exist or with dates out of order
//! is refused, the operator opens a Nonconformity for a finding about a registered system,
//! and `kubectl aims review` gathers the inputs (the audit among them) and records a review
//! with its decisions and actions under the recorder's identity.

use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::{Journey, admin_apply, eventually};
use crate::steps::{approved_system, field};

fn audit(name: &str, finding_system: &str, started: Timestamp, completed: Timestamp) -> Value {
    json!({"apiVersion": "aims.io/v1alpha1", "kind": "InternalAudit",
        "metadata": {"name": name},
        "spec": {"scope": {"statement": "Oversight of the scoring models"},
            "auditor": "Erin (internal audit)",
            "startedAt": started.to_string(), "completedAt": completed.to_string(),
            "findings": [
                {"id": "override-log", "classification": "MinorNonconformity", "control": "A.9.2",
                 "system": finding_system,
                 "description": "overrides of the model's recommendation are not logged with a reason"},
                {"id": "alert-threshold", "classification": "Observation",
                 "description": "the drift alert has no documented threshold"}]}})
}

fn minutes(name: &str, held: Timestamp) -> String {
    json!({"apiVersion": "aims.io/v1alpha1", "kind": "ManagementReview",
        "metadata": {"name": name},
        "spec": {"heldAt": held.to_string(), "chair": "Rita (CRO)",
            "attendees": ["Head of Model Risk", "Internal audit"],
            "decisions": [{"description": "Log every override with its reason from Q1.", "topic": "A.9.2"}],
            "actions": [{"id": "override-log", "description": "Add a reason field to the override screen.",
                "owner": "Head of Model Risk", "dueDate": (held + 720.hours()).to_string()}]}})
    .to_string()
}

/// Lets `user` write audits and reviews through RBAC, as a careless binding would, without
/// putting them in the policy's groups.
fn bind_roles(journey: &Journey, user: User) {
    let binding = |role: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("{}-{role}", journey.ns)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "name": user.name(), "apiGroup": "rbac.authorization.k8s.io"}]})
    };
    admin_apply(
        journey.plane,
        &[
            binding("aims-internal-auditor"),
            binding("aims-management-reviewer"),
        ],
    );
}

#[tokio::test]
async fn an_audit_finding_opens_its_nonconformity_and_a_management_review_is_recorded() {
    let journey = Journey::start("e2e-management", "enforce").await;
    let ns = journey.ns.clone();
    let plane = journey.plane;
    approved_system(&journey, "scoring");
    bind_roles(&journey, User::Alice);
    let apply = |user, object: Value| {
        plane.kubectl_with_input(
            user,
            &["apply", "-f", "-"],
            Some(&crate::env::stream(&[object])),
        )
    };
    let name = format!("{ns}-2026h2");
    let ended = Timestamp::from_second(Timestamp::now().as_second()).unwrap() - 24.hours();
    let started = ended - 240.hours();

    // Bad input: a clear refusal, nothing written.
    let refused = apply(
        User::Alice,
        audit(&name, &format!("{ns}/scoring"), started, ended),
    )
    .refused();
    assert!(
        refused.contains("InternalAudit records are written by a member of aims-internal-auditors")
            && refused.contains("alice"),
        "{refused}"
    );
    let absent = plane.kubectl(User::Admin, &["get", "internalaudit", &name]);
    assert!(!absent.success, "a refused audit leaves nothing behind");
    let refused = apply(
        User::Erin,
        audit(&name, &format!("{ns}/forecaster"), started, ended),
    )
    .refused();
    assert!(refused.contains("no AISystem forecaster"), "{refused}");
    let refused = apply(
        User::Erin,
        audit(&name, &format!("{ns}/scoring"), ended, started),
    )
    .refused();
    assert!(
        refused.contains("spec.completedAt is before spec.startedAt"),
        "{refused}"
    );

    // The auditor records it; the operator opens the finding's nonconformity.
    apply(
        User::Erin,
        audit(&name, &format!("{ns}/scoring"), started, ended),
    )
    .ok();
    let record = format!("nonconformity/{name}-override-log");
    eventually(
        "the operator opens the finding's record",
        Duration::from_secs(30),
        || async {
            // Not there at the first polls: the operator opens it after the audit lands.
            let phase = crate::steps::try_field(&journey, &record, "{.status.phase}")?;
            if phase == "Open" { Ok(()) } else { Err(phase) }
        },
    )
    .await;
    assert_eq!(field(&journey, &record, "{.spec.source}"), "InternalAudit");
    assert_eq!(field(&journey, &record, "{.spec.severity}"), "Minor");
    assert_eq!(field(&journey, &record, "{.spec.control}"), "A.9.2");

    // The audit register, read live: the finding, its record, and where it stands.
    let register = plane
        .kubectl(User::Erin, &["aims", "audits", "--format", "json"])
        .ok();
    let register: Value = serde_json::from_str(&register).unwrap();
    let finding = register["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["audit"] == name.as_str() && r["finding"] == "override-log")
        .cloned()
        .unwrap_or_else(|| panic!("{register}"));
    assert_eq!(finding["record"], format!("{ns}/{name}-override-log"));
    assert_eq!(finding["stands"], "Open");

    // The review's inputs, read live, carry the audit and where its finding stands.
    let inputs = plane
        .kubectl(User::Rita, &["aims", "review", "--format", "json"])
        .ok();
    let inputs: Value = serde_json::from_str(&inputs).unwrap();
    let audits = inputs["audits"].to_string();
    assert!(
        audits.contains(&name) && audits.contains("1 Open") && audits.contains("1 Observation"),
        "{inputs}"
    );
    assert!(
        inputs["nonconformities"]["open"].as_u64().unwrap() >= 1,
        "{inputs}"
    );

    // Recording: someone outside the group is refused; a future date is refused; the
    // reviewer records it with the inputs gathered now.
    let review = format!("{ns}-review");
    let file = plane.dir.join(format!("{review}.yaml"));
    let held = Timestamp::from_second(Timestamp::now().as_second()).unwrap() - 1.hour();
    std::fs::write(&file, minutes(&review, held + 48.hours())).unwrap();
    let record_it = |user| {
        plane.kubectl(
            user,
            &["aims", "review", "--record", file.to_str().unwrap()],
        )
    };
    let refused = record_it(User::Rita);
    assert!(
        !refused.success && refused.stderr.contains("spec.heldAt"),
        "{refused:?}"
    );
    std::fs::write(&file, minutes(&review, held)).unwrap();
    let refused = record_it(User::Alice);
    assert!(
        !refused.success
            && refused.stderr.contains(
                "ManagementReview records are written by a member of aims-management-reviewers"
            ),
        "{refused:?}"
    );
    let recorded = record_it(User::Rita).ok();
    assert!(
        recorded.contains("1 decision(s), 1 action(s)"),
        "{recorded}"
    );
    let stored = plane
        .kubectl(
            User::Erin,
            &["get", "managementreview", &review, "-o", "json"],
        )
        .ok();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        stored["metadata"]["annotations"]["aims.io/author"],
        User::Rita.name(),
        "the webhook records who recorded it"
    );
    assert_eq!(stored["spec"]["chair"], "Rita (CRO)");
    assert!(
        stored["spec"]["inputs"]["audits"]
            .to_string()
            .contains(&name),
        "the inputs the review considered are kept with it: {stored}"
    );
    assert!(
        stored["spec"]["inputs"]["systems"]
            .to_string()
            .contains(&format!("{ns}/scoring")),
        "the register as it stood is the next review's baseline: {stored}"
    );

    // The next review lists its open action.
    let next = plane
        .kubectl(User::Rita, &["aims", "review", "--format", "json"])
        .ok();
    let next: Value = serde_json::from_str(&next).unwrap();
    assert_eq!(next["previousReview"], review.as_str(), "{next}");
    assert!(
        next["openActions"]
            .to_string()
            .contains(&format!("{review}/override-log")),
        "{next}"
    );
    journey.finish().await;
}
