//! `aims-operator run`'s flags for the self-managed certificates: where they are kept, whom
//! they serve and how long they live. Durations are written `90d`, `2160h`, `1h30m` or
//! `45s` (a day is 24 hours here; months and years, of varying length, are refused).

use std::net::IpAddr;

use jiff::{SignedDuration, Span, SpanRelativeTo};

use super::CertSettings;
use super::secret::SelfManaged;
use crate::webhook::tls::CertFiles;

/// Flags of the self-managed certificates.
#[derive(clap::Args, Clone, Debug)]
pub struct SelfManagedArgs {
    /// Make and rotate the webhook's CA and serving certificate here instead of taking them
    /// from cert-manager: kept in --cert-secret, mirrored to --tls-cert/--tls-key, and the
    /// caBundle of each --webhook-configuration kept equal to the trusted CAs.
    #[arg(long)]
    pub self_managed_certs: bool,
    /// Secret that holds the self-managed certificates (in --namespace).
    #[arg(long, default_value = "aims-operator-webhook-tls", value_name = "NAME")]
    pub cert_secret: String,
    /// Service the API server calls; its DNS names go into the self-managed certificate.
    #[arg(long, default_value = "aims-operator-webhook", value_name = "NAME")]
    pub webhook_service: String,
    /// Validating and mutating webhook configuration whose caBundle follows the
    /// self-managed CA (repeatable).
    #[arg(
        long = "webhook-configuration",
        default_value = "aims-operator",
        value_name = "NAME"
    )]
    pub webhook_configurations: Vec<String>,
    /// IP address the serving certificate also names (repeatable), for an API server that
    /// reaches the webhook by URL at an address instead of through the Service.
    #[arg(long = "cert-ip-address", value_name = "IP")]
    pub ip_addresses: Vec<IpAddr>,
    /// How long a self-managed CA lives.
    #[arg(long, default_value = "730d", value_name = "DURATION", value_parser = lifetime)]
    pub ca_validity: SignedDuration,
    /// A new CA is made when the newest has less than this left; it must exceed
    /// --ca-propagation, so the old CA outlives the switch to the new one.
    #[arg(long, default_value = "243d", value_name = "DURATION", value_parser = lifetime)]
    pub ca_renew_before: SignedDuration,
    /// How long a serving certificate lives.
    #[arg(long, default_value = "90d", value_name = "DURATION", value_parser = lifetime)]
    pub cert_validity: SignedDuration,
    /// The serving certificate is re-issued when it has less than this left.
    #[arg(long, default_value = "30d", value_name = "DURATION", value_parser = lifetime)]
    pub cert_renew_before: SignedDuration,
    /// How long a new CA is trusted by every webhook configuration before it signs the
    /// serving certificate (time for the API server to see the new caBundle).
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = lifetime)]
    pub ca_propagation: SignedDuration,
}

/// A duration flag's value: days of 24 hours and anything shorter.
fn lifetime(text: &str) -> Result<SignedDuration, String> {
    let span: Span = text
        .parse()
        .map_err(|e| format!("not a duration such as 90d or 1h30m: {e}"))?;
    span.to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| "months and years vary in length: give days (365d) instead".to_string())
}

impl SelfManagedArgs {
    /// The certificate settings these flags ask for, for the webhook Service in `namespace`;
    /// an error names the flags that contradict each other.
    pub fn settings(&self, namespace: &str) -> Result<CertSettings, String> {
        let ca_validity = ("--ca-validity", self.ca_validity);
        let ca_renew_before = ("--ca-renew-before", self.ca_renew_before);
        let cert_validity = ("--cert-validity", self.cert_validity);
        let cert_renew_before = ("--cert-renew-before", self.cert_renew_before);
        let ca_propagation = ("--ca-propagation", self.ca_propagation);
        let durations = [
            ca_validity,
            ca_renew_before,
            cert_validity,
            cert_renew_before,
            ca_propagation,
        ];
        if let Some((flag, value)) = durations.iter().find(|(_, d)| !d.is_positive()) {
            return Err(format!("{flag} must be longer than zero, not {value:#}"));
        }
        let shorter = |(a, x): (&str, SignedDuration), (b, y): (&str, SignedDuration)| {
            if x < y {
                Ok(())
            } else {
                Err(format!(
                    "{a} ({x:#}) must be shorter than {b} ({y:#}): otherwise certificates \
                     would be renewed continually or expire before their successor is trusted"
                ))
            }
        };
        shorter(ca_renew_before, ca_validity)?;
        shorter(cert_renew_before, cert_validity)?;
        shorter(ca_propagation, ca_renew_before)?;
        let mut settings = CertSettings::for_names(CertSettings::service_names(
            &self.webhook_service,
            namespace,
        ));
        settings.ip_addresses = self.ip_addresses.clone();
        settings.ca_validity = self.ca_validity;
        settings.ca_renew_before = self.ca_renew_before;
        settings.leaf_validity = self.cert_validity;
        settings.leaf_renew_before = self.cert_renew_before;
        settings.propagation = self.ca_propagation;
        Ok(settings)
    }

    /// What the certificate loop keeps: the Secret in `namespace`, the served `files`.
    pub fn managed(&self, namespace: &str, files: CertFiles) -> Result<SelfManaged, String> {
        Ok(SelfManaged {
            namespace: namespace.to_string(),
            secret: self.cert_secret.clone(),
            webhook_configurations: self.webhook_configurations.clone(),
            settings: self.settings(namespace)?,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        certs: SelfManagedArgs,
    }

    fn parse(args: &[&str]) -> SelfManagedArgs {
        Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .unwrap()
            .certs
    }

    #[test]
    fn the_flags_defaults_are_the_documented_settings() {
        let settings = parse(&[]).settings("aims-system").unwrap();
        let names = CertSettings::service_names("aims-operator-webhook", "aims-system");
        assert_eq!(settings, CertSettings::for_names(names));
    }

    #[test]
    fn short_lifetimes_and_addresses_reach_the_settings() {
        let args = parse(&[
            "--cert-ip-address=127.0.0.1",
            "--ca-validity=2m",
            "--ca-renew-before=70s",
            "--cert-validity=40s",
            "--cert-renew-before=20s",
            "--ca-propagation=10s",
        ]);
        let settings = args.settings("ns").unwrap();
        assert_eq!(settings.ip_addresses, vec![IpAddr::from([127, 0, 0, 1])]);
        assert_eq!(settings.ca_validity, SignedDuration::from_secs(120));
        assert_eq!(settings.leaf_renew_before, SignedDuration::from_secs(20));
        assert_eq!(settings.propagation, SignedDuration::from_secs(10));
    }

    #[test]
    fn contradicting_lifetimes_are_refused_naming_the_flags() {
        let error = parse(&["--cert-validity=10h", "--cert-renew-before=600m"])
            .settings("ns")
            .unwrap_err();
        assert!(
            error.starts_with(
                "--cert-renew-before (10h) must be shorter than --cert-validity (10h)"
            ),
            "{error}"
        );
        let error = parse(&["--ca-propagation=300d"])
            .settings("ns")
            .unwrap_err();
        assert!(error.starts_with("--ca-propagation"), "{error}");
        let error = parse(&["--ca-validity=0s"]).settings("ns").unwrap_err();
        assert!(
            error.starts_with("--ca-validity must be longer than zero"),
            "{error}"
        );
    }

    #[test]
    fn durations_are_read_in_days_and_shorter_units_never_in_months() {
        assert_eq!(
            parse(&["--cert-validity=1d12h"]).cert_validity,
            SignedDuration::from_hours(36)
        );
        let error = Cli::try_parse_from(["run", "--cert-validity=3mo"])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("give days (365d) instead"), "{error}");
        let error = Cli::try_parse_from(["run", "--ca-validity=two"])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("not a duration such as 90d"), "{error}");
    }
}
