//! Serving certificate from PEM files, reloaded when the files change (cert-manager and
//! Kubernetes Secret volumes replace them in place), without a restart. A broken pair on
//! disk is reported and the certificate in use is kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Why a certificate pair could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PEM or the pair is not usable.
    #[error("{0}")]
    Invalid(String),
}

/// Where the serving certificate and key live.
#[derive(Clone, Debug)]
pub struct CertFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// A rustls server configuration from PEM bytes, with the ring provider and HTTP/1.1 and
/// HTTP/2 offered by ALPN.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerConfig, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Invalid(format!("the certificate file is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Invalid(
            "the certificate file holds no certificate".to_string(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TlsError::Invalid(format!("the key file holds no usable private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            TlsError::Invalid(format!(
                "certificate and key do not form a usable pair: {e}"
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Certificate PEM, key PEM, and a fingerprint of both.
type PemPair = (Vec<u8>, Vec<u8>, [u8; 32]);

impl CertFiles {
    /// The PEM pair and a fingerprint of both files.
    fn read_pair(&self) -> Result<PemPair, TlsError> {
        let cert = read(&self.cert)?;
        let key = read(&self.key)?;
        let fingerprint: [u8; 32] = Sha256::new()
            .chain_update(&cert)
            .chain_update(&key)
            .finalize()
            .into();
        Ok((cert, key, fingerprint))
    }

    /// Loads the pair and starts watching it: every `interval` the files are read and, when
    /// their content changed and still forms a valid pair, new connections use it.
    /// `on_load` hears the serving certificate's expiry at each (re)load.
    pub fn load_and_watch(
        &self,
        interval: Duration,
        on_load: impl Fn(jiff::Timestamp) + Send + 'static,
    ) -> Result<RustlsConfig, TlsError> {
        let observe = move |cert: &[u8]| {
            let expiry = std::str::from_utf8(cert)
                .ok()
                .and_then(|pem| crate::certs::inspect_pem(pem).ok())
                .and_then(|infos| infos.first().map(|info| info.not_after));
            if let Some(not_after) = expiry {
                on_load(not_after);
            }
        };
        let (cert, key, mut fingerprint) = self.read_pair()?;
        let rustls = RustlsConfig::from_config(Arc::new(server_config(&cert, &key)?));
        observe(&cert);
        let files = self.clone();
        let handle = rustls.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let loaded = files.read_pair().and_then(|(cert, key, seen)| {
                    if seen == fingerprint {
                        return Ok(None);
                    }
                    Ok(Some((server_config(&cert, &key)?, cert, seen)))
                });
                match loaded {
                    Ok(None) => {}
                    Ok(Some((config, cert, seen))) => {
                        handle.reload_from_config(Arc::new(config));
                        fingerprint = seen;
                        observe(&cert);
                        tracing::info!(cert = %files.cert.display(), "serving certificate reloaded");
                    }
                    // Mid-rotation the two files can disagree for a moment; keep serving.
                    Err(error) => {
                        tracing::warn!(%error, "serving certificate not reloaded; keeping the current one")
                    }
                }
            }
        });
        Ok(rustls)
    }
}
