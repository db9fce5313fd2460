//! Reading the operator's requests out of the API server's audit log.

use serde_json::Value;

/// The user the operator authenticates as (the chart's ServiceAccount).
pub const OPERATOR: &str = "system:serviceaccount:aims-system:aims-operator";

/// The operator's requests among `events` whose verb is one of `verbs`, Lease requests aside
/// (renewing is how it keeps leading).
pub fn operator_requests<'a>(events: &'a [Value], verbs: &[&str]) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            e["user"]["username"] == OPERATOR
                && e["verb"].as_str().is_some_and(|v| verbs.contains(&v))
                && e["objectRef"]["resource"] != "leases"
        })
        .collect()
}

/// The operator's writes among `events`.
pub fn operator_writes(events: &[Value]) -> Vec<&Value> {
    operator_requests(events, &["create", "update", "patch", "delete"])
}
