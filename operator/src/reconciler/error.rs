//! Why a reconcile failed, and whether trying again can help.

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The object has no namespace (cannot happen for a namespaced kind served by the API).
    #[error("{0} has no namespace")]
    NoNamespace(String),
    /// A request to the API server failed.
    #[error("{request} of {kind} {ns}/{name} failed: {source}")]
    Api {
        /// What was asked of the API server.
        request: ApiRequest,
        /// Kind of the object.
        kind: &'static str,
        /// Namespace.
        ns: String,
        /// Name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
}

/// The reconciler's requests to the API server, named in its errors and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRequest {
    /// Reading back the stored status before writing one.
    ReadStatus,
    /// Writing the status.
    WriteStatus,
    /// Creating a record (a detected nonconformity).
    Create,
    /// Server-side apply of a derived object (an OpenReports Report).
    Apply,
}

impl std::fmt::Display for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiRequest::ReadStatus => "status read",
            ApiRequest::WriteStatus => "status write",
            ApiRequest::Create => "create",
            ApiRequest::Apply => "apply",
        })
    }
}

impl ReconcileError {
    /// The error for `request` on `kind` `ns/name`, to map a `kube::Error` into.
    /// The names are copied only when the request fails.
    pub fn api<'a>(
        request: ApiRequest,
        kind: &'static str,
        ns: &'a str,
        name: &'a str,
    ) -> impl FnOnce(kube::Error) -> Self + 'a {
        move |source| ReconcileError::Api {
            request,
            kind,
            ns: ns.to_string(),
            name: name.to_string(),
            source,
        }
    }

    /// Whether retrying later can help: API errors other than a missing object and a
    /// rejected body are transient.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::NoNamespace(_) => false,
            ReconcileError::Api { source, .. } => !matches!(
                source,
                kube::Error::Api(status) if status.code == 404 || status.code == 422
            ),
        }
    }
}
