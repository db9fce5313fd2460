//! Tables for people, spreadsheets and tools: one list of columns renders a list of rows as
//! Markdown, a self-contained HTML page or CSV; JSON writes the rows themselves.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Format, csv_field, escape_xml};

/// A column: its header and how a row fills it.
pub type Column<T> = (&'static str, fn(&T) -> String);

/// Text made safe for one Markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown: a title and one table.
pub fn markdown<T>(title: &str, columns: &[Column<T>], rows: &[T]) -> String {
    let mut out = format!("# {title}\n\n|");
    for (header, _) in columns {
        let _ = write!(out, " {header} |");
    }
    out.push_str("\n|");
    out.push_str(&"---|".repeat(columns.len()));
    for row in rows {
        out.push_str("\n|");
        for (_, value) in columns {
            let _ = write!(out, " {} |", cell(&value(row)));
        }
    }
    out.push('\n');
    out
}

/// A self-contained HTML page with one table.
pub fn html<T>(title: &str, columns: &[Column<T>], rows: &[T]) -> String {
    let title = escape_xml(title);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;\
         padding:4px;vertical-align:top;text-align:left}}</style></head><body><h1>{title}</h1><table><tr>"
    );
    for (header, _) in columns {
        let _ = write!(out, "<th>{}</th>", escape_xml(header));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (_, value) in columns {
            let _ = write!(out, "<td>{}</td>", escape_xml(&value(row)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></body></html>\n");
    out
}

/// CSV (RFC 4180): a header row, then one row per item.
pub fn csv<T>(columns: &[Column<T>], rows: &[T]) -> String {
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    let mut out = line(columns.iter().map(|(h, _)| csv_field(h)).collect());
    for row in rows {
        out.push_str(&line(
            columns.iter().map(|(_, v)| csv_field(&v(row))).collect(),
        ));
    }
    out
}

/// JSON: `{key: rows}` with every field of every row.
pub fn json<T: Serialize>(key: &str, rows: &[T]) -> String {
    let mut document = serde_json::Map::new();
    document.insert(
        key.to_string(),
        serde_json::to_value(rows).unwrap_or_default(),
    );
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// `rows` in `format`: a table titled `title`, or JSON under `key`.
pub fn render<T: Serialize>(
    format: Format,
    title: &str,
    key: &str,
    columns: &[Column<T>],
    rows: &[T],
) -> String {
    match format {
        Format::Markdown => markdown(title, columns, rows),
        Format::Html => html(title, columns, rows),
        Format::Csv => csv(columns, rows),
        Format::Json => json(key, rows),
    }
}
