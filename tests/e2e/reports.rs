//! OpenReports and Argo CD: one bounded Report per AI system that follows changes, and the
//! shipped Lua health checks (in gopher-lua, as Argo CD runs them) on statuses read back
//! from the API server.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{assessment, system};

fn get(journey: &Journey, what: &str) -> Value {
    serde_json::from_str(
        &journey
            .kubectl(User::Erin, &["get", what, "-o", "json"])
            .ok(),
    )
    .unwrap()
}

/// The names of the namespace's Reports.
fn report_names(journey: &Journey) -> Vec<String> {
    let reports = get(journey, "reports.openreports.io");
    reports["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn reports_follow_the_systems_and_argo_cd_health_reads_their_status() {
    // The OpenReports CRD is installed with the others (env::prepare).
    let mut journey = Journey::start("e2e-reports", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    journey.apply(User::Admin, &[system(ns, "ranking")]).ok();
    crate::steps::running_scorer(&journey);

    // One Report per system, no more, each within the bound.
    eventually(
        "a Report per AI system",
        Duration::from_secs(30),
        || async {
            let names = report_names(&journey);
            if names == ["aims-ranking", "aims-scoring"] {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        },
    )
    .await;
    let scoring = get(&journey, "report.openreports.io/aims-scoring");
    let results = scoring["results"].as_array().unwrap();
    assert!(results.len() <= aims_operator::engine::openreports::MAX_RESULTS);
    assert_eq!(scoring["summary"]["fail"], 0, "{scoring:#}");

    // Argo CD: Healthy while compliant, read back from the API server.
    let system_now = get(&journey, "aisystem/scoring");
    let (status, message) = crate::steps::argo_health(&journey, &system_now);
    assert_eq!(status, "Healthy", "{message}");
    let (status, _) =
        crate::steps::argo_health(&journey, &get(&journey, "impactassessment/scoring-ia"));
    assert_eq!(status, "Healthy");
    let (status, message) = crate::steps::argo_health(&journey, &get(&journey, "aisystem/ranking"));
    assert_eq!(status, "Degraded");
    assert!(message.contains("assessment"), "{message}");

    // The owner leaves: the Report and the health follow.
    journey
        .kubectl(
            User::Admin,
            &[
                "patch",
                "aisystem",
                "scoring",
                "--type=merge",
                "-p",
                &json!({"spec": {"owner": null}}).to_string(),
            ],
        )
        .ok();
    eventually(
        "the Report shows the failure",
        Duration::from_secs(30),
        || async {
            let report = get(&journey, "report.openreports.io/aims-scoring");
            if report["summary"]["fail"].as_u64().unwrap_or(0) > 0 {
                Ok(())
            } else {
                Err(report["summary"].to_string())
            }
        },
    )
    .await;
    let (status, message) = crate::steps::argo_health(&journey, &get(&journey, "aisystem/scoring"));
    assert_eq!(status, "Degraded");
    assert!(message.contains("owner"), "{message}");

    // An assessment waiting for a person is Suspended; a system the operator has not seen
    // yet is Progressing.
    journey
        .apply(
            User::Alice,
            &[assessment(ns, "waiting-ia", "ranking", None)],
        )
        .ok();
    eventually(
        "the waiting assessment is evaluated",
        Duration::from_secs(30),
        || async {
            let (status, message) =
                crate::steps::argo_health(&journey, &get(&journey, "impactassessment/waiting-ia"));
            if status == "Suspended" {
                Ok(())
            } else {
                Err(format!("{status}: {message}"))
            }
        },
    )
    .await;
    // (Without the operator its webhooks are unregistered too: AIMS writes fail closed.)
    journey.operator.stop().await;
    journey.operator.unregister(&journey.admin).await;
    journey.apply(User::Admin, &[system(ns, "unseen")]).ok();
    let (status, _) = crate::steps::argo_health(&journey, &get(&journey, "aisystem/unseen"));
    assert_eq!(status, "Progressing");

    // A Report goes with its AI system: it names the system as its owner, uid included, and
    // the controller-manager's garbage collector removes it (the operator is not needed).
    journey
        .kubectl(User::Admin, &["delete", "aisystem", "ranking"])
        .ok();
    eventually(
        "the deleted system's Report is collected",
        Duration::from_secs(60),
        || async {
            let names = report_names(&journey);
            if names == ["aims-scoring"] {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        },
    )
    .await;
    journey.finish().await;
}
