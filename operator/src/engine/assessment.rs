//! Impact assessment logic: the content hash an approval is bound to, the phase, expiry and
//! which model versions an assessment covers.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::policy::Policy;
use crate::resources::{
    AISystemSpec, AssessmentPhase, CoveredModel, ImpactAssessment, ImpactAssessmentSpec,
    SystemFields,
};

mod phase;
pub use phase::author_decides_phase;
use phase::phase_reason;

/// SHA-256 of the assessed content: the whole spec except the approval block, serialised
/// canonically. Any edit to what was assessed changes it and voids the approval.
pub fn content_hash(spec: &ImpactAssessmentSpec) -> String {
    ContentHash::of(spec).to_string()
}

/// The hash of an assessment's assessed content as 32 bytes, written `sha256:<hex>` as an
/// approval records it. The register keeps one beside every assessment: 32 bytes inline
/// where the written form took an 80-byte allocation, 10,000 times over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `spec`'s assessed content (see [`content_hash`]).
    pub fn of(spec: &ImpactAssessmentSpec) -> Self {
        let mut assessed = ImpactAssessmentSpec {
            approval: None,
            ..spec.clone()
        };
        // Who accepted a risk is a decision about the content, not part of it.
        for risk in &mut assessed.risks {
            risk.accepted_by = None;
        }
        // Serialising a plain struct cannot fail; an empty byte string would still hash to a
        // value no approval carries, so a failure can only void, never approve.
        let bytes = serde_json::to_vec(&assessed).unwrap_or_default();
        Self(Sha256::digest(&bytes).into())
    }

    /// Whether `recorded` (an approval's `contentHash`) names this hash, written exactly as
    /// [`content_hash`] writes it. Compared without writing this one out: every decision
    /// compares one per approved assessment.
    pub fn is_recorded_as(&self, recorded: &str) -> bool {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        recorded.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .as_bytes()
                    .chunks_exact(2)
                    .zip(self.0)
                    .all(|(pair, byte)| {
                        pair == [
                            DIGITS[usize::from(byte >> 4)],
                            DIGITS[usize::from(byte & 15)],
                        ]
                    })
        })
    }
}

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The digests of the system's material fields (the policy's `materialFields`): what an
/// approval binds besides the assessed content.
pub fn material_hashes(system: &AISystemSpec, policy: &Policy) -> SystemFields {
    SystemFields::of(system, &policy.material_fields)
}

/// Phase of an assessment at `now`, with a message saying why and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentState {
    /// The phase.
    pub phase: AssessmentPhase,
    /// Why it is in this phase.
    pub message: String,
    /// When the approval ends (approved or expired assessments).
    pub expires_at: Option<Timestamp>,
    /// Hash of the content as it is now.
    pub content_hash: String,
}

/// Fields an assessment must fill before it can be decided on.
fn missing_content(spec: &ImpactAssessmentSpec) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if spec.models.is_empty() {
        missing.push("spec.models (the model versions assessed)");
    }
    if spec.risks.is_empty() {
        missing.push("spec.risks");
    }
    if spec.impacts.is_empty() {
        missing.push("spec.impacts");
    }
    missing
}

/// Works out the phase of an assessment at `now`, without its system: whether the system's
/// material fields changed since approval is not checked (a [`Snapshot`](super::Snapshot)
/// checks it).
pub fn assessment_state(
    assessment: &ImpactAssessment,
    policy: &Policy,
    now: Timestamp,
) -> AssessmentState {
    assessment_state_with_hash(
        assessment,
        ContentHash::of(&assessment.spec),
        None,
        policy,
        now,
    )
}

/// [`assessment_state`] with the content hash already known (a snapshot caches it) and the
/// system the assessment references, when registered.
pub fn assessment_state_with_hash(
    assessment: &ImpactAssessment,
    hash: ContentHash,
    system: Option<&AISystemSpec>,
    policy: &Policy,
    now: Timestamp,
) -> AssessmentState {
    let (reason, expires_at) = phase_reason(assessment, &hash, system, policy, now);
    AssessmentState {
        phase: reason.phase(),
        message: reason.message(&hash, policy),
        expires_at,
        content_hash: hash.to_string(),
    }
}

/// The phase of an assessment and when its approval ends, without the words: what the
/// admission gate and the automated checks ask of every assessment of a system.
pub fn assessment_phase(
    assessment: &ImpactAssessment,
    hash: &ContentHash,
    system: Option<&AISystemSpec>,
    policy: &Policy,
    now: Timestamp,
) -> (AssessmentPhase, Option<Timestamp>) {
    let (reason, expires_at) = phase_reason(assessment, hash, system, policy, now);
    (reason.phase(), expires_at)
}

/// Whether a version pattern covers a version. Patterns are exact (`2.3.1`) or end in a
/// wildcard segment (`2.3.x`, `2.3.*`, `*`) that matches one or more remaining segments.
pub fn version_matches(pattern: &str, version: &str) -> bool {
    // Most entries name the deployed version exactly.
    if pattern == version {
        return true;
    }
    let is_wild = |s: &[u8]| matches!(s, b"x" | b"X" | b"*");
    let mut patterns = pattern.as_bytes().split(|&b| b == b'.').peekable();
    let mut versions = version.as_bytes().split(|&b| b == b'.');
    while let Some(p) = patterns.next() {
        // A trailing wildcard stands for one or more parts.
        if is_wild(p) && patterns.peek().is_none() {
            return versions.next().is_some();
        }
        match versions.next() {
            Some(v) if is_wild(p) || p == v => {}
            _ => return false,
        }
    }
    versions.next().is_none()
}

/// The entry of an assessment that covers a model (by name, when both name it) and version.
pub fn covering_entry<'a>(
    spec: &'a ImpactAssessmentSpec,
    model_name: Option<&str>,
    version: &str,
) -> Option<&'a CoveredModel> {
    spec.models.iter().find(|entry| {
        let name_ok = match (entry.name.as_deref(), model_name) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        name_ok && version_matches(&entry.version, version)
    })
}

/// Short description of what an assessment covers, e.g. `scorer 2.3.x, 2.4.0`.
pub fn coverage_phrase(spec: &ImpactAssessmentSpec) -> String {
    if spec.models.is_empty() {
        return "no model versions".to_string();
    }
    spec.models
        .iter()
        .map(|m| match &m.name {
            Some(name) => format!("{name} {}", m.version),
            None => m.version.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
