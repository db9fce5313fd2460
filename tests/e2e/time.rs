//! Time: an assessment that expires flips the system's conditions within seconds, also when
//! it expired while the operator was stopped.

use std::time::Duration;

use crate::cluster::User;
use crate::env::{Journey, Operator};
use crate::objects::{assessment, system};

async fn approved_condition_becomes(journey: &Journey, status: &str, within: Duration) {
    crate::steps::condition_becomes(
        journey,
        "aisystem/scoring",
        "AssessmentApproved",
        status,
        within,
    )
    .await;
}

/// An assessment valid for `seconds` more, approved by bob.
fn approved_for(journey: &Journey, name: &str, seconds: i64) -> jiff::Timestamp {
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    let ns = journey.ns.as_str();
    journey
        .apply(
            User::Alice,
            &[assessment(ns, name, "scoring", Some(&until.to_string()))],
        )
        .ok();
    journey
        .kubectl(User::Bob, &["aims", "approve", name, "-n", ns])
        .ok();
    until
}

async fn sleep_until(moment: jiff::Timestamp) {
    let left = moment.duration_since(jiff::Timestamp::now());
    if left.is_positive() {
        tokio::time::sleep(Duration::try_from(left).unwrap()).await;
    }
}

#[tokio::test]
async fn expiry_flips_the_conditions_on_time_and_after_a_restart() {
    let mut journey = Journey::start("e2e-time", "enforce").await;
    let ns = journey.ns.clone();
    journey.apply(User::Admin, &[system(&ns, "scoring")]).ok();

    let until = approved_for(&journey, "short-ia", 15);
    approved_condition_becomes(&journey, "True", Duration::from_secs(15)).await;
    sleep_until(until).await;
    approved_condition_becomes(&journey, "False", Duration::from_secs(5)).await;

    // Expiry while the operator is stopped: stale until it starts again, then flipped at once.
    journey
        .kubectl(User::Alice, &["delete", "impactassessment", "short-ia"])
        .ok();
    let until = approved_for(&journey, "second-ia", 10);
    approved_condition_becomes(&journey, "True", Duration::from_secs(10)).await;
    journey.operator.stop().await;
    sleep_until(until + jiff::SignedDuration::from_secs(3)).await;
    let stale = crate::steps::condition(&journey, "aisystem/scoring", "AssessmentApproved");
    assert_eq!(
        stale, "True",
        "nobody updated status while the operator was stopped"
    );
    journey.operator = Operator::start(aims_operator::policy::Policy::default()).await;
    journey.operator.register(&journey.admin, &ns).await;
    approved_condition_becomes(&journey, "False", Duration::from_secs(10)).await;
    journey.finish().await;
}
