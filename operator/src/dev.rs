//! Dev mode: run aims-operator on a workstation against any cluster. A local CA and serving
//! certificate are made (and kept for the next run), the webhook configurations are
//! registered by URL with that CA once the webhook serves, and removed again at exit, or
//! with `aims-operator dev unregister` after a crash.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::CliError;

use clap::{Args, Subcommand};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use kube::api::{Api, DeleteParams, Patch, PatchParams};

use crate::certs::{self, CertBundle, CertSettings, Renewal};
use crate::registration::{Endpoint, Registration};

/// Field manager of dev-mode registrations.
const FIELD_MANAGER: &str = "aims-operator-dev";

/// `aims-operator dev`.
#[derive(Args, Debug)]
pub struct DevArgs {
    #[command(subcommand)]
    command: DevCommand,
}

#[derive(Subcommand, Debug)]
enum DevCommand {
    /// Run webhook and reconciler here, registered with the cluster by URL.
    ///
    /// Makes (or reuses) a local CA and a certificate for --host in --dir, starts
    /// `aims-operator run` with them, registers the ValidatingWebhookConfiguration and
    /// MutatingWebhookConfiguration --name pointing at https://<host>:<port>, and removes
    /// them on Ctrl-C or SIGTERM. They fail open unless --fail-closed, so a crashed dev
    /// session cannot block the cluster; `aims-operator dev unregister` cleans up after one.
    Run(Box<DevRunArgs>),
    /// Remove the webhook configurations a dev session registered.
    Unregister {
        /// Name of the configurations.
        #[arg(long, default_value = "aims-operator-dev")]
        name: String,
    },
}

/// Options of `aims-operator dev run`.
#[derive(Args, Debug)]
pub struct DevRunArgs {
    /// Address the API server reaches this machine at (kind on Linux: usually 172.18.0.1;
    /// a cluster on this machine: 127.0.0.1).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Folder for the local CA and certificate (reused while valid).
    #[arg(long, default_value = ".aims-dev", value_name = "DIR")]
    dir: PathBuf,
    /// Name of the webhook configurations.
    #[arg(long, default_value = "aims-operator-dev")]
    name: String,
    /// Register with the failure policies of an installation (enforcing namespaces fail
    /// closed) instead of failing open everywhere.
    #[arg(long)]
    fail_closed: bool,
    /// Only send reviews from this namespace.
    #[arg(long, value_name = "NAMESPACE")]
    only_namespace: Option<String>,
    #[command(flatten)]
    run: crate::run::RunArgs,
}

/// What a dev session registers, handed to `run`.
#[derive(Clone, Debug)]
pub struct DevSession {
    /// Registration without its endpoint port (known once the webhook listens).
    pub registration: Registration,
    /// Host part of the URL.
    pub host: String,
    /// Fail open everywhere.
    pub fail_open: bool,
}

impl DevSession {
    /// The configurations for the webhook listening on `port`.
    pub fn configurations(
        &self,
        port: u16,
    ) -> (ValidatingWebhookConfiguration, MutatingWebhookConfiguration) {
        let mut registration = self.registration.clone();
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
            _ => self.host.clone(),
        };
        registration.endpoint = Endpoint::Url(format!("https://{host}:{port}"));
        let mut validating = registration.validating();
        let mut mutating = registration.mutating();
        if self.fail_open {
            for webhook in validating.webhooks.iter_mut().flatten() {
                webhook.failure_policy = Some("Ignore".into());
            }
            for webhook in mutating.webhooks.iter_mut().flatten() {
                webhook.failure_policy = Some("Ignore".into());
            }
        }
        (validating, mutating)
    }

    /// Registers both configurations (server-side apply; a leftover of an earlier session is
    /// taken over).
    pub async fn register(&self, client: &kube::Client, port: u16) -> Result<(), kube::Error> {
        let (validating, mutating) = self.configurations(port);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        Api::<ValidatingWebhookConfiguration>::all(client.clone())
            .patch(&self.registration.name, &params, &Patch::Apply(&validating))
            .await?;
        Api::<MutatingWebhookConfiguration>::all(client.clone())
            .patch(&self.registration.name, &params, &Patch::Apply(&mutating))
            .await?;
        tracing::info!(name = %self.registration.name, host = %self.host, port, "webhooks registered by URL");
        Ok(())
    }

    /// Removes both configurations; failures are reported, not fatal.
    pub async fn unregister(&self, client: &kube::Client) {
        unregister(client, &self.registration.name).await;
    }
}

/// Deletes the named configurations; a missing one is fine.
pub async fn unregister(client: &kube::Client, name: &str) -> bool {
    let params = DeleteParams::default();
    let mut ok = true;
    let results = [
        Api::<ValidatingWebhookConfiguration>::all(client.clone())
            .delete(name, &params)
            .await
            .map(|_| ()),
        Api::<MutatingWebhookConfiguration>::all(client.clone())
            .delete(name, &params)
            .await
            .map(|_| ()),
    ];
    for result in results {
        match result {
            Ok(()) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => {
                ok = false;
                tracing::warn!(%error, name, "webhook configuration not removed; run `aims-operator dev unregister`");
                eprintln!("error: webhook configuration {name} not removed: {error}");
            }
        }
    }
    if ok {
        tracing::info!(name, "webhook configurations removed");
    }
    ok
}

fn read_bundle(dir: &Path) -> Option<CertBundle> {
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
    Some(CertBundle {
        ca_bundle: read("ca.crt")?,
        ca_key: read("ca.key")?,
        cert: read("tls.crt")?,
        key: read("tls.key")?,
    })
}

/// The local CA and certificate for `host` in `dir`: reused while [`certs::plan`] keeps them,
/// renewed (or made) otherwise.
pub fn local_certificates(dir: &Path, host: &str) -> Result<CertBundle, String> {
    let mut settings = CertSettings::for_names(Vec::new());
    match host.parse::<IpAddr>() {
        Ok(ip) => settings.ip_addresses.push(ip),
        Err(_) => settings.dns_names.push(host.to_string()),
    }
    // Nothing else has to trust the local CA first: switch to a new one at once.
    settings.propagation = jiff::SignedDuration::ZERO;
    let now = jiff::Timestamp::now();
    let stored = read_bundle(dir);
    let mut bundle = stored.clone();
    // Fresh, or a new CA and then a leaf from it: never more than a few steps.
    for _ in 0..4 {
        let plan = certs::plan(bundle.as_ref(), &settings, now);
        if plan.renewal == Renewal::Keep {
            break;
        }
        bundle = Some(
            certs::renew(bundle.as_ref(), &plan.renewal, &settings, now)
                .map_err(|e| e.to_string())?,
        );
    }
    let bundle = bundle.ok_or("no certificates")?;
    if stored.as_ref() != Some(&bundle) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for (file, content) in [
            ("ca.crt", &bundle.ca_bundle),
            ("ca.key", &bundle.ca_key),
            ("tls.crt", &bundle.cert),
            ("tls.key", &bundle.key),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, content)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(bundle)
}

/// Runs `aims-operator dev ...`.
pub fn run(args: DevArgs) -> Result<ExitCode, CliError> {
    match args.command {
        DevCommand::Run(dev) => {
            let dev = *dev;
            let bundle = local_certificates(&dev.dir, &dev.host).map_err(CliError::Input)?;
            let mut run = dev.run;
            run.use_dev_certificates(&dev.dir);
            let mut registration = Registration::in_cluster(run.namespace());
            registration.name = dev.name;
            registration.ca_bundle = Some(bundle.ca_bundle);
            registration.only_namespace = dev.only_namespace;
            run.dev = Some(DevSession {
                registration,
                host: dev.host,
                fail_open: !dev.fail_closed,
            });
            crate::run::run(run)
        }
        DevCommand::Unregister { name } => crate::cli::runtime(1)?.block_on(async {
            let client = kube::Client::try_default()
                .await
                .map_err(|e| CliError::NoCluster(e.to_string()))?;
            Ok(if unregister(&client, &name).await {
                println!("removed webhook configurations {name} (if they existed)");
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }),
    }
}
