//! What makes a workload look like model serving when it carries no `aims.io/system` label
//! and runs no registered artifact: the policy's `modelServing` signals (serving images,
//! ports, accelerators, model arguments), with defaults for the common runtimes. An
//! unlabelled workload in an opted-in namespace that shows one is refused until it belongs to
//! an AI system; one that shows none is reported as not judged, with the reason.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{INFERENCE_SERVICE, Workload};
use crate::resources::{MODEL_NAME_LABEL, MODEL_VERSION_LABEL};

/// Something a container shows besides its image, kept while a workload is judged (not in the
/// cluster cache: only unlabelled workloads are judged by it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal<'a> {
    /// A container port.
    Port(Cow<'a, str>, i64),
    /// An extended resource requested or limited (`nvidia.com/gpu`).
    Resource(Cow<'a, str>, Cow<'a, str>),
    /// A command or argument word.
    Argument(Cow<'a, str>, Cow<'a, str>),
    /// An environment variable's value.
    Environment(Cow<'a, str>, Cow<'a, str>),
    /// A KServe component's `storage.path`: a model inside the storage its key names.
    StoragePath(Cow<'a, str>, Cow<'a, str>),
}

impl Signal<'_> {
    /// The same signal, owned.
    pub fn into_owned(self) -> Signal<'static> {
        use super::owned;
        match self {
            Self::Port(c, p) => Signal::Port(owned(c), p),
            Self::Resource(c, r) => Signal::Resource(owned(c), owned(r)),
            Self::Argument(c, a) => Signal::Argument(owned(c), owned(a)),
            Self::Environment(c, v) => Signal::Environment(owned(c), owned(v)),
            Self::StoragePath(c, p) => Signal::StoragePath(owned(c), owned(p)),
        }
    }

    /// The model a word or value names, when it names one: a URI (`s3://...`), alone or as
    /// the value of a `--flag=`, or `NAME=...` style text after the last `=`.
    pub fn named_model(&self) -> Option<&str> {
        let text = match self {
            Self::Argument(_, text) | Self::Environment(_, text) => text,
            Self::StoragePath(_, path) => return Some(path.as_ref()).filter(|p| !p.is_empty()),
            Self::Port(..) | Self::Resource(..) => return None,
        };
        let value = text.rsplit_once('=').map_or(text.as_ref(), |(_, v)| v);
        (!value.is_empty() && !value.starts_with('-')).then_some(value)
    }
}

/// What looks like model serving (policy `modelServing`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ModelServing {
    /// Words of serving runtimes' image repositories (`vllm`, `tritonserver`, ...), matched
    /// case-insensitively anywhere in the repository.
    pub images: Vec<String>,
    /// Container ports that serving runtimes listen on and little else does.
    pub ports: Vec<i64>,
    /// Extended resources that mark an accelerator workload (`nvidia.com/gpu`, ...).
    pub resources: Vec<String>,
    /// Command-line flags that name a model (`--model`, `--model-id`, ...), alone or as
    /// `--flag=value`.
    pub arguments: Vec<String>,
}

impl Default for ModelServing {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        Self {
            images: words(&[
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
            ]),
            // Triton gRPC, TensorFlow Serving gRPC and REST, Ollama: 8000 and 8080 are left
            // out, too many web servers use them.
            ports: vec![8001, 8500, 8501, 11434],
            resources: words(&[
                "nvidia.com/gpu",
                "amd.com/gpu",
                "gpu.intel.com/i915",
                "gpu.intel.com/xe",
                "habana.ai/gaudi",
                "aws.amazon.com/neuron",
                "aws.amazon.com/neuroncore",
                "google.com/tpu",
            ]),
            arguments: words(&[
                "--model",
                "--model-id",
                "--model_id",
                "--model-path",
                "--model_path",
                "--model-name",
                "--model_name_or_path",
                "--model-repository",
                "--model_base_path",
                "--model-store",
                "--served-model-name",
            ]),
        }
    }
}

impl ModelServing {
    /// Why `workload` looks like model serving, when it does.
    pub fn hint(&self, workload: &Workload<'_>) -> Option<String> {
        if workload.kind == INFERENCE_SERVICE {
            return Some("it is a KServe InferenceService".to_string());
        }
        if let Some(uri) = workload.storage_uris.first() {
            return Some(format!("it loads a model from {uri}"));
        }
        for key in [MODEL_VERSION_LABEL, MODEL_NAME_LABEL] {
            if workload.labels.contains_key(key) || workload.template_labels.contains_key(key) {
                return Some(format!("it carries the label {key}"));
            }
        }
        let image = workload.images.iter().find_map(|c| {
            let repository = c
                .reference()
                .map_or_else(|| c.image.to_ascii_lowercase(), |r| r.name.clone());
            self.images
                .iter()
                .any(|word| repository.contains(&word.to_ascii_lowercase()))
                .then(|| {
                    format!(
                        "container {} runs the serving image {}",
                        c.container, c.image
                    )
                })
        });
        image.or_else(|| workload.signals.iter().find_map(|s| self.signal(s)))
    }

    fn signal(&self, signal: &Signal<'_>) -> Option<String> {
        match signal {
            Signal::Port(container, port) => self.ports.contains(port).then(|| {
                format!("container {container} listens on port {port}, a model-serving port")
            }),
            Signal::Resource(container, name) => self
                .resources
                .iter()
                .any(|r| r == name)
                .then(|| format!("container {container} requests the accelerator {name}")),
            Signal::Argument(container, word) => self
                .arguments
                .iter()
                .find(|flag| {
                    word == flag.as_str()
                        || word
                            .strip_prefix(flag.as_str())
                            .is_some_and(|rest| rest.starts_with('='))
                })
                .map(|flag| format!("container {container} names a model with {flag}")),
            Signal::Environment(..) | Signal::StoragePath(..) => None,
        }
    }
}
