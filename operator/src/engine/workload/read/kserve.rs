//! KServe components as the rules read them: a component embeds a pod spec's containers,
//! init containers and volumes, may carry a worker spec for multi-node serving, and names
//! models in blocks whose keys are not fixed (`model`, `sklearn`, `pytorch`, ...), so it is
//! read key by key.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::super::labels::{Labels, Text};
use super::{Container, Obj, Spec, Volume};

/// A KServe component (predictor, transformer, explainer): the pod spec fields it embeds
/// (containers, init containers, volumes), its worker spec for multi-node serving, its
/// labels, and every block in it (a framework such as `sklearn`, or `model`) that names an
/// image or a model's storage URI.
#[derive(Default)]
pub(super) struct Component<'a> {
    pub(super) containers: Vec<Obj<Container<'a>>>,
    pub(super) init_containers: Vec<Obj<Container<'a>>>,
    pub(super) volumes: Vec<Obj<Volume<'a>>>,
    pub(super) worker: Option<Box<Spec<'a>>>,
    pub(super) labels: Labels<'a>,
    pub(super) storage_uri: Option<Text<'a>>,
    /// Each block's name, storage URI and image.
    pub(super) blocks: Vec<(Text<'a>, Block<'a>)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Component<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(PhantomData<Component<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for Fields<'a> {
            type Value = Component<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a KServe component")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut component = Component::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    // A key written twice counts with its last value, as in a parsed tree.
                    match key.as_ref() {
                        "containers" => {
                            component.containers =
                                map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        "initContainers" => {
                            component.init_containers =
                                map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        "volumes" => {
                            component.volumes = map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        "workerSpec" => {
                            component.worker = map
                                .next_value::<Option<Obj<Spec<'de>>>>()?
                                .map(|Obj(s)| Box::new(s));
                        }
                        "labels" => {
                            component.labels = map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        "storageUri" => component.storage_uri = map.next_value()?,
                        _ => {
                            let block: Block<'de> = map.next_value()?;
                            component.blocks.retain(|(name, _)| *name != key);
                            if block.storage_uri.is_some()
                                || block.image.is_some()
                                || block.storage_path.is_some()
                            {
                                component.blocks.push((key, block));
                            }
                        }
                    }
                }
                // Blocks in the order of their names, as a parsed tree holds them.
                component.blocks.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(component)
            }
        }
        deserializer.deserialize_map(Fields(PhantomData))
    }
}

/// A field of a KServe component: when it is an object, the storage URI and image it names.
#[derive(Default)]
pub(super) struct Block<'a> {
    pub(super) storage_uri: Option<Text<'a>>,
    pub(super) image: Option<Text<'a>>,
    pub(super) storage_path: Option<Text<'a>>,
}

/// A KServe `storage` spec: a key of the storage configuration and a path within it.
#[derive(Deserialize)]
struct StorageSpec<'a> {
    #[serde(borrow)]
    path: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Block<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyValue<'a>(PhantomData<Block<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for AnyValue<'a> {
            type Value = Block<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut block = Block::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.as_ref() {
                        "storageUri" => block.storage_uri = map.next_value()?,
                        "image" => block.image = map.next_value()?,
                        "storage" => {
                            block.storage_path = map
                                .next_value::<Option<Obj<StorageSpec<'de>>>>()?
                                .and_then(|Obj(s)| s.path);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(block)
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Block::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Block::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Block::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Block::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Block::default())
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Block::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(Block::default())
            }
        }
        deserializer.deserialize_any(AnyValue(PhantomData))
    }
}
