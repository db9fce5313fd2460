//! A quiet cluster causes no writes: once the operator has converged, it writes nothing
//! until something changes (counted in the API server's audit log), and one change costs a
//! bounded number of writes, not a loop.

use std::time::Duration;

use serde_json::Value;

use crate::audit::operator_writes;
use crate::cluster::User;
use crate::env::Journey;

/// An approved system `name`, once its approval shows and the writes it caused are done.
async fn settled_approved(journey: &Journey, name: &str) {
    crate::steps::approved_system(journey, name);
    crate::steps::condition_becomes(
        journey,
        &format!("aisystem/{name}"),
        "AssessmentApproved",
        "True",
        Duration::from_secs(30),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn once_converged_the_operator_writes_nothing_until_something_changes() {
    let journey = Journey::start("e2e-quiet", "enforce").await;
    crate::steps::approved_system(&journey, "scoring");
    settled_approved(&journey, "ranking").await;

    let since = journey.plane.audit_events().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let events = journey.plane.audit_events();
    let quiet = operator_writes(&events[since..]);
    assert!(quiet.is_empty(), "writes in a quiet cluster: {quiet:#?}");

    // One change: the system's status, its assessment's and Report at most, once each.
    let since = events.len();
    crate::steps::owner_leaves(&journey, "ranking").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let events = journey.plane.audit_events();
    let after = operator_writes(&events[since..]);
    assert!(
        !after.is_empty() && after.len() <= 4,
        "{} writes for one change: {after:#?}",
        after.len()
    );
    journey.finish().await;
}

/// `kubectl patch` of the operator's ClusterRole: its first rule (list and watch of the AIMS
/// kinds) limited to `resources`.
fn operator_may_list(journey: &Journey, resources: &[&str]) {
    let patch = serde_json::json!([
        {"op": "test", "path": "/rules/0/apiGroups", "value": ["aims.io"]},
        {"op": "replace", "path": "/rules/0/resources", "value": resources},
    ])
    .to_string();
    journey
        .plane
        .kubectl(
            User::Admin,
            &[
                "patch",
                "clusterrole",
                "aims-operator",
                "--type=json",
                "-p",
                &patch,
            ],
        )
        .ok();
}

/// A status reads the other kinds (an assessment's system): a restarted operator that has
/// listed the assessments but not yet the systems must not rewrite the assessments' statuses
/// from half a register, and correct them moments later (Argo CD would show every
/// application Degraded at each restart). Here the systems cannot be listed at all until
/// the operator's role is restored: nothing is written meanwhile, nor after, since every
/// status was current; and reconciling resumes once they are listed.
#[tokio::test]
async fn a_restart_writes_no_status_before_every_kind_is_listed() {
    let mut journey = Journey::start("e2e-quiet-restart", "enforce").await;
    settled_approved(&journey, "scoring").await;
    journey.operator.stop().await;

    let granted: Vec<String> = serde_json::from_str(
        &journey
            .plane
            .kubectl(
                User::Admin,
                &[
                    "get",
                    "clusterrole",
                    "aims-operator",
                    "-o",
                    "jsonpath={.rules[0].resources}",
                ],
            )
            .ok(),
    )
    .unwrap();
    let granted: Vec<&str> = granted.iter().map(String::as_str).collect();
    let without_systems: Vec<&str> = granted
        .iter()
        .copied()
        .filter(|r| *r != "aisystems")
        .collect();
    operator_may_list(&journey, &without_systems);
    let since = journey.plane.audit_events().len();
    journey.start_operator_again().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let events = journey.plane.audit_events();
    let refused_lists = crate::audit::operator_requests(&events[since..], &["list"])
        .into_iter()
        .filter(|e| e["objectRef"]["resource"] == "aisystems" && e["responseStatus"]["code"] == 403)
        .count();
    let while_unlisted: Vec<Value> = operator_writes(&events[since..])
        .into_iter()
        .cloned()
        .collect();
    // Restored before asserting: the journeys after this one need the role whole.
    operator_may_list(&journey, &granted);
    assert!(
        refused_lists > 0,
        "the systems' list was never refused: the test proves nothing"
    );
    assert!(
        while_unlisted.is_empty(),
        "writes before the systems were listed: {while_unlisted:#?}"
    );

    tokio::time::sleep(Duration::from_secs(15)).await;
    let events = journey.plane.audit_events();
    // A restarted operator does not know what its Reports hold, so it applies each once
    // (server-side apply of the same content: the stored Report does not change).
    let after: Vec<&Value> = operator_writes(&events[since..])
        .into_iter()
        .filter(|e| e["objectRef"]["resource"] != "reports")
        .collect();
    assert!(
        after.is_empty(),
        "writes after the systems were listed: {after:#?}"
    );
    crate::steps::owner_leaves(&journey, "scoring").await;
    journey.finish().await;
}
