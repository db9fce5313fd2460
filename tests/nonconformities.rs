//! Nonconformity records through their life, as the engine decides it for webhook,
//! reconciler and CLI: opened for a running workload that lost its assessment, closing
//! refused while the condition holds and stamped with the closer once it is gone, reopened
//! when it recurs, overdue past the action's due date, and read back in the register.

use aims_operator::engine::Snapshot;
use aims_operator::engine::Workload;
use aims_operator::engine::nonconformity::{
    check_write, closure_after_write, desired_status, detect,
};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use jiff::{Timestamp, ToSpan};
use kube::ResourceExt;

use crate::support::*;

/// A system in an enforcing namespace with one running Deployment, and whether an approved
/// assessment covers it.
fn running(assessed: bool) -> Snapshot {
    let mut s = Snapshot::new();
    s.add_namespace(
        NS,
        std::collections::BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())]),
    );
    s.add_system(system("scoring").in_ns());
    if assessed {
        s.add_assessment(
            assessment("scoring-ia", "scoring", &["1.0.x"])
                .approved_by("bob", "2026-11-01T00:00:00Z"),
        );
    }
    s.add_workload(
        Workload::from_value(
            &deployment("scorer", Some("scoring"), Some("1.0.0"), &model_image()),
            NS,
        )
        .unwrap(),
    );
    s
}

/// The record the operator opens for the system's first detection, as the API server would
/// store it.
fn opened(snapshot: &Snapshot) -> Nonconformity {
    let system = snapshot.system(NS, "scoring").unwrap();
    let detections = detect(snapshot, system, &Policy::default(), now());
    assert_eq!(
        detections.iter().map(|d| d.finding).collect::<Vec<_>>(),
        vec![Finding::AssessmentLapsedWhileRunning],
        "{detections:#?}"
    );
    let d = &detections[0];
    assert_eq!(d.record_name("scoring"), "scoring-assessment-lapsed");
    assert!(
        d.description.contains("Deployment/scorer"),
        "{}",
        d.description
    );
    let mut record: Nonconformity = serde_json::from_value(d.record(NS, system)).unwrap();
    assert_eq!(
        record.spec.owner.as_ref().map(|o| o.name.as_str()),
        system.spec.owner.as_ref().map(|o| o.name.as_str()),
        "the system's owner owns the action"
    );
    record.metadata.generation = Some(1);
    record
}

fn closed(mut record: Nonconformity, by: &str) -> Nonconformity {
    record.spec.root_cause = Some("the assessment lapsed unnoticed".into());
    record.spec.corrective_action = Some(CorrectiveAction {
        description: "alert 30 days before expiry".into(),
        due_date: None,
    });
    let requested = NonconformitySpec {
        closure: Some(Closure {
            evidence: vec!["https://tickets.example/AI-7".into()],
            comment: None,
            closed_by: None,
            closed_at: None,
        }),
        ..record.spec.clone()
    };
    record.spec.closure = closure_after_write(None, &requested, by, now());
    record
}

#[test]
fn closing_is_refused_while_the_workload_still_runs_unassessed_and_stamped_once_fixed() {
    let lapsed = running(false);
    let record = opened(&lapsed);
    let policy = Policy::default();

    let without_cause = NonconformitySpec {
        closure: Some(Closure {
            evidence: vec!["x".into()],
            comment: None,
            closed_by: None,
            closed_at: None,
        }),
        ..record.spec.clone()
    };
    let refusal = validate_nonconformity(&without_cause).unwrap_err();
    assert!(refusal.contains("spec.rootCause"), "{refusal}");

    let closing = closed(record.clone(), "alice");
    let refusal = check_write(
        &lapsed,
        &closing,
        Some(&record.spec),
        "alice",
        &policy,
        now(),
    )
    .unwrap_err();
    assert!(
        refusal.contains("AssessmentLapsedWhileRunning still holds"),
        "{refusal}"
    );

    let fixed = running(true);
    assert!(detect(&fixed, fixed.system(NS, "scoring").unwrap(), &policy, now()).is_empty());
    check_write(
        &fixed,
        &closing,
        Some(&record.spec),
        "alice",
        &policy,
        now(),
    )
    .unwrap();
    let stamp = closing.spec.closure.as_ref().unwrap();
    assert_eq!(stamp.closed_by.as_deref(), Some("alice"));

    // Someone else cannot write a closure in alice's name.
    let refusal = check_write(
        &fixed,
        &closing,
        Some(&record.spec),
        "mallory",
        &policy,
        now(),
    )
    .unwrap_err();
    assert!(refusal.contains("closedBy"), "{refusal}");
    // An unchanged closure keeps its stamps whoever edits something else.
    let kept = closure_after_write(Some(&closing.spec), &closing.spec, "mallory", now());
    assert_eq!(kept.as_ref(), closing.spec.closure.as_ref());
}

#[test]
fn a_closed_record_reopens_when_its_condition_recurs_and_counts_each_occurrence() {
    let policy = Policy::default();
    let lapsed = running(false);
    let mut record = opened(&lapsed);
    let (status, _) = desired_status(&lapsed, &record, &policy, now());
    assert_eq!(status.phase, Some(NonconformityPhase::Open));
    assert_eq!(status.condition_present, Some(true));
    assert_eq!(status.occurrences, Some(1));
    record.status = Some(status);

    let fixed = running(true);
    record = closed(record, "alice");
    let later = now() + 1.hour();
    let (status, _) = desired_status(&fixed, &record, &policy, later);
    assert_eq!(status.phase, Some(NonconformityPhase::Closed));
    assert_eq!(status.history[0].resolved_at, Some(later));
    record.status = Some(status);

    let again = later + 24.hours();
    let (status, _) = desired_status(&lapsed, &record, &policy, again);
    assert_eq!(status.phase, Some(NonconformityPhase::Reopened));
    assert_eq!(status.occurrences, Some(2));
    assert_eq!(status.history.len(), 2);
    assert_eq!(status.history[1].detected_at, again);

    // Nothing changes, nothing to write: the same status again.
    record.status = Some(status.clone());
    let (same, _) = desired_status(&lapsed, &record, &policy, again + 1.hour());
    assert_eq!(same.history, status.history);
    assert_eq!(same.occurrences, status.occurrences);
}

#[test]
fn an_open_action_is_overdue_after_its_due_date_and_requeued_for_it() {
    let policy = Policy::default();
    let fixed = running(true);
    let due: Timestamp = now() + 48.hours();
    let mut record: Nonconformity = serde_json::from_value(serde_json::json!({
        "apiVersion": "aims.io/v1alpha1", "kind": "Nonconformity",
        "metadata": {"name": "audit-1", "namespace": NS},
        "spec": {"severity": "Minor", "source": "InternalAudit", "systemRef": "scoring",
            "description": "training data provenance undocumented",
            "correctiveAction": {"description": "document it", "dueDate": due.to_string()}}
    }))
    .unwrap();
    let overdue = |status: &NonconformityStatus| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == "ActionOverdue")
            .map(|c| c.status.clone())
    };
    let (status, next) = desired_status(&fixed, &record, &policy, now());
    assert_eq!(overdue(&status).as_deref(), Some("False"));
    assert_eq!(
        status.condition_present, None,
        "no detection backs an audit finding"
    );
    assert_eq!(next, Some(due));
    let (status, next) = desired_status(&fixed, &record, &policy, due + 1.second());
    assert_eq!(overdue(&status).as_deref(), Some("True"));
    assert_eq!(next, None);

    record.spec.root_cause = Some("nobody owned it".into());
    let record = closed(record, "dana");
    let (status, _) = desired_status(&fixed, &record, &policy, due + 1.second());
    assert_eq!(status.phase, Some(NonconformityPhase::Closed));
    assert_eq!(overdue(&status).as_deref(), Some("False"));
    assert_eq!(record.name_any(), "audit-1");
}

#[test]
fn check_and_the_register_read_records_from_manifests_as_the_api_server_would() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args([
            "nonconformities",
            "examples",
            "--format",
            "json",
            "--now",
            "2026-12-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows["nonconformities"].as_array().unwrap();
    let phase = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .map(|r| r["phase"].as_str().unwrap().to_string())
    };
    assert_eq!(phase("audit-2026-alert-route").as_deref(), Some("Closed"));
    assert_eq!(
        phase("audit-2026-fairness-evidence").as_deref(),
        Some("Open")
    );

    // A closure without a root cause is refused offline as the CRD's rule refuses it.
    let dir = std::env::temp_dir().join(format!("aims-nc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nc.yaml"),
        "apiVersion: aims.io/v1alpha1\nkind: Nonconformity\nmetadata: {name: x, namespace: lending}\n\
         spec: {severity: Minor, source: InternalAudit, description: d, closure: {evidence: [e]}}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .args(["check"])
        .arg(dir.join("nc.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("spec.rootCause"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn records_and_overdue_actions_are_counted_in_the_metrics() {
    let mut s = running(true);
    let record = |name: &str, due: &str, closed: bool| {
        let mut spec = serde_json::json!({"severity": "Minor", "source": "InternalAudit",
            "systemRef": "scoring", "description": "d", "rootCause": "r",
            "correctiveAction": {"description": "a", "dueDate": due}});
        if closed {
            spec["closure"] = serde_json::json!({"evidence": ["e"], "closedBy": "dana",
                "closedAt": "2026-11-01T00:00:00Z"});
        }
        serde_json::from_value::<Nonconformity>(serde_json::json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "Nonconformity",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}))
        .unwrap()
    };
    s.add_nonconformity(record("late", "2026-11-01T00:00:00Z", false));
    s.add_nonconformity(record("on-time", "2027-01-01T00:00:00Z", false));
    s.add_nonconformity(record("done", "2026-11-01T00:00:00Z", true));
    s.add_nonconformity(record("done-late", "2026-10-01T00:00:00Z", true));
    let text = metrics_text(&s, now());
    assert!(
        text.contains(
            r#"aims_nonconformity_records{namespace="ml",severity="Minor",phase="Open"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"aims_nonconformity_records{namespace="ml",severity="Minor",phase="Closed"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"aims_nonconformity_actions_overdue{namespace="ml"} 1"#),
        "{text}"
    );
    // On time: "on-time" (not yet due) and "done" (closed on its due date); "late" is open
    // past it and "done-late" was closed a month after it.
    assert!(
        text.contains("aims_objective_corrective_actions_on_time_ratio 0.5\n"),
        "{text}"
    );
}

#[test]
fn an_audit_finding_shows_its_record_reopened_where_the_condition_recurs_without_any_status() {
    let policy = Policy::default();
    let mut lapsed = running(false);
    let record = closed(opened(&lapsed), "alice");
    assert_eq!(record.status, None, "as in manifests read offline");
    let record_name = format!("{NS}/{}", record.name_any());
    lapsed.add_nonconformity(record);
    let audit: InternalAudit = serde_json::from_value(serde_json::json!({
        "apiVersion": "aims.io/v1alpha1", "kind": "InternalAudit",
        "metadata": {"name": "audit-2026h2"},
        "spec": {"scope": {"statement": "assessments"}, "auditor": "Priya",
            "startedAt": "2026-09-14T08:00:00Z", "completedAt": "2026-09-25T17:00:00Z",
            "findings": [{"id": "lapsed", "classification": "MinorNonconformity",
                "control": "A.5.2", "description": "an assessment lapsed while running",
                "nonconformity": record_name}]}
    }))
    .unwrap();
    lapsed.add_audit(audit);
    let findings = aims_operator::audits::register(&lapsed, &policy, now());
    let nonconformities = aims_operator::nonconformities::register(&lapsed, &policy, now());
    assert_eq!(findings[0].stands, "Reopened", "{findings:#?}");
    assert_eq!(
        serde_json::to_value(&nonconformities[0]).unwrap()["phase"],
        "Reopened",
        "the audit register and the nonconformity register agree"
    );
    // Once the workload is assessed again, the record stands closed.
    let mut fixed = running(true);
    fixed.add_nonconformity(
        lapsed
            .nonconformity(NS, "scoring-assessment-lapsed")
            .unwrap()
            .clone(),
    );
    fixed.add_audit(lapsed.audits().next().unwrap().clone());
    let findings = aims_operator::audits::register(&fixed, &policy, now());
    assert_eq!(findings[0].stands, "Closed");
}
