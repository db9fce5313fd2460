//! The platform team: CRDs, field docs, printer columns, examples, chart and kustomize,
//! all judged by the real API server.

use serde_json::Value;

use crate::cluster::{ControlPlane, User};
use crate::env::{Journey, chart, documents, stream};
use crate::tools;

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Words of `text` joined by single spaces: kubectl explain wraps lines its own way.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn crds_are_established_and_explain_their_fields() {
    let journey = Journey::start("e2e-platform-crds", "audit").await;
    let plane = journey.plane;
    for crd in ["aisystems", "impactassessments", "controlbindings"] {
        let status = plane
            .kubectl(
                User::Admin,
                &[
                    "get",
                    &format!("crd/{crd}.aims.io"),
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
                ],
            )
            .ok();
        assert_eq!(status, "True", "{crd} is not established");
    }

    // kubectl explain shows the doc comments of the Rust types, as generated into crds/.
    let crd: Value =
        documents(&std::fs::read_to_string(repo().join("crds/aisystems.aims.io.yaml")).unwrap())
            .remove(0);
    let owner = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["owner"];
    let explained = plane
        .kubectl(User::Alice, &["explain", "aisystems.spec.owner"])
        .ok();
    assert!(
        words(&explained).contains(&words(owner["description"].as_str().unwrap())),
        "{explained}"
    );
    for field in owner["properties"].as_object().unwrap().keys() {
        assert!(
            explained.contains(field.as_str()),
            "{field} missing: {explained}"
        );
    }
    journey.finish().await;
}

#[tokio::test]
async fn kubectl_get_shows_the_printer_columns() {
    let journey = Journey::start("e2e-platform-columns", "audit").await;
    journey
        .apply(
            User::Admin,
            &[crate::objects::system(&journey.ns, "columns")],
        )
        .ok();
    let plane = journey.plane;
    // The columns the product promises; the life-cycle stage only with -o wide.
    let table = plane.kubectl(User::Erin, &["get", "aisystems", "-A"]).ok();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "OWNER",
            "RISK",
            "ASSESSMENT",
            "MONITORED",
            "COMPLIANT",
            "AGE"
        ],
        "{table}"
    );
    let wide = plane
        .kubectl(User::Erin, &["get", "aisystems", "-A", "-o", "wide"])
        .ok();
    let row = wide
        .lines()
        .find(|l| l.starts_with(journey.ns.as_str()))
        .unwrap_or_else(|| panic!("no row for {}: {wide}", journey.ns));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        [
            journey.ns.as_str(),
            "columns",
            "Dana",
            "Minimal",
            "Operation"
        ],
        "{wide}"
    );
    journey.finish().await;
}

/// Server-side dry run: the API server validates and admits without storing (forcing
/// conflicts: other journeys may have written the examples' objects under other managers).
fn dry_run(plane: &ControlPlane, objects: &[Value]) -> Result<String, String> {
    dry_run_as(plane, User::Admin, objects)
}

fn dry_run_as(plane: &ControlPlane, user: User, objects: &[Value]) -> Result<String, String> {
    let out = plane.kubectl_with_input(
        user,
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--force-conflicts",
            "--field-manager=platform",
            "-f",
            "-",
        ],
        Some(&stream(objects)),
    );
    if out.success {
        Ok(out.stdout)
    } else {
        Err(out.stderr)
    }
}

#[tokio::test]
async fn examples_chart_and_kustomize_are_accepted_by_the_api_server() {
    let journey = Journey::start("e2e-platform-install", "audit").await;
    let plane = journey.plane;

    // The examples' namespaces first (a dry run cannot place objects in a namespace that
    // does not exist), then every example document.
    let mut examples = Vec::new();
    for dir in std::fs::read_dir(repo().join("examples")).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            examples.extend(documents(
                &std::fs::read_to_string(file.unwrap().path()).unwrap(),
            ));
        }
    }
    let (namespaces, rest): (Vec<Value>, Vec<Value>) =
        examples.into_iter().partition(|o| o["kind"] == "Namespace");
    assert!(!namespaces.is_empty() && rest.len() > 10);
    crate::env::admin_apply(plane, &namespaces);
    // Audits and reviews are recorded by the policy's groups, and an audit finding must name
    // a system that exists: the systems are applied first.
    let (records, rest): (Vec<Value>, Vec<Value>) = rest
        .into_iter()
        .partition(|o| o["kind"] == "InternalAudit" || o["kind"] == "ManagementReview");
    let systems: Vec<Value> = rest
        .iter()
        .filter(|o| o["kind"] == "AISystem")
        .cloned()
        .collect();
    plane
        .kubectl_with_input(
            User::Admin,
            &[
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=platform",
                "-f",
                "-",
            ],
            Some(&stream(&systems)),
        )
        .ok();
    let accepted = dry_run(plane, &rest).unwrap_or_else(|e| panic!("examples refused: {e}"));
    assert_eq!(accepted.lines().count(), rest.len(), "{accepted}");
    assert_eq!(
        records.len(),
        2,
        "the examples record an audit and a review"
    );
    for record in &records {
        let recorder = if record["kind"] == "InternalAudit" {
            User::Erin
        } else {
            User::Rita
        };
        dry_run_as(plane, recorder, std::slice::from_ref(record))
            .unwrap_or_else(|e| panic!("{} refused: {e}", record["kind"]));
    }

    let rendered = chart();
    let accepted =
        dry_run(plane, &rendered).unwrap_or_else(|e| panic!("helm template refused: {e}"));
    assert_eq!(accepted.lines().count(), rendered.len(), "{accepted}");

    let kustomized =
        documents(&tools::output(&tools::kubectl(), &["kustomize", "config/default"]).unwrap());
    let accepted =
        dry_run(plane, &kustomized).unwrap_or_else(|e| panic!("kustomize build refused: {e}"));
    assert_eq!(accepted.lines().count(), kustomized.len(), "{accepted}");
    journey.finish().await;
}

#[tokio::test]
async fn the_operator_runs_with_exactly_the_charts_rights() {
    let journey = Journey::start("e2e-platform-rbac", "audit").await;
    let plane = journey.plane;
    let operator = plane.dir.join("kubeconfig-aims-operator");
    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        plane
            .kubectl_as(&operator, &all, None)
            .stdout
            .trim()
            .to_string()
    };
    // What it needs: read what it judges, write status, Events and its own Lease.
    for args in [
        &["list", "aisystems.aims.io", "-A"][..],
        &[
            "patch",
            "aisystems.aims.io",
            "--subresource=status",
            "-n",
            "e2e-platform-rbac",
        ],
        &["create", "events", "-n", "e2e-platform-rbac"],
        &["watch", "deployments.apps", "-A"],
        &[
            "update",
            "leases.coordination.k8s.io/aims-operator-reconciler",
            "-n",
            "aims-system",
        ],
    ] {
        assert_eq!(can(args), "yes", "{args:?}");
    }
    // Nothing more: no spec, no workloads, no other Secrets or webhook configurations.
    for args in [
        &["update", "aisystems.aims.io", "-n", "e2e-platform-rbac"][..],
        &[
            "delete",
            "impactassessments.aims.io",
            "-n",
            "e2e-platform-rbac",
        ],
        &["create", "deployments.apps", "-n", "e2e-platform-rbac"],
        &["get", "secrets", "-n", "kube-system"],
        &["get", "secrets/other", "-n", "aims-system"],
        &["patch", "validatingwebhookconfigurations/someone-elses"],
        &["create", "validatingwebhookconfigurations"],
    ] {
        assert_eq!(can(args), "no", "{args:?}");
    }
    let version = plane.kubectl(User::Erin, &["version", "-o", "json"]).ok();
    let version: Value = serde_json::from_str(&version).unwrap();
    assert_eq!(
        version["serverVersion"]["gitVersion"],
        plane.version.as_str()
    );
    journey.finish().await;
}
