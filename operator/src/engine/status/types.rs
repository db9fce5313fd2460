//! The condition types the operator writes, as constants so that shells and tests cannot
//! misspell them.

/// The system names an accountable owner.
pub const OWNER_ASSIGNED: &str = "OwnerAssigned";
/// Approved, current assessments cover every declared model version.
pub const ASSESSMENT_APPROVED: &str = "AssessmentApproved";
/// Monitoring is declared.
pub const MONITORING_CONFIGURED: &str = "MonitoringConfigured";
/// Controls the tier requires are implemented.
pub const CONTROLS_IMPLEMENTED: &str = "ControlsImplemented";
/// Everything above holds and the stage allows running.
pub const COMPLIANT: &str = "Compliant";
/// No value of the system weakens the gate without an approval (such values count for
/// nothing, so this condition does not decide `Compliant`).
pub const RELAXATIONS_APPROVED: &str = "RelaxationsApproved";
/// `True` when the register entry is past its review date (it decides `Compliant` only
/// where the policy gates on it).
pub const REVIEW_OVERDUE: &str = "ReviewOverdue";
/// `True` when a nonconformity's corrective action is past its due date and the record
/// is not closed.
pub const ACTION_OVERDUE: &str = "ActionOverdue";
/// Condition types named for the problem, as Kubernetes does for `MemoryPressure`: the
/// status written is `True` when what they ask for is not met.
pub const NAMED_FOR_PROBLEM: [&str; 4] = [
    REVIEW_OVERDUE,
    ACTION_OVERDUE,
    REPORT_OVERDUE,
    OPEN_INCIDENTS,
];
/// `True` when a serious incident's report to the authority is past its deadline (or was
/// made after it).
pub const REPORT_OVERDUE: &str = "ReportOverdue";
/// `True` while an AI incident of the system is open (it does not decide `Compliant`).
pub const OPEN_INCIDENTS: &str = "OpenIncidents";
/// An assessment is approved and unchanged since.
pub const APPROVED: &str = "Approved";
/// An assessment is within its validity.
pub const CURRENT: &str = "Current";
/// Every control an assessment's risk treatment names is implemented for the system.
pub const RISK_CONTROLS_IN_PLACE: &str = "RiskControlsInPlace";
/// Every control of a binding is met.
pub const VERIFIED: &str = "Verified";
