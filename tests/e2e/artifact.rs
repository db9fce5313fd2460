//! Judged by what it runs, on the real API server: a Deployment that runs a registered
//! model's image without the `aims.io/system` label is refused in an enforcing namespace,
//! and the refusal names the system the image belongs to and the label to add.

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::Journey;
use crate::objects::{deployment, system};
use crate::steps::approved_system;

/// The model image the e2e Deployments run (no kubelet pulls it).
const IMAGE: &str = "registry.k8s.io/pause:3.10";

fn without_labels(mut object: Value) -> Value {
    object["metadata"]["labels"] = json!({"app": "scorer"});
    object["spec"]["template"]["metadata"]["labels"] = json!({"app": "scorer"});
    object
}

#[tokio::test]
async fn an_unlabelled_deployment_of_a_registered_image_is_judged_as_that_system() {
    let journey = Journey::start("e2e-artifact", "enforce").await;
    let ns = journey.ns.as_str();
    approved_system(&journey, "scoring");
    let mut declared = system(ns, "scoring");
    declared["spec"]["models"][0]["image"] = json!(IMAGE);
    journey.apply(User::Admin, &[declared]).ok();

    let refused = journey
        .apply(
            User::Alice,
            &[without_labels(deployment(ns, "scorer", "scoring", "1.0.0"))],
        )
        .refused();
    assert!(
        refused.contains(&format!(
            "Deployment {ns}/scorer (AI system \"scoring\", model scorer 1.0.0) is not allowed to run:\n\
             - AIMS-001 it carries no aims.io/system label but runs an artifact of AISystem \"scoring\" \
             (scorer 1.0.0, {IMAGE}), so it is judged as that system's model (ISO/IEC 42001 4.3, A.4.2).\n  \
             Fix: set metadata.labels[\"aims.io/system\"] and the pod template's labels to scoring\n"
        )),
        "{refused}"
    );

    // With the label it asks for, the same Deployment runs.
    let admitted = journey
        .apply(User::Alice, &[deployment(ns, "scorer", "scoring", "1.0.0")])
        .ok();
    assert_eq!(admitted, "deployment.apps/scorer created\n");
    journey.finish().await;
}
