//! Which AI system a workload belongs to: the one its `aims.io/system` label names, checked
//! against what it runs, or, without a label, the one whose declared artifact it runs.

use super::Snapshot;
use super::artifact::{Runs, first_run, owner_phrase, owners};
use super::rules::{Finding, Rule};
use super::snapshot::name_of;
use super::verdict::{Scope, Verdict};
use super::workload::Workload;
use crate::policy::Policy;
use crate::resources::{AISystem, SYSTEM_LABEL};

/// The system an unlabelled workload in an opted-in namespace belongs to by what it runs;
/// `None` when no registered system declares its artifacts (the finding, if any, is pushed).
/// The missing label is a finding even then: status, reports and monitors find a system's
/// workloads by it.
pub(super) fn unlabelled_owner(
    verdict: &mut Verdict<'_>,
    snapshot: &Snapshot,
    workload: &Workload<'_>,
    policy: &Policy,
) -> Option<String> {
    let owners = owners(snapshot, workload, None, Runs::Repository);
    let add_label = |name: &str| {
        format!("set metadata.labels[\"{SYSTEM_LABEL}\"] and the pod template's labels to {name}")
    };
    match owners.as_slice() {
        [owner] => {
            let name = name_of(owner.0).to_string();
            verdict.findings.push(Finding::new(
                Rule::SystemNotRegistered,
                format!(
                    "it carries no {SYSTEM_LABEL} label but runs an artifact of {}, so it is judged as that system's model",
                    owner_phrase(owner)
                ),
                add_label(&name),
            ));
            Some(name)
        }
        [] => {
            match policy.model_serving.hint(workload) {
                Some(hint) => verdict.findings.push(Finding::new(
                    Rule::SystemNotRegistered,
                    format!("this looks like model serving ({hint}) but carries no {SYSTEM_LABEL} label"),
                    format!(
                        "register the AI system (kubectl apply -f aisystem.yaml) and set metadata.labels[\"{SYSTEM_LABEL}\"] \
                         and the pod template's labels to its name"
                    ),
                )),
                None => {
                    verdict.scope = Scope::NotJudged(format!(
                        "no {SYSTEM_LABEL} label and nothing suggests model serving"
                    ));
                }
            }
            None
        }
        several => {
            verdict.findings.push(Finding::new(
                Rule::SystemNotRegistered,
                format!(
                    "it carries no {SYSTEM_LABEL} label and runs artifacts of {}",
                    several
                        .iter()
                        .map(owner_phrase)
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                add_label("the one system it belongs to (split it if it serves several)"),
            ));
            None
        }
    }
}

/// The refusal of a workload whose label names a system that is not registered; it says
/// whose artifact the workload runs, when one system declares it.
pub(super) fn unregistered(snapshot: &Snapshot, workload: &Workload<'_>, name: &str) -> Finding {
    let ns = workload.namespace.as_ref();
    let owners = owners(snapshot, workload, None, Runs::Repository);
    Finding::new(
        Rule::SystemNotRegistered,
        format!("no AISystem \"{name}\" is registered in namespace {ns}"),
        match owners.as_slice() {
            [owner] => format!(
                "it runs an artifact of {}: set the label {SYSTEM_LABEL} to {}",
                owner_phrase(owner),
                name_of(owner.0)
            ),
            _ => format!(
                "register it (kubectl apply -n {ns} -f aisystem.yaml with metadata.name: {name}) \
                 or correct the label {SYSTEM_LABEL}"
            ),
        },
    )
}

/// The refusal of a workload labelled for `system` that runs none of its models but another
/// system's artifact: both are named.
pub(super) fn artifact_of_another(
    snapshot: &Snapshot,
    workload: &Workload<'_>,
    system: &AISystem,
    name: &str,
) -> Option<Finding> {
    if first_run(workload, &system.spec.models).is_some() {
        return None;
    }
    // Only another system's exact build counts against a label: a shared runtime image or
    // another tag of a repository is no proof the label is wrong.
    let others = owners(snapshot, workload, Some(name), Runs::Build);
    (!others.is_empty()).then(|| {
        Finding::new(
            Rule::SystemNotRegistered,
            format!(
                "the label {SYSTEM_LABEL} names AISystem \"{name}\", but the workload runs an artifact of {}",
                others.iter().map(owner_phrase).collect::<Vec<_>>().join(" and ")
            ),
            format!(
                "label it with the system whose model it runs, or declare the artifact in spec.models of \
                 AISystem \"{name}\" and have it assessed"
            ),
        )
    })
}
