//! Objects deleted while the operator reconciles them: a team creates AI systems with their
//! assessments and deletes them again at once, round after round. Status writes that arrive
//! after the object is gone are answered 404; the operator neither panics nor retries them
//! in a loop (its requests counted in the API server's audit log), and goes on serving.

use std::time::Duration;

use serde_json::Value;

use crate::audit::{operator_requests, operator_writes};
use crate::cluster::User;
use crate::env::Journey;
use crate::objects::{assessment, system};

#[tokio::test]
async fn objects_deleted_mid_reconcile_leave_no_retry_loop() {
    let journey = Journey::start("e2e-churn", "enforce").await;
    let ns = journey.ns.clone();
    let objects: Vec<Value> = (0..15)
        .flat_map(|i| {
            let name = format!("brief-{i}");
            [
                system(&ns, &name),
                assessment(&ns, &format!("{name}-ia"), &name, None),
            ]
        })
        .collect();
    let plane = journey.plane;
    let since = plane.audit_events().len();
    for _ in 0..4 {
        journey.apply(User::Admin, &objects).ok();
        journey
            .kubectl(
                User::Admin,
                &[
                    "delete",
                    "aisystems,impactassessments",
                    "--all",
                    "--wait=false",
                ],
            )
            .ok();
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let settled = plane.audit_events().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let events = plane.audit_events();
    let in_namespace = |e: &&Value| e["objectRef"]["namespace"] == ns.as_str();
    let late: Vec<_> = operator_requests(
        &events[settled..],
        &["get", "create", "update", "patch", "delete"],
    )
    .into_iter()
    .filter(in_namespace)
    .collect();
    assert!(
        late.is_empty(),
        "the operator still sends requests for objects long deleted: {late:#?}"
    );
    let gone = operator_writes(&events[since..settled])
        .into_iter()
        .filter(in_namespace)
        .filter(|e| e["responseStatus"]["code"] == 404)
        .count();
    crate::cluster::progress(&format!(
        "churn: {gone} of the operator's writes found their object already deleted"
    ));

    // It goes on serving: a system registered now is judged and its status written.
    crate::steps::approved_system(&journey, "lasting");
    crate::steps::condition_becomes(
        &journey,
        "aisystem/lasting",
        "AssessmentApproved",
        "True",
        Duration::from_secs(30),
    )
    .await;
    journey.finish().await;
}
