//! The API server restarts under a running operator: it reconnects, lists again, and no
//! deployment is admitted on a view that misses a change made after the restart.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::deployment;

#[tokio::test]
async fn after_an_api_server_restart_no_change_is_missed() {
    let journey = Journey::start("e2e-restart", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    crate::steps::approved_system(&journey, "scoring");
    journey
        .apply(User::Alice, &[deployment(ns, "scorer", "scoring", "1.0.0")])
        .ok();

    let plane = journey.plane;
    tokio::task::spawn_blocking(move || plane.restart_apiserver(Duration::from_secs(3)))
        .await
        .unwrap();

    // The first thing after the restart: the assessment's content changes, voiding the
    // approval. A deployment of the model must never be admitted from here on, whether the
    // operator's watches have reconnected yet or not.
    let edit = json!({"spec": {"purpose": "also used for limits"}}).to_string();
    eventually(
        "the API server takes writes again",
        Duration::from_secs(60),
        || async {
            let out = journey.kubectl(
                User::Alice,
                &[
                    "patch",
                    "impactassessment",
                    "scoring-ia",
                    "--type=merge",
                    "-p",
                    &edit,
                ],
            );
            if out.success { Ok(()) } else { Err(out.stderr) }
        },
    )
    .await;
    for attempt in 0..20 {
        let out = journey.apply(
            User::Alice,
            &[deployment(
                ns,
                &format!("again-{attempt}"),
                "scoring",
                "1.0.0",
            )],
        );
        assert!(
            !out.success,
            "admitted on a stale view (attempt {attempt}): {}",
            out.stdout
        );
        if out.stderr.contains("AIMS-003") {
            break; // refused by the rules, on the current view
        }
        assert!(
            attempt < 19,
            "never answered on the current view: {}",
            out.stderr
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The reconciler is back too: status follows the change.
    crate::steps::condition_becomes(
        &journey,
        "aisystem/scoring",
        "AssessmentApproved",
        "False",
        Duration::from_secs(30),
    )
    .await;
    journey.finish().await;
}
