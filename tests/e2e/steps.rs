//! Steps several journeys share.

use std::time::Duration;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{assessment, system};

/// The platform team registers `name` (model scorer 1.0.0), alice writes the assessment
/// `<name>-ia` of it, and bob approves it with `kubectl aims approve`.
pub fn approved_system(journey: &Journey, name: &str) {
    let ns = journey.ns.as_str();
    journey.apply(User::Admin, &[system(ns, name)]).ok();
    let ia = format!("{name}-ia");
    journey
        .apply(User::Alice, &[assessment(ns, &ia, name, None)])
        .ok();
    operator_sees_system(journey, name);
    journey
        .kubectl(User::Bob, &["aims", "approve", &ia, "-n", ns])
        .ok();
}

/// Blocks until the operator has seen system `name` (it wrote its status): an approval binds
/// the system as the webhook's view holds it, and refuses while it holds none.
pub fn operator_sees_system(journey: &Journey, name: &str) {
    let object = format!("aisystem/{name}");
    for _ in 0..100 {
        if !field(journey, &object, "{.status.summary.assessment}").is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the operator did not write the status of {object} within 20 s");
}

/// `jsonpath` of `object` in the journey's namespace, as the auditor reads it.
pub fn field(journey: &Journey, object: &str, jsonpath: &str) -> String {
    journey
        .kubectl(
            User::Erin,
            &["get", object, "-o", &format!("jsonpath={jsonpath}")],
        )
        .ok()
}

/// The status of condition `type_` of `object`.
pub fn condition(journey: &Journey, object: &str, type_: &str) -> String {
    field(
        journey,
        object,
        &format!("{{.status.conditions[?(@.type==\"{type_}\")].status}}"),
    )
}

/// Waits until condition `type_` of `object` is `status`.
pub async fn condition_becomes(
    journey: &Journey,
    object: &str,
    type_: &str,
    status: &str,
    within: Duration,
) {
    eventually(&format!("{object} {type_}={status}"), within, || async {
        let got = condition(journey, object, type_);
        if got == status { Ok(()) } else { Err(got) }
    })
    .await;
}

/// The owner of `system` leaves (the platform team clears spec.owner), and the operator has
/// seen it: OwnerAssigned is False.
pub async fn owner_leaves(journey: &Journey, system: &str) {
    let owner = serde_json::json!({"spec": {"owner": null}}).to_string();
    journey
        .kubectl(
            User::Admin,
            &["patch", "aisystem", system, "--type=merge", "-p", &owner],
        )
        .ok();
    condition_becomes(
        journey,
        &format!("aisystem/{system}"),
        "OwnerAssigned",
        "False",
        Duration::from_secs(30),
    )
    .await;
}
