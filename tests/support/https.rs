//! A test CA (rcgen), serving certificates on disk, and a rustls HTTPS client that keeps its
//! connection alive: the webhook is tested the way the API server calls it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A certificate authority for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// Issues a serving certificate for localhost and 127.0.0.1 with `common_name`; writes
    /// it and its key as PEM into `dir`; returns (cert path, key path).
    pub fn issue(&self, dir: &Path, common_name: &str) -> (PathBuf, PathBuf) {
        self.issue_valid(dir, common_name, None)
    }

    /// As [`TestCa::issue`], valid only until `not_after` when given.
    pub fn issue_valid(
        &self,
        dir: &Path,
        common_name: &str,
        not_after: Option<std::time::SystemTime>,
    ) -> (PathBuf, PathBuf) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        if let Some(not_after) = not_after {
            params.not_before =
                (std::time::SystemTime::now() - std::time::Duration::from_secs(60)).into();
            params.not_after = not_after.into();
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = dir.join("tls.crt");
        let key_path = dir.join("tls.key");
        write_atomically(&cert_path, cert.pem().as_bytes());
        write_atomically(&key_path, key.serialize_pem().as_bytes());
        (cert_path, key_path)
    }
}

impl TestCa {
    /// Signs `params` for `key`; returns the certificate PEM.
    pub fn sign(&self, params: &CertificateParams, key: &KeyPair) -> String {
        params.signed_by(key, &self.issuer).unwrap().pem()
    }

    /// The CA certificate as base64 PEM, as a webhook's `caBundle` wants it.
    pub fn pem_base64(&self) -> String {
        aims_operator::webhook::review::base64(self.issuer.pem().as_bytes())
    }
}

/// Replaces a file in one step, as a Secret volume update does.
pub fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// An HTTPS/1.1 connection to the webhook.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    /// Common name of the certificate the server presented.
    pub server_cn: String,
}

impl Client {
    pub async fn connect(addr: SocketAddr, ca: &TestCa) -> Self {
        Self::try_connect(addr, ca).await.unwrap()
    }

    /// Connects, or says why the TCP or TLS handshake failed.
    pub async fn try_connect(addr: SocketAddr, ca: &TestCa) -> Result<Self, String> {
        Self::try_connect_trusting(addr, ca.der()).await
    }

    /// Connects trusting the CA certificate `ca`.
    pub async fn try_connect_trusting(
        addr: SocketAddr,
        ca: CertificateDer<'static>,
    ) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        roots.add(ca).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
        let server_cn = common_name(&presented);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(connection);
        Ok(Self { sender, server_cn })
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, String) {
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn post_json(&mut self, path: &str, body: &serde_json::Value) -> (u16, String) {
        self.send(
            "POST",
            path,
            "application/json",
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    pub async fn get(&mut self, path: &str) -> (u16, String) {
        self.send("GET", path, "text/plain", Vec::new()).await
    }
}

/// The subject common name in a DER certificate (good enough for our own test certificates:
/// the CN is the last printable string after the OID 2.5.4.3).
fn common_name(der: &CertificateDer<'_>) -> String {
    let bytes = der.as_ref();
    let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    let positions: Vec<usize> = bytes
        .windows(oid.len())
        .enumerate()
        .filter(|(_, w)| *w == oid)
        .map(|(i, _)| i)
        .collect();
    let Some(&at) = positions.last() else {
        return String::new();
    };
    let len = bytes[at + oid.len() + 1] as usize;
    let start = at + oid.len() + 2;
    String::from_utf8_lossy(&bytes[start..start + len]).into_owned()
}

/// A fresh folder under the system temp dir.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aims-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain-HTTP GET; `None` when nothing answers.
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((code, body))
}

/// Writes `dir/kubeconfig` naming an API server nobody answers.
pub fn dead_kubeconfig(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
    )
    .unwrap();
    path
}

/// Polls `/healthz` until the process answers (up to 10 s).
pub async fn wait_until_alive(health_port: u16) -> Option<(u16, String)> {
    for _ in 0..100 {
        if let Some(answer) = http_get(health_port, "/healthz").await {
            return Some(answer);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

/// Sends SIGTERM and waits (up to 10 s) for the exit code.
pub async fn terminate(mut child: tokio::process::Child) -> Option<i32> {
    let pid = child.id()?.to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .ok()?;
    tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("stops within 10 s")
        .ok()?
        .code()
}
