//! The webhook configurations that route reviews to aims-operator, built in one place: dev
//! mode registers them from here, and a test proves the Helm chart and kustomize bases render
//! the very same webhooks (names, rules, selectors, failure policies).
//!
//! Blast radius is limited by construction: only namespaces that opted in (label
//! `aims.io/enforcement`) or workloads labelled `aims.io/system` are sent; kube-system,
//! kube-public, kube-node-lease and the operator's own namespace never are; DELETE is not
//! sent at all. Enforcing namespaces fail closed, observing ones fail open.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations,
    ServiceReference, ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::api::ObjectMeta;

use crate::resources::{ENFORCEMENT_LABEL, SYSTEM_LABEL};

/// Namespaces no webhook of aims-operator ever sees (the operator's own is added); also the
/// policy's default exempt namespaces, so the engine never judges what the API server never sends.
pub const NEVER_JUDGED: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// The built-in controllers (the policy's default `trustedControllers`): only cluster
/// administrators control these identities.
pub const BUILT_IN_CONTROLLERS: [&str; 2] = [
    "system:kube-controller-manager",
    "system:serviceaccount:kube-system:*",
];

/// Name of the match condition that keeps the controllers' own objects away from the
/// workload webhooks.
pub const NOT_FROM_A_CONTROLLER: &str = "not-made-by-a-built-in-controller";

/// CEL for [`NOT_FROM_A_CONTROLLER`]: a Pod, ReplicaSet or Job that a built-in controller
/// makes from a template it owns (a controller owner reference) was judged with that
/// template, so the API server does not send it. That keeps a node drain or a rollout
/// going while the webhook is down (enforcing namespaces fail closed) and saves a review
/// per object. Anyone else's objects, owner reference or not, are still sent.
pub fn not_from_a_controller() -> String {
    let users: Vec<String> = BUILT_IN_CONTROLLERS
        .iter()
        .map(|user| match user.strip_suffix('*') {
            Some(prefix) => format!("request.userInfo.username.startsWith('{prefix}')"),
            None => format!("request.userInfo.username == '{user}'"),
        })
        .collect();
    format!(
        "!(({}) && object != null && has(object.metadata.ownerReferences) && \
         object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller))",
        users.join(" || ")
    )
}

/// Where the API server sends reviews.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The in-cluster Service (port 443 of the Service).
    Service {
        /// Namespace of the Service.
        namespace: String,
        /// Name of the Service.
        name: String,
    },
    /// A URL base such as `https://127.0.0.1:8443` (dev mode, e2e).
    Url(String),
}

/// Everything that varies between installations.
#[derive(Clone, Debug)]
pub struct Registration {
    /// Name of both configurations.
    pub name: String,
    /// Where reviews go.
    pub endpoint: Endpoint,
    /// Namespace aims-operator runs in (never judged).
    pub operator_namespace: String,
    /// PEM CA bundle the API server trusts for the endpoint; `None` leaves it to cert-manager's
    /// CA injector or the operator's self-managed certificates.
    pub ca_bundle: Option<String>,
    /// Seconds the API server waits for an answer.
    pub timeout_seconds: i32,
    /// Failure policy for workloads of registered systems in namespaces that chose no mode
    /// (the policy's default mode applies there: `Fail` when it is enforce).
    pub labelled_failure_policy: String,
    /// Restrict every webhook to this one namespace (e2e runs in a temporary namespace).
    pub only_namespace: Option<String>,
}

impl Registration {
    /// A registration for the in-cluster Service `aims-operator-webhook`.
    pub fn in_cluster(operator_namespace: &str) -> Self {
        Self {
            name: "aims-operator".into(),
            endpoint: Endpoint::Service {
                namespace: operator_namespace.into(),
                name: "aims-operator-webhook".into(),
            },
            operator_namespace: operator_namespace.into(),
            ca_bundle: None,
            timeout_seconds: 5,
            labelled_failure_policy: "Fail".into(),
            only_namespace: None,
        }
    }

    fn client_config(&self, path: &str) -> WebhookClientConfig {
        let ca_bundle = self
            .ca_bundle
            .as_ref()
            .map(|pem| ByteString(pem.as_bytes().to_vec()));
        match &self.endpoint {
            Endpoint::Service { namespace, name } => WebhookClientConfig {
                service: Some(ServiceReference {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    path: Some(path.into()),
                    port: Some(443),
                }),
                url: None,
                ca_bundle,
            },
            Endpoint::Url(base) => WebhookClientConfig {
                service: None,
                url: Some(format!("{}{path}", base.trim_end_matches('/'))),
                ca_bundle,
            },
        }
    }

    fn excluded(&self) -> Vec<String> {
        let mut names: Vec<String> = NEVER_JUDGED.iter().map(|s| s.to_string()).collect();
        if !names.contains(&self.operator_namespace) {
            names.push(self.operator_namespace.clone());
        }
        names
    }

    /// Namespaces whose label `aims.io/enforcement` satisfies `modes`, never the excluded ones.
    fn namespaces(&self, modes: Vec<LabelSelectorRequirement>) -> LabelSelector {
        let mut expressions = modes;
        expressions.push(requirement(
            "kubernetes.io/metadata.name",
            "NotIn",
            &self.excluded(),
        ));
        let match_labels = self
            .only_namespace
            .as_ref()
            .map(|ns| BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns.clone())]));
        LabelSelector {
            match_expressions: Some(expressions),
            match_labels,
        }
    }

    /// The ValidatingWebhookConfiguration: workloads (enforce, observe, labelled) and AIMS
    /// resources.
    pub fn validating(&self) -> ValidatingWebhookConfiguration {
        let workload = |name: &str, mode, failure: &str, objects: Option<LabelSelector>| {
            ValidatingWebhook {
                name: name.into(),
                client_config: self.client_config("/validate"),
                namespace_selector: Some(self.namespaces(mode)),
                object_selector: objects,
                rules: Some(workload_rules()),
                match_conditions: Some(vec![MatchCondition {
                    name: NOT_FROM_A_CONTROLLER.into(),
                    expression: not_from_a_controller(),
                }]),
                failure_policy: Some(failure.into()),
                // Break-glass records an Event, never on a dry run.
                side_effects: "NoneOnDryRun".into(),
                ..self.common_validating()
            }
        };
        let observing = ["warn", "audit"].map(String::from);
        let webhooks = vec![
            // Any value but warn or audit enforces (the engine reads a typo as enforce).
            workload(
                "enforce.workloads.aims.io",
                vec![
                    requirement(ENFORCEMENT_LABEL, "Exists", &[]),
                    requirement(ENFORCEMENT_LABEL, "NotIn", &observing),
                ],
                "Fail",
                None,
            ),
            workload(
                "observe.workloads.aims.io",
                vec![requirement(ENFORCEMENT_LABEL, "In", &observing)],
                "Ignore",
                None,
            ),
            workload(
                "labelled.workloads.aims.io",
                vec![requirement(ENFORCEMENT_LABEL, "DoesNotExist", &[])],
                &self.labelled_failure_policy,
                Some(LabelSelector {
                    match_expressions: Some(vec![requirement(SYSTEM_LABEL, "Exists", &[])]),
                    match_labels: None,
                }),
            ),
            ValidatingWebhook {
                name: "resources.aims.io".into(),
                client_config: self.client_config("/validate-aims"),
                namespace_selector: Some(self.namespaces(vec![requirement(
                    "kubernetes.io/metadata.name",
                    "Exists",
                    &[],
                )])),
                rules: Some(vec![aims_rule(true)]),
                // Approval stamps are only trustworthy if nothing gets past unchecked.
                failure_policy: Some("Fail".into()),
                side_effects: "None".into(),
                ..self.common_validating()
            },
        ];
        ValidatingWebhookConfiguration {
            metadata: self.metadata(),
            webhooks: Some(webhooks),
        }
    }

    /// The MutatingWebhookConfiguration: authorship and approval stamps on AIMS resources.
    pub fn mutating(&self) -> MutatingWebhookConfiguration {
        MutatingWebhookConfiguration {
            metadata: self.metadata(),
            webhooks: Some(vec![MutatingWebhook {
                name: "resources.aims.io".into(),
                admission_review_versions: vec!["v1".into()],
                client_config: self.client_config("/mutate"),
                failure_policy: Some("Fail".into()),
                match_policy: Some("Equivalent".into()),
                namespace_selector: Some(self.namespaces(vec![requirement(
                    "kubernetes.io/metadata.name",
                    "Exists",
                    &[],
                )])),
                reinvocation_policy: Some("IfNeeded".into()),
                rules: Some(vec![aims_rule(false)]),
                side_effects: "None".into(),
                timeout_seconds: Some(self.timeout_seconds),
                ..MutatingWebhook::default()
            }]),
        }
    }

    fn common_validating(&self) -> ValidatingWebhook {
        ValidatingWebhook {
            admission_review_versions: vec!["v1".into()],
            match_policy: Some("Equivalent".into()),
            timeout_seconds: Some(self.timeout_seconds),
            ..ValidatingWebhook::default()
        }
    }

    fn metadata(&self) -> ObjectMeta {
        ObjectMeta {
            name: Some(self.name.clone()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/name".to_string(),
                "aims-operator".to_string(),
            )])),
            ..ObjectMeta::default()
        }
    }
}

fn requirement(key: &str, operator: &str, values: &[String]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: operator.into(),
        values: (!values.is_empty()).then(|| values.to_vec()),
    }
}

fn rule(group: &str, versions: &str, resources: &[&str]) -> RuleWithOperations {
    RuleWithOperations {
        api_groups: Some(vec![group.into()]),
        api_versions: Some(vec![versions.into()]),
        operations: Some(vec!["CREATE".into(), "UPDATE".into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        scope: Some("Namespaced".into()),
    }
}

/// Every kind that can run a model, and the `scale` subresources that can start more of it.
fn workload_rules() -> Vec<RuleWithOperations> {
    vec![
        rule(
            "apps",
            "v1",
            &[
                "deployments",
                "deployments/scale",
                "statefulsets",
                "statefulsets/scale",
                "daemonsets",
                "replicasets",
                "replicasets/scale",
            ],
        ),
        rule("batch", "v1", &["jobs", "cronjobs"]),
        // Ephemeral containers add images to a running Pod.
        rule("", "v1", &["pods", "pods/ephemeralcontainers"]),
        rule("serving.kserve.io", "*", &["inferenceservices"]),
    ]
}

/// The AIMS kinds; with their status, which only the operator may write.
fn aims_rule(with_status: bool) -> RuleWithOperations {
    let mut resources = vec![
        "aisystems",
        "impactassessments",
        "controlbindings",
        "aimanagementsystems",
        "nonconformities",
        "aiincidents",
        "internalaudits",
        "managementreviews",
    ];
    if with_status {
        resources.extend([
            "aisystems/status",
            "impactassessments/status",
            "controlbindings/status",
            "nonconformities/status",
            "aiincidents/status",
        ]);
    }
    // The AIManagementSystem, audits and reviews are cluster-scoped, the others namespaced.
    RuleWithOperations {
        scope: Some("*".into()),
        ..rule("aims.io", "*", &resources)
    }
}
