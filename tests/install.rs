//! Installing aims-operator: the Helm chart (`helm lint`, `helm template`) and the kustomize
//! bases (`kubectl kustomize`) render what a platform team can trust: no webhook on system
//! namespaces or deletes, fail closed only where enforcing, Pod Security "restricted", no
//! wildcard RBAC, status written by the operator only, availability through drains; the
//! chart's webhooks are exactly the ones dev mode registers; kustomize and Helm install the
//! same objects; the Argo CD health checks judge real statuses correctly.
//!
//! `AIMS_BLESS=1` rewrites the generated files (config/ from the chart, the chart's CRDs,
//! the argocd-cm snippet) instead of failing when they differ.
use crate::{support, tools};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aims_operator::registration::Registration;
use serde_json::{Value, json};
use support::AssessmentExt;

const NAMESPACE: &str = "aims-system";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bless() -> bool {
    std::env::var_os("AIMS_BLESS").is_some()
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{yaml}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn helm_template(extra: &[&str]) -> Result<String, String> {
    let mut args = vec![
        "template",
        "aims",
        "charts/aims-operator",
        "--namespace",
        NAMESPACE,
    ];
    args.extend_from_slice(extra);
    tools::output(&tools::helm(), &args)
}

fn chart(extra: &[&str]) -> Vec<Value> {
    documents(&helm_template(extra).unwrap_or_else(|e| panic!("helm template failed: {e}")))
}

fn kustomize(dir: &str) -> Vec<Value> {
    let yaml = tools::output(&tools::kubectl(), &["kustomize", dir])
        .unwrap_or_else(|e| panic!("kubectl kustomize {dir} failed: {e}"));
    documents(&yaml)
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found[0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The install variants every property must hold for.
fn installs() -> Vec<(&'static str, Vec<Value>)> {
    vec![
        ("chart (self-managed certificates)", chart(&[])),
        (
            "chart (cert-manager, all options)",
            chart(&[
                "--api-versions",
                "cert-manager.io/v1",
                "--set",
                "serviceMonitor.enabled=true",
                "--set",
                "grafanaDashboard.enabled=true",
            ]),
        ),
        ("kustomize config/default", kustomize("config/default")),
    ]
}

#[test]
fn the_chart_lints_cleanly_in_every_mode() {
    for extra in [
        vec![],
        vec!["--set", "certificates.provider=cert-manager"],
        vec![
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "grafanaDashboard.enabled=true",
            "--set",
            "networkPolicy.enabled=false",
        ],
    ] {
        let mut args = vec!["lint", "--strict", "charts/aims-operator"];
        args.extend_from_slice(&extra);
        let out = tools::output(&tools::helm(), &args)
            .unwrap_or_else(|e| panic!("helm lint {extra:?} failed: {e}"));
        assert!(out.contains("0 chart(s) failed"), "{out}");
    }
}

#[test]
fn values_outside_the_schema_are_refused_with_the_field_named() {
    for (set, field) in [
        ("certificates.provider=vault", "provider"),
        ("webhook.timeoutSeconds=60", "timeoutSeconds"),
        (
            "webhook.labelledFailurePolicy=Maybe",
            "labelledFailurePolicy",
        ),
        ("replicaCount=0", "replicaCount"),
        ("imageTag=latest", "imageTag"),
    ] {
        let error = helm_template(&["--set", set]).expect_err(set);
        assert!(error.contains(field), "{set}: {error}");
    }
}

/// The chart (and so kustomize) registers exactly what `registration.rs` builds, the code
/// dev mode and the e2e suite register: same names, rules, selectors, failure policies.
#[test]
fn the_chart_registers_exactly_the_webhooks_dev_mode_registers() {
    for (install, objects) in installs() {
        for (kind, built) in [
            (
                "ValidatingWebhookConfiguration",
                serde_json::to_value(Registration::in_cluster(NAMESPACE).validating()).unwrap(),
            ),
            (
                "MutatingWebhookConfiguration",
                serde_json::to_value(Registration::in_cluster(NAMESPACE).mutating()).unwrap(),
            ),
        ] {
            let rendered = one(&objects, kind);
            assert_eq!(rendered["metadata"]["name"], built["metadata"]["name"]);
            let strip = |webhooks: &Value| -> Vec<Value> {
                webhooks
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| {
                        let mut w = w.clone();
                        w["clientConfig"]
                            .as_object_mut()
                            .unwrap()
                            .remove("caBundle");
                        w
                    })
                    .collect()
            };
            assert_eq!(
                strip(&rendered["webhooks"]),
                strip(&built["webhooks"]),
                "{install}: {kind}"
            );
        }
    }
}

#[test]
fn no_webhook_sees_system_namespaces_its_own_namespace_or_deletes() {
    for (install, objects) in installs() {
        let configurations: Vec<&Value> = of_kind(&objects, "ValidatingWebhookConfiguration")
            .into_iter()
            .chain(of_kind(&objects, "MutatingWebhookConfiguration"))
            .collect();
        assert_eq!(configurations.len(), 2, "{install}");
        for configuration in configurations {
            for webhook in configuration["webhooks"].as_array().unwrap() {
                let name = webhook["name"].as_str().unwrap();
                let excluded = webhook["namespaceSelector"]["matchExpressions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
                    .unwrap_or_else(|| panic!("{install}: {name} excludes no namespace"));
                for ns in ["kube-system", "kube-public", "kube-node-lease", NAMESPACE] {
                    assert!(
                        strings(&excluded["values"]).contains(&ns.to_string()),
                        "{install}: {name} may see {ns}"
                    );
                }
                for rule in webhook["rules"].as_array().unwrap() {
                    assert_eq!(
                        strings(&rule["operations"]),
                        ["CREATE", "UPDATE"],
                        "{install}: {name}"
                    );
                    assert!(!strings(&rule["resources"]).contains(&"*".to_string()));
                }
                assert_eq!(webhook["matchPolicy"], "Equivalent", "{install}: {name}");
                assert_eq!(strings(&webhook["admissionReviewVersions"]), ["v1"]);
                assert!(
                    ["None", "NoneOnDryRun"].contains(&webhook["sideEffects"].as_str().unwrap()),
                    "{install}: {name}"
                );
                assert!(
                    webhook["timeoutSeconds"].as_i64().unwrap() <= 10,
                    "{install}: {name}"
                );
                // Enforcing namespaces (and AIMS resources) fail closed; observing ones
                // never block.
                let expected = if name == "observe.workloads.aims.io" {
                    "Ignore"
                } else {
                    "Fail"
                };
                assert_eq!(webhook["failurePolicy"], expected, "{install}: {name}");
                let modes: Vec<&Value> = webhook["namespaceSelector"]["matchExpressions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["key"] == "aims.io/enforcement")
                    .collect();
                match name {
                    "observe.workloads.aims.io" => assert_eq!(
                        modes,
                        [
                            &json!({"key": "aims.io/enforcement", "operator": "In", "values": ["warn", "audit"]})
                        ]
                    ),
                    // Only labelled workloads reach it from namespaces that did not opt in.
                    "labelled.workloads.aims.io" => assert_eq!(
                        webhook["objectSelector"]["matchExpressions"][0],
                        json!({"key": "aims.io/system", "operator": "Exists"})
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// Whether a label selector (as JSON) matches the labels, with Kubernetes' semantics.
fn selects(selector: &Value, labels: &BTreeMap<&str, &str>) -> bool {
    if selector.is_null() {
        return true;
    }
    let labels_match = selector["matchLabels"].as_object().is_none_or(|m| {
        m.iter()
            .all(|(k, v)| labels.get(k.as_str()) == v.as_str().as_ref())
    });
    let expressions_match = selector["matchExpressions"].as_array().is_none_or(|all| {
        all.iter().all(|e| {
            let value = labels.get(e["key"].as_str().unwrap());
            let values = strings(&e["values"]);
            match e["operator"].as_str().unwrap() {
                "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
                "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => panic!("operator {other}"),
            }
        })
    });
    labels_match && expressions_match
}

/// Every Deployment reaches at most one workload webhook (never judged twice), and the one
/// it reaches fails the way its namespace's mode asks.
#[test]
fn each_workload_reaches_the_one_webhook_its_namespace_mode_calls_for() {
    let objects = chart(&[]);
    let validating = one(&objects, "ValidatingWebhookConfiguration");
    let workload_hooks: Vec<&Value> = validating["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"].as_str().unwrap().ends_with("workloads.aims.io"))
        .collect();
    // (namespace, its enforcement label, labelled workload?) -> (webhook, failure policy)
    let cases = [
        (
            "lending",
            Some("enforce"),
            false,
            Some(("enforce.workloads.aims.io", "Fail")),
        ),
        (
            "lending",
            Some("Enforce"),
            false,
            Some(("enforce.workloads.aims.io", "Fail")),
        ),
        (
            "lending",
            Some("warn"),
            true,
            Some(("observe.workloads.aims.io", "Ignore")),
        ),
        (
            "lending",
            Some("audit"),
            false,
            Some(("observe.workloads.aims.io", "Ignore")),
        ),
        (
            "lending",
            None,
            true,
            Some(("labelled.workloads.aims.io", "Fail")),
        ),
        ("lending", None, false, None),
        ("kube-system", Some("enforce"), true, None),
        ("kube-node-lease", None, true, None),
        (NAMESPACE, Some("enforce"), true, None),
    ];
    for (namespace, mode, labelled, expected) in cases {
        let mut ns_labels = BTreeMap::from([("kubernetes.io/metadata.name", namespace)]);
        if let Some(mode) = mode {
            ns_labels.insert("aims.io/enforcement", mode);
        }
        let object_labels: BTreeMap<&str, &str> = if labelled {
            BTreeMap::from([("aims.io/system", "credit-scoring")])
        } else {
            BTreeMap::new()
        };
        let reached: Vec<(&str, &str)> = workload_hooks
            .iter()
            .filter(|w| {
                selects(&w["namespaceSelector"], &ns_labels)
                    && selects(&w["objectSelector"], &object_labels)
            })
            .map(|w| {
                (
                    w["name"].as_str().unwrap(),
                    w["failurePolicy"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            reached,
            expected.into_iter().collect::<Vec<_>>(),
            "namespace {namespace} mode {mode:?} labelled {labelled}"
        );
    }
}

fn pod_specs(objects: &[Value]) -> Vec<(&str, &Value)> {
    objects
        .iter()
        .filter_map(|o| match o["kind"].as_str()? {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => Some((
                o["metadata"]["name"].as_str()?,
                &o["spec"]["template"]["spec"],
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn the_operator_pods_meet_pod_security_restricted() {
    for (install, objects) in installs() {
        let specs = pod_specs(&objects);
        assert_eq!(specs.len(), 1, "{install}");
        for (name, spec) in specs {
            let pod = &spec["securityContext"];
            assert_eq!(pod["runAsNonRoot"], true, "{install}: {name}");
            assert_eq!(
                pod["seccompProfile"]["type"], "RuntimeDefault",
                "{install}: {name}"
            );
            assert!(pod["runAsUser"].as_i64().unwrap() > 0);
            for key in ["hostNetwork", "hostPID", "hostIPC"] {
                assert_ne!(spec[key], true, "{install}: {name} {key}");
            }
            for container in spec["containers"].as_array().unwrap() {
                let sc = &container["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{install}: {name}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{install}: {name}");
                assert_ne!(sc["privileged"], true);
                assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
                assert!(sc["capabilities"]["add"].is_null());
                assert!(container["resources"]["requests"]["memory"].is_string());
                assert!(container["resources"]["limits"]["memory"].is_string());
                assert!(container["readinessProbe"]["httpGet"]["path"] == "/readyz");
                assert!(container["livenessProbe"]["httpGet"]["path"] == "/healthz");
            }
            for volume in spec["volumes"].as_array().unwrap() {
                assert!(volume["hostPath"].is_null(), "{install}: hostPath");
            }
        }
    }
}

#[test]
fn rbac_has_no_wildcards_and_only_the_operator_writes_status() {
    for (install, objects) in installs() {
        let roles: Vec<&Value> = of_kind(&objects, "ClusterRole")
            .into_iter()
            .chain(of_kind(&objects, "Role"))
            .collect();
        assert!(roles.len() >= 5, "{install}");
        for role in roles {
            let name = role["metadata"]["name"].as_str().unwrap();
            for rule in role["rules"].as_array().unwrap() {
                for field in ["apiGroups", "resources", "verbs", "resourceNames"] {
                    assert!(
                        !strings(&rule[field]).iter().any(|s| s.contains('*')),
                        "{install}: {name} has a wildcard in {field}"
                    );
                }
                let writes = strings(&rule["verbs"])
                    .iter()
                    .any(|v| ["create", "update", "patch", "delete"].contains(&v.as_str()));
                let statuses = strings(&rule["resources"])
                    .iter()
                    .any(|r| r.ends_with("/status"));
                if writes && statuses {
                    assert_eq!(name, "aims-operator", "{install}: {name} may write status");
                    assert_eq!(strings(&rule["verbs"]), ["get", "patch"]);
                }
                // Webhook configurations: only our own, and never deleted.
                if strings(&rule["resources"])
                    .iter()
                    .any(|r| r.ends_with("webhookconfigurations"))
                {
                    assert_eq!(strings(&rule["resourceNames"]), ["aims-operator"]);
                    assert!(!strings(&rule["verbs"]).contains(&"delete".to_string()));
                }
                if strings(&rule["resources"]).contains(&"secrets".to_string()) {
                    assert_eq!(
                        role["kind"], "Role",
                        "{install}: secrets only in its namespace"
                    );
                    let verbs = strings(&rule["verbs"]);
                    assert!(
                        verbs == ["create"]
                            || strings(&rule["resourceNames"]) == ["aims-operator-webhook-tls"],
                        "{install}: secrets beyond its own: {rule}"
                    );
                    assert!(!verbs.iter().any(|v| v == "list" || v == "watch"));
                }
            }
        }
        let auditor = of_kind(&objects, "ClusterRole")
            .into_iter()
            .find(|r| r["metadata"]["name"] == "aims-auditor")
            .unwrap();
        for rule in auditor["rules"].as_array().unwrap() {
            assert_eq!(
                strings(&rule["verbs"]),
                ["get", "list", "watch"],
                "auditors read only"
            );
        }
    }
}

#[test]
fn three_replicas_survive_a_drain_and_a_rollout() {
    for (install, objects) in installs() {
        let deployment = one(&objects, "Deployment");
        assert_eq!(deployment["spec"]["replicas"], 3, "{install}");
        assert_eq!(
            deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0,
            "{install}"
        );
        let pdb = one(&objects, "PodDisruptionBudget");
        assert_eq!(
            pdb["spec"]["maxUnavailable"], 1,
            "{install}: drains can proceed"
        );
        assert!(pdb["spec"]["minAvailable"].is_null());
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"],
            deployment["spec"]["selector"]["matchLabels"]
        );
        let spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .as_array()
            .unwrap();
        assert!(
            spread
                .iter()
                .any(|c| c["topologyKey"] == "kubernetes.io/hostname")
        );
        let policy = one(&objects, "NetworkPolicy");
        assert_eq!(
            strings(&policy["spec"]["policyTypes"]),
            ["Ingress", "Egress"]
        );
        let service = one(&objects, "Service");
        assert_eq!(service["metadata"]["name"], "aims-operator-webhook");
    }
}

#[test]
fn certificates_come_from_cert_manager_when_present_and_are_self_managed_otherwise() {
    let args = |objects: &[Value]| {
        strings(&one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"])
    };
    // Self-managed: the operator gets the flags, a writable in-memory /tls and its Secret.
    let own = chart(&[]);
    assert!(args(&own).contains(&"--self-managed-certs".to_string()));
    assert!(of_kind(&own, "Certificate").is_empty());
    let volume = &one(&own, "Deployment")["spec"]["template"]["spec"]["volumes"][0];
    assert_eq!(volume["emptyDir"]["medium"], "Memory");
    // cert-manager (detected by its API, or chosen): a Certificate for the Service's names,
    // mounted, and its CA injected into both configurations.
    for extra in [
        vec!["--api-versions", "cert-manager.io/v1"],
        vec!["--set", "certificates.provider=cert-manager"],
    ] {
        let objects = chart(&extra);
        assert!(!args(&objects).contains(&"--self-managed-certs".to_string()));
        let certificate = of_kind(&objects, "Certificate")
            .into_iter()
            .find(|c| c["metadata"]["name"] == "aims-operator-webhook")
            .unwrap();
        let mut names = strings(&certificate["spec"]["dnsNames"]);
        names.sort();
        let mut wanted =
            aims_operator::certs::CertSettings::service_names("aims-operator-webhook", NAMESPACE);
        wanted.sort();
        assert_eq!(names, wanted);
        let secret = certificate["spec"]["secretName"].as_str().unwrap();
        let volume = &one(&objects, "Deployment")["spec"]["template"]["spec"]["volumes"][0];
        assert_eq!(volume["secret"]["secretName"], secret);
        for kind in [
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ] {
            assert_eq!(
                one(&objects, kind)["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
                format!("{NAMESPACE}/aims-operator-webhook")
            );
        }
        assert!(
            !of_kind(&objects, "Role")[0]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| strings(&r["resources"]).contains(&"secrets".to_string()))
        );
    }
}

/// Labels that say which tool applied an object are the only difference allowed.
fn comparable(mut object: Value) -> Value {
    if let Some(labels) = object["metadata"]["labels"].as_object_mut() {
        labels.remove("helm.sh/chart");
        labels.remove("app.kubernetes.io/managed-by");
    }
    object
}

fn keyed(objects: Vec<Value>) -> BTreeMap<String, Value> {
    objects
        .into_iter()
        .filter(|o| o["kind"] != "Namespace" && o["kind"] != "CustomResourceDefinition")
        .map(|o| {
            (
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                ),
                comparable(o),
            )
        })
        .collect()
}

/// Which kustomize base holds an object of this kind.
fn base_of(kind: &str) -> &'static str {
    match kind {
        "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => "rbac",
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => "webhook",
        _ => "manager",
    }
}

/// Writes config/{rbac,webhook,manager} from the chart's default rendering.
fn write_bases(rendered: &str) {
    let mut files: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for document in rendered.split("\n---\n") {
        let text: String = document
            .lines()
            .filter(|l| !l.starts_with("# Source:") && !l.contains("helm.sh/chart:") && *l != "---")
            .map(|l| {
                l.replace(
                    "app.kubernetes.io/managed-by: Helm",
                    "app.kubernetes.io/managed-by: kustomize",
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let Some(kind) = text.lines().find_map(|l| l.strip_prefix("kind: ")) else {
            continue;
        };
        files
            .entry(base_of(kind.trim()))
            .or_default()
            .push(text.trim().to_string());
    }
    for (base, documents) in files {
        let dir = repo().join("config").join(base);
        std::fs::create_dir_all(&dir).unwrap();
        let header = "# Generated from charts/aims-operator (helm template, namespace aims-system) by\n# AIMS_BLESS=1 cargo test --test integration install::; edit the chart, not this file.\n";
        std::fs::write(
            dir.join(format!("{base}.yaml")),
            format!("{header}{}\n", documents.join("\n---\n")),
        )
        .unwrap();
        std::fs::write(
            dir.join("kustomization.yaml"),
            format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {base}.yaml\n"),
        )
        .unwrap();
    }
}

#[test]
fn kustomize_installs_exactly_what_the_chart_installs() {
    let rendered = helm_template(&[]).unwrap();
    if bless() {
        write_bases(&rendered);
    }
    let from_chart = keyed(documents(&rendered));
    let from_kustomize = keyed(kustomize("config/default"));
    assert_eq!(
        from_chart.keys().collect::<Vec<_>>(),
        from_kustomize.keys().collect::<Vec<_>>(),
        "regenerate with AIMS_BLESS=1 cargo test --test integration install::"
    );
    for (key, object) in &from_chart {
        assert_eq!(
            Some(object),
            from_kustomize.get(key),
            "{key} differs; regenerate with AIMS_BLESS=1 cargo test --test integration install::"
        );
    }
    // The default base also creates the namespace, labelled for Pod Security "restricted",
    // and installs the CRDs.
    let all = kustomize("config/default");
    let namespace = one(&all, "Namespace");
    assert_eq!(namespace["metadata"]["name"], NAMESPACE);
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert_eq!(of_kind(&all, "CustomResourceDefinition").len(), 8);
}

#[test]
fn the_dev_overlay_runs_one_replica_of_a_local_image() {
    let objects = kustomize("config/dev");
    let deployment = one(&objects, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "aims-operator:dev");
    assert_eq!(container["imagePullPolicy"], "Never");
    // Still restricted and still excluding its namespace.
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        one(&objects, "PodDisruptionBudget")["spec"]["maxUnavailable"],
        1
    );
}

#[test]
fn the_chart_ships_the_generated_crds() {
    for file in [
        "aisystems.aims.io.yaml",
        "impactassessments.aims.io.yaml",
        "controlbindings.aims.io.yaml",
        "aimanagementsystems.aims.io.yaml",
        "nonconformities.aims.io.yaml",
        "aiincidents.aims.io.yaml",
        "internalaudits.aims.io.yaml",
        "managementreviews.aims.io.yaml",
    ] {
        let generated = std::fs::read_to_string(repo().join("crds").join(file)).unwrap();
        let shipped = repo().join("charts/aims-operator/crds").join(file);
        if bless() {
            std::fs::write(&shipped, &generated).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&shipped).unwrap(),
            generated,
            "charts/aims-operator/crds/{file} differs from crds/{file}; regenerate with AIMS_BLESS=1"
        );
    }
}

// ---- Argo CD health checks -------------------------------------------------------------

const HEALTH: [(&str, &str); 3] = [
    ("AISystem", "health-aisystem.lua"),
    ("ImpactAssessment", "health-impactassessment.lua"),
    ("ControlBinding", "health-controlbinding.lua"),
];

fn lua_value(lua: &mlua::Lua, value: &Value) -> mlua::Value {
    match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i as _),
            None => mlua::Value::Number(n.as_f64().unwrap()),
        },
        Value::String(s) => mlua::Value::String(lua.create_string(s).unwrap()),
        Value::Array(items) => {
            let table = lua.create_table().unwrap();
            for (i, item) in items.iter().enumerate() {
                table.set(i + 1, lua_value(lua, item)).unwrap();
            }
            mlua::Value::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table().unwrap();
            for (k, v) in map {
                table.set(k.as_str(), lua_value(lua, v)).unwrap();
            }
            mlua::Value::Table(table)
        }
    }
}

/// Runs a health script as Argo CD does (global `obj`, returns a table with status and
/// message).
fn health(kind: &str, object: &Value) -> (String, String) {
    let file = HEALTH.iter().find(|(k, _)| *k == kind).unwrap().1;
    let script =
        std::fs::read_to_string(repo().join("charts/aims-operator/argocd").join(file)).unwrap();
    let lua = mlua::Lua::new();
    lua.globals().set("obj", lua_value(&lua, object)).unwrap();
    let result: mlua::Table = lua
        .load(&script)
        .eval()
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    (
        result.get("status").unwrap(),
        result.get("message").unwrap_or_default(),
    )
}

fn with_status<T: serde::Serialize>(kind: &str, generation: i64, status: &T) -> Value {
    json!({"apiVersion": "aims.io/v1alpha1", "kind": kind,
           "metadata": {"name": "x", "namespace": "lending", "generation": generation},
           "status": status})
}

#[test]
fn argo_cd_shows_ai_systems_healthy_only_when_the_operator_found_them_compliant() {
    use aims_operator::policy::Policy;
    use aims_operator::reconciler::desired_system_status;
    let snapshot = support::lending();
    let mut system = snapshot
        .system("lending", "credit-scoring")
        .unwrap()
        .clone();
    system.metadata.generation = Some(2);
    let (now_status, _) =
        desired_system_status(&snapshot, &system, &Policy::default(), support::now());
    let (healthy, message) = health("AISystem", &with_status("AISystem", 2, &now_status));
    assert_eq!(healthy, "Healthy", "{message}");

    // The assessment has lapsed a year later: Degraded, with the operator's own message.
    let later = support::now() + jiff::SignedDuration::from_hours(2 * 365 * 24);
    let (lapsed, _) = desired_system_status(&snapshot, &system, &Policy::default(), later);
    let compliant = lapsed
        .conditions
        .iter()
        .find(|c| c.type_ == "Compliant")
        .unwrap();
    assert_eq!(compliant.status, "False");
    let (status, message) = health("AISystem", &with_status("AISystem", 2, &lapsed));
    assert_eq!(status, "Degraded");
    assert_eq!(message, compliant.message);

    // Spec changed since the operator looked, or it never looked: Progressing.
    assert_eq!(
        health("AISystem", &with_status("AISystem", 3, &now_status)).0,
        "Progressing"
    );
    let fresh = json!({"apiVersion": "aims.io/v1alpha1", "kind": "AISystem", "metadata": {"name": "x", "generation": 1}});
    assert_eq!(health("AISystem", &fresh).0, "Progressing");
}

#[test]
fn argo_cd_shows_assessments_by_phase_and_bindings_by_verification() {
    use aims_operator::policy::Policy;
    use aims_operator::reconciler::{desired_assessment_status, desired_binding_status};
    let snapshot = support::lending();
    let mut approved = support::assessment("credit-scoring-2026q3", "credit-scoring", &["2.3.x"])
        .approved_by("bob", "2026-10-01T00:00:00Z");
    approved.metadata.namespace = Some("lending".into());
    approved.metadata.generation = Some(1);
    let (status, _) =
        desired_assessment_status(&snapshot, &approved, &Policy::default(), support::now());
    assert_eq!(
        health(
            "ImpactAssessment",
            &with_status("ImpactAssessment", 1, &status)
        )
        .0,
        "Healthy"
    );
    let later = support::now() + jiff::SignedDuration::from_hours(2 * 365 * 24);
    let (expired, _) = desired_assessment_status(&snapshot, &approved, &Policy::default(), later);
    let (state, message) = health(
        "ImpactAssessment",
        &with_status("ImpactAssessment", 1, &expired),
    );
    assert_eq!(state, "Degraded");
    assert!(message.starts_with("Expired: "), "{message}");

    let mut pending = support::assessment("next", "credit-scoring", &["2.4.x"]);
    pending.metadata.namespace = Some("lending".into());
    pending.metadata.generation = Some(1);
    let (waiting, _) =
        desired_assessment_status(&snapshot, &pending, &Policy::default(), support::now());
    assert_eq!(
        health(
            "ImpactAssessment",
            &with_status("ImpactAssessment", 1, &waiting)
        )
        .0,
        "Suspended"
    );

    let mut binding = support::binding("controls", &["credit-scoring"], &["A.6.2.6"]);
    binding.metadata.namespace = Some("lending".into());
    binding.metadata.generation = Some(1);
    let (verified, _) =
        desired_binding_status(&snapshot, &binding, &Policy::default(), support::now());
    let holds = verified
        .conditions
        .iter()
        .find(|c| c.type_ == "Verified")
        .unwrap();
    let (state, message) = health(
        "ControlBinding",
        &with_status("ControlBinding", 1, &verified),
    );
    assert_eq!(
        state,
        if holds.status == "True" {
            "Healthy"
        } else {
            "Degraded"
        }
    );
    assert_eq!(message, holds.message);
    assert_eq!(
        health(
            "ControlBinding",
            &with_status("ControlBinding", 2, &verified)
        )
        .0,
        "Progressing"
    );
}

#[test]
fn the_argocd_cm_snippet_carries_exactly_the_tested_scripts() {
    let path = repo().join("charts/aims-operator/argocd/argocd-cm.yaml");
    let snippet: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (kind, file) in HEALTH {
        let script =
            std::fs::read_to_string(repo().join("charts/aims-operator/argocd").join(file)).unwrap();
        assert_eq!(
            snippet["data"][format!("resource.customizations.health.aims.io_{kind}")],
            script,
            "{kind}: argocd-cm.yaml and {file} differ"
        );
    }
}

/// The image's user is the one the chart runs as, and the image is a non-root distroless
/// one: the restricted securityContext holds for the image actually shipped.
#[test]
fn the_image_runs_as_the_user_the_chart_expects() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    assert!(
        stages.last().unwrap().contains("distroless")
            && stages.last().unwrap().contains(":nonroot")
    );
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    let objects = chart(&[]);
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(
        user.trim(),
        format!("{}:{}", pod["runAsUser"], pod["runAsGroup"])
    );
    assert!(
        dockerfile.contains("--locked"),
        "the image builds what Cargo.lock pins"
    );
}

/// Every proof docs/threats.md names is a test that exists, so the table cannot promise a
/// test nobody wrote (or one renamed away).
#[test]
fn every_test_the_threat_table_names_exists() {
    let table = std::fs::read_to_string(repo().join("docs/threats.md")).unwrap();
    let mut named = 0;
    for cell in table.split('`') {
        let Some((file, function)) = cell.split_once("::") else {
            continue;
        };
        if !file.chars().all(|c| c.is_ascii_lowercase() || c == '_') || function.contains(' ') {
            continue;
        }
        let function = function.rsplit("::").next().unwrap();
        let source = match file {
            "webhook" if cell.contains("::tests::") => repo().join("operator/src/webhook/mod.rs"),
            _ => repo().join("tests").join(format!("{file}.rs")),
        };
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{cell}: {}: {e}", source.display()));
        assert!(
            text.contains(&format!("fn {function}(")),
            "docs/threats.md names {cell}, which {} does not define",
            source.display()
        );
        named += 1;
    }
    assert!(named >= 30, "only {named} tests named");
}

/// Every object the chart and kustomize install reads as its Kubernetes type and writes back
/// unchanged: no misspelt or misplaced field is silently dropped by the API server.
#[test]
fn every_installed_object_has_only_fields_its_kind_defines() {
    use k8s_openapi::api::rbac::v1 as rbac;
    use k8s_openapi::api::{admissionregistration::v1 as admission, apps::v1 as apps};
    use k8s_openapi::api::{core::v1 as core, networking::v1 as net, policy::v1 as policy};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
    fn round_trip<K: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Value {
        let typed: K = serde_json::from_value(object.clone())
            .unwrap_or_else(|e| panic!("{} {}: {e}", object["kind"], object["metadata"]["name"]));
        serde_json::to_value(typed).unwrap()
    }
    let mut checked = 0;
    for (install, objects) in installs() {
        for object in &objects {
            let back = match object["kind"].as_str().unwrap() {
                "Deployment" => round_trip::<apps::Deployment>(object),
                "Service" => round_trip::<core::Service>(object),
                "ServiceAccount" => round_trip::<core::ServiceAccount>(object),
                "ConfigMap" => round_trip::<core::ConfigMap>(object),
                "Namespace" => round_trip::<core::Namespace>(object),
                "ClusterRole" => round_trip::<rbac::ClusterRole>(object),
                "ClusterRoleBinding" => round_trip::<rbac::ClusterRoleBinding>(object),
                "Role" => round_trip::<rbac::Role>(object),
                "RoleBinding" => round_trip::<rbac::RoleBinding>(object),
                "PodDisruptionBudget" => round_trip::<policy::PodDisruptionBudget>(object),
                "NetworkPolicy" => round_trip::<net::NetworkPolicy>(object),
                "ValidatingWebhookConfiguration" => {
                    round_trip::<admission::ValidatingWebhookConfiguration>(object)
                }
                "MutatingWebhookConfiguration" => {
                    round_trip::<admission::MutatingWebhookConfiguration>(object)
                }
                // Typed, but its schema numbers come back as floats (3660 -> 3660.0); the CRDs
                // are checked against the apiextensions rules in tests/crds.rs.
                "CustomResourceDefinition" => {
                    round_trip::<ext::CustomResourceDefinition>(object);
                    continue;
                }
                // cert-manager and Prometheus Operator kinds have no types here.
                _ => continue,
            };
            assert_eq!(
                &back, object,
                "{install}: {} {} has fields its kind does not define",
                object["kind"], object["metadata"]["name"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked} objects checked");
}
