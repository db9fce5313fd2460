//! User journeys against a real cluster: the one `KUBECONFIG` names. The operator runs in
//! this process (webhook and reconciler), and the webhook is registered by URL with its own
//! CA, so nothing needs to be installed in the cluster beyond the CRDs this suite applies.
//!
//! Run: `KUBECONFIG=~/.kube/config AIMS_E2E_WEBHOOK_HOST=<address the API server reaches this
//! machine at> cargo test -p aims-operator --test e2e -- --ignored --test-threads 1`
//! (for kind on Linux the host is usually 172.17.0.1 or 172.18.0.1). Needs rights to create
//! CRDs, namespaces and webhook configurations, and to impersonate users.
//!
//! Without a cluster these tests are ignored (reported as such, never as passed); run with
//! `--ignored` and no `KUBECONFIG`, they fail saying they did not run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/https.rs"]
mod https;

use std::sync::Arc;
use std::time::Duration;

use aims_operator::dev::DevSession;
use aims_operator::policy::Policy;
use aims_operator::reconciler::{self, ReconcileContext};
use aims_operator::registration::Registration;
use aims_operator::resources::*;
use aims_operator::webhook::server::{ServeOptions, start};
use aims_operator::webhook::tls::CertFiles;
use aims_operator::webhook::{Context, cache};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Config};
use serde_json::{Value, json};

const IGNORED: &str =
    "needs a cluster: KUBECONFIG=... AIMS_E2E_WEBHOOK_HOST=... cargo test --test e2e -- --ignored";

/// Whether a cluster was named; says plainly when not.
fn cluster_or_explain() -> bool {
    if std::env::var_os("KUBECONFIG").is_none() {
        panic!("e2e did NOT run: KUBECONFIG is not set ({IGNORED})");
    }
    true
}

async fn client_as(user: Option<(&str, &[&str])>) -> Client {
    let mut config = Config::infer().await.expect("a kubeconfig");
    if let Some((name, groups)) = user {
        config.auth_info.impersonate = Some(name.to_string());
        config.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
    }
    Client::try_from(config).unwrap()
}

struct Env {
    admin: Client,
    ns: String,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Env {
    async fn cleanup(self) {
        let _ = self.stop.send(true);
        let dp = DeleteParams::default();
        aims_operator::dev::unregister(&self.admin, &format!("aims-e2e-{}", self.ns)).await;
        let _ = Api::<Namespace>::all(self.admin.clone())
            .delete(&self.ns, &dp)
            .await;
    }
}

async fn apply<K>(api: &Api<K>, name: &str, object: Value) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply("aims-e2e").force(),
        &Patch::Apply(&object),
    )
    .await
}

/// Applies the CRDs, creates an enforced namespace, starts the operator here and registers
/// its webhooks for that namespace only.
async fn setup() -> Env {
    let admin = client_as(None).await;
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    for file in [
        "aisystems.aims.io.yaml",
        "impactassessments.aims.io.yaml",
        "controlbindings.aims.io.yaml",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crds")
            .join(file);
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let name = crd.metadata.name.clone().unwrap();
        apply(&crds, &name, serde_json::to_value(&crd).unwrap())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // let the CRDs become established

    let ns = format!("aims-e2e-{}", std::process::id());
    apply(
        &Api::<Namespace>::all(admin.clone()),
        &ns,
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": ns, "labels": {ENFORCEMENT_LABEL: "enforce"}}}),
    )
    .await
    .unwrap();

    // alice and bob may edit workloads and AIMS resources in the namespace (RBAC); what
    // they may decide is the webhook's business.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "aims-e2e", "namespace": ns},
        "rules": [{"apiGroups": ["aims.io", "apps"], "resources": ["*"], "verbs": ["*"]}]});
    apply(
        &Api::<k8s_openapi::api::rbac::v1::Role>::namespaced(admin.clone(), &ns),
        "aims-e2e",
        role,
    )
    .await
    .unwrap();
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "aims-e2e", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "aims-e2e"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
                     {"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}]});
    apply(
        &Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(admin.clone(), &ns),
        "aims-e2e",
        binding,
    )
    .await
    .unwrap();

    // Dev mode's own pieces: a local CA and certificate naming the address the API server
    // calls, and the installation's webhooks registered by URL for this namespace only.
    let host = std::env::var("AIMS_E2E_WEBHOOK_HOST").unwrap_or_else(|_| "172.17.0.1".into());
    let dir = https::temp_dir("e2e");
    let certificates = aims_operator::dev::local_certificates(&dir, &host).unwrap();

    let cache = cache::start(admin.clone()).await;
    let ctx = Context::new(cache.clone(), Policy::default(), "aims-system");
    let ctx = Arc::new(ctx);
    let server = start(
        ctx.clone(),
        &ServeOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            health_listen: None,
            certs: CertFiles {
                cert: dir.join("tls.crt"),
                key: dir.join("tls.key"),
            },
            cert_reload_interval: Duration::from_secs(60),
        },
    )
    .await
    .unwrap();
    let port = server.addr.port();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let reconcile_ctx = Arc::new(ReconcileContext {
        lease: None,
        client: admin.clone(),
        cache: cache.clone(),
        policy: Policy::default(),
        clock: Box::new(jiff::Timestamp::now),
        metrics: None,
        recorder: None,
        reports: None,
    });
    let mut stopped2 = stopped.clone();
    tokio::spawn(reconciler::run(reconcile_ctx, async move {
        let _ = stopped2.changed().await;
    }));
    let mut stopped3 = stopped;
    tokio::spawn(async move {
        let _ = stopped3.changed().await;
        server.shutdown(Duration::from_secs(1)).await;
    });
    while !cache.is_synced() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut registration = Registration::in_cluster("aims-system");
    registration.name = format!("aims-e2e-{ns}");
    registration.ca_bundle = Some(certificates.ca_bundle);
    registration.only_namespace = Some(ns.clone());
    let session = DevSession {
        registration,
        host,
        fail_open: false,
    };
    session.register(&admin, port).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    Env { admin, ns, stop }
}

fn system(ns: &str) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "AISystem", "metadata": {"name": "scoring", "namespace": ns},
        "spec": {"displayName": "Scoring", "riskTier": "Minimal", "lifecycleStage": "Operation",
            "owner": {"name": "Dana", "contact": "dana@example.com", "team": "risk"},
            "models": [{"name": "scorer", "version": "1.0.0"}],
            "monitoring": {"metrics": ["auc"], "driftSignals": ["psi"], "alertRoute": "risk-oncall", "eventLog": "loki"}}})
}

fn deployment(ns: &str) -> Value {
    let labels = json!({SYSTEM_LABEL: "scoring", MODEL_VERSION_LABEL: "1.0.0", "app": "scorer"});
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scorer", "namespace": ns, "labels": labels},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "scorer"}},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "scorer", "image": "registry.k8s.io/pause:3.10"}]}}}})
}

fn assessment(ns: &str, name: &str, valid_until: Option<String>) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "ImpactAssessment", "metadata": {"name": name, "namespace": ns},
        "spec": {"systemRef": "scoring", "models": [{"name": "scorer", "version": "1.0.x"}],
            "impacts": [{"area": "Individuals", "direction": "Negative", "description": "unfair refusals"}],
            "risks": [{"id": "R1", "description": "bias", "likelihood": 2, "severity": 3, "treatment": "Mitigate"}],
            "validUntil": valid_until}})
}

async fn condition(api: &Api<AISystem>, type_: &str) -> Option<String> {
    let system = api.get("scoring").await.ok()?;
    system
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status)
}

async fn wait_for(api: &Api<AISystem>, type_: &str, status: &str, within: Duration) {
    let until = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < until {
        if condition(api, type_).await.as_deref() == Some(status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{type_} did not become {status} within {within:?}");
}

#[tokio::test]
#[ignore = "needs a cluster: KUBECONFIG=... AIMS_E2E_WEBHOOK_HOST=... cargo test --test e2e -- --ignored"]
async fn the_user_journeys() {
    assert!(cluster_or_explain());
    let env = setup().await;
    let ns = env.ns.clone();
    let alice = client_as(Some(("alice", &["dev-team", "system:authenticated"]))).await;
    let bob = client_as(Some(("bob", &["ai-approvers", "system:authenticated"]))).await;

    // The platform team registers the system.
    apply(
        &Api::<AISystem>::namespaced(env.admin.clone(), &ns),
        "scoring",
        system(&ns),
    )
    .await
    .unwrap();

    // A developer deploys the model: refused, with every reason and fix in the message.
    let deployments: Api<Deployment> = Api::namespaced(alice.clone(), &ns);
    let refused = apply(&deployments, "scorer", deployment(&ns))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("is not allowed to run"), "{refused}");
    assert!(refused.contains("AIMS-003"), "{refused}");

    // She writes the assessment but cannot approve it herself.
    let assessments: Api<ImpactAssessment> = Api::namespaced(alice.clone(), &ns);
    assessments
        .create(
            &PostParams::default(),
            &serde_json::from_value(assessment(&ns, "scoring-ia", None)).unwrap(),
        )
        .await
        .unwrap();
    let approve = json!({"spec": {"approval": {"decision": "Approved"}}});
    let own = assessments
        .patch(
            "scoring-ia",
            &PatchParams::default(),
            &Patch::Merge(&approve),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(own.contains("alice may not approve"), "{own}");

    // An approver approves; the webhook records who and when.
    let approved = Api::<ImpactAssessment>::namespaced(bob.clone(), &ns)
        .patch(
            "scoring-ia",
            &PatchParams::default(),
            &Patch::Merge(&approve),
        )
        .await
        .unwrap();
    let stamp = approved.spec.approval.unwrap();
    assert_eq!(stamp.decided_by.as_deref(), Some("bob"));
    assert!(stamp.content_hash.is_some());

    // Now the deployment is admitted and the system's conditions say so.
    tokio::time::sleep(Duration::from_secs(1)).await;
    apply(&deployments, "scorer", deployment(&ns))
        .await
        .unwrap();
    let systems: Api<AISystem> = Api::namespaced(env.admin.clone(), &ns);
    wait_for(
        &systems,
        "AssessmentApproved",
        "True",
        Duration::from_secs(20),
    )
    .await;

    // An assessment that expires flips the conditions within seconds of its end.
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(20)).to_string();
    assessments
        .delete("scoring-ia", &DeleteParams::default())
        .await
        .unwrap();
    assessments
        .create(
            &PostParams::default(),
            &serde_json::from_value(assessment(&ns, "scoring-ia2", Some(soon))).unwrap(),
        )
        .await
        .unwrap();
    Api::<ImpactAssessment>::namespaced(bob, &ns)
        .patch(
            "scoring-ia2",
            &PatchParams::default(),
            &Patch::Merge(&approve),
        )
        .await
        .unwrap();
    wait_for(
        &systems,
        "AssessmentApproved",
        "True",
        Duration::from_secs(15),
    )
    .await;
    wait_for(
        &systems,
        "AssessmentApproved",
        "False",
        Duration::from_secs(40),
    )
    .await;

    // The auditor exports the Statement of Applicability from the cluster.
    let snapshot = aims_operator::plugin::live_snapshot(&env.admin, Some(&ns))
        .await
        .unwrap();
    let statement =
        aims_operator::soa::build(&snapshot, &Policy::default(), "e2e", jiff::Timestamp::now());
    let markdown = aims_operator::render::soa::markdown(&statement);
    assert!(markdown.contains("scoring"), "{markdown}");

    env.cleanup().await;
}
