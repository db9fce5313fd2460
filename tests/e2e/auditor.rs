//! The auditor: the Statement of Applicability, the AI system register, the risk register
//! and an assessment read from the live cluster are what `aims-operator` gives over the same
//! objects exported as manifests, format by format, and the aims-auditor role reads
//! everything and writes nothing.

use std::time::Duration;

use crate::cluster::User;
use crate::env::{Journey, eventually};
use crate::objects::deployment;

/// The SoA with its scope line and times taken out: what was read (the cluster or files)
/// and when are the only parts that may differ between the live and the offline reading.
fn comparable(soa: &str) -> String {
    soa.lines()
        .filter(|l| {
            let l = l.to_lowercase();
            !l.contains("generated") && !l.contains("\"scope\"")
        })
        .map(without_times)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` with every RFC 3339 time (2026-12-02T05:14:48.38Z) replaced by `<time>`.
fn without_times(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let is_time = bytes.len() >= i + 11
            && bytes[i..i + 4].iter().all(u8::is_ascii_digit)
            && bytes[i + 4] == b'-'
            && bytes[i + 7] == b'-'
            && bytes[i + 10] == b'T';
        if is_time {
            out.push_str("<time>");
            i += 11;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b":.+-Z".contains(&bytes[i])) {
                i += 1;
            }
        } else {
            let c = line[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn the_live_soa_is_the_offline_soa_and_auditors_only_read() {
    let journey = Journey::start("e2e-auditor", "enforce").await;
    let ns = journey.ns.as_str();
    crate::steps::running_scorer(&journey);
    eventually(
        "the system is evaluated",
        Duration::from_secs(30),
        || async {
            let compliant = journey
                .kubectl(
                    User::Erin,
                    &[
                        "get",
                        "aisystem",
                        "scoring",
                        "-o",
                        "jsonpath={.status.summary.compliant}",
                    ],
                )
                .ok();
            if compliant.is_empty() {
                Err(compliant)
            } else {
                Ok(())
            }
        },
    )
    .await;

    // The same objects as manifests, exported by the auditor.
    let exported = journey
        .kubectl(
            User::Erin,
            &[
                "get",
                "aisystems,impactassessments,controlbindings",
                "-o",
                "yaml",
            ],
        )
        .ok();
    let file = journey.plane.dir.join("auditor-export.yaml");
    std::fs::write(&file, exported).unwrap();
    let now = jiff::Timestamp::now().to_string();
    // The Statement of Applicability, the register, the risk register and one assessment
    // rendered for a person, each in every format.
    let mut readings: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    for command in ["soa", "register", "risks"] {
        for format in ["markdown", "html", "json", "csv"] {
            readings.push((
                vec!["aims", command, "-n", ns, "--format", format],
                vec![command, "--format", format],
            ));
        }
    }
    for format in ["markdown", "html", "json", "csv"] {
        readings.push((
            vec![
                "aims",
                "assessment",
                "scoring-ia",
                "-n",
                ns,
                "--format",
                format,
            ],
            vec!["assessment", "scoring-ia", "--format", format],
        ));
    }
    for (live_args, offline_args) in readings {
        let what = offline_args.join(" ");
        let live = journey.plane.kubectl(User::Erin, &live_args).ok();
        let offline = std::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
            .args(&offline_args)
            .args(["--now", &now])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            offline.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&offline.stderr)
        );
        let offline = String::from_utf8(offline.stdout).unwrap();
        assert!(live.contains("scoring"), "{what}: {live}");
        assert_eq!(comparable(&live), comparable(&offline), "{what} differs");
    }

    // Reads everything, writes nothing.
    for kind in [
        "aisystems",
        "impactassessments",
        "controlbindings",
        "reports.openreports.io",
    ] {
        let can = journey
            .plane
            .kubectl(User::Erin, &["auth", "can-i", "list", kind, "-A"]);
        assert_eq!(can.stdout.trim(), "yes", "{kind}: {can:?}");
    }
    for verb in ["create", "update", "patch", "delete"] {
        for kind in [
            "aisystems",
            "impactassessments",
            "controlbindings",
            "aisystems/status",
        ] {
            let can = journey
                .plane
                .kubectl(User::Erin, &["auth", "can-i", verb, kind, "-A"]);
            assert_eq!(can.stdout.trim(), "no", "{verb} {kind}: {can:?}");
        }
    }
    let refused = journey
        .kubectl(User::Erin, &["delete", "aisystem", "scoring"])
        .refused();
    assert!(refused.contains("forbidden"), "{refused}");

    evidence_of_the_period(&journey);
    journey.finish().await;
}

/// The auditor's package of the period from the live cluster, with the API server's own
/// audit log: it verifies, and it counts the admission the journey saw and a refusal.
fn evidence_of_the_period(journey: &Journey) {
    let ns = journey.ns.as_str();
    let unassessed = deployment(ns, "scorer-next", "scoring", "9.9.9");
    journey.apply(User::Alice, &[unassessed]).refused();
    let dir = journey.plane.dir.join("evidence");
    std::fs::create_dir_all(&dir).unwrap();
    let run = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program)
            .current_dir(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(
        "openssl",
        &["genpkey", "-algorithm", "ed25519", "-out", "key.pem"],
    );
    run(
        "openssl",
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
    );
    let audit_log = journey.plane.dir.join("audit.log");
    let key = dir.join("key.pem");
    let package = dir.join("period.tar.gz");
    let made = journey.plane.kubectl(
        User::Erin,
        &[
            "aims",
            "evidence",
            "-n",
            ns,
            "--audit-log",
            &audit_log.to_string_lossy(),
            "--signing-key",
            &key.to_string_lossy(),
            "--out",
            &package.to_string_lossy(),
        ],
    );
    assert!(
        made.ok().is_empty(),
        "the package goes to --out, not stdout"
    );
    let verified = run(
        env!("CARGO_BIN_EXE_aims-operator"),
        &[
            "evidence",
            "verify",
            "period.tar.gz",
            "--public-key",
            "pub.pem",
        ],
    );
    assert!(verified.contains("verified"), "{verified}");
    run("tar", &["xzf", "period.tar.gz"]);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("decisions/admission-decisions.json")).unwrap(),
    )
    .unwrap();
    let count = |decision: &str| -> u64 {
        summary["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["namespace"] == ns && r["system"] == "scoring")
            .filter_map(|r| r["decisions"][decision].as_u64())
            .sum()
    };
    assert!(count("allowed") >= 1, "{summary:#}");
    assert!(count("denied") >= 1, "{summary:#}");
    let soa = std::fs::read_to_string(dir.join("soa/statement-of-applicability.md")).unwrap();
    assert!(soa.contains("scoring"), "{soa}");
}
