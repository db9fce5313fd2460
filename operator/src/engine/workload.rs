//! Recognises model deployments among Kubernetes objects and extracts what the rules need:
//! labels (object and pod template), images with digests, model storage URIs.

use std::collections::BTreeMap;

use serde_json::Value;

/// Kinds the engine judges, with where their pod template sits.
const POD_TEMPLATE_PATHS: &[(&str, &[&str])] = &[
    ("Deployment", &["spec", "template"]),
    ("StatefulSet", &["spec", "template"]),
    ("DaemonSet", &["spec", "template"]),
    ("ReplicaSet", &["spec", "template"]),
    ("Job", &["spec", "template"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template"]),
];

/// Kind of a KServe model server; judged from its predictor, transformer and explainer.
pub const INFERENCE_SERVICE: &str = "InferenceService";

/// Image references of serving runtimes: an unlabelled workload running one of these in an
/// opted-in namespace is treated as model serving and must belong to an AI system.
const SERVING_IMAGE_HINTS: &[&str] = &[
    "vllm",
    "tritonserver",
    "triton",
    "torchserve",
    "text-generation-inference",
    "tgi",
    "kserve",
    "mlserver",
    "seldon",
    "ollama",
    "tensorflow/serving",
    "tfserving",
    "llama.cpp",
    "llama-cpp",
    "model_server",
    "model-server",
    "sglang",
    "lmdeploy",
    "bentoml",
    "ray-ml",
    "huggingface",
    "onnxruntime-server",
    "localai",
];

/// Whether the engine judges objects of this kind.
pub fn is_workload_kind(kind: &str) -> bool {
    kind == "Pod" || kind == INFERENCE_SERVICE || POD_TEMPLATE_PATHS.iter().any(|(k, _)| *k == kind)
}

/// A container image as deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerImage {
    /// Container name (or the InferenceService component it belongs to).
    pub container: String,
    /// Image reference as written.
    pub image: String,
}

impl ContainerImage {
    /// The digest (`sha256:…`) when the image is pinned by one.
    pub fn digest(&self) -> Option<&str> {
        image_digest(&self.image)
    }

    /// Image repository without tag or digest.
    pub fn repository(&self) -> &str {
        image_repository(&self.image)
    }
}

/// The digest of an image reference, when pinned (`repo@sha256:…`).
pub fn image_digest(image: &str) -> Option<&str> {
    image
        .split_once('@')
        .map(|(_, d)| d)
        .filter(|d| d.starts_with("sha256:"))
}

/// The repository of an image reference, without tag or digest.
pub fn image_repository(image: &str) -> &str {
    let without_digest = image.split_once('@').map_or(image, |(r, _)| r);
    // A tag follows the last ':' only when that ':' comes after the last '/' (a registry
    // port such as `registry:5000/x` is not a tag).
    match (without_digest.rfind(':'), without_digest.rfind('/')) {
        (Some(colon), Some(slash)) if colon > slash => &without_digest[..colon],
        (Some(colon), None) => &without_digest[..colon],
        _ => without_digest,
    }
}

/// A workload as the rules see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// Kubernetes kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name (or generateName prefix when the server has not named it yet).
    pub name: String,
    /// Labels of the object itself.
    pub labels: BTreeMap<String, String>,
    /// Annotations of the object itself.
    pub annotations: BTreeMap<String, String>,
    /// Labels of the pod template (or of the KServe components).
    pub template_labels: BTreeMap<String, String>,
    /// Every container, init container and KServe component image.
    pub images: Vec<ContainerImage>,
    /// Model storage URIs (KServe `storageUri`).
    pub storage_uris: Vec<String>,
    /// The object carries a deletionTimestamp.
    pub being_deleted: bool,
    /// `Kind/name` of the owner reference marked `controller: true`, if any.
    pub controller: Option<(String, String)>,
}

/// Why an object could not be read as a workload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// The object is not a JSON object or lacks `kind`.
    #[error("object has no kind")]
    NoKind,
    /// The kind is not one the engine judges.
    #[error("kind {0} is not a workload kind")]
    NotAWorkload(String),
    /// A field has the wrong type.
    #[error("{path} must be {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
}

fn string_map(
    value: Option<&Value>,
    path: &str,
) -> Result<BTreeMap<String, String>, WorkloadError> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    _ => {
                        return Err(WorkloadError::WrongType {
                            path: format!("{path}.{k}"),
                            expected: "a string",
                        });
                    }
                }
            }
        }
        Some(_) => {
            return Err(WorkloadError::WrongType {
                path: path.into(),
                expected: "a map of strings",
            });
        }
    }
    Ok(out)
}

fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn collect_containers(
    pod_spec: &Value,
    path: &str,
    images: &mut Vec<ContainerImage>,
) -> Result<(), WorkloadError> {
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        match pod_spec.get(list) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, c) in items.iter().enumerate() {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                    match c.get("image") {
                        Some(Value::String(image)) => images.push(ContainerImage {
                            container: name.to_string(),
                            image: image.clone(),
                        }),
                        None | Some(Value::Null) => {}
                        Some(_) => {
                            return Err(WorkloadError::WrongType {
                                path: format!("{path}.{list}[{i}].image"),
                                expected: "a string",
                            });
                        }
                    }
                }
            }
            Some(_) => {
                return Err(WorkloadError::WrongType {
                    path: format!("{path}.{list}"),
                    expected: "a list",
                });
            }
        }
    }
    Ok(())
}

/// Walks a KServe component (predictor, transformer, explainer): its `containers`, and every
/// framework or `model` block with an `image` or `storageUri`.
fn collect_kserve_component(
    component: &Value,
    path: &str,
    workload: &mut Workload,
) -> Result<(), WorkloadError> {
    collect_containers(component, path, &mut workload.images)?;
    workload.template_labels.extend(string_map(
        component.get("labels"),
        &format!("{path}.labels"),
    )?);
    if let Some(Value::Object(fields)) = Some(component) {
        for (key, block) in fields {
            if !block.is_object() {
                continue;
            }
            if let Some(uri) = block.get("storageUri").and_then(Value::as_str) {
                workload.storage_uris.push(uri.to_string());
            }
            if let Some(image) = block.get("image").and_then(Value::as_str) {
                workload.images.push(ContainerImage {
                    container: format!("{path}.{key}"),
                    image: image.into(),
                });
            }
        }
    }
    if let Some(uri) = component.get("storageUri").and_then(Value::as_str) {
        workload.storage_uris.push(uri.to_string());
    }
    Ok(())
}

/// The controlling owner reference (`controller: true`), as (kind, name).
fn controller_of(metadata: &Value) -> Option<(String, String)> {
    metadata
        .get("ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| {
            Some((
                r.get("kind")?.as_str()?.to_string(),
                r.get("name")?.as_str()?.to_string(),
            ))
        })
}

impl Workload {
    /// The workload kind that controls this object, when that kind is judged itself: a Pod
    /// of a ReplicaSet, a ReplicaSet of a Deployment, a Job of a CronJob. Such objects are
    /// judged once, at their controller, not again when the controller creates them (the
    /// controller's service account would otherwise meet the developer's refusal).
    pub fn judged_controller(&self) -> Option<String> {
        let (kind, name) = self.controller.as_ref()?;
        is_workload_kind(kind).then(|| format!("{kind} {name}"))
    }

    /// Reads a workload from a Kubernetes object. `default_namespace` applies when the object
    /// carries none (as `kubectl apply` would do).
    pub fn from_value(object: &Value, default_namespace: &str) -> Result<Self, WorkloadError> {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .ok_or(WorkloadError::NoKind)?;
        if !is_workload_kind(kind) {
            return Err(WorkloadError::NotAWorkload(kind.to_string()));
        }
        let metadata = object.get("metadata").unwrap_or(&Value::Null);
        let text = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let mut workload = Workload {
            kind: kind.to_string(),
            namespace: text("namespace").unwrap_or(default_namespace).to_string(),
            name: text("name")
                .or_else(|| text("generateName"))
                .unwrap_or_default()
                .to_string(),
            labels: string_map(metadata.get("labels"), "metadata.labels")?,
            annotations: string_map(metadata.get("annotations"), "metadata.annotations")?,
            being_deleted: metadata
                .get("deletionTimestamp")
                .is_some_and(|v| !v.is_null()),
            controller: controller_of(metadata),
            ..Default::default()
        };
        if kind == "Pod" {
            workload.template_labels = workload.labels.clone();
            if let Some(spec) = object.get("spec") {
                collect_containers(spec, "spec", &mut workload.images)?;
            }
        } else if kind == INFERENCE_SERVICE {
            for component in ["predictor", "transformer", "explainer"] {
                if let Some(c) = get_path(object, &["spec", component]).filter(|v| !v.is_null()) {
                    collect_kserve_component(c, &format!("spec.{component}"), &mut workload)?;
                }
            }
        } else if let Some((_, path)) = POD_TEMPLATE_PATHS.iter().find(|(k, _)| *k == kind) {
            let joined = path.join(".");
            if let Some(template) = get_path(object, path) {
                workload.template_labels = string_map(
                    get_path(template, &["metadata", "labels"]),
                    &format!("{joined}.metadata.labels"),
                )?;
                if let Some(spec) = template.get("spec") {
                    collect_containers(spec, &format!("{joined}.spec"), &mut workload.images)?;
                }
            }
        }
        Ok(workload)
    }

    /// A label from the object or, failing that, its pod template. `Err` carries both values
    /// when they disagree: the rules cannot know which one the pods will carry.
    pub fn label(&self, key: &str) -> Result<Option<&str>, (String, String)> {
        match (self.labels.get(key), self.template_labels.get(key)) {
            (Some(a), Some(b)) if a != b => Err((a.clone(), b.clone())),
            (Some(a), _) => Ok(Some(a.as_str())),
            (None, Some(b)) => Ok(Some(b.as_str())),
            (None, None) => Ok(None),
        }
    }

    /// Why the workload looks like model serving, when it does.
    pub fn model_serving_hint(&self) -> Option<String> {
        if self.kind == INFERENCE_SERVICE {
            return Some("it is a KServe InferenceService".to_string());
        }
        if let Some(uri) = self.storage_uris.first() {
            return Some(format!("it loads a model from {uri}"));
        }
        for key in [
            crate::resources::MODEL_VERSION_LABEL,
            crate::resources::MODEL_NAME_LABEL,
        ] {
            if self.labels.contains_key(key) || self.template_labels.contains_key(key) {
                return Some(format!("it carries the label {key}"));
            }
        }
        self.images.iter().find_map(|c| {
            let repo = c.repository().to_ascii_lowercase();
            SERVING_IMAGE_HINTS
                .iter()
                .any(|hint| repo.contains(hint))
                .then(|| {
                    format!(
                        "container {} runs the serving image {}",
                        c.container, c.image
                    )
                })
        })
    }
}
