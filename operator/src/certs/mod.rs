//! Self-managed webhook certificates: a private CA and the serving certificate it signs,
//! kept in one Secret and rotated long before they expire.
//!
//! The decision of what to renew is pure ([`plan`]: stored certificates + settings + `now`),
//! so rotation is tested with a clock the test controls; generating keys is the only impure
//! step ([`renew`]). Rotation never leaves a moment in which the API server distrusts the
//! certificate being served:
//!
//! 1. a new CA is added to the trusted bundle next to the old one (both are trusted);
//! 2. only after the bundle has had [`CertSettings::propagation`] to reach the webhook
//!    configurations is the serving certificate re-issued by the new CA;
//! 3. an old CA leaves the bundle only when it has expired.

pub mod args;
pub mod secret;

use jiff::{SignedDuration, Timestamp};
use rcgen::KeyPair;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

mod issue;
pub use issue::*;

/// Why certificates could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Stored PEM or DER that cannot be used.
    #[error("{0}")]
    Unreadable(String),
    /// Key generation or signing failed.
    #[error("cannot create a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// How long certificates live and how early they are renewed.
#[derive(Clone, Debug, PartialEq)]
pub struct CertSettings {
    /// DNS names of the serving certificate (the webhook Service's names).
    pub dns_names: Vec<String>,
    /// IP addresses of the serving certificate (dev mode: 127.0.0.1).
    pub ip_addresses: Vec<std::net::IpAddr>,
    /// Lifetime of a CA.
    pub ca_validity: SignedDuration,
    /// A new CA is made when the newest one has less than this left.
    pub ca_renew_before: SignedDuration,
    /// Lifetime of a serving certificate.
    pub leaf_validity: SignedDuration,
    /// The serving certificate is re-issued when it has less than this left.
    pub leaf_renew_before: SignedDuration,
    /// Time a new CA spends in the trusted bundle before it signs the serving certificate, so
    /// that every webhook configuration trusts it first.
    pub propagation: SignedDuration,
}

const DAY: i64 = 24 * 3600;

/// Certificates start this long before they are made, so a node whose clock runs a little
/// behind accepts them at once.
const BACKDATE: SignedDuration = SignedDuration::from_secs(300);

impl CertSettings {
    /// Defaults: CA for 2 years renewed with 8 months left, serving certificate for 90 days
    /// renewed with 30 left, one hour for a new CA to reach every webhook configuration.
    pub fn for_names(dns_names: Vec<String>) -> Self {
        Self {
            dns_names,
            ip_addresses: Vec::new(),
            ca_validity: SignedDuration::from_secs(730 * DAY),
            ca_renew_before: SignedDuration::from_secs(243 * DAY),
            leaf_validity: SignedDuration::from_secs(90 * DAY),
            leaf_renew_before: SignedDuration::from_secs(30 * DAY),
            propagation: SignedDuration::from_secs(3600),
        }
    }

    /// The DNS names a Service's serving certificate needs.
    pub fn service_names(service: &str, namespace: &str) -> Vec<String> {
        vec![
            service.to_string(),
            format!("{service}.{namespace}"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}.svc.cluster.local"),
        ]
    }
}

/// The certificate material as stored (PEM), the shape of the Secret's data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertBundle {
    /// Every trusted CA, newest first: what the webhook configurations' `caBundle` holds.
    pub ca_bundle: String,
    /// The private key of the newest CA.
    pub ca_key: String,
    /// The serving certificate.
    pub cert: String,
    /// The serving certificate's private key.
    pub key: String,
}

/// What is read off one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// Encoded subject name.
    pub subject: Vec<u8>,
    /// Encoded issuer name.
    pub issuer: Vec<u8>,
    /// Subject common name, if any.
    pub common_name: Option<String>,
    /// DNS names and IP addresses (as text) in the subject alternative names.
    pub names: Vec<String>,
}

/// Reads validity, names and issuer from a DER certificate.
pub fn inspect_der(der: &[u8]) -> Result<CertInfo, CertError> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CertError::Unreadable(format!("not an X.509 certificate: {e}")))?;
    let time = |t: x509_parser::time::ASN1Time| {
        Timestamp::from_second(t.timestamp())
            .map_err(|e| CertError::Unreadable(format!("validity out of range: {e}")))
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_string()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => names.push(
                        std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
                    ),
                    16 => {
                        let mut octets = [0u8; 16];
                        octets.copy_from_slice(bytes);
                        names.push(std::net::Ipv6Addr::from(octets).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        subject: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
        common_name: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string),
        names,
    })
}

/// Every certificate in a PEM text, in order.
pub fn inspect_pem(pem: &str) -> Result<Vec<CertInfo>, CertError> {
    let ders = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::Unreadable(format!("not PEM certificates: {e}")))?;
    if ders.is_empty() {
        return Err(CertError::Unreadable("no certificate in the PEM".into()));
    }
    ders.iter().map(|der| inspect_der(der)).collect()
}

/// What a check of the stored certificates concludes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Nothing to do.
    Keep,
    /// Start over with a new CA and serving certificate (nothing stored, or it is unusable).
    Fresh(String),
    /// Add a new CA to the bundle (the serving certificate stays for now).
    NewCa,
    /// Issue a new serving certificate from the newest CA.
    NewLeaf(String),
    /// Only drop expired CAs from the bundle.
    DropExpiredCas,
}

/// The outcome of [`plan`]: what to do now and when to look again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// What to do now.
    pub renewal: Renewal,
    /// When the next step falls due if nothing else changes.
    pub next_check: Timestamp,
}

struct Parsed {
    cas: Vec<CertInfo>,
    leaf: CertInfo,
    /// End of the validity of the CA that issued the serving certificate.
    leaf_ca_expires: Timestamp,
}

fn parse(bundle: &CertBundle) -> Result<Parsed, String> {
    let cas = inspect_pem(&bundle.ca_bundle).map_err(|e| format!("CA bundle: {e}"))?;
    let leaf = inspect_pem(&bundle.cert)
        .map_err(|e| format!("serving certificate: {e}"))?
        .into_iter()
        .next()
        .ok_or_else(|| "serving certificate: none".to_string())?;
    KeyPair::from_pem(&bundle.ca_key).map_err(|e| format!("CA key: {e}"))?;
    KeyPair::from_pem(&bundle.key).map_err(|e| format!("serving key: {e}"))?;
    let issuer = cas
        .iter()
        .find(|ca| ca.subject == leaf.issuer)
        .ok_or("no CA in the bundle issued the serving certificate")?;
    // Names can repeat; only the signature proves which CA issued it. Checked at a moment
    // both were valid, so expiry is left to the plan (it renews rather than starts over).
    let at = leaf.not_before.max(issuer.not_before);
    verify_chain(&bundle.ca_bundle, &bundle.cert, leaf.names.first(), at)
        .map_err(|e| format!("the bundle does not trust the serving certificate: {e}"))?;
    let leaf_ca_expires = issuer.not_after;
    Ok(Parsed {
        cas,
        leaf,
        leaf_ca_expires,
    })
}

/// Whether a client trusting `ca_bundle` accepts `cert` for `name` at `at`.
pub fn verify_chain(
    ca_bundle: &str,
    cert: &str,
    name: Option<&String>,
    at: Timestamp,
) -> Result<(), String> {
    use rustls::client::danger::ServerCertVerifier as _;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_bundle.as_bytes()) {
        roots
            .add(ca.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
            .build()
            .map_err(|e| e.to_string())?;
    let leaf = CertificateDer::from_pem_slice(cert.as_bytes()).map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(name.ok_or("it names no host")?.clone())
        .map_err(|e| e.to_string())?;
    let seconds = u64::try_from(at.as_second()).map_err(|_| "time before 1970".to_string())?;
    verifier
        .verify_server_cert(
            &leaf,
            &[],
            &name,
            &[],
            rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn wanted_names(settings: &CertSettings) -> Vec<String> {
    let mut names: Vec<String> = settings.dns_names.clone();
    names.extend(settings.ip_addresses.iter().map(|ip| ip.to_string()));
    names.sort();
    names
}

/// Decides what the stored certificates need at `now`. Pure: the same inputs always give the
/// same plan.
pub fn plan(stored: Option<&CertBundle>, settings: &CertSettings, now: Timestamp) -> Plan {
    let fresh = |why: String| Plan {
        renewal: Renewal::Fresh(why),
        next_check: now,
    };
    let Some(stored) = stored else {
        return fresh("no certificates stored yet".into());
    };
    let parsed = match parse(stored) {
        Ok(p) => p,
        Err(why) => return fresh(format!("stored certificates are unusable ({why})")),
    };
    let Some(newest) = parsed.cas.first() else {
        return fresh("the CA bundle is empty".into());
    };
    if newest.not_after <= now {
        return fresh("the CA has expired".into());
    }
    let ca_due = newest.not_after - settings.ca_renew_before;
    let leaf_due = parsed.leaf.not_after - settings.leaf_renew_before;
    let mut names = parsed.leaf.names.clone();
    names.sort();
    let switch_at = newest.not_before + BACKDATE + settings.propagation;
    let signed_by_newest = parsed.leaf.issuer == newest.subject;
    let expired_ca = parsed.cas.iter().skip(1).any(|ca| ca.not_after <= now);

    let renewal = if now >= ca_due {
        Renewal::NewCa
    } else if names != wanted_names(settings) {
        Renewal::NewLeaf("its names differ from the ones wanted".into())
    } else if parsed.leaf.not_after <= now || parsed.leaf_ca_expires <= now {
        Renewal::NewLeaf("it or its CA has expired".into())
    } else if now >= leaf_due {
        Renewal::NewLeaf("it expires soon".into())
    } else if !signed_by_newest && now >= switch_at {
        Renewal::NewLeaf("a newer CA is trusted everywhere now".into())
    } else if expired_ca {
        Renewal::DropExpiredCas
    } else {
        Renewal::Keep
    };
    if renewal != Renewal::Keep {
        return Plan {
            renewal,
            next_check: now,
        };
    }
    // Kept: look again when the first of these falls due.
    let mut next_check = ca_due.min(leaf_due);
    if !signed_by_newest {
        next_check = next_check.min(switch_at);
    }
    for ca in parsed.cas.iter().skip(1) {
        next_check = next_check.min(ca.not_after);
    }
    Plan {
        renewal,
        next_check,
    }
}
