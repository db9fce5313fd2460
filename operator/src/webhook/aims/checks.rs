//! What `/validate-aims` checks of each AIMS kind, after every mutation: content the API
//! server would also refuse, stamps that are the requester's own, decisions only their
//! groups make, and references to objects that exist.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::{Write, author, old_spec, specs};
use crate::engine::acceptance::check_acceptances;
use crate::engine::approval::{Requester, check_approval, check_author};
use crate::engine::relaxation::{SystemWrite, check_relaxation};
use crate::resources::{
    AIIncident, AIIncidentSpec, AIManagementSystem, AIManagementSystemSpec, AISystem,
    ControlBindingSpec, ImpactAssessmentSpec, InternalAudit, InternalAuditSpec,
    ManagementReviewSpec, Nonconformity, NonconformitySpec, validate_assessment, validate_binding,
    validate_incident, validate_organisation, validate_review,
};
use crate::webhook::Context;

/// Checks a write of kind `write.kind` by `who`.
pub(super) fn check_write(
    write: &Write,
    who: Requester,
    ctx: &Context,
    now: Timestamp,
) -> Result<(), String> {
    let old_author = write.old.as_ref().and_then(author);
    let new_author = author(&write.new);
    check_author(old_author, new_author, write.is_create, who)?;
    if let Some(writers) = ctx.policy.record_writers(&write.kind, who.groups) {
        return Err(format!(
            "{} records are written by {writers}; {} ({}) is not one. Ask one of them to record \
             it (or a platform owner to change the policy's groups)",
            write.kind,
            who.username,
            who.groups_phrase()
        ));
    }
    match write.kind.as_str() {
        "ImpactAssessment" => {
            let (new, old): (ImpactAssessmentSpec, _) = specs(write)?;
            validate_assessment(&new)?;
            let system = assessed_system(write, &new, ctx);
            check_approval(
                old.as_ref(),
                &new,
                system.as_ref(),
                new_author,
                who,
                &ctx.policy,
                now,
            )?;
            check_acceptances(old.as_ref(), &new, new_author, who, &ctx.policy)
        }
        "ControlBinding" => {
            let (new, old): (ControlBindingSpec, _) = specs(write)?;
            validate_binding(&new)?;
            check_acceptances(old.as_ref(), &new, new_author, who, &ctx.policy)
        }
        "AIManagementSystem" => {
            let aims: AIManagementSystem =
                serde_json::from_value(write.new.clone()).map_err(|e| e.to_string())?;
            validate_organisation(&aims)?;
            let (new, old): (AIManagementSystemSpec, _) = specs(write)?;
            check_acceptances(old.as_ref(), &new, new_author, who, &ctx.policy)
        }
        "Nonconformity" => {
            let record: Nonconformity =
                serde_json::from_value(write.new.clone()).map_err(|e| e.to_string())?;
            let old: Option<NonconformitySpec> = old_spec(write)?;
            ctx.cache.read(|s| {
                crate::engine::nonconformity::check_write(
                    s,
                    &record,
                    old.as_ref(),
                    who.username,
                    &ctx.policy,
                    now,
                )
            })
        }
        "AIIncident" => {
            let incident: AIIncident =
                serde_json::from_value(write.new.clone()).map_err(|e| e.to_string())?;
            validate_incident(&incident.spec)?;
            let old: Option<AIIncidentSpec> = old_spec(write)?;
            ctx.cache.read(|s| {
                crate::engine::incident::check_write(s, &incident, old.as_ref(), who.username)
            })
        }
        "InternalAudit" => {
            let audit: InternalAudit =
                serde_json::from_value(write.new.clone()).map_err(|e| e.to_string())?;
            let old: Option<InternalAuditSpec> = old_spec(write)?;
            ctx.cache
                .read(|s| crate::engine::audit::check_write(s, &audit, old.as_ref(), now))
        }
        "ManagementReview" => {
            let (new, _): (ManagementReviewSpec, _) = specs(write)?;
            validate_review(&new)?;
            crate::review_inputs::check_held(&new, now)
        }
        "AISystem" => {
            let (new, old) = systems(write)?;
            check_relaxation(
                &system_write(write, &new, old.as_ref(), ctx),
                who,
                &ctx.policy,
                now,
            )
        }
        _ => Ok(()),
    }
}

/// The spec of the AISystem an assessment references, as the cache holds it now.
pub(super) fn assessed_system(
    write: &Write,
    assessment: &ImpactAssessmentSpec,
    ctx: &Context,
) -> Option<crate::resources::AISystemSpec> {
    ctx.cache.read(|s| {
        s.system(&write.namespace, &assessment.system_ref)
            .map(|system| system.spec.clone())
    })
}

/// The new and the previous AISystem of a write, whole: the rules read annotations too.
pub(super) fn systems(write: &Write) -> Result<(AISystem, Option<AISystem>), String> {
    let read = |object: &Value, which: &str| {
        AISystem::deserialize(object).map_err(|e| format!("the {which} cannot be read: {e}"))
    };
    let new = read(&write.new, "AISystem")?;
    let old = write
        .old
        .as_ref()
        .map(|o| read(o, "previous AISystem"))
        .transpose()?;
    Ok((new, old))
}

pub(super) fn system_write<'a>(
    write: &Write,
    new: &'a AISystem,
    old: Option<&'a AISystem>,
    ctx: &Context,
) -> SystemWrite<'a> {
    let namespace = write.namespace.as_str();
    SystemWrite {
        old,
        new,
        baseline: ctx
            .cache
            .read(|s| crate::engine::namespace_mode(s, namespace, &ctx.policy).1),
    }
}
