//! The status an AI system should carry: pure, no client.

use jiff::Timestamp;

use crate::engine::Snapshot;
use crate::engine::status::{evaluate_system, to_conditions};
use crate::policy::Policy;
use crate::resources::{AISystem, AISystemStatus, Condition};

/// The status `system` should carry at `now`, and when that changes by itself.
pub fn desired_system_status(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> (AISystemStatus, Option<Timestamp>) {
    let evaluation = evaluate_system(snapshot, system, policy, now);
    let previous = system
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or(&[]);
    let generation = system.metadata.generation;
    let status = AISystemStatus {
        conditions: to_conditions(&evaluation.conditions, previous, generation, now),
        summary: Some(evaluation.summary),
        observed_generation: generation,
    };
    (status, evaluation.next_change)
}

fn without_times(conditions: &[Condition]) -> Vec<(&str, &str, &str, &str, Option<i64>)> {
    conditions
        .iter()
        .map(|c| {
            (
                c.type_.as_str(),
                c.status.as_str(),
                c.reason.as_str(),
                c.message.as_str(),
                c.observed_generation,
            )
        })
        .collect()
}

/// Whether the stored status differs from the desired one in anything but timestamps.
pub fn needs_write(current: Option<&AISystemStatus>, desired: &AISystemStatus) -> bool {
    let Some(current) = current else { return true };
    without_times(&current.conditions) != without_times(&desired.conditions)
        || current.summary != desired.summary
        || current.observed_generation != desired.observed_generation
}
