//! The API server restarts under a running operator, and etcd is compacted while it is down
//! (as the API server's periodic compaction does): the watches the operator held are gone
//! (410 Gone), so it lists again, and no deployment is admitted on a view that misses a change
//! made after the restart.

use std::time::Duration;

use serde_json::json;

use crate::audit::operator_requests;
use crate::cluster::{ControlPlane, User};
use crate::env::{Journey, eventually};
use crate::objects::deployment;

/// The resourceVersion of the list of AI systems in `ns` now.
fn list_version(plane: &ControlPlane, ns: &str) -> String {
    let list = plane
        .curl(
            User::Admin,
            &format!("/apis/aims.io/v1alpha1/namespaces/{ns}/aisystems"),
        )
        .unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The operator's lists of `resource` among `events`.
fn operator_lists(events: &[serde_json::Value], resource: &str) -> usize {
    operator_requests(events, &["list"])
        .iter()
        .filter(|e| e["objectRef"]["resource"] == resource)
        .count()
}

#[tokio::test]
async fn after_an_api_server_restart_and_etcd_compaction_no_change_is_missed() {
    let journey = Journey::start("e2e-restart", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    crate::steps::approved_system(&journey, "scoring");
    journey
        .apply(User::Alice, &[deployment(ns, "scorer", "scoring", "1.0.0")])
        .ok();

    let plane = journey.plane;
    let held = list_version(plane, ns);
    let since = plane.audit_events().len();
    let compacted = tokio::task::spawn_blocking(move || {
        let mut compacted = 0;
        plane.restart_apiserver(|| {
            std::thread::sleep(Duration::from_secs(2));
            compacted = plane.compact_etcd();
        });
        compacted
    })
    .await
    .unwrap();
    assert!(
        compacted > held.parse::<i64>().unwrap(),
        "compacted at {compacted}, not past {held}"
    );
    // A watch from where the operator's watches were is answered 410 Gone now.
    let resumed = plane.curl(
        User::Admin,
        &format!(
            "/apis/aims.io/v1alpha1/namespaces/{ns}/aisystems?watch=1&resourceVersion={held}&timeoutSeconds=2"
        ),
    );
    let answer = format!("{resumed:?}");
    assert!(
        answer.contains("410") || answer.contains("too old resource version"),
        "a watch from the compacted revision {held} was not refused: {answer}"
    );

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

    // The operator listed again rather than resuming from what is gone.
    let events = plane.audit_events();
    assert!(
        operator_lists(&events[since..], "aisystems") > 0
            && operator_lists(&events[since..], "impactassessments") > 0,
        "the operator did not list AI systems and assessments again after the restart"
    );
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
