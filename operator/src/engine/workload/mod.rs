//! Recognises model deployments among Kubernetes objects and extracts what the rules need:
//! labels (object and pod template), images with digests, model storage URIs. One reader
//! ([`read`]) fills a [`Workload`] from an object's text or its parsed tree alike.

mod labels;
mod read;
pub mod serving;

use std::borrow::Cow;
use std::sync::OnceLock;

use super::artifact::ImageRef;

pub(crate) use labels::owned;
pub use labels::{Labels, RULE_ANNOTATIONS, Text};

/// Kinds the engine judges that run pods from a template (a CronJob's sits in its job
/// template).
pub const POD_TEMPLATE_KINDS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// Kind of a KServe model server; judged from its predictor, transformer and explainer.
pub const INFERENCE_SERVICE: &str = "InferenceService";

/// Whether the engine judges objects of this kind.
pub fn is_workload_kind(kind: &str) -> bool {
    kind == "Pod" || kind == INFERENCE_SERVICE || POD_TEMPLATE_KINDS.contains(&kind)
}

/// A container image as deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerImage<'a> {
    /// Container name (or the InferenceService component it belongs to).
    pub container: Cow<'a, str>,
    /// Image reference as written.
    pub image: Cow<'a, str>,
    /// The reference as read, once: a decision asks for it several times.
    read: OnceLock<Option<Box<ImageRef>>>,
}

impl<'a> ContainerImage<'a> {
    /// The image `image` of `container`.
    pub fn new(container: Cow<'a, str>, image: Cow<'a, str>) -> Self {
        Self {
            container,
            image,
            read: OnceLock::new(),
        }
    }

    /// The image reference, read; `None` when the text is not one (it then counts as not
    /// pinned and as no registered artifact).
    pub fn reference(&self) -> Option<&ImageRef> {
        self.read
            .get_or_init(|| ImageRef::parse(&self.image).map(Box::new))
            .as_deref()
    }

    /// The digest (`sha256:…`) when the image is pinned by one.
    pub fn digest(&self) -> Option<&str> {
        self.reference()?.digest.as_deref()
    }
}

/// A workload as the rules see it, its strings borrowed from the object it was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload<'a> {
    /// Kubernetes kind, e.g. `Deployment`.
    pub kind: Cow<'a, str>,
    /// Namespace.
    pub namespace: Cow<'a, str>,
    /// Name (or generateName prefix when the server has not named it yet).
    pub name: Cow<'a, str>,
    /// Labels of the object itself.
    pub labels: Labels<'a>,
    /// Annotations of the object itself that the rules read ([`RULE_ANNOTATIONS`]); rules
    /// read them through [`Workload::annotation`].
    pub annotations: Labels<'a>,
    /// Labels of the pod template (or of the KServe components).
    pub template_labels: Labels<'a>,
    /// Every container, init container and KServe component image.
    pub images: Vec<ContainerImage<'a>>,
    /// Model storage URIs (KServe `storageUri`).
    pub storage_uris: Vec<Cow<'a, str>>,
    /// Ports, accelerators and arguments of its containers, for [`serving::ModelServing`]
    /// (not kept in the cluster cache).
    pub signals: Vec<serving::Signal<'a>>,
    /// The object carries a deletionTimestamp.
    pub being_deleted: bool,
    /// `Kind/name` of the owner reference marked `controller: true`, if any.
    pub controller: Option<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Why an object could not be read as a workload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// The object is not a JSON object or lacks `kind`.
    #[error("object has no kind")]
    NoKind,
    /// The object is not JSON at all (only [`Workload::from_json`] meets text).
    #[error("object is not JSON: {0}")]
    NotJson(String),
    /// The kind is not one the engine judges.
    #[error("kind {0} is not a workload kind")]
    NotAWorkload(String),
    /// A field the rules read cannot be read (the wrong type, most often).
    #[error("{path}: {problem}")]
    Unreadable {
        /// Where, e.g. `spec.template.spec.containers[0].image`.
        path: String,
        /// What is wrong there, in serde's words.
        problem: String,
    },
}

impl<'a> Workload<'a> {
    /// The same workload with every string owned, to be kept beyond the object it was read
    /// from.
    pub fn into_owned(self) -> Workload<'static> {
        Workload {
            kind: owned(self.kind),
            namespace: owned(self.namespace),
            name: owned(self.name),
            labels: self.labels.into_owned(),
            annotations: self.annotations.into_owned(),
            template_labels: self.template_labels.into_owned(),
            images: self
                .images
                .into_iter()
                .map(|c| ContainerImage::new(owned(c.container), owned(c.image)))
                .collect(),
            storage_uris: self.storage_uris.into_iter().map(owned).collect(),
            signals: self
                .signals
                .into_iter()
                .map(serving::Signal::into_owned)
                .collect(),
            being_deleted: self.being_deleted,
            controller: self
                .controller
                .map(|(kind, name)| (owned(kind), owned(name))),
        }
    }

    /// The workload kind that controls this object, when that kind is judged itself: a Pod
    /// of a ReplicaSet, a ReplicaSet of a Deployment, a Job of a CronJob. Such objects are
    /// judged once, at their controller, not again when the controller creates them (the
    /// controller's service account would otherwise meet the developer's refusal).
    pub fn judged_controller(&self) -> Option<String> {
        let (kind, name) = self.controller.as_ref()?;
        is_workload_kind(kind).then(|| format!("{kind} {name}"))
    }

    /// A label from the object or, failing that, its pod template. `Err` carries both values
    /// when they disagree: the rules cannot know which one the pods will carry.
    pub fn label(&self, key: &str) -> Result<Option<&str>, (String, String)> {
        match (self.labels.get(key), self.template_labels.get(key)) {
            (Some(a), Some(b)) if a != b => Err((a.to_string(), b.to_string())),
            (Some(a), _) => Ok(Some(a.as_ref())),
            (None, Some(b)) => Ok(Some(b.as_ref())),
            (None, None) => Ok(None),
        }
    }

    /// An annotation of the object itself. Only those in [`RULE_ANNOTATIONS`] are kept when
    /// a workload is read, so a rule reading any other would never see it: debug builds, and
    /// so the test suite, stop at such a read.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        debug_assert!(
            RULE_ANNOTATIONS.contains(&key),
            "annotation {key} is read by a rule but not kept when workloads are read: add it to RULE_ANNOTATIONS"
        );
        self.annotations.get(key).map(|value| value.as_ref())
    }
}
