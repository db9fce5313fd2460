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
    operator_sees_approval(journey, &ia);
}

/// Blocks until the operator has evaluated assessment `name` as approved in its current
/// generation: from then on its view, which the webhook decides on, holds the approval. A
/// deployment sent sooner races the watch that brings it (milliseconds, more on busy cores).
pub fn operator_sees_approval(journey: &Journey, name: &str) {
    let object = format!("impactassessment/{name}");
    let mut seen = String::new();
    for _ in 0..100 {
        seen = field(
            journey,
            &object,
            "{.status.phase} {.status.observedGeneration} {.metadata.generation}",
        );
        if let [phase, observed, generation] = seen.split(' ').collect::<Vec<_>>()[..]
            && phase == "Approved"
            && observed == generation
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the operator did not evaluate {object} as approved within 20 s: {seen}");
}

/// [`approved_system`] "scoring", and alice's Deployment `scorer` of model 1.0.0 admitted.
pub fn running_scorer(journey: &Journey) {
    approved_system(journey, "scoring");
    let scorer = crate::objects::deployment(&journey.ns, "scorer", "scoring", "1.0.0");
    journey.apply(User::Alice, &[scorer]).ok();
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
    try_field(journey, object, jsonpath).unwrap_or_else(|error| panic!("{error}"))
}

/// `jsonpath` of `object`, or what kubectl said when it could not read it (an object the
/// operator has not created yet, say).
pub fn try_field(journey: &Journey, object: &str, jsonpath: &str) -> Result<String, String> {
    let read = journey.kubectl(
        User::Erin,
        &["get", object, "-o", &format!("jsonpath={jsonpath}")],
    );
    match read.success {
        true => Ok(read.stdout),
        false => Err(format!("kubectl get {object} failed: {}", read.stderr)),
    }
}

/// The jsonpath of condition `type_`'s status.
fn condition_path(type_: &str) -> String {
    format!("{{.status.conditions[?(@.type==\"{type_}\")].status}}")
}

/// The status of condition `type_` of `object`.
pub fn condition(journey: &Journey, object: &str, type_: &str) -> String {
    field(journey, object, &condition_path(type_))
}

/// Waits until condition `type_` of `object` is `status`.
pub async fn condition_becomes(
    journey: &Journey,
    object: &str,
    type_: &str,
    status: &str,
    within: Duration,
) {
    // A read that fails (the object not there yet) is "not yet", not the end of the wait.
    eventually(&format!("{object} {type_}={status}"), within, || async {
        let got = try_field(journey, object, &condition_path(type_))?;
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

/// The shipped Argo CD health of `object` (as read back from the API server), run in
/// gopher-lua as Argo CD runs it; (status, message).
pub fn argo_health(journey: &Journey, object: &serde_json::Value) -> (String, String) {
    let kind = object["kind"].as_str().unwrap().to_lowercase();
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/aims-operator/argocd")
        .join(format!("health-{kind}.lua"));
    journey.plane.argo_health(&script, object)
}
