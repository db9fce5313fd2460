//! Output formats of the offline check, the register and the Statement of Applicability.

pub mod charts;
pub mod check;
pub mod document;
pub mod report;
pub mod review;
pub mod soa;
pub mod table;

/// Output format of the Statement of Applicability and the registers.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Markdown tables.
    Markdown,
    /// Self-contained HTML page.
    Html,
    /// JSON document.
    Json,
    /// CSV: one row per control (SoA), system (register) or risk (risk register).
    Csv,
}

/// Escapes text for XML and HTML element content and attribute values.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180), and defuses spreadsheet formulas.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
