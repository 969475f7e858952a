//! One-table documents in every format: the facilitator's attendance annex
//! and a participant's own notes. Both carry personal data by design and are
//! never reached from [`super::build`].

use super::build::{self, sector_label};
use super::{Format, Lang, Sources, csv, date, html, i18n, markdown};
use crate::ids::{Sector, Tier};
use crate::schema::{Participant, QuestionDoc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt::Write;

/// A titled table: (stable key, localized heading) columns and text rows.
#[derive(Debug, Clone)]
pub struct TableDoc {
    pub kind: &'static str,
    pub lang: Lang,
    pub title: String,
    /// Lines under the title (date, warnings).
    pub lines: Vec<String>,
    pub generated_at: String,
    pub columns: Vec<(&'static str, String)>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct JsonTable<'a> {
    schema_version: u32,
    kind: &'a str,
    lang: Lang,
    generated_at: &'a str,
    title: &'a str,
    rows: Vec<Map<String, Value>>,
}

impl TableDoc {
    pub fn render(&self, f: Format) -> String {
        match f {
            Format::Markdown => self.markdown(),
            Format::Csv => {
                let headers: Vec<String> = self.columns.iter().map(|(_, h)| h.clone()).collect();
                csv::write(&headers, &self.rows)
            }
            Format::Json => self.json(),
            Format::Html => self.html(),
        }
    }

    fn markdown(&self) -> String {
        let mut out = format!("# {}\n\n", markdown::inline(&self.title));
        for l in &self.lines {
            let _ = writeln!(out, "{}\n", markdown::inline(l));
        }
        let headers: Vec<String> = self.columns.iter().map(|(_, h)| h.clone()).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| markdown::inline(c)).collect())
            .collect();
        out.push_str(&markdown::table(&headers, &[], &rows));
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }

    fn json(&self) -> String {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .map(|((k, _), v)| (k.to_string(), Value::String(v.clone())))
                    .collect()
            })
            .collect();
        super::to_json(&JsonTable {
            schema_version: super::SCHEMA_VERSION,
            kind: self.kind,
            lang: self.lang,
            generated_at: &self.generated_at,
            title: &self.title,
            rows,
        })
    }

    fn html(&self) -> String {
        let mut body = format!(
            "<header class=\"title-block\">\n<h1>{}</h1>\n",
            html::esc(&self.title)
        );
        for l in &self.lines {
            let _ = writeln!(body, "<p class=\"meta\">{}</p>", html::esc(l));
        }
        body.push_str("</header>\n<main>\n");
        let cols: Vec<(String, &str)> = self.columns.iter().map(|(_, h)| (h.clone(), "")).collect();
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let cells: String = r
                    .iter()
                    .map(|c| format!("<td>{}</td>", html::esc_lines(c)))
                    .collect();
                format!("<tr>{cells}</tr>")
            })
            .collect();
        body.push_str(&html::table("list", &cols, &rows));
        body.push_str("</main>\n");
        html::page(self.lang, &self.title, &body)
    }
}

fn column(lang: Lang, key: &'static str) -> (&'static str, String) {
    (key, i18n::t(lang, &format!("column.{key}")))
}

fn generated_line(lang: Lang, ms: i64) -> String {
    i18n::tf(lang, "report.generated", &[("date", &date::long(lang, ms))])
}

/// Everyone in the roster, by sector, tier and name.
pub fn attendance_annex(src: &Sources, lang: Lang, generated_at_ms: i64) -> TableDoc {
    let mut people: Vec<&Participant> = src
        .roster
        .participants
        .values()
        .filter(|p| !p.removed)
        .collect();
    let rank = |p: &Participant| {
        let s = p
            .sector()
            .and_then(|s| Sector::ALL.iter().position(|x| *x == s));
        let t = p
            .tier()
            .and_then(|t| Tier::ALL.iter().position(|x| *x == t));
        (s.unwrap_or(9), t.unwrap_or(9), p.name.to_lowercase())
    };
    people.sort_by_key(|p| rank(p));
    let rows = people
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.organization.clone(),
                sector_label(lang, p.sector()).label,
                i18n::tier(lang, p.tier()),
                i18n::attendance(lang, p.attendance()),
                if p.joined_at > 0 {
                    date::short(p.joined_at)
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    TableDoc {
        kind: "attendance_annex",
        lang,
        title: format!("{} — {}", i18n::t(lang, "annex.title"), src.session.title),
        lines: vec![
            generated_line(lang, generated_at_ms),
            i18n::t(lang, "annex.intro"),
        ],
        generated_at: date::iso(generated_at_ms),
        columns: vec![
            column(lang, "name"),
            column(lang, "organization"),
            column(lang, "sector"),
            column(lang, "tier"),
            column(lang, "attendance"),
            column(lang, "joined_at"),
        ],
        rows,
    }
}

/// The notes `participant_id` wrote, phase by phase, including anonymous
/// and hidden ones (they are theirs). Totals of votes only where revealed.
pub fn participant_notes(
    src: &Sources,
    participant_id: &str,
    lang: Lang,
    generated_at_ms: i64,
) -> TableDoc {
    let empty = QuestionDoc::default();
    let mut rows = Vec::new();
    for p in &src.session.phases {
        for q in &p.questions {
            let doc = src.questions.get(&q.doc_url).unwrap_or(&empty);
            for (id, n) in doc.notes_in_order() {
                if n.author != participant_id {
                    continue;
                }
                let category = build::category_of(q, n)
                    .map(|c| c.label)
                    .unwrap_or_default();
                let cluster = build::place_of(doc, id)
                    .map(|(_, title)| title)
                    .unwrap_or_default();
                let votes = if doc.voting.revealed {
                    doc.vote_total(id).to_string()
                } else {
                    i18n::t(lang, "mine.votes_hidden")
                };
                let hidden = match (&n.hidden, &n.hidden_reason) {
                    (false, _) => i18n::yes_no(lang, false),
                    (true, Some(r)) => format!("{}: {r}", i18n::t(lang, "mine.hidden_yes")),
                    (true, None) => i18n::t(lang, "mine.hidden_yes"),
                };
                rows.push(vec![
                    p.title.clone(),
                    q.text.clone(),
                    category,
                    cluster,
                    votes,
                    i18n::yes_no(lang, n.anonymous),
                    hidden,
                    n.text.clone(),
                ]);
            }
        }
    }
    let who = src
        .roster
        .participants
        .get(participant_id)
        .map(|p| p.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| participant_id.to_string());
    TableDoc {
        kind: "participant_notes",
        lang,
        title: format!("{} — {}", i18n::t(lang, "mine.title"), src.session.title),
        lines: vec![
            i18n::tf(lang, "mine.intro", &[("name", &who)]),
            generated_line(lang, generated_at_ms),
        ],
        generated_at: date::iso(generated_at_ms),
        columns: vec![
            column(lang, "phase"),
            column(lang, "question"),
            column(lang, "category"),
            column(lang, "cluster"),
            column(lang, "votes"),
            column(lang, "anonymous"),
            column(lang, "hidden"),
            column(lang, "text"),
        ],
        rows,
    }
}
