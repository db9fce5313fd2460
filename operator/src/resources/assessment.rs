use jiff::Timestamp;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, SystemFields};

/// The impact and risk assessment of an AI system for the model versions it covers. Only an
/// approved, unexpired assessment that covers the deployed model version lets a workload run.
/// Editing the assessed content after approval voids the approval.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "ImpactAssessment",
    plural = "impactassessments",
    singular = "impactassessment",
    namespaced,
    derive = "PartialEq",
    doc = "An AI system impact and risk assessment; its approval lets the covered model versions be deployed.",
    selectable = ".spec.systemRef",
    // Boxed: the register holds every object of this kind without its status (the
    // reconciler keeps a fingerprint of it), and an empty box is 8 bytes, not the struct.
    status = "Box<ImpactAssessmentStatus>",
    shortname = "aia",
    category = "aims",
    printcolumn(name = "System", type_ = "string", json_path = ".spec.systemRef"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Approver", type_ = "string", json_path = ".spec.approval.decidedBy"),
    printcolumn(name = "Expires", type_ = "string", json_path = ".status.expiresAt"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.risks) || !self.spec.risks.exists(r, r.treatment == 'Accept') || (has(self.spec.residualRiskAcceptance) && size(self.spec.residualRiskAcceptance) > 0)").message("a risk treated by acceptance needs spec.residualRiskAcceptance: say why the residual risk is acceptable")
)]
#[serde(rename_all = "camelCase")]
pub struct ImpactAssessmentSpec {
    /// Name of the AISystem (same namespace) this assessment is about.
    #[schemars(length(min = 1, max = 253))]
    pub system_ref: String,
    /// One-paragraph summary of the assessment's conclusion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Model versions the assessment covers. A version may end in `.x` or `.*` to cover a
    /// range, e.g. `2.3.x`. A new model version outside it needs a new or extended assessment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<CoveredModel>,
    /// Purpose of the system as assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Intended use as assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_use: Option<String>,
    /// Populations affected by the system.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_populations: Vec<String>,
    /// Impacts by area, positive and negative.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impacts: Vec<Impact>,
    /// Risks identified, each with its rating and treatment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub risks: Vec<Risk>,
    /// Why the residual risk that remains after treatment is acceptable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_risk_acceptance: Option<String>,
    /// The assessment expires at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// The assessment expires this many days after approval (the policy's default applies
    /// when neither this nor validUntil is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3660))]
    pub validity_days: Option<u32>,
    /// The approval decision. Set `decision` only; the webhook stamps `decidedBy`,
    /// `decidedAt`, `contentHash` and `systemFields` from the authenticated request and the
    /// registered system, and refuses forged stamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// A model version (or range) covered by an assessment.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoveredModel {
    /// Model name as in the AISystem's `spec.models`; empty covers any model of the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exact version (`2.3.1`) or a range ending in `.x` / `.*` (`2.3.x`).
    #[schemars(length(min = 1, max = 128))]
    pub version: String,
    /// Image digest that was assessed (`sha256:...`); when set, deployments must run exactly
    /// this digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[a-f0-9]{64}$"))]
    pub digest: Option<String>,
}

/// An impact of the system on one area.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// Who or what is affected.
    pub area: ImpactArea,
    /// Whether the impact is beneficial or harmful.
    pub direction: ImpactDirection,
    /// The impact in a sentence or two.
    #[schemars(length(min = 1))]
    pub description: String,
}

/// Area an impact falls on.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ImpactArea {
    /// Individual people.
    Individuals,
    /// Groups of people.
    Groups,
    /// Society at large.
    Society,
    /// The organisation itself.
    Organisation,
    /// The natural environment.
    Environment,
}

/// Whether an impact is beneficial or harmful.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ImpactDirection {
    /// Beneficial.
    Positive,
    /// Harmful.
    Negative,
}

/// A risk, its rating and its treatment.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    /// Short identifier, unique within the assessment (e.g. `R1`).
    #[schemars(length(min = 1, max = 64))]
    pub id: String,
    /// The risk in a sentence.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Likelihood before treatment, 1 (rare) to 5 (almost certain).
    #[schemars(range(min = 1, max = 5))]
    pub likelihood: u8,
    /// Severity before treatment, 1 (negligible) to 5 (critical).
    #[schemars(range(min = 1, max = 5))]
    pub severity: u8,
    /// How the risk is treated.
    pub treatment: Treatment,
    /// Annex A control IDs applied to treat the risk, e.g. `A.6.2.4`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// Likelihood after treatment, 1 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub residual_likelihood: Option<u8>,
    /// Severity after treatment, 1 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub residual_severity: Option<u8>,
    /// Who accepted the risk, recorded by the webhook from the authenticated user. Needed
    /// when the risk is treated by `Accept` and its rating (likelihood × severity) is above
    /// the policy's `riskAcceptanceThreshold`: a member of the policy's
    /// `riskAcceptanceGroups` who did not write the assessment sets it to their own name.
    /// Not part of the assessed content: accepting a risk does not void an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
}

/// Risk treatment option.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Treatment {
    /// Reduce likelihood or severity with controls.
    Mitigate,
    /// Accept the risk as it is (needs a rationale).
    Accept,
    /// Share the risk with another party (insurance, contract).
    Transfer,
    /// Stop the activity that causes the risk.
    Avoid,
}

/// An approval decision and the stamps the webhook records with it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// `Approved` or `Rejected`.
    pub decision: Decision,
    /// The approver's comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Set by the webhook: the authenticated user who made the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Set by the webhook: when the decision was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// Set by the webhook: SHA-256 of the assessed content at decision time. The approval is
    /// void when the content no longer matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Set by the webhook: the first 64 bits of the SHA-256 of each material field of the
    /// AISystem (the policy's `materialFields`, e.g. `riskTier`, `intendedUse`) at decision
    /// time. The approval no longer covers the system once one of them changes; cosmetic
    /// fields are not recorded.
    #[serde(default, skip_serializing_if = "SystemFields::is_empty")]
    pub system_fields: SystemFields,
}

/// An approval decision.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Decision {
    /// The assessment is accepted.
    Approved,
    /// The assessment is sent back.
    Rejected,
}

/// Phase of an impact assessment.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum AssessmentPhase {
    /// Content is incomplete.
    Draft,
    /// Complete and waiting for a decision.
    PendingApproval,
    /// Approved, current and unchanged since approval.
    Approved,
    /// Sent back by an approver.
    Rejected,
    /// Was approved, but its validity has ended.
    Expired,
    /// Was approved, but the approval no longer stands (content changed, self-approval,
    /// missing stamps).
    Voided,
}

impl AssessmentPhase {
    /// Name as shown in status and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::PendingApproval => "PendingApproval",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::Expired => "Expired",
            Self::Voided => "Voided",
        }
    }
}

/// Observed state of an impact assessment, kept by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpactAssessmentStatus {
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AssessmentPhase>,
    /// When the approval ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// SHA-256 of the assessed content as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Standard conditions: Approved, Current and RiskControlsInPlace (every control a risk
    /// treatment names is implemented for the system).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
