//! Nobody subject to the gate can weaken it, on the real API server: a developer who asks
//! their system for audit mode in an enforcing namespace is told at `kubectl apply` that it
//! counts for nothing, and their unassessed model is still refused; they cannot approve it,
//! forge the record or lower the risk tier; a platform owner's approval, recorded under their
//! identity, makes the mode count, and GitOps re-applying the manifest keeps it.

use std::time::Duration;

use aims_operator::resources::{EnforcementMode, RELAXATION_ANNOTATION, Relaxation};
use serde_json::json;

use crate::cluster::User;
use crate::env::Journey;
use crate::objects::{deployment, system};
use crate::steps::{condition_becomes, field};

fn recorded(journey: &Journey) -> Option<Relaxation> {
    let path = format!(
        "{{.metadata.annotations.{}}}",
        RELAXATION_ANNOTATION.replace('.', "\\.")
    );
    let text = field(journey, "aisystem/scoring", &path);
    (!text.is_empty()).then(|| Relaxation::parse(&text).expect("written by the webhook"))
}

#[tokio::test]
async fn a_developer_cannot_weaken_enforcement_and_a_platform_owner_can() {
    let journey = Journey::start("e2e-weaken", "enforce").await;
    let ns = journey.ns.as_str();
    let mut audit = system(ns, "scoring");
    audit["spec"]["enforcement"] = json!("Audit");

    // alice registers her system asking for audit: kept, with a warning naming who decides.
    let applied = journey.apply(User::Alice, std::slice::from_ref(&audit));
    assert!(applied.success, "{}", applied.stderr);
    assert!(
        applied.stderr.contains(
            "Warning: spec.enforcement audit (instead of enforce) is decided by a member of \
             aims-platform-owners (alice has groups dev-team)"
        ),
        "{}",
        applied.stderr
    );
    assert_eq!(recorded(&journey), None);

    // Her unassessed model is refused: the namespace's mode applies.
    let model = deployment(ns, "scorer", "scoring", "1.0.0");
    let refused = journey
        .apply(User::Alice, std::slice::from_ref(&model))
        .refused();
    assert!(refused.contains("AIMS-003"), "{refused}");
    assert!(
        refused.contains(
            "AISystem \"scoring\" asks for audit mode instead of enforce, which counts only once a member \
             of aims-platform-owners approves it: kubectl -n e2e-weaken annotate aisystem scoring \
             aims.io/relaxation=approve --overwrite"
        ),
        "{refused}"
    );
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "RelaxationsApproved",
        "False",
        Duration::from_secs(30),
    )
    .await;

    // She cannot approve it, forge the record, or lower the tier it was raised to.
    let approve = ["annotate", "aisystem", "scoring", "--overwrite"];
    let asked = journey
        .kubectl(
            User::Alice,
            &[&approve[..], &[&format!("{RELAXATION_ANNOTATION}=approve")]].concat(),
        )
        .refused();
    assert!(
        asked.contains("is decided by a member of aims-platform-owners"),
        "{asked}"
    );
    let forged = r#"{"enforcement":{"value":"Audit","approvedBy":"pat","approvedAt":"2026-01-01T00:00:00Z"}}"#;
    let forged = journey
        .kubectl(
            User::Alice,
            &[
                &approve[..],
                &[&format!("{RELAXATION_ANNOTATION}={forged}")],
            ]
            .concat(),
        )
        .refused();
    assert!(forged.contains("denied the request"), "{forged}");
    let tier = |t: &str| json!({"spec": {"riskTier": t}}).to_string();
    let patch = |user, t: &str| {
        journey.kubectl(
            user,
            &[
                "patch",
                "aisystem",
                "scoring",
                "--type",
                "merge",
                "-p",
                &tier(t),
            ],
        )
    };
    patch(User::Alice, "High").ok();
    let lowered = patch(User::Alice, "Minimal").refused();
    assert!(
        lowered.contains(
            "spec.riskTier Minimal (instead of High) is decided by a member of ai-approvers"
        ),
        "{lowered}"
    );
    patch(User::Bob, "Minimal").ok();
    assert_eq!(
        recorded(&journey)
            .and_then(|r| r.risk_tier)
            .map(|a| a.approved_by),
        Some("bob".to_string())
    );

    // pat, a platform owner, approves: recorded under pat's identity, and the mode counts.
    journey
        .kubectl(
            User::Pat,
            &[&approve[..], &[&format!("{RELAXATION_ANNOTATION}=approve")]].concat(),
        )
        .ok();
    let approval = recorded(&journey)
        .and_then(|r| r.enforcement)
        .expect("approved");
    assert_eq!(
        (approval.value, approval.approved_by.as_str()),
        (EnforcementMode::Audit, "pat")
    );
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "RelaxationsApproved",
        "True",
        Duration::from_secs(30),
    )
    .await;
    let admitted = journey.apply(User::Alice, std::slice::from_ref(&model));
    assert!(admitted.success, "{}", admitted.stderr);

    // GitOps applies the manifest again (it never held the record): the record stays.
    let mut again = audit.clone();
    again["spec"]["riskTier"] = json!("Minimal");
    journey.apply(User::Alice, &[again]).ok();
    assert_eq!(
        recorded(&journey)
            .and_then(|r| r.enforcement)
            .map(|a| a.approved_by),
        Some("pat".to_string())
    );
    journey.finish().await;
}
