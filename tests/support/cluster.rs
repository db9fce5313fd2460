//! The real Kubernetes control plane of the e2e suite: etcd, kube-apiserver and
//! kube-controller-manager built from the Go module in `tests/cluster/` and started here on
//! free loopback ports, with a CA made for the run, RBAC, token-file users and an audit log.
//!
//! One control plane serves the whole test process (started by the first test that asks,
//! [`ControlPlane::shared`]); every process runs under `supervise`, which ends it when this
//! process's end closes its standard input, so nothing outlives the tests. When the control
//! plane cannot be built or started, the test fails with the reason and the logs' tails: a
//! missing Go toolchain is a failure, never a skip.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A person (or component) the API server knows by a bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum User {
    /// `system:masters`: the platform team's cluster admin.
    Admin,
    /// A developer (`dev-team`).
    Alice,
    /// An approver (`ai-approvers`).
    Bob,
    /// An approver (`ai-approvers`) who also authors assessments.
    Carol,
    /// The on-call engineer allowed to break glass (`aims-break-glass`).
    Dave,
    /// An auditor (`auditors`) of the internal audit function (`aims-internal-auditors`).
    Erin,
    /// A platform owner (`aims-platform-owners`): decides enforcement modes.
    Pat,
    /// A risk owner (`ai-risk-owners`) in top management (`aims-management-reviewers`):
    /// accepts high-rated risks, records management reviews.
    Rita,
    /// kube-controller-manager's own identity.
    ControllerManager,
}

impl User {
    /// Every user of the token file.
    pub const ALL: [User; 9] = [
        User::Admin,
        User::Alice,
        User::Bob,
        User::Carol,
        User::Dave,
        User::Erin,
        User::Pat,
        User::Rita,
        User::ControllerManager,
    ];

    /// The user name the API server authenticates.
    pub fn name(self) -> &'static str {
        match self {
            User::Admin => "admin",
            User::Alice => "alice",
            User::Bob => "bob",
            User::Carol => "carol",
            User::Dave => "dave",
            User::Erin => "erin",
            User::Pat => "pat",
            User::Rita => "rita",
            User::ControllerManager => "system:kube-controller-manager",
        }
    }

    /// The groups the token file gives the user.
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            User::Admin => &["system:masters"],
            User::Alice => &["dev-team"],
            User::Bob | User::Carol => &["ai-approvers"],
            User::Dave => &["aims-break-glass"],
            User::Erin => &["auditors", "aims-internal-auditors"],
            User::Pat => &["aims-platform-owners"],
            User::Rita => &["ai-risk-owners", "aims-management-reviewers"],
            User::ControllerManager => &[],
        }
    }
}

/// The running control plane.
pub struct ControlPlane {
    /// Folder of this run: certificates, kubeconfigs, data, logs.
    pub dir: PathBuf,
    /// `https://127.0.0.1:<port>` of the API server.
    pub server: String,
    /// PEM of the run's CA (it signed the API server's serving certificate).
    pub ca_pem: String,
    /// The Kubernetes version the binaries were built at (`v1.36.3`).
    pub version: String,
    /// Folder of the built binaries.
    pub bin: PathBuf,
    etcd_url: String,
    tokens: BTreeMap<User, String>,
    processes: Mutex<Vec<Supervised>>,
}

/// A process under `supervise`: closing `stdin` ends it.
struct Supervised {
    name: &'static str,
    args: Vec<String>,
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
}

/// Writes straight to the process's stderr, past the test harness's capture: the first
/// build takes many minutes and a person waiting should see it move.
pub fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "[control plane] {line}");
}

/// The Go module's own files: a change to any of them means a new build.
fn module_files() -> Vec<PathBuf> {
    let module = repo().join("tests/cluster");
    let mut files = vec![module.join("go.mod"), module.join("go.sum")];
    let mut dirs = vec![module];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "go") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The Kubernetes version go.mod pins.
fn kubernetes_version() -> String {
    let go_mod = std::fs::read_to_string(repo().join("tests/cluster/go.mod"))
        .unwrap_or_else(|e| panic!("tests/cluster/go.mod cannot be read: {e}"));
    go_mod
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("k8s.io/kubernetes"))
                .then(|| words.next().map(str::to_string))
                .flatten()
        })
        .expect("tests/cluster/go.mod requires k8s.io/kubernetes")
}

const BINARIES: [&str; 7] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kubectl",
    "etcd",
    "etcdcompact",
    "argohealth",
    "supervise",
];

/// The binaries, built into `target/cluster/bin-<hash of the module's files>` unless they
/// are there already. Go's build cache lives in `target/cluster/gocache`, so a change to
/// the module recompiles only what changed.
pub fn binaries() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build).clone()
}

fn build() -> PathBuf {
    let mut hash = Sha256::new();
    for file in module_files() {
        hash.update(
            file.strip_prefix(repo())
                .unwrap()
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update(std::fs::read(&file).unwrap());
    }
    let hash: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = target_dir().join("cluster");
    let bin = root.join(format!("bin-{hash}"));
    if BINARIES.iter().all(|b| bin.join(b).is_file()) {
        return bin;
    }
    let version = kubernetes_version();
    let go = std::env::var_os("GO").unwrap_or_else(|| "go".into());
    match Command::new(&go).arg("version").output() {
        Ok(out) if out.status.success() => progress(&format!(
            "building Kubernetes {version} and etcd with {} into {} (the first build takes many minutes)",
            String::from_utf8_lossy(&out.stdout).trim(),
            bin.display()
        )),
        _ => panic!(
            "the e2e suite needs Go 1.26 or newer on PATH (or GO=/path/to/go) to build the \
             control plane from tests/cluster; none was found"
        ),
    }
    let staging = root.join(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    let ldflags = [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ]
    .iter()
    .flat_map(|pkg| {
        let minor = version.split('.').nth(1).unwrap_or_default().to_string();
        [
            format!("-X {pkg}.gitVersion={version}"),
            format!("-X {pkg}.gitMajor=1"),
            format!("-X {pkg}.gitMinor={minor}"),
            format!("-X {pkg}.gitTreeState=clean"),
        ]
    })
    .collect::<Vec<_>>()
    .join(" ");
    let mut child = Command::new(&go)
        .current_dir(repo().join("tests/cluster"))
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", root.join("gocache"))
        .env("GOFLAGS", "-mod=readonly")
        .args(["build", "-v", "-trimpath", "-buildvcs=false"])
        .arg(format!("-ldflags=-s -w {ldflags}"))
        .arg("-o")
        .arg(format!("{}/", staging.display()))
        .args([
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kubectl",
            "./etcd",
            "./etcdcompact",
            "./argohealth",
            "./supervise",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run go build: {e}"));
    // `go build -v` names each package as it compiles: count them, keep the rest for errors.
    let started = Instant::now();
    let mut compiled = 0usize;
    let mut messages = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if !line.starts_with("go: ") && !line.contains(' ') {
            compiled += 1;
            if compiled.is_multiple_of(200) {
                progress(&format!(
                    "{compiled} packages compiled ({} s)",
                    started.elapsed().as_secs()
                ));
            }
        } else {
            if !line.starts_with("go: downloading") {
                progress(&line);
            }
            messages.push(line);
        }
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "building the control plane failed ({status}):\n{}",
        messages.join("\n")
    );
    let _ = std::fs::remove_dir_all(&bin);
    if std::fs::rename(&staging, &bin).is_err() {
        let _ = std::fs::remove_dir_all(&staging); // another test process won the race
    }
    progress(&format!(
        "built in {} s ({compiled} packages compiled)",
        started.elapsed().as_secs()
    ));
    bin
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The CPU time (utime + stime) a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` file
/// records. Its fields count from the one after the parenthesised command name, which may
/// itself hold spaces; the kernel's clock tick is 100 Hz on every Linux this suite runs on.
pub fn proc_cpu_time(stat_path: impl AsRef<Path>) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file, the 12th and 13th after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn token_for(user: User) -> String {
    let mut hash = Sha256::new();
    hash.update(user.name());
    hash.update(std::process::id().to_le_bytes());
    hash.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            .to_le_bytes(),
    );
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The run's CA, the API server's serving certificate (127.0.0.1 and the in-cluster names)
/// and the service-account signing key pair.
fn write_certificates(dir: &Path) -> String {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "aims-e2e control plane CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default.svc".to_string(),
    ])
    .unwrap();
    server
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    server
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let sa_key = KeyPair::generate().unwrap();
    for (file, content) in [
        ("ca.crt", ca_cert.pem()),
        ("apiserver.crt", server_cert.pem()),
        ("apiserver.key", server_key.serialize_pem()),
        ("sa.key", sa_key.serialize_pem()),
        ("sa.pub", sa_key.public_key_pem()),
    ] {
        std::fs::write(dir.join(file), content).unwrap();
    }
    ca_cert.pem()
}

/// Every request at Metadata level, and the webhook's decisions (audit annotations) with it;
/// the suite's own reads of the log need nothing more.
const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
";

impl ControlPlane {
    /// The control plane of this test process, started on first use.
    pub fn shared() -> &'static ControlPlane {
        static PLANE: OnceLock<ControlPlane> = OnceLock::new();
        PLANE.get_or_init(ControlPlane::start)
    }

    fn start() -> ControlPlane {
        let bin = binaries();
        let version = kubernetes_version();
        let dir = target_dir().join(format!("cluster/run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etcd")).unwrap();
        let ca_pem = write_certificates(&dir);
        let tokens: BTreeMap<User, String> =
            User::ALL.iter().map(|u| (*u, token_for(*u))).collect();
        let token_file: String = tokens
            .iter()
            .map(|(user, token)| {
                format!(
                    "{token},{},{},\"{}\"\n",
                    user.name(),
                    user.name(),
                    user.groups().join(",")
                )
            })
            .collect();
        std::fs::write(dir.join("tokens.csv"), token_file).unwrap();
        std::fs::write(dir.join("audit-policy.yaml"), AUDIT_POLICY).unwrap();

        let (etcd_port, peer_port, api_port) = (free_port(), free_port(), free_port());
        let server = format!("https://127.0.0.1:{api_port}");
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let plane = ControlPlane {
            dir: dir.clone(),
            server,
            ca_pem,
            version,
            bin,
            etcd_url: etcd_url.clone(),
            tokens,
            processes: Mutex::new(Vec::new()),
        };
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        plane.spawn(
            "etcd",
            &[
                "--name=e2e".into(),
                format!("--data-dir={}", dir.join("etcd").display()),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=e2e={peer_url}"),
                // A test cluster's data need not survive a power cut.
                "--unsafe-no-fsync".into(),
                "--log-level=warn".into(),
            ],
        );
        plane.start_apiserver(&etcd_url, api_port);
        plane.wait_ready("kube-apiserver", Duration::from_secs(120));
        plane.write_kubeconfigs();
        plane.start_controller_manager();
        progress(&format!(
            "Kubernetes {} serving at {} (logs and audit log in {})",
            plane.version,
            plane.server,
            dir.display()
        ));
        plane
    }

    fn start_apiserver(&self, etcd_url: &str, port: u16) {
        let d = |f: &str| self.dir.join(f).display().to_string();
        self.spawn(
            "kube-apiserver",
            &[
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={port}"),
                format!("--tls-cert-file={}", d("apiserver.crt")),
                format!("--tls-private-key-file={}", d("apiserver.key")),
                format!("--client-ca-file={}", d("ca.crt")),
                format!("--token-auth-file={}", d("tokens.csv")),
                "--authorization-mode=RBAC".into(),
                "--anonymous-auth=false".into(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--service-account-key-file={}", d("sa.pub")),
                format!("--service-account-signing-key-file={}", d("sa.key")),
                // Only an allocation range for Service objects: nothing is ever sent there.
                "--service-cluster-ip-range=10.0.0.0/24".into(),
                // No Endpoints for the kubernetes Service: nothing may contact the advertised address.
                "--endpoint-reconciler-type=none".into(),
                format!("--audit-policy-file={}", d("audit-policy.yaml")),
                format!("--audit-log-path={}", d("audit.log")),
                "--audit-log-mode=blocking".into(),
                "--profiling=false".into(),
                "--v=1".into(),
            ],
        );
    }

    fn start_controller_manager(&self) {
        let d = |f: &str| self.dir.join(f).display().to_string();
        self.spawn(
            "kube-controller-manager",
            &[
                format!("--kubeconfig={}", d("kubeconfig-system:kube-controller-manager")),
                "--bind-address=127.0.0.1".into(),
                // No serving endpoint: nothing scrapes or probes it here.
                "--secure-port=0".into(),
                "--leader-elect=false".into(),
                "--use-service-account-credentials=true".into(),
                format!("--service-account-private-key-file={}", d("sa.key")),
                format!("--root-ca-file={}", d("ca.crt")),
                "--controllers=deployment-controller,replicaset-controller,statefulset-controller,\
                 daemonset-controller,job-controller,cronjob-controller,garbage-collector-controller,\
                 namespace-controller,serviceaccount-controller,serviceaccount-token-controller,\
                 clusterrole-aggregation-controller"
                    .into(),
                "--concurrent-deployment-syncs=2".into(),
                "--v=1".into(),
            ],
        );
    }

    fn spawn(&self, name: &'static str, args: &[String]) {
        let supervised = self.start_process(name, args);
        self.processes.lock().unwrap().push(supervised);
    }

    fn start_process(&self, name: &'static str, args: &[String]) -> Supervised {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = Command::new(self.bin.join("supervise"))
            .arg(self.bin.join(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdin = child.stdin.take();
        Supervised {
            name,
            args: args.to_vec(),
            child,
            stdin,
            log,
        }
    }

    /// Compacts etcd at its current revision (returned): every older revision is gone, as
    /// after the API server's periodic compaction.
    pub fn compact_etcd(&self) -> i64 {
        let out = Command::new(self.bin.join("etcdcompact"))
            .arg(&self.etcd_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "etcd was not compacted: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Stops the API server (as SIGTERM does), runs `while_down`, and starts it again on
    /// the same port and etcd; returns once it is ready.
    pub fn restart_apiserver(&self, while_down: impl FnOnce()) {
        let args = {
            let mut processes = self.processes.lock().unwrap();
            let index = processes
                .iter()
                .position(|p| p.name == "kube-apiserver")
                .expect("a kube-apiserver");
            let mut old = processes.remove(index);
            drop(old.stdin.take());
            let _ = old.child.wait();
            old.args
        };
        while_down();
        let restarted = self.start_process("kube-apiserver", &args);
        self.processes.lock().unwrap().push(restarted);
        self.wait_ready("the restarted kube-apiserver", Duration::from_secs(120));
    }

    /// CPU time (user and system) the component `name` (`etcd`, `kube-apiserver`) has used
    /// so far; `None` where /proc does not tell. Each component runs as the only child of its
    /// `supervise` wrapper.
    pub fn cpu_time(&self, name: &str) -> Option<Duration> {
        let pid = self.component_pid(name)?;
        proc_cpu_time(format!("/proc/{pid}/stat"))
    }

    /// The process id of the component `name`, the only child of its `supervise` wrapper.
    fn component_pid(&self, name: &str) -> Option<u32> {
        let supervisor = {
            let processes = self.processes.lock().unwrap();
            processes.iter().find(|p| p.name == name)?.child.id()
        };
        let children =
            std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
                .ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    /// Freezes the component `name` (SIGSTOP) until the returned guard is dropped: its
    /// connections stay open and say nothing, as those of a server whose node was lost.
    pub fn freeze(&self, name: &str) -> Frozen {
        let pid = self
            .component_pid(name)
            .unwrap_or_else(|| panic!("no process for {name}"));
        signal(pid, "STOP");
        Frozen { pid }
    }

    /// The last lines of every component's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let processes = self.processes.lock().unwrap();
        processes
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p.log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(25)..].join("\n");
                format!("--- {} ({}):\n{tail}", p.name, p.log.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn exited(&self) -> Option<String> {
        let mut processes = self.processes.lock().unwrap();
        processes.iter_mut().find_map(|p| {
            p.child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| format!("{} exited ({status})", p.name))
        })
    }

    fn wait_ready(&self, what: &str, within: Duration) {
        let until = Instant::now() + within;
        let mut last = String::new();
        while Instant::now() < until {
            if let Some(exit) = self.exited() {
                panic!("{exit} before {what} was ready:\n{}", self.log_tails());
            }
            match self.curl(User::Admin, "/readyz") {
                Ok(body) if body.trim() == "ok" => return,
                Ok(body) => last = body,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "{what} was not ready within {within:?} (last answer: {last}):\n{}",
            self.log_tails()
        );
    }

    /// A GET of `path` as `user`, through kubectl (`kubectl get --raw`).
    pub fn curl(&self, user: User, path: &str) -> Result<String, String> {
        let kubeconfig = self.dir.join(format!("kubeconfig-{}", user.name()));
        if !kubeconfig.is_file() {
            self.write_kubeconfig(user);
        }
        let out = Command::new(self.bin.join("kubectl"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args(["get", "--raw", path, "--request-timeout=5s"])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The bearer token of `user`.
    pub fn token(&self, user: User) -> &str {
        &self.tokens[&user]
    }

    fn write_kubeconfigs(&self) {
        for user in User::ALL {
            self.write_kubeconfig(user);
        }
    }

    fn write_kubeconfig(&self, user: User) {
        self.write_kubeconfig_with_token(user.name(), self.token(user));
    }

    /// Writes `kubeconfig-<name>` for a bearer token, and returns its path.
    pub fn write_kubeconfig_with_token(&self, name: &str, token: &str) -> PathBuf {
        let path = self.dir.join(format!("kubeconfig-{name}"));
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {
                "server": self.server,
                "certificate-authority": self.dir.join("ca.crt"),
            }}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": name}}],
            "current-context": "e2e",
        });
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        path
    }

    /// The kubeconfig of `user`.
    pub fn kubeconfig(&self, user: User) -> PathBuf {
        self.dir.join(format!("kubeconfig-{}", user.name()))
    }

    /// A kube client as `user`, for the current tokio runtime.
    pub async fn client(&self, user: User) -> kube::Client {
        self.client_from(&self.kubeconfig(user)).await
    }

    /// A kube client from a kubeconfig file this control plane wrote.
    pub async fn client_from(&self, kubeconfig: &Path) -> kube::Client {
        kube::Client::try_from(self.config_from(kubeconfig).await).unwrap()
    }

    /// The client configuration of the kubeconfig file `kubeconfig`.
    pub async fn config_from(&self, kubeconfig: &Path) -> kube::Config {
        let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
        kube::Config::from_custom_kubeconfig(config, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap()
    }

    /// Runs the real kubectl as `user` (`kubectl aims` finds the plugin built beside the tests).
    pub fn kubectl(&self, user: User, args: &[&str]) -> KubectlOutput {
        self.kubectl_with_input(user, args, None)
    }

    /// Runs kubectl as `user` with `input` on its standard input.
    pub fn kubectl_with_input(
        &self,
        user: User,
        args: &[&str],
        input: Option<&str>,
    ) -> KubectlOutput {
        self.kubectl_as(&self.kubeconfig(user), args, input)
    }

    /// Runs kubectl with the given kubeconfig.
    pub fn kubectl_as(
        &self,
        kubeconfig: &Path,
        args: &[&str],
        input: Option<&str>,
    ) -> KubectlOutput {
        let plugin_dir = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-aims"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = std::env::join_paths(std::iter::once(plugin_dir).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let mut child = Command::new(self.bin.join("kubectl"))
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("PATH", path)
            .env("HOME", self.dir.join("home"))
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        KubectlOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every audit event the API server wrote so far.
    pub fn audit_events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Runs a shipped Argo CD health script on `object` in gopher-lua; (status, message).
    pub fn argo_health(&self, script: &Path, object: &Value) -> (String, String) {
        let mut child = Command::new(self.bin.join("argohealth"))
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(object.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "argohealth {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let health: Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            health["status"].as_str().unwrap_or_default().to_string(),
            health["message"].as_str().unwrap_or_default().to_string(),
        )
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Ok(mut processes) = self.processes.lock() {
            for p in processes.iter_mut().rev() {
                drop(p.stdin.take());
                let _ = p.child.wait();
            }
        }
    }
}

/// What kubectl printed.
#[derive(Debug)]
pub struct KubectlOutput {
    /// Exit status 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl KubectlOutput {
    /// Standard output, or a panic with everything kubectl said.
    pub fn ok(self) -> String {
        assert!(
            self.success,
            "kubectl failed: {}{}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Standard error of a command that must fail.
    pub fn refused(self) -> String {
        assert!(!self.success, "kubectl succeeded: {}", self.stdout);
        self.stderr
    }
}

/// A frozen component, thawed (SIGCONT) when dropped, also when a test fails meanwhile.
pub struct Frozen {
    pid: u32,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.pid, "CONT");
    }
}

/// Sends SIGname to `pid` with the shell's own kill, which every POSIX shell has (kill(1) is
/// a separate package on minimal images).
fn signal(pid: u32, name: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{name} {pid}"))
        .status();
    // Not a panic: a guard's drop may run while a failed test unwinds.
    if !status.as_ref().is_ok_and(|s| s.success()) {
        eprintln!("kill -{name} {pid} failed: {status:?}");
    }
}
