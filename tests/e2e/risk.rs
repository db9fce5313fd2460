//! A high-rated risk treated by acceptance, on the real API server: the author is told at
//! `kubectl apply` that it waits for a risk owner, an approval does not count meanwhile,
//! nobody but a risk owner can record the acceptance, and once rita, a risk owner, accepts
//! it under her own name the approval counts.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{assessment, system};
use crate::steps::{field, operator_sees_system};

async fn phase_becomes(journey: &Journey, phase: &str) {
    eventually(
        &format!("phase {phase}"),
        Duration::from_secs(30),
        || async {
            let got = field(journey, "impactassessment/scoring-ia", "{.status.phase}");
            if got == phase { Ok(()) } else { Err(got) }
        },
    )
    .await;
}

#[tokio::test]
async fn a_high_rated_accepted_risk_counts_only_once_a_risk_owner_accepted_it() {
    let journey = Journey::start("e2e-risk", "enforce").await;
    let ns = journey.ns.as_str();
    journey.apply(User::Admin, &[system(ns, "scoring")]).ok();
    let mut ia = assessment(ns, "scoring-ia", "scoring", None);
    ia["spec"]["risks"] = json!([{"id": "R1", "description": "unfair refusals", "likelihood": 4,
        "severity": 4, "treatment": "Accept"}]);
    ia["spec"]["residualRiskAcceptance"] = json!("bounded by manual review of every refusal");
    let applied = journey.apply(User::Alice, &[ia]);
    assert!(applied.success, "{}", applied.stderr);
    assert!(
        applied.stderr.contains(
            "Warning: risk R1 awaits acceptance: a member of ai-risk-owners accepts it by setting \
             spec.risks[R1].acceptedBy to their own user name"
        ),
        "{}",
        applied.stderr
    );
    operator_sees_system(&journey, "scoring");
    journey
        .kubectl(User::Bob, &["aims", "approve", "scoring-ia", "-n", ns])
        .ok();
    phase_becomes(&journey, "Voided").await;

    let accept = |user, name: &str| {
        let patch = json!([{"op": "add", "path": "/spec/risks/0/acceptedBy", "value": name}]);
        journey.kubectl(
            user,
            &[
                "patch",
                "impactassessment",
                "scoring-ia",
                "--type",
                "json",
                "-p",
                &patch.to_string(),
            ],
        )
    };
    let refused = accept(User::Alice, "alice").refused();
    assert!(
        refused.contains("alice may not accept risk R1: that takes a member of ai-risk-owners"),
        "{refused}"
    );
    accept(User::Rita, "rita").ok();
    assert_eq!(
        field(
            &journey,
            "impactassessment/scoring-ia",
            "{.spec.risks[0].acceptedBy}"
        ),
        "rita"
    );
    phase_becomes(&journey, "Approved").await;
    journey.finish().await;
}
