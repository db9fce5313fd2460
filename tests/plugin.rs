//! `kubectl aims` against a tower-test mock API server: the requests it makes and what it
//! prints from the answers.
use crate::support;

use aims_operator::plugin::{decide, explain, live_snapshot};
use aims_operator::policy::Policy;
use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use support::*;

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn mock_client() -> (Client, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": format!("{kind}List"), "metadata": {"resourceVersion": "1"}, "items": items})
}

/// Serves GETs from `routes` (path -> body) until the client is done, 404 for any other path
/// (an API group the cluster does not serve); records the paths.
fn serve(
    mut handle: ApiHandle,
    routes: Vec<(&'static str, Value)>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some((request, respond)) = handle.next_request().await {
            assert_eq!(request.method(), Method::GET);
            let path = request.uri().path().to_string();
            let found = routes
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, b)| b.clone());
            seen.push(path);
            let (code, body) = match found {
                Some(body) => (StatusCode::OK, body),
                None => (
                    StatusCode::NOT_FOUND,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
                ),
            };
            respond.send_response(
                Response::builder()
                    .status(code)
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            );
        }
        seen
    })
}

fn lending_routes() -> Vec<(&'static str, Value)> {
    let register = lending();
    let systems = register
        .systems()
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    let assessments = register
        .assessments()
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    vec![
        (
            "/apis/aims.io/v1alpha1/namespaces/lending/aisystems",
            list("AISystem", systems),
        ),
        (
            "/apis/aims.io/v1alpha1/namespaces/lending/impactassessments",
            list("ImpactAssessment", assessments),
        ),
        (
            "/apis/aims.io/v1alpha1/namespaces/lending/controlbindings",
            list("ControlBinding", vec![]),
        ),
        (
            "/api/v1/namespaces",
            list(
                "Namespace",
                vec![json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "lending", "labels": {"aims.io/enforcement": "enforce"}}
                })],
            ),
        ),
    ]
}

/// `kubectl aims explain deploy/credit-scorer -n lending` against `routes`: the message,
/// whether it would be admitted, and the paths requested.
async fn explain_with(routes: Vec<(&'static str, Value)>) -> (String, bool, Vec<String>) {
    let (client, handle) = mock_client();
    let server = serve(handle, routes);
    let (message, allowed) = explain(
        &client,
        "deploy/credit-scorer",
        "lending",
        &Policy::default(),
        now(),
    )
    .await
    .unwrap();
    drop(client);
    (message, allowed, server.await.unwrap())
}

#[tokio::test]
async fn the_register_is_read_from_the_cluster() {
    let (client, handle) = mock_client();
    let server = serve(handle, lending_routes());
    let snapshot = live_snapshot(&client, Some("lending")).await.unwrap();
    drop(client);
    // The four kinds, and whether the Prometheus Operator's monitors are served (not here).
    assert_eq!(
        server.await.unwrap().last().unwrap(),
        "/apis/monitoring.coreos.com/v1"
    );
    assert!(!snapshot.monitors_known_in("lending"));
    assert!(snapshot.system("lending", "credit-scoring").is_some());
    assert_eq!(
        snapshot.assessments_for("lending", "credit-scoring").len(),
        1
    );
    assert_eq!(
        snapshot.namespace_enforcement("lending"),
        Some(aims_operator::resources::EnforcementMode::Enforce)
    );
}

#[tokio::test]
async fn explain_gives_the_webhook_message_for_a_live_workload() {
    let mut deployment = fixture("deployment-update-image.json")["request"]["object"].clone();
    deployment.as_object_mut().unwrap().remove("kind");
    let mut routes = lending_routes();
    routes.push((
        "/apis/apps/v1/namespaces/lending/deployments/credit-scorer",
        deployment,
    ));
    let (message, allowed, _) = explain_with(routes).await;
    assert!(!allowed);
    assert!(
        message.starts_with("Deployment lending/credit-scorer (AI system \"credit-scoring\""),
        "{message}"
    );
    assert!(message.contains("- AIMS-007"), "{message}");

    let (client, _handle) = mock_client();
    let error = explain(&client, "configmap/x", "lending", &Policy::default(), now())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("configmap is not a workload kind"),
        "{error}"
    );
}

#[tokio::test]
async fn approve_sends_the_decision_without_stamps_and_reports_the_recorded_ones() {
    let (client, mut handle) = mock_client();
    let task = tokio::spawn(async move {
        decide(
            &client,
            "lending",
            "credit-scoring-2026q3",
            "Approved",
            Some("reviewed"),
        )
        .await
    });
    let (request, respond) = handle.next_request().await.unwrap();
    assert_eq!(request.method(), Method::PATCH);
    assert_eq!(
        request.uri().path(),
        "/apis/aims.io/v1alpha1/namespaces/lending/impactassessments/credit-scoring-2026q3"
    );
    assert_eq!(
        request.headers()["content-type"],
        "application/merge-patch+json"
    );
    let body: Value =
        serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"spec": {"approval": {"decision": "Approved", "comment": "reviewed",
            "decidedBy": null, "decidedAt": null, "contentHash": null, "systemFields": null}}})
    );
    let mut stored = assessment("credit-scoring-2026q3", "credit-scoring", &["2.3.x"]);
    stored.metadata.namespace = Some("lending".into());
    let stored = stored.approved_by("bob", "2026-11-23T12:00:00Z");
    respond.send_response(Response::new(Body::from(
        serde_json::to_vec(&stored).unwrap(),
    )));
    assert_eq!(
        task.await.unwrap().unwrap(),
        "impactassessment lending/credit-scoring-2026q3: Approved by bob at 2026-11-23T12:00:00Z"
    );
}

#[tokio::test]
async fn a_refusal_by_the_webhook_reaches_the_user_in_full() {
    let (client, mut handle) = mock_client();
    let task = tokio::spawn(async move { decide(&client, "lending", "a", "Approved", None).await });
    let (_, respond) = handle.next_request().await.unwrap();
    let refusal = "admission webhook \"resources.aims.io\" denied the request: alice may not approve impact assessments";
    respond.send_response(
        Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body(Body::from(
                serde_json::to_vec(
                    &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": refusal, "reason": "Forbidden", "code": 403}),
                )
                .unwrap(),
            ))
            .unwrap(),
    );
    let error = task.await.unwrap().unwrap_err().to_string();
    assert!(
        error.starts_with("recording the decision on lending/a: "),
        "{error}"
    );
    assert!(error.contains(refusal), "{error}");
}

fn plugin(args: &[&str], kubeconfig: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-aims"))
        .current_dir(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_offline_check_gives_the_same_answer_as_aims_operator_check() {
    let args = [
        "check",
        "examples/",
        "--now",
        "2026-11-23T00:00:00Z",
        "-o",
        "json",
    ];
    let from_plugin = plugin(&args, "/nonexistent");
    let from_operator = std::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .current_dir(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(from_plugin.status.code(), from_operator.status.code());
    assert_eq!(from_plugin.stdout, from_operator.stdout);
    assert_eq!(
        from_plugin.status.code(),
        Some(1),
        "the examples include refusals"
    );
}

#[test]
fn without_a_cluster_the_live_commands_say_so() {
    let out = plugin(&["soa"], "/nonexistent");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: no Kubernetes configuration found"),
        "{stderr}"
    );
}

#[test]
fn a_missing_kubeconfig_or_context_is_named_as_kubectl_names_it() {
    let out = plugin(
        &["--kubeconfig", "/nonexistent/config", "soa"],
        "/nonexistent",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read kubeconfig /nonexistent/config"),
        "{stderr}"
    );

    let dir = crate::https::temp_dir("plugin-contexts");
    let config = dir.join("config");
    std::fs::write(
        &config,
        json!({"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "east", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "east"})
        .to_string(),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = plugin(&["register", "--context", "north"], config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with("error: context \"north\" does not exist"),
        "{stderr}"
    );
    let out = plugin(&["--context", "east", "--context", "east", "soa"], config);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--context east is given twice"),
        "{out:?}"
    );
    // A server that does not answer: what was being done, and where to look.
    let out = plugin(&["--context", "east", "register"], config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: listing AISystems: the connection to the server failed")
            && stderr.contains("did you specify the right host or port?"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_catalog_has_column_headers() {
    let out = plugin(&["catalog"], "/nonexistent");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID", "TITLE", "CHECK", "EU", "AI", "ACT", "NIST", "AI", "RMF"
        ]
    );
    assert!(lines[2].trim_start().starts_with("A.2.2"), "{text}");
    let rules = lines.iter().position(|l| *l == "Admission rules:").unwrap();
    assert!(
        lines[rules + 1]
            .split_whitespace()
            .take(2)
            .eq(["RULE", "TITLE"]),
        "{text}"
    );
    assert!(
        lines[rules + 2].trim_start().starts_with("AIMS-001"),
        "{text}"
    );
}

/// Where ServiceMonitors exist, the webhook requires one tied to the system; `kubectl aims`
/// reads them too, so its answer is the webhook's.
#[tokio::test]
async fn explain_reads_monitors_where_they_exist_as_the_webhook_does() {
    let mut deployment = fixture("deployment-create.json")["request"]["object"].clone();
    deployment.as_object_mut().unwrap().remove("kind");
    let mut routes = lending_routes();
    routes.push((
        "/apis/apps/v1/namespaces/lending/deployments/credit-scorer",
        deployment.clone(),
    ));
    routes.push((
        "/apis/monitoring.coreos.com/v1",
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "monitoring.coreos.com/v1",
               "resources": [{"name": "servicemonitors", "singularName": "servicemonitor", "namespaced": true,
                              "kind": "ServiceMonitor", "verbs": ["get", "list", "watch"]}]}),
    ));
    routes.push((
        "/apis/monitoring.coreos.com/v1/namespaces/lending/servicemonitors",
        list("ServiceMonitor", vec![]),
    ));
    let (message, allowed, requested) = explain_with(routes).await;
    assert!(requested.iter().any(|p| p.ends_with("/servicemonitors")));
    assert!(!allowed, "{message}");
    assert!(message.contains("- AIMS-004"), "{message}");

    // The webhook, from a cache that follows monitors and has none for the system, agrees.
    let mut snapshot = lending();
    snapshot.clear_monitors("ServiceMonitor");
    deployment["kind"] = json!("Deployment");
    let verdict = aims_operator::engine::evaluate_object(
        &snapshot,
        &deployment,
        "lending",
        &Policy::default(),
        now(),
    )
    .unwrap();
    assert_eq!(message, verdict.message());
}

/// `kubectl aims` trusts the stamps the operator trusts: in the operator's namespace (which
/// the webhook never checks) an approval counts for nothing, with or without a policy file.
#[test]
fn stamps_in_the_operators_namespace_count_for_nothing_in_the_plugin_either() {
    use aims_operator::plugin::live_policy;
    let mut assessment = assessment("a", "s", &["1.0.0"]);
    assessment.metadata.namespace = Some("aims-ops".into());
    let assessment = assessment
        .authored_by("alice")
        .approved_by("bob", "2026-11-01T00:00:00Z");
    let file = std::env::temp_dir().join(format!("aims-plugin-policy-{}.yaml", std::process::id()));
    std::fs::write(&file, "approverGroups: [ai-approvers]\n").unwrap();
    for path in [None, Some(file.as_path())] {
        let policy = live_policy(path, "aims-ops").unwrap();
        let state =
            aims_operator::engine::assessment::assessment_state(&assessment, &policy, now());
        assert_eq!(
            state.phase,
            aims_operator::resources::AssessmentPhase::Voided,
            "{path:?}: {}",
            state.message
        );
        assert!(
            policy.exempt_namespaces.iter().any(|n| n == "kube-system"),
            "{path:?}"
        );
    }
    std::fs::remove_file(&file).ok();
    let elsewhere = live_policy(None, "aims-system").unwrap();
    let state = aims_operator::engine::assessment::assessment_state(&assessment, &elsewhere, now());
    assert_eq!(
        state.phase,
        aims_operator::resources::AssessmentPhase::Approved,
        "{}",
        state.message
    );
}

/// Merged from two clusters of which only `east` serves the Prometheus Operator's monitors:
/// a system of `west` is judged as west's own webhook judges it, with no monitor required,
/// while one of `east` still needs a monitor tied to it.
#[test]
fn in_a_merged_reading_monitors_are_required_only_in_the_clusters_that_serve_them() {
    use aims_operator::engine::controls::monitoring_in_place;
    let mut snapshot = aims_operator::engine::Snapshot::new();
    for ns in ["east/lending", "west/lending"] {
        let mut scoring = system("scoring");
        scoring.metadata.namespace = Some(ns.into());
        snapshot.add_system(scoring);
    }
    snapshot.follow_monitors_only_under(vec!["east/".into()]);
    let policy = Policy::default();
    let in_place =
        |ns: &str| monitoring_in_place(&snapshot, snapshot.system(ns, "scoring").unwrap(), &policy);
    let east = in_place("east/lending").unwrap_err();
    assert!(east.contains("no ServiceMonitor or PodMonitor"), "{east}");
    assert_eq!(in_place("west/lending"), Ok(()));
}
