//! What the reconciler keeps of a stored status. At 10,000 AI systems the statuses of the
//! systems, assessments and bindings the operator holds took 47 MiB as Rust values, more
//! than the register itself, and the reconciler reads only two things in them: whether the
//! status it works out differs from the stored one in anything but timestamps, and the
//! timestamps to carry over. A [`KeptStatus`] is those two things: a fingerprint of the
//! untimed content and each timestamp under a hash of what it dates.
//!
//! The cache keeps less still of the statuses it takes off the register's objects: the
//! fingerprint alone ([`KeptStatus::untimed`]). Whether to write needs nothing more, and most
//! reconciles write nothing; one that does reads the stored status back first for its
//! timestamps. The 30,000 timestamp lists, each its own allocation made while a first
//! start's status writes pass through, were 2–3 MiB of the operator's peak.

use std::hash::Hasher;

use jiff::Timestamp;
use serde::Serialize;

use crate::resources::{
    AIIncidentStatus, AISystemStatus, Condition, ControlBindingStatus, ImpactAssessmentStatus,
    NonconformityStatus,
};

/// A stored status as the reconciler needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeptStatus {
    fingerprint: u64,
    /// `None` where only the fingerprint is kept.
    times: Option<Box<[(u64, Timestamp)]>>,
}

impl KeptStatus {
    /// What the reconciler keeps of `status`.
    pub fn of<S: StatusContent>(status: &S) -> Self {
        Self {
            fingerprint: status.fingerprint(),
            times: Some(status.times().into_boxed_slice()),
        }
    }

    /// A stored status known by its fingerprint only ([`StatusContent::fingerprint`]): enough
    /// to tell whether to write, not what to write.
    pub fn untimed(fingerprint: u64) -> Self {
        Self {
            fingerprint,
            times: None,
        }
    }

    /// Whether the timestamps are kept; without them, a write reads the stored status back
    /// first.
    pub fn has_times(&self) -> bool {
        self.times.is_some()
    }

    /// The time the stored status gave what `key` names ([`condition_key`],
    /// [`nonconformity_key`], [`control_key`]); `None` too where no time is kept.
    pub fn time(&self, key: u64) -> Option<Timestamp> {
        self.times
            .as_deref()?
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, t)| *t)
    }

    /// Whether `desired` differs from the stored status in anything but timestamps.
    pub fn differs_from<S: StatusContent>(&self, desired: &S) -> bool {
        self.fingerprint != desired.fingerprint()
    }
}

/// A status as content: what is compared, and the timestamps that date its parts.
pub trait StatusContent {
    /// The untimed content, each part in order (serialised, then hashed).
    fn untimed(&self) -> impl Serialize;
    /// Each timestamp under the hash of what it dates.
    fn times(&self) -> Vec<(u64, Timestamp)> {
        Vec::new()
    }
    /// A hash of the untimed content: two statuses with equal content have equal
    /// fingerprints, and unequal ones differ but for a chance of 2^-64.
    fn fingerprint(&self) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        // Plain values only: serialising cannot fail; if it ever did, the content would
        // hash as empty and the status be written, never wrongly skipped, after a restart.
        let _ = serde_json::to_writer(HashWriter(&mut hasher), &self.untimed());
        hasher.finish()
    }
}

// The register's kinds hold their status boxed (a register object without one then keeps
// 8 bytes for it instead of the whole struct).
impl<S: StatusContent> StatusContent for Box<S> {
    fn untimed(&self) -> impl Serialize {
        (**self).untimed()
    }
    fn times(&self) -> Vec<(u64, Timestamp)> {
        (**self).times()
    }
    fn fingerprint(&self) -> u64 {
        (**self).fingerprint()
    }
}

struct HashWriter<'h>(&'h mut std::hash::DefaultHasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn key(parts: &[&str]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    for part in parts {
        hasher.write(part.as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.finish()
}

/// The key of a condition's `lastTransitionTime`: its type and status.
pub fn condition_key(type_: &str, status: &str) -> u64 {
    key(&["condition", type_, status])
}

/// The key of a listed nonconformity's `since`: its workload and rules.
pub fn nonconformity_key(workload: &str, rules: &str) -> u64 {
    key(&["nonconformity", workload, rules])
}

/// The key of a control result's `checkedAt`: its control, state and message.
pub fn control_key(id: &str, state: &str, message: &str) -> u64 {
    key(&["control", id, state, message])
}

type Untimed<'a> = (&'a str, &'a str, &'a str, &'a str, Option<i64>);

fn untimed_conditions(conditions: &[Condition]) -> Vec<Untimed<'_>> {
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

fn condition_times(conditions: &[Condition]) -> impl Iterator<Item = (u64, Timestamp)> + '_ {
    conditions
        .iter()
        .map(|c| (condition_key(&c.type_, &c.status), c.last_transition_time))
}

impl StatusContent for AISystemStatus {
    fn untimed(&self) -> impl Serialize {
        let listed: Vec<(&str, &str, &str)> = self
            .nonconformities
            .iter()
            .map(|n| (n.workload.as_str(), n.rules.as_str(), n.message.as_str()))
            .collect();
        (
            untimed_conditions(&self.conditions),
            &self.summary,
            self.observed_generation,
            listed,
            self.open_nonconformities,
        )
    }
    fn times(&self) -> Vec<(u64, Timestamp)> {
        condition_times(&self.conditions)
            .chain(
                self.nonconformities
                    .iter()
                    .map(|n| (nonconformity_key(&n.workload, &n.rules), n.since)),
            )
            .collect()
    }
}

impl StatusContent for ImpactAssessmentStatus {
    fn untimed(&self) -> impl Serialize {
        (
            untimed_conditions(&self.conditions),
            self.phase,
            self.expires_at,
            &self.content_hash,
            self.observed_generation,
        )
    }
    fn times(&self) -> Vec<(u64, Timestamp)> {
        condition_times(&self.conditions).collect()
    }
}

impl StatusContent for ControlBindingStatus {
    fn untimed(&self) -> impl Serialize {
        let results: Vec<(&str, crate::resources::ControlState, &str)> = self
            .controls
            .iter()
            .map(|r| (r.id.as_str(), r.state, r.message.as_str()))
            .collect();
        (
            untimed_conditions(&self.conditions),
            results,
            &self.summary,
            self.observed_generation,
        )
    }
    fn times(&self) -> Vec<(u64, Timestamp)> {
        condition_times(&self.conditions)
            .chain(self.controls.iter().map(|r| {
                (
                    control_key(&r.id, r.state.as_str(), &r.message),
                    r.checked_at,
                )
            }))
            .collect()
    }
}

impl StatusContent for NonconformityStatus {
    fn untimed(&self) -> impl Serialize {
        (
            untimed_conditions(&self.conditions),
            self.phase,
            self.condition_present,
            self.occurrences,
            &self.history,
            self.observed_generation,
        )
    }
}

impl StatusContent for AIIncidentStatus {
    fn untimed(&self) -> impl Serialize {
        (
            untimed_conditions(&self.conditions),
            self.phase,
            self.reporting_deadline,
            &self.reporting_rule,
            self.time_to_detect_seconds,
            self.time_to_resolve_seconds,
            self.observed_generation,
        )
    }
}
