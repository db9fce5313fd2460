//! The command line: offline `check` and `soa` over manifest files, `crds` generation, the
//! Annex A `catalog`, and `demo` on the embedded examples.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::render::Format;
use clap::{Parser, Subcommand};
use jiff::Timestamp;

use crate::manifests::Loaded;
use crate::policy::Policy;
use crate::{render, soa};

mod check;
mod error;

pub use check::check_loaded;
use check::{CheckFormat, check};
pub use error::{CliError, finish, report};

mod standalone;
pub use standalone::*;

/// ISO/IEC 42001 AI management system enforcement for Kubernetes.
///
/// The same engine runs in the admission webhook, the operator and these offline commands,
/// so a pipeline that runs `aims-operator check` on pull requests refuses exactly what the
/// cluster would refuse.
#[derive(Parser, Debug)]
#[command(name = "aims-operator", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Judge every workload in the manifests as the admission webhook would.
    ///
    /// Reads YAML/JSON files and folders (multi-document, `---`), builds the AI system
    /// register from the AISystem, ImpactAssessment and ControlBinding resources found, and
    /// judges every Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod and
    /// KServe InferenceService. Exit status: 0 all admitted, 1 something would be denied,
    /// 2 some input could not be read (it is reported and the rest is still judged).
    Check {
        /// Files or folders to read.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = CheckFormat::Text)]
        output: CheckFormat,
        #[command(flatten)]
        common: CommonArgs,
        /// Also list workloads that are outside enforcement.
        #[arg(short, long)]
        verbose: bool,
        /// Instead of judging, list model-serving workloads in any namespace (opted in or
        /// not) that no AISystem covers, each with a draft AISystem (`-o yaml` prints the
        /// drafts). Exit status 1 when there is any.
        #[arg(long)]
        discover: bool,
    },
    /// Print the Statement of Applicability for the resources in the manifests.
    ///
    /// Lists all 38 Annex A controls with applicability, justification, implementation,
    /// status, evidence and verification time; controls nobody addressed show as gaps.
    Soa(Reading),
    /// Print the AI system register for the AISystems in the manifests.
    ///
    /// Every register field (owner, purpose, intended use, roles, techniques, training and
    /// input data with provenance, output, affected parties, risk tier, regulations, stage,
    /// models and suppliers, monitoring, human oversight, review dates) with the covering
    /// assessment and compliance, as the operator would report them.
    Register(Reading),
    /// Print the risk register: every risk of every assessment in the manifests, with its
    /// system, owner, rating, treatment, the state of its controls and who accepted it.
    Risks(Reading),
    /// Print the nonconformity register: every record with severity, source, system and
    /// control, owner, root cause, corrective action, due date, and where it stands now (open,
    /// closed, reopened by a recurrence, overdue).
    Nonconformities(Reading),
    /// Print the AI incident log: every incident with its system and model, severity,
    /// whether it is serious and by when it had to be reported (from the catalog's
    /// regulatory data), the notifications made, its resolution and the times to detect and
    /// to resolve.
    Incidents(Reading),
    /// Print the internal audit register: every audit with each finding, the nonconformity
    /// record that tracks it and where that stands (open, closed, reopened, awaiting its
    /// record), latest audit first.
    Audits(Reading),
    /// Print one impact assessment for a person: impacts by area, the risk matrix before
    /// and after treatment, the treatment and its controls with their state now, the
    /// acceptance rationale and the approval record with the AISystem fields it bound and
    /// any that changed since. CSV has one row per risk.
    Assessment {
        /// The assessment's name (`--namespace` chooses when several namespaces have one).
        name: String,
        #[command(flatten)]
        reading: Reading,
    },
    /// Gather a management review's inputs from the manifests: the objectives against
    /// their targets with their trend since the last review, nonconformities and overdue
    /// actions, AI incidents, internal audits, changes to the register and the SoA since the
    /// last ManagementReview, assessments and register reviews falling due, open actions.
    ///
    /// `--format yaml` writes a ManagementReview with the inputs filled in: add the chair,
    /// the decisions and the actions, and apply it.
    Review {
        /// Files or folders to read.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        review: crate::review_inputs::ReviewArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Write a signed evidence package for an audit period, or verify one.
    ///
    /// The package (tar.gz) holds the SoA (Markdown, HTML, JSON, CSV), the AI system and
    /// risk registers, every assessment rendered, the objectives, and with --audit-log the
    /// webhook's admission decisions of the period per system and rule. Its manifest lists
    /// each file's SHA-256 and is signed with Ed25519 (DSSE envelope, in-toto statement).
    /// The same inputs and --now give a byte-identical package.
    ///
    /// `aims-operator evidence verify FILE --public-key PUB` exits 0 only when the signature
    /// and every file check out, and names what does not.
    Evidence(EvidenceCommand),
    /// Write the CustomResourceDefinitions generated from the types.
    Crds {
        /// Write one file per CRD into this folder instead of printing them.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// List the Annex A controls and the admission rules.
    Catalog,
    /// Run in the cluster: the admission webhook over HTTPS and the status reconciler.
    ///
    /// Needs a serving certificate (--tls-cert, --tls-key; reloaded when the files change)
    /// and access to the API server (service account in a pod, KUBECONFIG outside). Stops
    /// gracefully on SIGTERM: readiness fails first, reviews in flight finish.
    Run(Box<crate::run::RunArgs>),
    /// Develop against any cluster: run here, registered with the cluster by URL.
    Dev(crate::dev::DevArgs),
    /// Run `check` and `soa` on the built-in examples (no files needed).
    Demo {
        /// Evaluate at this time instead of now (RFC 3339).
        #[arg(long, value_name = "TIME")]
        now: Option<Timestamp>,
    },
}

/// What a reading of manifests for people takes: the files, the format and the common
/// options.
#[derive(clap::Args, Debug)]
struct Reading {
    /// Files or folders to read.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct EvidenceCommand {
    #[command(subcommand)]
    verify: Option<EvidenceVerify>,
    /// Files or folders to read.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    package: crate::evidence::PackageArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand, Debug)]
enum EvidenceVerify {
    /// Check a package: its manifest's signature with the public key, and every file
    /// against the manifest. Exit status 0 when all check out, 1 when anything does not.
    Verify {
        /// The package (tar.gz).
        package: PathBuf,
        /// Ed25519 public key in PEM (`openssl pkey -in KEY -pubout -out PUB`).
        #[arg(long, value_name = "PUB")]
        public_key: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct CommonArgs {
    /// Policy file (YAML): required controls per risk tier, default mode, approver groups.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Namespace for objects that name none.
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// Evaluate at this time instead of now (RFC 3339), e.g. to see what expires next month.
    #[arg(long, value_name = "TIME")]
    now: Option<Timestamp>,
}

fn load(paths: &[PathBuf], common: &CommonArgs) -> Result<(Loaded, Policy, Timestamp), CliError> {
    let policy = match &common.policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    let mut loaded = Loaded::new(&common.namespace);
    loaded.read_paths(paths);
    Ok((loaded, policy, common.now.unwrap_or_else(Timestamp::now)))
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope_of(paths: &[PathBuf]) -> String {
    format!("files {}", list(paths))
}

/// Writes to stdout. A reader that goes away (`| head`) ends the output quietly instead of
/// a panic; other write errors are reported on stderr.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the output: {e}");
    }
}

/// An async runtime for the commands that talk to a cluster.
pub(crate) fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, CliError> {
    let mut builder = if threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(CliError::Runtime)
}

/// Runs the command line; returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    finish(execute(cli))
}

fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Check {
            paths,
            output,
            common,
            verbose,
            discover,
        } => check(&paths, output, &common, verbose, discover),
        Command::Soa(r) => print_reading(&r, "Statement of Applicability", |l, p, now| {
            let statement = soa::build(&l.snapshot, p, &scope_of(&r.paths), now);
            Ok(render::soa::render(&statement, r.format))
        }),
        Command::Register(r) => print_reading(&r, "register", |l, p, now| {
            Ok(crate::register::render(
                &crate::register::build(&l.snapshot, p, now),
                r.format,
            ))
        }),
        Command::Risks(r) => print_reading(&r, "risk register", |l, p, now| {
            let rows = crate::risks::register(&l.snapshot, p, now);
            Ok(crate::risks::render(&rows, r.format))
        }),
        Command::Nonconformities(r) => print_reading(&r, "nonconformity register", |l, p, now| {
            let rows = crate::nonconformities::register(&l.snapshot, p, now);
            Ok(crate::nonconformities::render(&rows, r.format))
        }),
        Command::Incidents(r) => print_reading(&r, "incident log", |l, p, now| {
            let rows = crate::incidents::log(&l.snapshot, p, now);
            Ok(crate::incidents::render(&rows, r.format))
        }),
        Command::Audits(r) => print_reading(&r, "audit register", |l, p, now| {
            Ok(crate::audits::render(
                &crate::audits::register(&l.snapshot, p, now),
                r.format,
            ))
        }),
        Command::Review {
            paths,
            review,
            common,
        } => {
            let reading = Reading {
                paths,
                format: Format::Markdown,
                common,
            };
            print_reading(&reading, "review inputs", |l, p, now| {
                review.print(&l.snapshot, p, now)
            })
        }
        Command::Assessment { name, reading } => {
            let explicit = (reading.common.namespace != "default")
                .then_some(reading.common.namespace.as_str());
            print_reading(&reading, "assessment", |l, p, now| {
                let a = crate::assessment::find(&l.snapshot, &name, explicit)?;
                let view = crate::assessment::view(&l.snapshot, a, p, now);
                Ok(crate::assessment::render(&view, reading.format))
            })
        }
        Command::Evidence(command) => evidence(command),
        Command::Crds { output_dir } => write_crds(output_dir),
        Command::Catalog => {
            emit(&catalog_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => crate::run::run(*args),
        Command::Dev(args) => crate::dev::run(args),
        Command::Demo { now } => Ok(demo(now.unwrap_or_else(Timestamp::now))),
    }
}

/// Loads the whole input of a reading for `what` and prints what `render` makes of it;
/// after a load or render error nothing is on stdout.
fn print_reading(
    reading: &Reading,
    what: &str,
    render: impl FnOnce(&Loaded, &Policy, Timestamp) -> Result<String, String>,
) -> Result<ExitCode, CliError> {
    let (loaded, policy, now) = load_whole(&reading.paths, &reading.common, what)?;
    let text = render(&loaded, &policy, now).map_err(CliError::Input)?;
    emit(&text);
    Ok(ExitCode::SUCCESS)
}

/// Loads `paths` for a document that must rest on the whole input: any unreadable document,
/// or no AIMS resource at all, is an error and nothing is written to stdout.
fn load_whole(
    paths: &[PathBuf],
    common: &CommonArgs,
    what: &str,
) -> Result<(Loaded, Policy, Timestamp), CliError> {
    let (loaded, policy, now) = load(paths, common)?;
    for e in &loaded.errors {
        eprintln!("error: {e}");
    }
    if !loaded.errors.is_empty() {
        return Err(CliError::Input(format!(
            "no {what} written: {} document(s) could not be read",
            loaded.errors.len()
        )));
    }
    if loaded.aims_objects == 0 {
        return Err(CliError::Input(format!(
            "no AIMS resource (AISystem, ImpactAssessment, ControlBinding) in {}: nothing to state",
            list(paths)
        )));
    }
    Ok((loaded, policy, now))
}

fn evidence(command: EvidenceCommand) -> Result<ExitCode, CliError> {
    if let Some(EvidenceVerify::Verify {
        package,
        public_key,
    }) = command.verify
    {
        let report = crate::evidence::verify_package(&package, &public_key)
            .map_err(|problems| CliError::NotVerified { package, problems })?;
        emit(&format!("{report}\n"));
        return Ok(ExitCode::SUCCESS);
    }
    let (loaded, policy, now) = load_whole(&command.paths, &command.common, "evidence package")?;
    let source = scope_of(&command.paths);
    let line =
        crate::evidence::write_package(&loaded.snapshot, &policy, source, &command.package, now)
            .map_err(CliError::Input)?;
    eprintln!("{line}");
    Ok(ExitCode::SUCCESS)
}
