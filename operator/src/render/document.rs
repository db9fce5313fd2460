//! Documents for people: a few kinds of block (headings, paragraphs, tables) rendered as
//! Markdown or as one self-contained HTML page, so that every view written for a person
//! reads the same in a terminal, a pull request or a browser.

use std::fmt::Write as _;

use super::escape_xml;

/// One block of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A heading of level 1 (the title) to 3.
    Heading(u8, String),
    /// Lines of one paragraph, each on its own line.
    Paragraph(Vec<String>),
    /// A table: its headers, then rows of cells.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// Text made safe for one Markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The blocks as Markdown.
pub fn markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}", "#".repeat(usize::from(*level)));
            }
            // Two trailing spaces break a Markdown line without starting a paragraph.
            Block::Paragraph(lines) => {
                let _ = writeln!(out, "{}", lines.join("  \n"));
            }
            Block::Table(headers, rows) => {
                out.push('|');
                for header in headers {
                    let _ = write!(out, " {header} |");
                }
                out.push_str("\n|");
                out.push_str(&"---|".repeat(headers.len()));
                for row in rows {
                    out.push_str("\n|");
                    for value in row {
                        let _ = write!(out, " {} |", cell(value));
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}

/// The blocks as one self-contained HTML page titled `title`: no scripts, fonts or links to
/// fetch, so it opens the same offline and prints as it shows.
pub fn html(title: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;\
         padding:4px;vertical-align:top;text-align:left}}</style></head><body>",
        escape_xml(title)
    );
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = write!(out, "<h{level}>{}</h{level}>", escape_xml(text));
            }
            Block::Paragraph(lines) => {
                let lines: Vec<String> = lines.iter().map(|l| escape_xml(l)).collect();
                let _ = write!(out, "<p>{}</p>", lines.join("<br>"));
            }
            Block::Table(headers, rows) => {
                out.push_str("<table><tr>");
                for header in headers {
                    let _ = write!(out, "<th>{}</th>", escape_xml(header));
                }
                out.push_str("</tr>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for value in row {
                        let _ = write!(out, "<td>{}</td>", escape_xml(value));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>");
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Block> {
        vec![
            Block::Heading(1, "A <title>".to_string()),
            Block::Paragraph(vec!["one".to_string(), "two & more".to_string()]),
            Block::Table(
                vec!["Name".to_string(), "Note".to_string()],
                vec![vec!["a|b".to_string(), "line\nbreak".to_string()]],
            ),
        ]
    }

    #[test]
    fn markdown_keeps_cells_in_their_column() {
        assert_eq!(
            markdown(&sample()),
            "# A <title>\n\none  \ntwo & more\n\n| Name | Note |\n|---|---|\n| a\\|b | line break |\n"
        );
    }

    #[test]
    fn html_escapes_every_text() {
        let page = html("A <title>", &sample());
        assert!(page.contains("<title>A &lt;title&gt;</title>"));
        assert!(page.contains("<h1>A &lt;title&gt;</h1><p>one<br>two &amp; more</p>"));
        assert!(page.contains("<td>a|b</td><td>line\nbreak</td>"));
        assert!(!page.contains("<script"));
    }
}
