//! `kubectl aims`: the live cluster at a terminal. The Statement of Applicability read from
//! the cluster, why a workload would be refused, approvals recorded as the current user
//! (the webhook stamps them), and the offline check. Every answer comes from the same engine
//! as the webhook and the reconciler.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use crate::engine::{Snapshot, evaluate_object};
use crate::policy::Policy;
use crate::render::Format;
use crate::resources::{AISystem, ControlBinding, ImpactAssessment};
use crate::webhook::cache::{Feed, monitors, monitors_served};
use crate::{render, soa};

mod review;

/// The AI management system in your cluster: SoA, explanations, approvals.
///
/// Uses the current kubeconfig context, like kubectl.
#[derive(Parser, Debug)]
#[command(name = "kubectl-aims", bin_name = "kubectl aims", version)]
pub struct PluginCli {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Print the Statement of Applicability from the live cluster.
    Soa {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the AI system register from the live cluster: every register field, with the
    /// covering assessment, compliance and review dates.
    Register {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the risk register from the live cluster: every risk of every assessment with
    /// its system, owner, rating, treatment, the state of its controls and who accepted it.
    Risks {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the nonconformity register from the live cluster: every record, where it stands
    /// now (open, closed, reopened, overdue) and whether its detected condition holds.
    Nonconformities {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the AI incident log from the live cluster: each incident, its reporting
    /// deadline and where the report stands, notifications, resolution, times to detect and
    /// to resolve.
    Incidents {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print one impact assessment for a person, with its controls' state now and the
    /// AISystem fields its approval bound (CSV: one row per risk).
    Assessment {
        /// The assessment's name.
        name: String,
        /// Its namespace.
        #[arg(short, long, default_value = "default")]
        namespace: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List model-serving workloads in every namespace (opted in or not) that no AISystem
    /// covers, with a draft AISystem for each (`-o yaml`). Exit status 1 when there is any.
    Discover {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = crate::discover::DiscoverFormat::Text)]
        output: crate::discover::DiscoverFormat,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Write a signed evidence package for an audit period from the live cluster: the SoA,
    /// the registers, every assessment and, with --audit-log, the webhook's admission
    /// decisions of the period. Check it with `aims-operator evidence verify`.
    Evidence {
        /// Only this namespace (default: every namespace).
        #[arg(short, long)]
        namespace: Option<String>,
        #[command(flatten)]
        package: crate::evidence::PackageArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Explain why a workload would be refused now, and how to fix it.
    Explain {
        /// The workload, as kind/name (deployment/x, sts/x, job/x, cronjob/x, pod/x, isvc/x).
        target: String,
        /// Namespace of the workload.
        #[arg(short, long, default_value = "default")]
        namespace: String,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Gather a management review's inputs from the live cluster, or record a review.
    ///
    /// Without --record: the objectives against their targets with their trend since the
    /// last ManagementReview, nonconformities and overdue actions, AI incidents, internal
    /// audits, changes to the register and the SoA since the last review, assessments and
    /// register reviews falling due, and earlier reviews' open actions. `--format yaml`
    /// writes a ManagementReview with the inputs filled in, to complete and apply.
    ///
    /// With --record FILE: FILE is a ManagementReview (heldAt, chair, attendees, decisions,
    /// actions); the inputs are gathered now and the review is created in the cluster as
    /// the current user (the policy's managementReviewGroups may record reviews).
    Review {
        /// Record the review in FILE (YAML or JSON) with the inputs gathered now.
        #[arg(long, value_name = "FILE")]
        record: Option<std::path::PathBuf>,
        #[command(flatten)]
        review: crate::review_inputs::ReviewArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Approve an impact assessment as the current user (the webhook records who and when).
    Approve(DecisionArgs),
    /// Reject an impact assessment as the current user.
    Reject(DecisionArgs),
    /// Judge manifests offline, exactly as `aims-operator check` does.
    Check {
        /// Arguments of `aims-operator check`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// What the live commands judge with, as the operator does.
#[derive(clap::Args, Debug)]
struct PolicyArgs {
    /// Policy file, as given to the operator.
    #[arg(long, value_name = "FILE")]
    policy: Option<std::path::PathBuf>,
    /// Namespace aims-operator runs in: stamps found there count for nothing, as in the
    /// operator.
    #[arg(long, env = "AIMS_OPERATOR_NAMESPACE", default_value = "aims-system")]
    operator_namespace: String,
}

#[derive(clap::Args, Debug)]
struct DecisionArgs {
    /// Name of the ImpactAssessment.
    assessment: String,
    /// Namespace of the assessment.
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// Comment recorded with the decision.
    #[arg(short, long)]
    comment: Option<String>,
}

/// Why a live command failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No kubeconfig or in-cluster configuration.
    #[error("no Kubernetes configuration found ({0}); set KUBECONFIG or a current context")]
    Config(String),
    /// An API call failed.
    #[error("{what}: {source}")]
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

fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> PluginError {
    let what = what.into();
    move |source| PluginError::Api { what, source }
}

/// Reads the AIMS objects and namespace labels of the cluster (or one namespace) into a
/// snapshot.
pub async fn live_snapshot(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Snapshot, PluginError> {
    /// Lists one kind into the snapshot the way the webhook's cache adds it.
    async fn list_into<K: Feed>(
        api: Api<K>,
        what: &str,
        snapshot: &mut Snapshot,
    ) -> Result<(), PluginError> {
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(api_error(format!("listing {what}")))?;
        // As the cache does on a relist; for monitors this also records that they exist.
        K::clear(snapshot);
        for object in list {
            K::add(snapshot, object);
        }
        Ok(())
    }
    fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
    let mut snapshot = Snapshot::new();
    list_into(
        api::<AISystem>(client, namespace),
        "AISystems",
        &mut snapshot,
    )
    .await?;
    list_into(
        api::<ImpactAssessment>(client, namespace),
        "ImpactAssessments",
        &mut snapshot,
    )
    .await?;
    list_into(
        api::<ControlBinding>(client, namespace),
        "ControlBindings",
        &mut snapshot,
    )
    .await?;
    list_into(
        Api::<Namespace>::all(client.clone()),
        "Namespaces",
        &mut snapshot,
    )
    .await?;
    if crate::webhook::organisation::organisation_served(client).await {
        list_into(
            Api::<crate::resources::AIManagementSystem>::all(client.clone()),
            "AIManagementSystems",
            &mut snapshot,
        )
        .await?;
    }
    if crate::webhook::organisation::aims_kind_served(client, "nonconformities").await {
        list_into(
            api::<crate::resources::Nonconformity>(client, namespace),
            "Nonconformities",
            &mut snapshot,
        )
        .await?;
    }
    if crate::webhook::organisation::aims_kind_served(client, "aiincidents").await {
        list_into(
            api::<crate::resources::AIIncident>(client, namespace),
            "AIIncidents",
            &mut snapshot,
        )
        .await?;
    }
    // Audits and reviews are the organisation's: read whole even for one namespace.
    if crate::webhook::organisation::aims_kind_served(client, "internalaudits").await {
        list_into(
            Api::<crate::resources::InternalAudit>::all(client.clone()),
            "InternalAudits",
            &mut snapshot,
        )
        .await?;
    }
    if crate::webhook::organisation::aims_kind_served(client, "managementreviews").await {
        list_into(
            Api::<crate::resources::ManagementReview>::all(client.clone()),
            "ManagementReviews",
            &mut snapshot,
        )
        .await?;
    }
    // Where the Prometheus Operator's monitors exist, the webhook requires one per system:
    // read them too, or this answer could differ from the webhook's.
    let served = monitors_served(client).await;
    if served.service_monitors {
        list_into(
            api::<monitors::ServiceMonitor>(client, namespace),
            "ServiceMonitors",
            &mut snapshot,
        )
        .await?;
    }
    if served.pod_monitors {
        list_into(
            api::<monitors::PodMonitor>(client, namespace),
            "PodMonitors",
            &mut snapshot,
        )
        .await?;
    }
    Ok(snapshot)
}

/// The API resource of a workload named as kubectl would (`deployment`, `deploy`, `sts`, ...).
pub fn workload_resource(kind: &str) -> Option<ApiResource> {
    let (group, version, kind, plural) = match kind.to_ascii_lowercase().as_str() {
        "deployment" | "deployments" | "deploy" => ("apps", "v1", "Deployment", "deployments"),
        "statefulset" | "statefulsets" | "sts" => ("apps", "v1", "StatefulSet", "statefulsets"),
        "daemonset" | "daemonsets" | "ds" => ("apps", "v1", "DaemonSet", "daemonsets"),
        "replicaset" | "replicasets" | "rs" => ("apps", "v1", "ReplicaSet", "replicasets"),
        "job" | "jobs" => ("batch", "v1", "Job", "jobs"),
        "cronjob" | "cronjobs" | "cj" => ("batch", "v1", "CronJob", "cronjobs"),
        "pod" | "pods" | "po" => ("", "v1", "Pod", "pods"),
        "inferenceservice" | "inferenceservices" | "isvc" => (
            "serving.kserve.io",
            "v1beta1",
            "InferenceService",
            "inferenceservices",
        ),
        _ => return None,
    };
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version,
        kind: kind.to_string(),
        plural: plural.to_string(),
    })
}

/// Why `target` (kind/name) in `namespace` would be refused or admitted now.
pub async fn explain(
    client: &Client,
    target: &str,
    namespace: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<(String, bool), PluginError> {
    let (kind, name) = target.split_once('/').ok_or_else(|| {
        PluginError::Usage(format!(
            "\"{target}\" is not kind/name, e.g. deployment/credit-scorer"
        ))
    })?;
    let resource = workload_resource(kind).ok_or_else(|| {
        PluginError::Usage(format!(
            "{kind} is not a workload kind; use deployment, statefulset, daemonset, replicaset, job, cronjob, pod or inferenceservice"
        ))
    })?;
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource);
    let mut object = api.get(name).await.map_err(api_error(format!(
        "reading {} {namespace}/{name}",
        resource.kind
    )))?;
    object.types = Some(kube::core::TypeMeta {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
    });
    let value = serde_json::to_value(&object).map_err(|e| PluginError::Usage(e.to_string()))?;
    let snapshot = live_snapshot(client, Some(namespace)).await?;
    // Namespace labels decide the mode; the namespaced snapshot lists them all anyway.
    let verdict = evaluate_object(&snapshot, &value, namespace, policy, now)
        .map_err(|e| PluginError::Usage(e.to_string()))?;
    Ok((verdict.message(), verdict.allowed))
}

/// Records a decision on an assessment as the current user. The decision goes in without
/// stamps; the webhook stamps who and when, or refuses with the reason.
pub async fn decide(
    client: &Client,
    args_namespace: &str,
    assessment: &str,
    decision: &str,
    comment: Option<&str>,
) -> Result<String, PluginError> {
    let api = Api::<ImpactAssessment>::namespaced(client.clone(), args_namespace);
    let patch = json!({"spec": {"approval": {
        "decision": decision,
        "comment": comment,
        "decidedBy": null, "decidedAt": null, "contentHash": null, "systemFields": null,
    }}});
    let stored = api
        .patch(assessment, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(api_error(format!(
            "recording the decision on {args_namespace}/{assessment}"
        )))?;
    let approval = stored.spec.approval.as_ref();
    Ok(format!(
        "impactassessment {args_namespace}/{assessment}: {decision} by {} at {}",
        approval
            .and_then(|a| a.decided_by.as_deref())
            .unwrap_or("(not stamped: is the aims-operator webhook installed?)"),
        approval
            .and_then(|a| a.decided_at)
            .map(|t| t.to_string())
            .unwrap_or_default()
    ))
}

/// The policy the live commands judge with: the file given (else the default), with the
/// operator's namespace exempt as the operator itself has it, so that status, the webhook
/// and `kubectl aims` trust the same stamps.
pub fn live_policy(
    path: Option<&std::path::Path>,
    operator_namespace: &str,
) -> Result<Policy, PluginError> {
    let policy = match path {
        Some(p) => Policy::from_file(p).map_err(|e| PluginError::Usage(e.to_string()))?,
        None => Policy::default(),
    };
    Ok(policy.exempting(operator_namespace))
}

async fn client() -> Result<Client, PluginError> {
    Client::try_default()
        .await
        .map_err(|e| PluginError::Config(e.to_string()))
}

/// The policy and the cluster's AIMS objects (in `namespace`, or all) for a live reading.
async fn live_reading(
    args: &PolicyArgs,
    namespace: Option<&str>,
) -> Result<(Policy, Snapshot), PluginError> {
    let policy = live_policy(args.policy.as_deref(), &args.operator_namespace)?;
    let client = client().await?;
    let snapshot = live_snapshot(&client, namespace).await?;
    Ok((policy, snapshot))
}

/// Reads the live cluster as the policy says and prints what `render` makes of it.
async fn print_reading(
    args: &PolicyArgs,
    namespace: Option<&str>,
    render: impl FnOnce(&Snapshot, &Policy) -> String,
) -> Result<ExitCode, PluginError> {
    let (policy, snapshot) = live_reading(args, namespace).await?;
    crate::cli::emit(&render(&snapshot, &policy));
    Ok(ExitCode::SUCCESS)
}

async fn run_live(command: PluginCommand) -> Result<ExitCode, PluginError> {
    let now = Timestamp::now();
    match command {
        PluginCommand::Soa {
            namespace,
            format,
            policy,
        } => {
            let policy = live_policy(policy.policy.as_deref(), &policy.operator_namespace)?;
            let client = client().await?;
            let snapshot = live_snapshot(&client, namespace.as_deref()).await?;
            let scope = match &namespace {
                Some(ns) => format!("namespace {ns} of the current cluster"),
                None => "the current cluster".to_string(),
            };
            let statement = soa::build(&snapshot, &policy, &scope, now);
            crate::cli::emit(&render::soa::render(&statement, format));
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Register {
            namespace,
            format,
            policy,
        } => {
            print_reading(&policy, namespace.as_deref(), |s, p| {
                crate::register::render(&crate::register::build(s, p, now), format)
            })
            .await
        }
        PluginCommand::Risks {
            namespace,
            format,
            policy,
        } => {
            print_reading(&policy, namespace.as_deref(), |s, p| {
                crate::risks::render(&crate::risks::register(s, p, now), format)
            })
            .await
        }
        PluginCommand::Nonconformities {
            namespace,
            format,
            policy,
        } => {
            print_reading(&policy, namespace.as_deref(), |s, p| {
                crate::nonconformities::render(&crate::nonconformities::register(s, p, now), format)
            })
            .await
        }
        PluginCommand::Incidents {
            namespace,
            format,
            policy,
        } => {
            print_reading(&policy, namespace.as_deref(), |s, p| {
                crate::incidents::render(&crate::incidents::log(s, p, now), format)
            })
            .await
        }
        PluginCommand::Review {
            record,
            review,
            policy,
        } => {
            let (policy, snapshot) = live_reading(&policy, None).await?;
            match record {
                Some(file) => review::record(&file, &snapshot, &policy, &review, now).await,
                None => {
                    let text = review
                        .print(&snapshot, &policy, now)
                        .map_err(PluginError::Usage)?;
                    crate::cli::emit(&text);
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        PluginCommand::Assessment {
            name,
            namespace,
            format,
            policy,
        } => {
            let (policy, snapshot) = live_reading(&policy, Some(&namespace)).await?;
            match crate::assessment::find(&snapshot, &name, Some(&namespace)) {
                Ok(a) => {
                    let view = crate::assessment::view(&snapshot, a, &policy, now);
                    crate::cli::emit(&crate::assessment::render(&view, format));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        PluginCommand::Evidence {
            namespace,
            package,
            policy,
        } => {
            let (policy, snapshot) = live_reading(&policy, namespace.as_deref()).await?;
            let source = match (&namespace, kube::Config::infer().await) {
                (Some(ns), Ok(config)) => {
                    format!("namespace {ns} of cluster {}", config.cluster_url)
                }
                (None, Ok(config)) => format!("cluster {}", config.cluster_url),
                (_, Err(_)) => "the current cluster".to_string(),
            };
            match crate::evidence::write_package(&snapshot, &policy, source, &package, now) {
                Ok(line) => {
                    eprintln!("{line}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        PluginCommand::Discover {
            namespace,
            output,
            policy,
        } => {
            let (policy, snapshot) = live_reading(&policy, namespace.as_deref()).await?;
            let client = client().await?;
            let found = crate::discover::live::discover_cluster(
                &client,
                namespace.as_deref(),
                &snapshot,
                &policy,
            )
            .await?;
            crate::cli::emit(&crate::discover::render(&found, output));
            Ok(if found.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        PluginCommand::Explain {
            target,
            namespace,
            policy,
        } => {
            let policy = live_policy(policy.policy.as_deref(), &policy.operator_namespace)?;
            let client = client().await?;
            let (message, allowed) = explain(&client, &target, &namespace, &policy, now).await?;
            crate::cli::emit(&format!("{message}\n"));
            Ok(ExitCode::from(if allowed { 0 } else { 1 }))
        }
        PluginCommand::Approve(args) => decide_command(args, "Approved").await,
        PluginCommand::Reject(args) => decide_command(args, "Rejected").await,
        PluginCommand::Check { args } => {
            let mut full = vec!["aims-operator".to_string(), "check".to_string()];
            full.extend(args);
            match crate::cli::Cli::try_parse_from(full) {
                Ok(cli) => Ok(crate::cli::run(cli)),
                Err(e) => {
                    let _ = e.print();
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

async fn decide_command(args: DecisionArgs, decision: &str) -> Result<ExitCode, PluginError> {
    let client = client().await?;
    let line = decide(
        &client,
        &args.namespace,
        &args.assessment,
        decision,
        args.comment.as_deref(),
    )
    .await?;
    crate::cli::emit(&format!("{line}\n"));
    Ok(ExitCode::SUCCESS)
}

/// Runs `kubectl aims`; returns the exit status.
pub fn run(cli: PluginCli) -> ExitCode {
    let runtime = match crate::cli::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(run_live(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
