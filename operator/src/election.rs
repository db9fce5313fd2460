//! Leader election over a `coordination.k8s.io/v1` Lease, with a fence that is bounded by
//! time rather than by news.
//!
//! A replica that holds the Lease may write only until a deadline it computes from its own
//! last successful renewal. Another replica takes the Lease only when the record has stayed
//! unchanged for a whole lease duration since it *received* it, which is later than the
//! holder started the renewal that wrote it. So the holder's fence lapses before anyone else
//! can hold the Lease, even when the holder is starved of CPU or cut off from the API server
//! and never hears that it lost (a lease library that only reports loss at its next renewal
//! lets two replicas write at once in that window).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::reconciler::{self, ReconcileContext};

/// Until when this replica may write under the Lease it holds. Cloned into every place that
/// writes; `may_write` is checked right before each write.
#[derive(Clone, Debug, Default)]
pub struct LeaseFence {
    until: Arc<Mutex<Option<Instant>>>,
}

impl LeaseFence {
    /// Whether the Lease is certainly still this replica's at this moment.
    pub fn may_write(&self) -> bool {
        self.deadline().is_some_and(|until| Instant::now() < until)
    }

    fn deadline(&self) -> Option<Instant> {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets this replica write until `until` (the elector sets it after each renewal).
    pub fn hold_until(&self, until: Instant) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = Some(until);
    }

    fn lapse(&self) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// What one round of the election found.
#[derive(Debug, PartialEq, Eq)]
pub enum Round {
    /// This replica holds the Lease (its fence is open until the Lease's end, less the
    /// margin, counted from the start of the round).
    Leading,
    /// Another replica holds a Lease that has not run out.
    Following,
}

/// One replica's view of the Lease and the rounds it plays.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    /// How much earlier than the Lease's end the fence closes: room for a write already
    /// checked to reach the API server, and for clocks that run at slightly different rates.
    margin: Duration,
    /// The record last seen (its resourceVersion) and when it arrived: another holder's Lease
    /// has run out once it stays unchanged for its duration from then.
    observed: Option<(String, Instant)>,
}

impl Elector {
    /// An elector for Lease `name` in the API's namespace, as `identity`, with Leases of
    /// `duration` whose fence closes `margin` before their end.
    pub fn new(
        api: Api<Lease>,
        name: &str,
        identity: &str,
        duration: Duration,
        margin: Duration,
    ) -> Self {
        Self {
            api,
            name: name.to_string(),
            identity: identity.to_string(),
            duration,
            margin,
            observed: None,
        }
    }

    /// Takes the Lease if it is free or has run out, renews it if it is ours, and otherwise
    /// leaves it be. A write that loses a race (409) is a lost round, not an error.
    pub async fn round(&mut self, fence: &LeaseFence) -> Result<Round, kube::Error> {
        let started = Instant::now();
        let outcome = self.play().await;
        match &outcome {
            Ok(Round::Leading) => {
                fence.hold_until(started + self.duration.saturating_sub(self.margin));
            }
            Ok(Round::Following) => fence.lapse(),
            // Not knowing is no reason to stop early: the fence lapses at its deadline.
            Err(_) => {}
        }
        outcome
    }

    async fn play(&mut self) -> Result<Round, kube::Error> {
        let Some(lease) = self.api.get_opt(&self.name).await? else {
            let fresh = self.fresh_lease();
            let created = written(self.api.create(&PostParams::default(), &fresh).await)?;
            return Ok(if created {
                Round::Leading
            } else {
                Round::Following
            });
        };
        let arrived = Instant::now();
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let first_seen = match &self.observed {
            Some((seen, at)) if *seen == version => *at,
            _ => {
                self.observed = Some((version.clone(), arrived));
                arrived
            }
        };
        let spec = lease.spec.unwrap_or_default();
        let holder = spec.holder_identity.filter(|holder| !holder.is_empty());
        let ours = holder.as_deref() == Some(self.identity.as_str());
        let their_duration = spec
            .lease_duration_seconds
            .and_then(|seconds| u64::try_from(seconds).ok())
            .map_or(self.duration, Duration::from_secs);
        if holder.is_some() && !ours && arrived < first_seen + their_duration {
            return Ok(Round::Following);
        }
        let now = MicroTime(jiff::Timestamp::now());
        let transitions = spec.lease_transitions.unwrap_or(0);
        let patch = json!({
            // A precondition: the write fails (409) if anyone wrote since we read.
            "metadata": {"resourceVersion": version},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration.as_secs(),
                "renewTime": now,
                "acquireTime": if ours { spec.acquire_time.unwrap_or(now.clone()) } else { now.clone() },
                "leaseTransitions": if ours { transitions } else { transitions.saturating_add(1) },
            }
        });
        let renewed = self.patch_unless_changed(patch).await?;
        Ok(if renewed {
            Round::Leading
        } else {
            Round::Following
        })
    }

    /// Merge-patches the Lease; `false` when someone wrote since it was read (the patch
    /// carries the resourceVersion read, which makes the API server answer 409).
    async fn patch_unless_changed(&self, patch: serde_json::Value) -> Result<bool, kube::Error> {
        written(
            self.api
                .patch(&self.name, &PatchParams::default(), &Patch::Merge(patch))
                .await,
        )
    }

    /// Gives the Lease up at shutdown, so another replica need not wait for it to run out.
    /// Call it only after everything that writes under the fence has stopped.
    pub async fn release(&self, fence: &LeaseFence) -> Result<(), kube::Error> {
        fence.lapse();
        let Some(lease) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        let patch = json!({
            "metadata": {"resourceVersion": lease.metadata.resource_version},
            "spec": {"holderIdentity": null, "renewTime": MicroTime(jiff::Timestamp::now())},
        });
        // Someone wrote in between: then it is not ours to release any more.
        self.patch_unless_changed(patch).await.map(drop)
    }

    fn fresh_lease(&self) -> Lease {
        let now = MicroTime(jiff::Timestamp::now());
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(
                    i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX),
                ),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        }
    }
}

/// Whether a write went through: `false` when another wrote first (409), which is a lost
/// round, not an error.
fn written<T>(result: Result<T, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

/// How this replica takes part in the election of the reconciler.
#[derive(Clone, Debug)]
pub struct Election {
    /// Namespace of the Lease.
    pub namespace: String,
    /// This replica's name in the Lease (the pod name in a cluster).
    pub identity: String,
    /// How long a held Lease lasts without renewal.
    pub lease_seconds: u64,
    /// How long before the end the holder renews it; also how often a follower looks.
    pub grace_seconds: u64,
}

impl Election {
    /// The election in `namespace` as `pod_name` (default: one made from the process id):
    /// 15 s Leases renewed 5 s early.
    pub fn in_namespace(namespace: &str, pod_name: Option<&str>) -> Self {
        Self {
            namespace: namespace.to_string(),
            identity: pod_name
                .map(str::to_string)
                .unwrap_or_else(|| format!("aims-operator-{}", std::process::id())),
            lease_seconds: 15,
            grace_seconds: 5,
        }
    }
}

/// Name of the Lease the reconcilers compete for.
const LEASE: &str = "aims-operator-reconciler";

/// The reconciler while it runs: how to stop it and what to wait for.
struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(ctx: &Arc<ReconcileContext>) -> Self {
        let (stop, mut stopping) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(reconciler::run(ctx.clone(), async move {
            let _ = stopping.changed().await;
        }));
        Self { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Runs the reconciler only while this replica holds the Lease, so that with several
/// replicas exactly one writes status (the webhook runs on all of them). Losing the lease
/// stops the controllers; winning it again restarts them. Every write checks the Lease's
/// fence first, which closes by itself before another replica can take the Lease, so a
/// replica that is slow to learn it lost writes nothing meanwhile.
pub async fn lead_and_reconcile(
    client: kube::Client,
    election: Election,
    ctx: Arc<ReconcileContext>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let fence = ctx.lease.clone().unwrap_or_default();
    let Election {
        namespace,
        identity,
        lease_seconds,
        grace_seconds,
    } = election;
    let lease = Duration::from_secs(lease_seconds.max(1));
    // Renew this long before the end; followers look this often. Capped so that a renewal
    // always comes before the fence closes.
    let grace = Duration::from_secs(grace_seconds.max(1)).min(lease / 2);
    let mut elector = Elector::new(
        kube::Api::namespaced(client, &namespace),
        LEASE,
        &identity,
        lease,
        grace / 2,
    );
    let mut running: Option<Running> = None;
    let mut failures = 0u32;
    loop {
        // A round that hangs must not outlive the Lease it is meant to keep.
        let round = tokio::time::timeout(lease, elector.round(&fence)).await;
        let pause = match round {
            Ok(Ok(Round::Leading)) => {
                failures = 0;
                if running.is_none() {
                    tracing::info!(%identity, lease = LEASE, "leading: reconciler started");
                    running = Some(Running::start(&ctx));
                }
                lease - grace
            }
            Ok(Ok(Round::Following)) => {
                failures = 0;
                grace
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "leader election: the Lease could not be read or written");
                retry_after(&mut failures, grace)
            }
            Err(_) => {
                tracing::warn!(timeout = ?lease, "leader election: the API server did not answer in time");
                retry_after(&mut failures, grace)
            }
        };
        if !fence.may_write()
            && let Some(reconciler) = running.take()
        {
            reconciler.stop().await;
            tracing::warn!(%identity, "lost the lease: reconciler stopped until it is won again");
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped.changed() => break,
        }
    }
    if let Some(reconciler) = running.take() {
        reconciler.stop().await;
    }
    tracing::info!("reconciler stopped; releasing the lease");
    if let Err(error) = elector.release(&fence).await {
        tracing::warn!(%error, "the lease could not be released; another replica takes it when it runs out");
    }
}

/// After the `failures`-th failed round in a row: retry ever more slowly (half a second,
/// doubling), yet within `grace`, so that a leader still tries to renew before its fence closes.
fn retry_after(failures: &mut u32, grace: Duration) -> Duration {
    *failures = failures.saturating_add(1);
    (Duration::from_millis(250) * (1 << (*failures).min(6))).min(grace)
}
