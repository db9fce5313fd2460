//! Self-managed certificates roll under load: with lifetimes of seconds, the operator makes a
//! new CA, adds it to the webhook configuration's caBundle, switches the serving certificate
//! to it and re-issues that certificate again and again, while a developer keeps applying;
//! the API server never fails a call to the webhook.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;

use crate::cluster::User;
use crate::env::{Journey, OPERATOR_NAMESPACE, Operator, SELF_MANAGED_SECRET};
use crate::objects::deployment;

/// The common name of the newest CA (first in the bundle; it carries the key's fingerprint)
/// and the serving certificate the Secret holds now.
async fn stored(secrets: &kube::Api<Secret>) -> (String, String) {
    let data = secrets
        .get(SELF_MANAGED_SECRET)
        .await
        .unwrap()
        .data
        .unwrap_or_default();
    let text = |key: &str| String::from_utf8(data[key].0.clone()).unwrap();
    let cas = aims_operator::certs::inspect_pem(&text("ca.crt")).unwrap();
    let newest = cas[0].common_name.clone().unwrap_or_default();
    (newest, text("tls.crt"))
}

#[tokio::test]
async fn certificates_roll_under_load_without_one_failed_admission() {
    let mut journey = Journey::start("e2e-rotation", "enforce").await;
    let ns = journey.ns.clone();
    crate::steps::approved_system(&journey, "scoring");
    // Lifetimes of seconds: a CA lives 100 s and is replaced with 60 s left, trusted 10 s
    // before it signs; a serving certificate lives 30 s and is re-issued with 15 s left.
    journey.operator.stop().await;
    journey.operator.unregister(&journey.admin).await;
    journey.operator = Operator::start_self_managed(
        aims_operator::policy::Policy::default(),
        &[
            "--webhook-configuration=aims-operator",
            "--ca-validity=100s",
            "--ca-renew-before=60s",
            "--ca-propagation=10s",
            "--cert-validity=30s",
            "--cert-renew-before=15s",
        ],
    )
    .await;
    journey
        .operator
        .register_as_the_chart(&journey.admin, &ns)
        .await;

    let secrets: kube::Api<Secret> =
        kube::Api::namespaced(journey.admin.clone(), OPERATOR_NAMESPACE);
    let configurations: kube::Api<ValidatingWebhookConfiguration> =
        kube::Api::all(journey.admin.clone());
    let (first_ca, _) = stored(&secrets).await;
    let (mut cas, mut leaves, mut bundles) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut failures = Vec::new();
    let mut admissions = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(80);
    while tokio::time::Instant::now() < until {
        let out = journey.apply_with(
            User::Alice,
            &[deployment(
                &ns,
                &format!("scorer-{}", admissions % 5),
                "scoring",
                "1.0.0",
            )],
            &["--dry-run=server"],
        );
        admissions += 1;
        if !out.success {
            failures.push(out.stderr);
        }
        let (ca, leaf) = stored(&secrets).await;
        cas.insert(ca);
        leaves.insert(leaf);
        let registered = configurations.get("aims-operator").await.unwrap();
        for webhook in registered.webhooks.unwrap_or_default() {
            if let Some(bundle) = webhook.client_config.ca_bundle {
                bundles.insert(bundle.0);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {admissions} admissions failed while certificates rolled: {failures:#?}",
        failures.len()
    );
    assert!(
        cas.len() >= 2 && cas.iter().any(|ca| *ca != first_ca),
        "no new CA in 80 s: {} CA(s) seen",
        cas.len()
    );
    assert!(
        leaves.len() >= 4,
        "the serving certificate was re-issued only {} time(s) in 80 s",
        leaves.len() - 1
    );
    assert!(
        bundles.len() >= 2,
        "the webhook configuration's caBundle never changed"
    );
    journey.finish().await;
}
