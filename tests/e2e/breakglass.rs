//! Break-glass: honoured for the on-call group with a warning and an Event; from anyone else
//! the annotations change nothing.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{deployment, system};

#[tokio::test]
async fn break_glass_admits_for_the_on_call_group_only() {
    let journey = Journey::start("e2e-break-glass", "enforce").await;
    let ns = journey.ns.as_str();
    journey.apply(User::Admin, &[system(ns, "scoring")]).ok();
    let until = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2)).to_string();
    let mut emergency = deployment(ns, "scorer", "scoring", "1.0.0");
    emergency["metadata"]["annotations"] = json!({
        "aims.io/break-glass-reason": "INC-4711: scoring outage, assessment in review",
        "aims.io/break-glass-expires": until,
    });

    // alice's annotations count for nothing: the same refusal as without them.
    let refused = journey.apply(User::Alice, &[emergency.clone()]).refused();
    assert!(refused.contains("AIMS-003"), "{refused}");

    let admitted = journey.apply(User::Dave, &[emergency]);
    assert!(admitted.success, "{}", admitted.stderr);
    assert_eq!(admitted.stdout, "deployment.apps/scorer created\n");
    assert!(
        admitted.stderr.starts_with("Warning: ") && admitted.stderr.contains("break-glass"),
        "{}",
        admitted.stderr
    );
    eventually("the BreakGlass Event", Duration::from_secs(20), || async {
        let events = journey
            .kubectl(User::Erin, &["get", "events", "--field-selector=reason=BreakGlass", "-o",
                "jsonpath={range .items[*]}{.type} {.regarding.name}{.involvedObject.name}: {.note}{.message}{\"\\n\"}{end}"])
            .ok();
        if events.contains("Warning scorer: dave admitted it until") { Ok(()) } else { Err(events) }
    })
    .await;
    journey.finish().await;
}
