//! One copy of each AIMS object for the whole process. The cache's watch of a kind the
//! reconciler keeps status on fills a kube-runtime store; the cache indexes the store's own
//! `Arc`s in its snapshot, and the reconciler's controller of the kind reads the same store
//! and is triggered by the same watch. Two watches and two copies of 10,000 objects each
//! were twice the API server's work and more memory than the operator may use.
//!
//! For the kinds that say so ([`super::Feed::keep_status`]) the store holds each object
//! without its status, and beside it only what the reconciler reads of the status (a
//! [`KeptStatus`]): the statuses of 10,000 systems, assessments and bindings were 47 MiB.

use std::sync::{Arc, Mutex, PoisonError};

use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::Event;

use crate::reconciler::kept::KeptStatus;

type KeptByObject = std::collections::HashMap<Box<str>, KeptStatus, foldhash::fast::RandomState>;

/// The key of an object in the kept statuses: `namespace/name`.
fn object_key<K: Resource>(object: &K) -> Box<str> {
    let meta = object.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
    .into_boxed_str()
}

/// The objects of one kind as last listed and watched, and who follows their changes.
pub struct SharedStore<K: Resource<DynamicType = ()> + Clone + 'static> {
    writer: Mutex<Writer<K>>,
    store: Store<K>,
    listeners: Mutex<Vec<mpsc::UnboundedSender<Arc<K>>>>,
    /// What is kept of the statuses taken off the stored objects.
    kept: Mutex<KeptByObject>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Default for SharedStore<K> {
    fn default() -> Self {
        let writer = Writer::default();
        let store = writer.as_reader();
        Self {
            writer: Mutex::new(writer),
            store,
            listeners: Mutex::new(Vec::new()),
            kept: Mutex::new(KeptByObject::default()),
        }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> SharedStore<K> {
    /// A reader of the store; ready once the kind has been listed.
    pub fn reader(&self) -> Store<K> {
        self.store.clone()
    }

    /// What is kept of the status taken off `object`, if it was taken off.
    pub fn kept(&self, object: &K) -> Option<KeptStatus> {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&object_key(object))
            .cloned()
    }

    /// Takes the status off the object `event` brings, keeping what `keep` makes of it,
    /// before the store holds the object. Kept before the object is stored, so a reconcile
    /// that the stored object triggers finds it.
    pub fn keep_status(&self, event: &mut Event<K>, keep: impl Fn(&mut K) -> Option<KeptStatus>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            Event::Apply(object) | Event::InitApply(object) => match keep(object) {
                Some(status) => {
                    kept.insert(object_key(object), status);
                }
                None => {
                    kept.remove(&object_key(object));
                }
            },
            Event::Delete(object) => {
                kept.remove(&object_key(object));
            }
            Event::Init | Event::InitDone => {}
        }
    }

    /// Applies one watch event to the store and returns the objects it now holds that the
    /// event brought: the one applied, or after a list every object. Listeners hear of them.
    pub fn apply(&self, event: &Event<K>) -> Vec<Arc<K>> {
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply_watcher_event(event);
        let brought = match event {
            Event::Apply(object) => self
                .store
                .get(&ObjectRef::from_obj(object))
                .into_iter()
                .collect(),
            Event::InitDone => {
                let state = self.store.state();
                // Objects deleted while the watch was down leave nothing kept behind.
                let listed: std::collections::HashSet<Box<str>> =
                    state.iter().map(|o| object_key(&**o)).collect();
                self.kept
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|key, _| listed.contains(key));
                state
            }
            Event::Init | Event::InitApply(_) | Event::Delete(_) => Vec::new(),
        };
        if !brought.is_empty() {
            let mut listeners = self
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A closed receiver means its controller stopped; forget it.
            listeners.retain(|sender| {
                brought
                    .iter()
                    .all(|object| sender.unbounded_send(object.clone()).is_ok())
            });
        }
        brought
    }

    /// Every object held now, then each one a later event brings: a controller started
    /// after the kind was listed still reconciles every object once.
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static
    where
        K: Send + Sync,
    {
        let (sender, receiver) = mpsc::unbounded();
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        // Registered before the state is read, so nothing applied in between is missed;
        // an object in both is reconciled once more, which writes nothing.
        futures::stream::iter(self.store.state()).chain(receiver)
    }
}
