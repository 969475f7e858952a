//! The two charts of the HTML report as inline SVG: no script, no external
//! resource, printable, and with every label in the report's language.
//!
//! Sizes are in SVG user units on a 680-wide canvas, about the text width of
//! an A4 page; `viewBox` lets the browser scale it down, never crop it.

use super::data::*;
use super::html::esc;
use super::{Lang, i18n};
use std::fmt::Write;

const WIDTH: f64 = 680.0;
const ROW: f64 = 24.0;
const BAR: f64 = 15.0;
/// Most items a bar chart shows; the table beside it lists them all.
pub const MAX_BARS: usize = 12;
/// Okabe–Ito: distinguishable with the common colour-vision deficiencies and
/// in greyscale print.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Shortens a label to `max` characters (a chart has no room to wrap); the
/// full text stays in the row's `<title>`.
fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The opening tag with the accessible name, and the `<title>`.
fn open(out: &mut String, height: f64, title: &str, label: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{}\" \
         font-size=\"11\">\n<title>{}</title>\n<desc>{}</desc>\n",
        esc(&format!("{title}. {label}")),
        esc(title),
        esc(label)
    );
}

/// Horizontal stacked bars: one per ledger row, one colour per resource
/// type, with a legend underneath.
pub fn ledger(lang: Lang, l: &Ledger) -> Option<String> {
    let rows: Vec<&LedgerRow> = l.rows.iter().filter(|r| r.total > 0).collect();
    let max = rows.iter().map(|r| r.total).max()?;
    let (label_w, bar_x) = (230.0, 240.0);
    let bar_w = WIDTH - bar_x - 40.0;
    let legend = legend_layout(&l.resource_types);
    let legend_h = legend.last().map_or(0.0, |(_, _, y)| y + ROW);
    let chart_h = rows.len() as f64 * ROW;
    let height = chart_h + 12.0 + legend_h;
    let mut out = String::new();
    open(
        &mut out,
        height,
        &i18n::t(lang, "chart.ledger_title"),
        &i18n::t(lang, "chart.ledger_label"),
    );
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64 * ROW;
        let _ = write!(
            out,
            "<g><title>{}</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            esc(&r.label),
            label_w,
            y + BAR - 3.0,
            esc(&clip(&r.label, 40))
        );
        let mut x = bar_x;
        for t in 0..l.resource_types.len() {
            let Some(cell) = r.cells.get(t).filter(|c| c.count > 0) else {
                continue;
            };
            let w = cell.count as f64 / max as f64 * bar_w;
            let tip = i18n::tf(
                lang,
                "chart.segment",
                &[
                    ("label", &l.resource_types[t].label),
                    ("count", &cell.count.to_string()),
                ],
            );
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{}\" \
                 stroke=\"#fff\" stroke-width=\"0.5\"><title>{}</title></rect>",
                colour(t),
                esc(&tip)
            );
            x += w;
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\">{}</text></g>",
            x + 5.0,
            y + BAR - 3.0,
            r.total
        );
    }
    let top = chart_h + 12.0;
    for (t, x, y) in legend {
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            top + y,
            colour(t),
            x + 16.0,
            top + y + 10.0,
            esc(&l.resource_types[t].label)
        );
    }
    out.push_str("</svg>");
    Some(out)
}

/// Where each legend entry goes: (type index, x, y), wrapping lines on an
/// estimate of the text's width.
fn legend_layout(types: &[Labelled]) -> Vec<(usize, f64, f64)> {
    let (mut x, mut y) = (0.0, 0.0);
    let mut out = Vec::new();
    for (i, t) in types.iter().enumerate() {
        let w = 16.0 + t.label.chars().count() as f64 * 6.2 + 18.0;
        if x > 0.0 && x + w > WIDTH {
            x = 0.0;
            y += ROW - 4.0;
        }
        out.push((i, x, y));
        x += w;
    }
    out
}

/// Horizontal bars of the most voted needs, with their votes. `None` when
/// nobody has voted (a chart of zeros says nothing).
pub fn needs(lang: Lang, items: &[NeedItem]) -> Option<String> {
    let shown: Vec<&NeedItem> = items.iter().take(MAX_BARS).collect();
    let max = shown.iter().map(|n| n.votes).max().filter(|m| *m > 0)?;
    let (label_w, bar_x) = (300.0, 310.0);
    let bar_w = WIDTH - bar_x - 40.0;
    let height = shown.len() as f64 * ROW;
    let mut out = String::new();
    open(
        &mut out,
        height,
        &i18n::t(lang, "chart.needs_title"),
        &i18n::t(lang, "chart.needs_label"),
    );
    for (i, n) in shown.iter().enumerate() {
        let y = i as f64 * ROW;
        let w = n.votes.max(0) as f64 / max as f64 * bar_w;
        let _ = writeln!(
            out,
            "<g><title>{}: {}</title><text x=\"{label_w}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{bar_x}\" y=\"{y}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{}\">{}</text></g>",
            esc(&n.label),
            esc(&i18n::votes(lang, n.votes)),
            y + BAR - 3.0,
            esc(&clip(&n.label, 50)),
            colour(0),
            bar_x + w + 5.0,
            y + BAR - 3.0,
            n.votes
        );
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_clipped_on_one_line() {
        assert_eq!(clip("uno\ndue", 10), "uno due");
        assert_eq!(clip("abcdefghijkl", 5), "abcd…");
    }
}
