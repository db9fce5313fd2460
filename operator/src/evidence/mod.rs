//! Evidence packages for an audit period: the SoA, the registers, every assessment and, from
//! the API server's audit logs, the admission decisions of the period, in one tar.gz whose
//! manifest (an in-toto statement listing each file's SHA-256) is signed with Ed25519 in a
//! DSSE envelope. The same engine output the other shells print, so the package says what
//! `kubectl aims soa` says; only the packing is new.

pub mod decisions;
pub mod package;

use jiff::{Timestamp, ToSpan, tz::TimeZone};
use kube::ResourceExt;

use crate::engine::Snapshot;
use crate::policy::Policy;
use crate::render::Format;

/// The audit period a package covers: `from` inclusive, `to` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// Start (inclusive).
    pub from: Timestamp,
    /// End (exclusive).
    pub to: Timestamp,
}

impl Period {
    /// The period from `--from` and `--to` (a date or an RFC 3339 time each); a date as `to`
    /// includes that whole day. Without `from`, the year before `to`; without `to`, `now`.
    pub fn from_args(from: Option<&str>, to: Option<&str>, now: Timestamp) -> Result<Self, String> {
        let to = match to {
            Some(text) => instant(text, true)?,
            None => now,
        };
        let from = match from {
            Some(text) => instant(text, false)?,
            None => to
                .to_zoned(TimeZone::UTC)
                .checked_sub(1.year())
                .map_err(|e| e.to_string())?
                .timestamp(),
        };
        if from >= to {
            return Err(format!(
                "the period is empty: --from {from} is not before --to {to}"
            ));
        }
        Ok(Self { from, to })
    }
}

/// A time from a date (`2026-01-31`, midnight UTC, or the next midnight for an end) or an
/// RFC 3339 timestamp.
fn instant(text: &str, end_of_day: bool) -> Result<Timestamp, String> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        format!(
            "{text:?} is neither a date (2026-01-31) nor an RFC 3339 time (2026-01-31T12:00:00Z)"
        )
    })?;
    let date = if end_of_day {
        date.tomorrow().map_err(|e| e.to_string())?
    } else {
        date
    };
    date.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

/// One file of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Path inside the package.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}

impl EvidenceFile {
    fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            bytes: text.into().into_bytes(),
        }
    }
}

/// Where the evidence was read, the period, and when: what the manifest records.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// `cluster <url>` or the files read.
    pub source: String,
    /// The audit period.
    pub period: Period,
    /// When the package was generated (the SoA's evaluation time too).
    pub generated_at: Timestamp,
}

/// Every file of the package but the manifest, sorted by path: the same inputs and time give
/// the same files.
pub fn contents(
    snapshot: &Snapshot,
    policy: &Policy,
    provenance: &Provenance,
    decisions: Option<&decisions::DecisionSummary>,
) -> Vec<EvidenceFile> {
    let now = provenance.generated_at;
    let mut files = Vec::new();
    let statement = crate::soa::build(snapshot, policy, &provenance.source, now);
    for (format, extension) in FORMATS {
        files.push(EvidenceFile::new(
            format!("soa/statement-of-applicability.{extension}"),
            crate::render::soa::render(&statement, format),
        ));
    }
    let objectives = serde_json::to_string_pretty(&statement.objectives).unwrap_or_default();
    files.push(EvidenceFile::new("objectives/objectives.json", objectives));
    let register = crate::register::build(snapshot, policy, now);
    let risks = crate::risks::register(snapshot, policy, now);
    for (format, extension) in FORMATS {
        files.push(EvidenceFile::new(
            format!("register/ai-system-register.{extension}"),
            crate::register::render(&register, format),
        ));
        files.push(EvidenceFile::new(
            format!("register/risk-register.{extension}"),
            crate::risks::render(&risks, format),
        ));
    }
    let records = crate::nonconformities::of_period(
        crate::nonconformities::register(snapshot, policy, now),
        &provenance.period,
    );
    for (format, extension) in FORMATS {
        files.push(EvidenceFile::new(
            format!("nonconformities/nonconformities.{extension}"),
            crate::nonconformities::render(&records, format),
        ));
    }
    let incidents = crate::incidents::of_period(
        crate::incidents::log(snapshot, policy, now),
        &provenance.period,
    );
    for (format, extension) in FORMATS {
        files.push(EvidenceFile::new(
            format!("incidents/incidents.{extension}"),
            crate::incidents::render(&incidents, format),
        ));
    }
    let period = &provenance.period;
    let in_period = |a: &crate::resources::InternalAudit| {
        a.spec.started_at < period.to && a.spec.completed_at.is_none_or(|at| at >= period.from)
    };
    let audited: Vec<String> = snapshot
        .audits()
        .filter(|a| in_period(a))
        .map(|a| a.name_any())
        .collect();
    if !audited.is_empty() {
        let findings: Vec<crate::audits::FindingRow> =
            crate::audits::register(snapshot, policy, now)
                .into_iter()
                .filter(|r| audited.contains(&r.audit))
                .collect();
        for (format, extension) in FORMATS {
            files.push(EvidenceFile::new(
                format!("audits/findings.{extension}"),
                crate::audits::render(&findings, format),
            ));
        }
    }
    for audit in snapshot.audits().filter(|a| in_period(a)) {
        let blocks = crate::render::review::audit_blocks(snapshot, audit, policy, now);
        let stem = format!("audits/{}", audit.name_any());
        files.push(EvidenceFile::new(
            format!("{stem}.md"),
            crate::render::document::markdown(&blocks),
        ));
        files.push(EvidenceFile::new(
            format!("{stem}.json"),
            serde_json::to_string_pretty(&audit.spec).unwrap_or_default(),
        ));
    }
    for review in snapshot
        .reviews()
        .filter(|r| r.spec.held_at >= period.from && r.spec.held_at < period.to)
    {
        let blocks = crate::render::review::review_blocks(review);
        let stem = format!("reviews/{}", review.name_any());
        files.push(EvidenceFile::new(
            format!("{stem}.md"),
            crate::render::document::markdown(&blocks),
        ));
        files.push(EvidenceFile::new(
            format!("{stem}.json"),
            serde_json::to_string_pretty(&review.spec).unwrap_or_default(),
        ));
    }
    for assessment in snapshot.assessments() {
        let view = crate::assessment::view(snapshot, assessment, policy, now);
        let stem = format!(
            "assessments/{}/{}",
            assessment.namespace().unwrap_or_default(),
            assessment.name_any()
        );
        for (format, extension) in FORMATS {
            if format != Format::Csv {
                files.push(EvidenceFile::new(
                    format!("{stem}.{extension}"),
                    crate::assessment::render(&view, format),
                ));
            }
        }
    }
    if let Some(summary) = decisions {
        files.push(EvidenceFile::new(
            "decisions/admission-decisions.md",
            decisions::markdown(summary, &provenance.period),
        ));
        files.push(EvidenceFile::new(
            "decisions/admission-decisions.json",
            serde_json::to_string_pretty(summary).unwrap_or_default(),
        ));
    }
    files.push(EvidenceFile::new(
        "README.md",
        readme(provenance, decisions.is_some(), files.len()),
    ));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

const FORMATS: [(Format, &str); 4] = [
    (Format::Markdown, "md"),
    (Format::Html, "html"),
    (Format::Json, "json"),
    (Format::Csv, "csv"),
];

fn readme(provenance: &Provenance, with_decisions: bool, files: usize) -> String {
    format!(
        "# AIMS evidence package\n\n\
         - Source: {source}\n\
         - Audit period: {from} to {to} (UTC, end exclusive)\n\
         - Generated: {at} by aims-operator {version}\n\
         - Files: {files} besides this one and the manifest\n\n\
         `manifest.intoto.json` lists every file with its SHA-256 (an in-toto statement);\n\
         `manifest.intoto.dsse.json` is that statement signed with Ed25519 in a DSSE envelope.\n\
         Check the whole package with:\n\n\
         ```\naims-operator evidence verify PACKAGE.tar.gz --public-key PUBLIC.pem\n```\n\n\
         - `soa/`: the Statement of Applicability at the generation time (Markdown, HTML, JSON, CSV)\n\
         - `objectives/`: the AIMS objectives with their targets and values\n\
         - `register/`: the AI system register and the risk register\n\
         - `assessments/NAMESPACE/NAME`: every impact assessment, rendered\n\
         - `nonconformities/`: the nonconformity records of the period (open at its end, or\n\
         opened or closed within it) with root cause, corrective action and closure\n\
         - `incidents/`: the AI incidents open at some time in the period, with reporting\n\
         deadlines, notifications, resolution and the times to detect and to resolve\n\
         - `audits/`: the internal audits under way in the period (`findings.*`: every\n\
         finding with the nonconformity record that tracks it and where that stands)\n\
         - `reviews/`: the management reviews held in the period: inputs, decisions, actions\n\
         - `decisions/`: {decisions}\n",
        source = provenance.source,
        from = provenance.period.from,
        to = provenance.period.to,
        at = provenance.generated_at,
        version = env!("CARGO_PKG_VERSION"),
        decisions = if with_decisions {
            "the webhook's admission decisions of the period, per system and rule, from the API server's audit logs"
        } else {
            "absent: no audit log was given (`--audit-log FILE`)"
        },
    )
}

/// What making a package takes, beside the evidence itself (shared by `aims-operator
/// evidence` and `kubectl aims evidence`).
#[derive(clap::Args, Debug, Clone)]
pub struct PackageArgs {
    /// Start of the audit period: a date (2026-01-01, from midnight UTC) or an RFC 3339 time.
    /// Default: one year before --to.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// End of the audit period: a date (included whole) or an RFC 3339 time. Default: now.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// The API server's audit log (JSON lines; repeat for rotated files): the package then
    /// summarises the webhook's admission decisions of the period per system and rule.
    #[arg(long = "audit-log", value_name = "FILE")]
    pub audit_logs: Vec<std::path::PathBuf>,
    /// Ed25519 private key in PKCS#8 PEM (`openssl genpkey -algorithm ed25519 -out KEY`).
    #[arg(long, value_name = "KEY", required = true)]
    pub signing_key: Option<std::path::PathBuf>,
    /// Where to write the package (tar.gz).
    #[arg(long, value_name = "FILE", required = true)]
    pub out: Option<std::path::PathBuf>,
}

/// Builds, signs and writes a package; returns the line to tell the user.
pub fn write_package(
    snapshot: &Snapshot,
    policy: &Policy,
    source: String,
    args: &PackageArgs,
    now: Timestamp,
) -> Result<String, String> {
    let (Some(key_path), Some(out)) = (&args.signing_key, &args.out) else {
        return Err("--signing-key and --out are required".to_string());
    };
    let period = Period::from_args(args.from.as_deref(), args.to.as_deref(), now)?;
    // The key first: a wrong key should not cost the reading of large audit logs.
    let pem = std::fs::read_to_string(key_path)
        .map_err(|e| format!("cannot read the signing key {}: {e}", key_path.display()))?;
    let key = package::signing_key(&pem).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let summary = if args.audit_logs.is_empty() {
        None
    } else {
        Some(decisions::summarise(&args.audit_logs, &period)?)
    };
    let provenance = Provenance {
        source,
        period,
        generated_at: now,
    };
    let files = contents(snapshot, policy, &provenance, summary.as_ref());
    let bytes = package::seal(&files, &provenance, &key)?;
    // Written beside and renamed: an interrupted run never leaves half a package in place.
    let partial = out.with_extension("partial");
    std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, out))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(format!(
        "wrote {}: {} files and their signed manifest, period {} to {}{}, signed by key {}",
        out.display(),
        files.len(),
        period.from,
        period.to,
        summary.map_or(String::new(), |s| format!(
            ", {} admission decision(s) from the audit log",
            s.requests
        )),
        package::key_id(&key.verifying_key())
    ))
}

/// Verifies the package at `path` with the public key at `public_key`: the report's lines,
/// or every problem found.
pub fn verify_package(
    path: &std::path::Path,
    public_key: &std::path::Path,
) -> Result<String, Vec<String>> {
    let pem = std::fs::read_to_string(public_key).map_err(|e| {
        vec![format!(
            "cannot read the public key {}: {e}",
            public_key.display()
        )]
    })?;
    let key =
        package::verifying_key(&pem).map_err(|e| vec![format!("{}: {e}", public_key.display())])?;
    let bytes =
        std::fs::read(path).map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    let verified = package::verify(&bytes, &key)?;
    let p = &verified.statement.predicate;
    Ok(format!(
        "{}: verified: {} files match the manifest signed by key {}\n  source: {}\n  period: {} to {}\n  generated: {} by {}",
        path.display(),
        verified.statement.subject.len(),
        verified.key_id,
        p.source,
        p.period_from,
        p.period_to,
        p.generated_at,
        p.generator
    ))
}
