//! How a command fails. Every command of both binaries returns a [`CliError`]; [`report`]
//! alone prints it and chooses the exit status, so that both print errors as kubectl does
//! (`error: ...` on stderr, nothing half-written on stdout) and mean the same by a status.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::plugin::PluginError;
use crate::policy::PolicyError;

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The policy file could not be used.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The input cannot give what the command was asked for.
    #[error("{0}")]
    Input(String),
    /// The options ask for something the command does not do.
    #[error("{0}")]
    Usage(String),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// No API server to talk to.
    #[error(
        "no Kubernetes API server configuration found ({0}); in a pod the service account is \
         used, outside one KUBECONFIG or ~/.kube/config"
    )]
    NoCluster(String),
    /// The webhook could not be served.
    #[error(transparent)]
    Serve(#[from] crate::webhook::server::ServeError),
    /// A live command of `kubectl aims` failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// An evidence package did not verify: each problem, then this verdict.
    #[error("{}: NOT verified ({} problem(s))", package.display(), problems.len())]
    NotVerified {
        /// The package.
        package: PathBuf,
        /// What did not verify.
        problems: Vec<String>,
    },
}

impl CliError {
    /// 1 when the command did its job and the answer is "no" (a package that does not
    /// verify, like a refused workload); 2 when it could not do its job.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::NotVerified { .. } => ExitCode::from(1),
            _ => ExitCode::from(2),
        }
    }
}

/// Prints `error` on stderr and returns the exit status it means.
pub fn report(error: &CliError) -> ExitCode {
    match error {
        CliError::NotVerified { problems, .. } => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            eprintln!("{error}");
        }
        _ => eprintln!("error: {error}"),
    }
    error.exit_code()
}

/// The exit status of a command's outcome, its error reported.
pub fn finish(outcome: Result<ExitCode, CliError>) -> ExitCode {
    outcome.unwrap_or_else(|error| report(&error))
}
