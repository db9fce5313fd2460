//! Self-managed webhook certificates under a clock the test controls: made when missing,
//! renewed long before expiry, a new CA trusted before it signs anything, the old one trusted
//! until it expires; the Secret and `caBundle` written exactly as expected (mock API server).
use crate::https;

use std::time::Duration;

use aims_operator::certs::secret::{SelfManaged, bundle_of, ca_bundle_patch};
use aims_operator::certs::{
    CertBundle, CertSettings, Renewal, inspect_pem, plan, renew, verify_chain,
};
use aims_operator::webhook::tls::CertFiles;
use http::{Method, Request, Response, StatusCode};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

const SERVICE_NAME: &str = "aims-operator-webhook.aims-system.svc";

fn settings() -> CertSettings {
    CertSettings::for_names(CertSettings::service_names(
        "aims-operator-webhook",
        "aims-system",
    ))
}

fn start() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Whether the API server, trusting `ca_bundle`, accepts `cert` at `at`.
fn trusted(ca_bundle: &str, cert: &str, at: Timestamp) -> Result<(), String> {
    verify_chain(ca_bundle, cert, Some(&SERVICE_NAME.to_string()), at)
}

fn apply(stored: Option<&CertBundle>, at: Timestamp) -> (Renewal, CertBundle) {
    let decided = plan(stored, &settings(), at);
    let next = renew(stored, &decided.renewal, &settings(), at).unwrap();
    (decided.renewal, next)
}

#[test]
fn nothing_stored_makes_a_ca_and_a_serving_certificate_the_api_server_trusts() {
    let (renewal, bundle) = apply(None, start());
    assert!(matches!(renewal, Renewal::Fresh(_)), "{renewal:?}");
    trusted(&bundle.ca_bundle, &bundle.cert, start()).unwrap();
    let leaf = &inspect_pem(&bundle.cert).unwrap()[0];
    assert_eq!(
        leaf.not_after,
        start() + SignedDuration::from_hours(90 * 24)
    );
    let mut names = leaf.names.clone();
    names.sort();
    let mut wanted = settings().dns_names;
    wanted.sort();
    assert_eq!(names, wanted);
    // A fresh pair is kept, and the next look is when the serving certificate is due.
    let again = plan(
        Some(&bundle),
        &settings(),
        start() + SignedDuration::from_hours(1),
    );
    assert_eq!(again.renewal, Renewal::Keep);
    assert_eq!(
        again.next_check,
        start() + SignedDuration::from_hours(60 * 24)
    );
}

#[test]
fn unusable_stored_material_starts_over_instead_of_serving_it() {
    let (_, good) = apply(None, start());
    for broken in [
        CertBundle::default(),
        CertBundle {
            cert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            ..good.clone()
        },
        CertBundle {
            ca_key: "not a key".into(),
            ..good.clone()
        },
        CertBundle {
            // A serving certificate from a CA that is not in the bundle.
            ca_bundle: apply(None, start()).1.ca_bundle,
            ..good.clone()
        },
    ] {
        let decided = plan(Some(&broken), &settings(), start());
        assert!(
            matches!(decided.renewal, Renewal::Fresh(_)),
            "{:?}",
            decided.renewal
        );
    }
    let renamed = CertSettings::for_names(vec!["other.aims-system.svc".into()]);
    assert!(matches!(
        plan(Some(&good), &renamed, start()).renewal,
        Renewal::NewLeaf(_)
    ));
}

/// Five years of following the plan's own schedule: at every step the certificate served
/// is trusted by the caBundle published, before and after each change, and it is always
/// renewed well before it expires.
#[test]
fn five_years_of_rotation_never_leave_a_moment_without_trust() {
    let settings = settings();
    let (_, mut bundle) = apply(None, start());
    let mut at = start();
    let end = start() + SignedDuration::from_hours(5 * 365 * 24);
    let (mut new_cas, mut new_leaves, mut drops) = (0, 0, 0);
    while at < end {
        let decided = plan(Some(&bundle), &settings, at);
        assert!(decided.next_check >= at, "the schedule never goes back");
        if decided.renewal == Renewal::Keep {
            // Sleep until the next check, then a little past it (a loop wakes late).
            at = decided.next_check + SignedDuration::from_mins(1);
            continue;
        }
        let before = bundle.clone();
        bundle = renew(Some(&before), &decided.renewal, &settings, at).unwrap();
        // The old certificate (still served until every replica reloads) is trusted by the
        // new bundle, and the new certificate by the bundle the API server had before.
        trusted(&bundle.ca_bundle, &before.cert, at).unwrap();
        trusted(&before.ca_bundle, &bundle.cert, at)
            .or_else(|e| {
                // Only a new CA changes the bundle first; the certificate then stays.
                assert_eq!(decided.renewal, Renewal::NewCa, "{e}");
                Ok::<(), String>(())
            })
            .unwrap();
        let leaf = &inspect_pem(&bundle.cert).unwrap()[0];
        assert!(leaf.not_after.duration_since(at) >= SignedDuration::from_hours(30 * 24));
        match decided.renewal {
            Renewal::NewCa => {
                new_cas += 1;
                assert_eq!(bundle.cert, before.cert, "a new CA does not sign at once");
                assert_eq!(inspect_pem(&bundle.ca_bundle).unwrap().len(), 2);
                // It signs once it has been trusted for the propagation time.
                let switch = plan(Some(&bundle), &settings, at);
                assert_eq!(switch.next_check, at + settings.propagation);
            }
            Renewal::NewLeaf(_) => new_leaves += 1,
            Renewal::DropExpiredCas => drops += 1,
            ref other => panic!("unexpected {other:?}"),
        }
        trusted(&bundle.ca_bundle, &bundle.cert, at).unwrap();
    }
    assert!(new_cas >= 2, "{new_cas} CA rotations in five years");
    assert!(new_leaves >= 25, "{new_leaves} serving certificates");
    assert!(drops >= 1, "expired CAs leave the bundle");
}

#[test]
fn the_ca_bundle_patch_tests_each_webhook_name_and_skips_equal_bundles() {
    let bundle = "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n";
    let current = vec![
        ("enforce.workloads.aims.io".to_string(), None),
        (
            "observe.workloads.aims.io".to_string(),
            Some(ByteString(bundle.as_bytes().to_vec())),
        ),
        (
            "resources.aims.io".to_string(),
            Some(ByteString(b"old".to_vec())),
        ),
    ];
    let encoded = aims_operator::webhook::review::base64(bundle.as_bytes());
    assert_eq!(
        ca_bundle_patch(&current, bundle),
        vec![
            json!({"op": "test", "path": "/webhooks/0/name", "value": "enforce.workloads.aims.io"}),
            json!({"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": encoded}),
            json!({"op": "test", "path": "/webhooks/2/name", "value": "resources.aims.io"}),
            json!({"op": "add", "path": "/webhooks/2/clientConfig/caBundle", "value": encoded}),
        ]
    );
    assert!(ca_bundle_patch(&current[1..2], bundle).is_empty());
}

type ApiHandle = mock::Handle<Request<Body>, Response<Body>>;

async fn next(handle: &mut ApiHandle) -> (Request<Body>, mock::SendResponse<Response<Body>>) {
    tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .expect("a request within 10 s")
        .expect("a request")
}

fn respond(send: mock::SendResponse<Response<Body>>, code: StatusCode, body: Value) {
    send.send_response(
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
    );
}

fn not_found(send: mock::SendResponse<Response<Body>>) {
    respond(
        send,
        StatusCode::NOT_FOUND,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
    );
}

/// The next request, asserting its method and the end of its path.
async fn expect(
    handle: &mut ApiHandle,
    method: Method,
    path_end: &str,
) -> (Request<Body>, mock::SendResponse<Response<Body>>) {
    let (request, send) = next(handle).await;
    assert_eq!(request.method(), method, "{}", request.uri());
    assert!(
        request.uri().path().ends_with(path_end),
        "{} is not …{path_end}",
        request.uri()
    );
    (request, send)
}

/// A ValidatingWebhookConfiguration `aims-operator` with these webhooks.
fn validating_configuration(webhooks: Value) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
           "metadata": {"name": "aims-operator"}, "webhooks": webhooks})
}

/// A webhook of it, with a `caBundle` when given.
fn webhook(name: &str, ca_bundle: Option<&str>) -> Value {
    let mut client_config =
        json!({"service": {"name": "aims-operator-webhook", "namespace": "aims-system"}});
    if let Some(ca_bundle) = ca_bundle {
        client_config["caBundle"] = json!(ca_bundle);
    }
    json!({"name": name, "sideEffects": "None", "admissionReviewVersions": ["v1"], "clientConfig": client_config})
}

/// Answers the two reads of the configurations: `validating` exists, the mutating one not.
async fn answer_configurations(handle: &mut ApiHandle, validating: &Value) {
    let (_, send) = expect(
        handle,
        Method::GET,
        "validatingwebhookconfigurations/aims-operator",
    )
    .await;
    respond(send, StatusCode::OK, validating.clone());
    let (_, send) = expect(
        handle,
        Method::GET,
        "mutatingwebhookconfigurations/aims-operator",
    )
    .await;
    not_found(send);
}

async fn body_of(request: Request<Body>) -> Value {
    serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap()
}

fn managed(dir: &std::path::Path) -> SelfManaged {
    SelfManaged {
        namespace: "aims-system".into(),
        secret: "aims-operator-webhook-tls".into(),
        webhook_configurations: vec!["aims-operator".into()],
        settings: settings(),
        files: CertFiles {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        },
    }
}

/// First start: no Secret. It is created (type kubernetes.io/tls with the CA), the serving
/// files are written, and the only change to the webhook configuration is each caBundle.
#[tokio::test]
async fn first_start_creates_the_secret_writes_the_files_and_patches_only_ca_bundles() {
    let dir = std::env::temp_dir().join(format!("aims-certs-{}", std::process::id()));
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let task =
        tokio::spawn(async move { managed(&dir).sync(&client, start()).await.map(|p| (p, dir)) });

    // The webhook configurations are read first (they may trust CAs worth keeping).
    let configuration = validating_configuration(json!([
        webhook("enforce.workloads.aims.io", None),
        webhook("resources.aims.io", None)
    ]));
    answer_configurations(&mut handle, &configuration).await;

    let secret_path = "/api/v1/namespaces/aims-system/secrets/aims-operator-webhook-tls";
    let (_, send) = expect(&mut handle, Method::GET, secret_path).await;
    not_found(send);

    let (request, send) = next(&mut handle).await;
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.uri().path(),
        "/api/v1/namespaces/aims-system/secrets"
    );
    let created = body_of(request).await;
    assert_eq!(created["type"], "kubernetes.io/tls");
    let mut keys: Vec<_> = created["data"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    let stored: Secret = serde_json::from_value(created.clone()).unwrap();
    let bundle = bundle_of(&stored);
    respond(send, StatusCode::CREATED, created);

    let (request, send) = expect(
        &mut handle,
        Method::PATCH,
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/aims-operator",
    )
    .await;
    assert_eq!(
        request.headers()["content-type"],
        "application/json-patch+json"
    );
    let patch = body_of(request).await;
    let encoded = aims_operator::webhook::review::base64(bundle.ca_bundle.as_bytes());
    assert_eq!(
        patch,
        json!([
            {"op": "test", "path": "/webhooks/0/name", "value": "enforce.workloads.aims.io"},
            {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": encoded},
            {"op": "test", "path": "/webhooks/1/name", "value": "resources.aims.io"},
            {"op": "add", "path": "/webhooks/1/clientConfig/caBundle", "value": encoded},
        ])
    );
    respond(
        send,
        StatusCode::OK,
        json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "aims-operator"}}),
    );

    let (pass, dir) = task.await.unwrap().unwrap();
    assert!(matches!(pass.renewal, Renewal::Fresh(_)));
    assert_eq!(
        pass.patched,
        ["ValidatingWebhookConfiguration/aims-operator"]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("tls.crt")).unwrap(),
        bundle.cert
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("tls.key")).unwrap(),
        bundle.key
    );
    // And the webhook can serve that pair.
    aims_operator::webhook::tls::server_config(bundle.cert.as_bytes(), bundle.key.as_bytes())
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Another replica wrote the Secret between our read and our write: our write is refused
/// (409), we read again and find the work done.
#[tokio::test]
async fn losing_the_race_to_another_replica_rereads_instead_of_overwriting() {
    let dir = std::env::temp_dir().join(format!("aims-certs-race-{}", std::process::id()));
    let (_, winner) = apply(None, start());
    let winner_secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "aims-operator-webhook-tls", "namespace": "aims-system", "resourceVersion": "2"},
        "data": {
            "ca.crt": aims_operator::webhook::review::base64(winner.ca_bundle.as_bytes()),
            "ca.key": aims_operator::webhook::review::base64(winner.ca_key.as_bytes()),
            "tls.crt": aims_operator::webhook::review::base64(winner.cert.as_bytes()),
            "tls.key": aims_operator::webhook::review::base64(winner.key.as_bytes())}});
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let task = {
        let dir = dir.clone();
        tokio::spawn(async move { managed(&dir).sync(&client, start()).await })
    };
    // No webhook configurations yet, no Secret yet.
    for _ in 0..3 {
        let (request, send) = next(&mut handle).await;
        assert_eq!(request.method(), Method::GET);
        not_found(send);
    }
    let (request, send) = next(&mut handle).await;
    assert_eq!(request.method(), Method::POST);
    respond(
        send,
        StatusCode::CONFLICT,
        json!({"kind": "Status", "apiVersion": "v1",
        "status": "Failure", "reason": "AlreadyExists", "code": 409}),
    );
    let (request, send) = next(&mut handle).await;
    assert_eq!(request.method(), Method::GET);
    respond(send, StatusCode::OK, winner_secret);
    // No second write, and no configuration to patch: nothing more is asked.
    let pass = task.await.unwrap().unwrap();
    assert_eq!(pass.renewal, Renewal::Keep);
    assert_eq!(
        std::fs::read_to_string(dir.join("tls.crt")).unwrap(),
        winner.cert
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dev_mode_reuses_its_local_certificate_and_it_names_the_host() {
    let dir = std::env::temp_dir().join(format!("aims-dev-{}", std::process::id()));
    let first = aims_operator::dev::local_certificates(&dir, "127.0.0.1").unwrap();
    let second = aims_operator::dev::local_certificates(&dir, "127.0.0.1").unwrap();
    assert_eq!(first, second, "a valid local certificate is reused");
    assert_eq!(inspect_pem(&first.cert).unwrap()[0].names, ["127.0.0.1"]);
    let moved = aims_operator::dev::local_certificates(&dir, "172.18.0.1").unwrap();
    assert_eq!(moved.ca_bundle, first.ca_bundle, "same CA, new certificate");
    assert_eq!(inspect_pem(&moved.cert).unwrap()[0].names, ["172.18.0.1"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// `dev run` registers both configurations by server-side apply under its own field manager,
/// pointing at the URL it serves, trusting its local CA, failing open; `unregister` deletes
/// them and a missing one is fine.
#[tokio::test]
async fn dev_mode_registers_by_url_with_its_ca_and_unregisters() {
    use aims_operator::dev::DevSession;
    use aims_operator::registration::Registration;
    let mut registration = Registration::in_cluster("aims-system");
    registration.name = "aims-operator-dev".into();
    registration.ca_bundle =
        Some("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n".into());
    let session = DevSession {
        registration,
        host: "172.18.0.1".into(),
        fail_open: true,
    };
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let task = {
        let session = session.clone();
        let client = client.clone();
        tokio::spawn(async move { session.register(&client, 9443).await })
    };
    for (plural, path) in [
        ("validatingwebhookconfigurations", "/validate"),
        ("mutatingwebhookconfigurations", "/mutate"),
    ] {
        let (request, send) = next(&mut handle).await;
        assert_eq!(request.method(), Method::PATCH);
        assert_eq!(
            request.uri().path(),
            format!("/apis/admissionregistration.k8s.io/v1/{plural}/aims-operator-dev")
        );
        let query = request.uri().query().unwrap().to_string();
        assert!(
            query.contains("fieldManager=aims-operator-dev") && query.contains("force=true"),
            "{query}"
        );
        let body = body_of(request).await;
        let webhooks = body["webhooks"].as_array().unwrap();
        assert!(!webhooks.is_empty());
        for webhook in webhooks {
            let url = webhook["clientConfig"]["url"].as_str().unwrap();
            assert!(url.starts_with("https://172.18.0.1:9443/"), "{url}");
            assert!(webhook["clientConfig"]["service"].is_null());
            assert_eq!(
                webhook["failurePolicy"], "Ignore",
                "a crashed dev session must not block"
            );
            assert_eq!(
                webhook["clientConfig"]["caBundle"],
                aims_operator::webhook::review::base64(
                    session.registration.ca_bundle.as_ref().unwrap().as_bytes()
                )
            );
        }
        assert!(
            webhooks
                .iter()
                .any(|w| w["clientConfig"]["url"].as_str().unwrap().ends_with(path))
        );
        respond(send, StatusCode::OK, body);
    }
    task.await.unwrap().unwrap();

    let task =
        tokio::spawn(
            async move { aims_operator::dev::unregister(&client, "aims-operator-dev").await },
        );
    let (_, send) = expect(
        &mut handle,
        Method::DELETE,
        "validatingwebhookconfigurations/aims-operator-dev",
    )
    .await;
    respond(
        send,
        StatusCode::OK,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
    );
    let (_, send) = expect(
        &mut handle,
        Method::DELETE,
        "mutatingwebhookconfigurations/aims-operator-dev",
    )
    .await;
    not_found(send);
    assert!(
        task.await.unwrap(),
        "an already removed configuration is not an error"
    );
}

/// The real binary with self-managed certificates and an API server nobody answers: it is
/// alive, not ready ("waiting for the serving certificate"), serves no HTTPS (there is no
/// certificate to serve), and stops cleanly on SIGTERM.
#[tokio::test]
async fn self_managed_without_the_api_server_stays_unready_and_stops_cleanly() {
    let dir = https::temp_dir("self-managed");
    let kubeconfig = https::dead_kubeconfig(&dir);
    let (https_port, health_port) = (https::free_port(), https::free_port());
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["run", "--self-managed-certs", "--only", "webhook"])
        .args(["--listen", &format!("127.0.0.1:{https_port}")])
        .args(["--health-listen", &format!("127.0.0.1:{health_port}")])
        .arg("--tls-cert")
        .arg(dir.join("tls/tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls/tls.key"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(
        https::wait_until_alive(health_port).await,
        Some((200, "ok".to_string()))
    );
    let (code, body) = https::http_get(health_port, "/readyz").await.unwrap();
    assert_eq!(
        (code, body.as_str()),
        (503, "waiting for the serving certificate")
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", https_port))
            .await
            .is_err(),
        "no HTTPS before there is a certificate"
    );
    assert!(!dir.join("tls/tls.crt").exists());
    assert_eq!(https::terminate(child).await, Some(0));
}

/// `dev run` against an API server nobody answers: it says it cannot register and exits 2
/// (never serves unregistered as if all were well); the local CA is kept for the next run.
#[test]
fn dev_run_that_cannot_register_says_so_and_fails() {
    let dir = https::temp_dir("dev-run");
    let kubeconfig = https::dead_kubeconfig(&dir);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["dev", "run", "--only", "webhook", "--listen", "127.0.0.1:0"])
        .args(["--health-listen", "127.0.0.1:0", "--drain-seconds", "1"])
        .arg("--dir")
        .arg(dir.join("dev"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot register the webhook configurations"),
        "{stderr}"
    );
    for file in ["ca.crt", "ca.key", "tls.crt", "tls.key"] {
        assert!(dir.join("dev").join(file).is_file(), "{file}");
    }
}

/// The Secret was deleted (to force new certificates) while replicas still serve the old
/// certificate: the new bundle keeps trusting the CA the webhook configurations trust, so no
/// review fails while every replica picks up the new certificate.
#[tokio::test]
async fn starting_over_keeps_trusting_the_ca_the_configurations_trust() {
    let dir = https::temp_dir("carry");
    let (_, old) = apply(None, start());
    let old_ca = aims_operator::webhook::review::base64(old.ca_bundle.as_bytes());
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let task = {
        let dir = dir.clone();
        let later = start() + SignedDuration::from_hours(24);
        tokio::spawn(async move { managed(&dir).sync(&client, later).await })
    };
    let configuration =
        validating_configuration(json!([webhook("enforce.workloads.aims.io", Some(&old_ca))]));
    answer_configurations(&mut handle, &configuration).await;
    let (_, send) = expect(
        &mut handle,
        Method::GET,
        "secrets/aims-operator-webhook-tls",
    )
    .await;
    not_found(send);
    let (request, send) = expect(&mut handle, Method::POST, "/secrets").await;
    let created = body_of(request).await;
    let stored = bundle_of(&serde_json::from_value::<Secret>(created.clone()).unwrap());
    respond(send, StatusCode::CREATED, created);
    let (request, send) = expect(
        &mut handle,
        Method::PATCH,
        "validatingwebhookconfigurations/aims-operator",
    )
    .await;
    let patch = body_of(request).await;
    respond(send, StatusCode::OK, configuration);
    task.await.unwrap().unwrap();

    let at = start() + SignedDuration::from_hours(24);
    assert_eq!(
        inspect_pem(&stored.ca_bundle).unwrap().len(),
        2,
        "new CA and the old one"
    );
    trusted(&stored.ca_bundle, &stored.cert, at).unwrap();
    trusted(&stored.ca_bundle, &old.cert, at).expect("the old certificate is still trusted");
    assert_eq!(
        patch[1]["value"],
        aims_operator::webhook::review::base64(stored.ca_bundle.as_bytes())
    );
    // And the plan keeps it so, dropping the old CA only when it expires.
    assert_eq!(plan(Some(&stored), &settings(), at).renewal, Renewal::Keep);
    let _ = std::fs::remove_dir_all(dir);
}
