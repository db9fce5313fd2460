//! Reading a workload: one typed shape of the parts the rules read, filled by serde from an
//! object's JSON text (the webhook, inside the review) or from its parsed tree (the CLI and
//! the reconciler). Everything else in the object (managed fields, status, the pod spec's
//! other fields) is stepped over unread, and strings are borrowed where they need no
//! unescaping. A field the rules read that holds the wrong type is an error naming it: the
//! engine refuses what it cannot check (AIMS-009).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::labels::{Labels, RuleAnnotations, Text};
use super::serving::Signal;
use super::{ContainerImage, INFERENCE_SERVICE, Workload, WorkloadError, is_workload_kind};

mod kserve;

use kserve::Component;

/// A struct read only from a JSON object: serde's derived structs also accept an array of
/// their fields in order, which no Kubernetes object ever is.
struct Obj<T>(T);

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

#[derive(Deserialize)]
struct Object<'a> {
    #[serde(borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    metadata: Option<Obj<Metadata<'a>>>,
    #[serde(borrow)]
    spec: Option<Obj<Spec<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    generate_name: Option<Text<'a>>,
    #[serde(borrow)]
    namespace: Option<Text<'a>>,
    #[serde(borrow)]
    labels: Option<Labels<'a>>,
    #[serde(borrow)]
    annotations: Option<RuleAnnotations<'a>>,
    deletion_timestamp: Option<IgnoredAny>,
    #[serde(borrow)]
    owner_references: Option<Vec<Obj<OwnerReference<'a>>>>,
}

#[derive(Deserialize)]
struct OwnerReference<'a> {
    controller: Option<bool>,
    #[serde(borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
}

/// A spec as any judged kind has it: a Pod's (or a pod template's) containers, a
/// controller's template, a CronJob's job template, an InferenceService's components.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    #[serde(borrow)]
    template: Option<Obj<Template<'a>>>,
    #[serde(borrow)]
    job_template: Option<Obj<JobTemplate<'a>>>,
    #[serde(borrow)]
    init_containers: Option<Vec<Obj<Container<'a>>>>,
    #[serde(borrow)]
    containers: Option<Vec<Obj<Container<'a>>>>,
    #[serde(borrow)]
    ephemeral_containers: Option<Vec<Obj<Container<'a>>>>,
    /// Image volumes mount an OCI artifact (model weights, most often) into the pods.
    #[serde(borrow)]
    volumes: Option<Vec<Obj<Volume<'a>>>>,
    #[serde(borrow)]
    predictor: Option<Component<'a>>,
    #[serde(borrow)]
    transformer: Option<Component<'a>>,
    #[serde(borrow)]
    explainer: Option<Component<'a>>,
}

#[derive(Deserialize)]
struct JobTemplate<'a> {
    #[serde(borrow)]
    spec: Option<Box<Obj<Spec<'a>>>>,
}

#[derive(Deserialize)]
struct Template<'a> {
    #[serde(borrow)]
    metadata: Option<Obj<TemplateMetadata<'a>>>,
    #[serde(borrow)]
    spec: Option<Box<Obj<Spec<'a>>>>,
}

#[derive(Deserialize)]
struct TemplateMetadata<'a> {
    #[serde(borrow)]
    labels: Option<Labels<'a>>,
}

#[derive(Deserialize)]
struct Container<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    image: Option<Text<'a>>,
    ports: Option<Vec<Obj<Port>>>,
    #[serde(borrow)]
    command: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    args: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    resources: Option<Obj<Resources<'a>>>,
    #[serde(borrow)]
    env: Option<Vec<Obj<EnvVar<'a>>>>,
}

#[derive(Deserialize)]
struct EnvVar<'a> {
    #[serde(borrow)]
    value: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Port {
    container_port: Option<i64>,
}

#[derive(Deserialize)]
struct Resources<'a> {
    #[serde(borrow)]
    limits: Option<Keys<'a>>,
    #[serde(borrow)]
    requests: Option<Keys<'a>>,
}

/// The keys of a map whose values the rules never read (resource quantities).
#[derive(Default)]
struct Keys<'a>(Vec<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Keys<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysOnly<'a>(PhantomData<Keys<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for KeysOnly<'a> {
            type Value = Keys<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(KeysOnly(PhantomData))
    }
}

#[derive(Deserialize)]
struct Volume<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    image: Option<Obj<ImageVolume<'a>>>,
}

#[derive(Deserialize)]
struct ImageVolume<'a> {
    #[serde(borrow)]
    reference: Option<Text<'a>>,
}

impl<'a> Workload<'a> {
    /// Reads a workload from an object's JSON text (the webhook's review carries it so).
    /// `default_namespace` applies when the object carries none, as `kubectl apply` does.
    pub fn from_json(object: &'a str, default_namespace: &str) -> Result<Self, WorkloadError> {
        match serde_json::from_str::<Obj<Object<'a>>>(object) {
            Ok(Obj(shape)) => Self::from_shape(shape, default_namespace),
            // Text the shape refuses is read as a tree, which names the field at fault, and
            // reads a key written twice by its last value, as the API server does.
            Err(_) => {
                let tree: Value = serde_json::from_str(object)
                    .map_err(|e| WorkloadError::NotJson(e.to_string()))?;
                Workload::from_value(&tree, default_namespace).map(Workload::into_owned)
            }
        }
    }

    /// Reads a workload from a parsed Kubernetes object (the CLI's manifests, the
    /// reconciler's cache). `default_namespace` applies when the object carries none.
    pub fn from_value(object: &'a Value, default_namespace: &str) -> Result<Self, WorkloadError> {
        match serde_path_to_error::deserialize::<_, Obj<Object<'a>>>(object) {
            Ok(Obj(shape)) => Self::from_shape(shape, default_namespace),
            Err(error) => Err(match object.get("kind").and_then(Value::as_str) {
                None => WorkloadError::NoKind,
                Some(kind) if !is_workload_kind(kind) => {
                    WorkloadError::NotAWorkload(kind.to_string())
                }
                Some(_) => WorkloadError::Unreadable {
                    path: error.path().to_string(),
                    problem: error.into_inner().to_string(),
                },
            }),
        }
    }

    fn from_shape(object: Object<'a>, default_namespace: &str) -> Result<Self, WorkloadError> {
        let kind = object.kind.ok_or(WorkloadError::NoKind)?.0;
        if !is_workload_kind(&kind) {
            return Err(WorkloadError::NotAWorkload(kind.into_owned()));
        }
        let mut workload = Workload {
            kind,
            ..Default::default()
        };
        if let Some(Obj(metadata)) = object.metadata {
            workload.read_metadata(metadata);
        }
        if workload.namespace.is_empty() {
            workload.namespace = Cow::Owned(default_namespace.to_string());
        }
        let spec = object.spec.map(|Obj(spec)| spec);
        let pod_spec = match workload.kind.as_ref() {
            "Pod" => {
                workload.template_labels = workload.labels.clone();
                spec
            }
            INFERENCE_SERVICE => {
                if let Some(spec) = spec {
                    let components = [
                        ("predictor", spec.predictor),
                        ("transformer", spec.transformer),
                        ("explainer", spec.explainer),
                    ];
                    for (name, component) in components {
                        workload.read_component(name, component.unwrap_or_default());
                    }
                }
                None
            }
            "CronJob" => spec
                .and_then(|s| s.job_template?.0.spec?.0.template)
                .and_then(|Obj(template)| workload.read_template(template)),
            _ => spec
                .and_then(|s| s.template)
                .and_then(|Obj(template)| workload.read_template(template)),
        };
        if let Some(pod_spec) = pod_spec {
            workload.read_pod_spec(pod_spec);
        }
        Ok(workload)
    }

    fn read_pod_spec(&mut self, pod_spec: Spec<'a>) {
        for list in [
            pod_spec.init_containers,
            pod_spec.containers,
            pod_spec.ephemeral_containers,
        ] {
            self.read_containers(list.unwrap_or_default());
        }
        self.read_volumes(pod_spec.volumes.unwrap_or_default());
    }

    fn read_volumes(&mut self, volumes: Vec<Obj<Volume<'a>>>) {
        let images = volumes.into_iter().filter_map(|Obj(v)| {
            let reference = v.image?.0.reference?;
            Some(ContainerImage::new(
                Cow::Owned(format!("volume {}", v.name.unwrap_or_default().0)),
                reference.0,
            ))
        });
        self.images.extend(images);
    }

    fn read_metadata(&mut self, metadata: Metadata<'a>) {
        let text = |field: Option<Text<'a>>| field.map(|t| t.0).filter(|s| !s.is_empty());
        self.namespace = text(metadata.namespace).unwrap_or_default();
        self.name = text(metadata.name)
            .or_else(|| text(metadata.generate_name))
            .unwrap_or_default();
        self.labels = metadata.labels.unwrap_or_default();
        self.annotations = metadata.annotations.unwrap_or_default().0;
        self.being_deleted = metadata.deletion_timestamp.is_some();
        self.controller = metadata
            .owner_references
            .unwrap_or_default()
            .into_iter()
            .map(|Obj(owner)| owner)
            .find(|owner| owner.controller == Some(true))
            .and_then(|owner| Some((owner.kind?.0, owner.name?.0)));
    }

    /// Takes a pod template's labels; returns its pod spec.
    fn read_template(&mut self, template: Template<'a>) -> Option<Spec<'a>> {
        self.template_labels = template
            .metadata
            .and_then(|Obj(m)| m.labels)
            .unwrap_or_default();
        template.spec.map(|spec| spec.0)
    }

    fn read_containers(&mut self, containers: Vec<Obj<Container<'a>>>) {
        for Obj(c) in containers {
            let name = c.name.unwrap_or_default().0;
            for Obj(port) in c.ports.unwrap_or_default() {
                if let Some(number) = port.container_port {
                    self.signals.push(Signal::Port(name.clone(), number));
                }
            }
            let words = c.command.into_iter().chain(c.args).flatten();
            for word in words {
                self.signals.push(Signal::Argument(name.clone(), word.0));
            }
            for Obj(var) in c.env.unwrap_or_default() {
                if let Some(value) = var.value {
                    self.signals
                        .push(Signal::Environment(name.clone(), value.0));
                }
            }
            if let Some(Obj(resources)) = c.resources {
                let names = resources.limits.into_iter().chain(resources.requests);
                for key in names.flat_map(|k| k.0) {
                    self.signals.push(Signal::Resource(name.clone(), key.0));
                }
            }
            if let Some(image) = c.image {
                self.images.push(ContainerImage::new(name, image.0));
            }
        }
    }

    fn read_component(&mut self, name: &str, component: Component<'a>) {
        self.read_containers(component.init_containers);
        self.read_containers(component.containers);
        self.read_volumes(component.volumes);
        if let Some(worker) = component.worker {
            self.read_pod_spec(*worker);
        }
        self.template_labels.extend(component.labels);
        for (block_name, block) in component.blocks {
            if let Some(uri) = block.storage_uri {
                self.storage_uris.push(uri.0);
            }
            if let Some(path) = block.storage_path {
                self.signals.push(Signal::StoragePath(
                    Cow::Owned(format!("spec.{name}.{block_name}")),
                    path.0,
                ));
            }
            if let Some(image) = block.image {
                self.images.push(ContainerImage::new(
                    Cow::Owned(format!("spec.{name}.{block_name}")),
                    image.0,
                ));
            }
        }
        if let Some(uri) = component.storage_uri {
            self.storage_uris.push(uri.0);
        }
    }
}
