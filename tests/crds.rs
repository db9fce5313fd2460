//! The committed CRD YAML matches the types, and a real API server would accept it.

use aims_operator::crdgen::{crds, structural_violations, to_yaml};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

#[test]
fn committed_crds_match_the_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    for (file, crd) in crds() {
        let committed =
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("crds/{file}: {e}"));
        assert_eq!(
            committed,
            to_yaml(&crd).expect("yaml"),
            "crds/{file} is stale: run `cargo run -q -p aims-operator -- crds --output-dir crds`"
        );
    }
}

#[test]
fn schemas_are_structural() {
    for (file, crd) in crds() {
        assert_eq!(structural_violations(&crd), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn the_structural_check_catches_what_an_api_server_refuses() {
    let (_, crd) = crds().remove(0);
    let mut value = serde_json::to_value(&crd).expect("json");
    let spec = &mut value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"];
    spec["untyped"] = serde_json::json!({ "description": "no type" });
    spec["reference"] = serde_json::json!({ "type": "object", "$ref": "#/definitions/x" });
    let broken: CustomResourceDefinition = serde_json::from_value(value).expect("crd");
    let problems = structural_violations(&broken);
    assert!(
        problems
            .iter()
            .any(|p| p.ends_with("spec.untyped: no type")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("keyword $ref is not allowed")),
        "{problems:?}"
    );
}

fn undocumented(node: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let child_path = format!("{path}.{name}");
            if child
                .get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(child_path.clone());
            }
            undocumented(child, &child_path, out);
        }
    }
    if let Some(items) = node.get("items") {
        undocumented(items, path, out);
    }
}

#[test]
fn every_field_has_kubectl_explain_text() {
    for (file, crd) in crds() {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("json");
        let mut missing = Vec::new();
        for part in ["spec", "status"] {
            undocumented(
                &schema["openAPIV3Schema"]["properties"][part],
                part,
                &mut missing,
            );
        }
        assert_eq!(missing, Vec::<String>::new(), "{file}");
    }
}

#[test]
fn crds_have_printer_columns_short_names_and_status_subresource() {
    let all = crds();
    let names: Vec<(&str, Vec<String>)> = all
        .iter()
        .map(|(_, c)| {
            (
                c.spec.names.kind.as_str(),
                c.spec.names.short_names.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(names[0], ("AISystem", vec!["aisys".to_string()]));
    let system = &all[0].1.spec.versions[0];
    let columns: Vec<&str> = system
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Owner",
            "Risk",
            "Stage",
            "Assessment",
            "Monitored",
            "Compliant",
            "Age"
        ]
    );
    for (file, crd) in &all {
        if matches!(
            crd.spec.names.kind.as_str(),
            "AIManagementSystem" | "InternalAudit" | "ManagementReview"
        ) {
            // The organisation's, not a namespace's; records people write, on which nothing
            // keeps status.
            assert_eq!(crd.spec.scope, "Cluster");
            assert!(crd.spec.versions[0].subresources.is_none(), "{file}");
            continue;
        }
        assert!(
            crd.spec.versions[0]
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{file}"
        );
        assert_eq!(crd.spec.scope, "Namespaced");
    }
}

/// The API server refuses what the engine refuses: the CRD's rule on organisation-wide
/// controls lists exactly the catalog's organisational controls.
#[test]
fn the_organisation_wide_control_rule_lists_the_catalog_organisational_controls() {
    let (_, aims) = crds().remove(3);
    let schema = serde_json::to_value(&aims.spec.versions[0].schema).expect("json");
    let rule = schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["controls"]
        ["x-kubernetes-validations"][0]["rule"]
        .as_str()
        .expect("a CEL rule")
        .to_string();
    let listed: Vec<&str> = rule
        .split('\'')
        .filter(|part| part.starts_with("A."))
        .collect();
    assert_eq!(listed, aims_operator::catalog::ORGANISATIONAL);
}

#[test]
fn control_ids_are_restricted_to_the_catalog_in_the_schema() {
    let (_, binding) = crds().remove(2);
    let schema = serde_json::to_value(&binding.spec.versions[0].schema).expect("json");
    let ids = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["controls"]["items"]["properties"]
        ["id"]["enum"];
    assert_eq!(ids.as_array().map(Vec::len), Some(38));
}

/// `kubectl explain aisystem.spec.enforcement` describes the field, not its type: kube keeps
/// an optional enum's own doc, so crdgen copies each field's doc back.
#[test]
fn optional_fields_keep_their_own_doc_for_kubectl_explain() {
    let (_, crd) = crds().remove(0);
    let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
    let spec = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"];
    let enforcement = spec["enforcement"]["description"].as_str().unwrap();
    assert!(
        enforcement.starts_with("Overrides the namespace's enforcement mode"),
        "{enforcement}"
    );
    assert_eq!(
        spec["models"]["items"]["properties"]["origin"]["description"],
        "Whether the model was built in-house or obtained from a third party."
    );
}
