//! The Annex A control catalog: all 38 controls of ISO/IEC 42001 Annex A by ID, with short
//! titles in our own words (the standard's text is not reproduced), how each can be checked
//! in a cluster, and indicative links to the EU AI Act and the NIST AI RMF.

mod annex_a;
pub mod regulations;

pub use annex_a::*;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;

/// How a control's implementation can be established.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CheckKind {
    /// Checked at admission: a failing control can refuse a deployment.
    DeploymentGate,
    /// Checked automatically in the cluster for presence or freshness.
    Automated,
    /// Organisational: carried by evidence documents with review dates.
    Manual,
}

impl CheckKind {
    /// Name as shown in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeploymentGate => "DeploymentGate",
            Self::Automated => "Automated",
            Self::Manual => "Manual",
        }
    }
}

/// The NIST AI RMF core function a control mainly supports.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum NistFunction {
    /// Culture, policies, accountability.
    Govern,
    /// Context and risk identification.
    Map,
    /// Analysis, assessment, tracking.
    Measure,
    /// Prioritising and acting on risks.
    Manage,
}

/// Automated checks the engine knows how to run on an AISystem and its assessments.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum AutoCheck {
    /// The system names an accountable owner.
    OwnerAssigned,
    /// Description, purpose and models are documented.
    SystemDocumented,
    /// Training data sources are declared.
    TrainingDataDeclared,
    /// Every training data source references its provenance.
    DataProvenanceRecorded,
    /// An approved, current assessment covers every declared model version.
    AssessmentCurrent,
    /// The covering assessment records risks and impacts.
    AssessmentDocumented,
    /// The covering assessment records impacts on individuals or groups.
    IndividualImpactsAssessed,
    /// The covering assessment records societal impacts.
    SocietalImpactsAssessed,
    /// Every declared model has a validation report reference.
    ModelsValidated,
    /// Every declared model image is pinned by digest (or stored at a fixed URI).
    ModelsPinned,
    /// Monitoring with an alert route is declared.
    MonitoringDeclared,
    /// An event or decision log location is declared.
    EventLogDeclared,
    /// Intended use is declared.
    IntendedUseDeclared,
    /// Human oversight (when and who) is declared.
    HumanOversightDeclared,
    /// Every third-party model names its supplier.
    SuppliersIdentified,
}

/// One Annex A control.
#[derive(Serialize, Clone, Copy, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    /// Control ID, e.g. `A.6.2.6`.
    pub id: &'static str,
    /// Short title in our own words.
    pub title: &'static str,
    /// The objective group (A.2 … A.10) in our own words.
    pub group: &'static str,
    /// How it can be checked.
    pub check: CheckKind,
    /// The automated check the engine runs, when there is one.
    pub auto_check: Option<AutoCheck>,
    /// Indicative EU AI Act article(s).
    pub eu_ai_act: Option<&'static str>,
    /// Indicative NIST AI RMF function.
    pub nist_ai_rmf: NistFunction,
}

const POLICY: &str = "A.2 AI policy";
const ORGANISATION: &str = "A.3 Internal organisation";
const RESOURCES: &str = "A.4 Resources";
const IMPACT: &str = "A.5 Impact assessment";
const LIFECYCLE: &str = "A.6 Life cycle";
const DATA: &str = "A.7 Data";
const INFORMATION: &str = "A.8 Information for interested parties";
const USE: &str = "A.9 Use";
const THIRD_PARTIES: &str = "A.10 Third parties and customers";

const fn control(
    id: &'static str,
    title: &'static str,
    group: &'static str,
    check: CheckKind,
    auto_check: Option<AutoCheck>,
    eu_ai_act: Option<&'static str>,
    nist_ai_rmf: NistFunction,
) -> Control {
    Control {
        id,
        title,
        group,
        check,
        auto_check,
        eu_ai_act,
        nist_ai_rmf,
    }
}

/// Controls an organisation implements once, for every AI system in its AIMS's scope: they
/// may be bound in the AIManagementSystem. The others are bound per system.
pub const ORGANISATIONAL: &[&str] = &[
    "A.2.2", "A.2.3", "A.2.4", "A.3.3", "A.4.6", "A.6.1.2", "A.6.1.3", "A.8.3", "A.8.4", "A.8.5",
    "A.9.3", "A.10.2", "A.10.4",
];

/// Whether control `id` is organisational (see [`ORGANISATIONAL`]).
pub fn is_organisational(id: &str) -> bool {
    ORGANISATIONAL.contains(&id)
}

/// Looks a control up by ID (exact match, e.g. `A.6.2.6`). Hashed: the admission gate looks
/// up every control a system's bindings name, on every review.
pub fn find(id: &str) -> Option<&'static Control> {
    type ById =
        std::collections::HashMap<&'static str, &'static Control, foldhash::fast::FixedState>;
    static BY_ID: std::sync::LazyLock<ById> =
        std::sync::LazyLock::new(|| CONTROLS.iter().map(|c| (c.id, c)).collect());
    BY_ID.get(id).copied()
}

/// JSON schema for a control ID field: a string restricted to the 38 IDs, so the API server
/// refuses a typo such as `A.6.2.9` at `kubectl apply`.
pub fn control_id_schema(_: &mut SchemaGenerator) -> Schema {
    let ids: Vec<&str> = CONTROLS.iter().map(|c| c.id).collect();
    json_schema!({
        "type": "string",
        "description": "Annex A control ID, e.g. `A.6.2.6`.",
        "enum": ids,
    })
}
