//! A nonconformity from detection to closure and recurrence, on the real API server: the
//! operator opens one record when a running model's approval is voided, the CRD refuses a
//! closure without root cause, the webhook refuses closing while the model still runs
//! unassessed and stamps the closer once it does not, and the record reopens when the
//! condition comes back. The operator creates the record once and never edits its spec.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::deployment;
use crate::steps::{approved_system, condition_becomes, field};

const RECORD: &str = "nonconformity/scoring-assessment-lapsed";

/// Sets the system's intended use, or removes it (`None`: as registered).
fn intended_use(journey: &Journey, text: Option<&str>) {
    let patch = json!({"spec": {"intendedUse": text}}).to_string();
    journey
        .kubectl(
            User::Alice,
            &[
                "patch", "aisystem", "scoring", "--type", "merge", "-p", &patch,
            ],
        )
        .ok();
}

async fn phase_becomes(journey: &Journey, phase: &str) {
    eventually(
        &format!("{RECORD} phase {phase}"),
        Duration::from_secs(30),
        || async {
            // The operator opens the record moments after the change: until then it is not
            // found, which is "not yet", not a failure.
            let got = crate::steps::try_field(journey, RECORD, "{.status.phase}")?;
            if got.trim() == phase {
                Ok(())
            } else {
                Err(got)
            }
        },
    )
    .await;
}

fn close(journey: &Journey, spec: serde_json::Value) -> crate::cluster::KubectlOutput {
    let patch = json!({ "spec": spec }).to_string();
    journey.kubectl(
        User::Alice,
        &["patch", RECORD, "--type", "merge", "-p", &patch],
    )
}

#[tokio::test]
async fn a_detected_nonconformity_is_closed_only_once_fixed_and_reopens_when_it_recurs() {
    let journey = Journey::start("e2e-nonconformity", "enforce").await;
    let ns = journey.ns.as_str();
    approved_system(&journey, "scoring");
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "AssessmentApproved",
        "True",
        Duration::from_secs(30),
    )
    .await;
    journey
        .apply(User::Alice, &[deployment(ns, "scorer", "scoring", "1.0.0")])
        .ok();

    // A material change voids the approval while the model runs: the operator opens a record.
    intended_use(&journey, Some("small-business loans too"));
    phase_becomes(&journey, "Open").await;
    assert_eq!(field(&journey, RECORD, "{.spec.source}"), "Detected");
    assert_eq!(field(&journey, RECORD, "{.spec.severity}"), "Major");
    assert_eq!(
        field(&journey, RECORD, "{.status.conditionPresent}"),
        "true"
    );
    assert!(
        field(&journey, RECORD, "{.spec.description}").contains("Deployment/scorer"),
        "the record names the workload"
    );

    // The CRD refuses a closure without root cause and action.
    let refused = close(&journey, json!({"closure": {"evidence": ["x"]}})).refused();
    assert!(refused.contains("spec.rootCause"), "{refused}");

    // With them, the webhook refuses while the model still runs unassessed.
    let analysed = json!({
        "rootCause": "the intended use was widened without a new assessment",
        "correctiveAction": {"description": "material changes go through the assessment workflow"},
        "closure": {"evidence": ["https://tickets.example/AI-42"]},
    });
    let refused = close(&journey, analysed.clone()).refused();
    assert!(
        refused.contains("AssessmentLapsedWhileRunning still holds"),
        "{refused}"
    );

    // Fixed (the change reverted, the approval covers the system again): closed, and the
    // webhook records who closed it, whatever the request claimed.
    intended_use(&journey, None);
    eventually("the condition clears", Duration::from_secs(30), || async {
        let present = field(&journey, RECORD, "{.status.conditionPresent}");
        if present == "false" {
            Ok(())
        } else {
            Err(format!(
                "{present}; assessment {}, system {}",
                field(&journey, "impactassessment/scoring-ia", "{.status.phase}"),
                field(&journey, "aisystem/scoring", "{.status.nonconformities}")
            ))
        }
    })
    .await;
    let mut forged = analysed.clone();
    forged["closure"]["closedBy"] = json!("someone-else");
    close(&journey, forged).ok();
    assert_eq!(
        field(&journey, RECORD, "{.spec.closure.closedBy}"),
        User::Alice.name()
    );
    phase_becomes(&journey, "Closed").await;

    // It recurs: the same record reopens and counts the second occurrence.
    intended_use(&journey, Some("small-business loans too"));
    phase_becomes(&journey, "Reopened").await;
    assert_eq!(field(&journey, RECORD, "{.status.occurrences}"), "2");

    let events = journey.plane.audit_events();
    let creates = crate::audit::operator_writes(&events)
        .into_iter()
        .filter(|e| {
            e["objectRef"]["resource"] == "nonconformities"
                && e["objectRef"]["namespace"] == ns
                && e["objectRef"]["subresource"].is_null()
        })
        .map(|e| e["verb"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert_eq!(
        creates,
        vec!["create"],
        "the operator only ever creates the record"
    );
    journey.finish().await;
}
