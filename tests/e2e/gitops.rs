//! A GitOps sync in waves, as Argo CD runs one, with the AIMS records of a commit in an earlier
//! wave than the workloads they govern (docs/operations.md, "Order a sync"). Argo CD moves to
//! the next wave only once the wave is healthy, and the shipped health checks stay Progressing
//! until the operator has evaluated a record's current generation from the view the webhook
//! decides on. So the workloads of a commit are never judged on records older than the
//! commit: one that voids an approval stops at its records' wave, and a workload sent anyway
//! is refused on the first try; once approved again, the workload is admitted on the first.
//! With several replicas, the one that answers a review is not the one whose status settled
//! the wave; Argo CD's pause between waves is what its view has to catch up in.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use aims_operator::policy::Policy;

use crate::cluster::User;
use crate::env::{Journey, Operator, becomes_ready, http_get};
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

/// Argo CD's pause before the next wave (`ARGOCD_SYNC_WAVE_DELAY`, 2 s by default).
const WAVE_DELAY: Duration = Duration::from_secs(2);

/// The follower's count of workload decisions ending in `result`.
async fn workload_decisions(replica: &Operator, result: &str) -> u64 {
    let metrics = http_get(replica.health_port, "/metrics").await;
    let series =
        format!("aims_webhook_decisions_total{{webhook=\"workloads\",result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |count| count.trim().parse().unwrap())
}

#[tokio::test]
async fn with_two_replicas_the_follower_judges_each_wave_as_the_leaders_status_settled_it() {
    let journey = Journey::start("e2e-gitops-replicas", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    crate::steps::running_scorer(&journey);
    // A second replica that does not lead (it writes no status) answers every review from
    // here on, as the Service may send any review to any replica.
    let mut follower = Operator::start_replica(Policy::default(), "aims-operator-1").await;
    crate::replicas::leader_becomes(&journey, "aims-operator-0", Duration::from_secs(20)).await;
    // A Service sends reviews only to a replica that is ready: its caches synced.
    becomes_ready(
        follower.health_port,
        "the follower ready",
        Duration::from_secs(30),
    )
    .await;
    follower.register(&journey.admin, ns).await;

    // Commit b voids the approval: the wave settles Degraded on the leader's status. A
    // workload sent anyway after the pause is refused by the follower.
    let mut edited = assessment(ns, "scoring-ia", "scoring", None);
    edited["spec"]["impacts"][0]["description"] = json!("unfair refusals and limits");
    let (status, message) = sync_wave(&journey, User::Alice, edited).await;
    assert_eq!(status, "Degraded", "{message}");
    tokio::time::sleep(WAVE_DELAY).await;
    let refused = journey.apply(User::Alice, &[rolled_out(ns, "b")]).refused();
    assert!(refused.contains("AIMS-003"), "{refused}");
    assert_eq!(workload_decisions(&follower, "denied").await, 1);

    // Approved again (through the follower's webhook too): the records settle Healthy on the
    // leader's status, and after the pause the follower admits the workload on its first try.
    journey
        .kubectl(User::Bob, &["aims", "approve", "scoring-ia", "-n", ns])
        .ok();
    let (status, message) = settled(&journey, "impactassessment/scoring-ia").await;
    assert_eq!(status, "Healthy", "{message}");
    tokio::time::sleep(WAVE_DELAY).await;
    journey.apply(User::Alice, &[rolled_out(ns, "b")]).ok();
    assert_eq!(workload_decisions(&follower, "allowed").await, 1);
    crate::replicas::leader_becomes(&journey, "aims-operator-0", Duration::from_secs(1)).await;

    follower.stop().await;
    follower.unregister(&journey.admin).await;
    journey.finish().await;
}
