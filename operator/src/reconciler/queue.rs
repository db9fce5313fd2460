//! The reconciler's work queue, one per kind: which objects wait to be reconciled, which are
//! being reconciled, and which are due again at a time.
//!
//! An object is in it only while it waits, runs or is due within the hour: the hourly resync
//! goes through the cache's register instead of a timer per object. kube-runtime's
//! controller kept a scheduled entry per object for ever (a key of four strings in a map and
//! a slab), and its own store beside the cache: at 10,000 systems most of the operator's
//! memory after the objects themselves.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

type Set<T> = HashSet<T, foldhash::fast::RandomState>;
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// An object in a queue: `namespace/name` (neither may contain a `/`), one allocation shared
/// by every index that holds it.
pub type Key = Arc<str>;

/// The key of `name` in `namespace`.
pub fn key(namespace: &str, name: &str) -> Key {
    format!("{namespace}/{name}").into()
}

/// The namespace and name of a key.
pub fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

#[derive(Default)]
struct State {
    /// Whether a controller takes from the queue: a closed queue ignores triggers, since
    /// nothing would take them (a replica that does not lead, a webhook without reconciler).
    open: bool,
    /// Waiting to run, in the order triggered.
    ready: VecDeque<Key>,
    /// Triggered and not yet taken: waiting in `ready`, or to run again once its reconcile
    /// in flight ends (a change arrived meanwhile).
    triggered: Set<Key>,
    /// Being reconciled: never two reconciles of one object at once.
    running: Set<Key>,
    /// Due again at a time, soonest first; `due_at` is the same by key.
    due: BTreeSet<(Instant, Key)>,
    due_at: Map<Key, Instant>,
}

impl State {
    fn trigger(&mut self, key: Key) {
        if !self.open || self.triggered.contains(&key) {
            return;
        }
        // Running now is sooner than any time it was due at.
        if let Some(at) = self.due_at.remove(&key) {
            self.due.remove(&(at, key.clone()));
        }
        if !self.running.contains(&key) {
            self.ready.push_back(key.clone());
        }
        self.triggered.insert(key);
    }

    fn schedule(&mut self, key: Key, at: Instant) {
        if self.triggered.contains(&key) {
            return;
        }
        match self.due_at.get(&key) {
            Some(earlier) if *earlier <= at => {}
            Some(later) => {
                self.due.remove(&(*later, key.clone()));
                self.due.insert((at, key.clone()));
                self.due_at.insert(key, at);
            }
            None => {
                self.due.insert((at, key.clone()));
                self.due_at.insert(key, at);
            }
        }
    }

    /// Moves the keys due by `now` to the ready ones.
    fn release_due(&mut self, now: Instant) {
        while let Some((at, _)) = self.due.first()
            && *at <= now
        {
            if let Some((_, key)) = self.due.pop_first() {
                self.due_at.remove(&key);
                self.trigger(key);
            }
        }
    }
}

/// The objects of one kind to reconcile.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    wake: tokio::sync::Notify,
}

impl WorkQueue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts taking triggers (a controller is about to take from the queue).
    pub fn open(&self) {
        self.state().open = true;
    }

    /// Stops taking triggers and forgets every waiting and due object; reconciles in flight
    /// end as they will.
    pub fn close(&self) {
        let mut state = self.state();
        let running = std::mem::take(&mut state.running);
        *state = State {
            running,
            ..State::default()
        };
    }

    /// Whether a controller takes from the queue.
    pub fn is_open(&self) -> bool {
        self.state().open
    }

    /// Asks for `name` in `namespace` to be reconciled (once, however often asked before it
    /// runs; again after the reconcile in flight, if one is).
    pub fn trigger(&self, namespace: &str, name: &str) {
        self.trigger_key(key(namespace, name));
    }

    /// [`WorkQueue::trigger`] by key.
    pub fn trigger_key(&self, key: Key) {
        self.state().trigger(key);
        self.wake.notify_one();
    }

    /// The keys triggered and not yet taken, sorted: what the next reconciles will be.
    pub fn triggered(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self.state().triggered.iter().cloned().collect();
        keys.sort();
        keys
    }

    /// The next object to reconcile, waiting for one to be triggered or fall due. Marks it
    /// running until [`WorkQueue::done`].
    pub async fn next(&self) -> Key {
        loop {
            let wake_at = {
                let mut state = self.state();
                state.release_due(Instant::now());
                if let Some(key) = state.ready.pop_front() {
                    state.triggered.remove(&key);
                    state.running.insert(key.clone());
                    return key;
                }
                state.due.first().map(|(at, _)| *at)
            };
            // A trigger between the unlock and this wait leaves a permit: nothing is missed.
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    /// Ends the reconcile of `key`: it runs again at once if triggered meanwhile, else after
    /// `again` if that is sooner than `horizon` (the resync that reaches every object).
    pub fn done(&self, key: &Key, again: Option<Duration>, horizon: Duration) {
        let mut state = self.state();
        state.running.remove(key);
        if state.triggered.contains(key) {
            state.ready.push_back(key.clone());
        } else if let Some(after) = again.filter(|after| *after < horizon)
            && state.open
        {
            state.schedule(key.clone(), Instant::now() + after);
        }
        drop(state);
        self.wake.notify_one();
    }
}
