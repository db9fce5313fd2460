//! The AI management system itself: one cluster-scoped object that states the AIMS's scope,
//! its objectives, and the controls the organisation implements once for every system in
//! scope (its AI policy, concern reporting, competence, incident communication, supplier and
//! customer terms).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ControlEntry;

/// The name the one AIManagementSystem of a cluster carries.
pub const ORGANISATION_NAME: &str = "aims";

/// The organisation's AI management system: scope, objectives and organisation-wide
/// controls. One per cluster, named `aims`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aims.io",
    version = "v1alpha1",
    kind = "AIManagementSystem",
    plural = "aimanagementsystems",
    singular = "aimanagementsystem",
    doc = "The organisation's AI management system: scope, objectives and the Annex A controls it implements once for every AI system in scope.",
    shortname = "aimsys",
    category = "aims",
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name == 'aims'").message("one AIManagementSystem per cluster, named aims")
)]
#[serde(rename_all = "camelCase")]
pub struct AIManagementSystemSpec {
    /// What the management system covers.
    pub scope: AimsScope,
    /// The AI objectives, each with a target and an owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<Objective>,
    /// Controls the organisation implements once for every AI system in scope. Only
    /// organisational controls (the catalog marks them: A.2.x, A.3.3, A.4.6, A.6.1.x,
    /// A.8.3 to A.8.5, A.9.3, A.10.2, A.10.4) may be bound here; the others stay per system.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["id"],
        "x-kubernetes-validations" = [{
            "rule": "self.all(c, c.id in ['A.2.2', 'A.2.3', 'A.2.4', 'A.3.3', 'A.4.6', 'A.6.1.2', 'A.6.1.3', 'A.8.3', 'A.8.4', 'A.8.5', 'A.9.3', 'A.10.2', 'A.10.4'])",
            "message": "only organisational controls (A.2.x, A.3.3, A.4.6, A.6.1.x, A.8.3 to A.8.5, A.9.3, A.10.2, A.10.4) are bound organisation-wide; bind the others per AI system in a ControlBinding"
        }]
    ))]
    pub controls: Vec<ControlEntry>,
}

/// The scope of the AI management system.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AimsScope {
    /// The scope in a few sentences, as the AIMS documentation states it.
    #[schemars(length(min = 1))]
    pub statement: String,
    /// Organisational units the AIMS covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisational_units: Vec<String>,
    /// Jurisdictions whose rules apply (e.g. EU, UK, US-CA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jurisdictions: Vec<String>,
    /// Namespaces whose AI systems are in scope; empty: every namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// What is outside the scope, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ScopeExclusion>,
}

/// Something left outside the AIMS's scope.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopeExclusion {
    /// A namespace, or one AI system as `namespace/name`.
    #[schemars(length(min = 1))]
    pub what: String,
    /// Why it is out of scope.
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// An AI objective.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Objective {
    /// What is aimed at, e.g. "High-risk systems with a current assessment".
    #[schemars(length(min = 1))]
    pub name: String,
    /// The target, e.g. "100 %" or "≤ 5 days".
    #[schemars(length(min = 1))]
    pub target: String,
    /// Who is accountable for it.
    #[schemars(length(min = 1))]
    pub owner: String,
    /// What the cluster measures for it, when it measures it: the SoA and `kubectl aims soa`
    /// then show the value now beside the target (a target such as `95 %` is compared with a
    /// share, one such as `≤ 2 days` or `24h` with a mean time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
}

/// An objective the cluster measures.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Measure {
    /// Share of High-risk AI systems whose deployed models a current approved assessment
    /// covers.
    HighRiskAssessed,
    /// Share of AI systems reviewed within their review interval.
    ReviewedOnSchedule,
    /// Share of AI systems that document their training data.
    TrainingDataDocumented,
    /// Mean time from an AI incident's occurrence to its detection, over the incidents
    /// recorded with both.
    MeanTimeToDetect,
    /// Mean time from an AI incident's detection to its resolution, over the resolved ones.
    MeanTimeToResolve,
    /// Share of nonconformity corrective actions with a due date that were closed by it, or
    /// are open and not yet due.
    CorrectiveActionsOnTime,
    /// Share of Limited- and High-risk AI systems (those with transparency duties) that
    /// state how the people using them are told they deal with AI (`spec.userDisclosure`).
    DisclosedToUsers,
}

impl Measure {
    /// Whether the measure is a time (lower is better) rather than a share (higher is).
    pub fn is_time(self) -> bool {
        matches!(self, Self::MeanTimeToDetect | Self::MeanTimeToResolve)
    }
}

impl AIManagementSystemSpec {
    /// Whether the AI system `name` in `namespace` is in scope. A namespace read from one of
    /// several clusters (`<context>/<namespace>`) is judged by its own name.
    pub fn covers(&self, namespace: &str, name: &str) -> bool {
        let namespace = namespace.rsplit('/').next().unwrap_or(namespace);
        let listed = self.scope.namespaces.is_empty()
            || self.scope.namespaces.iter().any(|n| n == namespace);
        let is_system = |what: &str| {
            what.split_once('/')
                .is_some_and(|(ns, n)| ns == namespace && n == name)
        };
        listed
            && !self
                .scope
                .excluded
                .iter()
                .any(|x| x.what == namespace || is_system(&x.what))
    }
}
