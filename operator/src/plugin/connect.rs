//! Which cluster `kubectl aims` talks to, chosen as kubectl chooses it (`--kubeconfig`,
//! `--context`, the context's namespace), and errors worded as kubectl words them.

use std::path::PathBuf;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Which cluster(s) a live command reads, as kubectl chooses them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Connection {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config; in a pod,
    /// its service account).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: the current context). soa, register and
    /// evidence take it several times and merge the clusters into one organisation view,
    /// each system named with its context (`<context>/<namespace>/<name>`).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Vec<String>,
}

/// One cluster, connected.
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// The context's name as given (`None` for the current context).
    pub context: Option<String>,
    /// The namespace of the context (kubectl's default for `-n`).
    pub default_namespace: String,
    /// The API server's URL.
    pub url: String,
}

impl Connection {
    /// The one cluster a command reads; several `--context` values are refused.
    pub async fn cluster(&self) -> Result<Cluster, PluginError> {
        match self.context.as_slice() {
            [] => self.connect(None).await,
            [one] => self.connect(Some(one)).await,
            _ => Err(PluginError::Usage(
                "this command works on one cluster: give --context once (soa, register and \
                 evidence take several)"
                    .to_string(),
            )),
        }
    }

    /// Every cluster named by `--context` (the current context when none is).
    pub async fn clusters(&self) -> Result<Vec<Cluster>, PluginError> {
        if self.context.is_empty() {
            return Ok(vec![self.connect(None).await?]);
        }
        let mut clusters = Vec::new();
        for (i, context) in self.context.iter().enumerate() {
            if self.context[..i].contains(context) {
                return Err(PluginError::Usage(format!(
                    "--context {context} is given twice"
                )));
            }
            clusters.push(self.connect(Some(context)).await?);
        }
        Ok(clusters)
    }

    async fn connect(&self, context: Option<&str>) -> Result<Cluster, PluginError> {
        let config = if self.kubeconfig.is_none() && context.is_none() {
            kube::Config::infer()
                .await
                .map_err(|e| PluginError::Config(e.to_string()))?
        } else {
            let kubeconfig = match &self.kubeconfig {
                Some(path) => Kubeconfig::read_from(path).map_err(|e| {
                    PluginError::Usage(format!("cannot read kubeconfig {}: {e}", path.display()))
                })?,
                None => Kubeconfig::read().map_err(|e| PluginError::Config(e.to_string()))?,
            };
            if let Some(context) = context
                && !kubeconfig.contexts.iter().any(|c| c.name == context)
            {
                return Err(PluginError::Usage(format!(
                    "context \"{context}\" does not exist"
                )));
            }
            let options = KubeConfigOptions {
                context: context.map(str::to_string),
                ..KubeConfigOptions::default()
            };
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| PluginError::Config(e.to_string()))?
        };
        let default_namespace = config.default_namespace.clone();
        let url = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| PluginError::Config(e.to_string()))?;
        Ok(Cluster {
            client,
            context: context.map(str::to_string),
            default_namespace,
            url,
        })
    }
}

/// Why a live command failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No kubeconfig or in-cluster configuration.
    #[error("no Kubernetes configuration found ({0}); set KUBECONFIG or a current context")]
    Config(String),
    /// An API call failed.
    #[error("{}", kubectl_style(what, source))]
    Api {
        /// What was being done.
        what: String,
        /// The API error (a webhook refusal carries its full message here).
        source: kube::Error,
    },
    /// The request cannot be understood.
    #[error("{0}")]
    Usage(String),
}

/// An API error as kubectl prints it (`Error from server (Forbidden): ...`), saying what
/// was being done.
fn kubectl_style(what: &str, error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!(
            "{what}: Error from server ({}): {}",
            if status.reason.is_empty() {
                status.code.to_string()
            } else {
                status.reason.clone()
            },
            status.message
        ),
        other => format!(
            "{what}: the connection to the server failed ({other}); did you specify the right host or port?"
        ),
    }
}

/// Wraps an API error with what was being done.
pub fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> PluginError {
    let what = what.into();
    move |source| PluginError::Api { what, source }
}

/// The namespaces an organisation-wide reading covers.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Namespaces {
    /// Only this namespace.
    #[arg(short, long, conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,
    /// Every namespace: the default for this reading, which is the organisation's.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

impl Namespaces {
    /// The one namespace read, or `None` for all.
    pub fn only(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}
