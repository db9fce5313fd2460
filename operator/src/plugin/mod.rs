//! `kubectl aims`: the live cluster at a terminal. The Statement of Applicability read from
//! the cluster, why a workload would be refused, approvals recorded as the current user
//! (the webhook stamps them), and the offline check. Every answer comes from the same engine
//! as the webhook and the reconciler.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jiff::Timestamp;

use crate::render::Format;
use crate::{render, soa};

mod actions;
mod connect;
mod live;
mod review;

pub use actions::{decide, explain, workload_resource};

pub use connect::{Cluster, Connection, Namespaces, PluginError, api_error};
pub use live::{live_policy, live_snapshot};
use live::{live_reading, print_reading};

/// The AI management system in your cluster: SoA, explanations, approvals.
///
/// Chooses the cluster as kubectl does: the current context of $KUBECONFIG (or
/// ~/.kube/config), or --kubeconfig and --context. Commands on one object default to the
/// context's namespace; the organisation-wide readings (soa, register, risks,
/// nonconformities, incidents, discover, evidence) read every namespace unless given -n.
#[derive(Parser, Debug)]
#[command(name = "kubectl-aims", bin_name = "kubectl aims", version)]
pub struct PluginCli {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Print the Statement of Applicability from the live cluster.
    Soa {
        #[command(flatten)]
        namespaces: Namespaces,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the AI system register from the live cluster: every register field, with the
    /// covering assessment, compliance and review dates.
    Register(LiveReading),
    /// Print the risk register from the live cluster: every risk of every assessment with
    /// its system, owner, rating, treatment, the state of its controls and who accepted it.
    Risks(LiveReading),
    /// Print the nonconformity register from the live cluster: every record, where it stands
    /// now (open, closed, reopened, overdue) and whether its detected condition holds.
    Nonconformities(LiveReading),
    /// Print the AI incident log from the live cluster: each incident, its reporting
    /// deadline and where the report stands, notifications, resolution, times to detect and
    /// to resolve.
    Incidents(LiveReading),
    /// Print the internal audit register from the live cluster: every audit with each
    /// finding, the nonconformity record that tracks it and where that stands.
    Audits(LiveReading),
    /// Print one impact assessment for a person, with its controls' state now and the
    /// AISystem fields its approval bound (CSV: one row per risk).
    Assessment {
        /// The assessment's name.
        name: String,
        /// Its namespace (default: the context's).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List model-serving workloads in every namespace (opted in or not) that no AISystem
    /// covers, with a draft AISystem for each (`-o yaml`). Exit status 1 when there is any.
    Discover {
        #[command(flatten)]
        namespaces: Namespaces,
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
        #[command(flatten)]
        namespaces: Namespaces,
        #[command(flatten)]
        package: crate::evidence::PackageArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Explain why a workload would be refused now, and how to fix it.
    Explain {
        /// The workload, as kind/name (deployment/x, sts/x, job/x, cronjob/x, pod/x, isvc/x).
        target: String,
        /// Namespace of the workload (default: the context's).
        #[arg(short, long)]
        namespace: Option<String>,
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
    /// List the Annex A controls (how each is checked, the EU AI Act article and NIST AI
    /// RMF function it maps to) and the admission rules.
    Catalog,
    /// Judge manifests offline, exactly as `aims-operator check` does.
    Check {
        /// Arguments of `aims-operator check`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// What an organisation-wide reading of the live cluster takes.
#[derive(clap::Args, Debug)]
struct LiveReading {
    #[command(flatten)]
    namespaces: Namespaces,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    #[command(flatten)]
    policy: PolicyArgs,
}

impl LiveReading {
    /// Reads the cluster(s) and prints what `render` makes of them.
    async fn print(
        &self,
        connection: &Connection,
        render: impl FnOnce(&crate::engine::Snapshot, &crate::policy::Policy) -> String,
    ) -> Result<ExitCode, PluginError> {
        print_reading(connection, &self.policy, &self.namespaces, render).await
    }
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
    /// Namespace of the assessment (default: the context's).
    #[arg(short, long)]
    namespace: Option<String>,
    /// Comment recorded with the decision.
    #[arg(short, long)]
    comment: Option<String>,
}

async fn run_live(
    connection: &Connection,
    command: PluginCommand,
) -> Result<ExitCode, PluginError> {
    let now = Timestamp::now();
    let c = connection;
    match command {
        PluginCommand::Soa {
            namespaces,
            format,
            policy,
        } => {
            let (policy, snapshot, scope) = live_reading(c, &policy, &namespaces).await?;
            let statement = soa::build(&snapshot, &policy, &scope, now);
            crate::cli::emit(&render::soa::render(&statement, format));
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Register(reading) => {
            reading
                .print(c, |s, p| {
                    crate::register::render(&crate::register::build(s, p, now), reading.format)
                })
                .await
        }
        PluginCommand::Risks(reading) => {
            reading
                .print(c, |s, p| {
                    crate::risks::render(&crate::risks::register(s, p, now), reading.format)
                })
                .await
        }
        PluginCommand::Nonconformities(reading) => {
            reading
                .print(c, |s, p| {
                    crate::nonconformities::render(
                        &crate::nonconformities::register(s, p, now),
                        reading.format,
                    )
                })
                .await
        }
        PluginCommand::Incidents(reading) => {
            reading
                .print(c, |s, p| {
                    crate::incidents::render(&crate::incidents::log(s, p, now), reading.format)
                })
                .await
        }
        PluginCommand::Audits(reading) => {
            reading
                .print(c, |s, p| {
                    crate::audits::render(&crate::audits::register(s, p, now), reading.format)
                })
                .await
        }
        PluginCommand::Review {
            record,
            review,
            policy,
        } => {
            let cluster = c.cluster().await?;
            let policy = live_policy(policy.policy.as_deref(), &policy.operator_namespace)?;
            let snapshot = live_snapshot(&cluster.client, None).await?;
            match record {
                Some(file) => {
                    review::record(&cluster, &file, &snapshot, &policy, &review, now).await
                }
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
            let cluster = c.cluster().await?;
            let namespace = namespace.unwrap_or(cluster.default_namespace);
            let policy = live_policy(policy.policy.as_deref(), &policy.operator_namespace)?;
            let snapshot = live_snapshot(&cluster.client, Some(&namespace)).await?;
            let assessment = crate::assessment::find(&snapshot, &name, Some(&namespace))
                .map_err(PluginError::Usage)?;
            let view = crate::assessment::view(&snapshot, assessment, &policy, now);
            crate::cli::emit(&crate::assessment::render(&view, format));
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Evidence {
            namespaces,
            package,
            policy,
        } => {
            let (policy, snapshot, scope) = live_reading(c, &policy, &namespaces).await?;
            let line = crate::evidence::write_package(&snapshot, &policy, scope, &package, now)
                .map_err(PluginError::Usage)?;
            eprintln!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Discover {
            namespaces,
            output,
            policy,
        } => {
            let cluster = c.cluster().await?;
            let policy = live_policy(policy.policy.as_deref(), &policy.operator_namespace)?;
            let snapshot = live_snapshot(&cluster.client, namespaces.only()).await?;
            let found = crate::discover::live::discover_cluster(
                &cluster.client,
                namespaces.only(),
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
            let cluster = c.cluster().await?;
            let namespace = namespace.unwrap_or(cluster.default_namespace);
            let policy = live_policy(policy.policy.as_deref(), &policy.operator_namespace)?;
            let (message, allowed) =
                explain(&cluster.client, &target, &namespace, &policy, now).await?;
            crate::cli::emit(&format!("{message}\n"));
            Ok(ExitCode::from(if allowed { 0 } else { 1 }))
        }
        PluginCommand::Approve(args) => decide_command(c, args, "Approved").await,
        PluginCommand::Reject(args) => decide_command(c, args, "Rejected").await,
        PluginCommand::Catalog => {
            crate::cli::emit(&crate::cli::catalog_text());
            Ok(ExitCode::SUCCESS)
        }
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

async fn decide_command(
    connection: &Connection,
    args: DecisionArgs,
    decision: &str,
) -> Result<ExitCode, PluginError> {
    let cluster = connection.cluster().await?;
    let namespace = args.namespace.unwrap_or(cluster.default_namespace);
    let line = decide(
        &cluster.client,
        &namespace,
        &args.assessment,
        decision,
        args.comment.as_deref(),
    )
    .await?;
    crate::cli::emit(&format!("{line}\n"));
    Ok(ExitCode::SUCCESS)
}

/// Runs `kubectl aims`; returns the exit status: 2 for an error, printed as kubectl prints
/// one (`error: ...`).
pub fn run(cli: PluginCli) -> ExitCode {
    crate::cli::finish(
        crate::cli::runtime(1)
            .and_then(|runtime| Ok(runtime.block_on(run_live(&cli.connection, cli.command))?)),
    )
}
