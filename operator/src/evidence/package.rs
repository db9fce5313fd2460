//! Packing and checking: a deterministic tar.gz (sorted entries, fixed times and owners), a
//! manifest that is an in-toto statement with one subject per file, and that statement signed
//! with Ed25519 in a DSSE envelope. Verification trusts only the envelope's signed bytes: the
//! readable copy of the manifest must equal them, every listed file must hash to its digest,
//! and no file may be in the archive that the manifest does not list.

use std::collections::BTreeMap;
use std::io::Read;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use flate2::{Compression, GzBuilder, read::GzDecoder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{EvidenceFile, Provenance};

/// The manifest, readable.
pub const STATEMENT: &str = "manifest.intoto.json";
/// The manifest, signed.
pub const ENVELOPE: &str = "manifest.intoto.dsse.json";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// What the statement's predicate describes.
pub const PREDICATE_TYPE: &str = "https://aims.io/evidence-package/v1";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The in-toto statement a package's manifest is.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `https://in-toto.io/Statement/v1`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// One per file, with its SHA-256.
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// Source, period and generation time.
    pub predicate: Predicate,
}

/// A file of the package and its digest.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Path inside the package.
    pub name: String,
    /// `{"sha256": hex}`.
    pub digest: BTreeMap<String, String>,
}

/// What the package is evidence of.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Predicate {
    /// When it was generated (RFC 3339).
    pub generated_at: String,
    /// `aims-operator VERSION`.
    pub generator: String,
    /// Cluster or files.
    pub source: String,
    /// Start of the audit period (RFC 3339, inclusive).
    pub period_from: String,
    /// End of the audit period (RFC 3339, exclusive).
    pub period_to: String,
}

/// Reads an Ed25519 private key in PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes.
pub fn signing_key(pem: &str) -> Result<SigningKey, String> {
    SigningKey::from_pkcs8_pem(pem).map_err(|e| {
        format!(
            "not an Ed25519 private key in PKCS#8 PEM ({e}); make one with \
             `openssl genpkey -algorithm ed25519 -out evidence-key.pem`"
        )
    })
}

/// Reads an Ed25519 public key in PEM, as `openssl pkey -pubout` writes.
pub fn verifying_key(pem: &str) -> Result<VerifyingKey, String> {
    VerifyingKey::from_public_key_pem(pem).map_err(|e| {
        format!(
            "not an Ed25519 public key in PEM ({e}); derive it with \
             `openssl pkey -in evidence-key.pem -pubout -out evidence-key.pub.pem`"
        )
    })
}

/// A key's identifier in the envelope: the SHA-256 of its 32 bytes, in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Packs `files` with their manifest, signed by `key`, into tar.gz bytes.
pub fn seal(
    files: &[EvidenceFile],
    provenance: &Provenance,
    key: &SigningKey,
) -> Result<Vec<u8>, String> {
    let statement = Statement {
        type_: STATEMENT_TYPE.to_string(),
        subject: files
            .iter()
            .map(|f| Subject {
                name: f.path.clone(),
                digest: BTreeMap::from([("sha256".to_string(), hex(&Sha256::digest(&f.bytes)))]),
            })
            .collect(),
        predicate_type: PREDICATE_TYPE.to_string(),
        predicate: Predicate {
            generated_at: provenance.generated_at.to_string(),
            generator: format!("aims-operator {}", env!("CARGO_PKG_VERSION")),
            source: provenance.source.clone(),
            period_from: provenance.period.from.to_string(),
            period_to: provenance.period.to.to_string(),
        },
    };
    let payload = serde_json::to_vec_pretty(&statement).map_err(|e| e.to_string())?;
    let signer = dsse::Ed25519Signer::from_bytes(&key.to_bytes())
        .map_err(|e| e.to_string())?
        .with_key_id(key_id(&key.verifying_key()));
    let envelope = dsse::sign(PAYLOAD_TYPE, &payload, &signer).map_err(|e| e.to_string())?;
    let envelope = envelope.to_json().map_err(|e| e.to_string())?;

    let seconds = u64::try_from(provenance.generated_at.as_second()).unwrap_or(0);
    let gzip = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let mut archive = tar::Builder::new(gzip);
    let manifest = [
        (STATEMENT, payload.as_slice()),
        (ENVELOPE, envelope.as_slice()),
    ];
    for (path, bytes) in files
        .iter()
        .map(|f| (f.path.as_str(), f.bytes.as_slice()))
        .chain(manifest)
    {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(seconds);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, path, bytes)
            .map_err(|e| format!("cannot pack {path}: {e}"))?;
    }
    archive
        .into_inner()
        .and_then(|gzip| gzip.finish())
        .map_err(|e| format!("cannot finish the archive: {e}"))
}

/// A package that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signed manifest.
    pub statement: Statement,
    /// The key that signed it.
    pub key_id: String,
}

/// Checks a package against `key`; on failure, every problem found, each naming what failed.
pub fn verify(archive: &[u8], key: &VerifyingKey) -> Result<Verified, Vec<String>> {
    let entries = read_entries(archive).map_err(|e| vec![e])?;
    let envelope = entries
        .get(ENVELOPE)
        .ok_or_else(|| vec![format!("{ENVELOPE} is missing: the package is not signed")])?;
    let envelope = dsse::Envelope::from_json(envelope)
        .map_err(|e| vec![format!("{ENVELOPE} is not a DSSE envelope: {e}")])?;
    let verifier = dsse::Ed25519Verifier::from_bytes(key.as_bytes())
        .map_err(|e| vec![e.to_string()])?
        .with_key_id(key_id(key));
    let verified = dsse::verify(&envelope, &[&verifier], 1).map_err(|e| {
        vec![format!(
            "the manifest's signature does not verify with this public key ({e}): \
             the package was signed by another key or altered"
        )]
    })?;
    if verified.payload_type != PAYLOAD_TYPE {
        return Err(vec![format!(
            "the envelope holds {}, not an in-toto statement",
            verified.payload_type
        )]);
    }
    let statement: Statement = serde_json::from_slice(&verified.payload)
        .map_err(|e| vec![format!("the signed manifest cannot be read: {e}")])?;
    let mut problems = Vec::new();
    if statement.predicate_type != PREDICATE_TYPE {
        problems.push(format!(
            "the signed manifest describes {}, not an AIMS evidence package",
            statement.predicate_type
        ));
    }
    if entries.get(STATEMENT) != Some(&verified.payload) {
        problems.push(format!(
            "{STATEMENT} differs from the signed manifest (or is missing)"
        ));
    }
    for subject in &statement.subject {
        match entries.get(&subject.name) {
            None => problems.push(format!(
                "{}: listed in the manifest but missing",
                subject.name
            )),
            Some(bytes) => {
                let actual = hex(&Sha256::digest(bytes));
                if subject.digest.get("sha256") != Some(&actual) {
                    problems.push(format!(
                        "{}: altered (SHA-256 {actual}, the manifest says {})",
                        subject.name,
                        subject
                            .digest
                            .get("sha256")
                            .map_or("nothing", String::as_str)
                    ));
                }
            }
        }
    }
    for name in entries.keys() {
        let listed = statement.subject.iter().any(|s| &s.name == name);
        if !listed && name != STATEMENT && name != ENVELOPE {
            problems.push(format!("{name}: not in the signed manifest"));
        }
    }
    if problems.is_empty() {
        Ok(Verified {
            statement,
            key_id: key_id(key),
        })
    } else {
        Err(problems)
    }
}

/// Every regular file of the archive by path; a damaged, truncated or ambiguous archive
/// (one path twice), or one holding links, is an error.
fn read_entries(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let damaged = |e: std::io::Error| format!("the archive is damaged or truncated: {e}");
    // Read the whole gzip stream first: a truncated one fails here, not half-way.
    let mut tar_bytes = Vec::new();
    GzDecoder::new(archive)
        .read_to_end(&mut tar_bytes)
        .map_err(damaged)?;
    let mut entries = BTreeMap::new();
    let mut reader = tar::Archive::new(tar_bytes.as_slice());
    for entry in reader.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let path = entry.path().map_err(damaged)?.to_string_lossy().to_string();
        // An archive unpacked and packed again by hand has folders and `./` in its paths;
        // links, devices and the like never belong in a package.
        let path = path.trim_start_matches("./").to_string();
        match entry.header().entry_type() {
            t if t.is_dir() => continue,
            t if t.is_file() => {}
            _ => {
                return Err(format!(
                    "{path}: not a regular file, which no package holds"
                ));
            }
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(damaged)?;
        if entries.insert(path.clone(), bytes).is_some() {
            return Err(format!("{path} is in the archive twice"));
        }
    }
    Ok(entries)
}
