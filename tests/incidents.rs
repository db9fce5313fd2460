//! AI incidents as the engine reads them for webhook, reconciler and CLI: the reporting
//! deadline a serious incident implies (from the catalog's regulatory data), whether the
//! report came in time, the system's OpenIncidents condition, the times to detect and to
//! resolve in the objectives, and the log read from manifests.

use aims_operator::engine::Snapshot;
use aims_operator::engine::incident::{check_write, desired_status, resolution_after_write};
use aims_operator::engine::status::evaluate_system;
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::support::*;

fn incident(name: &str, spec: Value) -> AIIncident {
    let mut incident: AIIncident = serde_json::from_value(json!({
        "apiVersion": "aims.io/v1alpha1", "kind": "AIIncident",
        "metadata": {"name": name, "namespace": NS, "generation": 1}, "spec": spec}))
    .unwrap();
    incident.metadata.generation = Some(1);
    incident
}

fn serious(category: &str, detected: Timestamp) -> AIIncident {
    incident(
        "denials",
        json!({"systemRef": "scoring", "detectedAt": detected.to_string(), "severity": "High",
            "description": "declines at four times the usual rate",
            "serious": {"category": category}}),
    )
}

/// The ReportOverdue condition's status and reason.
fn report(status: &AIIncidentStatus) -> (String, String) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == "ReportOverdue")
        .expect("every incident carries ReportOverdue");
    (c.status.clone(), c.reason.clone())
}

#[test]
fn a_serious_incident_is_due_for_report_by_its_category_and_overdue_after() {
    let policy = Policy::default();
    let s = Snapshot::new();
    let detected = now();
    for (category, days) in [
        ("CriticalInfrastructureDisruption", 2),
        ("WidespreadInfringement", 2),
        ("Death", 10),
        ("FundamentalRightsInfringement", 15),
        ("SeriousHealthHarm", 15),
    ] {
        let open = serious(category, detected);
        let due = detected + (days * 24).hours();
        let (status, next) = desired_status(&s, &open, &policy, now());
        assert_eq!(status.reporting_deadline, Some(due), "{category}");
        assert!(
            status
                .reporting_rule
                .as_deref()
                .is_some_and(|r| r.contains("Art. 73") && r.contains("catalog 2026-12")),
            "{:?}",
            status.reporting_rule
        );
        assert_eq!(
            report(&status),
            ("False".into(), "DueBy".into()),
            "{category}"
        );
        assert_eq!(next, Some(due), "requeued for the deadline");
        assert_eq!(status.phase, Some(IncidentPhase::Open));

        let (status, next) = desired_status(&s, &open, &policy, due);
        assert_eq!(
            report(&status),
            ("True".into(), "PastDeadline".into()),
            "{category}"
        );
        assert_eq!(next, None);
    }
}

#[test]
fn a_notification_decides_whether_the_report_came_in_time() {
    let policy = Policy::default();
    let s = Snapshot::new();
    let mut notified = serious("Death", now());
    let notify = |at: Timestamp| {
        vec![Notification {
            recipient: "market surveillance authority".into(),
            at,
            reference: None,
        }]
    };
    notified.spec.notifications = notify(now() + (9 * 24).hours());
    let (status, next) = desired_status(&s, &notified, &policy, now() + (30 * 24).hours());
    assert_eq!(report(&status), ("False".into(), "ReportedOnTime".into()));
    assert_eq!(next, None, "nothing changes by itself once notified");

    notified.spec.notifications = notify(now() + (11 * 24).hours());
    let (status, _) = desired_status(&s, &notified, &policy, now() + (30 * 24).hours());
    assert_eq!(report(&status), ("True".into(), "ReportedLate".into()));

    let minor = incident(
        "slow",
        json!({"systemRef": "scoring", "detectedAt": now().to_string(), "severity": "Low",
            "description": "latency"}),
    );
    let (status, next) = desired_status(&s, &minor, &policy, now() + (365 * 24).hours());
    assert_eq!(report(&status), ("False".into(), "NotSerious".into()));
    assert_eq!(status.reporting_deadline, None);
    assert_eq!(next, None);
}

#[test]
fn an_open_incident_raises_a_condition_on_its_system_without_deciding_compliance() {
    let policy = Policy::default();
    let mut s = Snapshot::new();
    s.add_system(system("scoring").in_ns());
    let condition = |s: &Snapshot| {
        let evaluation = evaluate_system(s, s.system(NS, "scoring").unwrap(), &policy, now());
        let find = |t: &str| {
            evaluation
                .conditions
                .iter()
                .find(|c| c.type_ == t)
                .cloned()
                .unwrap()
        };
        (find("OpenIncidents"), find("Compliant").met)
    };
    let (before, compliant_before) = condition(&s);
    assert!(before.met, "{before:?}");

    let mut open = serious("SeriousHealthHarm", now() - 1.hour());
    s.add_incident(open.clone());
    let (during, compliant_during) = condition(&s);
    assert!(!during.met);
    assert!(
        during.message.contains("denials (High)"),
        "{}",
        during.message
    );
    assert_eq!(compliant_during, compliant_before);

    open.spec.resolution = Some(Resolution {
        resolved_at: now(),
        summary: "rolled back".into(),
        resolved_by: None,
    });
    s.add_incident(open);
    assert!(condition(&s).0.met, "a resolved incident is not open");
}

#[test]
fn an_incident_is_recorded_only_for_a_registered_system_and_in_time_order() {
    let mut s = Snapshot::new();
    s.add_system(system("scoring").in_ns());
    let mut stray = serious("Death", now());
    stray.spec.system_ref = "nobody".into();
    let refusal = check_write(&s, &stray, None, "alice").unwrap_err();
    assert!(refusal.contains("no AISystem nobody"), "{refusal}");
    check_write(&s, &serious("Death", now()), None, "alice").unwrap();
    // Recorded before its system was retired: later updates stay possible.
    check_write(&s, &stray, Some(&stray.spec), "alice").unwrap();

    let mut backwards = serious("Death", now());
    backwards.spec.occurred_at = Some(now() + 1.hour());
    let refusal = validate_incident(&backwards.spec).unwrap_err();
    assert!(refusal.contains("spec.occurredAt"), "{refusal}");
    let mut early = serious("Death", now());
    early.spec.resolution = Some(Resolution {
        resolved_at: now() - 1.hour(),
        summary: "x".into(),
        resolved_by: None,
    });
    assert!(validate_incident(&early.spec).is_err());
}

#[test]
fn a_resolution_is_stamped_with_who_declared_it_and_a_forged_name_is_refused() {
    let mut s = Snapshot::new();
    s.add_system(system("scoring").in_ns());
    let open = serious("Death", now());
    let mut resolved = open.clone();
    resolved.spec.resolution = Some(Resolution {
        resolved_at: now() + 2.hours(),
        summary: "rolled back".into(),
        resolved_by: Some("mallory".into()),
    });
    // The name in the request is replaced by the requester's, and then checks out.
    let stamped = resolution_after_write(Some(&open.spec), &resolved.spec, "alice");
    assert_eq!(
        stamped.as_ref().and_then(|r| r.resolved_by.as_deref()),
        Some("alice")
    );
    let forged = check_write(&s, &resolved, Some(&open.spec), "alice").unwrap_err();
    assert!(forged.contains("resolvedBy"), "{forged}");
    resolved.spec.resolution = stamped;
    check_write(&s, &resolved, Some(&open.spec), "alice").unwrap();
    // Someone else editing the incident later keeps alice's stamp.
    let kept = resolution_after_write(Some(&resolved.spec), &resolved.spec, "bob");
    assert_eq!(kept, resolved.spec.resolution);
    check_write(&s, &resolved, Some(&resolved.spec), "bob").unwrap();
}

#[test]
fn the_log_and_the_objectives_read_incidents_from_manifests() {
    let at = ["--now", "2026-12-01T00:00:00Z"];
    let log =
        aims_operator_json(&[&["incidents", "examples", "--format", "json"][..], &at].concat());
    let rows = log["incidents"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
    let serious = row("scorer-postcode-denials-2026-09");
    assert_eq!(serious["report"], "ReportedOnTime");
    assert_eq!(serious["reportDue"], "2026-09-18T14:20:00Z");
    assert_eq!(serious["phase"], "Resolved");
    assert_eq!(
        serious["timeToDetectSeconds"],
        2 * 86_400 + 8 * 3_600 + 20 * 60
    );
    let open = row("assistant-refund-policy-2026-11");
    assert_eq!(open["phase"], "Open");
    assert_eq!(open["report"], "NotSerious");

    let soa = aims_operator_json(&[&["soa", "examples", "--format", "json"][..], &at].concat());
    let objective = |name: &str| objective(&soa, name);
    // (2 d 8 h 20 min + 3 h 30 min) / 2 ≈ 1.2 days against "≤ 2 days".
    let detect = objective("time to detect");
    assert_eq!(detect["value"], "1.2d", "{detect}");
    assert_eq!(detect["met"], true);
    let resolve = objective("time to resolve");
    assert_eq!(resolve["value"], "2.2d", "{resolve}");
    assert_eq!(resolve["met"], true);
}

#[test]
fn open_incidents_and_late_reports_are_counted_in_the_metrics() {
    let mut s = Snapshot::new();
    s.add_system(system("scoring").in_ns());
    s.add_incident(serious("Death", now() - (11 * 24).hours()));
    let text = metrics_text(&s, now());
    assert!(
        text.contains(&format!(
            "aims_ai_incidents{{namespace=\"{NS}\",severity=\"High\",phase=\"Open\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "aims_ai_incident_reports_overdue{{namespace=\"{NS}\"}} 1"
        )),
        "{text}"
    );
    assert!(
        !text.contains("aims_objective_mean_time_to_resolve_seconds "),
        "nothing resolved, nothing measured: {text}"
    );
}
