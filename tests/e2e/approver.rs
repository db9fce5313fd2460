//! The approver: no self-approval, `kubectl aims approve` records the approver, and no way
//! through the real API forges, moves or keeps a stamp; editing assessed content voids it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::{assessment, system};

fn approval(journey: &Journey, name: &str) -> Value {
    let out = journey
        .kubectl(
            User::Admin,
            &["get", "impactassessment", name, "-o", "json"],
        )
        .ok();
    serde_json::from_str::<Value>(&out).unwrap()["spec"]["approval"].clone()
}

async fn phase_becomes(journey: &Journey, name: &str, phase: &str) {
    let object = format!("impactassessment/{name}");
    eventually(
        &format!("{name} phase {phase}"),
        Duration::from_secs(30),
        || async {
            let got = crate::steps::field(journey, &object, "{.status.phase}");
            if got == phase { Ok(()) } else { Err(got) }
        },
    )
    .await;
}

#[tokio::test]
async fn approvals_are_recorded_under_the_approvers_identity_and_cannot_be_forged() {
    let journey = Journey::start("e2e-approver", "enforce").await;
    let ns = journey.ns.as_str();
    journey.apply(User::Admin, &[system(ns, "scoring")]).ok();
    journey
        .apply(User::Alice, &[assessment(ns, "alice-ia", "scoring", None)])
        .ok();
    journey
        .apply(User::Alice, &[assessment(ns, "other-ia", "scoring", None)])
        .ok();
    journey
        .apply(User::Carol, &[assessment(ns, "carol-ia", "scoring", None)])
        .ok();

    // alice may not approve; carol, an approver, may not approve what she wrote.
    let own = journey
        .kubectl(User::Alice, &["aims", "approve", "alice-ia", "-n", ns])
        .refused();
    assert!(
        own.contains("alice may not approve impact assessments"),
        "{own}"
    );
    let carol = journey
        .kubectl(User::Carol, &["aims", "approve", "carol-ia", "-n", ns])
        .refused();
    assert!(
        carol.contains("carol wrote this assessment and cannot approve it"),
        "{carol}"
    );
    assert_eq!(approval(&journey, "alice-ia"), Value::Null);

    // bob approves with the plugin; the stamps name him.
    let approved = journey
        .kubectl(
            User::Bob,
            &[
                "aims",
                "approve",
                "alice-ia",
                "-n",
                ns,
                "--comment",
                "risks treated",
            ],
        )
        .ok();
    assert!(approved.contains("alice-ia"), "{approved}");
    let stamp = approval(&journey, "alice-ia");
    assert_eq!(stamp["decision"], "Approved");
    assert_eq!(stamp["decidedBy"], "bob");
    assert_eq!(stamp["comment"], "risks treated");
    assert!(
        stamp["contentHash"]
            .as_str()
            .is_some_and(|h| h.starts_with("sha256:") && h.len() == 71),
        "{stamp}"
    );
    phase_becomes(&journey, "alice-ia", "Approved").await;

    // Every way to write a stamp by hand is refused.
    let forged = json!({"decision": "Approved", "decidedBy": "bob",
        "decidedAt": stamp["decidedAt"], "contentHash": stamp["contentHash"]});
    let moved = json!({"spec": {"approval": stamp}}).to_string();
    let merge = json!({"spec": {"approval": forged}}).to_string();
    let json_patch = json!([{"op": "add", "path": "/spec/approval", "value": forged}]).to_string();
    for (who, patch_type, patch) in [
        (User::Alice, "merge", &merge),
        (User::Carol, "merge", &merge),
        (User::Alice, "json", &json_patch),
        (User::Admin, "merge", &moved),
    ] {
        let patch_type = format!("--type={patch_type}");
        let args = [
            "patch",
            "impactassessment",
            "other-ia",
            patch_type.as_str(),
            "-p",
            patch,
        ];
        let refused = journey.kubectl(who, &args).refused();
        assert!(
            refused.contains("recorded by the webhook from the authenticated user"),
            "{who:?} {args:?}: {refused}"
        );
    }
    let strategic = journey
        .kubectl(
            User::Alice,
            &[
                "patch",
                "impactassessment",
                "other-ia",
                "--type=strategic",
                "-p",
                &merge,
            ],
        )
        .refused();
    assert!(strategic.contains("not supported"), "{strategic}");

    // Server-side apply under another field manager, forcing conflicts.
    let mut applied = assessment(ns, "other-ia", "scoring", None);
    applied["spec"]["approval"] = forged.clone();
    let refused = journey
        .apply_with(
            User::Alice,
            &[applied],
            &[
                "--server-side",
                "--force-conflicts",
                "--field-manager=ci-bot",
            ],
        )
        .refused();
    assert!(refused.contains("recorded by the webhook"), "{refused}");

    // The status subresource: not alice's by RBAC, not the admin's by the webhook.
    let status = json!({"status": {"phase": "Approved"}}).to_string();
    let patch_status = |who: User| {
        journey
            .kubectl(
                who,
                &[
                    "patch",
                    "impactassessment",
                    "other-ia",
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    &status,
                ],
            )
            .refused()
    };
    let rbac = patch_status(User::Alice);
    assert!(rbac.contains("forbidden"), "{rbac}");
    let webhook = patch_status(User::Admin);
    assert!(webhook.contains("denied the request"), "{webhook}");

    // The author annotation cannot be changed to pass carol's assessment off as alice's.
    let author = journey
        .kubectl(
            User::Carol,
            &[
                "annotate",
                "--overwrite",
                "impactassessment",
                "carol-ia",
                "aims.io/author=alice",
            ],
        )
        .refused();
    assert!(author.contains("cannot be set or changed"), "{author}");

    // An update from a stale copy is refused by the API server itself.
    let stale = journey
        .kubectl(
            User::Alice,
            &["get", "impactassessment", "alice-ia", "-o", "json"],
        )
        .ok();
    journey
        .kubectl(
            User::Alice,
            &["label", "impactassessment", "alice-ia", "reviewed=yes"],
        )
        .ok();
    let conflict = journey
        .plane
        .kubectl_with_input(User::Alice, &["replace", "-f", "-"], Some(&stale))
        .refused();
    assert!(
        conflict.contains("the object has been modified"),
        "{conflict}"
    );
    assert_eq!(approval(&journey, "alice-ia")["decidedBy"], "bob");

    // Editing the assessed content keeps the stamps but voids the approval.
    let edit = json!({"spec": {"risks": [{"id": "R1", "description": "bias", "likelihood": 4,
        "severity": 3, "treatment": "Mitigate"}]}})
    .to_string();
    journey
        .kubectl(
            User::Alice,
            &[
                "patch",
                "impactassessment",
                "alice-ia",
                "--type=merge",
                "-p",
                &edit,
            ],
        )
        .ok();
    phase_becomes(&journey, "alice-ia", "Voided").await;
    let message = journey
        .kubectl(
            User::Erin,
            &[
                "get",
                "impactassessment",
                "alice-ia",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Approved\")].message}",
            ],
        )
        .ok();
    assert!(message.contains("changed"), "{message}");
    journey.finish().await;
}
