//! User journeys on the real control plane: kube-apiserver, kube-controller-manager and
//! etcd built from `tests/cluster/` and started by [`cluster::ControlPlane`] on loopback. The
//! operator runs in this process as the chart's ServiceAccount (dev-mode path: webhooks
//! registered by URL with its own CA), people are token-file users with the chart's roles,
//! and every command a person would type goes through the real `kubectl`.
//!
//! `cargo test --test e2e` runs them (the README's test command includes it). The first run
//! builds the control plane (many minutes; progress on stderr); a machine without Go fails
//! here, it does not skip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/tools.rs"]
mod tools;

#[path = "e2e/discover.rs"]
mod discover;
#[path = "e2e/env.rs"]
mod env;

#[path = "e2e/approver.rs"]
mod approver;
#[path = "e2e/artifact.rs"]
mod artifact;
#[path = "e2e/audit.rs"]
mod audit;
#[path = "e2e/auditor.rs"]
mod auditor;
#[path = "e2e/breakglass.rs"]
mod breakglass;
#[path = "e2e/churn.rs"]
mod churn;
#[path = "e2e/developer.rs"]
mod developer;
#[path = "e2e/fleet.rs"]
mod fleet;
#[path = "e2e/gitops.rs"]
mod gitops;
#[path = "e2e/incident.rs"]
mod incident;
#[path = "e2e/management.rs"]
mod management;
#[path = "e2e/material.rs"]
mod material;
#[path = "e2e/nonconformity.rs"]
mod nonconformity;
#[path = "e2e/objects.rs"]
mod objects;
#[path = "e2e/offline.rs"]
mod offline;
#[path = "e2e/organisation.rs"]
mod organisation;
#[path = "e2e/outage.rs"]
mod outage;
#[path = "e2e/platform.rs"]
mod platform;
#[path = "e2e/quiet.rs"]
mod quiet;
#[path = "e2e/replicas.rs"]
mod replicas;
#[path = "e2e/reports.rs"]
mod reports;
#[path = "e2e/restart.rs"]
mod restart;
#[path = "e2e/review.rs"]
mod review;
#[path = "e2e/risk.rs"]
mod risk;
#[path = "e2e/rotation.rs"]
mod rotation;
#[path = "e2e/steps.rs"]
mod steps;
#[path = "e2e/time.rs"]
mod time;
#[path = "e2e/uninstall.rs"]
mod uninstall;
#[path = "e2e/weaken.rs"]
mod weaken;
