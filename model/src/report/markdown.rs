//! The report as Markdown (CommonMark with GitHub tables): readable as plain
//! text, and inert when rendered — note texts are escaped, so a `<script>`
//! or a `|` written on a sticky note stays text.

use super::data::*;
use super::prose::{self, Block};
use super::{Lang, i18n};
use std::fmt::Write;

/// Escapes text for inline Markdown: punctuation that could start markup
/// gets a backslash, and line breaks become `<br>` so a note with several
/// lines stays in its table cell or list item.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in line.chars() {
            if matches!(
                c,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
            ) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// A GitHub table; cells must already be escaped. `right` marks numeric
/// columns.
pub fn table(headers: &[String], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let head: Vec<String> = headers.iter().map(|h| inline(h)).collect();
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let rule: Vec<&str> = (0..headers.len())
        .map(|i| {
            if right.get(i).copied().unwrap_or(false) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
    out
}

pub fn render(r: &Report) -> String {
    let lang = r.lang;
    let mut out = String::new();
    title_block(&mut out, r);
    meeting(&mut out, lang, &r.meeting);
    if let Some(p) = &r.previous {
        previous(&mut out, lang, p);
    }
    attendance(&mut out, lang, &r.attendance);
    let has_views = r.raw_material.is_some()
        || r.ledger.is_some()
        || r.needs.is_some()
        || r.expectations.is_some();
    if has_views {
        let _ = writeln!(out, "## {}\n", inline(&i18n::t(lang, "section.summary")));
        if let Some(meaning) = votes_meaning(lang, &view_budgets(r)) {
            let _ = writeln!(out, "{}\n", inline(&meaning));
        }
    }
    if let Some(m) = &r.raw_material {
        raw_material(&mut out, lang, m);
    }
    if let Some(l) = &r.ledger {
        ledger(&mut out, lang, l);
    }
    if let Some(n) = &r.needs {
        needs(&mut out, lang, n);
    }
    if let Some(e) = &r.expectations {
        expectations(&mut out, lang, e);
    }
    phases(&mut out, lang, &r.phases);
    commitments(&mut out, lang, &r.commitments);
    for (key, text) in [
        ("section.next_steps", &r.next_steps),
        ("section.open_questions", &r.open_questions),
    ] {
        if !text.trim().is_empty() {
            let _ = writeln!(out, "## {}\n", inline(&i18n::t(lang, key)));
            out.push_str(&prose_md(text));
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn title_block(out: &mut String, r: &Report) {
    let lang = r.lang;
    let _ = writeln!(
        out,
        "# {}: {}\n",
        inline(&i18n::t(lang, "report.title")),
        inline(&r.session.title)
    );
    let _ = writeln!(
        out,
        "**{}** · {} · {}\n",
        inline(&i18n::t(lang, version_key(r.public))),
        inline(&i18n::tf(
            lang,
            "report.generated",
            &[("date", &r.generated_at_text)]
        )),
        inline(&i18n::tf(
            lang,
            "report.template",
            &[("template", &r.session.template)]
        )),
    );
    let _ = writeln!(
        out,
        "> {}\n",
        inline(&i18n::t(lang, privacy_key(r.public, r.organizations_shown)))
    );
}

/// The lines of "Dati dell'incontro" that were filled in, as (label,
/// value), in the order a record of a meeting gives them.
pub fn meeting_lines(lang: Lang, m: &MeetingInfo) -> Vec<(String, String)> {
    let title = match (m.title.is_empty(), m.number.is_empty()) {
        (false, false) => i18n::tf(
            lang,
            "meeting.title_number",
            &[("title", &m.title), ("number", &m.number)],
        ),
        (false, true) => m.title.clone(),
        (true, false) => i18n::tf(lang, "meeting.number_only", &[("number", &m.number)]),
        (true, true) => String::new(),
    };
    let time = match (m.start.is_empty(), m.end.is_empty()) {
        (false, false) => i18n::tf(
            lang,
            "meeting.time_range",
            &[("start", &m.start), ("end", &m.end)],
        ),
        (false, true) => i18n::tf(lang, "meeting.time_from", &[("start", &m.start)]),
        (true, false) => i18n::tf(lang, "meeting.time_until", &[("end", &m.end)]),
        (true, true) => String::new(),
    };
    [
        ("meeting.title", title),
        ("meeting.date", m.date_text.clone()),
        ("meeting.place", m.place.clone()),
        ("meeting.time", time),
        ("meeting.responsible", m.responsible.clone()),
        (
            "meeting.facilitators",
            m.facilitators.clone().unwrap_or_default(),
        ),
        ("meeting.process", m.process.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (i18n::t(lang, k), v))
    .collect()
}

fn meeting(out: &mut String, lang: Lang, m: &MeetingInfo) {
    let lines = meeting_lines(lang, m);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {}\n", inline(&i18n::t(lang, "section.meeting")));
    for (label, value) in lines {
        let _ = writeln!(out, "- **{}:** {}", inline(&label), inline(&value));
    }
    out.push('\n');
}

/// The budgets of the questions whose votes a report shows: those whose
/// ranking has votes.
pub fn voted_budgets<'a>(questions: impl IntoIterator<Item = &'a QuestionReport>) -> Vec<i64> {
    questions
        .into_iter()
        .filter(|q| q.ranking.iter().any(|r| r.votes > 0))
        .map(|q| q.vote_budget)
        .collect()
}

/// The budgets behind the votes the thematic views show (the map, the
/// needs and the expectations; the ledger shows none).
pub fn view_budgets(r: &Report) -> Vec<i64> {
    voted_budgets(
        r.phases
            .iter()
            .flat_map(|p| &p.questions)
            .filter(|q| ["resource", "need", "expectation"].contains(&q.note_kind.as_str())),
    )
}

/// Whether the questions with votes had different budgets (then each
/// ranking says its own).
pub fn budgets_vary(budgets: &[i64]) -> bool {
    budgets.windows(2).any(|w| w[0] != w[1])
}

/// The sentence that says what a vote means, for questions with these
/// budgets; `None` when there are no votes to explain.
pub fn votes_meaning(lang: Lang, budgets: &[i64]) -> Option<String> {
    let first = *budgets.first()?;
    Some(if budgets_vary(budgets) {
        i18n::t(lang, "votes.meaning_varied")
    } else if first == 1 {
        i18n::t(lang, "votes.meaning_one")
    } else {
        i18n::tf(lang, "votes.meaning", &[("count", &first.to_string())])
    })
}

/// A long text of the record as Markdown paragraphs and lists, escaped.
/// Lines of a paragraph stay lines (a soft break); a line that Markdown
/// would read as a heading's underline or a rule is escaped.
fn prose_md(text: &str) -> String {
    let mut out = String::new();
    for block in prose::blocks(text) {
        match block {
            Block::Paragraph(lines) => {
                let lines: Vec<String> =
                    lines.iter().map(|l| line_start_safe(&inline(l))).collect();
                let _ = writeln!(out, "{}\n", lines.join("\n"));
            }
            Block::List(items) => {
                for item in items {
                    let _ = writeln!(out, "- {}", inline(&item));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// An escaped line that cannot start a block of its own inside a
/// paragraph: a leading `-`, `+` or `=` (a rule, an underline, a list) gets
/// a backslash.
fn line_start_safe(line: &str) -> String {
    if line.starts_with(['-', '+', '=']) {
        format!("\\{line}")
    } else {
        line.to_string()
    }
}

/// The table's conclusion under a phase's heading: the synthesis, then
/// the convergences, the disagreements and how they were handled, each
/// only when written.
fn conclusion(out: &mut String, lang: Lang, c: &PhaseConclusion) {
    let _ = writeln!(
        out,
        "#### {}\n",
        inline(&i18n::t(lang, "section.conclusion"))
    );
    out.push_str(&prose_md(&c.synthesis));
    for (key, text) in [
        ("section.convergences", &c.convergences),
        ("section.disagreements", &c.disagreements),
        ("section.handling", &c.handling),
    ] {
        if !text.is_empty() {
            let _ = writeln!(out, "**{}**\n", inline(&i18n::t(lang, key)));
            out.push_str(&prose_md(text));
        }
    }
}

/// "—" for a cell left empty.
fn or_dash(text: &str) -> String {
    if text.trim().is_empty() {
        "—".to_string()
    } else {
        inline(text)
    }
}

fn commitments(out: &mut String, lang: Lang, list: &[CommitmentEntry]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## {}\n",
        inline(&i18n::t(lang, "section.commitments"))
    );
    let _ = writeln!(
        out,
        "{}\n",
        inline(&i18n::t(lang, "section.commitments_intro"))
    );
    let headers = commitment_headers(lang);
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                or_dash(&c.organization),
                inline(&c.what),
                or_dash(&c.by_when),
                or_dash(&c.condition),
                or_dash(&c.contact_role),
            ]
        })
        .collect();
    out.push_str(&table(&headers, &[], &rows));
}

/// The sentence that opens "Dal precedente incontro": which meeting (with
/// its day when that is a valid date), and whether it left commitments.
pub fn previous_intro(lang: Lang, p: &PreviousReport) -> String {
    let key = match (p.commitments.is_empty(), p.date.is_empty()) {
        (false, false) => "previous.intro",
        (false, true) => "previous.intro_undated",
        (true, false) => "previous.none",
        (true, true) => "previous.none_undated",
    };
    i18n::tf(lang, key, &[("title", &p.title), ("date", &p.date_text)])
}

/// How the carried commitments stand in one line: "3 impegni: 1 fatto,
/// 1 in corso, 1 da avviare." (done first; statuses with none left out).
/// `None` when there are none.
pub fn previous_summary(lang: Lang, list: &[CarriedEntry]) -> Option<String> {
    use crate::record::CarriedStatus;
    if list.is_empty() {
        return None;
    }
    let parts: Vec<String> = [
        CarriedStatus::Done,
        CarriedStatus::InProgress,
        CarriedStatus::Open,
        CarriedStatus::Dropped,
    ]
    .into_iter()
    .filter_map(|s| {
        let n = list.iter().filter(|c| c.status.id == s).count();
        let key = format!("carried_count.{}", s.as_str());
        match n {
            0 => None,
            1 => Some(i18n::t(lang, &format!("{key}_one"))),
            n => Some(i18n::tf(lang, &key, &[("count", &n.to_string())])),
        }
    })
    .collect();
    let total = if list.len() == 1 {
        i18n::t(lang, "previous.total_one")
    } else {
        i18n::tf(
            lang,
            "previous.total",
            &[("count", &list.len().to_string())],
        )
    };
    Some(i18n::tf(
        lang,
        "previous.summary",
        &[("total", &total), ("parts", &parts.join(", "))],
    ))
}

/// The columns of the table of the previous meeting's commitments.
pub fn previous_headers(lang: Lang) -> [String; 5] {
    [
        i18n::t(lang, "column.organization"),
        i18n::t(lang, "column.commitment"),
        i18n::t(lang, "column.by_when"),
        i18n::t(lang, "column.status"),
        i18n::t(lang, "column.progress"),
    ]
}

/// "Dal precedente incontro": the commitments the previous meeting made
/// and how they are going, then the questions it left.
fn previous(out: &mut String, lang: Lang, p: &PreviousReport) {
    let _ = writeln!(out, "## {}\n", inline(&i18n::t(lang, "section.previous")));
    let _ = writeln!(out, "{}\n", inline(&previous_intro(lang, p)));
    if let Some(summary) = previous_summary(lang, &p.commitments) {
        let _ = writeln!(out, "{}\n", inline(&summary));
        let rows: Vec<Vec<String>> = p
            .commitments
            .iter()
            .map(|c| {
                vec![
                    or_dash(&c.organization),
                    inline(&c.what),
                    or_dash(&c.by_when),
                    inline(&c.status.label),
                    or_dash(&c.progress),
                ]
            })
            .collect();
        out.push_str(&table(&previous_headers(lang), &[], &rows));
    }
    if !p.open_questions.is_empty() {
        let _ = writeln!(
            out,
            "### {}\n",
            inline(&i18n::t(lang, "section.previous_open_questions"))
        );
        out.push_str(&prose_md(&p.open_questions));
    }
}

/// The columns of the commitments table.
pub fn commitment_headers(lang: Lang) -> [String; 5] {
    [
        i18n::t(lang, "column.organization"),
        i18n::t(lang, "column.commitment"),
        i18n::t(lang, "column.by_when"),
        i18n::t(lang, "column.condition"),
        i18n::t(lang, "column.contact_role"),
    ]
}

pub fn version_key(public: bool) -> &'static str {
    if public {
        "report.version_public"
    } else {
        "report.version_private"
    }
}

pub fn privacy_key(public: bool, orgs: bool) -> &'static str {
    match (public, orgs) {
        (false, _) => "report.privacy_private",
        (true, true) => "report.privacy_public_orgs",
        (true, false) => "report.privacy_public",
    }
}

fn attendance(out: &mut String, lang: Lang, a: &AttendanceSummary) {
    let _ = writeln!(out, "## {}\n", inline(&i18n::t(lang, "section.attendance")));
    let _ = writeln!(
        out,
        "{}\n",
        inline(&i18n::tf(
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
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|c| vec![inline(&c.label), c.count.to_string()])
            .collect();
        let headers = [i18n::t(lang, key), i18n::t(lang, "column.count")];
        out.push_str(&table(&headers, &[false, true], &rows));
    }
    if a.total == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "### {}\n",
        inline(&i18n::t(lang, "attendance.organizations"))
    );
    if a.organizations.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            inline(&i18n::t(lang, "attendance.organizations_none"))
        );
        return;
    }
    let _ = writeln!(
        out,
        "{}\n",
        inline(&i18n::t(lang, "attendance.organizations_intro"))
    );
    let rows: Vec<Vec<String>> = a
        .organizations
        .iter()
        .map(|g| {
            vec![
                inline(&g.sector.label),
                inline(&g.tier.label),
                inline(&g.organizations.join(", ")),
            ]
        })
        .collect();
    let headers = [
        i18n::t(lang, "column.sector"),
        i18n::t(lang, "column.tier"),
        i18n::t(lang, "column.organizations"),
    ];
    out.push_str(&table(&headers, &[false, false, false], &rows));
    if a.unlisted > 0 {
        let _ = writeln!(
            out,
            "{}\n",
            inline(&i18n::tf(
                lang,
                "attendance.unlisted",
                &[("count", &a.unlisted.to_string())]
            ))
        );
    }
}

fn votes_suffix(lang: Lang, votes: i64) -> String {
    if votes > 0 {
        format!(" · {}", i18n::votes(lang, votes))
    } else {
        String::new()
    }
}

fn raw_material(out: &mut String, lang: Lang, m: &RawMaterialMap) {
    let _ = writeln!(
        out,
        "### {}\n",
        inline(&i18n::t(lang, "section.raw_material"))
    );
    let _ = writeln!(
        out,
        "{}\n",
        inline(&i18n::t(lang, "section.raw_material_intro"))
    );
    let cited = cited_questions(m.categories.iter().flat_map(|c| {
        c.notes
            .iter()
            .map(|n| (n.question_number.as_str(), n.question.as_str()))
    }));
    question_legend(out, lang, &cited);
    let headers = [
        i18n::t(lang, "column.note"),
        i18n::t(lang, "column.votes"),
        i18n::t(lang, "column.cluster"),
        i18n::t(lang, "column.author"),
        i18n::t(lang, "column.question"),
    ];
    for c in &m.categories {
        let _ = writeln!(
            out,
            "#### {} ({})\n",
            inline(&c.category.label),
            c.notes.len()
        );
        if c.notes.is_empty() {
            let _ = writeln!(out, "{}\n", inline(&i18n::t(lang, "report.no_notes")));
            continue;
        }
        let rows: Vec<Vec<String>> = c
            .notes
            .iter()
            .map(|n| {
                vec![
                    inline(&n.text),
                    n.votes.to_string(),
                    inline(n.cluster.as_deref().unwrap_or("")),
                    inline(&i18n::author(lang, &n.author)),
                    inline(&i18n::question_ref(lang, &n.question_number)),
                ]
            })
            .collect();
        out.push_str(&table(&headers, &[false, true], &rows));
    }
}

/// A ledger cell: the count, then each pledge on its own line.
fn ledger_cell(cell: &LedgerCell) -> String {
    if cell.count == 0 {
        return String::new();
    }
    let texts: Vec<String> = cell
        .texts
        .iter()
        .map(|t| format!("• {}", inline(t)))
        .collect();
    format!("**{}**<br>{}", cell.count, texts.join("<br>"))
}

fn ledger(out: &mut String, lang: Lang, l: &Ledger) {
    let _ = writeln!(out, "### {}\n", inline(&i18n::t(lang, "section.ledger")));
    let _ = writeln!(out, "{}\n", inline(&i18n::t(lang, "section.ledger_intro")));
    let with_orgs = l.rows.iter().any(|r| r.organization.is_some());
    let mut headers = vec![i18n::t(lang, "column.sector"), i18n::t(lang, "column.tier")];
    if with_orgs {
        headers.push(i18n::t(lang, "column.organization"));
    }
    let fixed = headers.len();
    headers.extend(l.resource_types.iter().map(|t| t.label.clone()));
    headers.push(i18n::t(lang, "report.total"));
    let mut right = vec![false; headers.len()];
    if let Some(last) = right.last_mut() {
        *last = true;
    }
    let mut rows: Vec<Vec<String>> = l
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![inline(&r.sector.label), inline(&ledger_tier(lang, r))];
            if with_orgs {
                row.push(inline(r.organization.as_deref().unwrap_or("—")));
            }
            row.extend(r.cells.iter().map(ledger_cell));
            row.push(r.total.to_string());
            row
        })
        .collect();
    let mut totals = vec![format!("**{}**", inline(&i18n::t(lang, "report.total")))];
    totals.extend((1..fixed).map(|_| String::new()));
    totals.extend(
        (0..l.resource_types.len())
            .map(|i| {
                l.rows
                    .iter()
                    .filter_map(|r| r.cells.get(i))
                    .map(|c| c.count)
                    .sum::<usize>()
            })
            .map(|n| format!("**{n}**")),
    );
    totals.push(format!(
        "**{}**",
        l.rows.iter().map(|r| r.total).sum::<usize>()
    ));
    rows.push(totals);
    out.push_str(&table(&headers, &right, &rows));
}

/// The tier column of a ledger row: the anonymous rows say so instead.
pub fn ledger_tier(lang: Lang, r: &LedgerRow) -> String {
    match &r.tier {
        Some(t) => t.label.clone(),
        None => i18n::t(lang, "ledger.anonymous_row"),
    }
}

/// The questions a view cites, each once, in the session's order: (number,
/// text) pairs from (number, text) pairs in any order.
pub fn cited_questions<'a>(
    cited: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let key =
        |number: &str| -> Vec<u32> { number.split('.').map(|n| n.parse().unwrap_or(0)).collect() };
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (number, text) in cited {
        if !out.iter().any(|(n, _)| *n == number) {
            out.push((number, text));
        }
    }
    out.sort_by_key(|(n, _)| key(n));
    out
}

/// The legend of a view's question references: "**D2.1**: the question".
fn question_legend(out: &mut String, lang: Lang, cited: &[(&str, &str)]) {
    if cited.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}:
",
        inline(&i18n::t(lang, "section.questions_legend"))
    );
    for (number, text) in cited {
        let _ = writeln!(
            out,
            "- **{}**: {}",
            inline(&i18n::question_ref(lang, number)),
            inline(text)
        );
    }
    out.push('\n');
}

/// "Voce" of a ranking: a loose note's text, or a cluster's title with how
/// many notes it gathers.
pub fn item_label(lang: Lang, kind: ItemKind, label: &str, notes: usize) -> (String, String) {
    match kind {
        ItemKind::Note => (label.to_string(), i18n::t(lang, "item.note")),
        ItemKind::Cluster => (
            label.to_string(),
            i18n::tf(lang, "item.cluster_of", &[("count", &notes.to_string())]),
        ),
    }
}

fn needs(out: &mut String, lang: Lang, items: &[NeedItem]) {
    let _ = writeln!(out, "### {}\n", inline(&i18n::t(lang, "section.needs")));
    let _ = writeln!(out, "{}\n", inline(&i18n::t(lang, "section.needs_intro")));
    if items.is_empty() {
        let _ = writeln!(out, "{}\n", inline(&i18n::t(lang, "report.no_notes")));
        return;
    }
    let cited = cited_questions(
        items
            .iter()
            .map(|n| (n.question_number.as_str(), n.question.as_str())),
    );
    question_legend(out, lang, &cited);
    let headers = [
        i18n::t(lang, "column.rank"),
        i18n::t(lang, "column.item"),
        i18n::t(lang, "column.votes"),
        i18n::t(lang, "column.category"),
        i18n::t(lang, "column.question"),
    ];
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (label, what) = item_label(lang, n.kind, &n.label, n.notes);
            vec![
                (i + 1).to_string(),
                format!("{} _({})_", inline(&label), inline(&what)),
                n.votes.to_string(),
                inline(&n.categories.join(", ")),
                inline(&i18n::question_ref(lang, &n.question_number)),
            ]
        })
        .collect();
    out.push_str(&table(&headers, &[true, false, true], &rows));
}

fn expectations(out: &mut String, lang: Lang, e: &ExpectationMatrix) {
    let _ = writeln!(
        out,
        "### {}\n",
        inline(&i18n::t(lang, "section.expectations"))
    );
    let _ = writeln!(
        out,
        "{}\n",
        inline(&i18n::t(lang, "section.expectations_intro"))
    );
    let mut headers = vec![i18n::t(lang, "column.from_to")];
    headers.extend(e.to.iter().map(|t| t.label.clone()));
    let right: Vec<bool> = (0..headers.len()).map(|i| i > 0).collect();
    let rows: Vec<Vec<String>> = e
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![format!("**{}**", inline(&r.from.label))];
            row.extend(r.cells.iter().map(|c| c.notes.len().to_string()));
            row
        })
        .collect();
    out.push_str(&table(&headers, &right, &rows));
    for r in &e.rows {
        for c in r.cells.iter().filter(|c| !c.notes.is_empty()) {
            let heading = i18n::tf(
                lang,
                "cell.from_to",
                &[("from", &r.from.label), ("to", &c.to.label)],
            );
            let _ = writeln!(out, "#### {}\n", inline(&heading));
            for n in &c.notes {
                let _ = writeln!(
                    out,
                    "- {} — _{}_{}",
                    inline(&n.text),
                    inline(&i18n::author(lang, &n.author)),
                    votes_suffix(lang, n.votes)
                );
            }
            out.push('\n');
        }
    }
}

fn note_line(lang: Lang, indent: &str, n: &NoteEntry) -> String {
    let category = n
        .category
        .as_ref()
        .map(|c| format!(" · {}", inline(&c.label)))
        .unwrap_or_default();
    format!(
        "{indent}- {}{} — _{}_{}\n",
        inline(&n.text),
        category,
        inline(&i18n::author(lang, &n.author)),
        votes_suffix(lang, n.votes)
    )
}

fn phases(out: &mut String, lang: Lang, phases: &[PhaseReport]) {
    let _ = writeln!(out, "## {}\n", inline(&i18n::t(lang, "section.phases")));
    let budgets = voted_budgets(phases.iter().flat_map(|p| &p.questions));
    if let Some(meaning) = votes_meaning(lang, &budgets) {
        let _ = writeln!(out, "{}\n", inline(&meaning));
    }
    let each_says = budgets_vary(&budgets);
    for (i, p) in phases.iter().enumerate() {
        let heading = i18n::tf(
            lang,
            "section.phase",
            &[("number", &(i + 1).to_string()), ("title", &p.title)],
        );
        let _ = writeln!(out, "### {}\n", inline(&heading));
        if !p.goal.trim().is_empty() {
            let _ = writeln!(out, "_{}_\n", inline(&p.goal));
        }
        if let Some(m) = p.minutes {
            let _ = writeln!(
                out,
                "{}\n",
                inline(&i18n::tf(
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
    }
}

fn question(out: &mut String, lang: Lang, q: &QuestionReport, budget_here: bool) {
    let heading = i18n::tf(
        lang,
        "section.question",
        &[("number", &q.number), ("text", &q.text)],
    );
    let _ = writeln!(out, "#### {}\n", inline(&heading));
    if q.note_count == 0 {
        let _ = writeln!(out, "{}\n", inline(&i18n::t(lang, "report.no_notes")));
        return;
    }
    if !q.clusters.is_empty() {
        let _ = writeln!(out, "**{}**\n", inline(&i18n::t(lang, "section.clusters")));
        for c in &q.clusters {
            let _ = writeln!(
                out,
                "- **{}** — {}",
                inline(&c.title),
                i18n::votes(lang, c.votes)
            );
            for n in &c.notes {
                out.push_str(&note_line(lang, "  ", n));
            }
        }
        out.push('\n');
    }
    if !q.unclustered.is_empty() {
        let _ = writeln!(
            out,
            "**{}**\n",
            inline(&i18n::t(lang, "section.unclustered"))
        );
        for n in &q.unclustered {
            out.push_str(&note_line(lang, "", n));
        }
        out.push('\n');
    }
    if q.ranking.iter().any(|r| r.votes > 0) {
        ranking(out, lang, q, budget_here);
    }
}

fn ranking(out: &mut String, lang: Lang, q: &QuestionReport, budget_here: bool) {
    let items = &q.ranking;
    let _ = writeln!(out, "**{}**\n", inline(&i18n::t(lang, "section.ranking")));
    if budget_here {
        let here = i18n::tf(
            lang,
            "votes.budget_here",
            &[("count", &q.vote_budget.to_string())],
        );
        let _ = writeln!(out, "{}\n", inline(&here));
    }
    let headers = [
        i18n::t(lang, "column.rank"),
        i18n::t(lang, "column.item"),
        i18n::t(lang, "column.votes"),
    ];
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (label, what) = item_label(lang, r.kind, &r.label, r.notes);
            vec![
                (i + 1).to_string(),
                format!("{} _({})_", inline(&label), inline(&what)),
                r.votes.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&headers, &[true, false, true], &rows));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_pipes_and_newlines_inside_the_table() {
        assert_eq!(inline("a|b\nc"), "a\\|b<br>c");
        assert_eq!(inline("<script>"), "\\<script\\>");
        assert_eq!(inline("è “così”"), "è “così”");
    }
}
