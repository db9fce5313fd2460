//! Opening nonconformity records: the system's reconcile asks the engine what it detects and
//! creates a record for each condition that has none yet. Records are never deleted or
//! reopened by a spec write here: their status (the records' own reconcile) says when a
//! condition recurs, and a record outlives its system, since an audit asks about the past.

use kube::Api;
use kube::api::PostParams;
use serde_json::Value;

use super::{ApiRequest, FIELD_MANAGER, ReconcileContext, ReconcileError};
use crate::resources::Nonconformity;

/// Creates each record in `records` (manifests the engine built) in `ns`. One created by
/// someone else meanwhile (the cache had not seen it yet) is no error.
pub(super) async fn open(
    ctx: &ReconcileContext,
    ns: &str,
    records: Vec<Value>,
) -> Result<(), ReconcileError> {
    let api = Api::<Nonconformity>::namespaced(ctx.client.clone(), ns);
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PostParams::default()
    };
    for manifest in records {
        let name = manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let record: Nonconformity = match serde_json::from_value(manifest) {
            Ok(record) => record,
            Err(error) => {
                // The engine built it: a failure here is a defect, reported and skipped.
                tracing::error!(%error, %ns, %name, "nonconformity record not built");
                continue;
            }
        };
        match api.create(&params, &record).await {
            Ok(_) => {
                tracing::warn!(%ns, %name, description = %record.spec.description, "nonconformity opened");
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(source) => {
                return Err(ReconcileError::api(
                    ApiRequest::Create,
                    "Nonconformity",
                    ns,
                    &name,
                )(source));
            }
        }
    }
    Ok(())
}
