//! The AI system register as Markdown, HTML, CSV and JSON, all from [`COLUMNS`].

use std::fmt::Write as _;

use super::{csv_field, escape_xml};
use crate::register::{COLUMNS, RegisterRow};

/// Markdown: one table, one row per system.
pub fn markdown(rows: &[RegisterRow]) -> String {
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from("# AI system register\n\n|");
    for (header, _) in COLUMNS {
        let _ = write!(out, " {header} |");
    }
    out.push_str("\n|");
    out.push_str(&"---|".repeat(COLUMNS.len()));
    for row in rows {
        out.push_str("\n|");
        for (_, value) in COLUMNS {
            let _ = write!(out, " {} |", cell(&value(row)));
        }
    }
    out.push('\n');
    out
}

/// A self-contained HTML page.
pub fn html(rows: &[RegisterRow]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>AI system register</title>\
         <style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;\
         padding:4px;vertical-align:top;text-align:left}</style></head><body><h1>AI system register</h1><table><tr>",
    );
    for (header, _) in COLUMNS {
        let _ = write!(out, "<th>{}</th>", escape_xml(header));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (_, value) in COLUMNS {
            let _ = write!(out, "<td>{}</td>", escape_xml(&value(row)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></body></html>\n");
    out
}

/// CSV (RFC 4180), a header row then one row per system.
pub fn csv(rows: &[RegisterRow]) -> String {
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    let mut out = line(COLUMNS.iter().map(|(h, _)| csv_field(h)).collect());
    for row in rows {
        out.push_str(&line(
            COLUMNS.iter().map(|(_, v)| csv_field(&v(row))).collect(),
        ));
    }
    out
}

/// JSON: every field of every row.
pub fn json(rows: &[RegisterRow]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({ "register": rows })).unwrap_or_default()
        + "\n"
}
