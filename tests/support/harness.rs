//! The webhook under test, with a pinned clock and recorded break-glass events: its router
//! driven in process ([`in_process`]) where the transport is not the point, or served over
//! real HTTPS with a test CA ([`serve`]); helpers to read its answers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aims_operator::engine::Snapshot;
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use aims_operator::webhook::server::{RunningServer, ServeOptions, start};
use aims_operator::webhook::tls::CertFiles;
use aims_operator::webhook::{BreakGlassUse, ClusterCache, Context, EventSink};
use serde_json::{Value, json};

use super::https::{Client, TestCa, temp_dir};
use super::support::{lending, now};

#[derive(Default)]
pub struct Recorded(pub Mutex<Vec<BreakGlassUse>>);

impl EventSink for Recorded {
    fn break_glass(&self, used: BreakGlassUse) {
        self.0.lock().unwrap().push(used);
    }
}

/// The webhook served over HTTPS with a certificate from a test CA.
pub struct Harness {
    pub server: RunningServer,
    pub client: Client,
    pub ca: TestCa,
    pub dir: std::path::PathBuf,
    pub events: Arc<Recorded>,
    /// The cache the webhook judges from; tests may replace its snapshot.
    pub cache: Arc<ClusterCache>,
}

/// The webhook's router driven in process: the same routes, handlers, body limit and
/// content-type checks as over HTTPS, without a socket or a handshake.
pub struct InProcess {
    pub client: RouterClient,
    pub events: Arc<Recorded>,
    /// The cache the webhook judges from; tests may replace its snapshot.
    pub cache: Arc<ClusterCache>,
}

/// Sends requests to the router as the HTTPS [`Client`] sends them to the server.
pub struct RouterClient {
    router: axum::Router,
}

impl RouterClient {
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, String) {
        use tower::ServiceExt as _;
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> (u16, String) {
        let body = serde_json::to_vec(body).unwrap();
        self.send("POST", path, "application/json", body).await
    }

    pub async fn get(&mut self, path: &str) -> (u16, String) {
        self.send("GET", path, "text/plain", Vec::new()).await
    }
}

/// The webhook's context for tests: `policy`, the clock at `now()`, events recorded.
fn context(cache: &Arc<ClusterCache>, policy: Policy) -> (Arc<Context>, Arc<Recorded>) {
    let mut ctx = Context::new(cache.clone(), policy, "aims-system");
    ctx.clock = Box::new(now);
    let events = Arc::new(Recorded::default());
    ctx.events = events.clone();
    (Arc::new(ctx), events)
}

pub fn in_process(cache: ClusterCache) -> InProcess {
    in_process_with_policy(cache, Policy::default())
}

/// [`in_process`] under `policy`.
pub fn in_process_with_policy(cache: ClusterCache, policy: Policy) -> InProcess {
    let cache = Arc::new(cache);
    let (ctx, events) = context(&cache, policy);
    InProcess {
        client: RouterClient {
            router: aims_operator::webhook::router(ctx),
        },
        events,
        cache,
    }
}

pub fn in_process_snapshot(snapshot: Snapshot) -> InProcess {
    in_process(ClusterCache::from_snapshot(snapshot))
}

pub async fn serve(cache: ClusterCache) -> Harness {
    serve_with_policy(cache, Policy::default()).await
}

/// [`serve`] under `policy`.
pub async fn serve_with_policy(cache: ClusterCache, policy: Policy) -> Harness {
    let ca = TestCa::new("aims test CA");
    let dir = temp_dir("webhook");
    let (cert, key) = ca.issue(&dir, "first");
    let cache = Arc::new(cache);
    let (ctx, events) = context(&cache, policy);
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        health_listen: None,
        certs: CertFiles { cert, key },
        cert_reload_interval: Duration::from_millis(100),
    };
    let server = start(ctx, &options).await.unwrap();
    let client = Client::connect(server.addr, &ca).await;
    Harness {
        server,
        client,
        ca,
        dir,
        events,
        cache,
    }
}

pub async fn serve_snapshot(snapshot: Snapshot) -> Harness {
    serve(ClusterCache::from_snapshot(snapshot)).await
}

/// The response of a review answered with `status` and `body`, checked to be one.
fn response_of(review: &Value, (status, body): (u16, String)) -> Value {
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(
        answer["response"]["uid"], review["request"]["uid"],
        "the uid must be echoed"
    );
    answer["response"].clone()
}

impl Harness {
    /// Posts a review and returns the parsed response review.
    pub async fn review(&mut self, path: &str, review: &Value) -> Value {
        response_of(review, self.client.post_json(path, review).await)
    }
}

impl InProcess {
    /// Posts a review and returns the parsed response review.
    pub async fn review(&mut self, path: &str, review: &Value) -> Value {
        response_of(review, self.client.post_json(path, review).await)
    }
}

pub fn message(response: &Value) -> &str {
    response["status"]["message"].as_str().unwrap_or("")
}

pub fn audit(response: &Value, key: &str) -> String {
    response["auditAnnotations"][key]
        .as_str()
        .unwrap_or("")
        .to_string()
}

pub fn warnings(response: &Value) -> Vec<String> {
    response["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// `lending` without the approved assessment (and optionally without monitoring).
pub fn lending_unassessed(monitoring: bool) -> Snapshot {
    let register = lending();
    let mut system = register
        .system("lending", "credit-scoring")
        .unwrap()
        .clone();
    if !monitoring {
        system.spec.monitoring = None;
    }
    let mut s = Snapshot::new();
    s.add_system(system);
    s.add_namespace(
        "lending",
        BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), "enforce".to_string())]),
    );
    s
}

pub fn with_namespace_mode(mut s: Snapshot, mode: &str) -> Snapshot {
    s.add_namespace(
        "lending",
        BTreeMap::from([(ENFORCEMENT_LABEL.to_string(), mode.to_string())]),
    );
    s
}

pub fn as_user(mut review: Value, user: &str, groups: &[&str]) -> Value {
    review["request"]["userInfo"] = json!({"username": user, "groups": groups});
    review
}

/// What the API server makes of a write: the response of each webhook, and the object
/// stored when both admit it.
pub struct Outcome {
    pub mutate: Value,
    pub validate: Option<Value>,
    pub stored: Option<Value>,
}

impl Outcome {
    /// The message of the webhook that refused the write.
    pub fn refusal(&self) -> &str {
        let failed = if self.mutate["allowed"] == false {
            &self.mutate
        } else {
            self.validate.as_ref().unwrap()
        };
        failed["status"]["message"].as_str().unwrap()
    }
}

impl InProcess {
    /// Runs a write through /mutate, applies the patch, then /validate-aims.
    pub async fn write(&mut self, review: &Value) -> Outcome {
        let mutate = self.review("/mutate", review).await;
        if mutate["allowed"] == false {
            return Outcome {
                mutate,
                validate: None,
                stored: None,
            };
        }
        let mut object = review["request"]["object"].clone();
        if !mutate["patch"].is_null() {
            assert_eq!(mutate["patchType"], "JSONPatch");
            // The admission API carries the patch as base64 text.
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                mutate["patch"].as_str().expect("base64 patch"),
            )
            .expect("base64 patch");
            let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
            json_patch::patch(&mut object, &patch).unwrap();
        }
        let mut mutated = review.clone();
        mutated["request"]["object"] = object.clone();
        let validate = self.review("/validate-aims", &mutated).await;
        let stored = (validate["allowed"] == true).then_some(object);
        Outcome {
            mutate,
            validate: Some(validate),
            stored,
        }
    }

    pub async fn validate_only(&mut self, review: &Value) -> Value {
        self.review("/validate-aims", review).await
    }
}
