//! What a decision needs from a system's register entry whatever the workload: its owner,
//! stage, tier and monitoring rules, the states of its required controls, which of its
//! assessments are approved. A register of 10,000 systems does not fit in a processor's
//! caches, so working these out for every admission read dozens of lines from memory; they
//! are worked out once and remembered in the entry until something they depend on changes.
//!
//! They depend on three things besides the entry: the rest of the snapshot (every change to
//! an AIMS object or a monitor counts, see `Snapshot::facts_generation`), the policy (facts
//! are remembered for one policy), and time — but time only at the instants listed by
//! [`lapses`]: approvals expire, exclusions end, evidence falls due. Between two of those
//! instants nothing the rules compare with the clock changes, so facts worked out at `now`
//! hold until the first of them after `now`.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use smallvec::SmallVec;

use super::Snapshot;
use super::rules::Finding;
use crate::policy::Policy;
use crate::resources::EnforcementMode;

/// Workload-independent facts about one registered system at one moment.
#[derive(Debug)]
pub(crate) struct SystemFacts {
    /// The snapshot's change count they were worked out at.
    generation: u64,
    /// When they were worked out: they are not known to hold before.
    from: Timestamp,
    /// The first instant after `from` at which something lapses by itself.
    until: Option<Timestamp>,
    /// The mode the AISystem chooses, if it chooses one.
    pub enforcement: Option<EnforcementMode>,
    /// The weakest mode an approved relaxation lets it choose.
    pub approved_enforcement: Option<EnforcementMode>,
    /// Whether the system's images must be pinned by digest.
    pub require_digest: bool,
    /// Whether each of the entry's assessments (in their order) is approved and current.
    /// Inline for up to eight: one more allocation per system would count at 10,000.
    approved: SmallVec<[bool; 8]>,
    /// Findings about the register entry itself (owner, stage, tier, monitoring).
    pub system_findings: Vec<Finding>,
    /// Findings about the controls the system's risk tier requires.
    pub control_findings: Vec<Finding>,
}

impl SystemFacts {
    /// Facts worked out at `now`, holding until the first lapse after it.
    pub(crate) fn new(
        now: Timestamp,
        lapses: impl Iterator<Item = Timestamp>,
        (enforcement, approved_enforcement): (Option<EnforcementMode>, Option<EnforcementMode>),
        require_digest: bool,
    ) -> Self {
        Self {
            generation: 0,
            from: now,
            until: lapses.filter(|t| *t > now).min(),
            enforcement,
            approved_enforcement,
            require_digest,
            approved: SmallVec::new(),
            system_findings: Vec::new(),
            control_findings: Vec::new(),
        }
    }

    /// Records which assessments are approved, in the entry's order.
    pub(crate) fn record_approvals(&mut self, approved: impl Iterator<Item = bool>) {
        self.approved = approved.collect();
    }

    /// Whether the entry's assessment at `index` is approved and current; `None` past the
    /// ones recorded.
    pub(crate) fn approved(&self, index: usize) -> Option<bool> {
        self.approved.get(index).copied()
    }

    fn hold_for(&self, generation: u64, now: Timestamp) -> bool {
        self.generation == generation && self.from <= now && self.until.is_none_or(|u| now < u)
    }
}

/// Where an entry keeps its facts. A copy of a snapshot starts without them.
#[derive(Default)]
pub(crate) struct FactsCell(Mutex<Option<Arc<SystemFacts>>>);

impl FactsCell {
    /// The remembered facts when they hold for `generation` and `now`; otherwise those
    /// `work_out` gives, remembered in their place.
    pub(crate) fn get_or_work_out(
        &self,
        generation: u64,
        now: Timestamp,
        work_out: impl FnOnce() -> SystemFacts,
    ) -> Arc<SystemFacts> {
        // A decision that panicked while holding the lock left the slot as it was (the new
        // facts are stored only once complete), so a poisoned lock is still usable.
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(facts) = slot.as_ref()
            && facts.hold_for(generation, now)
        {
            return facts.clone();
        }
        let facts = Arc::new(SystemFacts {
            generation,
            ..work_out()
        });
        *slot = Some(facts.clone());
        facts
    }
}

impl Clone for FactsCell {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for FactsCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactsCell")
    }
}

/// Every instant at which something about system `name` in `namespace` lapses by itself: an
/// approval expires, an exclusion ends, evidence or the register entry's review falls due.
/// These are the only instants the rules compare the clock with.
pub(crate) fn lapses<'s>(
    snapshot: &'s Snapshot,
    namespace: &'s str,
    name: &'s str,
    policy: &'s Policy,
) -> impl Iterator<Item = Timestamp> + 's {
    let expiries = snapshot
        .assessments_for(namespace, name)
        .iter()
        .filter_map(move |a| {
            // When an approval ends does not depend on the instant asked about.
            let epoch = Timestamp::UNIX_EPOCH;
            super::assessment::assessment_phase(a, &a.content_hash(), None, policy, epoch).1
        });
    let binding_dates = snapshot.bindings_for(namespace, name).flat_map(|b| {
        b.spec.controls.iter().flat_map(|c| {
            let until = c.exclusion.as_ref().and_then(|e| e.until);
            until
                .into_iter()
                .chain(c.evidence.iter().filter_map(|e| e.next_review))
        })
    });
    // When a review falls due does not depend on the instant asked about either (an entry
    // whose registration time is unknown is never due, so the earliest instant is as good).
    let review = snapshot
        .system(namespace, name)
        .and_then(|s| super::review::review_lapse(s, Timestamp::UNIX_EPOCH));
    expiries.chain(binding_dates).chain(review)
}
