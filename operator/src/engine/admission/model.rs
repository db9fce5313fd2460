//! The deployed model: which one a workload runs (its labels, or the artifact it runs),
//! whether an approved assessment covers it, and whether the images are the pinned,
//! assessed and declared builds.

use std::borrow::Cow;

use jiff::Timestamp;
use kube::ResourceExt;

use super::super::Snapshot;
use super::super::artifact::{ImageRef, Runs, runs};
use super::super::assessment::{coverage_phrase, covering_entry};
use super::super::rules::{Finding, Rule};
use super::super::snapshot::{Registered, name_of};
use super::super::verdict::{ModelRef, Verdict};
use super::super::workload::Workload;
use crate::policy::Policy;
use crate::resources::{
    AISystem, AssessmentPhase, CoveredModel, MODEL_NAME_LABEL, MODEL_VERSION_LABEL,
};

/// The model identity from labels, falling back to the system's declared models matched by
/// image or storage URI.
fn resolve_model<'a>(
    verdict: &mut Verdict<'_>,
    system: &AISystem,
    workload: &'a Workload<'_>,
) -> Option<ModelRef<'a>> {
    let mut label = |key: &str| match workload.label(key) {
        Ok(value) => value.filter(|v| !v.is_empty()).map(Cow::Borrowed),
        Err((a, b)) => {
            verdict.findings.push(Finding::new(
                Rule::ModelVersionUnknown,
                format!(
                    "the label {key} says \"{a}\" on the object but \"{b}\" on the pod template"
                ),
                format!("make both labels {key} agree"),
            ));
            None
        }
    };
    let (name_label, version_label) = (label(MODEL_NAME_LABEL), label(MODEL_VERSION_LABEL));
    let deployed = |m: &crate::resources::Model| runs(workload, m) != Runs::Nothing;
    let models = &system.spec.models;
    let name = name_label.or_else(|| {
        let mut matched = models.iter().filter(|m| deployed(m)).map(|m| &m.name);
        match matched.next() {
            Some(one) if matched.all(|n| n == one) => Some(Cow::Owned(one.clone())),
            // One model name (possibly in several versions) identifies the model.
            _ if models
                .first()
                .is_some_and(|first| models.iter().all(|m| m.name == first.name)) =>
            {
                models.first().map(|m| Cow::Owned(m.name.clone()))
            }
            _ => None,
        }
    });
    let version = version_label.or_else(|| {
        // Only an exact image or storage URI identifies a version; a repository alone does not.
        let exact = |m: &&crate::resources::Model| runs(workload, m) == Runs::Build;
        let mut candidates = models
            .iter()
            .filter(exact)
            .filter(|m| name.as_deref().is_none_or(|n| n == m.name));
        match (candidates.next(), candidates.next()) {
            (Some(m), None) => Some(Cow::Owned(m.version.clone())),
            _ => None,
        }
    });
    match version {
        Some(version) => Some(ModelRef { name, version }),
        None => {
            verdict.findings.push(Finding::new(
                Rule::ModelVersionUnknown,
                "cannot tell which model version this workload deploys, so no assessment can be matched to it",
                format!(
                    "set the label {MODEL_VERSION_LABEL} (and {MODEL_NAME_LABEL} when the system has several models) \
                     on the pod template, or deploy exactly an image or storageUri listed in the AISystem's spec.models"
                ),
            ));
            None
        }
    }
}

/// Assessment coverage and digest pinning for the deployed model.
pub(super) fn check_model<'a>(
    verdict: &mut Verdict<'a>,
    snapshot: &Snapshot,
    registered: &Registered<'_>,
    workload: &'a Workload<'_>,
    policy: &Policy,
    now: Timestamp,
) {
    let system = registered.system;
    let model = resolve_model(verdict, system, workload);
    if registered.facts.require_digest {
        check_pinned(verdict, system, workload);
    }
    let Some(model) = model else { return };
    match covering_assessment(verdict, snapshot, registered, &model, policy, now) {
        Ok((name, entry)) => {
            verdict.assessment = Some(name.to_string());
            check_assessed_digest(verdict, workload, name, entry, &model);
        }
        Err(notes) => verdict.findings.push(assessment_missing(
            registered, workload, &model, &notes, policy,
        )),
    }
    check_declared_build(verdict, system, workload, &model);
    verdict.model = Some(model);
}

/// Every image pinned by digest, where the system's tier (or the system) asks for it.
fn check_pinned(verdict: &mut Verdict<'_>, system: &AISystem, workload: &Workload<'_>) {
    let unpinned: Vec<String> = workload
        .images
        .iter()
        .filter(|c| c.digest().is_none())
        .map(|c| format!("{} ({})", c.image, c.container))
        .collect();
    if !unpinned.is_empty() {
        verdict.findings.push(Finding::new(
            Rule::ImageNotPinned,
            format!("{} risk systems must run images pinned by digest; not pinned: {}", system.spec.risk_tier.as_str(), unpinned.join(", ")),
            "reference each image as registry/repository@sha256:<digest> (e.g. from `crane digest` or your CI's build output)",
        ));
    }
}

/// The first approved assessment that covers `model`, with its entry for it (its risk
/// treatment checked); else what each assessment of the system is and covers.
fn covering_assessment<'r>(
    verdict: &mut Verdict<'_>,
    snapshot: &Snapshot,
    registered: &Registered<'r>,
    model: &ModelRef<'_>,
    policy: &Policy,
    now: Timestamp,
) -> Result<(&'r str, &'r CoveredModel), Vec<String>> {
    let mut notes = Vec::new();
    for (index, assessment) in registered.assessments.iter().enumerate() {
        let entry = covering_entry(&assessment.spec, model.name.as_deref(), &model.version);
        if let Some(entry) = entry
            && registered
                .facts
                .approved(index)
                .unwrap_or_else(|| snapshot.is_approved(assessment, policy, now))
        {
            verdict
                .findings
                .extend(super::super::treatment::treatment_finding(
                    snapshot,
                    registered.system,
                    assessment,
                    policy,
                    now,
                ));
            return Ok((name_of(assessment.as_ref()), entry));
        }
        let state = snapshot.assessment_state(assessment, policy, now);
        notes.push(format!(
            "\"{}\" is {} and covers {}{}",
            assessment.name_any(),
            state.phase.as_str(),
            coverage_phrase(&assessment.spec),
            if state.phase == AssessmentPhase::Approved {
                String::new()
            } else {
                format!(" ({})", state.message)
            }
        ));
    }
    Err(notes)
}

/// The deployed image is the one the covering assessment assessed, when it names a digest.
fn check_assessed_digest(
    verdict: &mut Verdict<'_>,
    workload: &Workload<'_>,
    name: &str,
    entry: &CoveredModel,
    model: &ModelRef<'_>,
) {
    let Some(assessed) = &entry.digest else {
        return;
    };
    if workload
        .images
        .iter()
        .any(|c| c.digest() == Some(assessed.to_ascii_lowercase().as_str()))
    {
        return;
    }
    let deployed: Vec<&str> = workload.images.iter().filter_map(|c| c.digest()).collect();
    verdict.findings.push(Finding::new(
        Rule::ImageNotPinned,
        format!(
            "assessment \"{name}\" assessed digest {assessed} for {model}, but the workload runs {}",
            if deployed.is_empty() { "no pinned image".to_string() } else { deployed.join(", ") }
        ),
        format!("deploy the assessed image (…@{assessed}), or have the new digest assessed and approved"),
    ));
}

/// No approved assessment covers `model`: what each one is (`notes`), and the fix, pointing
/// at the assessment that already lists the version when one does.
fn assessment_missing(
    registered: &Registered<'_>,
    workload: &Workload<'_>,
    model: &ModelRef<'_>,
    notes: &[String],
    policy: &Policy,
) -> Finding {
    let system_name = name_of(registered.system);
    let ns = workload.namespace.as_ref();
    let detail = if notes.is_empty() {
        format!("No ImpactAssessment references AISystem \"{system_name}\".")
    } else {
        format!("{}.", notes.join("; "))
    };
    let target = registered
        .assessments
        .iter()
        .find(|a| covering_entry(&a.spec, model.name.as_deref(), &model.version).is_some())
        .map(|a| a.name_any());
    let first_step = match &target {
        Some(name) => format!("bring assessment \"{name}\" up to date"),
        None => format!(
            "add {} to spec.models of an assessment of \"{system_name}\" (or create one with spec.systemRef: {system_name})",
            model.version
        ),
    };
    Finding::new(
        Rule::AssessmentMissing,
        format!("no approved, current impact assessment covers {model}. {detail}"),
        format!(
            "{first_step}, then have {} approve it: kubectl -n {ns} patch impactassessment {} --type merge \
             -p '{{\"spec\":{{\"approval\":{{\"decision\":\"Approved\"}}}}}}'",
            policy.approvers_phrase(),
            target.as_deref().unwrap_or("<assessment>")
        ),
    )
}

/// The image declared for this exact model version is the one that runs: another build of
/// the released repository is refused.
fn check_declared_build(
    verdict: &mut Verdict<'_>,
    system: &AISystem,
    workload: &Workload<'_>,
    model: &ModelRef<'_>,
) {
    let Some(declared) = system
        .spec
        .models
        .iter()
        .find(|m| m.version == model.version && model.name.as_deref().is_none_or(|n| n == m.name))
        .and_then(|m| m.image.as_deref())
    else {
        return;
    };
    let Some(released) = ImageRef::parse(declared).filter(|r| r.digest.is_some()) else {
        return;
    };
    let wrong: Vec<&str> = workload
        .images
        .iter()
        .filter(|c| {
            c.reference()
                .is_some_and(|r| r.name == released.name && r.digest != released.digest)
        })
        .map(|c| c.image.as_ref())
        .collect();
    if !wrong.is_empty() {
        verdict.findings.push(Finding::new(
            Rule::ImageNotPinned,
            format!("{model} is declared as {declared}, but the workload runs {}", wrong.join(", ")),
            format!("deploy {declared}, or declare the new build in the AISystem's spec.models and have it assessed"),
        ));
    }
}
