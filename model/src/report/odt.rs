//! The report as an OpenDocument Text file (`.odt`), for the administration
//! to open and edit in LibreOffice Writer (or Word): the same sections, in
//! the same order and with the same words as the printable HTML page, as
//! real Writer structure — Heading 1–4 with outline levels (the navigator
//! and an inserted table of contents see them), paragraphs, bullet lists,
//! tables whose header row repeats on every page, and the two charts as SVG
//! images (the very SVG of [`super::chart`]).
//!
//! A clean generator, without dependencies: the package is a ZIP written
//! here with stored (uncompressed) entries and their CRC-32, `mimetype`
//! first as the format requires, then the manifest, `content.xml`,
//! `styles.xml`, `meta.xml` and `Pictures/*.svg`. The output is a pure
//! function of the [`Report`] (the ZIP's timestamps are the report's
//! `generated_at`), so two renders of one report are byte-identical.
//!
//! Every text goes through [`text`] (escaped, characters XML 1.0 forbids
//! dropped, line breaks and runs of spaces kept): note texts are user input.
//!
//! Layout follows the HTML's print stylesheet: headings, a table's title, a
//! view's introduction and legend (and the previous meeting's introduction
//! and summary), a phase's goal and a chart's title keep with what follows; table rows are never split across pages, and small
//! tables (at most [`SMALL_TABLE_ROWS`] rows) are kept on one page.

use super::data::*;
use super::html::SMALL_TABLE_ROWS;
use super::markdown::{
    budgets_vary, cited_questions, commitment_headers, item_label, ledger_tier, meeting_lines,
    previous_headers, previous_intro, previous_summary, privacy_key, version_key, view_budgets,
    voted_budgets, votes_meaning,
};
use super::prose::{self, Block};
use super::{Lang, chart, i18n};
use std::fmt::Write;

/// The media type of the package (the `mimetype` entry, the HTTP header).
pub const MEDIA_TYPE: &str = "application/vnd.oasis.opendocument.text";

/// The text width of the page: A4 less two 2 cm margins.
const TEXT_WIDTH_CM: f64 = 17.0;
/// The text's width on a landscape A4 page (29.7 cm less the margins).
const LANDSCAPE_TEXT_WIDTH_CM: f64 = 25.7;
/// A ledger with more resource types than this goes on a landscape page:
/// on a portrait one its columns are narrower than the words in them, and
/// Writer breaks the words.
const LEDGER_PORTRAIT_TYPES: usize = 4;

/// The report as the bytes of an `.odt` file.
pub fn render(r: &Report) -> Vec<u8> {
    let mut d = Doc::new(r.lang);
    title_block(&mut d, r);
    meeting(&mut d, &r.meeting);
    if let Some(p) = &r.previous {
        previous(&mut d, p);
    }
    attendance(&mut d, &r.attendance);
    let has_views = r.raw_material.is_some()
        || r.ledger.is_some()
        || r.needs.is_some()
        || r.expectations.is_some();
    if has_views {
        d.heading(1, &d.t("section.summary"));
        if let Some(meaning) = votes_meaning(d.lang, &view_budgets(r)) {
            d.para("Intro", &text(&meaning));
        }
        if let Some(m) = &r.raw_material {
            raw_material(&mut d, m);
        }
        if let Some(l) = &r.ledger {
            ledger(&mut d, l);
        }
        if let Some(n) = &r.needs {
            needs(&mut d, n);
        }
        if let Some(e) = &r.expectations {
            expectations(&mut d, e);
        }
    }
    phases(&mut d, &r.phases);
    commitments(&mut d, &r.commitments);
    for (key, body) in [
        ("section.next_steps", &r.next_steps),
        ("section.open_questions", &r.open_questions),
    ] {
        if !body.trim().is_empty() {
            d.heading(1, &d.t(key));
            d.prose(body);
        }
    }
    let title = format!("{}: {}", d.t("report.title"), r.session.title);
    package(&d, r, &title)
}

// ---- text ------------------------------------------------------------------

/// Escapes `s` for XML content and attribute values, dropping the
/// characters XML 1.0 does not allow (control characters other than tab and
/// line breaks, U+FFFE, U+FFFF): a note containing one must not make the
/// document unreadable.
pub fn esc(s: &str) -> String {
    let allowed: String = s
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !((c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}')
        })
        .collect();
    super::html::esc(&allowed)
}

/// Paragraph content for `s`: escaped, each line break a
/// `<text:line-break/>`, tabs and runs of spaces kept (ODF collapses
/// white space otherwise).
pub fn text(s: &str) -> String {
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len());
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<text:line-break/>");
        }
        let mut spaces = 0usize;
        let mut at_start = true;
        let flush = |out: &mut String, spaces: &mut usize, at_start: bool| {
            match (*spaces, at_start) {
                (0, _) => {}
                (n, true) => {
                    let _ = write!(out, "<text:s text:c=\"{n}\"/>");
                }
                (1, false) => out.push(' '),
                (n, false) => {
                    let _ = write!(out, " <text:s text:c=\"{}\"/>", n - 1);
                }
            }
            *spaces = 0;
        };
        for c in line.chars() {
            match c {
                ' ' => spaces += 1,
                '\t' => {
                    flush(&mut out, &mut spaces, at_start);
                    out.push_str("<text:tab/>");
                    at_start = false;
                }
                c => {
                    flush(&mut out, &mut spaces, at_start);
                    out.push_str(&esc(c.encode_utf8(&mut [0; 4])));
                    at_start = false;
                }
            }
        }
        // Trailing spaces are kept too (as written).
        flush(&mut out, &mut spaces, at_start);
    }
    out
}

/// `inner` (already paragraph content) in a character style.
fn span(style: &str, inner: &str) -> String {
    format!("<text:span text:style-name=\"{style}\">{inner}</text:span>")
}

// ---- the document being written --------------------------------------------

/// A column of a table: its heading and how wide it is.
struct Col {
    head: String,
    width: Width,
    num: bool,
}

#[derive(Clone, Copy)]
enum Width {
    Cm(f64),
    Pct(f64),
    Flex,
}

fn col(head: String, width: Width) -> Col {
    Col {
        head,
        width,
        num: false,
    }
}

/// A numeric column, as wide as its heading needs.
fn num_col(head: String) -> Col {
    let chars = head.chars().count() as f64;
    Col {
        head,
        width: Width::Cm((0.45 + 0.21 * chars).max(1.3)),
        num: true,
    }
}

/// A row of a table; cells are block content (paragraphs, lists).
enum Row {
    Cells(Vec<String>),
    /// The first row of a group (the ledger's sector): its first cell, a
    /// row heading, spans the group's `rows`.
    Lead {
        rows: usize,
        cells: Vec<String>,
    },
    /// A later row of a group: the cells after the spanned one.
    Follow(Vec<String>),
    /// The closing row of totals.
    Total(Vec<String>),
}

#[derive(Clone, Copy, PartialEq)]
enum Look {
    /// Borders, a shaded header row.
    Grid,
    /// Smaller type (the ledger, which may have many columns).
    Small,
    /// No borders, no header row (the meeting's data).
    Plain,
}

struct Doc {
    lang: Lang,
    body: String,
    /// Automatic styles of the tables (widths differ per table).
    styles: String,
    tables: usize,
    table_names: Vec<String>,
    /// `(path in the package, SVG)`.
    pictures: Vec<(String, String)>,
}

impl Doc {
    fn new(lang: Lang) -> Self {
        Doc {
            lang,
            body: String::new(),
            styles: String::new(),
            tables: 0,
            table_names: Vec::new(),
            pictures: Vec::new(),
        }
    }

    fn t(&self, key: &str) -> String {
        i18n::t(self.lang, key)
    }

    fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        i18n::tf(self.lang, key, args)
    }

    /// A heading of `level` (1–4): Writer's "Heading N", in the outline.
    fn heading(&mut self, level: u8, title: &str) {
        let _ = writeln!(
            self.body,
            "<text:h text:style-name=\"Heading_20_{level}\" text:outline-level=\"{level}\">{}</text:h>",
            text(title)
        );
    }

    /// A paragraph of `style` with `inner` (already paragraph content).
    fn para(&mut self, style: &str, inner: &str) {
        let _ = writeln!(
            self.body,
            "<text:p text:style-name=\"{style}\">{inner}</text:p>"
        );
    }

    /// A long text of the record: paragraphs (keeping their lines) and
    /// bullet lists.
    fn prose(&mut self, body: &str) {
        for block in prose::blocks(body) {
            match block {
                Block::Paragraph(lines) => {
                    let inner: Vec<String> = lines.iter().map(|l| text(l)).collect();
                    self.para("Text_20_body", &inner.join("<text:line-break/>"));
                }
                Block::List(items) => {
                    let items: Vec<String> = items.iter().map(|i| text(i)).collect();
                    self.body.push_str(&list("List_20_Contents", &items));
                    self.body.push('\n');
                }
            }
        }
    }

    /// A table `width_cm` wide with a repeated header row (unless
    /// [`Look::Plain`]). Rows are never split across pages; a small table
    /// is kept on one page.
    fn table(&mut self, name: &str, look: Look, width_cm: f64, cols: &[Col], rows: &[Row]) {
        self.tables += 1;
        let id = format!("Tab{}", self.tables);
        let whole = rows.len() <= SMALL_TABLE_ROWS;
        let _ = write!(
            self.styles,
            "<style:style style:name=\"{id}\" style:family=\"table\">\
             <style:table-properties style:width=\"{width_cm:.2}cm\" table:align=\"left\" \
             fo:margin-top=\"0.1cm\" fo:margin-bottom=\"0.35cm\" \
             style:may-break-between-rows=\"{}\"/></style:style>",
            !whole
        );
        for (i, w) in widths(width_cm, cols).iter().enumerate() {
            let _ = write!(
                self.styles,
                "<style:style style:name=\"{id}.C{i}\" style:family=\"table-column\">\
                 <style:table-column-properties style:column-width=\"{w:.3}cm\" \
                 style:rel-width=\"{}*\"/></style:style>",
                (w * 1000.0).round() as i64
            );
        }
        let name = self.table_name(name);
        let _ = write!(
            self.body,
            "<table:table table:name=\"{}\" table:style-name=\"{id}\">",
            esc(&name)
        );
        for i in 0..cols.len() {
            let _ = write!(
                self.body,
                "<table:table-column table:style-name=\"{id}.C{i}\"/>"
            );
        }
        let (cell, cell_num) = match look {
            Look::Small => ("Table_20_Small", "Table_20_Small_20_Number"),
            _ => ("Table_20_Contents", "Table_20_Number"),
        };
        let (head, head_num) = match look {
            Look::Small => (
                "Table_20_Small_20_Heading",
                "Table_20_Small_20_Heading_20_Number",
            ),
            _ => ("Table_20_Heading", "Table_20_Heading_20_Number"),
        };
        let bordered = look != Look::Plain;
        let (c_style, g_style, h_style) = match look {
            Look::Grid => ("CellGrid", "CellGroup", "CellHead"),
            Look::Small => ("CellGridSmall", "CellGroupSmall", "CellHeadSmall"),
            Look::Plain => ("CellPlain", "CellPlain", "CellPlain"),
        };
        if bordered {
            self.body
                .push_str("<table:table-header-rows><table:table-row table:style-name=\"Row\">");
            for c in cols {
                let style = if c.num { head_num } else { head };
                let _ = write!(
                    self.body,
                    "<table:table-cell table:style-name=\"{h_style}\" office:value-type=\"string\">\
                     <text:p text:style-name=\"{style}\">{}</text:p></table:table-cell>",
                    text(&c.head)
                );
            }
            self.body
                .push_str("</table:table-row></table:table-header-rows>");
        }
        for r in rows {
            self.body
                .push_str("<table:table-row table:style-name=\"Row\">");
            let (cs, (p, p_num)) = match r {
                Row::Total(_) => (g_style, (head, head_num)),
                _ => (c_style, (cell, cell_num)),
            };
            let (first, cells) = match r {
                Row::Cells(cells) | Row::Total(cells) => (0, cells.as_slice()),
                Row::Lead { rows, cells } => {
                    let _ = write!(
                        self.body,
                        "<table:table-cell table:style-name=\"{g_style}\" \
                         table:number-rows-spanned=\"{rows}\" office:value-type=\"string\">{}\
                         </table:table-cell>",
                        cells.first().map_or(String::new(), |c| c
                            .replace("\u{1}P\u{1}", head)
                            .replace("\u{1}H\u{1}", head))
                    );
                    (1, cells.get(1..).unwrap_or(&[]))
                }
                Row::Follow(cells) => {
                    self.body.push_str("<table:covered-table-cell/>");
                    (1, cells.as_slice())
                }
            };
            for (i, content) in cells.iter().enumerate() {
                let num = cols.get(first + i).is_some_and(|c| c.num);
                let _ = write!(
                    self.body,
                    "<table:table-cell table:style-name=\"{cs}\" office:value-type=\"string\">{}\
                     </table:table-cell>",
                    content
                        .replace("\u{1}P\u{1}", if num { p_num } else { p })
                        .replace("\u{1}H\u{1}", head)
                );
            }
            self.body.push_str("</table:table-row>");
        }
        self.body.push_str("</table:table>\n");
    }

    /// A name for Writer's navigator: letters and digits of `name` (dots and
    /// spaces would trouble Writer's cell references), unique in the document.
    fn table_name(&mut self, name: &str) -> String {
        let mut base = String::new();
        for c in name.chars() {
            if c.is_alphanumeric() {
                base.push(c);
            } else if !base.ends_with('_') && !base.is_empty() {
                base.push('_');
            }
            if base.chars().count() >= 40 {
                break;
            }
        }
        let base = base.trim_end_matches('_');
        let base = if base.is_empty() { "Tab" } else { base };
        let mut name = base.to_string();
        let mut n = 1;
        while self.table_names.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.table_names.push(name.clone());
        name
    }

    /// A chart under its title, kept on one page with it, as an SVG image
    /// the width of the text; `note` goes under it.
    fn figure(&mut self, svg: Option<String>, title: &str, label: &str, note: Option<&str>) {
        let Some(svg) = svg else {
            return;
        };
        let (w, h) = svg_size(&svg);
        let height_cm = TEXT_WIDTH_CM * h / w;
        let n = self.pictures.len() + 1;
        let path = format!("Pictures/chart-{n}.svg");
        // The page's font, since the SVG names none (the HTML's CSS gave it).
        let svg = svg.replacen(
            "<svg ",
            "<svg font-family=\"Liberation Sans, DejaVu Sans, Arial, sans-serif\" ",
            1,
        );
        self.pictures.push((path.clone(), svg));
        self.para("Figure_20_Title", &text(title));
        let _ = writeln!(
            self.body,
            "<text:p text:style-name=\"Figure\"><draw:frame draw:style-name=\"Chart\" \
             draw:name=\"{}\" text:anchor-type=\"as-char\" svg:width=\"{TEXT_WIDTH_CM:.2}cm\" \
             svg:height=\"{height_cm:.2}cm\" draw:z-index=\"0\"><draw:image xlink:href=\"{path}\" \
             xlink:type=\"simple\" xlink:show=\"embed\" xlink:actuate=\"onLoad\"/>\
             <svg:title>{}</svg:title><svg:desc>{}</svg:desc></draw:frame></text:p>",
            esc(&format!("{title} ({n})")),
            esc(title),
            esc(label)
        );
        if let Some(note) = note {
            self.para("Figure_20_Note", &text(note));
        }
    }
}

/// A one-paragraph cell: the placeholder `\u{1}P\u{1}` becomes the table's
/// paragraph style (plain or numeric) when the cell is written, and
/// `\u{1}H\u{1}` its heading style. No text can forge one: [`esc`] drops
/// U+0001.
fn cell(inner: &str) -> String {
    format!("<text:p text:style-name=\"\u{1}P\u{1}\">{inner}</text:p>")
}

/// A cell of plain text.
fn cell_text(s: &str) -> String {
    cell(&text(s))
}

/// "—" for a cell left empty.
fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        cell("—")
    } else {
        cell_text(s)
    }
}

/// A bullet list of `items` (paragraph content) in paragraphs of `style`.
fn list(style: &str, items: &[String]) -> String {
    let mut out = String::from("<text:list text:style-name=\"List_20_Bullet\">");
    for item in items {
        let _ = write!(
            out,
            "<text:list-item><text:p text:style-name=\"{style}\">{item}</text:p></text:list-item>"
        );
    }
    out.push_str("</text:list>");
    out
}

/// Column widths in cm: fixed ones as given, percentages of the table, the
/// flexible ones share what is left (at least 1.5 cm each); scaled down if
/// they would not fit.
fn widths(total: f64, cols: &[Col]) -> Vec<f64> {
    let fixed: f64 = cols
        .iter()
        .map(|c| match c.width {
            Width::Cm(w) => w,
            Width::Pct(p) => total * p / 100.0,
            Width::Flex => 0.0,
        })
        .sum();
    let flex = cols
        .iter()
        .filter(|c| matches!(c.width, Width::Flex))
        .count();
    let each = if flex > 0 {
        ((total - fixed) / flex as f64).max(1.5)
    } else {
        0.0
    };
    let raw: Vec<f64> = cols
        .iter()
        .map(|c| match c.width {
            Width::Cm(w) => w,
            Width::Pct(p) => total * p / 100.0,
            Width::Flex => each,
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    let scale = if sum > 0.0 { total / sum } else { 1.0 };
    raw.iter().map(|w| w * scale).collect()
}

/// The `viewBox` size of a chart (width, height); 680×300 if unreadable.
fn svg_size(svg: &str) -> (f64, f64) {
    let parsed = svg
        .split_once("viewBox=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| {
            v.split_whitespace()
                .filter_map(|n| n.parse::<f64>().ok())
                .collect::<Vec<_>>()
        });
    match parsed.as_deref() {
        Some([_, _, w, h]) if *w > 0.0 && *h > 0.0 => (*w, *h),
        _ => (680.0, 300.0),
    }
}

// ---- the sections, as in the HTML page ---------------------------------------

fn title_block(d: &mut Doc, r: &Report) {
    d.para("Title", &text(&d.t("report.title")));
    d.para("Subtitle", &text(&r.session.title));
    let version_style = if r.public {
        "Version_20_Public"
    } else {
        "Version_20_Private"
    };
    d.para(
        "Meta",
        &span(version_style, &text(&d.t(version_key(r.public)))),
    );
    let line = format!(
        "{} · {}",
        d.tf("report.generated", &[("date", &r.generated_at_text)]),
        d.tf("report.template", &[("template", &r.session.template)])
    );
    d.para("Meta", &text(&line));
    d.para(
        "Privacy",
        &text(&d.t(privacy_key(r.public, r.organizations_shown))),
    );
}

fn meeting(d: &mut Doc, m: &MeetingInfo) {
    let lines = meeting_lines(d.lang, m);
    if lines.is_empty() {
        return;
    }
    d.heading(1, &d.t("section.meeting"));
    let cols = [
        col(String::new(), Width::Cm(4.5)),
        col(String::new(), Width::Flex),
    ];
    let rows: Vec<Row> = lines
        .iter()
        .map(|(label, value)| {
            Row::Cells(vec![
                format!(
                    "<text:p text:style-name=\"\u{1}H\u{1}\">{}</text:p>",
                    text(label)
                ),
                cell_text(value),
            ])
        })
        .collect();
    d.table(
        &d.t("section.meeting"),
        Look::Plain,
        TEXT_WIDTH_CM,
        &cols,
        &rows,
    );
}

/// "Dal precedente incontro": its heading, introduction and summary keep
/// with the table (as the HTML's), the open questions with their heading.
fn previous(d: &mut Doc, p: &PreviousReport) {
    d.heading(1, &d.t("section.previous"));
    d.para("Intro", &text(&previous_intro(d.lang, p)));
    if let Some(summary) = previous_summary(d.lang, &p.commitments) {
        d.para("Table_20_Title", &text(&summary));
        let [org, what, when, status, progress] = previous_headers(d.lang);
        let cols = [
            col(org, Width::Pct(20.0)),
            col(what, Width::Flex),
            col(when, Width::Pct(13.0)),
            col(status, Width::Pct(14.0)),
            col(progress, Width::Pct(28.0)),
        ];
        let rows: Vec<Row> = p
            .commitments
            .iter()
            .map(|c| {
                Row::Cells(vec![
                    or_dash(&c.organization),
                    cell_text(&c.what),
                    or_dash(&c.by_when),
                    cell_text(&c.status.label),
                    or_dash(&c.progress),
                ])
            })
            .collect();
        d.table(
            &d.t("section.previous"),
            Look::Grid,
            TEXT_WIDTH_CM,
            &cols,
            &rows,
        );
    }
    if !p.open_questions.is_empty() {
        d.heading(2, &d.t("section.previous_open_questions"));
        d.prose(&p.open_questions);
    }
}

fn attendance(d: &mut Doc, a: &AttendanceSummary) {
    d.heading(1, &d.t("section.attendance"));
    d.para(
        "Text_20_body",
        &text(&d.tf("attendance.total", &[("count", &a.total.to_string())])),
    );
    for (key, counts) in [
        ("attendance.by_sector", &a.by_sector),
        ("attendance.by_tier", &a.by_tier),
        ("attendance.by_presence", &a.by_attendance),
    ] {
        let cols = [col(d.t(key), Width::Flex), num_col(d.t("column.count"))];
        let rows: Vec<Row> = counts
            .iter()
            .map(|c| Row::Cells(vec![cell_text(&c.label), cell_text(&c.count.to_string())]))
            .collect();
        d.table(&d.t(key), Look::Grid, 8.5, &cols, &rows);
    }
    if a.total == 0 {
        return;
    }
    d.heading(2, &d.t("attendance.organizations"));
    if a.organizations.is_empty() {
        d.para("Text_20_body", &text(&d.t("attendance.organizations_none")));
        return;
    }
    d.para("Intro", &text(&d.t("attendance.organizations_intro")));
    let cols = [
        col(d.t("column.sector"), Width::Cm(3.5)),
        col(d.t("column.tier"), Width::Cm(3.5)),
        col(d.t("column.organizations"), Width::Flex),
    ];
    let rows: Vec<Row> = a
        .organizations
        .iter()
        .map(|g| {
            Row::Cells(vec![
                cell_text(&g.sector.label),
                cell_text(&g.tier.label),
                cell_text(&g.organizations.join(", ")),
            ])
        })
        .collect();
    d.table(
        &d.t("attendance.organizations"),
        Look::Grid,
        TEXT_WIDTH_CM,
        &cols,
        &rows,
    );
    if a.unlisted > 0 {
        d.para(
            "Text_20_body",
            &text(&d.tf("attendance.unlisted", &[("count", &a.unlisted.to_string())])),
        );
    }
}

/// A view's heading and introduction.
fn intro(d: &mut Doc, title: &str, intro: &str) {
    d.heading(2, &d.t(title));
    d.para("Intro", &text(&d.t(intro)));
}

/// The legend of a view's question references: each question's full text
/// once, so that rows cite it as "D2.1".
fn question_legend(d: &mut Doc, cited: &[(&str, &str)]) {
    if cited.is_empty() {
        return;
    }
    d.para(
        "Legend",
        &span(
            "Strong_20_Emphasis",
            &text(&d.t("section.questions_legend")),
        ),
    );
    for (number, q) in cited {
        let inner = format!(
            "{}<text:tab/>{}",
            span(
                "Strong_20_Emphasis",
                &text(&i18n::question_ref(d.lang, number))
            ),
            text(q)
        );
        d.para("Legend", &inner);
    }
}

fn raw_material(d: &mut Doc, m: &RawMaterialMap) {
    intro(d, "section.raw_material", "section.raw_material_intro");
    let cited = cited_questions(m.categories.iter().flat_map(|c| {
        c.notes
            .iter()
            .map(|n| (n.question_number.as_str(), n.question.as_str()))
    }));
    question_legend(d, &cited);
    let lang = d.lang;
    for c in &m.categories {
        d.heading(3, &format!("{} ({})", c.category.label, c.notes.len()));
        if c.notes.is_empty() {
            d.para("Muted", &text(&d.t("report.no_notes")));
            continue;
        }
        let cols = [
            col(d.t("column.note"), Width::Flex),
            num_col(d.t("column.votes")),
            col(d.t("column.cluster"), Width::Pct(18.0)),
            col(d.t("column.author"), Width::Pct(24.0)),
            col(d.t("column.question"), Width::Cm(2.2)),
        ];
        let rows: Vec<Row> = c
            .notes
            .iter()
            .map(|n| {
                Row::Cells(vec![
                    cell_text(&n.text),
                    cell_text(&n.votes.to_string()),
                    cell_text(n.cluster.as_deref().unwrap_or("")),
                    cell_text(&i18n::author(lang, &n.author)),
                    cell_text(&i18n::question_ref(lang, &n.question_number)),
                ])
            })
            .collect();
        d.table(&c.category.label, Look::Grid, TEXT_WIDTH_CM, &cols, &rows);
    }
}

fn ledger(d: &mut Doc, l: &Ledger) {
    let landscape = l.resource_types.len() > LEDGER_PORTRAIT_TYPES;
    if landscape {
        // An empty paragraph whose style starts the landscape page.
        d.para("ToLandscape", "");
    }
    intro(d, "section.ledger", "section.ledger_intro");
    let lang = d.lang;
    d.figure(
        chart::ledger(lang, l),
        &d.t("chart.ledger_title"),
        &d.t("chart.ledger_label"),
        None,
    );
    // The sector is a column whose cell spans the sector's rows (the HTML's
    // group heading row): a row heading cannot be left alone at the foot of
    // a page, as a row of its own could.
    let mut cols = vec![
        col(d.t("column.sector"), Width::Cm(1.9)),
        col(d.t("column.row"), Width::Pct(15.0)),
    ];
    cols.extend(
        l.resource_types
            .iter()
            .map(|t| col(t.label.clone(), Width::Flex)),
    );
    let mut total = num_col(d.t("report.total"));
    total.width = Width::Cm(1.4);
    cols.push(total);
    let mut rows = Vec::new();
    let mut sector: Option<&Labelled> = None;
    for (i, r) in l.rows.iter().enumerate() {
        let lead = sector != Some(&r.sector);
        sector = Some(&r.sector);
        let party = match (&r.organization, &r.tier) {
            (Some(org), Some(tier)) => cell(&format!(
                "{}<text:line-break/>{}",
                text(org),
                span("Muted", &text(&tier.label))
            )),
            _ => cell_text(&ledger_tier(lang, r)),
        };
        let mut cells = Vec::new();
        if lead {
            cells.push(cell_text(&r.sector.label));
        }
        cells.push(party);
        cells.extend(r.cells.iter().map(|c| {
            if c.count == 0 {
                return cell("");
            }
            let mut out = cell(&span("Strong_20_Emphasis", &c.count.to_string()));
            for t in &c.texts {
                out.push_str(&cell_text(t));
            }
            out
        }));
        cells.push(cell_text(&r.total.to_string()));
        rows.push(if lead {
            let span = l.rows[i..]
                .iter()
                .take_while(|x| x.sector == r.sector)
                .count();
            Row::Lead { rows: span, cells }
        } else {
            Row::Follow(cells)
        });
    }
    let mut totals = vec![cell_text(&d.t("report.total")), cell("")];
    totals.extend((0..l.resource_types.len()).map(|i| {
        let n: usize = l
            .rows
            .iter()
            .filter_map(|r| r.cells.get(i))
            .map(|c| c.count)
            .sum();
        cell_text(&n.to_string())
    }));
    totals.push(cell_text(
        &l.rows.iter().map(|r| r.total).sum::<usize>().to_string(),
    ));
    rows.push(Row::Total(totals));
    d.table(
        &d.t("section.ledger"),
        Look::Small,
        if landscape {
            LANDSCAPE_TEXT_WIDTH_CM
        } else {
            TEXT_WIDTH_CM
        },
        &cols,
        &rows,
    );
    if landscape {
        d.para("ToPortrait", "");
    }
}

/// "label (what)": a ranking's item, what it is in grey.
fn item_cell(lang: Lang, kind: ItemKind, label: &str, notes: usize) -> String {
    let (label, what) = item_label(lang, kind, label, notes);
    cell(&format!(
        "{} {}",
        text(&label),
        span("Muted", &text(&format!("({what})")))
    ))
}

fn needs(d: &mut Doc, items: &[NeedItem]) {
    intro(d, "section.needs", "section.needs_intro");
    if items.is_empty() {
        d.para("Muted", &text(&d.t("report.no_notes")));
        return;
    }
    let lang = d.lang;
    let more = (items.len() > chart::MAX_BARS).then(|| {
        d.tf(
            "report.chart_note",
            &[("count", &chart::MAX_BARS.to_string())],
        )
    });
    d.figure(
        chart::needs(lang, items),
        &d.t("chart.needs_title"),
        &d.t("chart.needs_label"),
        more.as_deref(),
    );
    let cited = cited_questions(
        items
            .iter()
            .map(|n| (n.question_number.as_str(), n.question.as_str())),
    );
    question_legend(d, &cited);
    let cols = [
        Col {
            head: d.t("column.rank"),
            width: Width::Cm(1.1),
            num: true,
        },
        col(d.t("column.item"), Width::Flex),
        num_col(d.t("column.votes")),
        col(d.t("column.category"), Width::Pct(18.0)),
        col(d.t("column.question"), Width::Cm(2.2)),
    ];
    let rows: Vec<Row> = items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Row::Cells(vec![
                cell_text(&(i + 1).to_string()),
                item_cell(lang, n.kind, &n.label, n.notes),
                cell_text(&n.votes.to_string()),
                cell_text(&n.categories.join(", ")),
                cell_text(&i18n::question_ref(lang, &n.question_number)),
            ])
        })
        .collect();
    d.table(
        &d.t("section.needs"),
        Look::Grid,
        TEXT_WIDTH_CM,
        &cols,
        &rows,
    );
}

fn expectations(d: &mut Doc, e: &ExpectationMatrix) {
    intro(d, "section.expectations", "section.expectations_intro");
    let lang = d.lang;
    let mut cols = vec![col(d.t("column.from_to"), Width::Pct(16.0))];
    cols.extend(e.to.iter().map(|t| col(t.label.clone(), Width::Flex)));
    let rows: Vec<Row> = e
        .rows
        .iter()
        .map(|r| {
            let mut cells = vec![format!(
                "<text:p text:style-name=\"\u{1}H\u{1}\">{}</text:p>",
                text(&r.from.label)
            )];
            for c in &r.cells {
                if c.notes.is_empty() {
                    cells.push(cell(&span("Muted", "0")));
                    continue;
                }
                let items: Vec<String> = c
                    .notes
                    .iter()
                    .map(|n| {
                        let votes = if n.votes > 0 {
                            format!(" · {}", i18n::votes(lang, n.votes))
                        } else {
                            String::new()
                        };
                        format!(
                            "{} {}",
                            text(&n.text),
                            span(
                                "Muted",
                                &text(&format!("— {}{votes}", i18n::author(lang, &n.author)))
                            )
                        )
                    })
                    .collect();
                cells.push(format!(
                    "{}{}",
                    cell(&span("Strong_20_Emphasis", &c.notes.len().to_string())),
                    list("Table_20_List", &items)
                ));
            }
            Row::Cells(cells)
        })
        .collect();
    d.table(
        &d.t("section.expectations"),
        Look::Grid,
        TEXT_WIDTH_CM,
        &cols,
        &rows,
    );
}

fn phases(d: &mut Doc, phases: &[PhaseReport]) {
    d.heading(1, &d.t("section.phases"));
    let budgets = voted_budgets(phases.iter().flat_map(|p| &p.questions));
    if let Some(meaning) = votes_meaning(d.lang, &budgets) {
        d.para("Intro", &text(&meaning));
    }
    let each_says = budgets_vary(&budgets);
    for (i, p) in phases.iter().enumerate() {
        let heading = d.tf(
            "section.phase",
            &[("number", &(i + 1).to_string()), ("title", &p.title)],
        );
        d.heading(2, &heading);
        if !p.goal.trim().is_empty() {
            d.para("Goal", &text(&p.goal));
        }
        if let Some(m) = p.minutes {
            let planned = d.tf("phase.planned", &[("minutes", &m.to_string())]);
            d.para("Goal", &text(&planned));
        }
        if let Some(c) = &p.conclusion {
            conclusion(d, c);
        }
        for q in &p.questions {
            question(d, q, each_says);
        }
    }
}

/// The table's conclusion under a phase's heading: the synthesis, then each
/// written part under its own small heading.
fn conclusion(d: &mut Doc, c: &PhaseConclusion) {
    d.heading(3, &d.t("section.conclusion"));
    d.prose(&c.synthesis);
    for (key, body) in [
        ("section.convergences", &c.convergences),
        ("section.disagreements", &c.disagreements),
        ("section.handling", &c.handling),
    ] {
        if !body.is_empty() {
            d.heading(4, &d.t(key));
            d.prose(body);
        }
    }
}

fn note_row(lang: Lang, n: &NoteEntry) -> Row {
    Row::Cells(vec![
        cell_text(&n.text),
        cell_text(n.category.as_ref().map_or("", |c| c.label.as_str())),
        cell_text(&i18n::author(lang, &n.author)),
        cell_text(&n.votes.to_string()),
    ])
}

fn question(d: &mut Doc, q: &QuestionReport, budget_here: bool) {
    let heading = d.tf(
        "section.question",
        &[("number", &q.number), ("text", &q.text)],
    );
    d.heading(3, &heading);
    if q.note_count == 0 {
        d.para("Muted", &text(&d.t("report.no_notes")));
        return;
    }
    let lang = d.lang;
    // One table per group (cluster, then the loose notes) under its title,
    // which keeps with it: where the HTML has a heading row per group, a
    // row Writer could leave alone at the foot of a page.
    let mut groups: Vec<(Option<String>, &[NoteEntry])> = q
        .clusters
        .iter()
        .map(|c| {
            let title = format!("{} · {}", c.title, i18n::votes(lang, c.votes));
            (Some(title), c.notes.as_slice())
        })
        .collect();
    if !q.unclustered.is_empty() {
        let title = (!q.clusters.is_empty()).then(|| d.t("section.unclustered"));
        groups.push((title, q.unclustered.as_slice()));
    }
    let name = i18n::question_ref(lang, &q.number);
    for (title, notes) in groups {
        let cols = [
            col(d.t("column.note"), Width::Flex),
            col(d.t("column.category"), Width::Pct(18.0)),
            col(d.t("column.author"), Width::Pct(24.0)),
            num_col(d.t("column.votes")),
        ];
        if let Some(title) = &title {
            d.para("Table_20_Title", &span("Strong_20_Emphasis", &text(title)));
        }
        let rows: Vec<Row> = notes.iter().map(|n| note_row(lang, n)).collect();
        let table_name = format!("{name} {}", title.as_deref().unwrap_or(""));
        d.table(&table_name, Look::Grid, TEXT_WIDTH_CM, &cols, &rows);
    }
    if !q.ranking.iter().any(|r| r.votes > 0) {
        return;
    }
    let mut title = span("Strong_20_Emphasis", &text(&d.t("section.ranking")));
    if budget_here {
        let _ = write!(
            title,
            " {}",
            span(
                "Muted",
                &text(&d.tf(
                    "votes.budget_here",
                    &[("count", &q.vote_budget.to_string())]
                ))
            )
        );
    }
    d.para("Table_20_Title", &title);
    let cols = [
        Col {
            head: d.t("column.rank"),
            width: Width::Cm(1.1),
            num: true,
        },
        col(d.t("column.item"), Width::Flex),
        num_col(d.t("column.votes")),
    ];
    let rows: Vec<Row> = q
        .ranking
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Row::Cells(vec![
                cell_text(&(i + 1).to_string()),
                item_cell(lang, r.kind, &r.label, r.notes),
                cell_text(&r.votes.to_string()),
            ])
        })
        .collect();
    d.table(
        &format!("{name} {}", d.t("section.ranking")),
        Look::Grid,
        TEXT_WIDTH_CM,
        &cols,
        &rows,
    );
}

fn commitments(d: &mut Doc, list: &[CommitmentEntry]) {
    if list.is_empty() {
        return;
    }
    d.heading(1, &d.t("section.commitments"));
    d.para("Intro", &text(&d.t("section.commitments_intro")));
    let [org, what, when, cond, role] = commitment_headers(d.lang);
    let cols = [
        col(org, Width::Pct(20.0)),
        col(what, Width::Flex),
        col(when, Width::Pct(13.0)),
        col(cond, Width::Pct(20.0)),
        col(role, Width::Pct(17.0)),
    ];
    let rows: Vec<Row> = list
        .iter()
        .map(|c| {
            Row::Cells(vec![
                or_dash(&c.organization),
                cell_text(&c.what),
                or_dash(&c.by_when),
                or_dash(&c.condition),
                or_dash(&c.contact_role),
            ])
        })
        .collect();
    d.table(
        &d.t("section.commitments"),
        Look::Grid,
        TEXT_WIDTH_CM,
        &cols,
        &rows,
    );
}

// ---- the package -------------------------------------------------------------

const NS: &str = "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" \
xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" \
xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\" \
xmlns:fo=\"urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0\" \
xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:meta=\"urn:oasis:names:tc:opendocument:xmlns:meta:1.0\" \
xmlns:svg=\"urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0\"";

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

const FONTS: &str = "<office:font-face-decls>\
<style:font-face style:name=\"Liberation Sans\" svg:font-family=\"&apos;Liberation Sans&apos;\" \
style:font-family-generic=\"swiss\" style:font-pitch=\"variable\"/>\
</office:font-face-decls>";

/// The styles of the cells, rows and charts (the same in every report).
const AUTOMATIC_STYLES: &str = "\
<style:style style:name=\"Row\" style:family=\"table-row\">\
<style:table-row-properties fo:keep-together=\"always\"/></style:style>\
<style:style style:name=\"CellGrid\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding=\"0.08cm\" fo:border=\"0.5pt solid #b8b8b8\"/></style:style>\
<style:style style:name=\"CellHead\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding=\"0.08cm\" fo:border=\"0.5pt solid #b8b8b8\" \
fo:background-color=\"#e9eff5\"/></style:style>\
<style:style style:name=\"CellGroup\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding=\"0.08cm\" fo:border=\"0.5pt solid #b8b8b8\" \
fo:background-color=\"#f3f6f9\"/></style:style>\
<style:style style:name=\"CellGridSmall\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding=\"0.05cm\" fo:border=\"0.5pt solid #b8b8b8\"/></style:style>\
<style:style style:name=\"CellHeadSmall\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding=\"0.05cm\" fo:border=\"0.5pt solid #b8b8b8\" \
fo:background-color=\"#e9eff5\"/></style:style>\
<style:style style:name=\"CellGroupSmall\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding=\"0.05cm\" fo:border=\"0.5pt solid #b8b8b8\" \
fo:background-color=\"#f3f6f9\"/></style:style>\
<style:style style:name=\"CellPlain\" style:family=\"table-cell\">\
<style:table-cell-properties fo:padding-top=\"0.04cm\" fo:padding-bottom=\"0.04cm\" \
fo:padding-left=\"0cm\" fo:padding-right=\"0.2cm\" fo:border=\"none\"/></style:style>\
<style:style style:name=\"ToLandscape\" style:family=\"paragraph\" style:parent-style-name=\"Standard\" \
style:master-page-name=\"Landscape\"><style:text-properties fo:font-size=\"2pt\"/></style:style>\
<style:style style:name=\"ToPortrait\" style:family=\"paragraph\" style:parent-style-name=\"Standard\" \
style:master-page-name=\"Standard\"><style:text-properties fo:font-size=\"2pt\"/></style:style>\
<style:style style:name=\"Chart\" style:family=\"graphic\">\
<style:graphic-properties style:vertical-pos=\"top\" style:vertical-rel=\"baseline\" \
fo:border=\"none\" style:mirror=\"none\"/></style:style>";

fn content_xml(d: &Doc) -> String {
    format!(
        "{XML_DECL}<office:document-content {NS} office:version=\"1.3\">{FONTS}\
         <office:automatic-styles>{AUTOMATIC_STYLES}{}</office:automatic-styles>\
         <office:body><office:text>\n{}</office:text></office:body></office:document-content>\n",
        d.styles, d.body
    )
}

/// A paragraph style; `para` and `txt` are the attributes of its paragraph
/// and text properties.
fn pstyle(out: &mut String, name: &str, parent: &str, para: &str, txt: &str) {
    let display = name.replace("_20_", " ");
    let _ = write!(
        out,
        "<style:style style:name=\"{name}\" style:display-name=\"{display}\" \
         style:family=\"paragraph\" style:parent-style-name=\"{parent}\">"
    );
    if !para.is_empty() {
        let _ = write!(out, "<style:paragraph-properties {para}/>");
    }
    if !txt.is_empty() {
        let _ = write!(out, "<style:text-properties {txt}/>");
    }
    out.push_str("</style:style>");
}

fn styles_xml(lang: Lang, footer: &str) -> String {
    let (language, country) = match lang {
        Lang::It => ("it", "IT"),
        Lang::En => ("en", "GB"),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<style:default-style style:family=\"paragraph\">\
         <style:paragraph-properties fo:orphans=\"2\" fo:widows=\"2\" style:writing-mode=\"page\"/>\
         <style:text-properties style:font-name=\"Liberation Sans\" fo:font-size=\"10.5pt\" \
         fo:language=\"{language}\" fo:country=\"{country}\" fo:color=\"#1a1a1a\"/>\
         </style:default-style>\
         <style:default-style style:family=\"table\"><style:table-properties table:border-model=\"collapsing\"/>\
         </style:default-style>\
         <style:style style:name=\"Standard\" style:family=\"paragraph\" style:class=\"text\"/>"
    );
    let body = "fo:margin-top=\"0cm\" fo:margin-bottom=\"0.2cm\" fo:line-height=\"115%\" \
                fo:orphans=\"3\" fo:widows=\"3\"";
    pstyle(&mut s, "Text_20_body", "Standard", body, "");
    let keep = "fo:margin-top=\"0cm\" fo:margin-bottom=\"0.2cm\" fo:keep-with-next=\"always\"";
    pstyle(
        &mut s,
        "Heading",
        "Standard",
        "fo:margin-top=\"0.42cm\" fo:margin-bottom=\"0.2cm\" fo:keep-with-next=\"always\" \
         fo:keep-together=\"always\"",
        "fo:font-weight=\"bold\"",
    );
    for (level, size, para) in [
        (
            1,
            "15pt",
            "fo:margin-top=\"0.7cm\" fo:margin-bottom=\"0.25cm\" fo:padding-bottom=\"0.05cm\" \
             fo:border-bottom=\"1.5pt solid #2b5f8a\" fo:border-top=\"none\" fo:border-left=\"none\" \
             fo:border-right=\"none\"",
        ),
        (
            2,
            "12.5pt",
            "fo:margin-top=\"0.55cm\" fo:margin-bottom=\"0.15cm\"",
        ),
        (
            3,
            "11pt",
            "fo:margin-top=\"0.4cm\" fo:margin-bottom=\"0.12cm\"",
        ),
        (
            4,
            "10.5pt",
            "fo:margin-top=\"0.25cm\" fo:margin-bottom=\"0.08cm\"",
        ),
    ] {
        let _ = write!(
            s,
            "<style:style style:name=\"Heading_20_{level}\" style:display-name=\"Heading {level}\" \
             style:family=\"paragraph\" style:parent-style-name=\"Heading\" \
             style:next-style-name=\"Text_20_body\" style:default-outline-level=\"{level}\" \
             style:class=\"text\"><style:paragraph-properties {para}/>\
             <style:text-properties fo:font-size=\"{size}\" fo:font-weight=\"bold\"/></style:style>"
        );
    }
    pstyle(
        &mut s,
        "Title",
        "Standard",
        "fo:margin-bottom=\"0.1cm\"",
        "fo:font-size=\"20pt\" fo:font-weight=\"bold\"",
    );
    pstyle(
        &mut s,
        "Subtitle",
        "Standard",
        "fo:margin-bottom=\"0.25cm\"",
        "fo:font-size=\"14pt\"",
    );
    pstyle(
        &mut s,
        "Meta",
        "Standard",
        "fo:margin-bottom=\"0.1cm\"",
        "fo:color=\"#444444\"",
    );
    pstyle(
        &mut s,
        "Privacy",
        "Text_20_body",
        "fo:margin-top=\"0.2cm\" fo:margin-bottom=\"0.4cm\" fo:padding=\"0.15cm\" \
         fo:padding-left=\"0.3cm\" fo:border-left=\"3pt solid #999999\" fo:border-right=\"none\" \
         fo:border-top=\"none\" fo:border-bottom=\"none\" fo:background-color=\"#f4f4f4\"",
        "",
    );
    pstyle(
        &mut s,
        "Intro",
        "Text_20_body",
        keep,
        "fo:color=\"#555555\"",
    );
    pstyle(
        &mut s,
        "Goal",
        "Text_20_body",
        keep,
        "fo:font-style=\"italic\"",
    );
    pstyle(&mut s, "Muted", "Text_20_body", "", "fo:color=\"#555555\"");
    pstyle(
        &mut s,
        "Legend",
        "Standard",
        "fo:margin-bottom=\"0.05cm\" fo:keep-with-next=\"always\" fo:margin-left=\"1.2cm\" \
         fo:text-indent=\"-1.2cm\"",
        "fo:font-size=\"9pt\" fo:color=\"#333333\"",
    );
    pstyle(
        &mut s,
        "Table_20_Title",
        "Text_20_body",
        "fo:margin-top=\"0.15cm\" fo:margin-bottom=\"0.1cm\" fo:keep-with-next=\"always\"",
        "",
    );
    pstyle(
        &mut s,
        "Figure_20_Title",
        "Standard",
        "fo:margin-top=\"0.2cm\" fo:margin-bottom=\"0.15cm\" fo:keep-with-next=\"always\"",
        "fo:font-size=\"11pt\" fo:font-weight=\"bold\"",
    );
    pstyle(
        &mut s,
        "Figure",
        "Standard",
        "fo:margin-bottom=\"0.2cm\" fo:keep-together=\"always\"",
        "",
    );
    pstyle(
        &mut s,
        "Figure_20_Note",
        "Standard",
        "fo:margin-bottom=\"0.3cm\"",
        "fo:font-size=\"9pt\" fo:color=\"#444444\"",
    );
    pstyle(
        &mut s,
        "List_20_Contents",
        "Text_20_body",
        "fo:margin-bottom=\"0.1cm\"",
        "",
    );
    let cell = "fo:margin-top=\"0cm\" fo:margin-bottom=\"0.05cm\"";
    for (name, size, right, bold) in [
        ("Table_20_Contents", "10pt", false, false),
        ("Table_20_Number", "10pt", true, false),
        ("Table_20_Heading", "10pt", false, true),
        ("Table_20_Heading_20_Number", "10pt", true, true),
        ("Table_20_Small", "8pt", false, false),
        ("Table_20_Small_20_Number", "8pt", true, false),
        ("Table_20_Small_20_Heading", "7.5pt", false, true),
        ("Table_20_Small_20_Heading_20_Number", "7.5pt", true, true),
        ("Table_20_List", "9.5pt", false, false),
    ] {
        let para = if right {
            format!("{cell} fo:text-align=\"end\"")
        } else {
            cell.to_string()
        };
        // Narrow columns: words may be hyphenated (the HTML's `hyphens: auto`).
        let txt = if bold {
            format!("fo:font-size=\"{size}\" fo:font-weight=\"bold\" fo:hyphenate=\"true\"")
        } else {
            format!("fo:font-size=\"{size}\" fo:hyphenate=\"true\"")
        };
        pstyle(&mut s, name, "Standard", &para, &txt);
    }
    pstyle(
        &mut s,
        "Footer",
        "Standard",
        "fo:text-align=\"center\"",
        "fo:font-size=\"8.5pt\" fo:color=\"#666666\"",
    );
    for (name, txt) in [
        ("Strong_20_Emphasis", "fo:font-weight=\"bold\""),
        ("Muted", "fo:color=\"#595959\""),
        (
            "Version_20_Private",
            "fo:font-weight=\"bold\" fo:color=\"#8a1c1c\"",
        ),
        (
            "Version_20_Public",
            "fo:font-weight=\"bold\" fo:color=\"#1c5a2e\"",
        ),
    ] {
        let _ = write!(
            s,
            "<style:style style:name=\"{name}\" style:display-name=\"{}\" style:family=\"text\">\
             <style:text-properties {txt}/></style:style>",
            name.replace("_20_", " ")
        );
    }
    s.push_str(
        "<text:list-style style:name=\"List_20_Bullet\" style:display-name=\"List Bullet\">\
         <text:list-level-style-bullet text:level=\"1\" text:bullet-char=\"•\">\
         <style:list-level-properties text:list-level-position-and-space-mode=\"label-alignment\">\
         <style:list-level-label-alignment text:label-followed-by=\"listtab\" \
         text:list-tab-stop-position=\"0.5cm\" fo:text-indent=\"-0.35cm\" fo:margin-left=\"0.5cm\"/>\
         </style:list-level-properties></text:list-level-style-bullet></text:list-style>",
    );
    // No numbering on the outline: the headings are the report's own words.
    s.push_str("<text:outline-style style:name=\"Outline\">");
    for level in 1..=10 {
        let _ = write!(
            s,
            "<text:outline-level-style text:level=\"{level}\" style:num-format=\"\"/>"
        );
    }
    s.push_str("</text:outline-style>");
    format!(
        "{XML_DECL}<office:document-styles {NS} office:version=\"1.3\">{FONTS}\
         <office:styles>{s}</office:styles>\
         <office:automatic-styles>{}{}</office:automatic-styles>\
         <office:master-styles>{}{}</office:master-styles></office:document-styles>\n",
        page_layout("A4", "21cm", "29.7cm", "portrait"),
        page_layout("A4L", "29.7cm", "21cm", "landscape"),
        master_page("Standard", "A4", footer),
        master_page("Landscape", "A4L", footer),
    )
}

/// An A4 page, `orientation` as named.
fn page_layout(name: &str, width: &str, height: &str, orientation: &str) -> String {
    format!(
        "<style:page-layout style:name=\"{name}\">\
         <style:page-layout-properties fo:page-width=\"{width}\" fo:page-height=\"{height}\" \
         style:print-orientation=\"{orientation}\" fo:margin-top=\"1.8cm\" fo:margin-bottom=\"1.2cm\" \
         fo:margin-left=\"2cm\" fo:margin-right=\"2cm\"/>\
         <style:footer-style><style:header-footer-properties fo:min-height=\"0.5cm\" \
         fo:margin-top=\"0.4cm\"/></style:footer-style></style:page-layout>"
    )
}

/// A master page on `layout` with the footer "title · page / pages".
fn master_page(name: &str, layout: &str, footer: &str) -> String {
    format!(
        "<style:master-page style:name=\"{name}\" style:page-layout-name=\"{layout}\">\
         <style:footer><text:p text:style-name=\"Footer\">{} · \
         <text:page-number text:select-page=\"current\">1</text:page-number> / \
         <text:page-count>1</text:page-count></text:p></style:footer></style:master-page>",
        text(footer)
    )
}

fn meta_xml(r: &Report, title: &str) -> String {
    let language = match r.lang {
        Lang::It => "it-IT",
        Lang::En => "en-GB",
    };
    format!(
        "{XML_DECL}<office:document-meta {NS} office:version=\"1.3\"><office:meta>\
         <meta:generator>Tavolo</meta:generator><dc:title>{}</dc:title>\
         <dc:language>{language}</dc:language><meta:creation-date>{}</meta:creation-date>\
         <dc:date>{}</dc:date></office:meta></office:document-meta>\n",
        esc(title),
        esc(&r.generated_at),
        esc(&r.generated_at)
    )
}

fn manifest_xml(files: &[(&str, &str)]) -> String {
    let mut out = format!(
        "{XML_DECL}<manifest:manifest \
         xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" \
         manifest:version=\"1.3\">\n<manifest:file-entry manifest:full-path=\"/\" \
         manifest:version=\"1.3\" manifest:media-type=\"{MEDIA_TYPE}\"/>\n"
    );
    for (path, media) in files {
        let _ = writeln!(
            out,
            "<manifest:file-entry manifest:full-path=\"{}\" manifest:media-type=\"{media}\"/>",
            esc(path)
        );
    }
    out.push_str("</manifest:manifest>\n");
    out
}

fn package(d: &Doc, r: &Report, title: &str) -> Vec<u8> {
    let content = content_xml(d);
    let styles = styles_xml(r.lang, title);
    let meta = meta_xml(r, title);
    let mut files: Vec<(&str, &str, &[u8])> = vec![
        ("content.xml", "text/xml", content.as_bytes()),
        ("styles.xml", "text/xml", styles.as_bytes()),
        ("meta.xml", "text/xml", meta.as_bytes()),
    ];
    for (path, svg) in &d.pictures {
        files.push((path, "image/svg+xml", svg.as_bytes()));
    }
    let listed: Vec<(&str, &str)> = files.iter().map(|(p, m, _)| (*p, *m)).collect();
    let manifest = manifest_xml(&listed);
    let mut zip = Zip::new(dos_time(&r.generated_at));
    zip.add("mimetype", MEDIA_TYPE.as_bytes());
    zip.add("META-INF/manifest.xml", manifest.as_bytes());
    for (path, _, bytes) in files {
        zip.add(path, bytes);
    }
    zip.finish()
}

// ---- ZIP, stored entries -------------------------------------------------------

/// CRC-32 (IEEE 802.3, as ZIP uses it), table computed at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// MS-DOS (time, date) of an ISO 8601 `YYYY-MM-DDTHH:MM:SS…` moment;
/// 1980-01-01 00:00 when it does not read.
fn dos_time(iso: &str) -> (u16, u16) {
    let n = |from: usize, to: usize| iso.get(from..to).and_then(|s| s.parse::<u16>().ok());
    match (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19)) {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) if (1980..2108).contains(&y) => (
            (h << 11) | (mi << 5) | (s / 2),
            ((y - 1980) << 9) | (mo << 5) | d,
        ),
        _ => (0, (1 << 5) | 1),
    }
}

struct Zip {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
    time: u16,
    date: u16,
}

impl Zip {
    fn new((time, date): (u16, u16)) -> Self {
        Zip {
            out: Vec::new(),
            central: Vec::new(),
            entries: 0,
            time,
            date,
        }
    }

    /// A stored (uncompressed) entry. ODT parts are far below ZIP's 4 GiB
    /// limit (a report is at most a few megabytes).
    fn add(&mut self, name: &str, data: &[u8]) {
        let offset = self.out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let name_len = name.len() as u16;
        // Local file header.
        let header = |buf: &mut Vec<u8>, central: bool| {
            if central {
                buf.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
                buf.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, 2.0
            } else {
                buf.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            }
            buf.extend_from_slice(&10u16.to_le_bytes()); // needed: 1.0 (stored)
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            buf.extend_from_slice(&self.time.to_le_bytes());
            buf.extend_from_slice(&self.date.to_le_bytes());
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes()); // compressed
            buf.extend_from_slice(&size.to_le_bytes()); // uncompressed
            buf.extend_from_slice(&name_len.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra field
            if central {
                buf.extend_from_slice(&0u16.to_le_bytes()); // comment
                buf.extend_from_slice(&0u16.to_le_bytes()); // disk
                buf.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
                buf.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                buf.extend_from_slice(&offset.to_le_bytes());
            }
            buf.extend_from_slice(name.as_bytes());
        };
        let mut local = Vec::new();
        header(&mut local, false);
        let mut central = Vec::new();
        header(&mut central, true);
        self.out.extend_from_slice(&local);
        self.out.extend_from_slice(data);
        self.central.extend_from_slice(&central);
        self.entries += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        let at = self.out.len() as u32;
        let size = self.central.len() as u32;
        self.out.extend_from_slice(&self.central);
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // this disk
        self.out.extend_from_slice(&0u16.to_le_bytes()); // disk of the directory
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out.extend_from_slice(&at.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // comment
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn text_is_escaped_and_keeps_lines_and_spaces() {
        assert_eq!(
            text("<b>&'\"\u{1}\u{FFFF}\r\n  due  spazi\tx "),
            "&lt;b&gt;&amp;&#39;&quot;<text:line-break/><text:s text:c=\"2\"/>due \
             <text:s text:c=\"1\"/>spazi<text:tab/>x "
        );
    }

    #[test]
    fn dos_time_of_an_iso_moment() {
        assert_eq!(
            dos_time("2026-03-14T13:30:00Z"),
            ((13 << 11) | (30 << 5), (46 << 9) | (3 << 5) | 14)
        );
        assert_eq!(dos_time("nonsense"), (0, 33));
    }

    #[test]
    fn column_widths_fill_the_table() {
        let cols = [
            col("a".into(), Width::Flex),
            col("b".into(), Width::Pct(20.0)),
            num_col("c".into()),
        ];
        let w = widths(10.0, &cols);
        assert!((w.iter().sum::<f64>() - 10.0).abs() < 1e-9);
        assert!((w[1] - 2.0).abs() < 1e-9);
    }
}
