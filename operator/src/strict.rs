//! What the API server refuses before any webhook sees an object, checked offline so that
//! `check` refuses it too: fields the kind's schema does not have (kubectl and the API
//! server validate fields strictly by default), malformed label and annotation keys and
//! label values, values of the wrong type. Without this, `check` would judge a manifest
//! that can never reach the cluster, and a misspelt field would pass silently.

use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why the API server would refuse `object` (of `kind`), one line each; empty when it would
/// take it.
pub fn problems(kind: &str, api_version: &str, object: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, metadata) in metadata_blocks(object) {
        metadata_problems(&path, metadata, &mut problems);
    }
    if api_version.split('/').next() == Some(crate::resources::GROUP) {
        if let Some(schema) = aims_schema(kind) {
            unknown_by_schema(schema, object, "", &mut problems);
        }
    } else {
        let typed = match (api_version, kind) {
            ("apps/v1", "Deployment") => {
                round_trip::<k8s_openapi::api::apps::v1::Deployment>(object)
            }
            ("apps/v1", "StatefulSet") => {
                round_trip::<k8s_openapi::api::apps::v1::StatefulSet>(object)
            }
            ("apps/v1", "DaemonSet") => round_trip::<k8s_openapi::api::apps::v1::DaemonSet>(object),
            ("apps/v1", "ReplicaSet") => {
                round_trip::<k8s_openapi::api::apps::v1::ReplicaSet>(object)
            }
            ("batch/v1", "Job") => round_trip::<k8s_openapi::api::batch::v1::Job>(object),
            ("batch/v1", "CronJob") => round_trip::<k8s_openapi::api::batch::v1::CronJob>(object),
            ("v1", "Pod") => round_trip::<k8s_openapi::api::core::v1::Pod>(object),
            ("v1", "Namespace") => round_trip::<k8s_openapi::api::core::v1::Namespace>(object),
            _ => Ok(None),
        };
        match typed {
            Ok(Some(read_back)) => unknown_by_reading(object, &read_back, "", &mut problems),
            Ok(None) => {}
            Err(error) => problems.push(error),
        }
    }
    problems
}

/// The object as the kind's Kubernetes type reads it (`None` for kinds without one here),
/// or why it cannot be read.
fn round_trip<T: DeserializeOwned + Serialize>(object: &Value) -> Result<Option<Value>, String> {
    let typed: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Fields of `input` that its typed reading dropped: the type has no such field.
fn unknown_by_reading(input: &Value, read: &Value, path: &str, problems: &mut Vec<String>) {
    match (input, read) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let here = join(path, key);
                match kept.get(key) {
                    Some(kept) => unknown_by_reading(value, kept, &here, problems),
                    None if value.is_null() => {}
                    None => problems.push(format!("unknown field \"{here}\"")),
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) if given.len() == kept.len() => {
            for (i, (value, kept)) in given.iter().zip(kept).enumerate() {
                unknown_by_reading(value, kept, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// The schemas of the AIMS kinds, as the generated CRDs give them to the API server.
fn aims_schema(kind: &str) -> Option<&'static Value> {
    static SCHEMAS: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        crate::crdgen::crds()
            .into_iter()
            .filter_map(|(_, crd)| {
                let schema = crd
                    .spec
                    .versions
                    .first()?
                    .schema
                    .as_ref()?
                    .open_api_v3_schema
                    .as_ref()?;
                Some((
                    crd.spec.names.kind.clone(),
                    serde_json::to_value(schema).ok()?,
                ))
            })
            .collect()
    });
    schemas.iter().find(|(k, _)| k == kind).map(|(_, s)| s)
}

/// Fields of `value` that `schema` does not declare, as the API server's structural schema
/// finds them (metadata is checked on its own, as the API server does).
fn unknown_by_schema(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, child) in fields {
                let here = join(path, key);
                if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(child_schema), _) => {
                        unknown_by_schema(child_schema, child, &here, problems)
                    }
                    (None, Some(extra)) if extra.is_object() => {
                        unknown_by_schema(extra, child, &here, problems)
                    }
                    (None, Some(Value::Bool(true))) => {}
                    (None, _) if properties.is_none() => {}
                    (None, _) => problems.push(format!("unknown field \"{here}\"")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    unknown_by_schema(item_schema, item, &format!("{path}[{i}]"), problems);
                }
            }
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every object metadata in a workload: its own and its pod templates'.
fn metadata_blocks(object: &Value) -> Vec<(String, &Map<String, Value>)> {
    [
        "/metadata",
        "/spec/template/metadata",
        "/spec/jobTemplate/metadata",
        "/spec/jobTemplate/spec/template/metadata",
    ]
    .iter()
    .filter_map(|pointer| {
        let block = object.pointer(pointer)?.as_object()?;
        Some((pointer.trim_start_matches('/').replace('/', "."), block))
    })
    .collect()
}

fn metadata_problems(path: &str, metadata: &Map<String, Value>, problems: &mut Vec<String>) {
    for (field, is_label) in [("labels", true), ("annotations", false)] {
        let Some(entries) = metadata.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in entries {
            if let Err(why) = qualified_name(key) {
                problems.push(format!("{path}.{field}: invalid key \"{key}\": {why}"));
            }
            match value.as_str() {
                None if !value.is_null() => problems.push(format!(
                    "{path}.{field}.{key}: must be a string, not {value}"
                )),
                Some(text) if is_label => {
                    if let Err(why) = label_value(text) {
                        problems.push(format!(
                            "{path}.{field}.{key}: invalid value \"{text}\": {why}"
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

/// A name part of a label key, or a label value: at most 63 characters, alphanumeric at
/// both ends, `-`, `_` and `.` between (Kubernetes' rule).
fn name_part(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    if text.is_empty() || bytes.len() > 63 {
        return Err("must be 1 to 63 characters".into());
    }
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ends_ok =
        bytes[0].is_ascii_alphanumeric() && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err("must consist of ASCII letters, digits, '-', '_' or '.', and begin and end with a letter or digit".into())
    }
}

/// A label or annotation key: `[prefix/]name`, the prefix a lower-case DNS subdomain.
fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let labels_ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                    && b[0] != b'-'
                    && b[b.len() - 1] != b'-'
            });
        if !labels_ok {
            return Err(format!(
                "the prefix \"{prefix}\" must be a lower-case DNS subdomain (letters, digits, '-' and '.')"
            ));
        }
    }
    name_part(name)
}

fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        Ok(())
    } else {
        name_part(value)
    }
}
