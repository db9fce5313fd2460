//! A GitOps sync in waves, as Argo CD runs one, with the AIMS records of a commit in an earlier
//! wave than the workloads they govern (docs/operations.md, "Order a sync"). Argo CD moves to
//! the next wave only once the wave is healthy, and the shipped health checks stay Progressing
//! until the operator has evaluated a record's current generation from the view the webhook
//! decides on. So the workloads of a commit are never judged on records older than the
//! commit: one that voids an approval stops at its records' wave, and a workload sent anyway
//! is refused on the first try; once approved again, the workload is admitted on the first.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::Journey;
use crate::objects::{assessment, deployment};
use crate::steps::argo_health;

/// A records' wave as Argo CD syncs it: `record` applied, then its health, first on the object
/// the API server answered the write with (Argo CD's view may be that fresh), then read again
/// until it is no longer Progressing; (status, message) once settled.
async fn sync_wave(journey: &Journey, user: User, record: Value) -> (String, String) {
    let written: Value =
        serde_json::from_str(&journey.apply_with(user, &[record], &["-o", "json"]).ok()).unwrap();
    let (status, message) = argo_health(journey, &written);
    assert_eq!(
        status, "Progressing",
        "the wave settled on the write's own answer, before the operator evaluated it: {message}"
    );
    let what = format!(
        "{}/{}",
        written["kind"].as_str().unwrap(),
        written["metadata"]["name"].as_str().unwrap()
    );
    settled(journey, &what).await
}

/// The health of `what` (kind/name) read until it is no longer Progressing, as Argo CD waits
/// on a wave; (status, message).
async fn settled(journey: &Journey, what: &str) -> (String, String) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let object: Value = serde_json::from_str(
            &journey
                .kubectl(User::Admin, &["get", what, "-o", "json"])
                .ok(),
        )
        .unwrap();
        let (status, message) = argo_health(journey, &object);
        if status != "Progressing" {
            return (status, message);
        }
        assert!(
            Instant::now() < until,
            "{what} still Progressing after 30 s: {message}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The commit's workload: the running Deployment with a changed Pod template (a rollout).
fn rolled_out(ns: &str, commit: &str) -> Value {
    let mut workload = deployment(ns, "scorer", "scoring", "1.0.0");
    workload["spec"]["template"]["metadata"]["annotations"] =
        json!({ "example.com/commit": commit });
    workload
}

#[tokio::test]
async fn a_sync_in_waves_never_judges_a_workload_on_records_older_than_its_commit() {
    let journey = Journey::start("e2e-gitops", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    crate::steps::running_scorer(&journey);

    // Commit b: the assessment's content changes, which voids its approval. Wave -1, the
    // records, is applied, and Argo CD waits for it to settle.
    let mut edited = assessment(ns, "scoring-ia", "scoring", None);
    edited["spec"]["impacts"][0]["description"] = json!("unfair refusals and limits");
    let (status, message) = sync_wave(&journey, User::Alice, edited).await;
    assert_eq!(status, "Degraded", "{message}");
    assert!(message.contains("Voided"), "{message}");
    // Argo CD stops here. A workload sent anyway is refused on its first try: the view that
    // settled the wave is the one the webhook decides on.
    let refused = journey.apply(User::Alice, &[rolled_out(ns, "b")]).refused();
    assert!(refused.contains("AIMS-003"), "{refused}");

    // An approver approves the changed assessment; the next sync's records' wave settles
    // Healthy, and the workload's wave is admitted on its first try.
    journey
        .kubectl(User::Bob, &["aims", "approve", "scoring-ia", "-n", ns])
        .ok();
    let (status, message) = settled(&journey, "impactassessment/scoring-ia").await;
    assert_eq!(status, "Healthy", "{message}");
    journey.apply(User::Alice, &[rolled_out(ns, "b")]).ok();
    journey.finish().await;
}
