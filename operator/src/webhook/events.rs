//! Break-glass uses as Kubernetes Events on the workload, so `kubectl describe` and every
//! event exporter show who bypassed which rules, why and until when.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use super::{BreakGlassUse, EventSink};

/// Publishes Events through the API server, off the admission path.
pub struct KubeEvents {
    recorder: Recorder,
}

impl KubeEvents {
    /// An event sink reporting as `aims-operator` from `instance` (the pod name).
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: "aims-operator".into(),
            instance,
        };
        Self {
            recorder: Recorder::new(client, reporter),
        }
    }
}

fn api_version(kind: &str) -> &'static str {
    match kind {
        "Pod" => "v1",
        "Job" | "CronJob" => "batch/v1",
        "InferenceService" => "serving.kserve.io/v1beta1",
        _ => "apps/v1",
    }
}

impl EventSink for KubeEvents {
    fn break_glass(&self, used: BreakGlassUse) {
        super::LogEvents.break_glass(used.clone());
        let recorder = self.recorder.clone();
        tokio::spawn(async move {
            let reference = ObjectReference {
                api_version: Some(api_version(&used.kind).to_string()),
                kind: Some(used.kind.clone()),
                namespace: Some(used.namespace.clone()),
                name: Some(used.name.clone()),
                ..Default::default()
            };
            let event = Event {
                type_: EventType::Warning,
                reason: "BreakGlass".into(),
                note: Some(format!(
                    "{} admitted it until {} although it fails {}: {}. It stays an open nonconformity until \
                     the break-glass annotations are removed.",
                    used.by, used.expires, used.rules, used.reason
                )),
                action: "Admit".into(),
                secondary: None,
            };
            if let Err(error) = recorder.publish(&event, &reference).await {
                tracing::warn!(%error, ns = %used.namespace, name = %used.name, "break-glass event not recorded");
            }
        });
    }
}
