//! Reading AdmissionReviews off the wire and writing the answers. Everything a peer can get
//! wrong is answered here, fast and in words, before any decision code runs: a review that
//! cannot be read is never allowed.

use axum::http::{HeaderMap, StatusCode, header};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use serde_json::{Value, json};

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
                json!({
                    "apiVersion": api_version,
                    "kind": "AdmissionReview",
                    "response": {
                        "uid": uid,
                        "allowed": false,
                        "status": {"status": "Failure", "code": 400, "reason": "BadRequest", "message": message},
                    }
                })
                .to_string(),
            ),
        }
    }
}

fn bad_request(message: impl Into<String>) -> BadReview {
    BadReview::Http(StatusCode::BAD_REQUEST, message.into())
}

/// Reads an AdmissionReview request from headers and body.
pub fn read_review(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AdmissionRequest<DynamicObject>, BadReview> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
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
    let value: Value = serde_json::from_slice(body).map_err(|e| {
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
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_value(value).map_err(|e| BadReview::Refuse {
            api_version: REVIEW_V1.to_string(),
            uid: uid.clone(),
            message: format!(
                "aims-operator could not read the AdmissionReview, so it refuses it: {e}"
            ),
        })?;
    review
        .try_into()
        .map_err(|_| bad_request("the AdmissionReview carries no request"))
}

/// Standard base64 with padding, as Go's encoding/json writes and reads `[]byte`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Serialises a response into the review body. The patch is written as base64 text, the
/// encoding the admission API documents for `[]byte` (kube-rs would write an array of
/// numbers, kube-rs/kube#1781).
pub fn write_review(response: AdmissionResponse) -> (StatusCode, String) {
    let written = serde_json::to_value(response.into_review()).map(|mut review| {
        let patch = review.pointer_mut("/response/patch");
        if let Some(patch) = patch {
            let bytes: Vec<u8> = patch
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_u64())
                        .map(|n| n as u8)
                        .collect()
                })
                .unwrap_or_default();
            *patch = Value::String(base64(&bytes));
        }
        review.to_string()
    });
    match written {
        Ok(body) => (StatusCode::OK, body),
        // Serialising our own types cannot realistically fail; if it did, a 500 makes the API
        // server apply the failure policy (Fail in enforce deployments) instead of admitting.
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("aims-operator could not write its answer: {e}"),
        ),
    }
}

/// A refusal with the full message in `status.message` (not only `reason`: a webhook that
/// sets only the reason shows up as "denied the request without explanation").
pub fn refuse(
    request: &AdmissionRequest<DynamicObject>,
    message: impl Into<String>,
) -> AdmissionResponse {
    let mut response = AdmissionResponse::from(request).deny(message.into());
    response.result.code = 403;
    response.result.reason = "Forbidden".to_string();
    response
}

/// The request object as JSON, as the engine reads it.
pub fn object_value(object: &DynamicObject) -> Result<Value, String> {
    serde_json::to_value(object).map_err(|e| format!("the object cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
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
            assert_eq!(super::base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
