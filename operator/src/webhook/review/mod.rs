//! Reading AdmissionReviews off the wire and writing the answers: the admission.k8s.io/v1
//! wire format lives here, and only here. Everything a peer can get wrong is answered before
//! any decision code runs, in words: a review that cannot be read is never allowed.
//!
//! The types are our own, not `kube::core::admission`: they borrow the request's strings
//! and leave its objects as JSON text (`RawValue`) for the judge to read as it needs, where
//! `AdmissionReview<DynamicObject>` buffers the whole object through serde's `flatten`; and
//! kube's `AdmissionResponse` writes the patch as an array of numbers where the API
//! documents base64 text (kube-rs/kube#1781).

use std::borrow::Cow;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::engine::Text;
use kube::core::admission::Operation;

mod answer;
pub use answer::*;

/// Largest request body read (the API server's own limit for an object is 3 MiB; a review
/// wraps at most two objects, and anything larger is not a real review).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

const REVIEW_V1: &str = "admission.k8s.io/v1";

/// A request the webhook cannot answer with a decision, and the HTTP answer it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadReview {
    /// HTTP status and plain-text explanation.
    Http(StatusCode, String),
    /// A readable review of the wrong version or shape: a refusal in the review's own
    /// apiVersion, with its uid, so the API server shows the message.
    Refuse {
        /// `apiVersion` the peer sent.
        api_version: String,
        /// `request.uid` to echo.
        uid: String,
        /// Why.
        message: String,
    },
}

impl BadReview {
    /// The HTTP status and JSON (or text) body to send.
    pub fn into_parts(self) -> (StatusCode, String) {
        match self {
            BadReview::Http(code, text) => (code, text),
            BadReview::Refuse {
                api_version,
                uid,
                message,
            } => (
                StatusCode::OK,
                refusal_review(&api_version, &uid, 400, "BadRequest", &message),
            ),
        }
    }
}

/// A refusal in an AdmissionReview of `api_version`, built without `Answer` (the review could
/// not be read, or its answer could not be written).
fn refusal_review(api_version: &str, uid: &str, code: u16, reason: &str, message: &str) -> String {
    json!({
        "apiVersion": api_version,
        "kind": "AdmissionReview",
        "response": {
            "uid": uid,
            "allowed": false,
            "status": {"status": "Failure", "code": code, "reason": reason, "message": message},
        }
    })
    .to_string()
}

fn bad_request(message: impl Into<String>) -> BadReview {
    BadReview::Http(StatusCode::BAD_REQUEST, message.into())
}

/// The request of an admission.k8s.io/v1 AdmissionReview: the fields the webhook reads.
#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRequest<'body> {
    /// Identifies this review; echoed in the answer.
    #[serde(borrow)]
    pub uid: Cow<'body, str>,
    /// Kind of the object sent (e.g. `apps/v1 Deployment`, `autoscaling/v1 Scale`).
    #[serde(borrow)]
    pub kind: GroupVersionKind<'body>,
    /// Resource written (e.g. `apps/v1 deployments`).
    #[serde(borrow)]
    pub resource: GroupVersionResource<'body>,
    /// Subresource written (`scale`, `status`), if any.
    #[serde(default, borrow)]
    pub sub_resource: Option<Cow<'body, str>>,
    /// Object name (may be empty on create with generateName).
    #[serde(default, borrow)]
    pub name: Cow<'body, str>,
    /// Namespace of the object.
    #[serde(default, borrow)]
    pub namespace: Option<Cow<'body, str>>,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: Operation,
    /// The authenticated user making the request.
    #[serde(borrow)]
    pub user_info: UserInfo<'body>,
    /// The object as it would be stored (absent for DELETE), left unparsed in the body for
    /// the judge to read as it needs.
    #[serde(default, borrow)]
    pub object: Option<&'body RawValue>,
    /// The object as stored before (UPDATE, DELETE), left unparsed in the body: most
    /// decisions never read it, and parsing it would double the cost of every update review.
    #[serde(default, borrow, deserialize_with = "raw_text")]
    pub old_object: Option<&'body str>,
    /// A dry run: the answer counts, side effects must not happen.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// The kind of the object sent. Strings are borrowed from the request body unless they
/// carry JSON escapes: a review is read per admission, and its every allocation counts.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GroupVersionKind<'body> {
    /// API group, empty for the core group.
    #[serde(default, borrow)]
    pub group: Cow<'body, str>,
    /// API version.
    #[serde(borrow)]
    pub version: Cow<'body, str>,
    /// Kind.
    #[serde(borrow)]
    pub kind: Cow<'body, str>,
}

/// The resource written.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GroupVersionResource<'body> {
    /// API group, empty for the core group.
    #[serde(default, borrow)]
    pub group: Cow<'body, str>,
    /// API version.
    #[serde(borrow)]
    pub version: Cow<'body, str>,
    /// Resource (plural).
    #[serde(borrow)]
    pub resource: Cow<'body, str>,
}

/// The authenticated requester: the parts the webhook reads. `extra` and the user's uid
/// are skipped unread; nothing in them is trusted.
#[derive(Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo<'body> {
    /// The user's name.
    #[serde(default, borrow)]
    pub username: Option<Cow<'body, str>>,
    /// The groups the API server authenticated the user in.
    #[serde(default, borrow)]
    pub groups: Option<Vec<Text<'body>>>,
}

impl ReviewRequest<'_> {
    /// `userInfo.username`, or empty.
    pub fn username(&self) -> &str {
        self.user_info.username.as_deref().unwrap_or_default()
    }

    /// `userInfo.groups`, or none.
    pub fn groups(&self) -> &[Text<'_>] {
        self.user_info.groups.as_deref().unwrap_or_default()
    }

    /// The previous object, parsed; `Ok(None)` when there is none (or it is `null`).
    pub fn old_object(&self) -> Result<Option<Value>, String> {
        parsed(self.old_object, "the previous object")
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    /// The object, parsed; `Ok(None)` when there is none (or it is `null`).
    pub fn object(&self) -> Result<Option<Value>, String> {
        parsed(self.object_text(), "the object")
    }

    /// The object's JSON text, unless there is none (or it is `null`).
    pub fn object_text(&self) -> Option<&str> {
        self.object
            .map(RawValue::get)
            .filter(|text| *text != "null")
    }
}

/// A value's JSON text, left unparsed; `null` reads as none.
fn raw_text<'de: 'body, 'body, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'body str>, D::Error> {
    Option::<&'de RawValue>::deserialize(deserializer).map(|raw| raw.map(RawValue::get))
}

fn parsed(raw: Option<&str>, what: &str) -> Result<Option<Value>, String> {
    match raw {
        None => Ok(None),
        Some(raw) => serde_json::from_str::<Value>(raw)
            .map(|v| Some(v).filter(|v| !v.is_null()))
            .map_err(|e| format!("{what} cannot be read: {e}")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Review<'body> {
    #[serde(borrow)]
    api_version: Cow<'body, str>,
    #[serde(borrow)]
    kind: Cow<'body, str>,
    #[serde(borrow)]
    request: Option<ReviewRequest<'body>>,
}

impl<'body> Review<'body> {
    /// The request of a well-formed admission.k8s.io/v1 review, else `None`.
    fn v1_request(self) -> Option<ReviewRequest<'body>> {
        let request = self.request?;
        (self.api_version == REVIEW_V1 && self.kind == "AdmissionReview" && !request.uid.is_empty())
            .then_some(request)
    }
}

/// Reads an AdmissionReview request from its Content-Type (empty when absent) and body.
pub fn read_review<'body>(
    content_type: &str,
    body: &'body [u8],
) -> Result<ReviewRequest<'body>, BadReview> {
    // The API server sends exactly this; anything else is parsed as a media type.
    if content_type != "application/json" && !is_json_media_type(content_type) {
        return Err(BadReview::Http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "an AdmissionReview must be sent as Content-Type: application/json (got \"{content_type}\")"
            ),
        ));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(BadReview::Http(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the review is {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    // JSON is UTF-8, and the API server sends nothing else.
    let body = std::str::from_utf8(body).map_err(|e| {
        bad_request(format!(
            "the request body is not UTF-8 (invalid byte at offset {}), so not JSON",
            e.valid_up_to()
        ))
    })?;
    // A well-formed v1 review is read here, its object kept as text; anything else is
    // diagnosed below.
    let shape_error = match serde_json::from_str::<Review<'_>>(body) {
        Ok(review) => match review.v1_request() {
            Some(request) => return Ok(request),
            None => "unexpected shape".to_string(),
        },
        Err(_) => shape_error(body),
    };
    let value: Value = serde_json::from_str(body).map_err(|e| {
        bad_request(format!(
            "the request body is not a JSON AdmissionReview: {e}"
        ))
    })?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    if text(&value, "kind").as_deref() != Some("AdmissionReview") {
        return Err(bad_request(
            "the request body is not an AdmissionReview (kind must be AdmissionReview)",
        ));
    }
    let request = value
        .get("request")
        .filter(|r| r.is_object())
        .ok_or_else(|| bad_request("the AdmissionReview carries no request"))?;
    let uid = text(request, "uid")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad_request("the AdmissionReview request carries no uid"))?;
    let api_version = text(&value, "apiVersion").unwrap_or_default();
    if api_version != REVIEW_V1 {
        return Err(BadReview::Refuse {
            api_version,
            uid,
            message: format!(
                "aims-operator reads {REVIEW_V1} reviews only; register the webhook with admissionReviewVersions: [\"v1\"]"
            ),
        });
    }
    Err(BadReview::Refuse {
        api_version: REVIEW_V1.to_string(),
        uid,
        message: format!(
            "aims-operator could not read the AdmissionReview, so it refuses it: {shape_error}"
        ),
    })
}

/// Why a body that is JSON does not read as a review: the field at fault and what is wrong
/// with it, wherever in the text it stands (indented or not, the message is the same).
#[cold]
fn shape_error(body: &str) -> String {
    let mut reader = serde_json::Deserializer::from_str(body);
    let Err(error) = serde_path_to_error::deserialize::<_, Review<'_>>(&mut reader) else {
        return "unexpected shape".to_string();
    };
    let path = error.path().to_string();
    let inner = error.into_inner();
    let text = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let problem = text.strip_suffix(&position).unwrap_or(&text);
    if path == "." {
        problem.to_string()
    } else {
        format!("{path}: {problem}")
    }
}

/// Whether a Content-Type names JSON, parameters (`; charset=utf-8`) and case aside. Out of
/// line: the usual header is matched exactly before this is needed.
#[cold]
#[inline(never)]
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_annotation_set_twice_keeps_the_last_value_once() {
        let mut annotations = AuditAnnotations::default();
        annotations.insert(AuditKey::Mode, "warn".into());
        annotations.insert(AuditKey::Decision, "allowed".into());
        annotations.insert(AuditKey::Mode, "enforce".into());
        assert_eq!(
            annotations.iter().collect::<Vec<_>>(),
            [("decision", "allowed"), ("mode", "enforce")]
        );
        assert_eq!(annotations.get(AuditKey::Mode), Some("enforce"));
        assert_eq!(annotations.get(AuditKey::Rules), None);
    }

    #[test]
    fn audit_keys_sort_as_their_names() {
        let names: Vec<&str> = AuditKey::ALL.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            names, sorted,
            "variants must be declared in the order of their names"
        );
        assert!(AuditKey::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("[{\"op\":\"add\"}]", "W3sib3AiOiJhZGQifV0="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
