//! Checks the API server makes through the CRD schema and CEL rules, repeated here so that
//! the offline check refuses the same objects `kubectl apply` would.

use super::{
    AIManagementSystem, Applicability, ControlBindingSpec, ControlEntry, ImpactAssessmentSpec,
    ORGANISATION_NAME, Treatment,
};

/// Validates an assessment spec; the error names the field and the fix.
pub fn validate_assessment(spec: &ImpactAssessmentSpec) -> Result<(), String> {
    if spec.system_ref.trim().is_empty() {
        return Err("spec.systemRef must name an AISystem".into());
    }
    for (i, risk) in spec.risks.iter().enumerate() {
        let ratings = [
            ("likelihood", Some(risk.likelihood)),
            ("severity", Some(risk.severity)),
            ("residualLikelihood", risk.residual_likelihood),
            ("residualSeverity", risk.residual_severity),
        ];
        for (field, value) in ratings {
            if let Some(v) = value
                && !(1..=5).contains(&v)
            {
                return Err(format!("spec.risks[{i}].{field} is {v}; it must be 1 to 5"));
            }
        }
        for control in &risk.controls {
            if crate::catalog::find(control).is_none() {
                return Err(format!(
                    "spec.risks[{i}].controls: {control} is not an Annex A control ID"
                ));
            }
        }
    }
    let accepts = spec.risks.iter().any(|r| r.treatment == Treatment::Accept);
    if accepts
        && spec
            .residual_risk_acceptance
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        return Err("a risk treated by acceptance needs spec.residualRiskAcceptance: say why the residual risk is acceptable".into());
    }
    Ok(())
}

/// Validates a control binding spec; the error names the field and the fix.
pub fn validate_binding(spec: &ControlBindingSpec) -> Result<(), String> {
    if spec.systems.is_empty() && spec.all_systems != Some(true) {
        return Err(
            "name at least one AI system in spec.systems, or set spec.allSystems: true".into(),
        );
    }
    if spec.controls.is_empty() {
        return Err("spec.controls is empty".into());
    }
    validate_entries(&spec.controls)
}

/// Validates the organisation's AI management system: its name, scope statement and
/// controls, which must be organisational ones.
pub fn validate_organisation(aims: &AIManagementSystem) -> Result<(), String> {
    let name = aims.metadata.name.as_deref().unwrap_or_default();
    if name != ORGANISATION_NAME {
        return Err(format!(
            "one AIManagementSystem per cluster, named {ORGANISATION_NAME} (not {name})"
        ));
    }
    if aims.spec.scope.statement.trim().is_empty() {
        return Err("spec.scope.statement: state what the AI management system covers".into());
    }
    validate_entries(&aims.spec.controls)?;
    for (i, entry) in aims.spec.controls.iter().enumerate() {
        if !crate::catalog::is_organisational(&entry.id) {
            return Err(format!(
                "spec.controls[{i}].id: {} is bound per AI system (in a ControlBinding), not organisation-wide; organisational controls are {}",
                entry.id,
                crate::catalog::ORGANISATIONAL.join(", ")
            ));
        }
    }
    Ok(())
}

/// Validates a nonconformity as the CRD's rules do: closed only with a root cause, a
/// corrective action and evidence.
pub fn validate_nonconformity(spec: &super::NonconformitySpec) -> Result<(), String> {
    if spec.description.is_empty() {
        return Err("spec.description: say what was found".into());
    }
    if spec
        .corrective_action
        .as_ref()
        .is_some_and(|a| a.description.is_empty())
    {
        return Err("spec.correctiveAction.description: say what is done".into());
    }
    let Some(closure) = &spec.closure else {
        return Ok(());
    };
    let filled = |s: Option<&str>| s.is_some_and(|s| !s.is_empty());
    if !filled(spec.root_cause.as_deref())
        || !filled(
            spec.corrective_action
                .as_ref()
                .map(|a| a.description.as_str()),
        )
    {
        return Err(
            "a nonconformity is closed only with spec.rootCause and spec.correctiveAction.description set"
                .into(),
        );
    }
    if closure.evidence.is_empty() {
        return Err("closing needs evidence that the action worked: spec.closure.evidence".into());
    }
    Ok(())
}

/// What the AIIncident CRD refuses, said the same way offline: required text filled, and
/// times in order (it happens, it is found, it is resolved).
pub fn validate_incident(spec: &super::AIIncidentSpec) -> Result<(), String> {
    if spec.system_ref.is_empty() {
        return Err("spec.systemRef: name the AI system affected".into());
    }
    if spec.description.is_empty() {
        return Err("spec.description: say what happened".into());
    }
    if spec.occurred_at.is_some_and(|at| at > spec.detected_at) {
        return Err(
            "spec.occurredAt is after spec.detectedAt: an incident is found after it happens"
                .into(),
        );
    }
    if let Some(resolution) = &spec.resolution {
        if resolution.resolved_at < spec.detected_at {
            return Err("spec.resolution.resolvedAt is before spec.detectedAt".into());
        }
        if resolution.summary.is_empty() {
            return Err("spec.resolution.summary: say how it was resolved".into());
        }
    }
    if let Some(i) = spec
        .notifications
        .iter()
        .position(|n| n.recipient.is_empty())
    {
        return Err(format!(
            "spec.notifications[{i}].recipient: say who was notified"
        ));
    }
    Ok(())
}

/// Validates an internal audit: the order of its dates, and findings with unique IDs that
/// name what tracks them when they are nonconformities.
pub fn validate_audit(spec: &super::InternalAuditSpec) -> Result<(), String> {
    if spec.scope.statement.trim().is_empty() {
        return Err("spec.scope.statement: say what the audit covered".into());
    }
    if spec.auditor.trim().is_empty() {
        return Err("spec.auditor: name who carried out the audit".into());
    }
    if spec.completed_at.is_some_and(|at| at < spec.started_at) {
        return Err("spec.completedAt is before spec.startedAt".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, finding) in spec.findings.iter().enumerate() {
        let at = format!("spec.findings[{i}]");
        if !is_dns_label(&finding.id) || finding.id.len() > 40 {
            return Err(format!(
                "{at}.id: {:?} must be lower-case letters, digits and dashes (at most 40)",
                finding.id
            ));
        }
        if !seen.insert(finding.id.as_str()) {
            return Err(format!("{at}.id: {} is listed twice", finding.id));
        }
        if finding.description.trim().is_empty() {
            return Err(format!("{at}.description: say what was found"));
        }
        for (field, value) in [
            ("system", &finding.system),
            ("nonconformity", &finding.nonconformity),
        ] {
            if let Some(value) = value
                && !is_object_ref(value)
            {
                return Err(format!("{at}.{field}: {value:?} is not namespace/name"));
            }
        }
        if finding.classification.severity().is_some()
            && finding.system.is_none()
            && finding.nonconformity.is_none()
        {
            return Err(format!(
                "{at} ({}): a nonconformity finding names the AI system it concerns (system: \
                 namespace/name; the operator opens its Nonconformity record) or the record \
                 opened for it (nonconformity: namespace/name)",
                finding.id
            ));
        }
    }
    Ok(())
}

/// Validates a management review: a chair, decisions and actions that say what, actions
/// with unique IDs and owners.
pub fn validate_review(spec: &super::ManagementReviewSpec) -> Result<(), String> {
    if spec.chair.trim().is_empty() {
        return Err("spec.chair: name who chaired the review".into());
    }
    if let Some(i) = spec
        .decisions
        .iter()
        .position(|d| d.description.trim().is_empty())
    {
        return Err(format!(
            "spec.decisions[{i}].description: say what was decided"
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, action) in spec.actions.iter().enumerate() {
        if action.id.is_empty() || !seen.insert(action.id.as_str()) {
            return Err(format!(
                "spec.actions[{i}].id: {:?} must be set and unique in the review",
                action.id
            ));
        }
        if action.description.trim().is_empty() || action.owner.trim().is_empty() {
            return Err(format!(
                "spec.actions[{i}] ({}): say what is to be done (description) and who owns it (owner)",
                action.id
            ));
        }
    }
    Ok(())
}

/// Whether `s` is a DNS label (lower case, digits, dashes; not at either end).
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `s` is `namespace/name` as Kubernetes names them.
fn is_object_ref(s: &str) -> bool {
    s.split_once('/').is_some_and(|(ns, name)| {
        is_dns_label(ns)
            && !name.starts_with('.')
            && !name.ends_with('.')
            && is_dns_label(&name.replace('.', "-"))
    })
}

/// Control IDs known, each listed once, exclusions justified.
fn validate_entries(controls: &[ControlEntry]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, entry) in controls.iter().enumerate() {
        if crate::catalog::find(&entry.id).is_none() {
            return Err(format!(
                "spec.controls[{i}].id: {} is not an Annex A control ID (A.2.2 to A.10.4)",
                entry.id
            ));
        }
        if !seen.insert(entry.id.as_str()) {
            return Err(format!(
                "spec.controls[{i}].id: {} is listed twice",
                entry.id
            ));
        }
        if entry.applicability == Applicability::Excluded
            && entry
                .justification
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            return Err(format!(
                "spec.controls[{i}] ({}): an excluded control needs a justification",
                entry.id
            ));
        }
    }
    Ok(())
}
