//! Organisation-wide policy the engine applies: which controls each risk tier needs before a
//! deployment, the default enforcement mode, who approves. Defaults are sensible for a first
//! install; a YAML file (`--policy`) overrides any of them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::workload::serving::ModelServing;
use crate::resources::{EnforcementMode, LifecycleStage, RiskTier};

/// Policy the engine evaluates against.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Policy {
    /// Annex A controls a ControlBinding must implement before a system of the tier deploys.
    pub required_controls: BTreeMap<RiskTier, Vec<String>>,
    /// Mode for a workload of a registered system when neither its namespace nor its
    /// AISystem chooses one.
    pub default_mode: EnforcementMode,
    /// Life-cycle stages in which workloads are refused.
    pub forbidden_stages: Vec<LifecycleStage>,
    /// Risk tiers whose images must be pinned by digest unless the AISystem says otherwise.
    pub digest_required_tiers: Vec<RiskTier>,
    /// Validity of an approval when the assessment sets neither validUntil nor validityDays.
    pub default_validity_days: u32,
    /// AISystem fields (as written in `spec`) an approval binds: change one after approval
    /// and the assessment no longer covers the system until it is approved again.
    pub material_fields: Vec<String>,
    /// Risk tiers whose workloads are refused while a control the covering assessment's risk
    /// treatment names is not implemented for the system (AIMS-011); for other tiers it only
    /// shows in the assessment's status.
    pub risk_controls_gate_tiers: Vec<RiskTier>,
    /// A risk treated by `Accept` whose rating (likelihood × severity, 1 to 25) is above this
    /// counts only once a member of `riskAcceptanceGroups` accepted it; until then no
    /// approval of its assessment counts.
    pub risk_acceptance_threshold: u8,
    /// Groups whose members may accept high-rated risks (risk owners).
    pub risk_acceptance_groups: Vec<String>,
    /// Refuse workloads of a system whose register entry is overdue for review (AIMS-010);
    /// otherwise an overdue review only shows (condition ReviewOverdue, register, SoA).
    pub gate_on_overdue_review: bool,
    /// Groups whose members may approve assessments (named in fix messages).
    pub approver_groups: Vec<String>,
    /// Groups whose members may let an AISystem ask less than its namespace and tier do: an
    /// enforcement mode weaker than the namespace's, unpinned images where the tier requires
    /// digests. From anyone else such values are recorded but count for nothing.
    pub platform_owner_groups: Vec<String>,
    /// Namespaces never judged (the operator's own is added at run time).
    pub exempt_namespaces: Vec<String>,
    /// Groups whose members may invoke break-glass on a workload; from anyone else the
    /// break-glass annotations change nothing.
    pub break_glass_groups: Vec<String>,
    /// Groups whose members may record internal audits (InternalAudit): the audit
    /// programme's auditors.
    pub internal_auditor_groups: Vec<String>,
    /// Groups whose members may record management reviews (ManagementReview): top
    /// management and its secretariat.
    pub management_review_groups: Vec<String>,
    /// Longest break-glass window, in hours, that is honoured.
    pub max_break_glass_hours: u32,
    /// Where ServiceMonitors / PodMonitors exist (Prometheus Operator), require one tied to
    /// the AI system (label `aims.io/system`) for its monitoring to count as in place.
    pub require_scrape_monitor: bool,
    /// Users whose Pods, ReplicaSets and Jobs are judged at their controller instead (the
    /// built-in controllers); a name ending in `*` is a prefix. Anyone else who creates an
    /// object with a controller owner reference is judged on the object itself, so a forged
    /// owner reference is no way around the rules.
    pub trusted_controllers: Vec<String>,
    /// What makes an unlabelled workload in an opted-in namespace look like model serving
    /// (serving images, ports, accelerators, model arguments): it is then refused until it
    /// belongs to an AI system, and `discover` lists it.
    pub model_serving: ModelServing,
}

impl Default for Policy {
    fn default() -> Self {
        let ids = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Self {
            required_controls: BTreeMap::from([
                (RiskTier::Minimal, Vec::new()),
                (RiskTier::Limited, ids(&["A.8.2"])),
                (
                    RiskTier::High,
                    ids(&["A.5.4", "A.6.2.4", "A.6.2.8", "A.8.2", "A.9.2"]),
                ),
                (RiskTier::Prohibited, Vec::new()),
            ]),
            default_mode: EnforcementMode::Enforce,
            forbidden_stages: vec![LifecycleStage::Retired],
            digest_required_tiers: vec![RiskTier::High],
            default_validity_days: 365,
            material_fields: ids(&[
                "purpose",
                "intendedUse",
                "riskTier",
                "outputType",
                "affectedParties",
                "techniques",
                "trainingData",
                "inputData",
                "roles",
                "lifecycleStage",
            ]),
            // Empty: gating would refuse running High-risk systems at upgrade (no flag day);
            // the assessment's status shows every gap from the start.
            risk_controls_gate_tiers: Vec::new(),
            risk_acceptance_threshold: 12,
            risk_acceptance_groups: ids(&["ai-risk-owners"]),
            gate_on_overdue_review: false,
            approver_groups: vec!["ai-approvers".to_string()],
            platform_owner_groups: ids(&["aims-platform-owners"]),
            exempt_namespaces: ids(&crate::registration::NEVER_JUDGED),
            break_glass_groups: ids(&["aims-break-glass"]),
            internal_auditor_groups: ids(&["aims-internal-auditors"]),
            management_review_groups: ids(&["aims-management-reviewers"]),
            max_break_glass_hours: 24,
            require_scrape_monitor: true,
            trusted_controllers: ids(&crate::registration::BUILT_IN_CONTROLLERS),
            model_serving: ModelServing::default(),
        }
    }
}

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file is not a valid policy.
    #[error("policy file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl Policy {
    /// Reads a policy from a YAML file; fields left out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, PolicyError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: display.clone(),
            source,
        })?;
        let policy: Policy = serde_saphyr::from_str(&text).map_err(|e| PolicyError::Invalid {
            path: display.clone(),
            message: e.to_string(),
        })?;
        policy.validate().map_err(|message| PolicyError::Invalid {
            path: display,
            message,
        })?;
        Ok(policy)
    }

    /// Checks that every control named exists in the catalog and every material field is a
    /// field of an AISystem's spec.
    pub fn validate(&self) -> Result<(), String> {
        for field in &self.material_fields {
            if !crate::resources::spec_fields().contains(field) {
                return Err(format!(
                    "materialFields: {field} is not a field of an AISystem's spec (e.g. intendedUse, riskTier)"
                ));
            }
        }
        for (tier, ids) in &self.required_controls {
            for id in ids {
                if crate::catalog::find(id).is_none() {
                    return Err(format!(
                        "requiredControls.{}: {id} is not an Annex A control ID (e.g. A.6.2.6)",
                        tier.as_str()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The policy with the operator's own namespace exempt as well: the webhook never judges
    /// writes there (the chart keeps it out of every webhook), so approval and exclusion
    /// stamps in it prove nothing, whichever shell reads them.
    pub fn exempting(mut self, operator_namespace: &str) -> Self {
        if !self
            .exempt_namespaces
            .iter()
            .any(|n| n == operator_namespace)
        {
            self.exempt_namespaces.push(operator_namespace.to_string());
        }
        self
    }

    /// Controls required for a tier.
    pub fn required_for(&self, tier: RiskTier) -> &[String] {
        self.required_controls
            .get(&tier)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether a user with `groups` may approve assessments and accept exclusions.
    pub fn is_approver(&self, groups: &[impl AsRef<str>]) -> bool {
        in_any(groups, &self.approver_groups)
    }

    /// Whether a user with `groups` may relax enforcement mode and image pinning.
    pub fn is_platform_owner(&self, groups: &[impl AsRef<str>]) -> bool {
        in_any(groups, &self.platform_owner_groups)
    }

    /// Whether a user with `groups` may accept high-rated risks.
    pub fn may_accept_risks(&self, groups: &[impl AsRef<str>]) -> bool {
        in_any(groups, &self.risk_acceptance_groups)
    }

    /// The risk-acceptance groups as one phrase for messages.
    pub fn risk_owners_phrase(&self) -> String {
        members_phrase(&self.risk_acceptance_groups, "a risk owner")
    }

    /// Whether `user` is one of the controllers whose objects are judged at their owner.
    pub fn is_trusted_controller(&self, user: &str) -> bool {
        self.trusted_controllers
            .iter()
            .any(|trusted| match trusted.strip_suffix('*') {
                Some(prefix) => user.starts_with(prefix),
                None => user == trusted,
            })
    }

    /// Whether a user with `groups` may invoke break-glass.
    pub fn may_break_glass(&self, groups: &[impl AsRef<str>]) -> bool {
        in_any(groups, &self.break_glass_groups)
    }

    /// The approver groups as one phrase for messages, e.g. `a member of ai-approvers`.
    pub fn approvers_phrase(&self) -> String {
        members_phrase(&self.approver_groups, "an approver")
    }

    /// Who may write records of kind `kind` (InternalAudit, ManagementReview): `None` when
    /// anyone RBAC lets write it may, else the groups as a phrase for the refusal.
    pub fn record_writers(&self, kind: &str, groups: &[impl AsRef<str>]) -> Option<String> {
        let (of, nobody) = match kind {
            "InternalAudit" => (&self.internal_auditor_groups, "an internal auditor"),
            "ManagementReview" => (&self.management_review_groups, "a management reviewer"),
            _ => return None,
        };
        (!in_any(groups, of)).then(|| members_phrase(of, nobody))
    }

    /// The platform-owner groups as one phrase for messages.
    pub fn platform_owners_phrase(&self) -> String {
        members_phrase(&self.platform_owner_groups, "a platform owner")
    }
}

/// Whether one of `groups` is one of `of`.
fn in_any(groups: &[impl AsRef<str>], of: &[String]) -> bool {
    groups.iter().any(|g| of.iter().any(|o| o == g.as_ref()))
}

fn members_phrase(groups: &[String], nobody: &str) -> String {
    if groups.is_empty() {
        nobody.to_string()
    } else {
        format!("a member of {}", groups.join(" or "))
    }
}
