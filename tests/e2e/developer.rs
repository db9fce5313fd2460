//! The developer: refused at `kubectl apply` with every reason and fix, the same answer on a
//! server-side dry run, admitted after the fix with the controllers' ReplicaSet and Pods,
//! warnings in a warn namespace, audit annotations in an audit namespace.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{assessment, deployment, system};

#[tokio::test]
async fn a_refused_deployment_says_why_and_the_fixed_one_runs() {
    let journey = Journey::start("e2e-developer", "enforce").await;
    let ns = journey.ns.as_str();
    // The platform team registered the system without an owner or monitoring yet.
    let mut unfinished = system(ns, "scoring");
    unfinished["spec"]["owner"] = json!(null);
    unfinished["spec"]["monitoring"] = json!(null);
    journey.apply(User::Admin, &[unfinished]).ok();

    let model = deployment(ns, "scorer", "scoring", "1.0.0");
    let refused = journey
        .apply(User::Alice, std::slice::from_ref(&model))
        .refused();
    let expected = r#"Error from server (Forbidden): error when creating "STDIN": admission webhook "enforce.workloads.aims.io" denied the request: Deployment e2e-developer/scorer (AI system "scoring", model scorer 1.0.0) is not allowed to run:
- AIMS-002 AISystem "scoring" has no accountable owner (ISO/IEC 42001 5.3, A.3.2).
  Fix: kubectl -n e2e-developer patch aisystem scoring --type merge -p '{"spec":{"owner":{"name":"<person>","contact":"<e-mail>","team":"<team>"}}}'
- AIMS-003 no approved, current impact assessment covers scorer 1.0.0. No ImpactAssessment references AISystem "scoring". (ISO/IEC 42001 6.1.4, 8.4, A.5.2).
  Fix: add 1.0.0 to spec.models of an assessment of "scoring" (or create one with spec.systemRef: scoring), then have a member of ai-approvers approve it: kubectl -n e2e-developer patch impactassessment <assessment> --type merge -p '{"spec":{"approval":{"decision":"Approved"}}}'
- AIMS-004 monitoring is not declared for AISystem "scoring": spec.monitoring missing (ISO/IEC 42001 9.1, A.6.2.6).
  Fix: kubectl -n e2e-developer patch aisystem scoring --type merge -p '{"spec":{"monitoring":{"metrics":["<metric>"],"driftSignals":["<signal>"],"alertRoute":"<receiver>"}}}'
"#;
    assert_eq!(refused, expected);

    // A server-side dry run answers the same, and creates nothing.
    let dry = journey
        .apply_with(
            User::Alice,
            std::slice::from_ref(&model),
            &["--dry-run=server"],
        )
        .refused();
    assert_eq!(dry, refused);
    let none = journey
        .kubectl(User::Alice, &["get", "deployments", "-o", "name"])
        .ok();
    assert_eq!(none, "");

    // The fix: owner and monitoring, an assessment approved by an approver.
    journey.apply(User::Admin, &[system(ns, "scoring")]).ok();
    journey
        .apply(
            User::Alice,
            &[assessment(ns, "scoring-ia", "scoring", None)],
        )
        .ok();
    journey
        .kubectl(
            User::Bob,
            &[
                "patch",
                "impactassessment",
                "scoring-ia",
                "--type=merge",
                "-p",
                r#"{"spec":{"approval":{"decision":"Approved"}}}"#,
            ],
        )
        .ok();
    let admitted = journey.apply(User::Alice, &[model]).ok();
    assert_eq!(admitted, "deployment.apps/scorer created\n");

    // The controller-manager's ReplicaSet and Pod are admitted too: no second refusal.
    let plane = journey.plane;
    eventually(
        "the Pod of the Deployment",
        Duration::from_secs(60),
        || async {
            let pods = journey
                .kubectl(
                    User::Alice,
                    &["get", "pods", "-l", "app=scorer", "-o", "name"],
                )
                .ok();
            if pods.lines().count() == 1 {
                Ok(())
            } else {
                Err(pods)
            }
        },
    )
    .await;
    let refusals: Vec<_> = plane
        .audit_events()
        .into_iter()
        .filter(|e| e["objectRef"]["namespace"] == ns && e["responseStatus"]["code"] == 403)
        .filter(|e| e["user"]["username"] != "alice")
        .collect();
    assert!(
        refusals.is_empty(),
        "controllers were refused: {refusals:#?}"
    );
    journey.finish().await;
}

#[tokio::test]
async fn warn_namespaces_warn_and_audit_namespaces_record() {
    let mut journey = Journey::start("e2e-developer-warn", "warn").await;
    journey.add_namespace("e2e-developer-audit", "audit").await;
    let unregistered = |ns: &str| deployment(ns, "scorer", "nobody-registered", "1.0.0");

    let warned = journey.apply(User::Alice, &[unregistered("e2e-developer-warn")]);
    assert!(warned.success, "{}", warned.stderr);
    assert_eq!(
        warned.stderr,
        r#"Warning: Deployment e2e-developer-warn/scorer (AI system "nobody-registered") is admitted in warn mode but does not comply:
Warning: AIMS-001 no AISystem "nobody-registered" is registered in namespace e2e-developer-warn (ISO/IEC 42001 4.3, A.4.2). Fix: register it (kubectl apply -n e2e-developer-warn -f aisystem.yaml with metadata.name: nobody-registered) or correct the label aims.io/system
"#
    );
    assert_eq!(warned.stdout, "deployment.apps/scorer created\n");

    let audited = journey.plane.kubectl_with_input(
        User::Alice,
        &["apply", "-f", "-"],
        Some(&crate::env::stream(&[unregistered("e2e-developer-audit")])),
    );
    assert!(audited.success && audited.stderr.is_empty(), "{audited:?}");
    let events = journey.plane.audit_events();
    let create = events
        .iter()
        .find(|e| {
            e["verb"] == "create"
                && e["objectRef"]["namespace"] == "e2e-developer-audit"
                && e["objectRef"]["resource"] == "deployments"
        })
        .expect("the create is in the audit log");
    let annotations = &create["annotations"];
    for (key, value) in [
        ("decision", "audited"),
        ("mode", "audit"),
        ("rules", "AIMS-001"),
        ("system", "nobody-registered"),
    ] {
        assert_eq!(
            annotations[format!("observe.workloads.aims.io/{key}")],
            value,
            "{create:#}"
        );
    }
    journey.finish().await;
}
