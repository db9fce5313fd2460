//! Control state for one AI system: what the ControlBindings say, confirmed by the automated
//! checks the catalog names. The gate, the binding status and the SoA all call this.

use jiff::Timestamp;
use kube::ResourceExt;

use super::Snapshot;
use super::assessment::covering_entry;
use crate::catalog::AutoCheck;
use crate::policy::Policy;
use crate::resources::{AISystem, ControlState, ImpactArea, ImpactAssessment, ModelOrigin};

mod entries;
pub use entries::*;

/// State of one control for one system, with the binding that addressed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlOutcome {
    /// The state.
    pub state: ControlState,
    /// What was found and what to do.
    pub message: String,
    /// The ControlBinding the state comes from.
    pub binding: Option<String>,
}

/// Approved, current assessments of a system, without their states.
fn approved_only<'a>(
    snapshot: &'a Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> Vec<&'a ImpactAssessment> {
    let (ns, name) = snapshot_key(system);
    snapshot
        .assessments_for(ns, name)
        .iter()
        .filter(|a| snapshot.is_approved(a, policy, now))
        .map(AsRef::as_ref)
        .collect()
}

/// Declared models (`name version`) that none of the `approved` assessments covers.
pub fn uncovered_models(system: &AISystem, approved: &[&ImpactAssessment]) -> Vec<String> {
    system
        .spec
        .models
        .iter()
        .filter(|m| {
            !approved
                .iter()
                .any(|a| covering_entry(&a.spec, Some(&m.name), &m.version).is_some())
        })
        .map(|m| format!("{} {}", m.name, m.version))
        .collect()
}

/// What is missing from the system's monitoring declaration, if anything.
pub fn monitoring_gaps(system: &AISystem) -> Vec<&'static str> {
    let Some(m) = &system.spec.monitoring else {
        return vec!["spec.monitoring"];
    };
    let mut gaps = Vec::new();
    if m.metrics.is_empty() && m.drift_signals.is_empty() && m.performance_signals.is_empty() {
        gaps.push("spec.monitoring.metrics (or driftSignals / performanceSignals)");
    }
    if m.alert_route.as_deref().is_none_or(str::is_empty) {
        gaps.push("spec.monitoring.alertRoute");
    }
    gaps
}

/// Whether declared monitoring is in place: where monitors are followed and the policy asks
/// for it, a ServiceMonitor or PodMonitor tied to the system must exist. `Err` says what is
/// missing.
pub fn monitoring_in_place(
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
) -> Result<(), String> {
    if !policy.require_scrape_monitor {
        return Ok(());
    }
    let ns = system.namespace().unwrap_or_default();
    if !snapshot.monitors_known_in(&ns) {
        return Ok(());
    }
    let name = system.name_any();
    match snapshot.monitor_for(&ns, &name) {
        Some(_) => Ok(()),
        None => Err(format!(
            "monitoring is declared but not in place: no ServiceMonitor or PodMonitor in namespace {ns} \
             is tied to AI system \"{name}\""
        )),
    }
}

/// Whether the system names an accountable owner.
pub fn has_owner(system: &AISystem) -> bool {
    system
        .spec
        .owner
        .as_ref()
        .is_some_and(|o| !o.name.trim().is_empty())
}

fn require(ok: bool, failure: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(failure()) }
}

fn blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Runs an automated check. `Ok` carries nothing; `Err` says what is missing.
pub fn run_auto_check(
    check: AutoCheck,
    snapshot: &Snapshot,
    system: &AISystem,
    policy: &Policy,
    now: Timestamp,
) -> Result<(), String> {
    let spec = &system.spec;
    let with_covering = |pred: &dyn Fn(&ImpactAssessment) -> bool, what: &str| {
        let approved = approved_only(snapshot, system, policy, now);
        require(approved.iter().any(|a| pred(a)), || {
            format!("no approved, current impact assessment of this system records {what}")
        })
    };
    match check {
        AutoCheck::OwnerAssigned => {
            require(has_owner(system), || "spec.owner.name is not set".into())
        }
        AutoCheck::SystemDocumented => {
            let mut missing = Vec::new();
            if blank(&spec.description) {
                missing.push("spec.description");
            }
            if blank(&spec.purpose) {
                missing.push("spec.purpose");
            }
            if spec.models.is_empty() {
                missing.push("spec.models");
            }
            require(missing.is_empty(), || {
                format!("not documented: {}", missing.join(", "))
            })
        }
        AutoCheck::TrainingDataDeclared => require(!spec.training_data.is_empty(), || {
            "spec.trainingData lists no data source".into()
        }),
        AutoCheck::DataProvenanceRecorded => {
            let without: Vec<&str> = spec
                .training_data
                .iter()
                .filter(|d| blank(&d.provenance))
                .map(|d| d.name.as_str())
                .collect();
            require(!spec.training_data.is_empty() && without.is_empty(), || {
                if spec.training_data.is_empty() {
                    "spec.trainingData lists no data source".into()
                } else {
                    format!(
                        "no provenance reference for training data: {}",
                        without.join(", ")
                    )
                }
            })
        }
        AutoCheck::AssessmentCurrent => {
            let approved = approved_only(snapshot, system, policy, now);
            let uncovered = uncovered_models(system, &approved);
            require(!approved.is_empty() && uncovered.is_empty(), || {
                if approved.is_empty() {
                    "no approved, current impact assessment".into()
                } else {
                    format!(
                        "no approved, current assessment covers {}",
                        uncovered.join(", ")
                    )
                }
            })
        }
        AutoCheck::AssessmentDocumented => with_covering(
            &|a| !a.spec.risks.is_empty() && !a.spec.impacts.is_empty(),
            "risks and impacts",
        ),
        AutoCheck::IndividualImpactsAssessed => with_covering(
            &|a| {
                a.spec
                    .impacts
                    .iter()
                    .any(|i| matches!(i.area, ImpactArea::Individuals | ImpactArea::Groups))
            },
            "impacts on individuals or groups",
        ),
        AutoCheck::SocietalImpactsAssessed => with_covering(
            &|a| a.spec.impacts.iter().any(|i| i.area == ImpactArea::Society),
            "societal impacts",
        ),
        AutoCheck::ModelsValidated => {
            let without: Vec<String> = spec
                .models
                .iter()
                .filter(|m| blank(&m.validation_report))
                .map(|m| format!("{} {}", m.name, m.version))
                .collect();
            require(!spec.models.is_empty() && without.is_empty(), || {
                if spec.models.is_empty() {
                    "spec.models is empty".into()
                } else {
                    format!("no validationReport for {}", without.join(", "))
                }
            })
        }
        AutoCheck::ModelsPinned => {
            let unpinned: Vec<String> = spec
                .models
                .iter()
                .filter(|m| {
                    let image_pinned = m
                        .image
                        .as_deref()
                        .and_then(super::artifact::ImageRef::parse)
                        .is_some_and(|i| i.digest.is_some());
                    !image_pinned && blank(&m.storage_uri)
                })
                .map(|m| format!("{} {}", m.name, m.version))
                .collect();
            require(!spec.models.is_empty() && unpinned.is_empty(), || {
                if spec.models.is_empty() {
                    "spec.models is empty".into()
                } else {
                    format!(
                        "neither an image pinned by digest nor a storageUri for {}",
                        unpinned.join(", ")
                    )
                }
            })
        }
        AutoCheck::MonitoringDeclared => {
            let gaps = monitoring_gaps(system);
            require(gaps.is_empty(), || {
                format!("not declared: {}", gaps.join(", "))
            })
        }
        AutoCheck::EventLogDeclared => require(
            spec.monitoring
                .as_ref()
                .is_some_and(|m| !blank(&m.event_log)),
            || "spec.monitoring.eventLog is not set".into(),
        ),
        AutoCheck::IntendedUseDeclared => require(!blank(&spec.intended_use), || {
            "spec.intendedUse is not set".into()
        }),
        AutoCheck::HumanOversightDeclared => require(spec.human_oversight.is_some(), || {
            "spec.humanOversight is not set".into()
        }),
        AutoCheck::SuppliersIdentified => {
            let unnamed: Vec<String> = spec
                .models
                .iter()
                .filter(|m| m.origin == Some(ModelOrigin::ThirdParty) && blank(&m.supplier))
                .map(|m| format!("{} {}", m.name, m.version))
                .collect();
            require(unnamed.is_empty(), || {
                format!(
                    "third-party models without a supplier: {}",
                    unnamed.join(", ")
                )
            })
        }
    }
}

/// The object's namespace when aims-operator's webhook does not check writes there (the
/// policy's exempt namespaces): records stamped by the webhook cannot be trusted in it.
pub fn unchecked_namespace<'a, K: kube::Resource>(
    object: &'a K,
    policy: &Policy,
) -> Option<&'a str> {
    let namespace = object
        .meta()
        .namespace
        .as_deref()
        .unwrap_or(super::snapshot::DEFAULT_NAMESPACE);
    policy
        .exempt_namespaces
        .iter()
        .any(|n| n == namespace)
        .then_some(namespace)
}

/// Namespace and name of a system as the snapshot indexes it, borrowed.
pub(crate) fn snapshot_key(system: &AISystem) -> (&str, &str) {
    let meta = &system.metadata;
    (
        meta.namespace
            .as_deref()
            .unwrap_or(super::snapshot::DEFAULT_NAMESPACE),
        meta.name
            .as_deref()
            .or(meta.generate_name.as_deref())
            .unwrap_or_default(),
    )
}

/// States of controls `ids` for a system, without the words, in one pass over its bindings:
/// what the admission gate asks of every required control. Each binding entry is read once
/// (comparing every required ID against every entry read each entry's ID from cold memory
/// again and again); within a binding the first entry of an ID counts, as in
/// [`control_outcome`].
pub fn control_states(
    snapshot: &Snapshot,
    system: &AISystem,
    ids: &[String],
    policy: &Policy,
    now: Timestamp,
) -> Vec<ControlState> {
    let mut states = vec![ControlState::Gap; ids.len()];
    let mut seen = vec![false; ids.len()];
    let (ns, name) = snapshot_key(system);
    for binding in snapshot.bindings_for(ns, name) {
        seen.fill(false);
        for entry in &binding.spec.controls {
            let Some(i) = ids.iter().position(|id| *id == entry.id) else {
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let state = entry_reason(entry, snapshot, system, policy, now).state();
            states[i] = states[i].min(state);
        }
    }
    states
}

/// State of control `id` for a system across every binding that binds it; the best state
/// wins (one binding that implements the control is enough).
pub fn control_outcome(
    snapshot: &Snapshot,
    system: &AISystem,
    id: &str,
    policy: &Policy,
    now: Timestamp,
) -> ControlOutcome {
    match deciding_entry(snapshot, system, id, policy, now) {
        Some((binding, reason)) => ControlOutcome {
            state: reason.state(),
            message: reason.message(policy),
            binding: Some(binding.name_any()),
        },
        None => ControlOutcome {
            state: ControlState::Gap,
            message: format!("no ControlBinding addresses {id} for this system"),
            binding: None,
        },
    }
}
