//! One document's object: a workload kept to be judged, an aims.io object checked as the API
//! server and the webhook would check it (served version, name, one definition each, the
//! resource's own validation) and added to the snapshot, or anything else counted and ignored.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{FoundWorkload, Loaded, Location};
use crate::engine::workload::is_workload_kind;
use crate::resources::{
    AIIncident, AIManagementSystem, AISystem, API_VERSION, ControlBinding, GROUP, ImpactAssessment,
    InternalAudit, ManagementReview, Nonconformity,
};

impl Loaded {
    /// Reads one document's object: a workload, an aims.io object, or something ignored.
    pub(super) fn read_value(&mut self, mut value: Value, location: &Location) {
        let Some(object) = value.as_object_mut() else {
            if !value.is_null() {
                self.error(
                    location.clone(),
                    "not a Kubernetes object: expected a mapping with apiVersion and kind".into(),
                );
            }
            return;
        };
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(kind) = object
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return self.error(
                location.clone(),
                "not a Kubernetes object: it has no kind".into(),
            );
        };
        if kind == "List"
            || kind.ends_with("List") && object.get("items").is_some_and(Value::is_array)
        {
            if let Some(Value::Array(items)) = object.remove("items") {
                for item in items {
                    self.read_value(item, location);
                }
            }
            return;
        }
        // Put the default namespace in place so every shell sees the same object.
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(meta) = metadata.as_object_mut()
            && kind != "Namespace"
            && meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            meta.insert(
                "namespace".into(),
                Value::String(self.default_namespace.clone()),
            );
        }
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();

        let aims = api_version.split('/').next() == Some(GROUP);
        if aims || kind == "Namespace" || is_workload_kind(&kind) {
            let refused = crate::strict::problems(&kind, &api_version, &value);
            if !refused.is_empty() {
                return self.error(
                    location.clone(),
                    format!(
                        "{kind} {}: the API server would refuse it: {}",
                        if kind == "Namespace" {
                            name.clone()
                        } else {
                            format!("{namespace}/{name}")
                        },
                        refused.join("; ")
                    ),
                );
            }
        }
        if aims {
            return self.read_aims(value, &api_version, &kind, &namespace, &name, location);
        }
        if kind == "Namespace" && api_version == "v1" {
            let labels = value
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            self.snapshot.add_namespace(&name, labels);
            return;
        }
        if kind == "ServiceMonitor" || kind == "PodMonitor" {
            if let Some((ns, monitor)) = crate::engine::snapshot::Monitor::from_value(&kind, &value)
            {
                let ns = match value.pointer("/metadata/namespace") {
                    Some(_) => ns,
                    None => self.default_namespace.clone(),
                };
                self.snapshot.add_monitor(&ns, monitor);
            }
            return;
        }
        if is_workload_kind(&kind) {
            self.workloads.push(FoundWorkload {
                location: location.clone(),
                object: value,
            });
        } else {
            self.ignored += 1;
        }
    }

    pub(super) fn read_aims(
        &mut self,
        value: Value,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        location: &Location,
    ) {
        if api_version != API_VERSION {
            return self.error(
                location.clone(),
                format!("{kind} {name}: apiVersion {api_version} is not served; use {API_VERSION}"),
            );
        }
        if name.is_empty() {
            return self.error(location.clone(), format!("{kind} has no metadata.name"));
        }
        if !self
            .seen
            .insert((kind.to_string(), namespace.to_string(), name.to_string()))
        {
            return self.error(
                location.clone(),
                format!("duplicate {kind} {namespace}/{name}: an earlier document already defines it; this one is ignored"),
            );
        }
        let result = match kind {
            "AISystem" => typed::<AISystem>(value).map(|s| self.snapshot.add_system(s)),
            "ImpactAssessment" => typed::<ImpactAssessment>(value).and_then(|a| {
                crate::resources::validate_assessment(&a.spec)?;
                self.snapshot.add_assessment(a);
                Ok(())
            }),
            "ControlBinding" => typed::<ControlBinding>(value).and_then(|b| {
                crate::resources::validate_binding(&b.spec)?;
                self.snapshot.add_binding(b);
                Ok(())
            }),
            "AIManagementSystem" => typed::<AIManagementSystem>(value).and_then(|aims| {
                crate::resources::validate_organisation(&aims)?;
                self.snapshot.set_organisation(aims);
                Ok(())
            }),
            "Nonconformity" => typed::<Nonconformity>(value).and_then(|n| {
                crate::resources::validate_nonconformity(&n.spec)?;
                self.snapshot.add_nonconformity(n);
                Ok(())
            }),
            "AIIncident" => typed::<AIIncident>(value).and_then(|i| {
                crate::resources::validate_incident(&i.spec)?;
                self.snapshot.add_incident(i);
                Ok(())
            }),
            "InternalAudit" => typed::<InternalAudit>(value).and_then(|a| {
                crate::resources::validate_audit(&a.spec)?;
                self.snapshot.add_audit(a);
                Ok(())
            }),
            "ManagementReview" => typed::<ManagementReview>(value).and_then(|r| {
                crate::resources::validate_review(&r.spec)?;
                self.snapshot.add_review(r);
                Ok(())
            }),
            other => Err(format!(
                "unknown kind {other} in {GROUP}; expected AISystem, ImpactAssessment, ControlBinding, AIManagementSystem, Nonconformity, AIIncident, InternalAudit or ManagementReview"
            )),
        };
        match result {
            Ok(()) => self.aims_objects += 1,
            Err(message) => self.error(
                location.clone(),
                format!("{kind} {namespace}/{name}: {message}"),
            ),
        }
    }
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}
