//! Evidence packages as an auditor receives them: made with a key from `openssl genpkey`,
//! checked by `evidence verify`, byte-identical when made twice, and refused when a file is
//! altered, added, or the archive truncated or signed by another key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::aims_operator;

const NOW: &str = "2026-11-23T00:00:00Z";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn tool(program: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        text(&out.stderr)
    );
    out
}

/// A directory with an Ed25519 key pair made as the docs tell users to.
fn keys(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aims-evidence-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    tool(
        "openssl",
        &["genpkey", "-algorithm", "ed25519", "-out", "key.pem"],
        &dir,
    );
    tool(
        "openssl",
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
        &dir,
    );
    dir
}

fn make(dir: &Path, out: &str, key: &str) -> Output {
    aims_operator(&[
        "evidence",
        "examples",
        "--signing-key",
        &dir.join(key).to_string_lossy(),
        "--out",
        &dir.join(out).to_string_lossy(),
        "--from",
        "2026-01-01",
        "--to",
        "2026-11-22",
        "--now",
        NOW,
    ])
}

fn verify(dir: &Path, package: &str) -> Output {
    aims_operator(&[
        "evidence",
        "verify",
        &dir.join(package).to_string_lossy(),
        "--public-key",
        &dir.join("pub.pem").to_string_lossy(),
    ])
}

#[test]
fn a_package_verifies_says_what_soa_says_and_is_the_same_bytes_when_made_twice() {
    let dir = keys("made");
    let made = make(&dir, "a.tar.gz", "key.pem");
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(
        text(&made.stderr).contains("signed by key"),
        "{}",
        text(&made.stderr)
    );
    assert!(make(&dir, "b.tar.gz", "key.pem").status.success());
    let a = std::fs::read(dir.join("a.tar.gz")).unwrap();
    assert_eq!(
        a,
        std::fs::read(dir.join("b.tar.gz")).unwrap(),
        "not deterministic"
    );

    let checked = verify(&dir, "a.tar.gz");
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    assert!(
        text(&checked.stdout).contains("verified"),
        "{}",
        text(&checked.stdout)
    );
    assert!(text(&checked.stdout).contains("2026-11-23T00:00:00Z"));

    // What is inside is what the other commands print over the same files and time.
    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    tool("tar", &["xzf", "../a.tar.gz"], &unpacked);
    for (command, file) in [
        ("soa", "soa/statement-of-applicability.md"),
        ("register", "register/ai-system-register.md"),
        ("risks", "register/risk-register.md"),
    ] {
        let printed = aims_operator(&[command, "examples", "--now", NOW]);
        assert_eq!(
            text(&printed.stdout),
            std::fs::read_to_string(unpacked.join(file)).unwrap(),
            "{file}"
        );
    }
    let assessment = aims_operator(&[
        "assessment",
        "credit-scoring-2026q3",
        "examples",
        "--now",
        NOW,
    ]);
    assert_eq!(
        text(&assessment.stdout),
        std::fs::read_to_string(unpacked.join("assessments/lending/credit-scoring-2026q3.md"))
            .unwrap()
    );
    // The internal audit and the management review of the period, each finding with the
    // record that tracks it.
    let audit = std::fs::read_to_string(unpacked.join("audits/internal-audit-2026h2.md")).unwrap();
    assert!(
        audit.contains("| fairness-evidence | MinorNonconformity | A.6.2.4 |  | lending/audit-2026-fairness-evidence | Open |"),
        "{audit}"
    );
    let findings = std::fs::read_to_string(unpacked.join("audits/findings.csv")).unwrap();
    assert_eq!(
        findings.lines().count(),
        4,
        "a header and three findings: {findings}"
    );
    let review =
        std::fs::read_to_string(unpacked.join("reviews/management-review-2026h1.md")).unwrap();
    assert!(
        review.contains("Maria Lindqvist") && review.contains("| competence-matrix |"),
        "{review}"
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(unpacked.join("manifest.intoto.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(manifest["predicate"]["periodTo"], "2026-11-23T00:00:00Z");
    let listed = manifest["subject"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|s| s["name"] == "soa/statement-of-applicability.html")
    );
    assert!(
        listed
            .iter()
            .all(|s| s["digest"]["sha256"].as_str().unwrap().len() == 64)
    );
    let envelope: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(unpacked.join("manifest.intoto.dsse.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_altered_added_truncated_or_re_signed_package_is_refused_and_named() {
    let dir = keys("tampered");
    assert!(make(&dir, "good.tar.gz", "key.pem").status.success());
    let refused = |package: &str| {
        let out = verify(&dir, package);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{package} verified: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    };
    let repack = |name: &str, change: &dyn Fn(&Path)| {
        let work = dir.join(format!("work-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        tool("tar", &["xzf", "../good.tar.gz"], &work);
        change(&work);
        tool("tar", &["czf", &format!("../{name}"), "."], &work);
    };

    repack("altered.tar.gz", &|w| {
        let soa = w.join("soa/statement-of-applicability.csv");
        let edited = std::fs::read_to_string(&soa)
            .unwrap()
            .replacen("Implemented", "Verified", 1);
        std::fs::write(soa, edited).unwrap();
    });
    let why = refused("altered.tar.gz");
    assert!(
        why.contains("soa/statement-of-applicability.csv: altered"),
        "{why}"
    );

    repack("added.tar.gz", &|w| {
        std::fs::write(w.join("soa/extra.md"), "all controls verified").unwrap();
    });
    let why = refused("added.tar.gz");
    assert!(
        why.contains("soa/extra.md: not in the signed manifest"),
        "{why}"
    );

    repack("manifest.tar.gz", &|w| {
        let m = w.join("manifest.intoto.json");
        let edited = std::fs::read_to_string(&m)
            .unwrap()
            .replacen("2026", "2025", 1);
        std::fs::write(m, edited).unwrap();
    });
    let why = refused("manifest.tar.gz");
    assert!(why.contains("differs from the signed manifest"), "{why}");

    let good = std::fs::read(dir.join("good.tar.gz")).unwrap();
    std::fs::write(dir.join("truncated.tar.gz"), &good[..good.len() / 2]).unwrap();
    let why = refused("truncated.tar.gz");
    assert!(why.contains("damaged or truncated"), "{why}");

    // Someone else's key (a forger re-signing altered evidence) does not verify with ours.
    tool(
        "openssl",
        &["genpkey", "-algorithm", "ed25519", "-out", "other.pem"],
        &dir,
    );
    assert!(make(&dir, "other.tar.gz", "other.pem").status.success());
    let why = refused("other.tar.gz");
    assert!(
        why.contains("does not verify with this public key"),
        "{why}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_key_or_period_is_a_clear_error_and_writes_nothing() {
    let dir = keys("bad");
    tool(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "rsa",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            "rsa.pem",
        ],
        &dir,
    );
    let out = make(&dir, "rsa.tar.gz", "rsa.pem");
    refused_with(&out, "not an Ed25519 private key");
    assert!(text(&out.stderr).contains("openssl genpkey -algorithm ed25519"));
    assert!(!dir.join("rsa.tar.gz").exists());

    let out = aims_operator(&[
        "evidence",
        "examples",
        "--signing-key",
        &dir.join("key.pem").to_string_lossy(),
        "--out",
        &dir.join("p.tar.gz").to_string_lossy(),
        "--from",
        "2026-12-01",
        "--to",
        "2026-01-01",
    ]);
    refused_with(&out, "the period is empty");

    let out = aims_operator(&["evidence", "examples", "--out", "p.tar.gz"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    assert!(
        text(&out.stderr).contains("--signing-key"),
        "{}",
        text(&out.stderr)
    );

    let out = aims_operator(&[
        "evidence",
        "examples",
        "--signing-key",
        &dir.join("key.pem").to_string_lossy(),
        "--out",
        &dir.join("p.tar.gz").to_string_lossy(),
        "--audit-log",
        "/nonexistent/audit.log",
    ]);
    refused_with(&out, "/nonexistent/audit.log");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command refused its input (exit 2) saying `expected`.
fn refused_with(out: &std::process::Output, expected: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(expected),
        "{}",
        text(&out.stderr)
    );
}
