//! Tables for people, spreadsheets and tools: one list of columns renders a list of rows as
//! Markdown, a self-contained HTML page or CSV; JSON writes the rows themselves.

use serde::Serialize;

use super::document::{self, Block};
use super::{Format, csv_field};

/// A column: its header and how a row fills it.
pub type Column<T> = (&'static str, fn(&T) -> String);

/// The title and the table, as document blocks.
fn blocks<T>(title: &str, columns: &[Column<T>], rows: &[T]) -> Vec<Block> {
    vec![
        Block::Heading(1, title.to_string()),
        Block::Table(
            columns.iter().map(|(h, _)| h.to_string()).collect(),
            rows.iter()
                .map(|row| columns.iter().map(|(_, value)| value(row)).collect())
                .collect(),
        ),
    ]
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
        Format::Markdown => document::markdown(&blocks(title, columns, rows)),
        Format::Html => document::html(title, &blocks(title, columns, rows)),
        Format::Csv => csv(columns, rows),
        Format::Json => json(key, rows),
    }
}
