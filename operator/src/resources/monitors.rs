//! The Prometheus Operator's monitors, reduced to what ties them to AI systems: not ours,
//! so no CRD is generated for them; the cache follows them where they are served.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// `monitoring.coreos.com/v1` ServiceMonitor (only its selector is read).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "ServiceMonitor",
    namespaced,
    schema = "disabled"
)]
pub struct ServiceMonitorSpec {
    /// Which Services it scrapes.
    #[serde(default)]
    pub selector: Option<serde_json::Value>,
}

/// `monitoring.coreos.com/v1` PodMonitor (only its selector is read).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "PodMonitor",
    namespaced,
    schema = "disabled"
)]
pub struct PodMonitorSpec {
    /// Which Pods it scrapes.
    #[serde(default)]
    pub selector: Option<serde_json::Value>,
}
