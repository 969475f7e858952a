//! The report as one self-contained HTML page, made to be printed on A4
//! (or saved as PDF from the browser): inline CSS, inline SVG charts, no
//! script and no external resource. Every text is escaped — note texts are
//! user input.

use super::data::*;
use super::markdown::{
    budgets_vary, cited_questions, commitment_headers, item_label, ledger_tier, meeting_lines,
    previous_headers, previous_intro, previous_summary, privacy_key, version_key, view_budgets,
    voted_budgets, votes_meaning,
};
use super::prose::{self, Block};
use super::{Lang, chart, i18n};
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// [`esc`], keeping the note's line breaks.
pub fn esc_lines(text: &str) -> String {
    esc(&text.replace("\r\n", "\n")).replace('\n', "<br>")
}

/// The print stylesheet. Fixed table layout with wrapping (even inside long
/// words and URLs) keeps every table within the A4 text width; header rows
/// repeat on each printed page; rows, charts with their titles and small
/// tables (`whole`) are not split; a group's heading row, a table's title,
/// a legend of questions, a phase's goal and a section's introduction stay
/// with what follows them. Of the record: the meeting's data, each part of a
/// phase's conclusion with its small heading (`keep`) and a closing section
/// are not split either, so no heading is left at the foot of a page. The
/// section on the previous meeting keeps its heading, introduction and
/// summary with its table, and its open questions with their heading.
const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "Source Sans 3", "Segoe UI", Helvetica, Arial, sans-serif;
  font-size: 10.5pt; line-height: 1.4; color: #1a1a1a; max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 20pt; margin: 0; }
h2 { font-size: 15pt; border-bottom: 2px solid #2b5f8a; padding-bottom: .15rem; margin: 1.8rem 0 .6rem; }
h3 { font-size: 12.5pt; margin: 1.4rem 0 .4rem; }
h4 { font-size: 11pt; margin: 1rem 0 .3rem; }
h1, h2, h3, h4, h5 { break-after: avoid; page-break-after: avoid; }
h5 { font-size: 10.5pt; margin: .7rem 0 .2rem; }
.title-block { border-bottom: 3px solid #2b5f8a; padding-bottom: .8rem; margin-bottom: 1rem; }
.session { font-size: 14pt; margin: .2rem 0 .5rem; }
.meta { color: #444; margin: .2rem 0; }
.version { display: inline-block; font-weight: 700; padding: .05rem .5rem; border: 1.5px solid currentColor; border-radius: 3px; }
.version.private { color: #8a1c1c; }
.version.public { color: #1c5a2e; }
.privacy { border-left: 4px solid #999; background: #f4f4f4; padding: .35rem .8rem; margin: .6rem 0 0; }
.goal { font-style: italic; color: #333; }
.muted { color: #666; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: .4rem 0 1rem; }
th, td { border: 1px solid #b8b8b8; padding: .25rem .4rem; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; hyphens: auto; }
thead th { background: #e9eff5; }
th.num, td.num { text-align: right; width: 4.2em; }
th.rank, td.rank { text-align: right; width: 3em; }
th.cat { width: 18%; }
th.who { width: 24%; }
th.ref { width: 5.8em; }
td.ref { white-space: nowrap; }
abbr[title] { text-decoration: none; }
dl.refs { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .6rem;
  font-size: 9pt; color: #333; margin: .2rem 0 .8rem; }
dl.refs dt { font-weight: 700; }
dl.refs dd { margin: 0; }
th.party { width: 18%; }
.pledge { margin-top: .2rem; }
tr.group th { background: #f3f6f9; font-weight: 600; }
tr.total td { font-weight: 700; background: #f3f6f9; }
thead { display: table-header-group; }
tr, figure { break-inside: avoid; page-break-inside: avoid; }
table.whole, table.ledger tbody { break-inside: avoid; page-break-inside: avoid; }
tr.group, p.table-title, dl.refs { break-after: avoid; page-break-after: avoid; }
dl.meeting { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0 1rem; }
dl.meeting dt { font-weight: 700; }
dl.meeting dd { margin: 0; }
dl.meeting, .keep, section.closing { break-inside: avoid; page-break-inside: avoid; }
p.goal, p.intro { break-after: avoid; page-break-after: avoid; }
.conclusion { border-left: 4px solid #2b5f8a; background: #f3f6f9; padding: .3rem .9rem .5rem; margin: .5rem 0 1rem; }
.conclusion h4 { margin-top: .4rem; }
.conclusion p, .conclusion ul, .closing p, .closing ul { margin: .2rem 0 .5rem; }
p, li { orphans: 3; widows: 3; }
th.org { width: 20%; }
th.when { width: 13%; }
th.cond { width: 20%; }
th.role { width: 17%; }
th.status { width: 14%; }
th.progress { width: 30%; }
table.ledger thead th { font-size: 7.5pt; }
table.ledger { font-size: 8.5pt; }
table.ledger td, table.ledger th { padding: .2rem .3rem; }
table.counts { width: auto; min-width: 14rem; display: inline-table; margin-right: 1.5rem; vertical-align: top; }
table.counts td, table.counts th { width: auto; }
table.organizations th:nth-child(-n+2) { width: 22%; }
td ul { margin: 0; padding-left: 1.1em; }
figure { margin: .8rem 0 1.2rem; }
figcaption { font-size: 11pt; font-weight: 700; color: #1a1a1a; margin: 0 0 .4rem; }
.chart-note { font-size: 9pt; color: #444; margin: .3rem 0 0; }
svg { max-width: 100%; height: auto; display: block; }
svg text { fill: #1a1a1a; }
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-before: auto; }
}
"#;

/// A complete page around `body`. It carries its own Content Security
/// Policy, so it can run nothing wherever it is opened: served with the
/// same header, shown from a Blob URL in the app's origin, or saved to disk.
pub fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        lang.as_str(),
        super::CONTENT_SECURITY_POLICY,
        esc(title)
    )
}

/// A table with a repeated header; `cols` are (heading, class) where the
/// class sizes the column; cells must already be escaped.
pub fn table(class: &str, cols: &[(String, &str)], rows: &[String]) -> String {
    table_grouped(class, cols, &[rows.to_vec()])
}

/// Tables with at most this many body rows are printed whole, on one page
/// (when they fit on one): a row or two stranded on the next page under a
/// repeated header reads badly. Longer tables break between rows.
pub const SMALL_TABLE_ROWS: usize = 6;

/// [`table`] with one `<tbody>` per group, so a printed group is not split
/// from its heading row when it fits on a page. A small table (see
/// [`SMALL_TABLE_ROWS`]) gets the class `whole`.
pub fn table_grouped(class: &str, cols: &[(String, &str)], groups: &[Vec<String>]) -> String {
    let rows: usize = groups.iter().map(Vec::len).sum();
    let whole = if rows <= SMALL_TABLE_ROWS {
        " whole"
    } else {
        ""
    };
    let mut out = format!("<table class=\"{class}{whole}\">\n<thead><tr>");
    for (h, c) in cols {
        if c.is_empty() {
            let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
        } else {
            let _ = write!(out, "<th scope=\"col\" class=\"{c}\">{}</th>", esc(h));
        }
    }
    out.push_str("</tr></thead>\n");
    for rows in groups {
        out.push_str("<tbody>\n");
        for r in rows {
            out.push_str(r);
            out.push('\n');
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n");
    out
}

/// A row of already-escaped cells, numeric ones right-aligned.
fn row(cells: &[(String, &str)]) -> String {
    let mut out = String::from("<tr>");
    for (text, class) in cells {
        if class.is_empty() {
            let _ = write!(out, "<td>{text}</td>");
        } else {
            let _ = write!(out, "<td class=\"{class}\">{text}</td>");
        }
    }
    out.push_str("</tr>");
    out
}

fn h(lang: Lang, key: &str) -> String {
    i18n::t(lang, key)
}

pub fn render(r: &Report) -> String {
    let lang = r.lang;
    let mut body = String::new();
    title_block(&mut body, r);
    body.push_str("<main>\n");
    meeting(&mut body, lang, &r.meeting);
    if let Some(p) = &r.previous {
        previous(&mut body, lang, p);
    }
    attendance(&mut body, lang, &r.attendance);
    let has_views = r.raw_material.is_some()
        || r.ledger.is_some()
        || r.needs.is_some()
        || r.expectations.is_some();
    if has_views {
        let _ = writeln!(
            body,
            "<section>\n<h2>{}</h2>",
            esc(&h(lang, "section.summary"))
        );
        if let Some(meaning) = votes_meaning(lang, &view_budgets(r)) {
            let _ = writeln!(body, "<p class=\"muted intro\">{}</p>", esc(&meaning));
        }
        if let Some(m) = &r.raw_material {
            raw_material(&mut body, lang, m);
        }
        if let Some(l) = &r.ledger {
            ledger(&mut body, lang, l);
        }
        if let Some(n) = &r.needs {
            needs(&mut body, lang, n);
        }
        if let Some(e) = &r.expectations {
            expectations(&mut body, lang, e);
        }
        body.push_str("</section>\n");
    }
    phases(&mut body, lang, &r.phases);
    commitments(&mut body, lang, &r.commitments);
    for (key, text) in [
        ("section.next_steps", &r.next_steps),
        ("section.open_questions", &r.open_questions),
    ] {
        if !text.trim().is_empty() {
            let _ = write!(
                body,
                "<section class=\"closing\">\n<h2>{}</h2>\n{}</section>\n",
                esc(&h(lang, key)),
                prose_html(text)
            );
        }
    }
    body.push_str("</main>\n");
    let title = format!("{}: {}", h(lang, "report.title"), r.session.title);
    page(lang, &title, &body)
}

fn title_block(out: &mut String, r: &Report) {
    let lang = r.lang;
    let class = if r.public { "public" } else { "private" };
    let _ = writeln!(
        out,
        "<header class=\"title-block\">\n<h1>{}</h1>\n<p class=\"session\">{}</p>\n\
         <p class=\"meta\"><span class=\"version {class}\">{}</span></p>\n\
         <p class=\"meta\">{} · {}</p>\n<p class=\"privacy\">{}</p>\n</header>",
        esc(&h(lang, "report.title")),
        esc(&r.session.title),
        esc(&h(lang, version_key(r.public))),
        esc(&i18n::tf(
            lang,
            "report.generated",
            &[("date", &r.generated_at_text)]
        )),
        esc(&i18n::tf(
            lang,
            "report.template",
            &[("template", &r.session.template)]
        )),
        esc(&h(lang, privacy_key(r.public, r.organizations_shown))),
    );
}

fn meeting(out: &mut String, lang: Lang, m: &MeetingInfo) {
    let lines = meeting_lines(lang, m);
    if lines.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section class=\"meeting\">\n<h2>{}</h2>\n<dl class=\"meeting\">",
        esc(&h(lang, "section.meeting"))
    );
    for (label, value) in lines {
        let _ = write!(
            out,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&label),
            esc_lines(&value)
        );
    }
    out.push_str("</dl>\n</section>\n");
}

/// A long text of the record as paragraphs (keeping their line breaks)
/// and lists.
fn prose_html(text: &str) -> String {
    let mut out = String::new();
    for block in prose::blocks(text) {
        match block {
            Block::Paragraph(lines) => {
                let lines: Vec<String> = lines.iter().map(|l| esc(l)).collect();
                let _ = writeln!(out, "<p>{}</p>", lines.join("<br>"));
            }
            Block::List(items) => {
                out.push_str("<ul>");
                for item in items {
                    let _ = write!(out, "<li>{}</li>", esc(&item));
                }
                out.push_str("</ul>\n");
            }
        }
    }
    out
}

/// The table's conclusion under a phase's heading, in a box: the synthesis,
/// then each written part under its own small heading, kept with its text.
fn conclusion(out: &mut String, lang: Lang, c: &PhaseConclusion) {
    let _ = write!(
        out,
        "<div class=\"conclusion\">\n<h4>{}</h4>\n{}",
        esc(&h(lang, "section.conclusion")),
        prose_html(&c.synthesis)
    );
    for (key, text) in [
        ("section.convergences", &c.convergences),
        ("section.disagreements", &c.disagreements),
        ("section.handling", &c.handling),
    ] {
        if !text.is_empty() {
            let _ = write!(
                out,
                "<div class=\"keep\">\n<h5>{}</h5>\n{}</div>\n",
                esc(&h(lang, key)),
                prose_html(text)
            );
        }
    }
    out.push_str("</div>\n");
}

/// "—" for a cell left empty.
fn or_dash(text: &str) -> String {
    if text.trim().is_empty() {
        "—".to_string()
    } else {
        esc_lines(text)
    }
}

fn commitments(out: &mut String, lang: Lang, list: &[CommitmentEntry]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"commitments\">\n<h2>{}</h2>\n<p class=\"muted intro\">{}</p>",
        esc(&h(lang, "section.commitments")),
        esc(&h(lang, "section.commitments_intro"))
    );
    let [org, what, when, cond, role] = commitment_headers(lang);
    let cols = [
        (org, "org"),
        (what, ""),
        (when, "when"),
        (cond, "cond"),
        (role, "role"),
    ];
    let rows: Vec<String> = list
        .iter()
        .map(|c| {
            row(&[
                (or_dash(&c.organization), ""),
                (esc_lines(&c.what), ""),
                (or_dash(&c.by_when), ""),
                (or_dash(&c.condition), ""),
                (or_dash(&c.contact_role), ""),
            ])
        })
        .collect();
    out.push_str(&table("commitments", &cols, &rows));
    out.push_str("</section>\n");
}

/// "Dal precedente incontro": the previous meeting's commitments and how
/// they are going, then the questions it left.
fn previous(out: &mut String, lang: Lang, p: &PreviousReport) {
    let _ = writeln!(
        out,
        "<section class=\"previous\">\n<h2>{}</h2>\n<p class=\"muted intro\">{}</p>",
        esc(&h(lang, "section.previous")),
        esc(&previous_intro(lang, p))
    );
    if let Some(summary) = previous_summary(lang, &p.commitments) {
        let _ = writeln!(out, "<p class=\"intro\">{}</p>", esc(&summary));
        let [org, what, when, status, progress] = previous_headers(lang);
        let cols = [
            (org, "org"),
            (what, ""),
            (when, "when"),
            (status, "status"),
            (progress, "progress"),
        ];
        let rows: Vec<String> = p
            .commitments
            .iter()
            .map(|c| {
                row(&[
                    (or_dash(&c.organization), ""),
                    (esc_lines(&c.what), ""),
                    (or_dash(&c.by_when), ""),
                    (esc(&c.status.label), ""),
                    (or_dash(&c.progress), ""),
                ])
            })
            .collect();
        out.push_str(&table("previous", &cols, &rows));
    }
    if !p.open_questions.is_empty() {
        let _ = write!(
            out,
            "<div class=\"keep\">\n<h3>{}</h3>\n{}</div>\n",
            esc(&h(lang, "section.previous_open_questions")),
            prose_html(&p.open_questions)
        );
    }
    out.push_str("</section>\n");
}

fn attendance(out: &mut String, lang: Lang, a: &AttendanceSummary) {
    let _ = writeln!(
        out,
        "<section>\n<h2>{}</h2>\n<p>{}</p>",
        esc(&h(lang, "section.attendance")),
        esc(&i18n::tf(
            lang,
            "attendance.total",
            &[("count", &a.total.to_string())]
        ))
    );
    for (key, counts) in [
        ("attendance.by_sector", &a.by_sector),
        ("attendance.by_tier", &a.by_tier),
        ("attendance.by_presence", &a.by_attendance),
    ] {
        let rows: Vec<String> = counts
            .iter()
            .map(|c| row(&[(esc(&c.label), ""), (c.count.to_string(), "num")]))
            .collect();
        let cols = [(h(lang, key), ""), (h(lang, "column.count"), "num")];
        out.push_str(&table("counts", &cols, &rows));
    }
    if a.total > 0 {
        organizations_present(out, lang, a);
    }
    out.push_str("</section>\n");
}

fn organizations_present(out: &mut String, lang: Lang, a: &AttendanceSummary) {
    let _ = writeln!(
        out,
        "<div class=\"keep\">\n<h3>{}</h3>",
        esc(&h(lang, "attendance.organizations"))
    );
    if a.organizations.is_empty() {
        let _ = writeln!(
            out,
            "<p>{}</p>\n</div>",
            esc(&h(lang, "attendance.organizations_none"))
        );
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"muted intro\">{}</p>",
        esc(&h(lang, "attendance.organizations_intro"))
    );
    let rows: Vec<String> = a
        .organizations
        .iter()
        .map(|g| {
            row(&[
                (esc(&g.sector.label), ""),
                (esc(&g.tier.label), ""),
                (esc(&g.organizations.join(", ")), ""),
            ])
        })
        .collect();
    let cols = [
        (h(lang, "column.sector"), ""),
        (h(lang, "column.tier"), ""),
        (h(lang, "column.organizations"), ""),
    ];
    out.push_str(&table("organizations", &cols, &rows));
    if a.unlisted > 0 {
        let _ = writeln!(
            out,
            "<p>{}</p>",
            esc(&i18n::tf(
                lang,
                "attendance.unlisted",
                &[("count", &a.unlisted.to_string())]
            ))
        );
    }
    out.push_str("</div>\n");
}

fn intro(out: &mut String, lang: Lang, title: &str, intro: &str) {
    let _ = writeln!(
        out,
        "<section>\n<h3>{}</h3>\n<p class=\"muted intro\">{}</p>",
        esc(&h(lang, title)),
        esc(&h(lang, intro))
    );
}

/// The legend of a view's question references, under its introduction:
/// each question's full text once, so that rows cite it as "D2.1".
fn question_legend(out: &mut String, lang: Lang, cited: &[(&str, &str)]) {
    if cited.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<dl class=\"refs\" aria-label=\"{}\">",
        esc(&h(lang, "section.questions_legend"))
    );
    for (number, text) in cited {
        let _ = write!(
            out,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&i18n::question_ref(lang, number)),
            esc(text)
        );
    }
    out.push_str("</dl>\n");
}

/// A row's question: its short reference, the full text on hover.
fn question_ref_cell(lang: Lang, number: &str, text: &str) -> String {
    format!(
        "<abbr title=\"{}\">{}</abbr>",
        esc(text),
        esc(&i18n::question_ref(lang, number))
    )
}

fn raw_material(out: &mut String, lang: Lang, m: &RawMaterialMap) {
    intro(
        out,
        lang,
        "section.raw_material",
        "section.raw_material_intro",
    );
    let cited = cited_questions(m.categories.iter().flat_map(|c| {
        c.notes
            .iter()
            .map(|n| (n.question_number.as_str(), n.question.as_str()))
    }));
    question_legend(out, lang, &cited);
    let cols = [
        (h(lang, "column.note"), ""),
        (h(lang, "column.votes"), "num"),
        (h(lang, "column.cluster"), "cat"),
        (h(lang, "column.author"), "who"),
        (h(lang, "column.question"), "ref"),
    ];
    for c in &m.categories {
        let _ = writeln!(
            out,
            "<h4>{} ({})</h4>",
            esc(&c.category.label),
            c.notes.len()
        );
        if c.notes.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"muted\">{}</p>",
                esc(&h(lang, "report.no_notes"))
            );
            continue;
        }
        let rows: Vec<String> = c
            .notes
            .iter()
            .map(|n| {
                row(&[
                    (esc_lines(&n.text), ""),
                    (n.votes.to_string(), "num"),
                    (esc(n.cluster.as_deref().unwrap_or("")), ""),
                    (esc(&i18n::author(lang, &n.author)), ""),
                    (
                        question_ref_cell(lang, &n.question_number, &n.question),
                        "ref",
                    ),
                ])
            })
            .collect();
        out.push_str(&table("notes", &cols, &rows));
    }
    out.push_str("</section>\n");
}

/// A chart under its title (a small heading, so it reads as the chart's and
/// not as the caption of the table below), kept on one page with it; `note`
/// goes under the chart.
fn figure(out: &mut String, svg: Option<String>, title: &str, note: Option<&str>) {
    let Some(svg) = svg else {
        return;
    };
    let _ = write!(
        out,
        "<figure class=\"chart\">\n<figcaption>{}</figcaption>\n{svg}\n",
        esc(title)
    );
    if let Some(note) = note {
        let _ = writeln!(out, "<p class=\"chart-note\">{}</p>", esc(note));
    }
    out.push_str("</figure>\n");
}

fn ledger(out: &mut String, lang: Lang, l: &Ledger) {
    intro(out, lang, "section.ledger", "section.ledger_intro");
    figure(
        out,
        chart::ledger(lang, l),
        &h(lang, "chart.ledger_title"),
        None,
    );
    let mut cols = vec![(h(lang, "column.row"), "party")];
    cols.extend(l.resource_types.iter().map(|t| (t.label.clone(), "")));
    cols.push((h(lang, "report.total"), "num"));
    let span = cols.len();
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut sector: Option<&Labelled> = None;
    for r in &l.rows {
        if sector != Some(&r.sector) {
            sector = Some(&r.sector);
            groups.push(Vec::new());
        }
        let Some(rows) = groups.last_mut() else {
            continue;
        };
        if rows.is_empty() {
            rows.push(format!(
                "<tr class=\"group\"><th colspan=\"{span}\" scope=\"rowgroup\">{}</th></tr>",
                esc(&r.sector.label)
            ));
        }
        let mut cells = vec![(ledger_party(lang, r), "")];
        cells.extend(r.cells.iter().map(|c| (ledger_cell(c), "")));
        cells.push((r.total.to_string(), "num"));
        rows.push(row(&cells));
    }
    let mut totals = vec![(esc(&h(lang, "report.total")), "")];
    totals.extend((0..l.resource_types.len()).map(|i| {
        let n: usize = l
            .rows
            .iter()
            .filter_map(|r| r.cells.get(i))
            .map(|c| c.count)
            .sum();
        (n.to_string(), "")
    }));
    totals.push((
        l.rows.iter().map(|r| r.total).sum::<usize>().to_string(),
        "num",
    ));
    groups.push(vec![row(&totals).replacen(
        "<tr>",
        "<tr class=\"total\">",
        1,
    )]);
    out.push_str(&table_grouped("ledger", &cols, &groups));
    out.push_str("</section>\n");
}

/// The first cell of a ledger row (its sector is the group heading above):
/// the organization with its tier, or the tier, or the anonymous row.
fn ledger_party(lang: Lang, r: &LedgerRow) -> String {
    match (&r.organization, &r.tier) {
        (Some(org), Some(tier)) => format!(
            "{}<br><span class=\"muted\">{}</span>",
            esc(org),
            esc(&tier.label)
        ),
        _ => esc(&ledger_tier(lang, r)),
    }
}

fn ledger_cell(c: &LedgerCell) -> String {
    if c.count == 0 {
        return String::new();
    }
    let items: String = c
        .texts
        .iter()
        .map(|t| format!("<div class=\"pledge\">{}</div>", esc_lines(t)))
        .collect();
    format!("<strong>{}</strong>{items}", c.count)
}

fn needs(out: &mut String, lang: Lang, items: &[NeedItem]) {
    intro(out, lang, "section.needs", "section.needs_intro");
    if items.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{}</p>\n</section>",
            esc(&h(lang, "report.no_notes"))
        );
        return;
    }
    let more = (items.len() > chart::MAX_BARS).then(|| {
        i18n::tf(
            lang,
            "report.chart_note",
            &[("count", &chart::MAX_BARS.to_string())],
        )
    });
    figure(
        out,
        chart::needs(lang, items),
        &h(lang, "chart.needs_title"),
        more.as_deref(),
    );
    let cited = cited_questions(
        items
            .iter()
            .map(|n| (n.question_number.as_str(), n.question.as_str())),
    );
    question_legend(out, lang, &cited);
    let cols = [
        (h(lang, "column.rank"), "rank"),
        (h(lang, "column.item"), ""),
        (h(lang, "column.votes"), "num"),
        (h(lang, "column.category"), "cat"),
        (h(lang, "column.question"), "ref"),
    ];
    let rows: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            row(&[
                ((i + 1).to_string(), "rank"),
                (item_cell(lang, n.kind, &n.label, n.notes), ""),
                (n.votes.to_string(), "num"),
                (esc(&n.categories.join(", ")), ""),
                (
                    question_ref_cell(lang, &n.question_number, &n.question),
                    "ref",
                ),
            ])
        })
        .collect();
    out.push_str(&table("needs", &cols, &rows));
    out.push_str("</section>\n");
}

fn item_cell(lang: Lang, kind: ItemKind, label: &str, notes: usize) -> String {
    let (label, what) = item_label(lang, kind, label, notes);
    format!(
        "{} <span class=\"muted\">({})</span>",
        esc_lines(&label),
        esc(&what)
    )
}

fn expectations(out: &mut String, lang: Lang, e: &ExpectationMatrix) {
    intro(
        out,
        lang,
        "section.expectations",
        "section.expectations_intro",
    );
    let mut cols = vec![(h(lang, "column.from_to"), "")];
    cols.extend(e.to.iter().map(|t| (t.label.clone(), "")));
    let rows: Vec<String> = e
        .rows
        .iter()
        .map(|r| {
            let mut out = format!("<tr><th scope=\"row\">{}</th>", esc(&r.from.label));
            for c in &r.cells {
                let _ = write!(out, "<td>{}</td>", expectation_cell(lang, c));
            }
            out.push_str("</tr>");
            out
        })
        .collect();
    out.push_str(&table("matrix", &cols, &rows));
    out.push_str("</section>\n");
}

fn expectation_cell(lang: Lang, c: &ExpectationCell) -> String {
    if c.notes.is_empty() {
        return "<span class=\"muted\">0</span>".to_string();
    }
    let items: String = c
        .notes
        .iter()
        .map(|n| {
            format!(
                "<li>{} <span class=\"muted\">— {}{}</span></li>",
                esc_lines(&n.text),
                esc(&i18n::author(lang, &n.author)),
                votes_suffix(lang, n.votes)
            )
        })
        .collect();
    format!("<strong>{}</strong><ul>{items}</ul>", c.notes.len())
}

fn votes_suffix(lang: Lang, votes: i64) -> String {
    if votes > 0 {
        format!(" · {}", esc(&i18n::votes(lang, votes)))
    } else {
        String::new()
    }
}

fn phases(out: &mut String, lang: Lang, phases: &[PhaseReport]) {
    let _ = writeln!(
        out,
        "<section>\n<h2>{}</h2>",
        esc(&h(lang, "section.phases"))
    );
    let budgets = voted_budgets(phases.iter().flat_map(|p| &p.questions));
    if let Some(meaning) = votes_meaning(lang, &budgets) {
        let _ = writeln!(out, "<p class=\"muted intro\">{}</p>", esc(&meaning));
    }
    let each_says = budgets_vary(&budgets);
    for (i, p) in phases.iter().enumerate() {
        let heading = i18n::tf(
            lang,
            "section.phase",
            &[("number", &(i + 1).to_string()), ("title", &p.title)],
        );
        let _ = writeln!(out, "<section>\n<h3>{}</h3>", esc(&heading));
        if !p.goal.trim().is_empty() {
            let _ = writeln!(out, "<p class=\"goal\">{}</p>", esc(&p.goal));
        }
        if let Some(m) = p.minutes {
            let _ = writeln!(
                out,
                "<p class=\"goal\">{}</p>",
                esc(&i18n::tf(
                    lang,
                    "phase.planned",
                    &[("minutes", &m.to_string())]
                ))
            );
        }
        if let Some(c) = &p.conclusion {
            conclusion(out, lang, c);
        }
        for q in &p.questions {
            question(out, lang, q, each_says);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</section>\n");
}

fn note_row(lang: Lang, n: &NoteEntry) -> String {
    row(&[
        (esc_lines(&n.text), ""),
        (
            esc(n.category.as_ref().map_or("", |c| c.label.as_str())),
            "",
        ),
        (esc(&i18n::author(lang, &n.author)), ""),
        (n.votes.to_string(), "num"),
    ])
}

fn group_row(text: &str) -> String {
    format!("<tr class=\"group\"><th colspan=\"4\" scope=\"rowgroup\">{text}</th></tr>")
}

fn question(out: &mut String, lang: Lang, q: &QuestionReport, budget_here: bool) {
    let heading = i18n::tf(
        lang,
        "section.question",
        &[("number", &q.number), ("text", &q.text)],
    );
    let _ = writeln!(out, "<h4>{}</h4>", esc(&heading));
    if q.note_count == 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{}</p>",
            esc(&h(lang, "report.no_notes"))
        );
        return;
    }
    let mut groups: Vec<Vec<String>> = Vec::new();
    for c in &q.clusters {
        let mut rows = vec![group_row(&format!(
            "{} · {}",
            esc(&c.title),
            esc(&i18n::votes(lang, c.votes))
        ))];
        rows.extend(c.notes.iter().map(|n| note_row(lang, n)));
        groups.push(rows);
    }
    if !q.unclustered.is_empty() {
        let mut rows = Vec::new();
        if !q.clusters.is_empty() {
            rows.push(group_row(&esc(&h(lang, "section.unclustered"))));
        }
        rows.extend(q.unclustered.iter().map(|n| note_row(lang, n)));
        groups.push(rows);
    }
    let cols = [
        (h(lang, "column.note"), ""),
        (h(lang, "column.category"), "cat"),
        (h(lang, "column.author"), "who"),
        (h(lang, "column.votes"), "num"),
    ];
    out.push_str(&table_grouped("notes", &cols, &groups));
    if q.ranking.iter().any(|r| r.votes > 0) {
        ranking(out, lang, q, budget_here);
    }
}

fn ranking(out: &mut String, lang: Lang, q: &QuestionReport, budget_here: bool) {
    let items = &q.ranking;
    let here = budget_here.then(|| {
        format!(
            " <span class=\"muted\">{}</span>",
            esc(&i18n::tf(
                lang,
                "votes.budget_here",
                &[("count", &q.vote_budget.to_string())]
            ))
        )
    });
    let _ = writeln!(
        out,
        "<p class=\"table-title\"><strong>{}</strong>{}</p>",
        esc(&h(lang, "section.ranking")),
        here.unwrap_or_default()
    );
    let cols = [
        (h(lang, "column.rank"), "rank"),
        (h(lang, "column.item"), ""),
        (h(lang, "column.votes"), "num"),
    ];
    let rows: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            row(&[
                ((i + 1).to_string(), "rank"),
                (item_cell(lang, r.kind, &r.label, r.notes), ""),
                (r.votes.to_string(), "num"),
            ])
        })
        .collect();
    out.push_str(&table("ranking", &cols, &rows));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_note_comes_out_inert() {
        assert_eq!(
            esc_lines("<script>alert(\"x\")</script>\n'b' & c"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>&#39;b&#39; &amp; c"
        );
    }
}
