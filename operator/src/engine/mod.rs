//! The pure decision engine: a [`Snapshot`] of AIMS objects, an object and `now` in; a
//! verdict, conditions or the Statement of Applicability out. No network, no clock.

pub mod acceptance;
pub mod admission;
pub mod approval;
pub mod artifact;
pub mod assessment;
pub mod audit;
pub mod breakglass;
pub mod controls;
mod facts;
mod identify;
pub mod incident;
pub mod nonconformity;
pub mod objectives;
pub mod openreports;
mod records;
pub mod relaxation;
pub mod review;
pub mod rules;
pub mod snapshot;
pub mod status;
pub mod treatment;
pub mod verdict;
pub mod workload;

pub use admission::{evaluate_object, evaluate_workload, namespace_mode, unreadable_verdict};
pub use breakglass::{BreakGlass, BreakGlassOutcome, apply_break_glass, break_glass};
pub use rules::{Finding, Rule};
pub use snapshot::Snapshot;
pub use verdict::{ModelRef, Scope, Verdict};
pub use workload::{Text, Workload};
