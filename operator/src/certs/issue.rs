//! Issuing certificates: our CA and the serving certificate it signs, with the names, validity and key usages the API server checks.

use jiff::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use super::{BACKDATE, CertBundle, CertError, CertSettings, Renewal, inspect_pem};

pub(super) fn to_offset(ts: Timestamp) -> Result<time::OffsetDateTime, CertError> {
    time::OffsetDateTime::from_unix_timestamp(ts.as_second())
        .map_err(|e| CertError::Unreadable(format!("time out of range: {e}")))
}

/// The name of one of our CAs, from its common name.
pub(super) fn ca_name(common_name: String) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "aims-operator");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A fingerprint of the key in the name tells CAs apart in the bundle and in `openssl`.
pub(super) fn ca_common_name(key: &KeyPair) -> String {
    use sha2::{Digest, Sha256};
    let fingerprint = Sha256::digest(key.public_key_raw());
    let short: String = fingerprint[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("aims-operator webhook CA {short}")
}

pub(super) fn ca_params(
    name: DistinguishedName,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    Ok(params)
}

pub(super) fn new_ca(
    settings: &CertSettings,
    now: Timestamp,
) -> Result<(String, String), CertError> {
    let key = KeyPair::generate()?;
    // Back-dated like the serving certificates it signs, which must fall inside its validity;
    // its lifetime counts from now, as theirs does.
    let name = ca_name(ca_common_name(&key));
    let cert = ca_params(name, now - BACKDATE, now + settings.ca_validity)?.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The signer of the newest (first) CA in the bundle, rebuilt from its name and stored key
/// (the name must match byte for byte, so it is rebuilt from the certificate's own common
/// name).
pub(super) fn issuer_of(
    ca_bundle: &str,
    ca_key: &str,
) -> Result<Issuer<'static, KeyPair>, CertError> {
    let info = inspect_pem(ca_bundle)?
        .into_iter()
        .next()
        .ok_or_else(|| CertError::Unreadable("no CA certificate".into()))?;
    let common_name = info
        .common_name
        .ok_or_else(|| CertError::Unreadable("the CA has no common name".into()))?;
    let params = ca_params(ca_name(common_name), info.not_before, info.not_after)?;
    let key =
        KeyPair::from_pem(ca_key).map_err(|e| CertError::Unreadable(format!("CA key: {e}")))?;
    Ok(Issuer::new(params, key))
}

pub(super) fn new_leaf(
    settings: &CertSettings,
    ca_bundle: &str,
    ca_key: &str,
    now: Timestamp,
) -> Result<(String, String), CertError> {
    let issuer = issuer_of(ca_bundle, ca_key)?;
    let mut params = CertificateParams::new(settings.dns_names.clone())?;
    params.subject_alt_names.extend(
        settings
            .ip_addresses
            .iter()
            .map(|ip| SanType::IpAddress(*ip)),
    );
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        settings
            .dns_names
            .first()
            .cloned()
            .unwrap_or_else(|| "aims-operator webhook".to_string()),
    );
    params.distinguished_name = name;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = to_offset(now - BACKDATE)?;
    params.not_after = to_offset(now + settings.leaf_validity)?;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

pub(crate) fn split_pem(bundle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in bundle.lines() {
        current.push_str(line.trim_end());
        current.push('\n');
        if line.starts_with("-----END ") {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

pub(crate) fn unexpired_cas(bundle: &str, now: Timestamp) -> String {
    split_pem(bundle)
        .into_iter()
        .filter(|pem| {
            inspect_pem(pem)
                .ok()
                .and_then(|infos| infos.into_iter().next())
                .is_some_and(|info| info.not_after > now)
        })
        .collect()
}

/// Carries out a plan's renewal; `Keep` returns the stored bundle unchanged.
pub fn renew(
    stored: Option<&CertBundle>,
    renewal: &Renewal,
    settings: &CertSettings,
    now: Timestamp,
) -> Result<CertBundle, CertError> {
    let stored = match (renewal, stored) {
        (Renewal::Fresh(_), _) | (_, None) => {
            let (ca, ca_key) = new_ca(settings, now)?;
            let (cert, key) = new_leaf(settings, &ca, &ca_key, now)?;
            return Ok(CertBundle {
                ca_bundle: ca,
                ca_key,
                cert,
                key,
            });
        }
        (_, Some(stored)) => stored,
    };
    let mut next = stored.clone();
    match renewal {
        Renewal::Keep | Renewal::Fresh(_) => {}
        Renewal::NewCa => {
            let (ca, ca_key) = new_ca(settings, now)?;
            next.ca_bundle = format!("{ca}{}", unexpired_cas(&stored.ca_bundle, now));
            next.ca_key = ca_key;
        }
        Renewal::NewLeaf(_) => {
            let (cert, key) = new_leaf(settings, &stored.ca_bundle, &stored.ca_key, now)?;
            next.cert = cert;
            next.key = key;
            next.ca_bundle = unexpired_cas(&stored.ca_bundle, now);
        }
        Renewal::DropExpiredCas => next.ca_bundle = unexpired_cas(&stored.ca_bundle, now),
    }
    Ok(next)
}
