//! Decisions under authenticated identity, through the real webhook over HTTPS: the author is
//! recorded at creation, only an approver who is not the author can decide, the webhook
//! stamps who, when and the content hash, and nobody can set or forge those stamps, by
//! field, annotation, status or apply. Each write goes through /mutate, the patch is applied
//! as the API server would, and the result goes through /validate-aims.
use crate::{harness, support};

use aims_operator::engine::Snapshot;
use aims_operator::engine::assessment::{assessment_state, content_hash};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use serde_json::{Value, json};

use harness::{InProcess, as_user, in_process_snapshot};
use support::*;

/// The webhook with the assessed system registered (an approval binds its material fields).
fn webhook() -> InProcess {
    let mut snapshot = Snapshot::new();
    let mut system = system("credit-scoring");
    system.metadata.namespace = Some("lending".into());
    snapshot.add_system(system);
    in_process_snapshot(snapshot)
}

fn author_of(object: &Value) -> Option<&str> {
    object["metadata"]["annotations"][AUTHOR_ANNOTATION].as_str()
}

fn set_author(object: &mut Value, author: &str) {
    object["metadata"]["annotations"][AUTHOR_ANNOTATION] = json!(author);
}

/// bob's recorded approval of alice's assessment, as it would be stored.
fn approved_by_bob() -> (Value, Value) {
    let mut review = fixture("custom-resource-update-by-other-user.json");
    set_author(&mut review["request"]["object"], "alice");
    set_author(&mut review["request"]["oldObject"], "alice");
    let old = review["request"]["oldObject"].clone();
    (review, old)
}

fn phase(object: &Value) -> AssessmentPhase {
    let assessment: ImpactAssessment = serde_json::from_value(object.clone()).unwrap();
    assessment_state(&assessment, &Policy::default(), now()).phase
}

#[tokio::test]
async fn the_author_is_recorded_from_the_authenticated_user_at_creation() {
    let mut h = webhook();
    let review = fixture("custom-resource-create.json"); // alice
    let outcome = h.write(&review).await;
    assert_eq!(outcome.validate.as_ref().unwrap()["allowed"], true);
    assert_eq!(author_of(outcome.stored.as_ref().unwrap()), Some("alice"));

    // Claiming someone else as author in the manifest is refused, saying why.
    let mut forged = review.clone();
    set_author(&mut forged["request"]["object"], "bob");
    let outcome = h.write(&forged).await;
    assert!(outcome.stored.is_none());
    assert!(
        outcome
            .refusal()
            .contains("records who created the object and cannot be set or changed (it is alice, the request says bob)"),
        "{}",
        outcome.refusal()
    );
}

/// The API server calls a mutating webhook again when a later webhook changed the object
/// (reinvocationPolicy IfNeeded), with the stamps it wrote the first time: it must accept
/// its own work, not refuse it as a forgery. (Found on the real control plane, where two
/// registrations for one namespace had the same effect.)
#[tokio::test]
async fn the_mutating_webhook_called_again_keeps_the_stamps_it_wrote() {
    let mut h = webhook();
    let (review, _) = approved_by_bob();
    let first = h.write(&review).await;
    let stamped = first.stored.expect("stamped");
    let mut again = review.clone();
    again["request"]["object"] = stamped.clone();
    let second = h.write(&again).await;
    assert_eq!(second.mutate["allowed"], true, "{}", second.mutate);
    assert!(
        second.mutate["patch"].is_null(),
        "nothing to change: {}",
        second.mutate
    );
    assert_eq!(second.stored.as_ref(), Some(&stamped));

    // The same stamps from someone else, or on other content, are still refused.
    let mut by_alice = again.clone();
    by_alice["request"]["userInfo"]["username"] = "alice".into();
    assert_eq!(h.write(&by_alice).await.mutate["allowed"], false);
    let mut edited = again.clone();
    edited["request"]["object"]["spec"]["purpose"] = "something else".into();
    assert_eq!(h.write(&edited).await.mutate["allowed"], false);
}

#[tokio::test]
async fn an_approver_decision_is_stamped_with_who_when_and_the_content_hash() {
    let mut h = webhook();
    let (review, _) = approved_by_bob();
    let outcome = h.write(&review).await;
    assert_eq!(outcome.mutate["allowed"], true, "{}", outcome.mutate);
    let stored = outcome
        .stored
        .unwrap_or_else(|| panic!("{:?}", outcome.validate));
    let approval = &stored["spec"]["approval"];
    assert_eq!(approval["decision"], "Approved");
    assert_eq!(approval["decidedBy"], "bob");
    assert_eq!(approval["decidedAt"], "2026-11-23T12:00:00Z");
    let spec: ImpactAssessmentSpec = serde_json::from_value(stored["spec"].clone()).unwrap();
    assert_eq!(approval["contentHash"], content_hash(&spec));
    assert_eq!(phase(&stored), AssessmentPhase::Approved);
}

#[tokio::test]
async fn only_an_approver_who_is_not_the_author_can_decide() {
    let mut h = webhook();
    let (review, _) = approved_by_bob();

    let outcome = h
        .write(&as_user(
            review.clone(),
            "alice",
            &["dev-team", "system:authenticated"],
        ))
        .await;
    assert_eq!(outcome.mutate["allowed"], false);
    assert_eq!(
        outcome.refusal(),
        "alice may not approve impact assessments: that takes a member of ai-approvers (alice has groups \
         dev-team). Ask an approver to run: kubectl aims approve <assessment>"
    );

    let mut own = review.clone();
    set_author(&mut own["request"]["object"], "bob");
    set_author(&mut own["request"]["oldObject"], "bob");
    let outcome = h.write(&own).await;
    assert_eq!(outcome.mutate["allowed"], false);
    assert_eq!(
        outcome.refusal(),
        "bob wrote this assessment and cannot approve it; ask another member of ai-approvers"
    );

    // Even a cluster admin is no approver unless in the approver group.
    let outcome = h
        .write(&as_user(review, "admin", &["system:masters"]))
        .await;
    assert_eq!(outcome.mutate["allowed"], false);
}

#[tokio::test]
async fn stamps_cannot_be_forged_by_field_annotation_status_or_apply() {
    let mut h = webhook();

    // Field: alice creates an assessment that claims bob approved it.
    let mut review = fixture("custom-resource-create.json");
    review["request"]["object"]["spec"]["approval"] = json!({
        "decision": "Approved", "decidedBy": "bob", "decidedAt": "2026-11-23T11:00:00Z",
        "contentHash": "sha256:0000"
    });
    let outcome = h.write(&review).await;
    assert_eq!(outcome.mutate["allowed"], false);
    assert!(
        outcome.refusal().contains("are recorded by the webhook"),
        "{}",
        outcome.refusal()
    );

    // Apply: a server-side apply by alice that rewrites bob's stamps on a stored approval.
    let (approve, _) = approved_by_bob();
    let approved = h.write(&approve).await.stored.unwrap();
    let mut apply = fixture("deployment-update-server-side-apply-3.json"); // a real SSA review shape
    apply["request"]["kind"] =
        json!({"group": "aims.io", "version": "v1alpha1", "kind": "ImpactAssessment"});
    apply["request"]["resource"] =
        json!({"group": "aims.io", "version": "v1alpha1", "resource": "impactassessments"});
    apply["request"]["name"] = json!("credit-scoring-2026q4");
    apply["request"]["oldObject"] = approved.clone();
    let mut rewritten = approved.clone();
    rewritten["spec"]["approval"]["decidedBy"] = json!("carol");
    apply["request"]["object"] = rewritten;
    let outcome = h.write(&apply).await;
    assert_eq!(outcome.mutate["allowed"], false);
    assert!(
        outcome.refusal().contains("cannot be written"),
        "{}",
        outcome.refusal()
    );

    // Annotation: alice rewrites the author so that she could approve later.
    let mut reauthor = apply.clone();
    reauthor["request"]["object"] = approved.clone();
    set_author(&mut reauthor["request"]["object"], "carol");
    let outcome = h.write(&reauthor).await;
    assert!(outcome.stored.is_none(), "refused");
    assert!(outcome.refusal().contains("records who created the object"));
    // ... and without the mutating webhook, validation refuses it as well.
    let response = h.validate_only(&reauthor).await;
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("records who created the object")
    );

    // Status: only aims-operator writes status, even a cluster admin cannot.
    let status = fixture("custom-resource-status-update.json"); // admin sets phase Approved
    let response = h.validate_only(&status).await;
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("admin cannot write it"),
        "{response}"
    );
    let by_operator = as_user(
        status,
        "system:serviceaccount:aims-system:aims-operator",
        &[],
    );
    assert_eq!(h.validate_only(&by_operator).await["allowed"], true);

    // Validation alone also refuses stamps the webhook did not write now, for this user.
    let (mut late, _) = approved_by_bob();
    late["request"]["object"]["spec"]["approval"] = json!({
        "decision": "Approved", "decidedBy": "bob", "decidedAt": "2026-11-20T00:00:00Z",
        "contentHash": "sha256:0000"
    });
    let response = h.validate_only(&late).await;
    assert_eq!(response["allowed"], false);
}

#[tokio::test]
async fn changing_the_assessed_content_after_approval_voids_it() {
    let mut h = webhook();
    let (approve, _) = approved_by_bob();
    let approved = h.write(&approve).await.stored.unwrap();

    let mut edit = as_user(approve.clone(), "alice", &["dev-team"]);
    edit["request"]["oldObject"] = approved.clone();
    let mut changed = approved.clone();
    changed["spec"]["summary"] = json!("scope widened to small-business loans");
    edit["request"]["object"] = changed;
    let outcome = h.write(&edit).await;
    let stored = outcome.stored.expect("editing content is allowed");
    assert_eq!(
        stored["spec"]["approval"], approved["spec"]["approval"],
        "stamps kept as recorded"
    );
    assert_eq!(phase(&stored), AssessmentPhase::Voided);

    // bob re-approves by sending a fresh decision without stamps.
    let mut again = approve.clone();
    again["request"]["oldObject"] = stored.clone();
    let mut fresh = stored.clone();
    fresh["spec"]["approval"] = json!({"decision": "Approved", "comment": "re-reviewed"});
    again["request"]["object"] = fresh;
    let outcome = h.write(&again).await;
    assert_eq!(
        phase(outcome.stored.as_ref().unwrap()),
        AssessmentPhase::Approved
    );
}

/// An approval binds the assessed system's material fields: changing one (or deleting the
/// system and registering it again differently) voids the approval, in every shell; a
/// cosmetic change does not. Approving for a system that is not registered is refused.
#[tokio::test]
async fn an_approval_binds_the_systems_material_fields_and_a_material_change_voids_it() {
    let mut h = webhook();
    let (approve, _) = approved_by_bob();
    let approved = h.write(&approve).await.stored.unwrap();
    let registered = h
        .cache
        .read(|s| s.system("lending", "credit-scoring").cloned())
        .unwrap();
    let written = &approved["spec"]["approval"]["systemFields"];
    let recorded: SystemFields = serde_json::from_value(written.clone()).unwrap();
    let policy = Policy::default();
    assert_eq!(
        recorded,
        aims_operator::engine::assessment::material_hashes(&registered.spec, &policy)
    );
    // One short SHA-256 digest per material field, by name, as an auditor reads them.
    let mut names: Vec<&String> = policy.material_fields.iter().collect();
    names.sort();
    assert_eq!(
        written.as_object().unwrap().keys().collect::<Vec<_>>(),
        names
    );
    let risk_tier = written["riskTier"].as_str().unwrap();
    assert!(
        risk_tier.starts_with("sha256:") && risk_tier.len() == 7 + 16,
        "{risk_tier}"
    );

    let assessment: ImpactAssessment = serde_json::from_value(approved.clone()).unwrap();
    let state_with = |system: &AISystem| {
        let mut snapshot = Snapshot::new();
        snapshot.add_system(system.clone());
        snapshot.add_assessment(assessment.clone());
        snapshot.assessment_state(&assessment, &policy, now())
    };
    assert_eq!(state_with(&registered).phase, AssessmentPhase::Approved);
    // Cosmetic: display name, description, owner's contact.
    let mut cosmetic = registered.clone();
    cosmetic.spec.display_name = "Credit scoring (retail)".into();
    cosmetic.spec.description = Some("reworded".into());
    cosmetic.spec.owner.as_mut().unwrap().contact = Some("new@example.com".into());
    assert_eq!(state_with(&cosmetic).phase, AssessmentPhase::Approved);
    // Material: intended use; tier and stage (also what a system deleted and registered
    // again with another tier looks like).
    let mut widened = registered.clone();
    widened.spec.intended_use = Some("small-business loans too".into());
    let state = state_with(&widened);
    assert_eq!(state.phase, AssessmentPhase::Voided);
    assert_eq!(
        state.message,
        "AISystem credit-scoring changed after bob approved this assessment (spec.intendedUse differs); \
         the approval no longer covers the system as it is: review the assessment against the change \
         and have a member of ai-approvers approve it again, or restore the previous value"
    );
    let mut lowered = registered.clone();
    lowered.spec.risk_tier = RiskTier::High;
    lowered.spec.lifecycle_stage = LifecycleStage::Validation;
    assert!(
        state_with(&lowered)
            .message
            .contains("(spec.lifecycleStage, spec.riskTier differ)")
    );

    // A re-approval that clears the other stamps and leaves the recorded system fields
    // behind (a merge patch from an older `kubectl aims`) is a plain request: accepted.
    let mut again = approve.clone();
    again["request"]["oldObject"] = approved.clone();
    let mut leftover = approved.clone();
    for stamp in ["decidedBy", "decidedAt", "contentHash"] {
        leftover["spec"]["approval"]
            .as_object_mut()
            .unwrap()
            .remove(stamp);
    }
    leftover["spec"]["approval"]["comment"] = json!("re-reviewed");
    again["request"]["object"] = leftover;
    let outcome = h.write(&again).await;
    assert_eq!(
        phase(outcome.stored.as_ref().expect("accepted")),
        AssessmentPhase::Approved
    );

    // Typed-in system fields are refused like any other stamp.
    let mut forged = approve.clone();
    forged["request"]["object"]["spec"]["approval"]["systemFields"] =
        json!({"riskTier": "sha256:00"});
    let outcome = h.write(&forged).await;
    assert!(
        outcome
            .refusal()
            .contains("systemFields are recorded by the webhook"),
        "{}",
        outcome.refusal()
    );

    // Nothing registered to bind: refused, saying so.
    let mut unregistered = approve.clone();
    unregistered["request"]["object"]["spec"]["systemRef"] = json!("not-yet-registered");
    unregistered["request"]["oldObject"]["spec"]["systemRef"] = json!("not-yet-registered");
    let outcome = h.write(&unregistered).await;
    assert!(
        outcome
            .refusal()
            .starts_with("AISystem not-yet-registered is not registered in this namespace"),
        "{}",
        outcome.refusal()
    );
}

/// A risk rated above the policy's threshold (likelihood × severity > 12) and treated by
/// acceptance counts only once a risk owner who did not write the assessment accepted it,
/// under their own name; until then no approval of the assessment counts. Accepting it does
/// not void the approval; changing the risk's rating voids the acceptance.
#[tokio::test]
async fn a_high_rated_risk_treated_by_acceptance_needs_a_risk_owner() {
    let mut h = webhook();
    let (approve, _) = approved_by_bob();
    let risks = json!([
        {"id": "R1", "description": "score drift", "likelihood": 3, "severity": 4, "treatment": "Accept"},
        {"id": "R2", "description": "unfair refusals", "likelihood": 4, "severity": 4, "treatment": "Accept"}
    ]);
    // alice's draft adds the risks; bob approves it in the same write.
    let mut review = approve.clone();
    review["request"]["object"]["spec"]["risks"] = risks;
    review["request"]["object"]["spec"]["residualRiskAcceptance"] =
        json!("bounded by manual review");

    // bob's approval is recorded, and R2 (16) waits for a risk owner; R1 (12) does not.
    let outcome = h.write(&review).await;
    let warning = outcome.mutate["warnings"][0].as_str().unwrap().to_string();
    assert_eq!(
        warning,
        "risk R2 awaits acceptance: a member of ai-risk-owners accepts it by setting \
         spec.risks[R2].acceptedBy to their own user name"
    );
    let approved = outcome.stored.unwrap();
    let assessment: ImpactAssessment = serde_json::from_value(approved.clone()).unwrap();
    let state = assessment_state(&assessment, &Policy::default(), now());
    assert_eq!(state.phase, AssessmentPhase::Voided);
    assert!(
        state
            .message
            .starts_with("risk R2 is treated by acceptance with a rating of 16"),
        "{}",
        state.message
    );

    let accept = |who: &str, groups: &[&str], name: &str| {
        let mut object = approved.clone();
        object["spec"]["risks"][1]["acceptedBy"] = json!(name);
        let mut r = as_user(approve.clone(), who, groups);
        r["request"]["oldObject"] = approved.clone();
        r["request"]["object"] = object;
        r
    };
    // The author, an approver who is no risk owner, or a name other than one's own: refused.
    for (who, groups, name) in [
        ("alice", &["dev-team"][..], "alice"),
        ("bob", &["ai-approvers"][..], "bob"),
        ("rita", &["ai-risk-owners"][..], "someone-else"),
    ] {
        let outcome = h.write(&accept(who, groups, name)).await;
        assert!(outcome.stored.is_none(), "{who} accepted as {name}");
    }
    let outcome = h.write(&accept("rita", &["ai-risk-owners"], "rita")).await;
    let accepted = outcome.stored.expect("a risk owner accepts");
    assert_eq!(accepted["spec"]["risks"][1]["acceptedBy"], "rita");
    assert_eq!(accepted["spec"]["approval"], approved["spec"]["approval"]);
    assert_eq!(phase(&accepted), AssessmentPhase::Approved);
}

fn binding_review(user: &str, groups: &[&str], old: Option<Value>, object: Value) -> Value {
    let mut review = fixture("custom-resource-create.json");
    review["request"]["kind"] =
        json!({"group": "aims.io", "version": "v1alpha1", "kind": "ControlBinding"});
    review["request"]["resource"] =
        json!({"group": "aims.io", "version": "v1alpha1", "resource": "controlbindings"});
    review["request"]["operation"] = json!(if old.is_some() { "UPDATE" } else { "CREATE" });
    review["request"]["oldObject"] = old.unwrap_or(Value::Null);
    review["request"]["object"] = object;
    as_user(review, user, groups)
}

fn binding_object(accepted_by: Option<&str>) -> Value {
    let mut exclusion = json!({"until": "2027-06-30T00:00:00Z"});
    if let Some(who) = accepted_by {
        exclusion["acceptedBy"] = json!(who);
    }
    json!({
        "apiVersion": "aims.io/v1alpha1", "kind": "ControlBinding",
        "metadata": {"name": "lending-controls", "namespace": "lending"},
        "spec": {"systems": ["credit-scoring"], "controls": [
            {"id": "A.10.3", "applicability": "Excluded",
             "justification": "no suppliers: the model is built in house", "exclusion": exclusion}
        ]}
    })
}

#[tokio::test]
async fn a_control_exclusion_is_accepted_only_by_an_approver_under_their_own_name() {
    let mut h = webhook();
    // alice proposes an exclusion and claims it accepted by bob: refused.
    let outcome = h
        .write(&binding_review(
            "alice",
            &["dev-team"],
            None,
            binding_object(Some("bob")),
        ))
        .await;
    assert_eq!(outcome.mutate["allowed"], false);

    // Without a claim it is stored, waiting for acceptance, and she is told so.
    let outcome = h
        .write(&binding_review(
            "alice",
            &["dev-team"],
            None,
            binding_object(None),
        ))
        .await;
    let proposed = outcome.stored.unwrap();
    assert!(
        proposed["spec"]["controls"][0]["exclusion"]
            .get("acceptedBy")
            .is_none()
    );
    let warning = outcome.mutate["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("the exclusion of A.10.3 awaits acceptance"),
        "{warning}"
    );

    // bob accepts it by writing his own name.
    let mut accepted = proposed.clone();
    accepted["spec"]["controls"][0]["exclusion"]["acceptedBy"] = json!("bob");
    let outcome = h
        .write(&binding_review(
            "bob",
            &["ai-approvers"],
            Some(proposed.clone()),
            accepted,
        ))
        .await;
    let stored = outcome.stored.unwrap();
    assert_eq!(
        stored["spec"]["controls"][0]["exclusion"]["acceptedBy"],
        "bob"
    );

    // When alice later changes the justification, the acceptance no longer holds.
    let mut changed = stored.clone();
    changed["spec"]["controls"][0]["justification"] = json!("suppliers are out of scope");
    let outcome = h
        .write(&binding_review(
            "alice",
            &["dev-team"],
            Some(stored.clone()),
            changed,
        ))
        .await;
    assert!(
        outcome.stored.unwrap()["spec"]["controls"][0]["exclusion"]
            .get("acceptedBy")
            .is_none()
    );
}

#[tokio::test]
async fn deletes_of_aims_resources_are_never_blocked() {
    let mut h = webhook();
    let mut review = fixture("custom-resource-create.json");
    review["request"]["operation"] = json!("DELETE");
    review["request"]["oldObject"] = review["request"]["object"].clone();
    review["request"]["object"] = Value::Null;
    assert_eq!(h.review("/mutate", &review).await["allowed"], true);
    assert_eq!(h.review("/validate-aims", &review).await["allowed"], true);
}

/// A pipeline's ServiceAccount that writes an assessment and sits in the approver group
/// still cannot approve it: it would be approving its own deployment.
#[tokio::test]
async fn a_service_account_cannot_approve_what_it_wrote() {
    let mut h = webhook();
    let pipeline = "system:serviceaccount:lending:deploy-pipeline";
    let groups = [
        "ai-approvers",
        "system:serviceaccounts",
        "system:authenticated",
    ];
    let created = h
        .write(&as_user(
            fixture("custom-resource-create.json"),
            pipeline,
            &groups,
        ))
        .await;
    let stored = created.stored.expect("the pipeline may create it");
    assert_eq!(author_of(&stored), Some(pipeline));

    let (mut review, _) = approved_by_bob();
    set_author(&mut review["request"]["object"], pipeline);
    set_author(&mut review["request"]["oldObject"], pipeline);
    let outcome = h.write(&as_user(review, pipeline, &groups)).await;
    assert_eq!(outcome.mutate["allowed"], false);
    assert!(
        outcome
            .refusal()
            .contains("wrote this assessment and cannot approve it"),
        "{}",
        outcome.refusal()
    );
}

/// Approver membership comes from `userInfo.groups` alone: groups claimed in `extra`, in
/// an annotation, or in a label give nothing (impersonation is the API server's business:
/// it hands the webhook the impersonated identity, and RBAC decides who may impersonate).
#[tokio::test]
async fn approver_membership_cannot_be_claimed_outside_the_authenticated_groups() {
    let mut h = webhook();
    let (review, _) = approved_by_bob();
    let mut claimed = as_user(review, "mallory", &["dev-team", "system:authenticated"]);
    claimed["request"]["userInfo"]["extra"] = json!({
        "groups": ["ai-approvers"],
        "authentication.kubernetes.io/groups": ["ai-approvers"]
    });
    claimed["request"]["object"]["metadata"]["annotations"]["aims.io/approver-groups"] =
        json!("ai-approvers");
    claimed["request"]["object"]["metadata"]["labels"] = json!({"ai-approvers": "true"});
    let outcome = h.write(&claimed).await;
    assert_eq!(outcome.mutate["allowed"], false);
    assert!(
        outcome.refusal().starts_with("mallory may not approve"),
        "{}",
        outcome.refusal()
    );
}

/// The webhook never looks at writes in the namespaces it exempts (kube-system, kube-public,
/// kube-node-lease, its own), so stamps there could be written by anyone with access. An
/// approval or an accepted exclusion recorded there must count for nothing, in the SoA and
/// status as at the gate, and say why.
#[test]
fn stamps_in_namespaces_the_webhook_does_not_check_count_for_nothing() {
    use aims_operator::engine::controls::control_outcome;
    let policy = Policy::default();
    for (namespace, checked) in [("kube-public", false), ("kube-system", false), (NS, true)] {
        let mut assessment = assessment("a", "s", &["1.0.0"]);
        assessment.metadata.namespace = Some(namespace.into());
        let assessment = assessment
            .authored_by("alice")
            .approved_by("bob", "2026-11-01T00:00:00Z");
        let state = assessment_state(&assessment, &policy, now());
        if checked {
            assert_eq!(state.phase, AssessmentPhase::Approved, "{}", state.message);
        } else {
            assert_eq!(state.phase, AssessmentPhase::Voided, "{namespace}");
            assert!(
                state.message.contains(&format!(
                    "namespace {namespace}, where aims-operator's webhook does not check writes"
                )),
                "{}",
                state.message
            );
        }

        let mut snapshot = Snapshot::new();
        let mut sys = system("s");
        sys.metadata.namespace = Some(namespace.into());
        snapshot.add_system(sys);
        let mut b = binding("b", &["s"], &[]);
        b.metadata.namespace = Some(namespace.into());
        b.spec.controls = vec![accepted_exclusion("A.10.3", "bob")];
        snapshot.add_binding(b);
        let system = snapshot.system(namespace, "s").unwrap().clone();
        let outcome = control_outcome(&snapshot, &system, "A.10.3", &policy, now());
        if checked {
            assert_eq!(outcome.state, ControlState::Excluded, "{}", outcome.message);
        } else {
            assert_eq!(outcome.state, ControlState::Planned, "{namespace}");
            assert!(
                outcome.message.contains("nobody verified who accepted"),
                "{}",
                outcome.message
            );
        }
    }
}

/// An approval counts only for the content hash written exactly as the webhook stamps it:
/// the same digest in capitals, without its `sha256:` prefix, cut short or with a digit
/// changed names other content, and the assessment is voided.
#[test]
fn an_approval_counts_only_for_the_content_hash_as_stamped() {
    let approved = assessment("a", "credit-scoring", &["1.x"])
        .authored_by("alice")
        .approved_by("bob", "2026-11-01T00:00:00Z");
    let state = assessment_state(&approved, &Policy::default(), now());
    assert_eq!(state.phase, AssessmentPhase::Approved, "{}", state.message);
    let stamped = content_hash(&approved.spec);
    let hex = stamped.strip_prefix("sha256:").unwrap();
    let mut one_digit_changed = stamped.clone();
    let last = if stamped.ends_with('0') { "1" } else { "0" };
    one_digit_changed.replace_range(stamped.len() - 1.., last);
    for recorded in [
        format!("sha256:{}", hex.to_uppercase()),
        hex.to_string(),
        stamped[..stamped.len() - 2].to_string(),
        format!("{stamped}00"),
        one_digit_changed,
    ] {
        let mut edited = approved.clone();
        edited.spec.approval.as_mut().unwrap().content_hash = Some(recorded.clone());
        let state = assessment_state(&edited, &Policy::default(), now());
        assert_eq!(
            state.phase,
            AssessmentPhase::Voided,
            "{recorded}: {}",
            state.message
        );
        assert!(state.message.contains(&stamped), "{}", state.message);
    }
}
