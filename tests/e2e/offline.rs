//! The offline check agrees with the cluster: every example workload and every adversarial
//! manifest gets the same outcome from `aims-operator check` as from the real API server
//! with the webhook (server-side dry run as a developer), over the same register.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::{Journey, documents, stream};
use crate::objects::{deployment, system};

/// What happened to a manifest.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    /// Accepted (stored, or would be on a dry run).
    Admitted,
    /// Refused by the webhook's rules (check: DENY, exit 1).
    Denied,
    /// Refused before the rules: schema, strict fields, label syntax (check: ERROR, exit 2).
    Invalid,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The cluster's answer to alice applying `file` (server-side dry run: nothing is stored).
fn cluster_outcome(journey: &Journey, file: &Path) -> (Outcome, String) {
    let out = journey.plane.kubectl(
        User::Alice,
        &["apply", "--dry-run=server", "-f", file.to_str().unwrap()],
    );
    let outcome = if out.success {
        Outcome::Admitted
    } else if out.stderr.contains("denied the request") {
        Outcome::Denied
    } else {
        Outcome::Invalid
    };
    (outcome, format!("{}{}", out.stdout, out.stderr))
}

/// `aims-operator check` over the exported register and `file`.
fn check_outcome(register: &Path, file: &Path) -> (Outcome, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .arg("check")
        .arg(register)
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome = match out.status.code() {
        Some(0) => Outcome::Admitted,
        Some(1) => Outcome::Denied,
        _ => Outcome::Invalid,
    };
    (outcome, text)
}

/// The register of `namespaces` as the cluster holds it (stamps and all), with the
/// namespaces' own objects, in one file.
fn export(journey: &Journey, namespaces: &[&str], file: &Path) {
    let mut objects = Vec::new();
    for ns in namespaces {
        let list = journey
            .plane
            .kubectl(
                User::Admin,
                &[
                    "get",
                    "aisystems,impactassessments,controlbindings",
                    "-n",
                    ns,
                    "-o",
                    "json",
                ],
            )
            .ok();
        let list: Value = serde_json::from_str(&list).unwrap();
        objects.extend(list["items"].as_array().unwrap().iter().cloned());
        let namespace = journey
            .plane
            .kubectl(User::Admin, &["get", "namespace", ns, "-o", "json"])
            .ok();
        objects.push(serde_json::from_str(&namespace).unwrap());
    }
    // The organisation's AIManagementSystem, cluster-scoped, when there is one.
    let organisation = journey
        .plane
        .kubectl(User::Admin, &["get", "aimanagementsystems", "-o", "json"])
        .ok();
    let organisation: Value = serde_json::from_str(&organisation).unwrap();
    objects.extend(organisation["items"].as_array().unwrap().iter().cloned());
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    std::fs::write(file, list.to_string()).unwrap();
}

fn compare(journey: &Journey, register: &Path, name: &str, file: &Path, expected: Option<Outcome>) {
    let (cluster, said) = cluster_outcome(journey, file);
    let (offline, reported) = check_outcome(register, file);
    assert_eq!(
        offline, cluster,
        "{name}: check says {offline:?}, the cluster {cluster:?}\n--- cluster:\n{said}\n--- check:\n{reported}"
    );
    if let Some(expected) = expected {
        assert_eq!(cluster, expected, "{name}: {said}");
    }
}

/// Adversarial manifests: what the API server refuses for its own reasons, and what the
/// webhook refuses or admits, each with the outcome it must have.
fn adversarial(ns: &str) -> Vec<(&'static str, Value, Outcome)> {
    let good = deployment(ns, "scorer", "scoring", "1.0.0");
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut d = good.clone();
        edit(&mut d);
        d
    };
    let mut typo = system(ns, "typo");
    typo["spec"]["ownr"] = json!({"name": "Dana"});
    vec![
        ("compliant deployment", good.clone(), Outcome::Admitted),
        (
            "uncovered model version",
            deployment(ns, "next", "scoring", "2.0.0"),
            Outcome::Denied,
        ),
        (
            "unregistered system",
            deployment(ns, "ghost", "ghost", "1.0.0"),
            Outcome::Denied,
        ),
        (
            "system name in another case",
            deployment(ns, "case", "Scoring", "1.0.0"),
            Outcome::Denied,
        ),
        (
            "misspelt spec field",
            with(&|d| d["spec"]["replica"] = json!(2)),
            Outcome::Invalid,
        ),
        (
            "misspelt container field",
            with(&|d| {
                d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("Always")
            }),
            Outcome::Invalid,
        ),
        (
            "wrong type",
            with(&|d| d["spec"]["replicas"] = json!("two")),
            Outcome::Invalid,
        ),
        (
            "Cyrillic letter in the label key",
            with(&|d| d["metadata"]["labels"]["aіms.io/system"] = json!("scoring")),
            Outcome::Invalid,
        ),
        (
            "upper-case label prefix",
            with(&|d| {
                d["spec"]["template"]["metadata"]["labels"]["AIMS.io/system"] = json!("scoring")
            }),
            Outcome::Invalid,
        ),
        (
            "label value with a space",
            with(&|d| d["metadata"]["labels"]["team"] = json!("risk team")),
            Outcome::Invalid,
        ),
        ("misspelt AISystem field", typo, Outcome::Invalid),
        // A field Kubernetes 1.34 added (behind a feature gate the API server leaves off, so
        // it drops the value and takes the object): not an unknown field to `check` either.
        (
            "pod field newer than Kubernetes 1.33",
            with(&|d| d["spec"]["template"]["spec"]["hostnameOverride"] = json!("scorer")),
            Outcome::Admitted,
        ),
    ]
}

#[tokio::test]
async fn check_gives_the_clusters_answer_for_adversarial_manifests() {
    let journey = Journey::start("e2e-offline", "enforce").await;
    let ns = journey.ns.as_str();
    crate::steps::approved_system(&journey, "scoring");
    let dir = journey.plane.dir.join("offline");
    std::fs::create_dir_all(&dir).unwrap();
    let register = dir.join("register.yaml");
    export(&journey, &[ns], &register);
    for (i, (name, manifest, expected)) in adversarial(ns).into_iter().enumerate() {
        let file = dir.join(format!("case-{i}.yaml"));
        std::fs::write(&file, stream(&[manifest])).unwrap();
        compare(&journey, &register, name, &file, Some(expected));
    }
    journey.finish().await;
}

/// An example's AIMS object as a team would first apply it: without the decisions and
/// their stamps, which an approver makes in the cluster (the examples carry ones recorded
/// elsewhere).
fn unstamped(mut object: Value) -> Value {
    if let Some(annotations) = object["metadata"]["annotations"].as_object_mut() {
        annotations.remove("aims.io/author");
    }
    if let Some(spec) = object["spec"].as_object_mut() {
        spec.remove("approval");
    }
    for control in object["spec"]["controls"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if let Some(exclusion) = control["exclusion"].as_object_mut() {
            exclusion.remove("acceptedBy");
        }
    }
    object
}

#[tokio::test]
async fn check_gives_the_clusters_answer_for_every_example_workload() {
    let mut journey = Journey::start("e2e-offline-examples", "audit").await;
    let mut examples = Vec::new();
    for dir in std::fs::read_dir(repo().join("examples")).unwrap() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.unwrap().path())
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            examples.extend(documents(&std::fs::read_to_string(file).unwrap()));
        }
    }
    let namespaces: Vec<Value> = examples
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .cloned()
        .collect();
    let names: Vec<String> = namespaces
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    crate::env::admin_apply(journey.plane, &namespaces);
    for name in &names {
        crate::env::grant_editors(journey.plane, name);
        journey.operator.register(&journey.admin, name).await;
    }

    // The organisation's AIManagementSystem as the platform team applies it (cluster-scoped:
    // no namespace editor may), then the register as the teams apply it, then the decisions
    // the examples record, made by an approver in the cluster.
    let (organisation, aims): (Vec<Value>, Vec<Value>) = examples
        .iter()
        .filter(|o| {
            o["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("aims.io/"))
        })
        .cloned()
        .partition(|o| o["kind"] == "AIManagementSystem");
    assert_eq!(
        organisation.len(),
        1,
        "the examples have one AIManagementSystem"
    );
    crate::env::admin_apply(journey.plane, &organisation);
    // Internal audits and management reviews are recorded by the policy's groups.
    let (records, aims): (Vec<Value>, Vec<Value>) = aims
        .into_iter()
        .partition(|o| o["kind"] == "InternalAudit" || o["kind"] == "ManagementReview");
    journey
        .plane
        .kubectl_with_input(
            User::Alice,
            &["apply", "-f", "-"],
            Some(&stream(
                &aims.iter().cloned().map(unstamped).collect::<Vec<_>>(),
            )),
        )
        .ok();
    for record in records {
        let recorder = if record["kind"] == "InternalAudit" {
            User::Erin
        } else {
            User::Rita
        };
        journey
            .plane
            .kubectl_with_input(recorder, &["apply", "-f", "-"], Some(&stream(&[record])))
            .ok();
    }
    for object in &aims {
        let (ns, name) = (
            object["metadata"]["namespace"].as_str().unwrap(),
            object["metadata"]["name"].as_str().unwrap(),
        );
        if let Some(decision) = object["spec"]["approval"]["decision"].as_str() {
            let verb = if decision == "Approved" {
                "approve"
            } else {
                "reject"
            };
            journey
                .plane
                .kubectl(User::Bob, &["aims", verb, name, "-n", ns])
                .ok();
        }
        for (i, control) in object["spec"]["controls"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if control["exclusion"]["acceptedBy"].is_string() {
                let accept = json!([{"op": "add", "path": format!("/spec/controls/{i}/exclusion/acceptedBy"), "value": "bob"}]);
                journey
                    .plane
                    .kubectl(
                        User::Bob,
                        &[
                            "patch",
                            "controlbinding",
                            name,
                            "-n",
                            ns,
                            "--type=json",
                            "-p",
                            &accept.to_string(),
                        ],
                    )
                    .ok();
            }
        }
    }
    let dir = journey.plane.dir.join("offline-examples");
    std::fs::create_dir_all(&dir).unwrap();
    let register = dir.join("register.yaml");
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    export(&journey, &refs, &register);

    let workloads: Vec<Value> = examples
        .iter()
        .filter(|o| {
            !o["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("aims.io/"))
                && o["kind"] != "Namespace"
        })
        .cloned()
        .collect();
    assert!(workloads.len() >= 8, "{}", workloads.len());
    let mut outcomes = Vec::new();
    for (i, workload) in workloads.into_iter().enumerate() {
        let name = format!(
            "{} {}/{}",
            workload["kind"].as_str().unwrap(),
            workload["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default"),
            workload["metadata"]["name"].as_str().unwrap()
        );
        let file = dir.join(format!("workload-{i}.yaml"));
        std::fs::write(&file, stream(&[workload])).unwrap();
        compare(&journey, &register, &name, &file, None);
        outcomes.push(cluster_outcome(&journey, &file).0);
    }
    // The examples show both sides of the gate.
    assert!(
        outcomes.contains(&Outcome::Admitted) && outcomes.contains(&Outcome::Denied),
        "{outcomes:?}"
    );
    // The organisation's object is one per cluster: the journeys after this one have none.
    journey
        .plane
        .kubectl(User::Admin, &["delete", "aimanagementsystem", "aims"])
        .ok();
    journey.finish().await;
}
