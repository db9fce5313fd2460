//! Two operator replicas: both serve the webhook, exactly one writes status (told apart in
//! the API server's audit log by the token each authenticates with), and the other takes
//! over when the first stops.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::cluster::User;
use crate::env::{Journey, OPERATOR_NAMESPACE, Operator, eventually};

/// The credentials that wrote status in `ns` in `events`.
fn status_writers(events: &[Value], ns: &str) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| {
            e["objectRef"]["namespace"] == ns
                && e["objectRef"]["subresource"] == "status"
                && e["verb"] == "patch"
                && e["responseStatus"]["code"] == 200
        })
        .map(|e| {
            e["user"]["extra"]["authentication.kubernetes.io/credential-id"][0]
                .as_str()
                .unwrap_or("(none)")
                .to_string()
        })
        .collect()
}

fn holder(journey: &Journey) -> String {
    journey
        .plane
        .kubectl(
            User::Admin,
            &[
                "get",
                "lease",
                "aims-operator-reconciler",
                "-n",
                OPERATOR_NAMESPACE,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        )
        .ok()
}

pub(crate) async fn leader_becomes(journey: &Journey, replica: &str, within: Duration) {
    eventually(&format!("{replica} leads"), within, || async {
        let now = holder(journey);
        if now == replica { Ok(()) } else { Err(now) }
    })
    .await;
}

#[tokio::test]
async fn of_two_replicas_exactly_one_writes_status_and_the_other_takes_over() {
    let mut journey = Journey::start("e2e-replicas", "enforce").await;
    let ns = journey.ns.clone();
    let mut second =
        Operator::start_replica(aims_operator::policy::Policy::default(), "aims-operator-1").await;
    leader_becomes(&journey, "aims-operator-0", Duration::from_secs(20)).await;

    let since = journey.plane.audit_events().len();
    crate::steps::approved_system(&journey, "scoring");
    crate::steps::approved_system(&journey, "ranking");
    crate::steps::condition_becomes(
        &journey,
        "aisystem/ranking",
        "AssessmentApproved",
        "True",
        Duration::from_secs(30),
    )
    .await;
    let writers = status_writers(&journey.plane.audit_events()[since..], &ns);
    assert_eq!(writers.len(), 1, "status written with {writers:?}");

    // The leader stops (a rolling update): the Service sends reviews to the other replica
    // (here: the registration points at it), which takes the Lease and writes.
    journey.operator.stop().await;
    second.register(&journey.admin, &ns).await;
    leader_becomes(&journey, "aims-operator-1", Duration::from_secs(30)).await;
    let since = journey.plane.audit_events().len();
    crate::steps::owner_leaves(&journey, "ranking").await;
    let after = status_writers(&journey.plane.audit_events()[since..], &ns);
    assert_eq!(after.len(), 1, "status written with {after:?}");
    assert!(
        after.is_disjoint(&writers),
        "the stopped replica wrote: {after:?}"
    );

    second.stop().await;
    second.unregister(&journey.admin).await;
    journey.finish().await;
}
