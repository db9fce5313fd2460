//! An approval covers the system as it was assessed, on the real API server: a cosmetic edit
//! of the AISystem keeps it, a material one (intended use) voids it and the next model
//! deployment is refused saying which field changed; deleting the system and registering it
//! again with other material values voids it too; an approver's new approval binds the system as it is.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{deployment, system};
use crate::steps::{approved_system, field};

async fn phase_becomes(journey: &Journey, phase: &str) {
    eventually(
        &format!("scoring-ia phase {phase}"),
        Duration::from_secs(30),
        || async {
            let got = field(journey, "impactassessment/scoring-ia", "{.status.phase}");
            if got == phase { Ok(()) } else { Err(got) }
        },
    )
    .await;
}

fn patch_system(journey: &Journey, spec: serde_json::Value) {
    let patch = json!({ "spec": spec }).to_string();
    journey
        .kubectl(
            User::Alice,
            &[
                "patch", "aisystem", "scoring", "--type", "merge", "-p", &patch,
            ],
        )
        .ok();
}

#[tokio::test]
async fn a_material_change_to_the_system_voids_its_approval_and_a_cosmetic_one_does_not() {
    let journey = Journey::start("e2e-material", "enforce").await;
    let ns = journey.ns.as_str();
    approved_system(&journey, "scoring");
    phase_becomes(&journey, "Approved").await;
    let model = |name: &str| deployment(ns, name, "scoring", "1.0.0");
    journey.apply(User::Alice, &[model("first")]).ok();

    // Cosmetic: the approval stands.
    patch_system(&journey, json!({"displayName": "Scoring (retail)"}));
    journey.apply(User::Alice, &[model("second")]).ok();

    // Material: intended use widened. The gate refuses the next model and says why.
    patch_system(&journey, json!({"intendedUse": "small-business loans too"}));
    phase_becomes(&journey, "Voided").await;
    let refused = journey.apply(User::Alice, &[model("third")]).refused();
    assert!(
        refused.contains(
            "AISystem scoring changed after bob approved this assessment (spec.intendedUse differs)"
        ),
        "{refused}"
    );

    // An approver reviews and approves again: the approval binds the system as it is now.
    journey
        .kubectl(User::Bob, &["aims", "approve", "scoring-ia", "-n", ns])
        .ok();
    phase_becomes(&journey, "Approved").await;
    journey.apply(User::Alice, &[model("third")]).ok();

    // Deleted and registered again in another stage: the approval does not follow.
    journey
        .kubectl(User::Alice, &["delete", "aisystem", "scoring"])
        .ok();
    let mut again = system(ns, "scoring");
    again["spec"]["intendedUse"] = json!("small-business loans too");
    again["spec"]["displayName"] = json!("Scoring (retail)");
    again["spec"]["lifecycleStage"] = json!("Deployment");
    journey.apply(User::Alice, &[again]).ok();
    phase_becomes(&journey, "Voided").await;
    let refused = journey.apply(User::Alice, &[model("fourth")]).refused();
    assert!(refused.contains("spec.lifecycleStage differs"), "{refused}");
    journey.finish().await;
}
