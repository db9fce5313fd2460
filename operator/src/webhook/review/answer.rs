//! The answers the webhook writes: an AdmissionReview with only a response, its audit
//! annotations, and a refusal's status with the whole message.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use super::{REVIEW_V1, ReviewRequest, refusal_review};

/// Why an answer refuses.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AnswerStatus {
    /// HTTP-style code shown by the API server (403 for a refusal).
    pub code: u16,
    /// Short CamelCase reason.
    pub reason: &'static str,
    /// The full message the user reads.
    pub message: String,
}

/// The key of an audit annotation (the API server prefixes it with the webhook's name).
/// Variants are declared in the order of their names, so that sorting by key sorts by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuditKey {
    /// The covering impact assessment.
    Assessment,
    /// A break-glass use: who, until when, why.
    BreakGlass,
    /// What was decided.
    Decision,
    /// The enforcement mode applied.
    Mode,
    /// The model judged.
    Model,
    /// Why the object was not judged.
    Reason,
    /// The rules that failed.
    Rules,
    /// The AI system judged.
    System,
}

impl AuditKey {
    /// Every key, in order.
    pub const ALL: [AuditKey; 8] = [
        AuditKey::Assessment,
        AuditKey::BreakGlass,
        AuditKey::Decision,
        AuditKey::Mode,
        AuditKey::Model,
        AuditKey::Reason,
        AuditKey::Rules,
        AuditKey::System,
    ];

    /// The key as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKey::Assessment => "assessment",
            AuditKey::BreakGlass => "break-glass",
            AuditKey::Decision => "decision",
            AuditKey::Mode => "mode",
            AuditKey::Model => "model",
            AuditKey::Reason => "reason",
            AuditKey::Rules => "rules",
            AuditKey::System => "system",
        }
    }
}

/// The audit annotations of an answer, sorted by key, each key once. A handful per answer:
/// a sorted list is one allocation where a map is one per entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditAnnotations<'a>(Vec<(AuditKey, Cow<'a, str>)>);

impl<'a> AuditAnnotations<'a> {
    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: AuditKey, value: Cow<'a, str>) {
        // Room for the usual set at once (decision, mode, rules, system, model, assessment).
        if self.0.capacity() == 0 {
            self.0.reserve_exact(6);
        }
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (key, value)),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: AuditKey) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.cmp(&key))
            .ok()
            .map(|at| self.0[at].1.as_ref())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Key and value pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_ref()))
    }
}

impl Serialize for AuditAnnotations<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// The response of an AdmissionReview. It borrows the request's uid and, where it can, its
/// audit values: one is written per admission, and every allocation counts.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Answer<'a> {
    /// The request's uid.
    pub uid: &'a str,
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Why not, when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AnswerStatus>,
    /// JSON patch, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// `JSONPatch` when a patch is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Added to the API server's audit event (prefixed with the webhook name).
    #[serde(skip_serializing_if = "AuditAnnotations::is_empty")]
    pub audit_annotations: AuditAnnotations<'a>,
    /// Shown by kubectl as `Warning:` lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

impl<'a> Answer<'a> {
    /// Admits the request.
    pub fn allow(request: &'a ReviewRequest<'_>) -> Self {
        Self {
            uid: &request.uid,
            allowed: true,
            status: None,
            patch: None,
            patch_type: None,
            audit_annotations: AuditAnnotations::default(),
            warnings: None,
        }
    }

    /// Adds a JSON patch (RFC 6902) to apply to the object.
    pub fn with_patch(mut self, patch: &json_patch::Patch) -> Result<Self, String> {
        let bytes = serde_json::to_vec(patch).map_err(|e| e.to_string())?;
        self.patch = Some(base64(&bytes));
        self.patch_type = Some("JSONPatch");
        Ok(self)
    }

    /// Records an audit annotation.
    pub fn audit(&mut self, key: AuditKey, value: impl Into<Cow<'a, str>>) {
        self.audit_annotations.insert(key, value.into());
    }
}

/// Standard base64 with padding, as Go's encoding/json writes and reads `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The envelope of an answer: an admission.k8s.io/v1 AdmissionReview with only a response.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnswerReview<'r, 'a> {
    api_version: &'static str,
    kind: &'static str,
    response: &'r Answer<'a>,
}

/// Writes an answer as the body of an admission.k8s.io/v1 AdmissionReview.
pub fn write_review(answer: &Answer) -> String {
    let review = AnswerReview {
        api_version: REVIEW_V1,
        kind: "AdmissionReview",
        response: answer,
    };
    // Plain strings, numbers and booleans only: serialising cannot fail, and if it ever did
    // the answer is a refusal, never an allow.
    serde_json::to_string(&review).unwrap_or_else(|e| {
        let message = format!("aims-operator could not write its answer: {e}");
        refusal_review(REVIEW_V1, answer.uid, 500, "InternalError", &message)
    })
}

/// A refusal with the full message in `status.message` (not only `reason`: a webhook that
/// sets only the reason shows up as "denied the request without explanation").
pub fn refuse<'a>(request: &'a ReviewRequest<'_>, message: impl Into<String>) -> Answer<'a> {
    Answer {
        allowed: false,
        status: Some(AnswerStatus {
            code: 403,
            reason: "Forbidden",
            message: message.into(),
        }),
        ..Answer::allow(request)
    }
}
