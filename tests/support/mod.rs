//! Chainable fixture builders for AIMS objects and workloads.
#![allow(dead_code)]

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use aims_operator::engine::assessment::content_hash;
use aims_operator::resources::*;

pub const NS: &str = "ml";

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

pub fn now() -> Timestamp {
    ts("2026-11-23T12:00:00Z")
}

pub fn digest(n: u8) -> String {
    format!("sha256:{n:064x}")
}

pub fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NS.into()),
        ..Default::default()
    }
}

/// A compliant minimal-risk system with one model `m 1.0.0`.
pub fn system(name: &str) -> AISystem {
    AISystem::new(
        name,
        AISystemSpec {
            display_name: name.into(),
            description: Some("test system".into()),
            owner: Some(Owner {
                name: "Owner".into(),
                contact: None,
                team: None,
            }),
            purpose: Some("testing".into()),
            intended_use: Some("tests".into()),
            roles: vec![],
            techniques: vec![],
            training_data: vec![],
            input_data: vec![],
            output_type: None,
            affected_parties: vec![],
            risk_tier: RiskTier::Minimal,
            regulations: vec![],
            lifecycle_stage: LifecycleStage::Operation,
            models: vec![Model {
                name: "m".into(),
                version: "1.0.0".into(),
                image: Some(format!("reg/m@{}", digest(1))),
                storage_uri: None,
                origin: None,
                supplier: None,
                validation_report: None,
            }],
            monitoring: Some(Monitoring {
                metrics: vec!["requests_total".into()],
                alert_route: Some("oncall".into()),
                ..Default::default()
            }),
            human_oversight: None,
            user_disclosure: None,
            review: None,
            enforcement: None,
            require_image_digest: None,
        },
    )
    .in_ns()
}

pub trait InNs {
    fn in_ns(self) -> Self;
}
impl InNs for AISystem {
    fn in_ns(mut self) -> Self {
        self.metadata.namespace = Some(NS.into());
        self
    }
}

pub trait SystemExt: Sized {
    fn owned_by(self, owner: Option<&str>) -> Self;
    fn tier(self, tier: RiskTier) -> Self;
    fn stage(self, stage: LifecycleStage) -> Self;
    fn without_monitoring(self) -> Self;
    fn mode(self, mode: EnforcementMode) -> Self;
    fn with_model(self, name: &str, version: &str, image: Option<&str>) -> Self;
}

impl SystemExt for AISystem {
    fn owned_by(mut self, owner: Option<&str>) -> Self {
        self.spec.owner = owner.map(|o| Owner {
            name: o.into(),
            contact: None,
            team: None,
        });
        self
    }
    fn tier(mut self, tier: RiskTier) -> Self {
        self.spec.risk_tier = tier;
        self
    }
    fn stage(mut self, stage: LifecycleStage) -> Self {
        self.spec.lifecycle_stage = stage;
        self
    }
    fn without_monitoring(mut self) -> Self {
        self.spec.monitoring = None;
        self
    }
    fn mode(mut self, mode: EnforcementMode) -> Self {
        self.spec.enforcement = Some(mode);
        self
    }
    fn with_model(mut self, name: &str, version: &str, image: Option<&str>) -> Self {
        self.spec.models.push(Model {
            name: name.into(),
            version: version.into(),
            image: image.map(Into::into),
            storage_uri: None,
            origin: None,
            supplier: None,
            validation_report: None,
        });
        self
    }
}

/// A complete assessment of `system` covering `versions`, not yet decided.
pub fn assessment(name: &str, system: &str, versions: &[&str]) -> ImpactAssessment {
    let mut a = ImpactAssessment::new(
        name,
        ImpactAssessmentSpec {
            system_ref: system.into(),
            summary: None,
            models: versions
                .iter()
                .map(|v| CoveredModel {
                    name: None,
                    version: (*v).into(),
                    digest: None,
                })
                .collect(),
            purpose: None,
            intended_use: None,
            affected_populations: vec![],
            impacts: vec![Impact {
                area: ImpactArea::Individuals,
                direction: ImpactDirection::Negative,
                description: "harm".into(),
            }],
            risks: vec![Risk {
                id: "R1".into(),
                description: "risk".into(),
                likelihood: 2,
                severity: 3,
                treatment: Treatment::Mitigate,
                controls: vec![],
                residual_likelihood: None,
                residual_severity: None,
                accepted_by: None,
            }],
            residual_risk_acceptance: None,
            valid_until: None,
            validity_days: None,
            approval: None,
        },
    );
    a.metadata.namespace = Some(NS.into());
    a
}

pub trait AssessmentExt: Sized {
    /// Approved by `by` at `at`, stamped with the correct content hash.
    fn approved_by(self, by: &str, at: &str) -> Self;
    fn authored_by(self, author: &str) -> Self;
    fn valid_until(self, until: &str) -> Self;
}

impl AssessmentExt for ImpactAssessment {
    fn approved_by(mut self, by: &str, at: &str) -> Self {
        let hash = content_hash(&self.spec);
        self.spec.approval = Some(Approval {
            decision: Decision::Approved,
            comment: None,
            decided_by: Some(by.into()),
            decided_at: Some(ts(at)),
            content_hash: Some(hash),
            system_fields: Default::default(),
        });
        self
    }
    fn authored_by(mut self, author: &str) -> Self {
        self.metadata
            .annotations
            .get_or_insert_default()
            .insert(AUTHOR_ANNOTATION.into(), author.into());
        self
    }
    fn valid_until(mut self, until: &str) -> Self {
        // Part of the assessed content: set it before approving.
        self.spec.valid_until = Some(ts(until));
        self
    }
}

/// A binding of `systems` with every control in `ids` implemented.
pub fn binding(name: &str, systems: &[&str], ids: &[&str]) -> ControlBinding {
    let mut b = ControlBinding::new(
        name,
        ControlBindingSpec {
            systems: systems.iter().map(|s| (*s).into()).collect(),
            all_systems: None,
            controls: ids
                .iter()
                .map(|id| ControlEntry {
                    id: (*id).into(),
                    applicability: Applicability::Applicable,
                    justification: None,
                    exclusion: None,
                    implementation: Some(Implementation {
                        description: "done".into(),
                        status: ImplementationStatus::Implemented,
                    }),
                    evidence: vec![],
                })
                .collect(),
        },
    );
    b.metadata.namespace = Some(NS.into());
    b
}

/// Control `id` excluded ("no suppliers") with the exclusion accepted by `by`.
pub fn accepted_exclusion(id: &str, by: &str) -> ControlEntry {
    ControlEntry {
        id: id.into(),
        applicability: Applicability::Excluded,
        justification: Some("no suppliers".into()),
        exclusion: Some(Box::new(Exclusion {
            accepted_by: Some(by.into()),
            until: None,
        })),
        implementation: None,
        evidence: vec![],
    }
}

/// A Deployment of `system` (None: unlabelled) with model version label `version`.
pub fn deployment(name: &str, system: Option<&str>, version: Option<&str>, image: &str) -> Value {
    let mut labels = serde_json::Map::new();
    if let Some(s) = system {
        labels.insert(SYSTEM_LABEL.into(), json!(s));
    }
    let mut template_labels = labels.clone();
    if let Some(v) = version {
        template_labels.insert(MODEL_VERSION_LABEL.into(), json!(v));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "namespace": NS, "labels": labels },
        "spec": { "template": {
            "metadata": { "labels": template_labels },
            "spec": { "containers": [{ "name": "server", "image": image }] }
        }}
    })
}

/// The image of model `m 1.0.0` in [`system`].
pub fn model_image() -> String {
    format!("reg/m@{}", digest(1))
}

/// Where the recorded AdmissionReviews are: the workspace's shared fixtures when this
/// checkout sits beside them, else the copy kept in `tests/fixtures` (a clean CI checkout).
pub fn fixtures_dir() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../../shared/fixtures/admission-reviews");
    if shared.is_dir() {
        shared
    } else {
        manifest.join("../tests/fixtures/admission-reviews")
    }
}

/// Loads a recorded AdmissionReview.
pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// The register the fixtures were recorded against: `credit-scoring` covering 2.3.x.
pub fn lending() -> aims_operator::engine::Snapshot {
    let mut s = aims_operator::engine::Snapshot::new();
    let mut sys = system("credit-scoring");
    sys.metadata.namespace = Some("lending".into());
    sys.spec.models[0] = Model {
        name: "scorer".into(),
        version: "2.3.1".into(),
        image: Some(format!("registry.example/credit-scorer@{}", digest(1))),
        storage_uri: None,
        origin: None,
        supplier: None,
        validation_report: None,
    };
    s.add_system(sys);
    let mut a = assessment("credit-scoring-2026q3", "credit-scoring", &["2.3.x"]);
    a.metadata.namespace = Some("lending".into());
    s.add_assessment(a.approved_by("bob", "2026-10-01T00:00:00Z"));
    s.add_namespace(
        "lending",
        std::collections::BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())]),
    );
    s
}

/// `system` carrying the relaxation record `stamp`, as the webhook writes it.
pub fn with_relaxation(mut system: AISystem, stamp: &Relaxation) -> AISystem {
    system
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(RELAXATION_ANNOTATION.into(), stamp.to_annotation());
    system
}

/// `system` with its weaker `mode` approved by platform owner pat.
pub fn mode_approved_by_pat(system: AISystem, mode: EnforcementMode) -> AISystem {
    let stamp = Relaxation {
        enforcement: Some(Approved::new(mode, "pat", now())),
        ..Default::default()
    };
    with_relaxation(system, &stamp)
}

/// The objective of a SoA or review's inputs (JSON) whose name contains `name`.
pub fn objective(document: &Value, name: &str) -> Value {
    document["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"].as_str().unwrap().contains(name))
        .unwrap()
        .clone()
}

/// Runs `aims-operator` with `args` from the repository's root.
pub fn aims_operator(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .expect("aims-operator runs")
}

/// Runs `aims-operator`, which must succeed, and reads the JSON it prints.
pub fn aims_operator_json(args: &[&str]) -> Value {
    let out = aims_operator(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The cluster metrics as Prometheus scrapes them, worked out from `snapshot` at `now`.
pub fn metrics_text(snapshot: &aims_operator::engine::Snapshot, now: Timestamp) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = aims_operator::metrics::ClusterMetrics::register(&mut registry);
    metrics.refresh(snapshot, &aims_operator::policy::Policy::default(), now);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text
}
