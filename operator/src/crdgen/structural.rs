//! The structural-schema rules the API server enforces on a CRD, checked before it sees one:
//! a schema it would refuse fails the tests (`tests/crds.rs`), not an install.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::KNOWN_FORMATS;

/// Keywords the API server refuses in a CRD schema.
const FORBIDDEN: &[&str] = &[
    "$ref",
    "$schema",
    "definitions",
    "$defs",
    "dependencies",
    "patternProperties",
    "additionalItems",
    "const",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "contentEncoding",
];

/// Finds every violation of the structural-schema rules in a CRD: every node typed (or
/// `x-kubernetes-int-or-string` / `x-kubernetes-preserve-unknown-fields`), no forbidden
/// keywords, `nullable` only beside a type, list-map keys that are required properties,
/// `anyOf`/`oneOf` branches that carry no types of their own.
pub fn structural_violations(crd: &CustomResourceDefinition) -> Vec<String> {
    let mut problems = Vec::new();
    for version in &crd.spec.versions {
        let printer_paths = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| &c.json_path);
        let selectable_paths = version
            .selectable_fields
            .iter()
            .flatten()
            .map(|f| &f.json_path);
        for path in printer_paths.chain(selectable_paths) {
            if !path.starts_with('.') {
                problems.push(format!(
                    "{}: JSON path {path} must start with '.'",
                    crd.spec.names.kind
                ));
            }
        }
        let Some(schema) = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
        else {
            problems.push(format!(
                "{}: version {} has no schema",
                crd.spec.names.kind, version.name
            ));
            continue;
        };
        match serde_json::to_value(schema) {
            Ok(value) => check_node(
                &value,
                &format!("{}.{}", crd.spec.names.kind, version.name),
                false,
                &mut problems,
            ),
            Err(e) => problems.push(e.to_string()),
        }
    }
    problems
}

fn check_node(node: &Value, path: &str, in_junction: bool, problems: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        problems.push(format!("{path}: schema node is not an object"));
        return;
    };
    for key in FORBIDDEN {
        if map.contains_key(*key) {
            problems.push(format!("{path}: keyword {key} is not allowed"));
        }
    }
    if let Some(format) = map.get("format").and_then(Value::as_str)
        && !KNOWN_FORMATS.contains(&format)
    {
        problems.push(format!(
            "{path}: format {format} is unknown to the API server"
        ));
    }
    let typed = map.contains_key("type")
        || map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        || map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if in_junction {
        for key in [
            "type",
            "default",
            "nullable",
            "description",
            "additionalProperties",
        ] {
            if map.contains_key(key) {
                problems.push(format!(
                    "{path}: {key} inside anyOf/oneOf/allOf/not is not allowed"
                ));
            }
        }
    } else if !typed {
        problems.push(format!("{path}: no type"));
    }
    if map.get("type").and_then(Value::as_str) == Some("array")
        && !map.contains_key("items")
        && !in_junction
    {
        problems.push(format!("{path}: array without items"));
    }
    if map.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
        let keys: Vec<&str> = map
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let required: Vec<&str> = map
            .get("items")
            .and_then(|i| i.get("required"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if keys.is_empty() {
            problems.push(format!("{path}: list-type map without list-map-keys"));
        }
        for key in keys {
            if !required.contains(&key) {
                problems.push(format!(
                    "{path}: list-map key {key} is not a required property of the items"
                ));
            }
        }
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            check_node(child, &format!("{path}.{name}"), in_junction, problems);
        }
    }
    if let Some(items) = map.get("items") {
        check_node(items, &format!("{path}[]"), in_junction, problems);
    }
    if let Some(extra) = map.get("additionalProperties").filter(|v| v.is_object()) {
        check_node(extra, &format!("{path}{{}}"), in_junction, problems);
    }
    for junction in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = map.get(junction).and_then(Value::as_array) {
            for (i, b) in branches.iter().enumerate() {
                check_node(b, &format!("{path}.{junction}[{i}]"), true, problems);
            }
        }
    }
    if let Some(not) = map.get("not") {
        check_node(not, &format!("{path}.not"), true, problems);
    }
}
