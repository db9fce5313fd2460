//! The webhook down: enforcing namespaces fail closed with the API server's message, warn
//! and audit namespaces and everything outside enforcement go on, the Pods of admitted
//! workloads are still replaced (the built-in controllers' objects never reach the
//! webhook), and decisions resume when it is back.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::{Journey, Operator, create_namespace, eventually};
use crate::objects::deployment;

fn pods(journey: &Journey, ns: &str, app: &str) -> Vec<String> {
    journey
        .plane
        .kubectl(
            User::Admin,
            &[
                "get",
                "pods",
                "-n",
                ns,
                "-l",
                &format!("app={app}"),
                "-o",
                "name",
            ],
        )
        .ok()
        .lines()
        .map(str::to_string)
        .collect()
}

async fn pods_become(journey: &Journey, ns: &str, app: &str, count: usize) -> Vec<String> {
    eventually(
        &format!("{count} Pods of {app}"),
        Duration::from_secs(60),
        || async {
            let now = pods(journey, ns, app);
            if now.len() == count {
                Ok(())
            } else {
                Err(format!("{now:?}"))
            }
        },
    )
    .await;
    pods(journey, ns, app)
}

/// The workload webhooks' audit annotations on the API server's record of a request:
/// present only when the webhook was called.
fn reviewed(event: &Value) -> bool {
    event["annotations"]
        .as_object()
        .is_some_and(|a| a.keys().any(|k| k.contains(".workloads.aims.io/")))
}

#[tokio::test]
async fn with_the_webhook_down_only_enforcement_stops_and_rollouts_go_on() {
    let mut journey = Journey::start("e2e-outage", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    journey.add_namespace("e2e-outage-warn", "warn").await;
    create_namespace(journey.plane, "e2e-outage-plain", "");
    journey
        .plane
        .kubectl(
            User::Admin,
            &[
                "label",
                "namespace",
                "e2e-outage-plain",
                "aims.io/enforcement-",
            ],
        )
        .ok();
    // One registration for the whole cluster, as the chart installs it.
    journey.operator.unregister(&journey.admin).await;
    journey.operator.register_everywhere(&journey.admin).await;

    crate::steps::approved_system(&journey, "scoring");
    let mut scorer = deployment(ns, "scorer", "scoring", "1.0.0");
    scorer["spec"]["replicas"] = json!(2);
    journey.apply(User::Alice, &[scorer.clone()]).ok();
    let before = pods_become(&journey, ns, "scorer", 2).await;

    journey.operator.stop().await;

    // Enforcing: a new model deployment is refused, with the API server's own message.
    let refused = journey
        .apply(User::Alice, &[deployment(ns, "next", "scoring", "1.0.0")])
        .refused();
    assert!(
        refused.contains("failed calling webhook \"enforce.workloads.aims.io\""),
        "{refused}"
    );
    // Warn (fail open), a namespace that did not opt in, kube-system and the operator's own
    // namespace: admitted.
    for (namespace, labelled) in [
        ("e2e-outage-warn", true),
        ("e2e-outage-plain", false),
        ("kube-system", true),
        ("aims-system", true),
    ] {
        let mut object = deployment(namespace, "other", "scoring", "1.0.0");
        if !labelled {
            object["metadata"]["labels"] = json!({"app": "other"});
            object["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
        }
        let user = if namespace.starts_with("e2e-") {
            User::Alice
        } else {
            User::Admin
        };
        let out = journey.plane.kubectl_with_input(
            user,
            &["apply", "-f", "-"],
            Some(&object.to_string()),
        );
        assert!(out.success, "{namespace}: {}", out.stderr);
    }

    // A drain: the admitted Deployment's Pods are replaced by the controllers, webhook or not.
    journey
        .kubectl(User::Admin, &["delete", &before[0], "--wait=false"])
        .ok();
    eventually("a replacement Pod", Duration::from_secs(60), || async {
        let now = pods(&journey, ns, "scorer");
        let replaced = now.len() == 2 && !now.contains(&before[0]);
        if replaced {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;

    // Back: decisions resume without restarting anything else.
    journey.operator = Operator::start(aims_operator::policy::Policy::default()).await;
    journey.operator.register_everywhere(&journey.admin).await;
    let denied = journey
        .apply(User::Alice, &[deployment(ns, "next", "scoring", "2.0.0")])
        .refused();
    assert!(denied.contains("AIMS-003"), "{denied}");

    // A rollout of three replicas: one review (the Deployment), none for its ReplicaSet
    // and Pods.
    let since = journey.plane.audit_events().len();
    scorer["spec"]["replicas"] = json!(3);
    scorer["spec"]["template"]["metadata"]["annotations"] = json!({"rollout": "2"});
    journey.apply(User::Alice, &[scorer]).ok();
    eventually(
        "the rollout's new ReplicaSet with three Pods",
        Duration::from_secs(60),
        || async {
            let rs = journey
                .kubectl(
                    User::Admin,
                    &[
                        "get",
                        "rs",
                        "-l",
                        "app=scorer",
                        "-o",
                        "jsonpath={range .items[*]}{.status.replicas} {end}",
                    ],
                )
                .ok();
            if rs.split_whitespace().any(|n| n == "3") {
                Ok(())
            } else {
                Err(rs)
            }
        },
    )
    .await;
    let writes: Vec<Value> = journey.plane.audit_events()[since..]
        .iter()
        .filter(|e| {
            e["objectRef"]["namespace"] == ns
                && e["verb"] != "get"
                && e["verb"] != "list"
                && e["verb"] != "watch"
        })
        .filter(|e| {
            matches!(
                e["objectRef"]["resource"].as_str(),
                Some("deployments" | "replicasets" | "pods")
            ) && e["objectRef"]["subresource"].is_null()
        })
        .filter(|e| e["verb"] == "create" || e["verb"] == "update" || e["verb"] == "patch")
        .cloned()
        .collect();
    let sent = writes.iter().filter(|e| reviewed(e)).count();
    let saved = writes.len() - sent;
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("[outage] a 3-replica rollout: {} writes, {sent} reviewed, {saved} not sent to the webhook\n", writes.len()).as_bytes(),
    );
    assert_eq!(sent, 1, "{writes:#?}");
    assert!(saved >= 4, "{saved} saved of {}", writes.len());
    journey.finish().await;
}
