//! The offline commands as a user runs them: verdicts, exit codes, formats, bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::aims_operator;

const NOW: &str = "2026-11-23T00:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aims-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// (workload, allowed, rule IDs) as the JSON output reports them.
fn verdicts(json: &Value) -> Vec<(String, bool, String)> {
    json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let rules: Vec<&str> = r["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(|f| f["rule"].as_str().expect("id"))
                .collect();
            (
                format!(
                    "{} {}/{}",
                    r["kind"].as_str().unwrap_or(""),
                    r["namespace"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or("")
                ),
                r["allowed"].as_bool().expect("allowed"),
                rules.join(","),
            )
        })
        .collect()
}

#[test]
fn examples_get_the_documented_verdicts() {
    let out = aims_operator(&["check", "examples", "--now", NOW, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "a denial exits 1");
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json output");
    let expected = [
        ("CronJob clinic/no-show-nightly", true, "AIMS-003"),
        ("Deployment clinic/no-show-legacy-api", true, "AIMS-003"),
        ("Deployment lending/credit-scorer", true, ""),
        ("Deployment lending/credit-scorer-canary", false, "AIMS-003"),
        ("InferenceService lending/fraud-detector", false, "AIMS-001"),
        ("Pod lending/scorer-debug", false, "AIMS-007,AIMS-007"),
        ("Deployment support/assistant-llm", true, ""),
        ("Deployment support/llm-experiment", false, "AIMS-001"),
        (
            "Job support/triage-eval",
            false,
            "AIMS-002,AIMS-003,AIMS-004",
        ),
        ("Deployment support/session-cache", true, ""),
    ];
    let actual = verdicts(&json);
    let expected: Vec<(String, bool, String)> = expected
        .iter()
        .map(|(w, a, r)| (w.to_string(), *a, r.to_string()))
        .collect();
    assert_eq!(actual, expected);
    assert_eq!(json["summary"]["denied"], 5);
    assert_eq!(json["summary"]["notJudged"], 1);
    assert_eq!(json["summary"]["admittedWithFindings"], 2);
}

/// The clinic's AISystem gained an input after its assessment was approved: the approval
/// no longer covers the nightly job, and the finding names the field that changed.
#[test]
fn examples_show_an_approval_voided_by_a_material_change() {
    let out = aims_operator(&["check", "examples/clinical-scheduling", "--now", NOW]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "\"scheduling-2026\" is Voided and covers no-show 1.x (AISystem appointment-scheduling \
             changed after marco approved this assessment (spec.inputData differs)"
        ),
        "{text}"
    );
    // The auditor reads the same in the SoA: its open points and its JSON register.
    let soa = stdout(&aims_operator(&["soa", "examples", "--now", NOW]));
    let line = soa
        .lines()
        .find(|l| l.starts_with("- clinic/appointment-scheduling: AssessmentApproved: "))
        .expect("the clinic's open point");
    assert!(line.contains("(spec.inputData differs)"), "{line}");
    let json: Value = serde_json::from_str(&stdout(&aims_operator(&[
        "soa", "examples", "--now", NOW, "--format", "json",
    ])))
    .expect("json");
    let findings = json["register"][0]["findings"].to_string();
    assert!(findings.contains("spec.inputData differs"), "{findings}");
    // support-assistant is compliant: its one open point is the incident it is handling.
    let findings = json["register"][2]["findings"]
        .as_array()
        .expect("findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]
            .as_str()
            .is_some_and(|f| f.contains("OpenIncidents")),
        "{findings:?}"
    );
}

#[test]
fn text_output_shows_the_webhook_message_and_location() {
    let out = aims_operator(&["check", "examples/credit-scoring", "--now", NOW]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains(
        "DENY  Deployment lending/credit-scorer-canary (AI system \"credit-scoring\", model scorer 2.4.0) is not allowed to run:\n      - AIMS-003 no approved, current impact assessment covers scorer 2.4.0."
    ), "{text}");
    assert!(
        text.contains("at examples/credit-scoring/workloads.yaml:28 (document 2)"),
        "{text}"
    );
    assert!(text.contains("ALLOW Deployment lending/credit-scorer (AI system \"credit-scoring\", model scorer 2.3.1) is allowed to run (assessment \"credit-scoring-2026q3\")"));
}

#[test]
fn compliant_input_exits_zero() {
    let dir = temp_dir("ok");
    for f in [
        "namespace.yaml",
        "aisystem.yaml",
        "assessments.yaml",
        "controls.yaml",
    ] {
        std::fs::copy(
            root().join("examples/support-assistant").join(f),
            dir.join(f),
        )
        .expect("copy");
    }
    let workloads =
        std::fs::read_to_string(root().join("examples/support-assistant/workloads.yaml"))
            .expect("read");
    let first = workloads.split("\n---\n").next().expect("first document");
    std::fs::write(dir.join("workloads.yaml"), first).expect("write");
    let out = aims_operator(&["check", dir.to_str().expect("utf-8"), "--now", NOW]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 workloads: 1 allowed, 0 denied"));
}

#[test]
fn an_expiry_in_the_future_is_visible_with_now() {
    // credit-scoring-2026q3 is valid until 2027-09-30: after that the production scorer is refused.
    let out = aims_operator(&[
        "check",
        "examples/credit-scoring",
        "--now",
        "2027-10-01T00:00:00Z",
        "-o",
        "json",
    ]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let (_, allowed, rules) = verdicts(&json)
        .into_iter()
        .find(|v| v.0 == "Deployment lending/credit-scorer")
        .expect("present");
    assert!(!allowed);
    assert!(rules.starts_with("AIMS-003"), "{rules}");
}

#[test]
fn bad_documents_are_reported_and_the_rest_still_judged() {
    let dir = temp_dir("bad");
    let good = std::fs::read_to_string(root().join("examples/support-assistant/workloads.yaml"))
        .expect("read");
    std::fs::write(
        dir.join("mixed.yaml"),
        format!("{good}\n---\nkind: [unclosed\n---\n- just\n- a list\n---\napiVersion: aims.io/v1alpha1\nkind: AISystem\nmetadata:\n  name: broken\nspec:\n  displayName: x\n---\napiVersion: aims.io/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n"),
    )
    .expect("write");
    std::fs::write(dir.join("binary.yaml"), [0xff, 0xfe, 0x00, 0x81]).expect("write");
    let out = aims_operator(&["check", dir.to_str().expect("utf-8"), "--now", NOW]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unreadable input exits 2: {text}"
    );
    assert!(text.contains("binary.yaml: not a text file"), "{text}");
    assert!(
        text.contains("mixed.yaml:") && text.contains("invalid YAML"),
        "{text}"
    );
    assert!(
        text.contains("not a Kubernetes object: expected a mapping"),
        "{text}"
    );
    assert!(
        text.contains("AISystem default/broken: missing field `riskTier`"),
        "{text}"
    );
    assert!(text.contains("unknown kind Widget in aims.io"), "{text}");
    // The good documents of the same file were still judged.
    assert!(text.contains("DENY  Deployment support/assistant-llm (AI system \"support-assistant\") is not allowed to run"), "{text}");
}

#[test]
fn a_missing_path_is_an_error_not_a_pass() {
    let out = aims_operator(&["check", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("ERROR no/such/dir: no such file or folder"));
}

#[test]
fn duplicate_resources_are_reported() {
    let dir = temp_dir("dup");
    let system = std::fs::read_to_string(root().join("examples/credit-scoring/aisystem.yaml"))
        .expect("read");
    std::fs::write(dir.join("a.yaml"), format!("{system}\n---\n{system}")).expect("write");
    let out = aims_operator(&["check", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("duplicate AISystem lending/credit-scoring"));
}

#[test]
fn junit_reports_failures_per_workload() {
    let out = aims_operator(&["check", "examples", "--now", NOW, "-o", "junit"]);
    let xml = stdout(&out);
    assert!(
        xml.contains(
            "<testsuite name=\"aims-check\" tests=\"10\" failures=\"5\" errors=\"0\" skipped=\"1\">"
        ),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 5);
    assert!(
        xml.contains("<testcase classname=\"lending\" name=\"Deployment/credit-scorer-canary\"")
    );
    assert!(xml.contains("type=\"AIMS-003\""));
}

#[test]
fn sarif_has_one_result_per_finding_at_the_document_line() {
    let out = aims_operator(&["check", "examples", "--now", NOW, "-o", "sarif"]);
    let sarif: Value = serde_json::from_str(&stdout(&out)).expect("sarif json");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 10, "one per finding");
    let canary = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("Deployment lending/credit-scorer-canary")
        })
        .expect("canary result");
    assert_eq!(canary["ruleId"], "AIMS-003");
    assert_eq!(canary["level"], "error");
    assert_eq!(
        canary["locations"][0]["physicalLocation"]["region"]["startLine"],
        28
    );
    let warn = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap_or("")
                .contains("no-show-legacy-api")
        })
        .expect("warn");
    assert_eq!(warn["level"], "warning");
}

#[test]
fn soa_lists_all_38_controls_in_every_format() {
    let json_out = aims_operator(&["soa", "examples", "--now", NOW, "--format", "json"]);
    assert_eq!(json_out.status.code(), Some(0));
    let soa: Value = serde_json::from_str(&stdout(&json_out)).expect("json");
    let controls = soa["controls"].as_array().expect("controls");
    assert_eq!(controls.len(), 38);
    assert_eq!(controls[0]["id"], "A.2.2");
    assert_eq!(controls[37]["id"], "A.10.4");
    let a103 = controls
        .iter()
        .find(|c| c["id"] == "A.10.3")
        .expect("A.10.3");
    assert!(
        a103["justification"]
            .as_array()
            .expect("list")
            .iter()
            .any(|j| j == "The scorer is built in-house; no third-party model is used.")
    );
    let a622 = controls
        .iter()
        .find(|c| c["id"] == "A.6.2.2")
        .expect("A.6.2.2");
    assert_eq!(a622["status"], "Gap");
    assert_eq!(a622["applicability"], "Not addressed");
    assert_eq!(soa["register"].as_array().expect("register").len(), 4);

    let csv = stdout(&aims_operator(&[
        "soa", "examples", "--now", NOW, "--format", "csv",
    ]));
    assert_eq!(csv.lines().count(), 39, "header and 38 rows");
    let html = stdout(&aims_operator(&[
        "soa", "examples", "--now", NOW, "--format", "html",
    ]));
    assert_eq!(html.matches("<tr id=\"A.").count(), 38);
    assert!(!html.contains("<script"), "self-contained, no scripts");
    let md = stdout(&aims_operator(&["soa", "examples", "--now", NOW]));
    assert!(md.contains("| A.6.2.6 | Operation and monitoring | Applicable |"));
    assert!(md.contains("## Open points"));
}

#[test]
fn demo_runs_on_the_embedded_examples() {
    let out = aims_operator(&["demo", "--now", NOW]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("10 workloads: 2 allowed, 5 denied, 2 admitted with findings, 1 not judged"),
        "{text}"
    );
    assert!(text.contains("# Statement of Applicability"));
}

#[test]
fn embedded_examples_match_the_folder() {
    let mut on_disk = Vec::new();
    let mut stack = vec![root().join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root())
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                on_disk.push((rel.clone(), std::fs::read_to_string(&path).expect("text")));
            }
        }
    }
    on_disk.sort();
    let embedded: Vec<(String, String)> = aims_operator::examples::FILES
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    assert_eq!(
        embedded, on_disk,
        "regenerate operator/src/examples.rs after changing examples/"
    );
}

#[test]
fn help_explains_the_exit_codes() {
    let help = stdout(&aims_operator(&["check", "--help"]));
    assert!(help.contains("Exit status: 0 all admitted, 1 something would be denied"));
}

#[test]
fn a_bad_policy_file_is_refused_clearly() {
    let dir = temp_dir("policy");
    std::fs::write(dir.join("p.yaml"), "requiredControls:\n  High: [A.99]\n").expect("write");
    let out = aims_operator(&[
        "check",
        "examples",
        "--policy",
        dir.join("p.yaml").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("A.99 is not an Annex A control ID"));
    // Every command that takes a policy, the server included, says so the same way and
    // writes nothing else.
    let bad = dir.join("p.yaml");
    let bad = bad.to_str().expect("utf-8");
    for args in [
        vec!["soa", "examples", "--policy", bad],
        vec!["register", "examples", "--policy", bad],
        vec![
            "evidence",
            "examples",
            "--policy",
            bad,
            "--signing-key",
            bad,
            "--out",
            "/dev/null",
        ],
        vec!["run", "--policy", bad],
    ] {
        let out = aims_operator(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with(&format!("error: policy file {bad} is not valid: "))
                && stderr.contains("A.99 is not an Annex A control ID"),
            "{args:?}: {stderr}"
        );
    }

    std::fs::write(
        dir.join("m.yaml"),
        "materialFields: [intendedUse, intended_use]\n",
    )
    .expect("write");
    let out = aims_operator(&[
        "check",
        "examples",
        "--policy",
        dir.join("m.yaml").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("materialFields: intended_use is not a field of an AISystem's spec"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    // Far more output than a pipe buffers, so the writer meets the closed pipe.
    let dir = temp_dir("broken-pipe");
    let many: String = (0..3000)
        .map(|i| format!("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{i}, namespace: shop}}\nspec: {{template: {{spec: {{containers: [{{name: c, image: nginx}}]}}}}}}\n"))
        .collect();
    std::fs::write(dir.join("many.yaml"), many).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .current_dir(root())
        .args(["check", "-v", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes, like `| head`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn run_without_a_cluster_says_what_is_missing() {
    for only in [None, Some("webhook"), Some("reconciler")] {
        let mut args = vec!["run"];
        if let Some(o) = only {
            args.extend(["--only", o]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_aims-operator"))
            .current_dir(root())
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{only:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error: no Kubernetes API server configuration found"),
            "{only:?}: {stderr}"
        );
    }
}

#[test]
fn contradictory_certificate_flags_are_refused_before_the_api_server_is_contacted() {
    // A stand-in API server that only counts who knocks: the operator must not get that far.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let dir = temp_dir("certflags");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
             clusters: [{{name: c, cluster: {{server: 'https://{}', insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: u, user: {{token: t}}}}]\n\
             contexts: [{{name: c, context: {{cluster: c, user: u}}}}]\n",
            server.local_addr().unwrap()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .current_dir(root())
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args([
            "run",
            "--self-managed-certs",
            "--ca-validity=1h",
            "--ca-renew-before=2h",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--ca-renew-before (2h) must be shorter than --ca-validity (1h)"),
        "{stderr}"
    );
    assert!(
        server.accept().is_err(),
        "the operator connected to the API server before refusing its flags: {stderr}"
    );
}

#[test]
fn paths_with_nothing_to_judge_are_an_error_not_a_pass() {
    let dir = temp_dir("nothing");
    let check = aims_operator(&["check", dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("nothing to judge")
            && stderr.contains("no workload and no AIMS resource in 0 file(s)"),
        "{stderr}"
    );
    std::fs::write(
        dir.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap();
    let check = aims_operator(&["check", dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&check.stderr).contains("(1 document(s) of other kinds)"));
}

#[test]
fn soa_writes_nothing_when_an_input_cannot_be_read() {
    for args in [
        vec!["soa", "no/such/folder"],
        vec!["soa", "examples", "no/such/file.yaml"],
    ] {
        let soa = aims_operator(&args);
        assert_eq!(soa.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&soa), "", "{args:?}");
        let stderr = String::from_utf8_lossy(&soa.stderr);
        assert!(stderr.contains("no such file or folder"), "{stderr}");
        assert!(
            stderr.contains("no Statement of Applicability written"),
            "{stderr}"
        );
    }
}

#[test]
fn what_the_api_server_refuses_is_refused_by_check_with_file_and_line() {
    let dir = temp_dir("strict");
    let file = dir.join("strict.yaml");
    std::fs::write(
        &file,
        "apiVersion: aims.io/v1alpha1\nkind: AISystem\nmetadata: {name: typo, namespace: lending}\n\
         spec: {displayName: T, riskTier: Minimal, lifecycleStage: Operation, ownr: {name: Dana}}\n\
         ---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: lending\n  \
         labels: {\"aіms.io/system\": typo}\nspec:\n  selector: {matchLabels: {app: d}}\n  template:\n    \
         metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: x, imagePullPolicy: Always}]}\n\
         ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: e, namespace: lending}\n\
         spec: {replicas: two, selector: {matchLabels: {app: e}}, template: {metadata: {labels: {app: e}}, \
         spec: {containers: [{name: c, image: x}]}}}\n",
    )
    .unwrap();
    let check = aims_operator(&["check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    let out = stdout(&check);
    let path = file.display();
    assert!(
        out.contains(&format!(
            "ERROR {path}:1 (document 1): AISystem lending/typo: the API server would refuse it: unknown field \"spec.ownr\""
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ERROR {path}:6 (document 2): Deployment lending/d: the API server would refuse it: \
             metadata.labels: invalid key \"aіms.io/system\""
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("ERROR {path}:18 (document 3): Deployment lending/e: the API server would refuse it: invalid type")),
        "{out}"
    );
}

/// The register lists every AISystem with every register field, in every format, with the
/// review standing the engine works out (clinic's review fell due on 2026-11-28).
#[test]
fn the_register_has_every_system_and_field_in_every_format() {
    let at = "2026-12-04T00:00:00Z";
    let out = aims_operator(&["register", "examples", "--now", at, "-f", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let rows = json["register"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "appointment-scheduling",
            "credit-scoring",
            "support-assistant",
            "ticket-triage"
        ]
    );
    let clinic = &rows[0];
    assert_eq!(clinic["review"], "overdue since 2026-11-28");
    assert_eq!(clinic["lastReviewed"], "2026-06-01");
    assert!(
        clinic["owner"]
            .as_str()
            .unwrap()
            .starts_with("Dr. Priya Raman")
    );
    assert!(
        clinic["trainingData"][0].as_str().unwrap().contains('('),
        "{clinic}"
    );
    assert_eq!(rows[1]["review"], "due 2026-12-30");

    let csv = stdout(&aims_operator(&[
        "register", "examples", "--now", at, "-f", "csv",
    ]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 4,
        "a header and one line per system: {csv}"
    );
    assert!(
        lines[0]
            .starts_with("System,Name,Owner,Purpose,Intended use,Roles,Techniques,Training data")
    );
    let markdown = stdout(&aims_operator(&["register", "examples", "--now", at]));
    assert!(markdown.contains("| clinic/appointment-scheduling | Outpatient no-show prediction |"));
    let html = stdout(&aims_operator(&[
        "register", "examples", "--now", at, "-f", "html",
    ]));
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<td>overdue since 2026-11-28</td>")
    );

    // Nothing to register, or part of the input unreadable: an error, nothing on stdout.
    let dir = temp_dir("register");
    std::fs::write(dir.join("bad.yaml"), "kind: AISystem\nspec: [\n").expect("write");
    let out = aims_operator(&["register", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
}

/// The risk register lists every risk with its system, owner, rating, treatment and the state
/// of its controls now; one assessment renders with its risk matrices and approval record.
#[test]
fn risks_and_an_assessment_are_readable_by_a_person() {
    let at = "2026-12-04T00:00:00Z";
    let out = aims_operator(&["risks", "examples", "--now", at, "-f", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let credit = json["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .find(|r| r["system"] == "credit-scoring" && r["risk"] == "R1")
        .expect("credit-scoring R1");
    assert_eq!(credit["rating"], "3×4=12");
    assert_eq!(credit["owner"], "Dana Whitfield");
    assert!(
        credit["controls"]
            .as_array()
            .unwrap()
            .contains(&Value::from("A.7.4 Planned")),
        "{credit}"
    );

    let waiting = json["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .find(|r| r["assessment"] == "support-assistant-tools (Draft)")
        .expect("the draft's risk");
    assert_eq!(waiting["rating"], "3×5=15");
    assert_eq!(waiting["acceptedBy"], "awaiting a risk owner");

    let text = stdout(&aims_operator(&[
        "assessment",
        "credit-scoring-2026q3",
        "examples",
        "--now",
        at,
    ]));
    assert!(text.starts_with("# Impact assessment lending/credit-scoring-2026q3\n"));
    assert!(text.contains("### Before treatment") && text.contains("### After treatment"));
    assert!(
        text.contains("| 3 |  |  |  | R1 |  |"),
        "R1 at likelihood 3, severity 4: {text}"
    );
    assert!(text.contains("Approved by bob at 2026-09-15T10:00:00Z"));

    // The example whose approval a material change voided says which field changed, in
    // every format; one whose high-rated accepted risk waits shows whom it waits for.
    let view = |name: &str, format: &str| {
        stdout(&aims_operator(&[
            "assessment",
            name,
            "examples",
            "--now",
            at,
            "-f",
            format,
        ]))
    };
    let json: Value = serde_json::from_str(&view("scheduling-2026", "json")).expect("json");
    assert_eq!(json["phase"], "Voided");
    assert_eq!(
        json["approval"]["changedSince"],
        serde_json::json!(["inputData"])
    );
    assert_eq!(json["approval"]["decidedBy"], "marco");
    assert_eq!(json["risks"][0]["likelihood"], 3);
    let html = view("scheduling-2026", "html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("<h1>Impact assessment clinic/scheduling-2026</h1>")
            && html.contains("<h3>Before treatment</h3>")
            && html.contains("Changed since the approval: inputData"),
        "{html}"
    );
    assert!(view("scheduling-2026", "markdown").contains("Changed since the approval: inputData"));
    let csv = view("support-assistant-tools", "csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one line per risk: {csv}");
    assert!(
        lines[0].starts_with("System,Owner,Assessment,Risk,"),
        "{csv}"
    );
    assert!(lines[1].ends_with(",awaiting a risk owner"), "{csv}");

    let out = aims_operator(&["assessment", "no-such-assessment", "examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no ImpactAssessment no-such-assessment; there are: "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `check --discover` lists the examples' model servers no AISystem covers, and its drafts
/// are AISystems `check` reads without an error; once registered and labelled, they are
/// gone from the list.
#[test]
fn discover_lists_unregistered_model_serving_with_drafts_to_start_from() {
    let out = aims_operator(&["check", "--discover", "examples"]);
    assert_eq!(out.status.code(), Some(1), "something found exits 1");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "InferenceService lending/fraud-detector: its label aims.io/system names AISystem \"fraud\", which is not registered",
            "Deployment support/llm-experiment: container tgi runs the serving image ghcr.io/huggingface/text-generation-inference:2.4",
        ],
        "{text}"
    );
    let drafts = stdout(&aims_operator(&[
        "check",
        "--discover",
        "-o",
        "yaml",
        "examples",
    ]));
    assert!(
        drafts.contains("storageUri: gs://models/fraud/v3"),
        "{drafts}"
    );
    assert!(drafts.contains("name: fraud\n    storageUri"), "{drafts}");
    let dir = temp_dir("discover");
    std::fs::write(dir.join("drafts.yaml"), &drafts).expect("write");
    let out = aims_operator(&["soa", dir.to_str().expect("utf-8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With the drafts, fraud-detector's label names a registered system, and
    // llm-experiment runs an artifact its draft declares: both are covered (the webhook
    // then judges llm-experiment as that system's model and asks for its label).
    let both = aims_operator(&[
        "check",
        "--discover",
        "examples",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(both.status.code(), Some(0), "{}", stdout(&both));
    assert_eq!(
        stdout(&both),
        "No model serving outside the AI system register.\n"
    );
    let junit = aims_operator(&["check", "--discover", "-o", "junit", "examples"]);
    assert_eq!(junit.status.code(), Some(2));
}

/// The SoA is the organisation's: a control the AIManagementSystem binds is met once for
/// every system in its scope (no namespace binds the AI policy again), and a system it
/// leaves out is named with the reason and left out of the statement.
#[test]
fn organisation_wide_controls_count_once_for_every_system_in_scope() {
    let soa: Value = serde_json::from_str(&stdout(&aims_operator(&[
        "soa", "examples", "--now", NOW, "--format", "json",
    ])))
    .expect("json");
    let control = |id: &str| {
        soa["controls"]
            .as_array()
            .expect("controls")
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .expect("control")
    };
    for id in ["A.2.2", "A.2.3", "A.3.3", "A.10.2"] {
        let c = control(id);
        assert_eq!(c["status"], "Implemented", "{id}: {c}");
        assert_eq!(c["notCovered"], serde_json::json!([]), "{id}");
        let systems: Vec<&str> = c["systems"]
            .as_array()
            .expect("systems")
            .iter()
            .map(|s| s["system"].as_str().expect("name"))
            .collect();
        assert_eq!(
            systems,
            [
                "clinic/appointment-scheduling",
                "lending/credit-scoring",
                "support/support-assistant"
            ],
            "{id}: ticket-triage is out of scope"
        );
        assert_eq!(c["systems"][0]["binding"], "AIManagementSystem/aims");
    }
    assert_eq!(
        control("A.4.6")["status"],
        "Planned",
        "InProgress counts as Planned"
    );
    let triage = &soa["register"][3];
    assert_eq!(triage["name"], "ticket-triage");
    assert!(
        triage["outOfScope"]
            .as_str()
            .expect("text")
            .starts_with("out of the AIMS scope: Still in development"),
        "{triage}"
    );
    assert!(
        soa["aimsScope"]
            .as_str()
            .expect("text")
            .starts_with("AI systems the group develops")
    );
    // Objectives the cluster measures show the value now against the target.
    let objectives = soa["objectives"].as_array().expect("objectives");
    assert_eq!(objectives[0]["target"], "100 %");
    assert_eq!(
        objectives[0]["value"], "0 %",
        "credit-scoring's canary version is not covered"
    );
    assert_eq!(objectives[0]["met"], false);
    let training = objectives
        .iter()
        .find(|o| o["name"] == "Staff trained on the AI policy")
        .expect("training objective");
    assert_eq!(training["value"], "", "not measured in the cluster");
    assert_eq!(training["met"], Value::Null);

    // A per-system control bound organisation-wide is refused, as the API server refuses it.
    let dir = temp_dir("organisation");
    std::fs::write(
        dir.join("aims.yaml"),
        "apiVersion: aims.io/v1alpha1\nkind: AIManagementSystem\nmetadata:\n  name: aims\nspec:\n  scope:\n    statement: all\n  controls:\n    - id: A.6.2.4\n      applicability: Applicable\n",
    )
    .expect("write");
    let out = aims_operator(&["soa", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("spec.controls[0].id: A.6.2.4 is bound per AI system (in a ControlBinding), not organisation-wide"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
