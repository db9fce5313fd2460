//! Reading AdmissionReviews off the wire and writing the answers. Everything a peer can get
//! wrong is answered here, fast and in words, before any decision code runs: a review that
//! cannot be read is never allowed.
//!
//! The types are our own, not `kube::core::admission`: reading `AdmissionReview<DynamicObject>`
//! costs 11-20 µs per review through serde's `flatten` buffering (the whole decision takes
//! about 3 µs), and kube's `AdmissionResponse` writes the patch as an array of numbers where
//! the API documents base64 text (kube-rs/kube#1781). These read and write the same
//! admission.k8s.io/v1 JSON in about 5 µs; on `/validate`, the scanner of
//! [`crate::engine::scan`] reads the review and its workload in one pass for less than half
//! of that, and gives way to these types at anything it does not expect.

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::http::StatusCode;

use crate::engine::scan::{Scanner, Seen};
use crate::engine::workload::WorkloadText;
use crate::engine::{Text, Workload};
use kube::core::admission::Operation;
use serde::{Deserialize, Serialize};
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

/// The object of a review: its JSON text, or, on the workload path, the workload read from it
/// in the same pass over the body as the review itself.
#[derive(Clone, Debug)]
// One per review, on the stack: boxing the workload would add an allocation to every admission.
#[allow(clippy::large_enum_variant)]
pub enum ReviewObject<'body> {
    /// The object's JSON text (`null` included), left unparsed in the body.
    Text(&'body serde_json::value::RawValue),
    /// The workload the object is, read while reading the review.
    Workload(Workload<'body>),
}

impl<'de: 'body, 'body> Deserialize<'de> for ReviewObject<'body> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de serde_json::value::RawValue>::deserialize(deserializer).map(ReviewObject::Text)
    }
}

/// How a review's object is read: kept as text for the judge to parse as it needs (AIMS
/// resources), or read as a workload in the same pass as the review (`/validate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectReading {
    /// Keep the object's text.
    Text,
    /// Read the object as a workload while reading the review, when it is one that reads
    /// cleanly; anything else is kept as text and judged the general way.
    Workload,
}

/// The request of an admission.k8s.io/v1 AdmissionReview: the fields the webhook reads.
/// `O` is how the object is held while reading; judges see [`ReviewObject`].
#[derive(Deserialize, Clone, Debug)]
#[serde(
    rename_all = "camelCase",
    bound(deserialize = "O: Deserialize<'de>, 'de: 'body")
)]
pub struct ReviewRequest<'body, O = ReviewObject<'body>> {
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
    /// The object as it would be stored (absent for DELETE): its text, or the workload read
    /// from it (see [`ObjectReading`]).
    #[serde(default = "Option::default")]
    pub object: Option<O>,
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

impl<'body, O> ReviewRequest<'body, O> {
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
}

impl ReviewRequest<'_> {
    /// The object, parsed; `Ok(None)` when there is none (or it is `null`, or was read as a
    /// workload).
    pub fn object(&self) -> Result<Option<Value>, String> {
        parsed(
            self.object_raw().map(serde_json::value::RawValue::get),
            "the object",
        )
    }

    /// The object's JSON text, unless there is none (or it is `null`, or was read as a
    /// workload).
    pub fn object_text(&self) -> Option<&str> {
        self.object_raw()
            .map(serde_json::value::RawValue::get)
            .filter(|text| *text != "null")
    }

    fn object_raw(&self) -> Option<&serde_json::value::RawValue> {
        match self.object {
            Some(ReviewObject::Text(raw)) => Some(raw),
            _ => None,
        }
    }
}

/// A value's JSON text, left unparsed; `null` reads as none.
fn raw_text<'de: 'body, 'body, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'body str>, D::Error> {
    Option::<&'de serde_json::value::RawValue>::deserialize(deserializer)
        .map(|raw| raw.map(serde_json::value::RawValue::get))
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
#[serde(
    rename_all = "camelCase",
    bound(deserialize = "O: Deserialize<'de>, 'de: 'body")
)]
struct Review<'body, O> {
    #[serde(borrow)]
    api_version: Cow<'body, str>,
    #[serde(borrow)]
    kind: Cow<'body, str>,
    request: Option<ReviewRequest<'body, O>>,
}

impl<'body, O> Review<'body, O> {
    /// The request of a well-formed admission.k8s.io/v1 review, else `None`.
    fn v1_request(self) -> Option<ReviewRequest<'body, O>> {
        let request = self.request?;
        (self.api_version == REVIEW_V1 && self.kind == "AdmissionReview" && !request.uid.is_empty())
            .then_some(request)
    }
}

/// The workload path's one pass: the review and the workload its object is, read together
/// with the [`Scanner`], the request written into `request`. `None` whenever anything would
/// need the general reader's care (a subresource, an object that is not a cleanly read
/// workload, a malformed review, anything the scanner is unsure of); `request` then means
/// nothing, and the caller reads the review the general way, which judges all of those. The
/// request is large and every move of it is a copy, so it is built once, in its final shape,
/// in the caller's place.
fn read_workload_review<'body>(
    body: &'body str,
    request: &mut Option<ReviewRequest<'body>>,
) -> Option<()> {
    let mut scanner = Scanner::new(body);
    scan_review(&mut scanner, request)?;
    // serde_json refuses anything after the review.
    scanner.at_end().then_some(())
}

/// A review as serde reads [`Review`], its request's object read as a workload.
fn scan_review<'body>(
    s: &mut Scanner<'body>,
    request: &mut Option<ReviewRequest<'body>>,
) -> Option<()> {
    let (mut api_version, mut kind, mut request_read) = (None, None, None);
    let mut seen = Seen::default();
    s.object(|s, key| match key {
        "apiVersion" => seen.set(0, &mut api_version, s.string().map(Some)),
        "kind" => seen.set(1, &mut kind, s.string().map(Some)),
        "request" => seen.set(
            2,
            &mut request_read,
            s.optional(|s| scan_request(s, request)).map(Some),
        ),
        _ => s.skip(),
    })?;
    // A `null` request is for the general reader to refuse.
    request_read??;
    (api_version?.as_ref() == REVIEW_V1 && kind?.as_ref() == "AdmissionReview").then_some(())
}

/// Reads `group`, `version` and the third field of a kind or a resource.
fn scan_group_version<'body>(s: &mut Scanner<'body>, third: &str) -> Option<[Cow<'body, str>; 3]> {
    let (mut group, mut version, mut named) = (None, None, None);
    let mut seen = Seen::default();
    s.object(|s, key| {
        let (bit, slot) = match key {
            "group" => (0, &mut group),
            "version" => (1, &mut version),
            other if other == third => (2, &mut named),
            _ => return s.skip(),
        };
        seen.set(bit, slot, s.string().map(Some))
    })?;
    Some([group.unwrap_or_default(), version?, named?])
}

fn scan_user_info<'body>(s: &mut Scanner<'body>) -> Option<UserInfo<'body>> {
    s.fields(UserInfo::default(), |s, seen, user, key| match key {
        "username" => seen.set(0, &mut user.username, s.optional(Scanner::string)),
        "groups" => seen.set(
            1,
            &mut user.groups,
            s.optional(|s| s.list(|s| s.string().map(Text))),
        ),
        _ => s.skip(),
    })
}

/// A request whose object is a workload, with no subresource (anything else is for the
/// general reader); its uid is not empty. Written into `request`.
fn scan_request<'body>(
    s: &mut Scanner<'body>,
    request: &mut Option<ReviewRequest<'body>>,
) -> Option<()> {
    let (mut uid, mut kind, mut resource, mut operation, mut user_info) =
        (None, None, None, None, None);
    let (mut sub_resource, mut name, mut namespace) = (None, None, None);
    let (mut object, mut old_object, mut dry_run) = (None, None, None);
    let mut seen = Seen::default();
    s.object(|s, key| match key {
        "uid" => seen.set(0, &mut uid, s.string().map(Some)),
        "kind" => seen.set(
            1,
            &mut kind,
            scan_group_version(s, "kind").map(|[group, version, kind]| {
                Some(GroupVersionKind {
                    group,
                    version,
                    kind,
                })
            }),
        ),
        "resource" => seen.set(
            2,
            &mut resource,
            scan_group_version(s, "resource").map(|[group, version, resource]| {
                Some(GroupVersionResource {
                    group,
                    version,
                    resource,
                })
            }),
        ),
        "subResource" => seen.set(3, &mut sub_resource, s.optional(Scanner::string)),
        "name" => seen.set(4, &mut name, s.string().map(Some)),
        "namespace" => seen.set(5, &mut namespace, s.optional(Scanner::string)),
        "operation" => {
            let read = s.string().and_then(|text| match &*text {
                "CREATE" => Some(Some(Operation::Create)),
                "UPDATE" => Some(Some(Operation::Update)),
                "DELETE" => Some(Some(Operation::Delete)),
                "CONNECT" => Some(Some(Operation::Connect)),
                _ => None,
            });
            seen.set(6, &mut operation, read)
        }
        "userInfo" => seen.set(7, &mut user_info, scan_user_info(s).map(Some)),
        "object" => seen.set(8, &mut object, s.optional(WorkloadText::scan)),
        "oldObject" => seen.set(9, &mut old_object, s.optional(Scanner::raw)),
        "dryRun" => seen.set(10, &mut dry_run, s.optional(Scanner::boolean)),
        _ => s.skip(),
    })?;
    let uid = uid.filter(|uid| !uid.is_empty())?;
    // A subresource (`scale`, `status`) is not the workload itself: the general reader.
    if sub_resource.is_some() {
        return None;
    }
    let workload = object?.into_workload(namespace.as_deref().unwrap_or_default())?;
    *request = Some(ReviewRequest {
        uid,
        kind: kind?,
        resource: resource?,
        sub_resource: None,
        name: name.unwrap_or_default(),
        namespace,
        operation: operation?,
        user_info: user_info?,
        object: Some(ReviewObject::Workload(workload)),
        old_object,
        dry_run,
    });
    Some(())
}

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

    /// The key as written (plain ASCII, so written without escaping).
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

/// Reads an AdmissionReview request from its Content-Type (empty when absent) and body.
pub fn read_review<'body>(
    content_type: &str,
    body: &'body [u8],
    reading: ObjectReading,
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
    // JSON is UTF-8, and the API server sends nothing else. Checked for the whole body: the
    // fast path skips fields it does not read without looking inside them (found by fuzzing).
    let body = std::str::from_utf8(body).map_err(|e| {
        bad_request(format!(
            "the request body is not UTF-8 (invalid byte at offset {}), so not JSON",
            e.valid_up_to()
        ))
    })?;
    let mut scanned = None;
    if reading == ObjectReading::Workload
        && read_workload_review(body, &mut scanned).is_some()
        && let Some(request) = scanned
    {
        return Ok(request);
    }
    // A well-formed v1 review is read here, its object kept as text; anything else is
    // diagnosed below.
    let shape_error = match serde_json::from_str::<Review<'_, ReviewObject<'_>>>(body) {
        Ok(review) => match review.v1_request() {
            Some(request) => return Ok(request),
            None => "unexpected shape".to_string(),
        },
        Err(e) => e.to_string(),
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

/// Whether a Content-Type names JSON, parameters (`; charset=utf-8`) and case aside. Out of
/// line: the usual header is matched exactly before this is needed.
#[cold]
#[inline(never)]
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Standard base64 with padding, as Go's encoding/json writes and reads `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
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

/// Writes an answer as the body of an admission.k8s.io/v1 AdmissionReview. Written by hand
/// rather than through serde: the shape is fixed and small, and this runs once per admission
/// (a property test holds it to what serde would write).
pub fn write_review(answer: &Answer) -> String {
    // Room for the fixed parts and audit annotations, and for the long texts when present.
    let mut out = String::with_capacity(
        384 + answer.status.as_ref().map_or(0, |s| s.message.len())
            + answer.patch.as_ref().map_or(0, String::len)
            + answer
                .warnings
                .iter()
                .flatten()
                .map(String::len)
                .sum::<usize>(),
    );
    out.push_str(
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"#,
    );
    push_json_string(&mut out, answer.uid);
    out.push_str(if answer.allowed {
        r#","allowed":true"#
    } else {
        r#","allowed":false"#
    });
    if let Some(status) = &answer.status {
        out.push_str(r#","status":{"code":"#);
        let _ = write!(out, "{}", status.code);
        out.push_str(r#","reason":"#);
        push_json_string(&mut out, status.reason);
        out.push_str(r#","message":"#);
        push_json_string(&mut out, &status.message);
        out.push('}');
    }
    if let Some(patch) = &answer.patch {
        out.push_str(r#","patch":"#);
        push_json_string(&mut out, patch);
    }
    if let Some(patch_type) = answer.patch_type {
        out.push_str(r#","patchType":"#);
        push_json_string(&mut out, patch_type);
    }
    if !answer.audit_annotations.is_empty() {
        out.push_str(r#","auditAnnotations":"#);
        push_json_items(
            &mut out,
            ['{', '}'],
            answer.audit_annotations.iter(),
            |out, (key, value)| {
                // Keys are this crate's own plain names (`AuditKey`), so they are written as
                // they are: escaping is for what came from the request or the cluster.
                out.push('"');
                out.push_str(key);
                out.push_str("\":");
                push_json_string(out, value);
            },
        );
    }
    if let Some(warnings) = &answer.warnings {
        out.push_str(r#","warnings":"#);
        push_json_items(&mut out, ['[', ']'], warnings, |out, warning| {
            push_json_string(out, warning)
        });
    }
    out.push_str("}}");
    out
}

/// Appends a JSON object or array (`brackets`) of `items`, each written by `push_item`.
fn push_json_items<T>(
    out: &mut String,
    [open, close]: [char; 2],
    items: impl IntoIterator<Item = T>,
    mut push_item: impl FnMut(&mut String, T),
) {
    out.push(open);
    for (at, item) in items.into_iter().enumerate() {
        if at > 0 {
            out.push(',');
        }
        push_item(out, item);
    }
    out.push(close);
}

/// Appends `text` as a JSON string: quotes, backslashes and control characters escaped, the
/// rest (UTF-8 included) copied in runs.
fn push_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = text.as_bytes();
    let mut run_start = 0;
    loop {
        // Every escaped byte is ASCII, so `at` is a character boundary.
        let at = run_start + crate::engine::scan::plain_prefix(&bytes[run_start..]);
        if at == bytes.len() {
            break;
        }
        out.push_str(&text[run_start..at]);
        run_start = at + 1;
        let byte = bytes[at];
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
    }
    out.push_str(&text[run_start..]);
    out.push('"');
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_text() -> impl Strategy<Value = String> {
        // Control characters, quotes, backslashes and non-ASCII are what escaping must get right.
        proptest::string::string_regex("[\\x00-\\x1f\"\\\\a-z \u{e9}\u{2028}\u{1f600}]{0,12}")
            .expect("regex")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn the_written_answer_reads_as_serde_would_write_it(
            uid in any_text(),
            allowed in any::<bool>(),
            message in proptest::option::of(any_text()),
            patch in proptest::option::of(any_text()),
            audit in proptest::collection::vec((0..4usize, any_text()), 0..5),
            warnings in proptest::option::of(proptest::collection::vec(any_text(), 0..3)),
        ) {
            const KEYS: [AuditKey; 4] = [AuditKey::Decision, AuditKey::Mode, AuditKey::Rules, AuditKey::System];
            let mut answer = Answer {
                uid: &uid,
                allowed,
                status: message.map(|message| AnswerStatus { code: 403, reason: "Forbidden", message }),
                patch_type: patch.as_ref().map(|_| "JSONPatch"),
                patch,
                audit_annotations: AuditAnnotations::default(),
                warnings,
            };
            for (key, value) in audit {
                answer.audit(KEYS[key], value);
            }
            let written: Value = serde_json::from_str(&write_review(&answer)).expect("JSON");
            let expected = json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": serde_json::to_value(&answer).expect("serialises"),
            });
            prop_assert_eq!(written, expected);
        }
    }

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
    fn audit_keys_sort_as_their_names_and_need_no_escaping() {
        let names: Vec<&str> = AuditKey::ALL.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            names, sorted,
            "variants must be declared in the order of their names"
        );
        assert!(AuditKey::ALL.windows(2).all(|w| w[0] < w[1]));
        for name in names {
            assert_eq!(
                crate::engine::scan::plain_prefix(name.as_bytes()),
                name.len(),
                "{name}"
            );
        }
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
