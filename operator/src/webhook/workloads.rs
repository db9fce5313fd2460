//! `/validate`: the decision for a model deployment, exactly the engine's verdict, plus the
//! parts only a live request has: who is asking (break-glass), dry runs, scale and delete.

use jiff::Timestamp;
use kube::core::admission::Operation;
use serde_json::Value;

use super::review::{Answer, AuditKey, ReviewRequest, refuse};
use super::{Context, Decision};
use crate::engine::Snapshot;
use crate::engine::workload::WorkloadError;
use crate::engine::{
    BreakGlassOutcome, Scope, Verdict, Workload, apply_break_glass, evaluate_workload,
    unreadable_verdict,
};

/// What a review is about, for the starting message and logs.
pub(super) fn subject(request: &ReviewRequest) -> String {
    format!(
        "{} {}/{}",
        request.kind.kind,
        request.namespace.as_deref().unwrap_or("-"),
        request.name
    )
}

fn not_judged<'a>(request: &'a ReviewRequest<'_>, why: &str) -> Decision<'a> {
    let mut answer = Answer::allow(request);
    answer.audit(AuditKey::Decision, "not-judged");
    answer.audit(AuditKey::Reason, why.to_string());
    Decision::new(answer, "not_judged")
}

fn starting<'a>(ctx: &Context, request: &'a ReviewRequest<'_>) -> Decision<'a> {
    Decision::new(
        refuse(
            request,
            format!(
                "aims-operator is starting: its caches of {} have not synced yet, so it cannot judge {} and, \
                 in doubt, refuses it. Retry in a few seconds; if this persists, check the aims-operator \
                 pods (kubectl -n {} logs deploy/aims-operator).",
                ctx.cache.pending().join(", "),
                subject(request),
                ctx.operator_namespace
            ),
        ),
        "denied",
    )
}

/// Judges a workload review.
pub fn review_workload<'a>(
    ctx: &Context,
    request: &'a ReviewRequest<'_>,
    now: Timestamp,
) -> Decision<'a> {
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return not_judged(request, "deletes are never blocked");
    }
    let namespace = request.namespace.as_deref().unwrap_or_default();
    if ctx.policy.exempt_namespaces.iter().any(|n| n == namespace) {
        return not_judged(request, "namespace is exempt");
    }
    match request.sub_resource.as_deref() {
        None => {}
        Some("scale") => return review_scale(ctx, request, namespace, now),
        Some("status") => return not_judged(request, "status writes do not change what runs"),
        // Any other subresource is judged on the object it carries, like an update.
        Some(_) => {}
    }
    let Some(object) = request.object_text() else {
        return Decision::new(
            refuse(request, "the review carries no object to judge"),
            "invalid",
        );
    };
    let read = Workload::from_json(object, namespace);
    if let Err(WorkloadError::NotJson(message)) = &read {
        let message = format!("the object cannot be read, so it is refused: {message}");
        return Decision::new(refuse(request, message), "invalid");
    }
    if !ctx.cache.is_synced() {
        return starting(ctx, request);
    }
    let verdict = match read {
        Ok(mut workload) => {
            // Only the built-in controllers create objects judged at their owner; from
            // anyone else an owner reference is a claim, and the object is judged itself.
            if workload.controller.is_some()
                && !ctx.policy.is_trusted_controller(request.username())
            {
                workload.controller = None;
            }
            judge(ctx, request, &workload, now).into_owned()
        }
        Err(WorkloadError::NotAWorkload(kind)) => {
            return not_judged(request, &format!("{kind} is not a workload kind"));
        }
        Err(WorkloadError::NoKind) => {
            return Decision::new(refuse(request, "the object has no kind"), "invalid");
        }
        Err(error) => {
            // The object is JSON (the review was read), so the tree names it for the refusal.
            let tree: Value = serde_json::from_str(object).unwrap_or_default();
            ctx.cache
                .read(|s| unreadable_verdict(s, &tree, namespace, &error, &ctx.policy))
        }
    };
    from_verdict(request, verdict)
}

/// The engine's verdict on a workload, with break-glass applied for the requesting user.
fn judge<'w>(
    ctx: &Context,
    request: &ReviewRequest<'_>,
    workload: &'w Workload<'_>,
    now: Timestamp,
) -> Verdict<'w> {
    ctx.cache.read(|s| judge_in(s, ctx, request, workload, now))
}

/// [`judge`] in a snapshot already read.
fn judge_in<'w>(
    snapshot: &Snapshot,
    ctx: &Context,
    request: &ReviewRequest<'_>,
    workload: &'w Workload<'_>,
    now: Timestamp,
) -> Verdict<'w> {
    let verdict = evaluate_workload(snapshot, workload, &ctx.policy, now);
    let (user, groups) = (request.username(), request.groups());
    apply_break_glass(verdict, workload, user, groups, &ctx.policy, now)
}

fn replicas(object: Option<&Value>) -> Option<i64> {
    object?.get("spec")?.get("replicas").and_then(Value::as_i64)
}

/// A `scale` request carries a Scale, not the workload: fewer replicas are always allowed;
/// more are judged on the workload as last written, exactly like an update of it.
fn review_scale<'a>(
    ctx: &Context,
    request: &'a ReviewRequest<'_>,
    namespace: &str,
    now: Timestamp,
) -> Decision<'a> {
    let wanted = replicas(request.object().ok().flatten().as_ref());
    let old = request.old_object().ok().flatten();
    let had = replicas(old.as_ref());
    match (wanted, had) {
        (Some(0), _) => return not_judged(request, "scaling to zero is always allowed"),
        (Some(w), Some(h)) if w <= h => {
            return not_judged(request, "scaling down is always allowed");
        }
        _ => {}
    }
    let kind = match request.resource.resource.as_ref() {
        "deployments" => "Deployment",
        "statefulsets" => "StatefulSet",
        "replicasets" => "ReplicaSet",
        other => return not_judged(request, &format!("scale of {other} is not judged")),
    };
    if !ctx.cache.is_synced() {
        return starting(ctx, request);
    }
    let verdict = ctx.cache.read(|s| {
        s.workload(kind, namespace, &request.name)
            .map(|workload| judge_in(s, ctx, request, workload, now).into_owned())
    });
    match verdict {
        Some(verdict) => from_verdict(request, verdict),
        None => not_judged(
            request,
            &format!(
                "{kind} {namespace}/{} carries no aims.io/system label",
                request.name
            ),
        ),
    }
}

/// A result label as audit annotations spell it (`not-judged` for `not_judged`).
fn audit_result(result: &'static str) -> &'static str {
    match result {
        "not_judged" => "not-judged",
        "break_glass" => "break-glass",
        other => other,
    }
}

/// The result label of a verdict for metrics and audit.
fn result_of(verdict: &Verdict<'_>) -> &'static str {
    use crate::resources::EnforcementMode;
    match (&verdict.scope, verdict.findings.is_empty(), verdict.allowed) {
        (Scope::NotJudged(_), _, _) => "not_judged",
        (_, true, _) => "allowed",
        (_, false, false) => "denied",
        _ if matches!(
            verdict.break_glass,
            Some(BreakGlassOutcome::Honoured { .. })
        ) =>
        {
            "break_glass"
        }
        _ if verdict.mode == EnforcementMode::Audit => "audited",
        _ => "warned",
    }
}

/// Turns the engine's verdict into the admission response: the message in `status.message`,
/// warnings when admitted in spite of findings, and audit annotations on every decision. The
/// verdict's names move into the annotations rather than being copied.
pub fn from_verdict<'a>(request: &'a ReviewRequest<'_>, mut verdict: Verdict<'a>) -> Decision<'a> {
    let result = result_of(&verdict);
    let mut response = if verdict.allowed {
        Answer::allow(request)
    } else {
        refuse(request, verdict.message())
    };
    if verdict.allowed && !verdict.findings.is_empty() && result != "audited" {
        let mut warnings = vec![verdict.headline()];
        warnings.extend(verdict.warnings());
        response.warnings = Some(warnings);
    }
    response.audit(AuditKey::Decision, audit_result(result));
    response.audit(AuditKey::Mode, verdict.mode.as_str());
    if let Scope::NotJudged(reason) = &mut verdict.scope {
        response.audit(AuditKey::Reason, std::mem::take(reason));
    }
    if !verdict.findings.is_empty() {
        response.audit(AuditKey::Rules, verdict.rule_ids());
    }
    if let Some(system) = verdict.system.take() {
        response.audit(AuditKey::System, system);
    }
    if let Some(model) = &verdict.model {
        response.audit(AuditKey::Model, model.text());
    }
    if let Some(assessment) = verdict.assessment.take() {
        response.audit(AuditKey::Assessment, assessment);
    }
    let mut decision = Decision::new(response, result);
    decision.rules = verdict.findings.iter().map(|f| f.rule.id()).collect();
    if let Some(BreakGlassOutcome::Honoured {
        reason,
        expires,
        by,
    }) = &verdict.break_glass
    {
        decision.response.audit(
            AuditKey::BreakGlass,
            format!("{by} until {expires}: {reason}"),
        );
        decision.break_glass = Some(super::BreakGlassUse {
            kind: verdict.kind.to_string(),
            namespace: verdict.namespace.to_string(),
            name: verdict.name.to_string(),
            by: by.clone(),
            reason: reason.clone(),
            expires: *expires,
            rules: verdict.rule_ids(),
        });
    }
    decision
}
