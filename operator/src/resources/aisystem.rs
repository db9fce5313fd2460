use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::EnforcementMode;

mod status;
pub use status::*;

/// One entry of the AI system register: what the system is, who is accountable for it, what
/// it is for, what it is built from and how it is watched. Workloads join a system through
/// the label `aims.io/system: <name>`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "AISystem",
    plural = "aisystems",
    singular = "aisystem",
    namespaced,
    derive = "PartialEq",
    doc = "An entry of the AI system register (ISO/IEC 42001): owner, purpose, risk tier, models, monitoring and oversight of one AI system.",
    // Boxed: the register holds every object of this kind without its status (the
    // reconciler keeps a fingerprint of it), and an empty box is 8 bytes, not the struct.
    status = "Box<AISystemStatus>",
    shortname = "aisys",
    category = "aims",
    printcolumn(name = "Owner", type_ = "string", json_path = ".spec.owner.name"),
    printcolumn(name = "Risk", type_ = "string", json_path = ".spec.riskTier"),
    printcolumn(
        name = "Stage",
        type_ = "string",
        json_path = ".spec.lifecycleStage",
        priority = "1"
    ),
    printcolumn(
        name = "Assessment",
        type_ = "string",
        json_path = ".status.summary.assessment"
    ),
    printcolumn(
        name = "Monitored",
        type_ = "string",
        json_path = ".status.summary.monitored"
    ),
    printcolumn(
        name = "Compliant",
        type_ = "string",
        json_path = ".status.summary.compliant"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AISystemSpec {
    /// Human-readable name shown in the register and the Statement of Applicability.
    #[schemars(length(min = 1, max = 200))]
    pub display_name: String,
    /// What the system does, in a few sentences an auditor can follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The person accountable for the system. Workloads are refused while no owner is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The business purpose the system serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The use the system is designed and validated for; uses outside it are misuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_use: Option<String>,
    /// The organisation's roles for this system (for example Provider and Deployer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<OrganisationRole>,
    /// AI techniques used, e.g. "gradient-boosted trees", "large language model".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub techniques: Vec<String>,
    /// Data the models were trained or fine-tuned on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_data: Vec<DataSource>,
    /// Data the system receives when it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_data: Vec<DataSource>,
    /// The kind of output the system produces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_type: Option<OutputType>,
    /// People and groups affected by the system's outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_parties: Vec<String>,
    /// Risk tier; it selects the controls a deployment must have (see the policy). Only a
    /// member of the policy's approver groups may lower it.
    pub risk_tier: RiskTier,
    /// Regulations that apply, e.g. "EU AI Act", "GDPR", "HIPAA".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regulations: Vec<String>,
    /// Where the system is in its life cycle. `Retired` systems cannot be deployed; only a
    /// member of the policy's approver groups may move a system out of `Retired`.
    pub lifecycle_stage: LifecycleStage,
    /// The models the system ships, one entry per name and version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name", "version"]))]
    pub models: Vec<Model>,
    /// How the running system is watched. Workloads are refused while it is not declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    // This and the next two are boxed: many systems leave them out, and the register holds
    // every system (an empty box is 8 bytes, not the struct).
    /// When and by whom people review or can override the system's outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_oversight: Option<Box<HumanOversight>>,
    /// How the people who use the system, or are subject to its outputs, are told they are
    /// dealing with AI (a transparency duty of Limited- and High-risk systems; the objective
    /// DisclosedToUsers counts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_disclosure: Option<Box<UserDisclosure>>,
    /// How often the register entry is reviewed, and when it last was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Box<ReviewSchedule>>,
    /// Overrides the namespace's enforcement mode for this system's workloads. A stricter
    /// mode always applies; a weaker one only once a member of the policy's platform-owner
    /// groups approved it (annotation `aims.io/relaxation`, recorded by the webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<EnforcementMode>,
    /// Require every container image to be pinned by digest (`image@sha256:...`). Defaults to
    /// the policy for the risk tier (on for High); `false` where the tier requires digests
    /// counts only once a member of the platform-owner groups approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_image_digest: Option<bool>,
}

/// The accountable owner of an AI system.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// Name of the accountable person.
    #[schemars(length(min = 1))]
    pub name: String,
    /// How to reach them, e.g. an e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The team that runs the system day to day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A role the organisation plays for an AI system.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum OrganisationRole {
    /// Develops the system and makes it available.
    Provider,
    /// Uses the system under its own authority.
    Deployer,
    /// Integrates the system into a larger product.
    Integrator,
    /// Supplies data to the system.
    DataProvider,
    /// Works with another party that holds one of the other roles.
    Partner,
}

/// A data set or data feed used by an AI system.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    /// Name of the data set or feed.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What it contains and how it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Reference to where its origin and processing are recorded (URI, ticket, datasheet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
}

/// The kind of output an AI system produces.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OutputType {
    /// Takes or executes a decision.
    Decision,
    /// Recommends an action to a person.
    Recommendation,
    /// Generates content (text, images, code).
    Generation,
    /// Assigns a class or a score.
    Classification,
}

/// Risk tier of an AI system, in the spirit of the EU AI Act's tiers.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum RiskTier {
    /// Minimal risk.
    Minimal,
    /// Limited risk: transparency duties apply.
    Limited,
    /// High risk: the full set of controls applies.
    High,
    /// Prohibited practice: never deployed.
    Prohibited,
}

impl RiskTier {
    /// Every tier, lowest first.
    pub const ALL: [RiskTier; 4] = [Self::Minimal, Self::Limited, Self::High, Self::Prohibited];

    /// Name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "Minimal",
            Self::Limited => "Limited",
            Self::High => "High",
            Self::Prohibited => "Prohibited",
        }
    }
}

/// Life-cycle stage of an AI system.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum LifecycleStage {
    /// Being designed.
    Design,
    /// Being built or trained.
    Development,
    /// Being verified and validated.
    Validation,
    /// Being rolled out.
    Deployment,
    /// In operation.
    Operation,
    /// Withdrawn; must not run.
    Retired,
}

impl LifecycleStage {
    /// Name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Design => "Design",
            Self::Development => "Development",
            Self::Validation => "Validation",
            Self::Deployment => "Deployment",
            Self::Operation => "Operation",
            Self::Retired => "Retired",
        }
    }
}

/// A model an AI system ships.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// Model name, as used in the label `aims.io/model` and in assessments.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Model version, as used in the label `aims.io/model-version` and in assessments.
    #[schemars(length(min = 1, max = 128))]
    pub version: String,
    /// Container image that serves the model, ideally pinned by digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Where the model artefact is stored (e.g. `s3://models/scorer/2.3.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_uri: Option<String>,
    /// Whether the model was built in-house or obtained from a third party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<ModelOrigin>,
    /// The supplier of a third-party model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Reference to the verification and validation report for this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_report: Option<String>,
}

/// Where a model comes from.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ModelOrigin {
    /// Built or trained by the organisation.
    InHouse,
    /// Obtained from a supplier (API, open weights, vendor).
    ThirdParty,
}

/// How a running AI system is watched.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Monitoring {
    /// Metrics collected about the system (names of Prometheus series or dashboards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// Signals that reveal data or concept drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift_signals: Vec<String>,
    /// Signals that reveal degraded performance (accuracy, latency, error rate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performance_signals: Vec<String>,
    /// Where alerts go (Alertmanager receiver, pager rotation, channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_route: Option<String>,
    /// Where the system's event and decision logs are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_log: Option<String>,
}

/// How people are told they deal with an AI system.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDisclosure {
    /// How, e.g. "notice in the chat window before the first answer" or "sentence in the
    /// decision letter".
    #[schemars(length(min = 1))]
    pub method: String,
    /// Where it can be seen: a link or a document reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// How people oversee an AI system's outputs.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HumanOversight {
    /// When a person reviews or can override an output, e.g. "every declined application".
    #[schemars(length(min = 1))]
    pub when: String,
    /// Who reviews (role or group).
    #[schemars(length(min = 1))]
    pub reviewers: String,
    /// How oversight is exercised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OversightMode>,
}

/// How oversight is exercised.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OversightMode {
    /// A person confirms each output before it takes effect.
    HumanInTheLoop,
    /// A person watches outputs and can intervene.
    HumanOnTheLoop,
    /// A person decides when and how the system is used at all.
    HumanInCommand,
}

/// How often the register entry is reviewed.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSchedule {
    /// Days between reviews.
    #[schemars(range(min = 1, max = 3660))]
    pub interval_days: u32,
    /// When the entry was last reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reviewed: Option<Timestamp>,
}
