//! Shadow-AI discovery on the real API server: `kubectl aims discover` lists a model server
//! nobody registered in a namespace that never opted in, leaves ordinary workloads and
//! registered systems' models alone, and its draft AISystems are accepted by the API server;
//! the operator's periodic discovery counts it in its metric.

use std::time::Duration;

use aims_operator::policy::Policy;
use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, Operator, admin_apply, eventually, grant_editors, http_get};
use crate::objects::deployment;

#[tokio::test]
async fn discover_lists_model_serving_no_aisystem_covers_with_drafts_the_api_server_accepts() {
    let journey = Journey::start("e2e-discover", "enforce").await;
    let quiet = "e2e-discover-quiet";
    let plane = journey.plane;
    admin_apply(
        plane,
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": quiet}})],
    );
    grant_editors(plane, quiet);
    let unlabelled = |name: &str, image: &str| {
        let mut d = deployment(quiet, name, "x", "1.0.0");
        d["metadata"]["labels"] = json!({"app": name});
        d["spec"]["selector"]["matchLabels"] = json!({"app": name});
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": name});
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        d
    };
    admin_apply(
        plane,
        &[
            unlabelled("llm", "vllm/vllm-openai:v0.6.3"),
            unlabelled("web", "nginx:1.27"),
        ],
    );

    let listed = plane.kubectl(User::Admin, &["aims", "discover", "-n", quiet]);
    assert!(!listed.success, "exit status 1 when something is found");
    assert_eq!(
        listed.stdout.lines().next(),
        Some(
            "Deployment e2e-discover-quiet/llm (namespace not opted in): container server runs \
             the serving image vllm/vllm-openai:v0.6.3"
        ),
        "{}{}",
        listed.stdout,
        listed.stderr
    );
    assert!(!listed.stdout.contains("/web"), "{}", listed.stdout);

    let drafts = plane.kubectl(
        User::Admin,
        &["aims", "discover", "-n", quiet, "-o", "yaml"],
    );
    assert!(
        drafts.stdout.contains("kind: AISystem"),
        "{}",
        drafts.stdout
    );
    let accepted = plane.kubectl_with_input(
        User::Admin,
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&drafts.stdout),
    );
    assert!(accepted.success, "{}", accepted.stderr);
    assert_eq!(
        accepted.stdout,
        "aisystem.aims.io/llm created (server dry run)\n"
    );

    // The operator finds it too: its metric counts it in its namespace.
    let mut journey = journey;
    journey.operator.stop().await;
    journey.operator = Operator::start_with(Policy::default(), &["--discover-seconds=1"]).await;
    journey
        .operator
        .register(&journey.admin, &journey.ns.clone())
        .await;
    let health = journey.operator.health_port;
    let counted = format!("aims_unregistered_model_workloads{{namespace=\"{quiet}\"}} 1");
    eventually(
        "the operator's discovery metric",
        Duration::from_secs(30),
        || async {
            let metrics = http_get(health, "/metrics").await;
            if metrics.contains(&counted) {
                Ok(())
            } else {
                Err(metrics
                    .lines()
                    .filter(|l| l.contains("unregistered"))
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
        },
    )
    .await;

    // And lists it in the namespace's OpenReports Report.
    let report_results = || {
        let out = plane.kubectl(
            User::Admin,
            &[
                "-n",
                quiet,
                "get",
                "reports.openreports.io",
                "aims-discovery",
                "-o",
                "jsonpath={.results[*].resources[0].name} {.results[*].result}",
            ],
        );
        out.stdout
    };
    eventually("the discovery Report", Duration::from_secs(30), || async {
        let got = report_results();
        if got == "llm warn" { Ok(()) } else { Err(got) }
    })
    .await;

    // Registered and labelled, it is no longer listed.
    plane
        .kubectl_with_input(User::Admin, &["apply", "-f", "-"], Some(&drafts.stdout))
        .ok();
    plane
        .kubectl(
            User::Admin,
            &[
                "-n",
                quiet,
                "label",
                "deployment",
                "llm",
                "aims.io/system=llm",
            ],
        )
        .ok();
    let after = plane.kubectl(User::Admin, &["aims", "discover", "-n", quiet]);
    assert!(after.success, "{}{}", after.stdout, after.stderr);
    assert_eq!(
        after.stdout,
        "No model serving outside the AI system register.\n"
    );
    eventually(
        "an empty discovery Report",
        Duration::from_secs(30),
        || async {
            let got = report_results();
            if got.trim().is_empty() {
                Ok(())
            } else {
                Err(got)
            }
        },
    )
    .await;
    journey.finish().await;
}
