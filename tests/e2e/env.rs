//! What every journey stands on: the control plane with the CRDs and the chart's RBAC
//! applied as a platform team would, the operator running in this process as the chart's
//! ServiceAccount, and a namespace of the journey's own.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use aims_operator::dev::{DevSession, local_certificates};
use aims_operator::policy::Policy;
use aims_operator::registration::Registration;
use aims_operator::run::{RunArgs, operate};
use clap::Parser;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, MutexGuard};

use crate::cluster::{ControlPlane, KubectlOutput, User, free_port};
use crate::tools;

/// The operator's namespace, as the chart installs it.
pub const OPERATOR_NAMESPACE: &str = "aims-system";
/// The name of every thread of an operator started in process (at most 15 bytes: the
/// kernel's limit for a thread's name).
pub const OPERATOR_THREADS: &str = "aims-operator";

#[path = "operator_log.rs"]
pub mod operator_log;

/// Journeys run one at a time: each runs its own operator, and two reconcilers would both
/// write status.
async fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    SERIAL.lock().await
}

/// YAML documents as JSON values.
pub fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// `objects` as one YAML stream (JSON is YAML).
pub fn stream(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// Applies `objects` as the admin with server-side apply.
pub fn admin_apply(plane: &ControlPlane, objects: &[Value]) {
    plane
        .kubectl_with_input(
            User::Admin,
            &[
                "apply",
                "--server-side",
                "--field-manager=platform",
                "-f",
                "-",
            ],
            Some(&stream(objects)),
        )
        .ok();
}

/// The chart rendered with its defaults, as `helm template` prints it.
pub fn chart() -> Vec<Value> {
    let rendered = tools::output(
        &tools::helm(),
        &[
            "template",
            "aims",
            "charts/aims-operator",
            "--namespace",
            OPERATOR_NAMESPACE,
        ],
    )
    .unwrap();
    documents(&rendered)
}

/// Once per process: CRDs, the operator's namespace, ServiceAccount and RBAC from the chart,
/// and the people's roles bound as a platform team binds them. Returns the operator's
/// kubeconfig (a token of the ServiceAccount, issued by the API server).
fn prepare() -> &'static PathBuf {
    static PREPARED: OnceLock<PathBuf> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let plane = ControlPlane::shared();
        let applied = plane.kubectl(
            User::Admin,
            &["apply", "--server-side", "--field-manager=platform", "-k", "crds/"],
        );
        // The API server warns about what it does not understand (it once warned about
        // schemars' integer formats): a CRD must apply without a single warning.
        assert!(
            applied.success && applied.stderr.is_empty(),
            "the CRDs did not apply cleanly: {applied:?}"
        );
        plane
            .kubectl(
                User::Admin,
                &[
                    "wait",
                    "--for=condition=Established",
                    "--timeout=60s",
                    "crd/aisystems.aims.io",
                    "crd/impactassessments.aims.io",
                    "crd/controlbindings.aims.io",
                    "crd/aimanagementsystems.aims.io",
                ],
            )
            .ok();
        // Other projects' kinds the operator works with: KServe's and OpenReports'.
        admin_apply(
            plane,
            &[
                inference_service_crd(),
                // As KServe's own install does: editors of a namespace may edit its
                // InferenceServices.
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "kserve-edit",
                        "labels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
                    "rules": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]}),
            ],
        );
        plane
            .kubectl(
                User::Admin,
                &["apply", "--server-side", "-f", openreports_crd().to_str().unwrap()],
            )
            .ok();
        plane
            .kubectl(
                User::Admin,
                &["wait", "--for=condition=Established", "--timeout=60s",
                  "crd/inferenceservices.serving.kserve.io", "crd/reports.openreports.io"],
            )
            .ok();
        admin_apply(plane, &operator_identity());
        let token = plane
            .kubectl(
                User::Admin,
                &["create", "token", "aims-operator", "-n", OPERATOR_NAMESPACE, "--duration=6h"],
            )
            .ok();
        plane.write_kubeconfig_with_token("aims-operator", token.trim())
    })
}

/// The operator's namespace with the chart's ServiceAccount and RBAC (user roles included),
/// and the people's roles bound as a platform team binds them.
pub fn operator_identity() -> Vec<Value> {
    let mut objects = vec![json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": OPERATOR_NAMESPACE}})];
    objects.extend(chart().into_iter().filter(|o| {
        matches!(
            o["kind"].as_str(),
            Some("ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding")
        )
    }));
    let bind = |name: &str, role: &str, group: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "Group", "name": group, "apiGroup": "rbac.authorization.k8s.io"}]})
    };
    objects.push(bind("ai-approvers", "aims-approver", "ai-approvers"));
    // Platform owners change what they decide (modes) on systems others registered.
    objects.push(bind(
        "aims-platform-owners",
        "aims-approver",
        "aims-platform-owners",
    ));
    // Risk owners accept high-rated risks in assessments others wrote.
    objects.push(bind("ai-risk-owners", "aims-approver", "ai-risk-owners"));
    objects.push(bind("auditors", "aims-auditor", "auditors"));
    objects.push(bind("auditors-view", "view", "auditors"));
    objects.push(bind(
        "aims-internal-auditors",
        "aims-internal-auditor",
        "aims-internal-auditors",
    ));
    objects.push(bind(
        "aims-management-reviewers",
        "aims-management-reviewer",
        "aims-management-reviewers",
    ));
    objects
}

/// The OpenReports release whose CRDs are installed (from the Go module proxy).
const OPENREPORTS: &str = "github.com/openreports/reports-api@v0.2.1";

pub fn openreports_crd() -> PathBuf {
    let scratch = std::env::temp_dir().join(format!("aims-e2e-go-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let out = std::process::Command::new("go")
        .args(["mod", "download", "-json", OPENREPORTS])
        .current_dir(&scratch)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go mod download {OPENREPORTS}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    PathBuf::from(info["Dir"].as_str().unwrap()).join("config/crd/openreports.io_reports.yaml")
}

/// KServe's InferenceService kind, without KServe's schema: the KServe module is not served
/// by the Go module proxy here (403), and the webhook only needs the kind to exist so that
/// the API server sends InferenceServices to it as it does in a cluster with KServe.
fn inference_service_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "inferenceservices.serving.kserve.io"},
        "spec": {"group": "serving.kserve.io", "scope": "Namespaced",
            "names": {"kind": "InferenceService", "plural": "inferenceservices",
                "singular": "inferenceservice", "shortNames": ["isvc"]},
            "versions": [{"name": "v1beta1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

/// The Secret of [`Operator::start_self_managed`].
/// (the chart's name: its Role lets the operator write only that Secret).
pub const SELF_MANAGED_SECRET: &str = "aims-operator-webhook-tls";

/// The trusted CAs in the self-managed certificates' Secret.
pub async fn self_managed_ca(plane: &ControlPlane) -> String {
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(plane.client(User::Admin).await, OPERATOR_NAMESPACE);
    let secret = secrets.get(SELF_MANAGED_SECRET).await.unwrap();
    let data = secret.data.unwrap_or_default();
    String::from_utf8(data["ca.crt"].0.clone()).unwrap()
}

/// Arguments of `aims-operator run` as the e2e suite runs it.
#[derive(Parser)]
struct RunCli {
    #[command(flatten)]
    run: RunArgs,
}

/// The operator (webhook and reconciler) running in this process as the chart's
/// ServiceAccount, its webhooks registered by URL for the journey's namespaces. It runs on a
/// runtime and thread of its own, as it would in its own process: the journeys block their
/// threads on kubectl.
pub struct Operator {
    port: u16,
    /// Where /healthz, /readyz and /metrics answer.
    pub health_port: u16,
    ca_bundle: String,
    registered: Vec<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Operator {
    /// Starts webhook and reconciler and waits until the webhook serves.
    pub async fn start(policy: Policy) -> Operator {
        Self::start_replica(policy, "aims-operator-0").await
    }

    /// Starts one replica named `replica` (its identity in the Lease), with a token of the
    /// chart's ServiceAccount of its own (the audit log tells replicas apart by it).
    pub async fn start_replica(policy: Policy, replica: &str) -> Operator {
        Self::launch(policy, replica, None, &[]).await
    }

    /// Starts webhook and reconciler with `flags` besides the usual ones (e.g.
    /// `--discover-seconds=1`).
    pub async fn start_with(policy: Policy, flags: &[&str]) -> Operator {
        Self::launch(policy, "aims-operator-0", None, flags).await
    }

    /// Starts the operator with self-managed certificates kept in the Secret
    /// [`SELF_MANAGED_SECRET`], naming 127.0.0.1 (the URL it is registered at), with `flags`
    /// besides (lifetimes, `--webhook-configuration`); it registers with the CA it made.
    pub async fn start_self_managed(policy: Policy, flags: &[&str]) -> Operator {
        Self::launch(policy, "aims-operator-0", Some(flags), &[]).await
    }

    async fn launch(
        policy: Policy,
        replica: &str,
        self_managed: Option<&[&str]>,
        extra: &[&str],
    ) -> Operator {
        let plane = ControlPlane::shared();
        prepare();
        let token = plane
            .kubectl(
                User::Admin,
                &[
                    "create",
                    "token",
                    "aims-operator",
                    "-n",
                    OPERATOR_NAMESPACE,
                    "--duration=6h",
                ],
            )
            .ok();
        let kubeconfig =
            plane.write_kubeconfig_with_token(&format!("aims-operator-{replica}"), token.trim());
        let port = free_port();
        let health_port = free_port();
        let mut args = vec![
            "run".to_string(),
            format!("--listen=127.0.0.1:{port}"),
            format!("--health-listen=127.0.0.1:{health_port}"),
            format!("--namespace={OPERATOR_NAMESPACE}"),
            "--drain-seconds=1".to_string(),
            format!("--pod-name={replica}"),
        ];
        let (dir, dev_bundle) = match self_managed {
            None => {
                let dir = plane.dir.join("operator-certs");
                let bundle = local_certificates(&dir, "127.0.0.1").unwrap();
                (dir, Some(bundle.ca_bundle))
            }
            Some(flags) => {
                let dir = plane.dir.join("self-managed-certs");
                let _ = std::fs::remove_dir_all(&dir);
                args.extend(
                    [
                        "--self-managed-certs",
                        "--cert-ip-address=127.0.0.1",
                        "--cert-reload-seconds=1",
                    ]
                    .iter()
                    .chain(flags)
                    .map(|f| f.to_string()),
                );
                args.push(format!("--cert-secret={SELF_MANAGED_SECRET}"));
                (dir, None)
            }
        };
        args.extend(extra.iter().map(|f| f.to_string()));
        args.push(format!("--tls-cert={}", dir.join("tls.crt").display()));
        args.push(format!("--tls-key={}", dir.join("tls.key").display()));
        let cli = RunCli::parse_from(args);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                // Named, so that a benchmark can tell the operator's CPU time from its own.
                .thread_name(OPERATOR_THREADS)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                // Built as `aims-operator run` builds its client.
                let config =
                    aims_operator::cache::with_silence_limit(plane.config_from(&kubeconfig).await);
                let client = kube::Client::try_from(config).unwrap();
                let _ = operate(client, cli.run, policy, async move {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < until && !thread.is_finished(),
                "the operator's webhook did not start serving on 127.0.0.1:{port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ca_bundle = match dev_bundle {
            Some(bundle) => bundle,
            None => self_managed_ca(plane).await,
        };
        Operator {
            port,
            health_port,
            ca_bundle,
            registered: Vec::new(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Registers the installation's webhooks by URL for `namespace` only, fail closed
    /// where the namespace enforces (as the chart registers them), as the admin.
    pub async fn register(&mut self, admin: &kube::Client, namespace: &str) {
        self.register_as(admin, &format!("aims-e2e-{namespace}"), Some(namespace))
            .await;
    }

    /// Registers the webhooks for `namespace` only under the chart's name, `aims-operator`
    /// (the only webhook configurations the chart's role lets the operator patch).
    pub async fn register_as_the_chart(&mut self, admin: &kube::Client, namespace: &str) {
        self.register_as(admin, "aims-operator", Some(namespace))
            .await;
    }

    /// Registers the webhooks as the chart does, for every namespace (the selectors alone
    /// decide what is sent), as the admin.
    pub async fn register_everywhere(&mut self, admin: &kube::Client) {
        self.register_as(admin, "aims-e2e-everywhere", None).await;
    }

    async fn register_as(&mut self, admin: &kube::Client, name: &str, only: Option<&str>) {
        let mut registration = Registration::in_cluster(OPERATOR_NAMESPACE);
        registration.name = name.to_string();
        registration.ca_bundle = Some(self.ca_bundle.clone());
        registration.only_namespace = only.map(str::to_string);
        let session = DevSession {
            registration,
            host: "127.0.0.1".into(),
            fail_open: false,
        };
        session.register(admin, self.port).await.unwrap();
        self.registered.push(name.to_string());
        // The API server's view of webhook configurations follows a watch: give it a moment.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    /// Stops webhook and reconciler, as SIGTERM would (the registrations stay).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Removes the registrations.
    pub async fn unregister(&mut self, admin: &kube::Client) {
        for name in self.registered.drain(..) {
            aims_operator::dev::unregister(admin, &name).await;
        }
    }
}

/// A journey that failed before `finish` must not leave its webhook registered: with
/// nothing serving it, the API server would refuse every later journey's AIMS writes, and
/// one failure would read as thirty.
impl Drop for Operator {
    fn drop(&mut self) {
        // Only when unwinding: journeys replace a stopped operator on purpose and keep its
        // registration (a webhook that is down).
        if self.registered.is_empty() || !std::thread::panicking() {
            return;
        }
        let mut args = vec![
            "delete".to_string(),
            "validatingwebhookconfiguration,mutatingwebhookconfiguration".to_string(),
            "--ignore-not-found".to_string(),
        ];
        args.append(&mut self.registered);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Not `.ok()`: a panic while unwinding would abort the whole suite.
        let _ = ControlPlane::shared().kubectl(User::Admin, &args);
    }
}

/// One journey: its namespace (with the people's RoleBindings), the operator serving it,
/// and exclusive use of the control plane's operator slot while it runs.
pub struct Journey {
    /// The control plane.
    pub plane: &'static ControlPlane,
    /// The journey's namespace.
    pub ns: String,
    /// The admin's client.
    pub admin: kube::Client,
    /// The operator serving the namespace.
    pub operator: Operator,
    /// Dropped before the lock, so that the next journey's log does not start first.
    _log: operator_log::PrintOnFailure,
    _serial: MutexGuard<'static, ()>,
}

impl Journey {
    /// A namespace `name` in `mode` (enforce, warn, audit) served by a new operator with the
    /// default policy.
    pub async fn start(name: &str, mode: &str) -> Journey {
        let serial = serial().await;
        operator_log::start();
        let plane = ControlPlane::shared();
        let admin = plane.client(User::Admin).await;
        create_namespace(plane, name, mode);
        let operator = Self::serving(&admin, name).await;
        Journey {
            plane,
            ns: name.to_string(),
            admin,
            operator,
            _log: operator_log::PrintOnFailure,
            _serial: serial,
        }
    }

    /// A new operator with the default policy, registered for `namespace`.
    async fn serving(admin: &kube::Client, namespace: &str) -> Operator {
        let mut operator = Operator::start(Policy::default()).await;
        operator.register(admin, namespace).await;
        operator
    }

    /// Puts a new operator in place of the journey's stopped one, as a restarted pod would
    /// be: it lists everything afresh.
    pub async fn start_operator_again(&mut self) {
        self.operator = Self::serving(&self.admin, &self.ns).await;
    }

    /// Another namespace for this journey, served by its operator.
    pub async fn add_namespace(&mut self, name: &str, mode: &str) {
        create_namespace(self.plane, name, mode);
        self.operator.register(&self.admin, name).await;
    }

    /// kubectl as `user` in the journey's namespace (plugins take their own `-n`: kubectl
    /// passes no flag before a plugin's name).
    pub fn kubectl(&self, user: User, args: &[&str]) -> KubectlOutput {
        if args.first() == Some(&"aims") {
            return self.plane.kubectl(user, args);
        }
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        self.plane.kubectl(user, &all)
    }

    /// `kubectl apply -f -` of `objects` as `user` in the journey's namespace.
    pub fn apply(&self, user: User, objects: &[Value]) -> KubectlOutput {
        self.apply_with(user, objects, &[])
    }

    /// `kubectl apply -f -` with extra flags.
    pub fn apply_with(&self, user: User, objects: &[Value], flags: &[&str]) -> KubectlOutput {
        let mut args = vec!["-n", self.ns.as_str(), "apply", "-f", "-"];
        args.extend_from_slice(flags);
        self.plane
            .kubectl_with_input(user, &args, Some(&stream(objects)))
    }

    /// Stops the operator and removes its registrations.
    pub async fn finish(mut self) {
        self.operator.stop().await;
        self.operator.unregister(&self.admin).await;
    }
}

/// A namespace that opted in with `mode`, with [`grant_editors`].
pub fn create_namespace(plane: &ControlPlane, name: &str, mode: &str) {
    admin_apply(
        plane,
        &[json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"aims.io/enforcement": mode}}})],
    );
    grant_editors(plane, name);
}

/// alice, carol and dave may edit in `namespace` (the chart's aims-author aggregates into
/// `edit`), as a platform team grants a team its namespace.
pub fn grant_editors(plane: &ControlPlane, namespace: &str) {
    let users = [User::Alice, User::Carol, User::Dave];
    admin_apply(
        plane,
        &[
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "editors", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": users.iter().map(|u| json!({"kind": "User", "name": u.name(),
                "apiGroup": "rbac.authorization.k8s.io"})).collect::<Vec<_>>()}),
        ],
    );
}

/// Polls `check` every half second until it holds or `within` passes.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let until = tokio::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if tokio::time::Instant::now() >= until => {
                panic!("{what}: not within {within:?}; last: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The whole answer (status line, headers and body) to a plain-HTTP GET of `path` on
/// 127.0.0.1:`port`; empty when nothing answers.
pub async fn http_get(port: u16, path: &str) -> String {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer
}

/// The operator's `/readyz` on `port`: whether it answered 200, and the last line it sent.
pub async fn readiness(port: u16) -> (bool, String) {
    let answer = http_get(port, "/readyz").await;
    let ready = answer.lines().next().is_some_and(|l| l.contains(" 200 "));
    (ready, answer.lines().last().unwrap_or_default().to_string())
}

/// Waits until the operator whose health port is `port` is ready (its caches synced), as a
/// Service waits before sending it reviews.
pub async fn becomes_ready(port: u16, what: &str, within: Duration) {
    eventually(what, within, || async {
        match readiness(port).await {
            (true, _) => Ok(()),
            (false, body) => Err(body),
        }
    })
    .await;
}
