//! An AI incident on the real API server: the resources webhook refuses one for a system that
//! is not registered, the CRD's rule refuses times out of order, the operator works out the
//! reporting deadline of a serious incident from the catalog's regulatory data and marks the
//! report overdue once it passed, and the system carries OpenIncidents while the incident is
//! open, without losing Compliant; the resolution is stamped with who declared it.

use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::Journey;
use crate::steps::{approved_system, condition_becomes, field};

const INCIDENT: &str = "aiincident/grid-outage";

fn incident(ns: &str, system: &str, detected: Timestamp, occurred: Timestamp) -> Value {
    json!({"apiVersion": "aims.io/v1alpha1", "kind": "AIIncident",
        "metadata": {"name": "grid-outage", "namespace": ns},
        "spec": {"systemRef": system, "severity": "Critical",
            "occurredAt": occurred.to_string(), "detectedAt": detected.to_string(),
            "description": "load forecasts dropped to zero; two substations shed load",
            "serious": {"category": "CriticalInfrastructureDisruption"}}})
}

#[tokio::test]
async fn a_serious_incident_has_its_deadline_and_marks_its_system_while_open() {
    let journey = Journey::start("e2e-incident", "enforce").await;
    let ns = journey.ns.as_str();
    approved_system(&journey, "scoring");
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "Compliant",
        "True",
        Duration::from_secs(30),
    )
    .await;
    // Whole seconds: the API server stores date-times to the second.
    let detected = Timestamp::from_second(Timestamp::now().as_second()).unwrap() - 72.hours();

    let refused = journey
        .apply(
            User::Alice,
            &[incident(ns, "forecaster", detected, detected - 1.hour())],
        )
        .refused();
    assert!(refused.contains("no AISystem forecaster"), "{refused}");
    let refused = journey
        .apply(
            User::Alice,
            &[incident(ns, "scoring", detected, detected + 1.hour())],
        )
        .refused();
    assert!(refused.contains("spec.occurredAt is after"), "{refused}");

    journey
        .apply(
            User::Alice,
            &[incident(ns, "scoring", detected, detected - 1.hour())],
        )
        .ok();
    condition_becomes(
        &journey,
        INCIDENT,
        "ReportOverdue",
        "True",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        field(&journey, INCIDENT, "{.status.reportingDeadline}"),
        (detected + 48.hours()).to_string()
    );
    assert!(
        field(&journey, INCIDENT, "{.status.reportingRule}").contains("Art. 73(3)"),
        "the rule comes from the catalog's regulatory data"
    );
    assert_eq!(
        field(&journey, INCIDENT, "{.status.timeToDetectSeconds}"),
        "3600"
    );
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "OpenIncidents",
        "True",
        Duration::from_secs(30),
    )
    .await;
    assert!(
        field(
            &journey,
            "aisystem/scoring",
            "{.status.conditions[?(@.type==\"OpenIncidents\")].message}"
        )
        .contains("grid-outage (Critical)")
    );
    assert_eq!(
        field(
            &journey,
            "aisystem/scoring",
            "{.status.conditions[?(@.type==\"Compliant\")].status}"
        ),
        "True",
        "an open incident is handled, not a reason to stop the model"
    );

    // Resolved: the system's condition clears; the late report stays on record.
    let patch = json!({"spec": {"resolution": {
        "resolvedAt": (detected + 24.hours()).to_string(), "summary": "forecast model rolled back"}}})
    .to_string();
    journey
        .kubectl(
            User::Alice,
            &["patch", INCIDENT, "--type", "merge", "-p", &patch],
        )
        .ok();
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "OpenIncidents",
        "False",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(field(&journey, INCIDENT, "{.status.phase}"), "Resolved");
    assert_eq!(
        field(&journey, INCIDENT, "{.spec.resolution.resolvedBy}"),
        User::Alice.name(),
        "the webhook records who declared it resolved"
    );
    assert_eq!(
        field(&journey, INCIDENT, "{.status.timeToResolveSeconds}"),
        "86400"
    );
    assert_eq!(
        field(
            &journey,
            INCIDENT,
            "{.status.conditions[?(@.type==\"ReportOverdue\")].reason}"
        ),
        "PastDeadline"
    );
    journey.finish().await;
}
