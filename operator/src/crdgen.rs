//! Generates the CRD YAML in `crds/` from the Rust types, and checks that the schemas are
//! structural so a real API server accepts them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

mod structural;
pub use structural::structural_violations;

use crate::resources::{
    AIIncident, AIIncidentSpec, AIIncidentStatus, AIManagementSystem, AIManagementSystemSpec,
    AISystem, AISystemSpec, AISystemStatus, ControlBinding, ControlBindingSpec,
    ControlBindingStatus, ImpactAssessment, ImpactAssessmentSpec, ImpactAssessmentStatus,
    InternalAudit, InternalAuditSpec, ManagementReview, ManagementReviewSpec, Nonconformity,
    NonconformitySpec, NonconformityStatus,
};

/// The CRDs with the file name each is written to.
pub fn crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        (
            "aisystems.aims.io.yaml",
            field_docs(
                known_formats(AISystem::crd()),
                schemars::schema_for!(AISystemSpec),
                schemars::schema_for!(AISystemStatus),
            ),
        ),
        (
            "impactassessments.aims.io.yaml",
            field_docs(
                known_formats(ImpactAssessment::crd()),
                schemars::schema_for!(ImpactAssessmentSpec),
                schemars::schema_for!(ImpactAssessmentStatus),
            ),
        ),
        (
            "controlbindings.aims.io.yaml",
            field_docs(
                known_formats(ControlBinding::crd()),
                schemars::schema_for!(ControlBindingSpec),
                schemars::schema_for!(ControlBindingStatus),
            ),
        ),
        (
            "aimanagementsystems.aims.io.yaml",
            field_docs(
                known_formats(AIManagementSystem::crd()),
                schemars::schema_for!(AIManagementSystemSpec),
                schemars::Schema::default(),
            ),
        ),
        (
            "nonconformities.aims.io.yaml",
            field_docs(
                known_formats(Nonconformity::crd()),
                schemars::schema_for!(NonconformitySpec),
                schemars::schema_for!(NonconformityStatus),
            ),
        ),
        (
            "aiincidents.aims.io.yaml",
            field_docs(
                known_formats(AIIncident::crd()),
                schemars::schema_for!(AIIncidentSpec),
                schemars::schema_for!(AIIncidentStatus),
            ),
        ),
        (
            "internalaudits.aims.io.yaml",
            field_docs(
                known_formats(InternalAudit::crd()),
                schemars::schema_for!(InternalAuditSpec),
                schemars::Schema::default(),
            ),
        ),
        (
            "managementreviews.aims.io.yaml",
            field_docs(
                known_formats(ManagementReview::crd()),
                schemars::schema_for!(ManagementReviewSpec),
                schemars::Schema::default(),
            ),
        ),
    ]
}

/// `crd` with each field's own doc comment as its description. kube's rewrite of an
/// optional enum or struct (`Option<T>`) keeps `T`'s doc instead of the field's, so
/// `kubectl explain` would describe the type rather than the field; the descriptions are
/// copied back from the schemas schemars generated for the spec and status types.
fn field_docs(
    crd: CustomResourceDefinition,
    spec: schemars::Schema,
    status: schemars::Schema,
) -> CustomResourceDefinition {
    each_schema(crd, |tree| {
        for (field, raw) in [("spec", &spec), ("status", &status)] {
            let raw = raw.as_value();
            if let Some(node) = tree.pointer_mut(&format!("/properties/{field}")) {
                copy_field_docs(node, raw, raw);
            }
        }
    })
}

/// The schema a raw node stands for: through `$ref` and an optional's `anyOf`.
fn resolve<'a>(node: &'a Value, root: &'a Value) -> &'a Value {
    if let Some(target) = node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        return resolve(target, root);
    }
    if let Some(branch) = node
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|branches| {
            branches
                .iter()
                .find(|b| b.get("type") != Some(&Value::from("null")))
        })
    {
        return resolve(branch, root);
    }
    node
}

fn copy_field_docs(node: &mut Value, raw: &Value, root: &Value) {
    let raw = resolve(raw, root);
    if let (Some(properties), Some(raw_properties)) = (
        node.get_mut("properties").and_then(Value::as_object_mut),
        raw.get("properties").and_then(Value::as_object),
    ) {
        for (name, child) in properties {
            let Some(raw_child) = raw_properties.get(name) else {
                continue;
            };
            if let Some(doc) = raw_child.get("description") {
                child["description"] = doc.clone();
            }
            copy_field_docs(child, raw_child, root);
        }
    }
    if let (Some(items), Some(raw_items)) = (node.get_mut("items"), raw.get("items")) {
        copy_field_docs(items, raw_items, root);
    }
}

/// Integer formats schemars writes for Rust's unsigned and small types, which the API server
/// does not know (it warns "unrecognized format" at every apply), with the range each stands
/// for; Kubernetes' own are int32 and int64.
const INTEGER_FORMATS: [(&str, i64, i64); 5] = [
    ("uint8", 0, u8::MAX as i64),
    ("uint16", 0, u16::MAX as i64),
    ("uint32", 0, u32::MAX as i64),
    ("uint64", 0, i64::MAX),
    ("uint", 0, i64::MAX),
];

/// Formats kube-apiserver validates (kube-openapi's registry) or accepts for numbers.
const KNOWN_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "password",
    "date",
    "date-time",
    "datetime",
    "duration",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "bsonobjectid",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
];

/// `crd` with every integer format the API server does not know replaced by the bounds it
/// stands for (bounds the type already sets are kept).
fn known_formats(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    each_schema(crd, replace_integer_formats)
}

/// `crd` with `change` applied to the OpenAPI schema of every version, as a JSON tree.
fn each_schema(
    mut crd: CustomResourceDefinition,
    mut change: impl FnMut(&mut Value),
) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let Ok(mut tree) = serde_json::to_value(&*schema) else {
            continue;
        };
        change(&mut tree);
        if let Ok(changed) = serde_json::from_value(tree) {
            *schema = changed;
        }
    }
    crd
}

fn replace_integer_formats(node: &mut Value) {
    match node {
        Value::Object(map) => {
            let format = map.get("format").and_then(Value::as_str);
            if let Some((_, min, max)) = INTEGER_FORMATS.iter().find(|(f, ..)| Some(*f) == format)
                && map.get("type").and_then(Value::as_str) == Some("integer")
            {
                map.remove("format");
                map.entry("minimum").or_insert((*min).into());
                map.entry("maximum").or_insert((*max).into());
            }
            map.values_mut().for_each(replace_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(replace_integer_formats),
        _ => {}
    }
}

/// YAML of one CRD, with a header saying it is generated.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, String> {
    let body = serde_saphyr::to_string(crd).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Generated by `aims-operator crds --output-dir crds`; do not edit.\n{body}"
    ))
}
