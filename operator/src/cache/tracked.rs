//! What the cache tracks beside the register for each kind the reconciler keeps status on:
//! what the reconciler reads of each object's status, and the queue of the objects to
//! reconcile. The objects themselves are held once, in the register.
//!
//! The register holds those kinds without their status ([`super::Feed::keep_status`]), and
//! here only the fingerprint the reconciler compares with (see [`KeptStatus::untimed`]): the
//! statuses of 10,000 systems, assessments and bindings were 47 MiB.
//!
//! Each is kept under a hash of its object's namespace and name rather than the name itself:
//! one allocation fewer per object, made while the 30,000 status writes of a first start pass
//! through (allocations that outlive the short-lived ones around them are what keeps the
//! allocator's pages). The hash is keyed at random per process, so no name can be chosen to
//! collide with another; by chance two of 10,000 objects of a kind collide about once in
//! 10^11 starts, and the one would then be judged against the other's status: written again,
//! its timestamps perhaps the other's.

use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use kube::Resource;
use kube::runtime::watcher::Event;

use crate::reconciler::kept::KeptStatus;
use crate::reconciler::queue::{Key, WorkQueue, key};

/// Each status's fingerprint, under the hash of its object's namespace and name.
type KeptByObject = std::collections::HashMap<u64, u64, foldhash::fast::RandomState>;

/// The key of an object: `namespace/name`.
pub(crate) fn object_key<K: Resource>(object: &K) -> Key {
    let meta = object.meta();
    key(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// What the reconciler reads of one kind beside the register.
pub struct Tracked<K> {
    /// The fingerprints of the statuses taken off the held objects.
    kept: Mutex<KeptByObject>,
    /// The key of the hash each kept status is found by.
    hash_key: std::hash::RandomState,
    /// The objects of the kind to reconcile, triggered by the cache's changes.
    pub queue: WorkQueue,
    kind: PhantomData<fn() -> K>,
}

impl<K> Default for Tracked<K> {
    fn default() -> Self {
        Self {
            kept: Mutex::new(KeptByObject::default()),
            hash_key: std::hash::RandomState::new(),
            queue: WorkQueue::default(),
            kind: PhantomData,
        }
    }
}

impl<K: Resource> Tracked<K> {
    fn kept_statuses(&self) -> std::sync::MutexGuard<'_, KeptByObject> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the status kept of `object` is found by.
    fn kept_key(&self, object: &K) -> u64 {
        let meta = object.meta();
        self.hash_key
            .hash_one((meta.namespace.as_deref(), meta.name.as_deref()))
    }

    /// What is kept of the status taken off `object` (its fingerprint), if it had one.
    pub fn kept(&self, object: &K) -> Option<KeptStatus> {
        self.kept_statuses()
            .get(&self.kept_key(object))
            .map(|fingerprint| KeptStatus::untimed(*fingerprint))
    }

    /// Takes the status off the object `event` brings, keeping the fingerprint `keep` returns,
    /// before the register holds the object. Kept before the object is held, so a reconcile
    /// that the held object triggers finds it.
    pub fn keep_status(&self, event: &mut Event<K>, keep: impl Fn(&mut K) -> Option<u64>) {
        let mut kept = self.kept_statuses();
        match event {
            Event::Apply(object) | Event::InitApply(object) => match keep(object) {
                Some(status) => {
                    kept.insert(self.kept_key(object), status);
                }
                None => {
                    kept.remove(&self.kept_key(object));
                }
            },
            Event::Delete(object) => {
                kept.remove(&self.kept_key(object));
            }
            Event::Init | Event::InitDone => {}
        }
    }

    /// After a relist of `listed`: forgets what was kept of objects deleted while the watch
    /// was down, and returns the keys of the listed objects when a controller will
    /// reconcile them (none otherwise).
    pub fn relisted(&self, listed: &[std::sync::Arc<K>]) -> Vec<Key> {
        let listed_keys: std::collections::HashSet<u64> =
            listed.iter().map(|object| self.kept_key(object)).collect();
        self.kept_statuses()
            .retain(|key, _| listed_keys.contains(key));
        if self.queue.is_open() {
            listed.iter().map(|object| object_key(&**object)).collect()
        } else {
            Vec::new()
        }
    }
}
