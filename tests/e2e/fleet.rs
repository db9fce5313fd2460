//! `kubectl aims` chooses clusters as kubectl does, on the real API server: `--kubeconfig`
//! and `--context`, the context's namespace as the default `-n`, and several contexts merged
//! into one organisation view in which every system is named with its context.

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::Journey;
use crate::objects::system;
use crate::steps::approved_system;

/// A kubeconfig with contexts `east` and `west` on this control plane as the auditor, each
/// with its own namespace.
fn two_contexts(journey: &Journey, east: &str, west: &str) -> std::path::PathBuf {
    let plane = journey.plane;
    let auditor: Value =
        serde_json::from_str(&std::fs::read_to_string(plane.kubeconfig(User::Erin)).unwrap())
            .unwrap();
    let context = |name: &str, namespace: &str| json!({"name": name, "context": {"cluster": "e2e", "user": User::Erin.name(), "namespace": namespace}});
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": auditor["clusters"], "users": auditor["users"],
        "contexts": [context("east", east), context("west", west)],
        "current-context": "east",
    });
    let path = plane.dir.join(format!("kubeconfig-{east}-fleet"));
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

#[tokio::test]
async fn contexts_are_chosen_as_kubectl_chooses_them_and_several_merge_into_one_view() {
    let mut journey = Journey::start("e2e-fleet-east", "enforce").await;
    let east = journey.ns.clone();
    let west = "e2e-fleet-west".to_string();
    journey.add_namespace(&west, "warn").await;
    approved_system(&journey, "scoring");
    crate::env::admin_apply(journey.plane, &[system(&west, "ranking")]);
    let kubeconfig = two_contexts(&journey, &east, &west);
    let config = kubeconfig.to_str().unwrap();
    // The ambient KUBECONFIG is the admin's: the flag must win over it.
    let aims = |args: &[&str]| {
        let mut all = vec!["aims", "--kubeconfig", config];
        all.extend_from_slice(args);
        journey.plane.kubectl(User::Admin, &all)
    };

    // Both contexts read the same cluster: each system shows once per context, named with it.
    let register = aims(&[
        "--context",
        "east",
        "--context",
        "west",
        "register",
        "--format",
        "json",
    ])
    .ok();
    let register: Value = serde_json::from_str(&register).unwrap();
    let named: Vec<String> = register["register"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["namespace"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        format!("east/{east}/scoring"),
        format!("west/{east}/scoring"),
        format!("east/{west}/ranking"),
        format!("west/{west}/ranking"),
    ] {
        assert!(named.contains(&expected), "{expected} not in {named:?}");
    }
    let soa = aims(&[
        "--context",
        "east",
        "--context",
        "west",
        "soa",
        "-n",
        &east,
        "--format",
        "json",
    ])
    .ok();
    let soa: Value = serde_json::from_str(&soa).unwrap();
    let scope = soa["scope"].as_str().unwrap();
    assert!(
        scope.starts_with(&format!("namespace {east} of clusters east (https://"))
            && scope.contains(", west (https://"),
        "{scope}"
    );
    assert!(
        soa["register"]
            .to_string()
            .contains(&format!("\"west/{east}\"")),
        "{soa}"
    );

    // One object: the context's namespace is the default, as for kubectl.
    let found = aims(&[
        "--context",
        "east",
        "assessment",
        "scoring-ia",
        "--format",
        "json",
    ]);
    assert!(found.success, "{found:?}");
    let missing = aims(&["--context", "west", "assessment", "scoring-ia"]);
    assert!(
        !missing.success && missing.stderr.contains(&west),
        "looked in the west context's namespace: {missing:?}"
    );
    let two = aims(&[
        "--context",
        "east",
        "--context",
        "west",
        "assessment",
        "scoring-ia",
    ]);
    assert!(
        !two.success && two.stderr.contains("give --context once"),
        "{two:?}"
    );
    let unknown = aims(&["--context", "north", "register"]);
    assert!(
        !unknown.success
            && unknown
                .stderr
                .starts_with("error: context \"north\" does not exist"),
        "{unknown:?}"
    );
    let both = aims(&["register", "-n", &east, "-A"]);
    assert!(
        !both.success && both.stderr.contains("cannot be used with"),
        "{both:?}"
    );
    journey.finish().await;
}
