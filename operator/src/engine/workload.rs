//! Recognises model deployments among Kubernetes objects and extracts what the rules need:
//! labels (object and pod template), images with digests, model storage URIs.

use std::borrow::{Borrow, Cow};

use serde::Deserialize;
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

/// A string of an object, borrowed from the object's JSON (or parsed tree) unless it had to
/// be unescaped: the webhook reads one object per admission, and every allocation counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Text<'_> {
    /// The same string, owned.
    pub fn into_owned(self) -> Text<'static> {
        Text(owned(self.0))
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(text: &'a str) -> Self {
        Self(Cow::Borrowed(text))
    }
}

/// The annotations the rules read. A workload keeps only these: the others (kubectl's
/// last-applied configuration among them, often kilobytes of escaped JSON) are checked to be
/// strings, as Kubernetes requires, and not kept.
pub const RULE_ANNOTATIONS: [&str; 2] = [
    crate::resources::BREAK_GLASS_REASON_ANNOTATION,
    crate::resources::BREAK_GLASS_EXPIRES_ANNOTATION,
];

/// Labels or annotations of an object, sorted by key, each key once: of a key written
/// twice the last value counts, as when JSON is read into a map. An object carries a
/// handful, so one list serves where a tree would allocate a node per object and cost more
/// to fill, search and drop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels<'a>(Vec<(Text<'a>, Text<'a>)>);

impl<'a> Labels<'a> {
    /// The pairs in the order written, settled into key order.
    fn settled(mut pairs: Vec<(Text<'a>, Text<'a>)>) -> Self {
        // A stable sort keeps a repeated key's values in written order; the dedup then moves
        // the later value into the place it keeps.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            let repeated = later.0 == kept.0;
            if repeated {
                std::mem::swap(later, kept);
            }
            repeated
        });
        Self(pairs)
    }

    /// Only the pairs whose key the rules read (see [`RULE_ANNOTATIONS`]).
    fn read_by_rules(mut self) -> Self {
        self.0
            .retain(|(key, _)| RULE_ANNOTATIONS.contains(&key.as_ref()));
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Text<'a>> {
        // Most objects carry a few labels: equality tests lengths first and compares bytes
        // only for a key of the same length, where a search in order compares every key met.
        if self.0.len() <= 8 {
            return self
                .0
                .iter()
                .find(|(k, _)| k.as_ref() == key)
                .map(|(_, v)| v);
        }
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The same labels with every string owned.
    pub fn into_owned(self) -> Labels<'static> {
        Labels(
            self.0
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

impl<'a> IntoIterator for Labels<'a> {
    type Item = (Text<'a>, Text<'a>);
    type IntoIter = std::vec::IntoIter<Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> Extend<(Text<'a>, Text<'a>)> for Labels<'a> {
    /// Adds pairs; a key already set takes the new value.
    fn extend<I: IntoIterator<Item = (Text<'a>, Text<'a>)>>(&mut self, pairs: I) {
        let mut all = std::mem::take(&mut self.0);
        all.extend(pairs);
        *self = Self::settled(all);
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Labels<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<Labels<'a>>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Pairs<'a> {
            type Value = Labels<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Labels::settled(pairs))
            }
        }
        deserializer.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

/// The same text, owned.
pub(crate) fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

/// A container image as deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerImage<'a> {
    /// Container name (or the InferenceService component it belongs to).
    pub container: Cow<'a, str>,
    /// Image reference as written.
    pub image: Cow<'a, str>,
}

impl ContainerImage<'_> {
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
    // A plain loop: the '@' comes a few bytes in, where a general search costs more to set up
    // than it saves.
    let at = image.bytes().position(|b| b == b'@')?;
    image
        .get(at + 1..)
        .filter(|digest| digest.starts_with("sha256:"))
}

/// The repository of an image reference, without tag or digest.
pub fn image_repository(image: &str) -> &str {
    // One pass up to the digest: a tag follows the last ':' only when that ':' comes after
    // the last '/' (a registry port such as `registry:5000/x` is not a tag).
    let (mut end, mut colon, mut slash) = (image.len(), None, None);
    for (at, byte) in image.bytes().enumerate() {
        match byte {
            b'@' => {
                end = at;
                break;
            }
            b':' => colon = Some(at),
            b'/' => slash = Some(at),
            _ => {}
        }
    }
    match (colon, slash) {
        (Some(colon), Some(slash)) if colon > slash => &image[..colon],
        (Some(colon), None) => &image[..colon],
        _ => &image[..end],
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
    /// A field has the wrong type.
    #[error("{path} must be {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
}

fn string_map<'a>(value: Option<&'a Value>, path: &str) -> Result<Labels<'a>, WorkloadError> {
    let mut out = Vec::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => out.push((Text::from(k.as_str()), Text::from(s.as_str()))),
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
    Ok(Labels::settled(out))
}

fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn collect_containers<'a>(
    pod_spec: &'a Value,
    path: &str,
    images: &mut Vec<ContainerImage<'a>>,
) -> Result<(), WorkloadError> {
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        match pod_spec.get(list) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, c) in items.iter().enumerate() {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                    match c.get("image") {
                        Some(Value::String(image)) => images.push(ContainerImage {
                            container: Cow::Borrowed(name),
                            image: Cow::Borrowed(image),
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
fn collect_kserve_component<'a>(
    component: &'a Value,
    path: &str,
    workload: &mut Workload<'a>,
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
                workload.storage_uris.push(Cow::Borrowed(uri));
            }
            if let Some(image) = block.get("image").and_then(Value::as_str) {
                workload.images.push(ContainerImage {
                    container: Cow::Owned(format!("{path}.{key}")),
                    image: Cow::Borrowed(image),
                });
            }
        }
    }
    if let Some(uri) = component.get("storageUri").and_then(Value::as_str) {
        workload.storage_uris.push(Cow::Borrowed(uri));
    }
    Ok(())
}

/// The controlling owner reference (`controller: true`), as (kind, name).
fn controller_of(metadata: &Value) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    metadata
        .get("ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| {
            Some((
                Cow::Borrowed(r.get("kind")?.as_str()?),
                Cow::Borrowed(r.get("name")?.as_str()?),
            ))
        })
}

/// The parts of a pod-template workload the rules read, typed, so that reading a review's
/// object skips everything else (managed fields, status, the pod spec's other fields) without
/// building a tree of it. Any surprise in shape makes it give way to the general reader.
mod lean {
    use std::borrow::Cow;

    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{IgnoredAny, MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    /// A struct read only from a JSON object. serde's derived structs also accept an array of
    /// their fields in order, which the tree reader never would (found by the property test).
    pub(super) struct Obj<T>(pub T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct ObjectOnly<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
                type Value = Obj<T>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
                }
            }
            deserializer.deserialize_map(ObjectOnly(PhantomData))
        }
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Object<'a> {
        #[serde(borrow)]
        pub kind: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub metadata: Option<Obj<Metadata<'a>>>,
        #[serde(borrow)]
        pub spec: Option<Obj<Spec<'a>>>,
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Metadata<'a> {
        #[serde(borrow)]
        pub name: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub generate_name: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub namespace: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub labels: Option<super::Labels<'a>>,
        #[serde(borrow)]
        pub annotations: Option<super::Labels<'a>>,
        pub deletion_timestamp: Option<IgnoredAny>,
        #[serde(borrow)]
        pub owner_references: Option<Vec<Obj<OwnerReference<'a>>>>,
    }

    #[derive(Default, Deserialize)]
    pub(super) struct OwnerReference<'a> {
        pub controller: Option<bool>,
        #[serde(borrow)]
        pub kind: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub name: Option<Cow<'a, str>>,
    }

    /// A spec as any of the judged kinds has it: a Pod's (or a pod template's) containers,
    /// a controller's template, a CronJob's job template.
    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Spec<'a> {
        #[serde(borrow)]
        pub template: Option<Obj<Template<'a>>>,
        #[serde(borrow)]
        pub job_template: Option<Obj<JobTemplate<'a>>>,
        #[serde(borrow)]
        pub init_containers: Option<Vec<Obj<Container<'a>>>>,
        #[serde(borrow)]
        pub containers: Option<Vec<Obj<Container<'a>>>>,
        #[serde(borrow)]
        pub ephemeral_containers: Option<Vec<Obj<Container<'a>>>>,
    }

    #[derive(Default, Deserialize)]
    pub(super) struct JobTemplate<'a> {
        #[serde(borrow)]
        pub spec: Option<Box<Obj<Spec<'a>>>>,
    }

    #[derive(Default, Deserialize)]
    pub(super) struct Template<'a> {
        #[serde(borrow)]
        pub metadata: Option<Obj<TemplateMetadata<'a>>>,
        #[serde(borrow)]
        pub spec: Option<Box<Obj<Spec<'a>>>>,
    }

    #[derive(Default, Deserialize)]
    pub(super) struct TemplateMetadata<'a> {
        #[serde(borrow)]
        pub labels: Option<super::Labels<'a>>,
    }

    #[derive(Default, Deserialize)]
    pub(super) struct Container<'a> {
        #[serde(borrow)]
        pub name: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub image: Option<Cow<'a, str>>,
    }
}

/// A workload object as its JSON text reads, read inside a larger document (the webhook's
/// review) in the same pass as the rest of it.
pub struct WorkloadText<'a>(lean::Object<'a>);

/// Reading the lean object with the [`Scanner`](crate::engine::scan::Scanner): the same
/// structs, filled as serde fills them, `None` wherever serde would refuse (a field repeated,
/// of the wrong type, an array where an object belongs) or the scanner is unsure.
mod scanned {
    use std::borrow::Cow;

    use serde::de::IgnoredAny;

    use super::lean::{
        Container, JobTemplate, Metadata, Obj, Object, OwnerReference, Spec, Template,
        TemplateMetadata,
    };
    use super::{Labels, Text};
    use crate::engine::scan::{Scanner, Seen};

    /// A field's value: `None` when the scanner gives way, `Some(None)` for `null`.
    type Field<T> = Option<Option<T>>;

    fn text<'a>(s: &mut Scanner<'a>) -> Field<Cow<'a, str>> {
        s.optional(Scanner::string)
    }

    fn labels<'a>(s: &mut Scanner<'a>) -> Field<Labels<'a>> {
        string_pairs(s, |_| true)
    }

    /// A map of strings; only the values under keys that `kept` takes are read, the others
    /// are only checked to be strings (as the general readers check every value).
    fn string_pairs<'a>(s: &mut Scanner<'a>, kept: fn(&str) -> bool) -> Field<Labels<'a>> {
        s.optional(|s| {
            let mut pairs = Vec::new();
            s.object(|s, key| {
                if kept(key) {
                    pairs.push((Text(Cow::Borrowed(key)), Text(s.string()?)));
                    Some(())
                } else {
                    s.skip_string()
                }
            })?;
            Some(Labels::settled(pairs))
        })
    }

    /// Annotations: only those the rules read are kept.
    fn rule_annotations<'a>(s: &mut Scanner<'a>) -> Field<Labels<'a>> {
        string_pairs(s, |key| super::RULE_ANNOTATIONS.contains(&key))
    }

    /// A field holding an object read field by field into an empty `T`; `null` is none.
    fn record<'a, T: Default>(
        s: &mut Scanner<'a>,
        field: impl FnMut(&mut Scanner<'a>, &mut Seen, &mut T, &str) -> Option<()>,
    ) -> Field<Obj<T>> {
        s.optional(|s| s.fields(T::default(), field).map(Obj))
    }

    /// A field holding a list of objects, each read field by field into an empty `T`.
    fn records<'a, T: Default>(
        s: &mut Scanner<'a>,
        mut field: impl FnMut(&mut Scanner<'a>, &mut Seen, &mut T, &str) -> Option<()>,
    ) -> Field<Vec<Obj<T>>> {
        s.optional(|s| s.list(|s| s.fields(T::default(), &mut field).map(Obj)))
    }

    fn containers<'a>(s: &mut Scanner<'a>) -> Field<Vec<Obj<Container<'a>>>> {
        records(s, |s, seen, c: &mut Container<'a>, key| match key {
            "name" => seen.set(0, &mut c.name, text(s)),
            "image" => seen.set(1, &mut c.image, text(s)),
            _ => s.skip(),
        })
    }

    fn spec<'a>(s: &mut Scanner<'a>) -> Field<Obj<Spec<'a>>> {
        record(s, |s, seen, spec: &mut Spec<'a>, key| match key {
            "template" => seen.set(0, &mut spec.template, template(s)),
            "jobTemplate" => seen.set(1, &mut spec.job_template, job_template(s)),
            "initContainers" => seen.set(2, &mut spec.init_containers, containers(s)),
            "containers" => seen.set(3, &mut spec.containers, containers(s)),
            "ephemeralContainers" => seen.set(4, &mut spec.ephemeral_containers, containers(s)),
            _ => s.skip(),
        })
    }

    fn boxed_spec<'a>(s: &mut Scanner<'a>) -> Field<Box<Obj<Spec<'a>>>> {
        spec(s).map(|spec| spec.map(Box::new))
    }

    fn template<'a>(s: &mut Scanner<'a>) -> Field<Obj<Template<'a>>> {
        record(s, |s, seen, template: &mut Template<'a>, key| match key {
            "metadata" => {
                let metadata = record(s, |s, seen, m: &mut TemplateMetadata<'a>, key| match key {
                    "labels" => seen.set(0, &mut m.labels, labels(s)),
                    _ => s.skip(),
                });
                seen.set(0, &mut template.metadata, metadata)
            }
            "spec" => seen.set(1, &mut template.spec, boxed_spec(s)),
            _ => s.skip(),
        })
    }

    fn job_template<'a>(s: &mut Scanner<'a>) -> Field<Obj<JobTemplate<'a>>> {
        record(s, |s, seen, job: &mut JobTemplate<'a>, key| match key {
            "spec" => seen.set(0, &mut job.spec, boxed_spec(s)),
            _ => s.skip(),
        })
    }

    fn owner_references<'a>(s: &mut Scanner<'a>) -> Field<Vec<Obj<OwnerReference<'a>>>> {
        records(
            s,
            |s, seen, owner: &mut OwnerReference<'a>, key| match key {
                "controller" => seen.set(0, &mut owner.controller, s.optional(Scanner::boolean)),
                "kind" => seen.set(1, &mut owner.kind, text(s)),
                "name" => seen.set(2, &mut owner.name, text(s)),
                _ => s.skip(),
            },
        )
    }

    fn metadata<'a>(s: &mut Scanner<'a>) -> Field<Obj<Metadata<'a>>> {
        record(s, |s, seen, m: &mut Metadata<'a>, key| match key {
            "name" => seen.set(0, &mut m.name, text(s)),
            "generateName" => seen.set(1, &mut m.generate_name, text(s)),
            "namespace" => seen.set(2, &mut m.namespace, text(s)),
            "labels" => seen.set(3, &mut m.labels, labels(s)),
            "annotations" => seen.set(4, &mut m.annotations, rule_annotations(s)),
            "deletionTimestamp" => seen.set(
                5,
                &mut m.deletion_timestamp,
                s.optional(|s| s.skip().map(|()| IgnoredAny)),
            ),
            "ownerReferences" => seen.set(6, &mut m.owner_references, owner_references(s)),
            _ => s.skip(),
        })
    }

    /// The object at the cursor, which must be a JSON object.
    pub(super) fn object<'a>(s: &mut Scanner<'a>) -> Option<Object<'a>> {
        s.fields(Object::default(), |s, seen, object, key| match key {
            "kind" => seen.set(0, &mut object.kind, text(s)),
            "metadata" => seen.set(1, &mut object.metadata, metadata(s)),
            "spec" => seen.set(2, &mut object.spec, spec(s)),
            _ => s.skip(),
        })
    }
}

impl<'a> WorkloadText<'a> {
    /// Reads the object at the scanner's cursor as serde would read it inside the review;
    /// `None` where serde would refuse it or the scanner is unsure.
    pub fn scan(scanner: &mut crate::engine::scan::Scanner<'a>) -> Option<Self> {
        scanned::object(scanner).map(WorkloadText)
    }

    /// The workload, exactly as [`Workload::from_json`] reads the same text; `None` where
    /// that takes the general reader (an InferenceService) or finds no workload.
    pub fn into_workload(self, default_namespace: &str) -> Option<Workload<'a>> {
        let object = self.0;
        if object.kind.as_deref() == Some(INFERENCE_SERVICE) {
            return None;
        }
        Workload::from_lean(object, default_namespace).ok()
    }
}

/// A pod template's labels go to the workload; its containers are returned.
fn template_parts<'a>(
    template: lean::Template<'a>,
    workload: &mut Workload<'a>,
) -> Option<lean::Spec<'a>> {
    workload.template_labels = template
        .metadata
        .and_then(|m| m.0.labels)
        .unwrap_or_default();
    template.spec.map(|s| (*s).0)
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
                .map(|c| ContainerImage {
                    container: owned(c.container),
                    image: owned(c.image),
                })
                .collect(),
            storage_uris: self.storage_uris.into_iter().map(owned).collect(),
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

    /// Reads a workload from a Kubernetes object. `default_namespace` applies when the object
    /// carries none (as `kubectl apply` would do).
    pub fn from_value(object: &'a Value, default_namespace: &str) -> Result<Self, WorkloadError> {
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
            kind: Cow::Borrowed(kind),
            namespace: text("namespace")
                .map_or_else(|| Cow::Owned(default_namespace.to_string()), Cow::Borrowed),
            name: Cow::Borrowed(
                text("name")
                    .or_else(|| text("generateName"))
                    .unwrap_or_default(),
            ),
            labels: string_map(metadata.get("labels"), "metadata.labels")?,
            annotations: string_map(metadata.get("annotations"), "metadata.annotations")?
                .read_by_rules(),
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

    /// Reads a workload from an object's JSON text, as [`Workload::from_value`] would read
    /// it parsed, but without building a tree of the whole object. This is the typed reading
    /// the webhook applies inside the review ([`WorkloadText`]); anything it does not expect
    /// (an InferenceService, a field of the wrong type, a repeated key) is read by
    /// `from_value` instead, and a property test holds both to the same workload.
    pub fn from_json(object: &'a str, default_namespace: &str) -> Result<Self, WorkloadError> {
        match serde_json::from_str::<lean::Obj<lean::Object<'_>>>(object) {
            Ok(lean::Obj(lean)) if lean.kind.as_deref() != Some(INFERENCE_SERVICE) => {
                Self::from_lean(lean, default_namespace)
            }
            _ => {
                let value: Value = serde_json::from_str(object)
                    .map_err(|e| WorkloadError::NotJson(e.to_string()))?;
                Workload::from_value(&value, default_namespace).map(Workload::into_owned)
            }
        }
    }

    fn from_lean(object: lean::Object<'a>, default_namespace: &str) -> Result<Self, WorkloadError> {
        let kind = object.kind.ok_or(WorkloadError::NoKind)?;
        if !is_workload_kind(&kind) {
            return Err(WorkloadError::NotAWorkload(kind.into_owned()));
        }
        let metadata = object.metadata;
        let text = |field: Option<Cow<'a, str>>| field.filter(|s| !s.is_empty());
        let mut workload = Workload {
            kind,
            ..Default::default()
        };
        if let Some(lean::Obj(m)) = metadata {
            workload.namespace = text(m.namespace).unwrap_or_default();
            workload.name = text(m.name)
                .or_else(|| text(m.generate_name))
                .unwrap_or_default();
            workload.labels = m.labels.unwrap_or_default();
            workload.annotations = m.annotations.unwrap_or_default().read_by_rules();
            workload.being_deleted = m.deletion_timestamp.is_some();
            workload.controller = m
                .owner_references
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.0)
                .find(|r| r.controller == Some(true))
                .and_then(|r| Some((r.kind?, r.name?)));
        }
        if workload.namespace.is_empty() {
            workload.namespace = Cow::Owned(default_namespace.to_string());
        }
        let spec = object.spec.map(|s| s.0);
        let containers = match workload.kind.as_ref() {
            "Pod" => {
                workload.template_labels = workload.labels.clone();
                spec
            }
            "CronJob" => spec
                .and_then(|s| s.job_template?.0.spec?.0.template)
                .and_then(|t| template_parts(t.0, &mut workload)),
            _ => spec
                .and_then(|s| s.template)
                .and_then(|t| template_parts(t.0, &mut workload)),
        };
        if let Some(c) = containers {
            let image = |lean::Obj(c): lean::Obj<lean::Container<'a>>| {
                Some(ContainerImage {
                    image: c.image?,
                    container: c.name.unwrap_or_default(),
                })
            };
            for list in [c.init_containers, c.containers, c.ephemeral_containers]
                .into_iter()
                .flatten()
            {
                if workload.images.is_empty() {
                    // Collected in place: the list's allocation becomes the images' (the
                    // usual workload has one list of containers).
                    workload.images = list.into_iter().filter_map(image).collect();
                } else {
                    workload.images.extend(list.into_iter().filter_map(image));
                }
            }
        }
        Ok(workload)
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
