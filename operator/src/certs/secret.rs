//! The I/O around [`super::plan`]: the certificates live in one Secret (type
//! `kubernetes.io/tls`, plus `ca.crt` and `ca.key`), every replica mirrors it into the files
//! the webhook serves, and the webhook configurations' `caBundle` follows the Secret.
//!
//! Every replica runs this loop; no leader is needed because each write carries the
//! `resourceVersion` it read (a replica that loses the race re-reads and finds the work done).
//! The only change ever made to a webhook configuration is its `caBundle`: it is never deleted,
//! disabled or widened from here, whatever health checks say.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};

use super::{CertBundle, CertSettings, Renewal, plan, renew};
use crate::webhook::tls::CertFiles;

/// Secret keys.
pub const CA_BUNDLE_KEY: &str = "ca.crt";
/// Secret key of the newest CA's private key.
pub const CA_KEY_KEY: &str = "ca.key";
/// Secret key of the serving certificate.
pub const CERT_KEY: &str = "tls.crt";
/// Secret key of the serving certificate's private key.
pub const KEY_KEY: &str = "tls.key";

/// Where the self-managed certificates live and whom they serve.
#[derive(Clone, Debug)]
pub struct SelfManaged {
    /// Namespace of the Secret.
    pub namespace: String,
    /// Name of the Secret.
    pub secret: String,
    /// ValidatingWebhookConfiguration and MutatingWebhookConfiguration whose `caBundle` is
    /// kept equal to the trusted CAs (both kinds are looked up under each name).
    pub webhook_configurations: Vec<String>,
    /// Lifetimes and names.
    pub settings: CertSettings,
    /// Files the webhook serves from.
    pub files: CertFiles,
}

/// What one pass did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pass {
    /// The renewal carried out (`Keep` when none).
    pub renewal: Renewal,
    /// Webhook configurations whose `caBundle` was updated.
    pub patched: Vec<String>,
    /// When to look again.
    pub next_check: Timestamp,
    /// Expiry of the newest CA.
    pub ca_not_after: Option<Timestamp>,
}

/// Why a pass failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The API server refused or could not be reached.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// A certificate could not be made.
    #[error(transparent)]
    Cert(#[from] super::CertError),
    /// The serving files could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Other replicas kept winning the race to write the Secret.
    #[error("the Secret kept changing under us; retrying")]
    Contended,
}

fn text(secret: &Secret, key: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .unwrap_or_default()
}

/// The certificates a Secret holds (empty strings for missing keys; [`plan`] calls that
/// unusable).
pub fn bundle_of(secret: &Secret) -> CertBundle {
    CertBundle {
        ca_bundle: text(secret, CA_BUNDLE_KEY),
        ca_key: text(secret, CA_KEY_KEY),
        cert: text(secret, CERT_KEY),
        key: text(secret, KEY_KEY),
    }
}

fn data_of(bundle: &CertBundle) -> BTreeMap<String, ByteString> {
    [
        (CA_BUNDLE_KEY, &bundle.ca_bundle),
        (CA_KEY_KEY, &bundle.ca_key),
        (CERT_KEY, &bundle.cert),
        (KEY_KEY, &bundle.key),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
    .collect()
}

fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// Writes `content` to `path` through a temporary file and a rename, so the webhook's reload
/// never reads half a file. Unchanged content is not rewritten.
fn write_atomically(path: &Path, content: &str) -> Result<(), SyncError> {
    let failed = |source| SyncError::Write {
        path: path.display().to_string(),
        source,
    };
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, content).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

impl SelfManaged {
    /// One pass: make sure the Secret holds usable, current certificates (renewing per
    /// [`plan`]), mirror them to the serving files and bring each webhook configuration's
    /// `caBundle` up to date.
    pub async fn sync(&self, client: &kube::Client, now: Timestamp) -> Result<Pass, SyncError> {
        let configurations = self.read_configurations(client).await?;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &self.namespace);
        let mut attempts = 0;
        let (bundle, renewal) = loop {
            attempts += 1;
            if attempts > 3 {
                return Err(SyncError::Contended);
            }
            let existing = secrets.get_opt(&self.secret).await?;
            let stored = existing.as_ref().map(bundle_of);
            let decided = plan(stored.as_ref(), &self.settings, now);
            if decided.renewal == Renewal::Keep
                && let Some(stored) = stored
            {
                break (stored, Renewal::Keep);
            }
            let mut next = renew(stored.as_ref(), &decided.renewal, &self.settings, now)?;
            if matches!(decided.renewal, Renewal::Fresh(_)) {
                // Starting over (the Secret was deleted or broken): CAs the webhook
                // configurations still trust stay trusted until they expire, so replicas
                // serving the old certificate for another minute are not refused.
                next.ca_bundle
                    .push_str(&carried_cas(&configurations, &next.ca_bundle, now));
            }
            let written = match existing {
                None => {
                    let secret = Secret {
                        metadata: ObjectMeta {
                            name: Some(self.secret.clone()),
                            namespace: Some(self.namespace.clone()),
                            labels: Some(BTreeMap::from([(
                                "app.kubernetes.io/managed-by".to_string(),
                                "aims-operator".to_string(),
                            )])),
                            ..ObjectMeta::default()
                        },
                        type_: Some("kubernetes.io/tls".to_string()),
                        data: Some(data_of(&next)),
                        ..Secret::default()
                    };
                    secrets.create(&PostParams::default(), &secret).await
                }
                Some(mut secret) => {
                    // resourceVersion stays as read: a concurrent writer makes this a 409.
                    secret.data = Some(data_of(&next));
                    secrets
                        .replace(&self.secret, &PostParams::default(), &secret)
                        .await
                }
            };
            match written {
                Ok(_) => {
                    tracing::info!(secret = %self.secret, renewal = ?decided.renewal, "webhook certificates renewed");
                    break (next, decided.renewal);
                }
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        write_atomically(&self.files.cert, &bundle.cert)?;
        write_atomically(&self.files.key, &bundle.key)?;
        let patched = self
            .update_ca_bundles(client, &configurations, &bundle.ca_bundle)
            .await?;
        let after = plan(Some(&bundle), &self.settings, now);
        Ok(Pass {
            renewal,
            patched,
            next_check: after.next_check,
            ca_not_after: super::inspect_pem(&bundle.ca_bundle)
                .ok()
                .and_then(|cas| cas.first().map(|ca| ca.not_after)),
        })
    }

    /// The webhook configurations that exist, with each webhook's name and `caBundle`.
    async fn read_configurations(
        &self,
        client: &kube::Client,
    ) -> Result<Vec<Configuration>, SyncError> {
        let mut found = Vec::new();
        for name in &self.webhook_configurations {
            let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
                .get_opt(name)
                .await?
                .map(|c| {
                    let webhooks = c.webhooks.into_iter().flatten();
                    (
                        false,
                        names_and_bundles(webhooks.map(|w| (w.name, w.client_config))),
                    )
                });
            let mutating = Api::<MutatingWebhookConfiguration>::all(client.clone())
                .get_opt(name)
                .await?
                .map(|c| {
                    let webhooks = c.webhooks.into_iter().flatten();
                    (
                        true,
                        names_and_bundles(webhooks.map(|w| (w.name, w.client_config))),
                    )
                });
            for (mutating, webhooks) in validating.into_iter().chain(mutating) {
                found.push(Configuration {
                    mutating,
                    name: name.clone(),
                    webhooks,
                });
            }
        }
        Ok(found)
    }

    async fn update_ca_bundles(
        &self,
        client: &kube::Client,
        configurations: &[Configuration],
        ca_bundle: &str,
    ) -> Result<Vec<String>, SyncError> {
        let mut patched = Vec::new();
        for configuration in configurations {
            let operations = ca_bundle_patch(&configuration.webhooks, ca_bundle);
            if operations.is_empty() {
                continue;
            }
            let Ok(patch) =
                serde_json::from_value::<json_patch::Patch>(serde_json::Value::Array(operations))
            else {
                continue;
            };
            let (params, patch) = (PatchParams::default(), Patch::Json::<()>(patch));
            let name = &configuration.name;
            if configuration.mutating {
                Api::<MutatingWebhookConfiguration>::all(client.clone())
                    .patch(name, &params, &patch)
                    .await?;
                patched.push(format!("MutatingWebhookConfiguration/{name}"));
            } else {
                Api::<ValidatingWebhookConfiguration>::all(client.clone())
                    .patch(name, &params, &patch)
                    .await?;
                patched.push(format!("ValidatingWebhookConfiguration/{name}"));
            }
        }
        Ok(patched)
    }

    /// Runs [`Self::sync`] until `stopped` fires: again at each plan's next check and at least
    /// every minute (so every replica serves a certificate another replica renewed, or a
    /// Secret replaced by hand, within a minute), after a failure with backoff.
    pub async fn run(
        self,
        client: kube::Client,
        on_ca: impl Fn(Timestamp) + Send,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let now = Timestamp::now();
            let wait = match self.sync(&client, now).await {
                Ok(pass) => {
                    backoff = Duration::from_secs(1);
                    if let Some(not_after) = pass.ca_not_after {
                        on_ca(not_after);
                    }
                    if !pass.patched.is_empty() {
                        tracing::info!(patched = ?pass.patched, "caBundle updated");
                    }
                    let until = pass.next_check.duration_since(now).as_secs().max(1);
                    Duration::from_secs(u64::try_from(until).unwrap_or(1))
                        .min(Duration::from_secs(60))
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "webhook certificates not synced");
                    let wait = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => return,
            }
        }
    }
}

fn names_and_bundles(
    webhooks: impl Iterator<Item = (String, WebhookClientConfig)>,
) -> Vec<(String, Option<ByteString>)> {
    webhooks
        .map(|(name, config)| (name, config.ca_bundle))
        .collect()
}

/// One webhook configuration as read: its kind, name, and each webhook's `caBundle`.
struct Configuration {
    mutating: bool,
    name: String,
    webhooks: Vec<(String, Option<ByteString>)>,
}

/// The unexpired CAs the configurations trust that `bundle` does not hold yet, as PEM.
fn carried_cas(configurations: &[Configuration], bundle: &str, now: Timestamp) -> String {
    let mut present = super::split_pem(bundle);
    let mut carried = String::new();
    for (_, trusted) in configurations.iter().flat_map(|c| &c.webhooks) {
        let Some(trusted) = trusted else { continue };
        let text = String::from_utf8_lossy(&trusted.0);
        for ca in super::split_pem(&super::unexpired_cas(&text, now)) {
            if !present.contains(&ca) {
                carried.push_str(&ca);
                present.push(ca);
            }
        }
    }
    carried
}

/// The JSON patch operations that bring each webhook's `caBundle` to `ca_bundle` (empty when
/// all already match). Pure, so the exact patch is tested.
pub fn ca_bundle_patch(
    current: &[(String, Option<ByteString>)],
    ca_bundle: &str,
) -> Vec<serde_json::Value> {
    let encoded = crate::webhook::review::base64(ca_bundle.as_bytes());
    let mut operations = Vec::new();
    for (index, (webhook, bundle)) in current.iter().enumerate() {
        if bundle.as_ref().is_some_and(|b| b.0 == ca_bundle.as_bytes()) {
            continue;
        }
        operations.push(serde_json::json!({"op": "test", "path": format!("/webhooks/{index}/name"), "value": webhook}));
        operations.push(serde_json::json!({"op": "add", "path": format!("/webhooks/{index}/clientConfig/caBundle"), "value": encoded}));
    }
    operations
}
