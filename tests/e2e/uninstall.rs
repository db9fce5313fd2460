//! Uninstalling leaves nothing that blocks: with the chart's objects applied and no operator
//! Pod able to answer (nothing schedules here), an enforcing namespace refuses model
//! deployments; once every object the chart made is deleted, as `helm uninstall` deletes
//! them, no webhook configuration is left, deployments are admitted, and the AIMS records
//! remain (CRDs and their objects are never the chart's to delete).

use std::time::Duration;

use crate::cluster::User;
use crate::env::{Journey, admin_apply, chart, eventually, operator_identity, stream};
use crate::objects::deployment;

/// alice applies the model's Deployment.
fn apply_model(journey: &Journey) -> crate::cluster::KubectlOutput {
    journey.apply(
        User::Alice,
        &[deployment(&journey.ns, "scorer", "scoring", "1.0.0")],
    )
}

/// The webhook configurations named `aims-operator` that exist.
fn chart_webhooks(journey: &Journey) -> String {
    journey
        .plane
        .kubectl(
            User::Admin,
            &[
                "get",
                "validatingwebhookconfigurations,mutatingwebhookconfigurations",
                "--field-selector=metadata.name=aims-operator",
                "-o",
                "name",
            ],
        )
        .ok()
}

#[tokio::test]
async fn after_uninstall_no_webhook_blocks_and_the_records_remain() {
    let mut journey = Journey::start("e2e-uninstall", "enforce").await;
    crate::steps::approved_system(&journey, "scoring");
    journey.operator.stop().await;
    journey.operator.unregister(&journey.admin).await;

    let installed = stream(&chart());
    journey
        .plane
        .kubectl_with_input(
            User::Admin,
            &["apply", "--server-side", "--field-manager=helm", "-f", "-"],
            Some(&installed),
        )
        .ok();
    eventually(
        "the installed webhook refuses (fail closed) while no replica answers",
        Duration::from_secs(20),
        || async {
            let out = apply_model(&journey);
            if !out.success && out.stderr.contains("failed calling webhook") {
                Ok(())
            } else {
                Err(format!("{out:?}"))
            }
        },
    )
    .await;

    journey
        .plane
        .kubectl_with_input(
            User::Admin,
            &["delete", "--wait=true", "--ignore-not-found", "-f", "-"],
            Some(&installed),
        )
        .ok();
    assert_eq!(
        chart_webhooks(&journey),
        "",
        "webhook configurations left behind"
    );
    eventually(
        "a model deployment is admitted once uninstalled",
        Duration::from_secs(20),
        || async {
            let out = apply_model(&journey);
            if out.success { Ok(()) } else { Err(out.stderr) }
        },
    )
    .await;
    let kept = journey
        .kubectl(
            User::Admin,
            &[
                "get",
                "aisystem/scoring",
                "impactassessment/scoring-ia",
                "-o",
                "name",
            ],
        )
        .ok();
    assert_eq!(
        kept.lines().count(),
        2,
        "the AIMS records did not survive the uninstall: {kept}"
    );

    // Put the chart's identity and roles back for the journeys that follow.
    admin_apply(journey.plane, &operator_identity());
    journey.finish().await;
}
