//! A quiet cluster causes no writes: once the operator has converged, it writes nothing
//! until something changes (counted in the API server's audit log), and one change costs a
//! bounded number of writes, not a loop.

use std::time::Duration;

use crate::audit::operator_writes;
use crate::env::Journey;

#[tokio::test]
async fn once_converged_the_operator_writes_nothing_until_something_changes() {
    let journey = Journey::start("e2e-quiet", "enforce").await;
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
    tokio::time::sleep(Duration::from_secs(5)).await;

    let since = journey.plane.audit_events().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let events = journey.plane.audit_events();
    let quiet = operator_writes(&events[since..]);
    assert!(quiet.is_empty(), "writes in a quiet cluster: {quiet:#?}");

    // One change: the system's status, its assessment's and Report at most, once each.
    let since = events.len();
    crate::steps::owner_leaves(&journey, "ranking").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let events = journey.plane.audit_events();
    let after = operator_writes(&events[since..]);
    assert!(
        !after.is_empty() && after.len() <= 4,
        "{} writes for one change: {after:#?}",
        after.len()
    );
    journey.finish().await;
}
