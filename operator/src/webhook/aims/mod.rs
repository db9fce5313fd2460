//! `/mutate` and `/validate-aims`: the AIMS resources themselves. The mutating webhook records
//! who wrote an object and who decided an approval or accepted an exclusion, from `userInfo`;
//! the validating webhook checks, after every mutation, that those records are exactly what
//! aims-operator would have written, so no annotation, field, patch or apply can forge them.

use jiff::Timestamp;
use kube::core::admission::Operation;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::review::{Answer, AuditKey, ReviewRequest, refuse};
use super::{Context, Decision};
use crate::engine::acceptance::{Accepted, acceptances_after_write};
use crate::engine::approval::{Requester, approval_after_write, author_after_write};
use crate::engine::relaxation::relaxation_after_write;
use crate::resources::{
    AIIncidentSpec, AIManagementSystemSpec, AUTHOR_ANNOTATION, ControlBindingSpec, GROUP,
    ImpactAssessmentSpec, NonconformitySpec, RELAXATION_ANNOTATION,
};

mod checks;

use checks::{assessed_system, check_write, system_write, systems};

/// The parts of an AIMS write the rules read.
struct Write {
    kind: String,
    namespace: String,
    is_create: bool,
    new: Value,
    old: Option<Value>,
}

fn author(object: &Value) -> Option<&str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(AUTHOR_ANNOTATION)?
        .as_str()
}

fn spec<T: DeserializeOwned>(object: &Value, which: &str) -> Result<T, String> {
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    serde_json::from_value(spec).map_err(|e| format!("the {which} spec cannot be read: {e}"))
}

/// The new and the previous spec of a write.
fn specs<T: DeserializeOwned>(write: &Write) -> Result<(T, Option<T>), String> {
    Ok((spec(&write.new, &write.kind)?, old_spec(write)?))
}

/// The previous spec of an update (`None` for a create).
fn old_spec<T: DeserializeOwned>(write: &Write) -> Result<Option<T>, String> {
    write
        .old
        .as_ref()
        .map(|o| spec(o, &format!("previous {}", write.kind)))
        .transpose()
}

enum Outcome {
    /// Not ours to judge (another group, a delete).
    Skip(&'static str),
    /// Refuse with a message.
    Refuse(String),
    /// Go on with the write.
    Write(Write),
}

fn read_write(request: &ReviewRequest) -> Outcome {
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return Outcome::Skip("deletes are never blocked");
    }
    if request.kind.group != GROUP {
        return Outcome::Skip("not an AIMS resource");
    }
    let new = match request.object() {
        Ok(Some(object)) => object,
        Ok(None) => return Outcome::Refuse("the review carries no object".to_string()),
        Err(e) => return Outcome::Refuse(e),
    };
    let old = match request.old_object() {
        Ok(old) => old,
        Err(e) => return Outcome::Refuse(e),
    };
    Outcome::Write(Write {
        kind: request.kind.kind.to_string(),
        namespace: request.namespace.as_deref().unwrap_or_default().to_string(),
        is_create: request.operation == Operation::Create,
        new,
        old,
    })
}

fn skip<'a>(request: &'a ReviewRequest<'_>, why: &str) -> Decision<'a> {
    let mut answer = Answer::allow(request);
    answer.audit(AuditKey::Decision, format!("not-judged: {why}"));
    Decision::new(answer, "not_judged")
}

/// Sets `object[parent][key]` (creating `parent`) or, for `None`, removes the key if present
/// (never creating an empty `parent`, which would show up in the patch).
fn set_nested(
    object: &mut serde_json::Map<String, Value>,
    parent: &str,
    key: &str,
    value: Option<String>,
) {
    match value {
        Some(value) => {
            let child = object
                .entry(parent)
                .or_insert_with(|| Value::Object(Default::default()));
            if !child.is_object() {
                *child = Value::Object(Default::default());
            }
            child[key] = Value::from(value);
        }
        None => {
            if let Some(child) = object.get_mut(parent).and_then(Value::as_object_mut) {
                child.remove(key);
            }
        }
    }
}

/// Sets annotation `key` of `object` (or removes it, for `None`).
fn annotate(object: &mut Value, key: &str, value: Option<String>) -> Result<(), String> {
    let metadata = object
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or("the object has no metadata")?;
    set_nested(metadata, "annotations", key, value);
    Ok(())
}

/// Sets `acceptedBy` (under `parent`, when given) on each entry of the list at `pointer`, or
/// removes it for `None`, and keeps the notes for the requester.
fn record_acceptances(
    desired: &mut Value,
    notes: &mut Vec<String>,
    pointer: &str,
    parent: Option<&str>,
    (accepted, more): (Vec<Option<String>>, Vec<String>),
) -> Result<(), String> {
    notes.extend(more);
    if accepted.is_empty() {
        return Ok(());
    }
    let entries = desired
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            format!(
                "the object has no {}",
                pointer.trim_start_matches('/').replace('/', ".")
            )
        })?;
    for (entry, accepted) in entries.iter_mut().zip(accepted) {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        match (parent, accepted) {
            (Some(parent), accepted) => set_nested(entry, parent, "acceptedBy", accepted),
            (None, Some(name)) => {
                entry.insert("acceptedBy".to_string(), Value::from(name));
            }
            (None, None) => {
                entry.remove("acceptedBy");
            }
        }
    }
    Ok(())
}

fn requester<'a>(request: &'a ReviewRequest<'_>) -> Requester<'a> {
    Requester {
        username: request.username(),
        groups: request.groups(),
    }
}

/// The object as aims-operator records it: author, approval stamps, exclusion acceptances.
fn recorded(
    write: &Write,
    who: Requester,
    ctx: &Context,
    now: Timestamp,
) -> Result<(Value, Vec<String>), String> {
    let mut desired = write.new.clone();
    let old_author = write.old.as_ref().and_then(author);
    let new_author = author_after_write(old_author, write.is_create, who);
    // A request that names an author other than the recorded one is refused, not quietly
    // corrected: kubectl would otherwise report "annotated" for a change that never happened.
    // Leaving the annotation out (a manifest that never had it) keeps the recorded author.
    if let Some(claimed) = author(&write.new).filter(|a| !a.is_empty())
        && Some(claimed) != new_author.as_deref()
    {
        return Err(format!(
            "the annotation {AUTHOR_ANNOTATION} records who created the object and cannot be set or \
             changed (it is {}, the request says {claimed}); remove it from the manifest",
            new_author.as_deref().unwrap_or("unset")
        ));
    }
    annotate(&mut desired, AUTHOR_ANNOTATION, new_author.clone())?;
    let mut notes = Vec::new();
    match write.kind.as_str() {
        "ImpactAssessment" => {
            let (new, old): (ImpactAssessmentSpec, _) = specs(write)?;
            let system = assessed_system(write, &new, ctx);
            let approval = approval_after_write(
                old.as_ref(),
                &new,
                system.as_ref(),
                new_author.as_deref(),
                who,
                &ctx.policy,
                now,
            )?;
            if approval != new.approval {
                let value = serde_json::to_value(&approval).map_err(|e| e.to_string())?;
                match (
                    value,
                    desired.get_mut("spec").and_then(Value::as_object_mut),
                ) {
                    (Value::Null, Some(spec)) => {
                        spec.remove("approval");
                    }
                    (value, Some(spec)) => {
                        spec.insert("approval".to_string(), value);
                    }
                    (_, None) => return Err("the object has no spec".to_string()),
                }
            }
            let decided = acceptances_after_write(
                old.as_ref(),
                &new,
                new_author.as_deref(),
                who,
                &ctx.policy,
            )?;
            record_acceptances(&mut desired, &mut notes, "/spec/risks", None, decided)?;
        }
        kind @ ("ControlBinding" | "AIManagementSystem") => {
            let author = new_author.as_deref();
            let decided = if kind == "ControlBinding" {
                exclusions::<ControlBindingSpec>(write, author, who, ctx)?
            } else {
                exclusions::<AIManagementSystemSpec>(write, author, who, ctx)?
            };
            record_acceptances(
                &mut desired,
                &mut notes,
                "/spec/controls",
                Some("exclusion"),
                decided,
            )?;
        }
        "Nonconformity" => {
            let (new, old): (NonconformitySpec, _) = specs(write)?;
            let closure = crate::engine::nonconformity::closure_after_write(
                old.as_ref(),
                &new,
                who.username,
                now,
            );
            if closure != new.closure {
                stamp(&mut desired, "closure", closure)?;
            }
        }
        "AIIncident" => {
            let (new, old): (AIIncidentSpec, _) = specs(write)?;
            let resolution =
                crate::engine::incident::resolution_after_write(old.as_ref(), &new, who.username);
            if resolution != new.resolution {
                stamp(&mut desired, "resolution", resolution)?;
            }
        }
        "AISystem" => {
            let (new, old) = systems(write)?;
            let after = relaxation_after_write(
                &system_write(write, &new, old.as_ref(), ctx),
                who,
                &ctx.policy,
                now,
            )?;
            notes.extend(after.warnings);
            annotate(&mut desired, RELAXATION_ANNOTATION, after.annotation)?;
        }
        _ => {}
    }
    Ok((desired, notes))
}

/// Puts the stamped `record` (a closure, a resolution) at `spec[field]` of `desired`.
fn stamp<T: serde::Serialize>(
    desired: &mut Value,
    field: &str,
    record: Option<T>,
) -> Result<(), String> {
    if let (Some(record), Some(spec)) = (
        record,
        desired.get_mut("spec").and_then(Value::as_object_mut),
    ) {
        let value = serde_json::to_value(&record).map_err(|e| e.to_string())?;
        spec.insert(field.to_string(), value);
    }
    Ok(())
}

/// The exclusion acceptances a binding or the AIManagementSystem carries after this write.
fn exclusions<T: Accepted + DeserializeOwned>(
    write: &Write,
    author: Option<&str>,
    who: Requester,
    ctx: &Context,
) -> Result<(Vec<Option<String>>, Vec<String>), String> {
    let (new, old): (T, _) = specs(write)?;
    acceptances_after_write(old.as_ref(), &new, author, who, &ctx.policy)
}

/// `/mutate`: records author, approval stamps and exclusion acceptances as a JSON patch.
pub fn mutate<'a>(ctx: &Context, request: &'a ReviewRequest<'_>, now: Timestamp) -> Decision<'a> {
    let write = match read_write(request) {
        Outcome::Skip(why) => return skip(request, why),
        Outcome::Refuse(message) => return Decision::new(refuse(request, message), "invalid"),
        Outcome::Write(write) => write,
    };
    // The status subresource ignores spec and metadata changes; nothing to record.
    if request.sub_resource.is_some() {
        return skip(request, "subresource");
    }
    let who = requester(request);
    let (desired, notes) = match recorded(&write, who, ctx, now) {
        Ok(r) => r,
        Err(message) => return Decision::new(refuse(request, message), "denied"),
    };
    let patch = json_patch::diff(&write.new, &desired);
    let mut response = Answer::allow(request);
    if !notes.is_empty() {
        response.warnings = Some(notes);
    }
    response.audit(AuditKey::Decision, "recorded");
    if !patch.0.is_empty() {
        response = match response.with_patch(&patch) {
            Ok(r) => r,
            Err(e) => return Decision::new(refuse(request, e), "invalid"),
        };
    }
    Decision::new(response, "allowed")
}

/// `/validate-aims`: the final object must carry exactly what aims-operator records, status
/// is written only by aims-operator, and the content must pass the same checks as offline.
pub fn validate<'a>(ctx: &Context, request: &'a ReviewRequest<'_>, now: Timestamp) -> Decision<'a> {
    let write = match read_write(request) {
        Outcome::Skip(why) => return skip(request, why),
        Outcome::Refuse(message) => return Decision::new(refuse(request, message), "invalid"),
        Outcome::Write(write) => write,
    };
    let who = requester(request);
    let user = who.username;
    if request.sub_resource.as_deref() == Some("status") {
        if ctx.status_writers.iter().any(|w| w == user) {
            return Decision::new(Answer::allow(request), "allowed");
        }
        return Decision::new(
            refuse(
                request,
                format!(
                    "the status of {} {} is computed by aims-operator from its spec and recorded decisions; \
                     {user} cannot write it. Change the spec instead (or, for an approval, ask {} to approve it).",
                    write.kind,
                    request.name,
                    ctx.policy.approvers_phrase()
                ),
            ),
            "denied",
        );
    }
    let checked = check_write(&write, who, ctx, now);
    match checked {
        Ok(()) => Decision::new(Answer::allow(request), "allowed"),
        Err(message) => Decision::new(
            refuse(
                request,
                format!("{} {} is refused: {message}", write.kind, request.name),
            ),
            "denied",
        ),
    }
}
