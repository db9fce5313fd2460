//! Regulatory dates and deadlines, read from `regulations.yaml` beside this file: versioned
//! data, so a change in the law (the Digital Omnibus moved the Annex III obligations) is a
//! change of data with its own version, not of code.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::resources::SeriousCategory;

const DATA: &str = include_str!("regulations.yaml");

/// The regulatory data the engine applies.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Regulations {
    /// Version of this data.
    pub version: String,
    /// Where it comes from.
    pub source: String,
    /// Serious-incident reporting deadlines by category.
    pub serious_incident_reporting: Vec<ReportingDeadline>,
    /// When obligations apply.
    pub application_dates: Vec<ApplicationDate>,
}

/// A reporting deadline for some categories of serious incident.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDeadline {
    /// The categories it applies to.
    pub categories: Vec<SeriousCategory>,
    /// Days from awareness.
    pub days: i64,
    /// The rule, in words, for status and reports.
    pub rule: String,
}

/// When a set of obligations applies.
#[derive(Deserialize, Debug, Clone)]
pub struct ApplicationDate {
    /// Which obligations.
    pub obligations: String,
    /// From when.
    pub from: jiff::civil::Date,
}

/// The embedded regulatory data. It is part of the build and checked by a test, so a
/// failure to read it is a defect: reported, and no deadline is derived from it.
pub fn regulations() -> Option<&'static Regulations> {
    static PARSED: OnceLock<Option<Regulations>> = OnceLock::new();
    PARSED
        .get_or_init(|| match serde_saphyr::from_str(DATA) {
            Ok(data) => Some(data),
            Err(error) => {
                tracing::error!(%error, "catalog/regulations.yaml cannot be read");
                None
            }
        })
        .as_ref()
}

/// The reporting deadline of a serious incident of `category`: days from awareness and the
/// rule, with the data's version.
pub fn reporting_deadline(category: SeriousCategory) -> Option<(i64, String)> {
    let data = regulations()?;
    data.serious_incident_reporting
        .iter()
        .find(|d| d.categories.contains(&category))
        .map(|d| (d.days, format!("{} (catalog {})", d.rule, data.version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_reads_and_every_category_has_one_deadline() {
        let data = regulations().expect("regulations.yaml reads");
        for category in [
            SeriousCategory::Death,
            SeriousCategory::SeriousHealthHarm,
            SeriousCategory::CriticalInfrastructureDisruption,
            SeriousCategory::FundamentalRightsInfringement,
            SeriousCategory::PropertyOrEnvironmentHarm,
            SeriousCategory::WidespreadInfringement,
        ] {
            let matching = data
                .serious_incident_reporting
                .iter()
                .filter(|d| d.categories.contains(&category))
                .count();
            assert_eq!(matching, 1, "{category:?}");
        }
        assert_eq!(
            reporting_deadline(SeriousCategory::Death).map(|d| d.0),
            Some(10)
        );
        assert!(
            data.application_dates
                .iter()
                .any(|d| d.from.to_string() == "2027-12-02")
        );
    }
}
