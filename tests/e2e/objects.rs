//! The objects the journeys apply, as a team would write them.

use aims_operator::resources::{API_VERSION, MODEL_VERSION_LABEL, SYSTEM_LABEL};
use serde_json::{Value, json};

/// A registered minimal-risk system `name` with owner, monitoring and model `scorer 1.0.0`.
pub fn system(ns: &str, name: &str) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "AISystem", "metadata": {"name": name, "namespace": ns},
        "spec": {"displayName": "Scoring", "riskTier": "Minimal", "lifecycleStage": "Operation",
            "owner": {"name": "Dana", "contact": "dana@example.com", "team": "risk"},
            "models": [{"name": "scorer", "version": "1.0.0"}],
            "monitoring": {"metrics": ["auc"], "driftSignals": ["psi"], "alertRoute": "risk-oncall", "eventLog": "loki"}}})
}

/// A Deployment of `system`'s model at `version`, one replica (Pods stay Pending: there is
/// no scheduler).
pub fn deployment(ns: &str, name: &str, system: &str, version: &str) -> Value {
    let labels = json!({SYSTEM_LABEL: system, MODEL_VERSION_LABEL: version, "app": name});
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "server", "image": "registry.k8s.io/pause:3.10"}]}}}})
}

/// An assessment of `system` covering scorer 1.0.x, unapproved.
pub fn assessment(ns: &str, name: &str, system: &str, valid_until: Option<&str>) -> Value {
    let mut spec = json!({"systemRef": system, "models": [{"name": "scorer", "version": "1.0.x"}],
        "impacts": [{"area": "Individuals", "direction": "Negative", "description": "unfair refusals"}],
        "risks": [{"id": "R1", "description": "bias", "likelihood": 2, "severity": 3, "treatment": "Mitigate"}]});
    if let Some(until) = valid_until {
        spec["validUntil"] = json!(until);
    }
    json!({"apiVersion": API_VERSION, "kind": "ImpactAssessment",
        "metadata": {"name": name, "namespace": ns}, "spec": spec})
}
