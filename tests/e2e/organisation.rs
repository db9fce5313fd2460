//! The organisation's AI management system on the real API server: only the platform team
//! may write it, the API server refuses a per-system control bound organisation-wide, the
//! webhook stamps who wrote it, and `kubectl aims soa` then shows the AI policy met for the
//! journey's system without any ControlBinding of its own.

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::Journey;
use crate::steps::approved_system;

fn organisation(control: &str) -> Value {
    json!({"apiVersion": "aims.io/v1alpha1", "kind": "AIManagementSystem",
        "metadata": {"name": "aims"},
        "spec": {"scope": {"statement": "Every AI system of the group."},
            "controls": [{"id": control, "applicability": "Applicable",
                "implementation": {"description": "Group AI policy POL-AI-001.", "status": "Implemented"}}]}})
}

#[tokio::test]
async fn organisation_wide_controls_are_written_by_the_platform_team_and_met_once_for_all() {
    let journey = Journey::start("e2e-organisation", "enforce").await;
    let ns = journey.ns.clone();
    approved_system(&journey, "scoring");
    let plane = journey.plane;
    let apply = |user, object: Value| {
        plane.kubectl_with_input(
            user,
            &["apply", "-f", "-"],
            Some(&crate::env::stream(&[object])),
        )
    };

    let refused = apply(User::Alice, organisation("A.2.2"));
    assert!(
        !refused.success && refused.stderr.contains("forbidden"),
        "a namespace editor may not write it: {}",
        refused.stderr
    );
    let refused = apply(User::Admin, organisation("A.6.2.4"));
    assert!(
        !refused.success
            && refused
                .stderr
                .contains("only organisational controls (A.2.x, A.3.3, A.4.6, A.6.1.x, A.8.3 to A.8.5, A.9.3, A.10.2, A.10.4) are bound organisation-wide"),
        "{}",
        refused.stderr
    );
    apply(User::Admin, organisation("A.2.2")).ok();
    let author = plane
        .kubectl(
            User::Admin,
            &[
                "get",
                "aimanagementsystem",
                "aims",
                "-o",
                "jsonpath={.metadata.annotations.aims\\.io/author}",
            ],
        )
        .ok();
    assert_eq!(
        author,
        User::Admin.name(),
        "the webhook stamps who wrote it"
    );

    let soa = plane
        .kubectl(User::Erin, &["aims", "soa", "-n", &ns, "--format", "json"])
        .ok();
    let soa: Value = serde_json::from_str(&soa).unwrap();
    let policy = soa["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "A.2.2")
        .unwrap()
        .clone();
    assert_eq!(policy["status"], "Implemented", "{policy}");
    assert_eq!(policy["systems"][0]["system"], format!("{ns}/scoring"));
    assert_eq!(policy["systems"][0]["binding"], "AIManagementSystem/aims");
    assert_eq!(soa["aimsScope"], "Every AI system of the group.");

    // One per cluster: the journeys after this one have none.
    plane
        .kubectl(User::Admin, &["delete", "aimanagementsystem", "aims"])
        .ok();
    journey.finish().await;
}
