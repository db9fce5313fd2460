//! Nobody who is subject to the gate can weaken it: an AISystem's values that ask less than
//! its namespace and tier (a weaker mode, unpinned images, a lower risk tier, a revived
//! retired system) count only when someone who decides such things made or approved them,
//! under authenticated identity, and never when that person wrote the system. Each row of the
//! table in docs/threats.md ("Weakening the gate") is tested here under each identity.
use crate::{harness, support};

use std::collections::BTreeMap;

use aims_operator::engine::status::{evaluate_system, types};
use aims_operator::engine::{Snapshot, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use serde_json::{Value, json};

use harness::{InProcess, as_user, in_process_snapshot};
use support::*;

const ALICE: (&str, &[&str]) = ("alice", &["dev-team", "system:authenticated"]);
const DAVE: (&str, &[&str]) = ("dave", &["dev-team", "system:authenticated"]);
const BOB: (&str, &[&str]) = ("bob", &["ai-approvers", "system:authenticated"]);
const PAT: (&str, &[&str]) = ("pat", &["aims-platform-owners", "system:authenticated"]);
const PAM: (&str, &[&str]) = ("pam", &["aims-platform-owners", "system:authenticated"]);
const ARGO: (&str, &[&str]) = (
    "system:serviceaccount:argocd:argocd-application-controller",
    &[
        "system:serviceaccounts",
        "system:serviceaccounts:argocd",
        "system:authenticated",
    ],
);

fn namespace_in(mode: &str) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.add_namespace(
        NS,
        BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), mode.to_string())]),
    );
    snapshot
}

fn system_object(tier: &str, stage: &str, extra: Value) -> Value {
    let mut object = json!({
        "apiVersion": "aims.io/v1alpha1", "kind": "AISystem",
        "metadata": {"name": "scorer", "namespace": NS},
        "spec": {"displayName": "Scorer", "riskTier": tier, "lifecycleStage": stage,
                 "owner": {"name": "Owner"}}
    });
    for (key, value) in extra.as_object().unwrap() {
        object["spec"][key] = value.clone();
    }
    object
}

fn system_review(who: (&str, &[&str]), old: Option<&Value>, object: Value) -> Value {
    let mut review = fixture("custom-resource-create.json");
    review["request"]["kind"] =
        json!({"group": "aims.io", "version": "v1alpha1", "kind": "AISystem"});
    review["request"]["resource"] =
        json!({"group": "aims.io", "version": "v1alpha1", "resource": "aisystems"});
    review["request"]["namespace"] = json!(NS);
    review["request"]["name"] = json!("scorer");
    review["request"]["operation"] = json!(if old.is_some() { "UPDATE" } else { "CREATE" });
    review["request"]["oldObject"] = old.cloned().unwrap_or(Value::Null);
    review["request"]["object"] = object;
    as_user(review, who.0, who.1)
}

fn relaxation(object: &Value) -> Option<Relaxation> {
    object["metadata"]["annotations"][RELAXATION_ANNOTATION]
        .as_str()
        .map(|text| Relaxation::parse(text).expect("a relaxation the webhook wrote"))
}

fn warnings(outcome: &harness::Outcome) -> String {
    outcome.mutate["warnings"].to_string()
}

/// Writes `object` as `who` over `old`, expecting it stored; returns what was stored.
async fn stored(
    h: &mut InProcess,
    who: (&str, &[&str]),
    old: Option<&Value>,
    object: Value,
) -> (Value, String) {
    let outcome = h.write(&system_review(who, old, object)).await;
    let warnings = warnings(&outcome);
    match outcome.stored.clone() {
        Some(stored) => (stored, warnings),
        None => panic!("{} was refused: {}", who.0, outcome.refusal()),
    }
}

#[tokio::test]
async fn a_mode_weaker_than_the_namespace_is_honoured_only_once_another_platform_owner_approves_it()
{
    let mut h = in_process_snapshot(namespace_in("enforce"));
    let audit = || system_object("Limited", "Operation", json!({"enforcement": "Audit"}));

    // The author asks for audit: kept (GitOps keeps syncing), counts for nothing, and the
    // answer says so and who decides.
    let (created, warned) = stored(&mut h, ALICE, None, audit()).await;
    assert_eq!(relaxation(&created), None);
    assert!(warned.contains("spec.enforcement audit (instead of enforce) is decided by a member of aims-platform-owners (alice has groups dev-team)"), "{warned}");
    assert!(
        warned.contains(
            "kubectl -n ml annotate aisystem scorer aims.io/relaxation=approve --overwrite"
        ),
        "{warned}"
    );

    // Another developer, an approver and the GitOps controller's ServiceAccount decide nothing.
    for who in [DAVE, BOB, ARGO] {
        let (after, warned) = stored(&mut h, who, Some(&created), audit()).await;
        assert_eq!(relaxation(&after), None, "{}", who.0);
        assert!(
            warned.contains(&format!("({} has", who.0)),
            "{}: {warned}",
            who.0
        );
    }

    // A platform owner approves by annotation: stamped with who and when, nothing else.
    let mut asked = created.clone();
    asked["metadata"]["annotations"][RELAXATION_ANNOTATION] = json!("approve");
    let (approved, _) = stored(&mut h, PAT, Some(&created), asked).await;
    let stamp = relaxation(&approved).expect("stamped");
    assert_eq!(
        stamp,
        Relaxation {
            enforcement: Some(Approved::new(EnforcementMode::Audit, "pat", now())),
            ..Default::default()
        }
    );

    // The author's later edits keep it, and tightening within it needs nobody.
    let mut edited = approved.clone();
    edited["spec"]["displayName"] = json!("Scorer v2");
    edited["spec"]["enforcement"] = json!("Warn");
    let (kept, warned) = stored(&mut h, ALICE, Some(&approved), edited).await;
    assert_eq!(relaxation(&kept), Some(stamp.clone()));
    assert_eq!(warned, "null", "nothing to warn about");

    // A platform owner who wrote the system cannot approve its relaxation.
    let (own, warned) = stored(&mut h, PAM, None, audit()).await;
    assert_eq!(relaxation(&own), None);
    assert!(
        warned.contains("pam created this AISystem and cannot approve its own"),
        "{warned}"
    );
}

#[tokio::test]
async fn lowering_the_risk_tier_or_reviving_a_retired_system_is_refused_except_from_an_approver() {
    let mut h = in_process_snapshot(namespace_in("enforce"));
    let (high, _) = stored(
        &mut h,
        ALICE,
        None,
        system_object("High", "Operation", json!({})),
    )
    .await;
    let minimal = {
        let mut o = high.clone();
        o["spec"]["riskTier"] = json!("Minimal");
        o
    };
    for who in [ALICE, DAVE, PAT, ARGO] {
        let outcome = h
            .write(&system_review(who, Some(&high), minimal.clone()))
            .await;
        assert!(outcome.stored.is_none(), "{} lowered the tier", who.0);
        assert!(
            outcome.refusal().contains(
                "spec.riskTier Minimal (instead of High) is decided by a member of ai-approvers"
            ),
            "{}",
            outcome.refusal()
        );
    }
    let (lowered, _) = stored(&mut h, BOB, Some(&high), minimal).await;
    let stamp = relaxation(&lowered).expect("stamped");
    assert_eq!(
        stamp.risk_tier,
        Some(Approved::new(RiskTier::Minimal, "bob", now()))
    );
    // Raising it again is always allowed; coming back down to the approved tier needs nobody.
    let mut raised = lowered.clone();
    raised["spec"]["riskTier"] = json!("High");
    let (raised, _) = stored(&mut h, ALICE, Some(&lowered), raised).await;
    let mut back = raised.clone();
    back["spec"]["riskTier"] = json!("Minimal");
    stored(&mut h, ALICE, Some(&raised), back).await;

    let (retired, _) = stored(
        &mut h,
        ALICE,
        None,
        system_object("Limited", "Retired", json!({})),
    )
    .await;
    let mut revived = retired.clone();
    revived["spec"]["lifecycleStage"] = json!("Operation");
    for who in [ALICE, DAVE, PAT, ARGO] {
        let outcome = h
            .write(&system_review(who, Some(&retired), revived.clone()))
            .await;
        assert!(outcome.refusal().contains("spec.lifecycleStage Operation (instead of Retired) is decided by a member of ai-approvers"), "{}: {}", who.0, outcome.refusal());
    }
    let (revived, _) = stored(&mut h, BOB, Some(&retired), revived).await;
    assert_eq!(
        relaxation(&revived).unwrap().lifecycle_stage,
        Some(Approved::new(LifecycleStage::Operation, "bob", now()))
    );

    // Each value is approved by whoever decides it: bob the tier (the mode he cannot decide
    // stays unapproved, with a warning), then pat the mode; each entry names its approver.
    let (both, _) = stored(
        &mut h,
        ALICE,
        None,
        system_object("High", "Operation", json!({"enforcement": "Audit"})),
    )
    .await;
    let mut lower = both.clone();
    lower["spec"]["riskTier"] = json!("Limited");
    let (lower, warned) = stored(&mut h, BOB, Some(&both), lower).await;
    assert!(warned.contains("spec.enforcement audit (instead of enforce) is decided by a member of aims-platform-owners (bob has groups ai-approvers)"), "{warned}");
    let mut asked = lower.clone();
    asked["metadata"]["annotations"][RELAXATION_ANNOTATION] = json!("approve");
    let (approved, _) = stored(&mut h, PAT, Some(&lower), asked).await;
    assert_eq!(
        relaxation(&approved),
        Some(Relaxation {
            enforcement: Some(Approved::new(EnforcementMode::Audit, "pat", now())),
            risk_tier: Some(Approved::new(RiskTier::Limited, "bob", now())),
            ..Default::default()
        })
    );
}

#[tokio::test]
async fn unpinned_images_count_only_once_a_platform_owner_who_did_not_write_the_system_approves() {
    let mut h = in_process_snapshot(namespace_in("enforce"));
    let unpinned = || system_object("High", "Operation", json!({"requireImageDigest": false}));
    let (created, warned) = stored(&mut h, ALICE, None, unpinned()).await;
    assert!(
        warned.contains("spec.requireImageDigest false (instead of true, as the policy requires for High risk) is decided by a member of aims-platform-owners"),
        "{warned}"
    );
    for who in [ALICE, DAVE, BOB, ARGO] {
        let (after, warned) = stored(&mut h, who, Some(&created), unpinned()).await;
        assert_eq!(relaxation(&after), None, "{}", who.0);
        assert!(
            warned.contains("spec.requireImageDigest"),
            "{}: {warned}",
            who.0
        );
    }
    // A platform owner's write of the same object approves it (no annotation needed).
    let (approved, warned) = stored(&mut h, PAT, Some(&created), unpinned()).await;
    assert_eq!(warned, "null");
    assert_eq!(
        relaxation(&approved).and_then(|r| r.require_image_digest),
        Some(Approved::new(false, "pat", now()))
    );
    // The same platform owner's own system: not approved.
    let (own, _) = stored(&mut h, PAT, None, unpinned()).await;
    assert_eq!(relaxation(&own), None);
}

#[tokio::test]
async fn the_relaxation_record_cannot_be_forged_or_asked_for_by_anyone_else() {
    let mut h = in_process_snapshot(namespace_in("enforce"));
    let (created, _) = stored(
        &mut h,
        ALICE,
        None,
        system_object(
            "High",
            "Operation",
            json!({"enforcement": "Audit", "requireImageDigest": false}),
        ),
    )
    .await;
    let forged_stamp = Relaxation {
        enforcement: Some(Approved::new(EnforcementMode::Audit, "pat", now())),
        require_image_digest: Some(Approved::new(false, "pat", now())),
        ..Default::default()
    };
    let with = |value: String| {
        let mut o = created.clone();
        o["metadata"]["annotations"][RELAXATION_ANNOTATION] = json!(value);
        o
    };
    // Written by the author through both webhooks, or straight to the validating one (as if
    // the mutating webhook were not registered): refused.
    for value in [forged_stamp.to_annotation(), "approve".to_string()] {
        let outcome = h
            .write(&system_review(ALICE, Some(&created), with(value.clone())))
            .await;
        assert!(outcome.stored.is_none(), "{value}");
        assert!(
            outcome
                .refusal()
                .contains("is decided by a member of aims-platform-owners"),
            "{}",
            outcome.refusal()
        );
    }
    let answer = h
        .validate_only(&system_review(
            ALICE,
            Some(&created),
            with(forged_stamp.to_annotation()),
        ))
        .await;
    assert_eq!(answer["allowed"], false);
    assert!(
        answer["status"]["message"]
            .as_str()
            .unwrap()
            .contains("recorded by aims-operator")
    );

    // The platform owner's stamp covers both values, and the API server calling the mutating
    // webhook again with it changes nothing.
    let (approved, _) = stored(&mut h, PAT, Some(&created), with("approve".into())).await;
    assert_eq!(relaxation(&approved), Some(forged_stamp.clone()));
    let outcome = h
        .write(&system_review(PAT, Some(&created), approved.clone()))
        .await;
    assert!(outcome.mutate["patch"].is_null(), "{}", outcome.mutate);
    assert_eq!(outcome.stored.as_ref(), Some(&approved));
    // The same stamp from another developer is a forgery.
    let outcome = h
        .write(&system_review(DAVE, Some(&created), approved.clone()))
        .await;
    assert!(outcome.stored.is_none());

    // Asking for a decision where nothing weakens the gate is refused, saying so.
    let (plain, _) = stored(
        &mut h,
        ALICE,
        None,
        system_object("Minimal", "Operation", json!({})),
    )
    .await;
    let mut asked = plain.clone();
    asked["metadata"]["annotations"][RELAXATION_ANNOTATION] = json!("approve");
    let outcome = h.write(&system_review(PAT, Some(&plain), asked)).await;
    assert!(
        outcome
            .refusal()
            .contains("no value of this AISystem weakens the gate"),
        "{}",
        outcome.refusal()
    );
}

/// The engine side, shared by webhook, reconciler, `check` and the SoA.
mod engine {
    use super::*;

    fn stamp_by(who: &str, mode: Option<EnforcementMode>, digest: Option<bool>) -> Relaxation {
        let at = ts("2026-11-01T00:00:00Z");
        Relaxation {
            enforcement: mode.map(|m| Approved::new(m, who, at)),
            require_image_digest: digest.map(|d| Approved::new(d, who, at)),
            ..Default::default()
        }
    }

    fn asking(mode: EnforcementMode) -> AISystem {
        let mut s = system("s");
        s.spec.enforcement = Some(mode);
        s.metadata
            .annotations
            .get_or_insert_default()
            .insert(AUTHOR_ANNOTATION.into(), "alice".into());
        s
    }

    /// The mode applied to an unassessed model of the system, and its RelaxationsApproved
    /// condition.
    fn outcome(namespace_mode: &str, system: AISystem) -> (EnforcementMode, bool, String) {
        let mut snapshot = namespace_in(namespace_mode);
        snapshot.add_system(system.clone());
        let d = deployment("d", Some("s"), Some("1.0.0"), &model_image());
        let verdict = evaluate_object(&snapshot, &d, NS, &Policy::default(), now()).unwrap();
        assert!(!verdict.findings.is_empty(), "the model is not assessed");
        let condition = evaluate_system(&snapshot, &system, &Policy::default(), now())
            .conditions
            .into_iter()
            .find(|c| c.type_ == types::RELAXATIONS_APPROVED)
            .unwrap();
        (verdict.mode, condition.met, condition.message)
    }

    #[test]
    fn an_unapproved_weaker_mode_counts_for_nothing_and_status_gives_the_fix() {
        use EnforcementMode::*;
        let (mode, met, message) = outcome("enforce", asking(Audit));
        assert_eq!((mode, met), (Enforce, false));
        assert_eq!(
            message,
            "not approved, so the stricter value applies: spec.enforcement audit (instead of enforce). \
             A member of aims-platform-owners approves with: \
             kubectl -n ml annotate aisystem s aims.io/relaxation=approve --overwrite (or remove the value)"
        );
        // The refusal says why the system's own mode did not apply, in warn mode too.
        let judged = |namespace_mode: &str, system: AISystem| {
            let mut snapshot = namespace_in(namespace_mode);
            snapshot.add_system(system);
            let d = deployment("d", Some("s"), Some("1.0.0"), &model_image());
            evaluate_object(&snapshot, &d, NS, &Policy::default(), now()).unwrap()
        };
        let note = "AISystem \"s\" asks for audit mode instead of enforce, which counts only once a member \
                    of aims-platform-owners approves it: kubectl -n ml annotate aisystem s aims.io/relaxation=approve --overwrite";
        assert!(judged("enforce", asking(Audit)).message().ends_with(note));
        let warned = judged("warn", asking(Audit)).warnings();
        assert!(
            warned
                .last()
                .unwrap()
                .contains("asks for audit mode instead of warn"),
            "{warned:?}"
        );

        let approved = |floor| with_relaxation(asking(Audit), &stamp_by("pat", Some(floor), None));
        assert_eq!(outcome("enforce", approved(Audit)).0, Audit);
        assert!(outcome("enforce", approved(Audit)).1);
        // A stamp for warn does not cover audit; one by the author counts for nothing.
        assert_eq!(outcome("enforce", approved(Warn)).0, Enforce);
        let own = with_relaxation(asking(Audit), &stamp_by("alice", Some(Audit), None));
        assert_eq!(outcome("enforce", own).0, Enforce);
        // Stricter than the namespace needs nobody; equal or no namespace label: the default.
        assert_eq!(
            outcome("audit", asking(Enforce)),
            (
                Enforce,
                true,
                "no value asks less of the gate than the namespace and the tier do".into()
            )
        );
        assert_eq!(outcome("warn", asking(Audit)).0, Warn);
    }

    #[test]
    fn unpinned_images_where_the_tier_requires_digests_need_an_approval() {
        let tagged = "reg/m:1.0.0";
        let judge = |system: AISystem| {
            let mut snapshot = namespace_in("enforce");
            snapshot.add_system(system);
            let d = deployment("d", Some("s"), Some("1.0.0"), tagged);
            let verdict = evaluate_object(&snapshot, &d, NS, &Policy::default(), now()).unwrap();
            verdict
                .findings
                .iter()
                .any(|f| f.message.contains("pinned by digest"))
        };
        let mut high = system("s");
        high.spec.risk_tier = RiskTier::High;
        high.spec.require_image_digest = Some(false);
        assert!(judge(high.clone()), "unapproved: digests still required");
        assert!(!judge(with_relaxation(
            high.clone(),
            &stamp_by("pat", None, Some(false))
        )));
        // Where the tier does not require digests, asking not to needs nobody.
        let mut limited = high.clone();
        limited.spec.risk_tier = RiskTier::Limited;
        assert!(!judge(limited));
        // A stamp in a namespace the webhook does not look at proves nothing.
        let mut elsewhere = with_relaxation(high, &stamp_by("pat", None, Some(false)));
        elsewhere.metadata.namespace = Some("aims-system".into());
        let policy = Policy::default().exempting("aims-system");
        assert_eq!(
            aims_operator::engine::relaxation::approved_relaxation(&elsewhere, &policy),
            None
        );
    }
}
