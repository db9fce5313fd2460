//! Charts for the HTML report as inline SVG: no script, font or file outside the page, so
//! the report opens, prints and archives the same anywhere. Each chart carries a title and a
//! text alternative, and every bar its value in a tooltip.

use std::fmt::Write as _;

use super::escape_xml;

/// One bar of a stacked bar chart: its label and its segments (class name, count).
pub struct StackedBar {
    /// What the bar stands for.
    pub label: String,
    /// Segments in order: the CSS class (which gives the colour and the legend) and count.
    pub segments: Vec<(&'static str, usize)>,
}

const WIDTH: f64 = 820.0;
/// Room for a bar's label, left of the bars (about 30 characters).
const LABEL: f64 = 210.0;
/// Room for the value written after the longest bar.
const VALUE: f64 = 200.0;
const ROW: f64 = 26.0;
const BAR: f64 = 18.0;

/// A horizontal stacked bar chart, bars scaled to the largest total, with a legend of the
/// segment classes in `legend` order.
pub fn stacked(title: &str, bars: &[StackedBar], legend: &[&'static str]) -> String {
    let max = bars
        .iter()
        .map(|b| b.segments.iter().map(|(_, n)| n).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot = WIDTH - LABEL - 60.0;
    let height = ROW * bars.len() as f64 + 44.0;
    let mut svg = open(title, height);
    for (i, bar) in bars.iter().enumerate() {
        let y = 8.0 + ROW * i as f64;
        let _ = write!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>",
            LABEL - 8.0,
            y + BAR * 0.75,
            escape_xml(&shorten(&bar.label, 30))
        );
        let mut x = LABEL;
        let mut total = 0;
        for (class, count) in bar.segments.iter().filter(|(_, n)| *n > 0) {
            let w = plot * *count as f64 / max;
            let _ = write!(
                svg,
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BAR}\"><title>{}: {class} {count}</title></rect>",
                escape_xml(&bar.label)
            );
            x += w;
            total += count;
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{total}</text>",
            x + 6.0,
            y + BAR * 0.75
        );
    }
    legend_row(&mut svg, legend, height - 18.0);
    svg.push_str("</svg>");
    svg
}

/// One measured objective against its target.
pub struct TargetBar {
    /// The objective.
    pub label: String,
    /// How far along the way to the target it is, where the target is 1 (a share of 80 %
    /// against a target of 100 % is 0.8; a time of half the target is 2).
    pub progress: f64,
    /// The value as written for people.
    pub value: String,
    /// Whether it meets the target.
    pub met: bool,
}

/// Objectives against their targets: each bar reaches the target line when it is met.
pub fn targets(title: &str, bars: &[TargetBar]) -> String {
    let plot = WIDTH - LABEL - VALUE;
    // The target sits at two thirds of the plot, so that going beyond it shows (up to half
    // as far again).
    let target_x = LABEL + plot * 2.0 / 3.0;
    let height = ROW * bars.len() as f64 + 44.0;
    let mut svg = open(title, height);
    for (i, bar) in bars.iter().enumerate() {
        let y = 8.0 + ROW * i as f64;
        let w = plot * 2.0 / 3.0 * bar.progress.clamp(0.0, 1.5);
        let class = if bar.met { "met" } else { "unmet" };
        let _ = write!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{}</text>\
             <rect class=\"{class}\" x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BAR}\"><title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            LABEL - 8.0,
            y + BAR * 0.75,
            escape_xml(&shorten(&bar.label, 30)),
            escape_xml(&bar.label),
            escape_xml(&bar.value),
            LABEL + w + 6.0,
            y + BAR * 0.75,
            escape_xml(&bar.value)
        );
    }
    let _ = write!(
        svg,
        "<line class=\"target\" x1=\"{target_x:.1}\" x2=\"{target_x:.1}\" y1=\"4\" y2=\"{:.1}\"/>\
         <text x=\"{target_x:.1}\" y=\"{:.1}\" class=\"value\" text-anchor=\"middle\">target</text>",
        height - 30.0,
        height - 18.0
    );
    legend_row(&mut svg, &["met", "unmet"], height - 4.0);
    svg.push_str("</svg>");
    svg
}

fn open(title: &str, height: f64) -> String {
    format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"{WIDTH}\" height=\"{height:.0}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape_xml(title)
    )
}

fn legend_row(svg: &mut String, legend: &[&'static str], y: f64) {
    let mut x = LABEL;
    for class in legend {
        let _ = write!(
            svg,
            "<rect class=\"{class}\" x=\"{x:.0}\" y=\"{:.1}\" width=\"10\" height=\"10\"/><text x=\"{:.0}\" y=\"{y:.1}\" class=\"legend\">{class}</text>",
            y - 9.0,
            x + 14.0
        );
        // About 7 px a character at 12 px.
        x += 24.0 + 7.0 * class.len() as f64;
    }
}

fn shorten(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_string();
    }
    let kept: String = text.chars().take(most - 1).collect();
    format!("{kept}…")
}
