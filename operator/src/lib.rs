//! aims-operator: makes an ISO/IEC 42001 AI management system enforceable and auditable in
//! Kubernetes. One pure engine ([`engine`]) serves three shells: the admission webhook, the
//! reconciler and the offline CLI, so they cannot disagree.

pub mod assessment;
pub mod audits;
pub mod cache;
pub mod catalog;
pub mod certs;
pub mod cli;
pub mod crdgen;
pub mod dev;
pub mod discover;
pub mod election;
pub mod engine;
pub mod evidence;
pub mod examples;
pub mod incidents;
pub mod manifests;
pub mod metrics;
pub mod nonconformities;
pub mod plugin;
pub mod policy;
pub mod reconciler;
pub mod register;
pub mod registration;
pub mod render;
pub mod resources;
pub mod review_inputs;
pub mod risks;
pub mod run;
pub mod soa;
pub mod strict;
pub mod webhook;
