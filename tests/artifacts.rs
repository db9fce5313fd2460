//! A workload is judged by what it runs: every place a pod spec, a pod template or a KServe
//! InferenceService can name an image or a model, with and without the `aims.io/system`
//! label, in every mode. Removing the label is never a way past the gate.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use aims_operator::engine::workload::POD_TEMPLATE_KINDS;
use aims_operator::engine::{Snapshot, Verdict, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;

use crate::support::*;

/// The image volume's artifact: model weights packaged as an OCI artifact.
fn weights() -> String {
    format!("registry.example/weights/w@{}", digest(7))
}

const WEIGHTS_URI: &str = "s3://models/w/2.0.0";

/// `s` declares `m 1.0.0` as an image, `w 2.0.0` as a storage URI and `v 3.0.0` as an OCI
/// artifact; `t` declares an unrelated model. Both are compliant under approved assessments.
fn register(mode: &str) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.add_namespace(
        NS,
        BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), mode.to_string())]),
    );
    let mut s =
        system("s")
            .with_model("w", "2.0.0", None)
            .with_model("v", "3.0.0", Some(&weights()));
    s.spec.models[1].storage_uri = Some(WEIGHTS_URI.into());
    let mut s = s.with_model("h", "4.0.0", None);
    s.spec.models[3].storage_uri = Some("hf://org/h-model".into());
    snapshot.add_system(s);
    let mut t = system("t");
    t.spec.models[0].name = "other".into();
    t.spec.models[0].image = Some(format!("reg/other@{}", digest(9)));
    snapshot.add_system(t);
    snapshot.add_assessment(
        assessment("a", "s", &["1.0.x", "2.0.x", "3.0.x", "4.0.x"])
            .approved_by("bob", "2026-11-01T00:00:00Z"),
    );
    snapshot.add_assessment(
        assessment("b", "t", &["1.0.x"]).approved_by("bob", "2026-11-01T00:00:00Z"),
    );
    snapshot
}

fn pod_spec_with(place: &str, artifact: &str) -> Value {
    let runtime = json!({"name": "runtime", "image": format!("reg/runtime@{}", digest(3))});
    match place {
        "containers" => json!({"containers": [{"name": "server", "image": artifact}]}),
        "initContainers" => json!({"initContainers": [{"name": "fetch", "image": artifact}],
            "containers": [runtime]}),
        "image volume" => json!({"containers": [runtime],
            "volumes": [{"name": "weights", "image": {"reference": artifact}}]}),
        other => panic!("{other}"),
    }
}

/// A workload of `kind` naming `artifact` at `place`, labelled with `label` when given.
fn workload(kind: &str, place: &str, artifact: &str, label: Option<&str>) -> Value {
    let labels = label.map_or_else(|| json!({}), |l| json!({ SYSTEM_LABEL: l }));
    let metadata = json!({"name": "w", "namespace": NS, "labels": labels});
    let template = json!({"metadata": {"labels": labels}, "spec": pod_spec_with(place, artifact)});
    let spec = match kind {
        "Pod" => pod_spec_with(place, artifact),
        "CronJob" => json!({"schedule": "@daily",
            "jobTemplate": {"spec": {"template": template}}}),
        _ => json!({"template": template}),
    };
    json!({"kind": kind, "metadata": metadata, "spec": spec})
}

/// An InferenceService naming `artifact` at `path` of its spec.
fn inference_service(path: &str, artifact: &str, label: Option<&str>) -> Value {
    let labels = label.map_or_else(|| json!({}), |l| json!({ SYSTEM_LABEL: l }));
    let mut spec = json!({});
    let mut at = &mut spec;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let value = match (last, *part) {
            (true, "containers" | "initContainers") => {
                json!([{"name": "kserve-container", "image": artifact}])
            }
            (true, "volumes") => json!([{"name": "weights", "image": {"reference": artifact}}]),
            (true, _) => json!(artifact),
            (false, _) => json!({}),
        };
        at[*part] = value;
        at = &mut at[*part];
    }
    json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "isvc", "namespace": NS, "labels": labels}, "spec": spec})
}

fn judge(snapshot: &Snapshot, object: &Value) -> Verdict<'static> {
    evaluate_object(snapshot, object, NS, &Policy::default(), now()).expect("a workload")
}

/// Every place an artifact can be named, as (what, the object with `label`).
fn places(label: Option<&str>) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    let image = model_image();
    // Every kind the engine judges that runs pods, and bare Pods.
    for kind in POD_TEMPLATE_KINDS.into_iter().chain(["Pod"]) {
        all.push((
            format!("{kind} containers"),
            workload(kind, "containers", &image, label),
        ));
        all.push((
            format!("{kind} initContainers"),
            workload(kind, "initContainers", &image, label),
        ));
        all.push((
            format!("{kind} image volume"),
            workload(kind, "image volume", &weights(), label),
        ));
    }
    // A model named on the command line or in the environment of a generic runtime.
    let runtime = format!("reg/runtime@{}", digest(3));
    for (what, extra) in [
        ("args URI", json!({"args": ["--model", WEIGHTS_URI]})),
        (
            "args --flag=URI",
            json!({"args": [format!("--model-path={WEIGHTS_URI}")]}),
        ),
        (
            "command URI",
            json!({"command": ["serve", format!("{WEIGHTS_URI}/")]}),
        ),
        (
            "env URI",
            json!({"env": [{"name": "MODEL_URI", "value": WEIGHTS_URI}]}),
        ),
        (
            "args Hugging Face name",
            json!({"args": ["--model", "org/h-model"]}),
        ),
    ] {
        let mut object = workload("Deployment", "containers", &runtime, label);
        let container = &mut object["spec"]["template"]["spec"]["containers"][0];
        for (key, value) in extra.as_object().unwrap() {
            container[key] = value.clone();
        }
        all.push((format!("Deployment {what}"), object));
    }
    for (path, artifact) in [
        ("predictor.containers", image.clone()),
        ("predictor.initContainers", image.clone()),
        ("predictor.volumes", weights()),
        ("predictor.workerSpec.containers", image.clone()),
        ("predictor.model.image", image.clone()),
        ("predictor.model.storageUri", WEIGHTS_URI.to_string()),
        ("predictor.sklearn.storageUri", format!("{WEIGHTS_URI}/")),
        ("predictor.storageUri", WEIGHTS_URI.to_string()),
        ("predictor.model.storage.path", "w/2.0.0".to_string()),
        ("transformer.containers", image.clone()),
        ("explainer.containers", image.clone()),
    ] {
        all.push((
            format!("InferenceService {path}"),
            inference_service(path, &artifact, label),
        ));
    }
    all
}

#[test]
fn an_unlabelled_workload_running_a_registered_artifact_is_judged_as_that_system() {
    for mode in ["enforce", "warn", "audit"] {
        let snapshot = register(mode);
        for (what, object) in places(None) {
            let v = judge(&snapshot, &object);
            assert_eq!(
                v.system.as_deref(),
                Some("s"),
                "{what} ({mode}): {}",
                v.message()
            );
            let ids: Vec<&str> = v.findings.iter().map(|f| f.rule.id()).collect();
            assert_eq!(ids, ["AIMS-001"], "{what} ({mode}): {}", v.message());
            let finding = &v.findings[0];
            assert!(
                finding.message.contains(
                    "carries no aims.io/system label but runs an artifact of AISystem \"s\""
                ),
                "{what}: {}",
                finding.message
            );
            assert_eq!(
                finding.fix,
                "set metadata.labels[\"aims.io/system\"] and the pod template's labels to s"
            );
            assert_eq!(v.allowed, mode != "enforce", "{what} ({mode})");
        }
    }
}

#[test]
fn the_same_workloads_labelled_with_their_system_are_admitted() {
    for mode in ["enforce", "warn", "audit"] {
        let snapshot = register(mode);
        for (what, object) in places(Some("s")) {
            let v = judge(&snapshot, &object);
            assert!(
                v.allowed && v.findings.is_empty(),
                "{what}: {}",
                v.message()
            );
            assert!(
                v.model.is_some(),
                "{what}: the artifact names the model version"
            );
        }
    }
}

#[test]
fn a_label_naming_another_system_than_the_artifacts_is_refused_with_both_named() {
    for mode in ["enforce", "warn", "audit"] {
        let snapshot = register(mode);
        for (what, object) in places(Some("t")) {
            let v = judge(&snapshot, &object);
            assert_eq!(
                v.allowed,
                mode != "enforce",
                "{what} ({mode}): {}",
                v.message()
            );
            let finding = v
                .findings
                .iter()
                .find(|f| f.rule.id() == "AIMS-001")
                .unwrap_or_else(|| panic!("{what}: {}", v.message()));
            assert!(
                finding.message.starts_with(
                    "the label aims.io/system names AISystem \"t\", but the workload runs an artifact of AISystem \"s\" ("
                ),
                "{what}: {}",
                finding.message
            );
            assert!(
                finding
                    .fix
                    .contains("declare the artifact in spec.models of AISystem \"t\"")
            );
        }
    }
}

#[test]
fn a_label_naming_an_unregistered_system_says_whose_artifact_it_runs() {
    let snapshot = register("enforce");
    let v = judge(
        &snapshot,
        &workload("Deployment", "containers", &model_image(), Some("typo")),
    );
    assert_eq!(
        v.findings[0].fix,
        format!(
            "it runs an artifact of AISystem \"s\" (m 1.0.0, {}): set the label aims.io/system to s",
            model_image()
        )
    );
}

/// The same build written another way is the same artifact: registry defaults, a mirror
/// holding the same digest, another tag of the declared repository.
#[test]
fn image_references_are_compared_as_the_registry_reads_them() {
    let mut snapshot = register("enforce");
    let mut hub = system("hub");
    hub.spec.models[0].image = Some("vllm/vllm-openai:v0.6.0".into());
    snapshot.add_system(hub);
    for image in [
        "docker.io/vllm/vllm-openai:v0.6.0",
        "index.docker.io/vllm/vllm-openai:v0.6.0",
        "vllm/vllm-openai:v0.7.0",
    ] {
        let v = judge(
            &snapshot,
            &workload("Deployment", "containers", image, None),
        );
        assert_eq!(v.system.as_deref(), Some("hub"), "{image}: {}", v.message());
    }
    let mirrored = format!("mirror.example/cache/m@{}", digest(1));
    let v = judge(
        &snapshot,
        &workload("Deployment", "containers", &mirrored, None),
    );
    assert_eq!(v.system.as_deref(), Some("s"), "{}", v.message());
    assert_eq!(v.model.as_ref().map(|m| m.version.as_ref()), Some("1.0.0"));
}

/// A label is refused only for another system's exact build: a runtime image another
/// system also uses, in another tag, is no proof the label is wrong.
#[test]
fn only_another_systems_exact_build_contradicts_a_label() {
    let mut snapshot = register("enforce");
    let mut hub = system("hub");
    hub.spec.models[0].image = Some("vllm/vllm-openai:v0.6.0".into());
    snapshot.add_system(hub);
    let v = judge(
        &snapshot,
        &workload(
            "Deployment",
            "containers",
            "vllm/vllm-openai:v0.7.0",
            Some("t"),
        ),
    );
    assert!(
        !v.findings.iter().any(|f| f.message.contains("hub")),
        "{}",
        v.message()
    );
    let v = judge(
        &snapshot,
        &workload(
            "Deployment",
            "containers",
            "vllm/vllm-openai:v0.6.0",
            Some("t"),
        ),
    );
    assert!(
        v.findings
            .iter()
            .any(|f| f.message.contains("runs an artifact of AISystem \"hub\"")),
        "{}",
        v.message()
    );
}

#[test]
fn an_artifact_two_systems_declare_asks_for_the_label_instead_of_choosing() {
    let mut snapshot = register("enforce");
    snapshot.add_system(system("twin"));
    let v = judge(
        &snapshot,
        &workload("Deployment", "containers", &model_image(), None),
    );
    assert!(v.system.is_none());
    assert!(!v.allowed);
    assert!(
        v.findings[0].message.contains("AISystem \"s\"")
            && v.findings[0].message.contains("AISystem \"twin\""),
        "{}",
        v.message()
    );
}

#[test]
fn outside_opted_in_namespaces_and_for_unknown_artifacts_nothing_changes() {
    let mut snapshot = register("enforce");
    snapshot.add_namespace(NS, BTreeMap::new());
    let v = judge(
        &snapshot,
        &workload("Deployment", "containers", &model_image(), None),
    );
    assert!(v.allowed && v.findings.is_empty(), "{}", v.message());
    let snapshot = register("enforce");
    let v = judge(
        &snapshot,
        &workload("Deployment", "containers", "reg/cache:7", None),
    );
    assert!(v.allowed && v.findings.is_empty(), "{}", v.message());
}

/// A Deployment with no label and an unregistered image, whose one container has `extra`.
fn unlabelled_with(extra: Value) -> Value {
    let mut object = workload("Deployment", "containers", "reg/app:1", None);
    let container = &mut object["spec"]["template"]["spec"]["containers"][0];
    for (key, value) in extra.as_object().unwrap() {
        container[key] = value.clone();
    }
    object
}

/// What looks like model serving is policy: each default signal is caught and named; a
/// policy without them reports the workload as not judged, with the reason.
#[test]
fn serving_signals_are_policy_and_every_one_is_named() {
    let snapshot = register("enforce");
    let cases = [
        (
            json!({"ports": [{"containerPort": 11434}]}),
            "container server listens on port 11434, a model-serving port",
        ),
        (
            json!({"resources": {"limits": {"nvidia.com/gpu": 1}}}),
            "container server requests the accelerator nvidia.com/gpu",
        ),
        (
            json!({"resources": {"requests": {"amd.com/gpu": "1"}}}),
            "container server requests the accelerator amd.com/gpu",
        ),
        (
            json!({"args": ["--model=meta-llama/Llama-3.1-8B"]}),
            "container server names a model with --model",
        ),
        (
            json!({"command": ["python", "serve.py", "--model-id", "x"]}),
            "container server names a model with --model-id",
        ),
    ];
    let quiet = Policy {
        model_serving: aims_operator::engine::workload::serving::ModelServing {
            images: vec![],
            ports: vec![],
            resources: vec![],
            arguments: vec![],
        },
        ..Policy::default()
    };
    for (extra, hint) in cases {
        let object = unlabelled_with(extra);
        let v = judge(&snapshot, &object);
        assert!(!v.allowed, "{hint}: {}", v.message());
        assert_eq!(
            v.findings[0].message,
            format!("this looks like model serving ({hint}) but carries no aims.io/system label")
        );
        let v = evaluate_object(&snapshot, &object, NS, &quiet, now()).unwrap();
        assert!(v.allowed, "{hint}");
        assert_eq!(
            v.scope,
            aims_operator::engine::Scope::NotJudged(
                "no aims.io/system label and nothing suggests model serving".into()
            )
        );
    }
    // A lone word on the command line names no model: the version of a registered model
    // passed as a flag's value does not make a workload that model's.
    let mut version_flag = workload("Deployment", "containers", &model_image(), Some("s"));
    version_flag["spec"]["template"]["spec"]["containers"][0]["args"] =
        json!(["--version=2.0.0", "main"]);
    let v = judge(&snapshot, &version_flag);
    assert!(v.findings.is_empty(), "{}", v.message());
    assert_eq!(
        v.model.as_ref().map(|m| m.to_string()).as_deref(),
        Some("m 1.0.0")
    );
    // Ports, flags and resources that are not serving signals change nothing.
    let ordinary = unlabelled_with(json!({"ports": [{"containerPort": 8080}],
        "args": ["--models-dir", "--modelling"], "resources": {"limits": {"cpu": "1"}}}));
    assert!(judge(&snapshot, &ordinary).findings.is_empty());
}

#[test]
fn a_policy_file_sets_the_serving_signals() {
    let dir = std::env::temp_dir().join(format!("aims-serving-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.yaml");
    std::fs::write(&file, "modelServing:\n  ports: [9000]\n").unwrap();
    let policy = Policy::from_file(&file).unwrap();
    assert_eq!(policy.model_serving.ports, [9000]);
    assert!(
        policy.model_serving.images.contains(&"vllm".to_string()),
        "the other signals keep their defaults"
    );
    std::fs::write(&file, "modelServing:\n  portz: [9000]\n").unwrap();
    let error = Policy::from_file(&file).unwrap_err().to_string();
    assert!(error.contains("portz"), "{error}");
}
