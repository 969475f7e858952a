//! The session report: what a session produced, computed from its documents
//! and rendered as Markdown, CSV, JSON or a printable HTML page.
//!
//! [`build`] reads the session, roster and question documents into a
//! [`Report`] (plain data, the JSON format as-is); [`Report::render`] turns it
//! into a format. Everything is pure: the time comes in
//! [`ReportOptions::generated_at_ms`], so the server and the browser produce
//! byte-identical reports and the golden tests can pin them.
//!
//! # Content
//!
//! Per phase and question: live clusters (see [`crate::board`]) with their
//! notes and votes (a cluster's total is [`crate::board::ranking`]'s), the
//! notes in no cluster, and the ranking. Then four views, each present only
//! when the session has questions of that [`NoteKind`](crate::template::NoteKind):
//! the map of social raw material (`resource`), the ledger of contributions
//! (`pledge`), the needs ranked by votes (`need`) and the matrix of
//! expectations between sectors (`expectation`, category `verso-<sector>`).
//! Views cite a question by its number ("2.1": phase 2, question 1; shown
//! as "D2.1") and spell out the questions they cite once, in a legend; the
//! CSV, a data format, keeps the full question text in every row.
//! Attendance appears as counts only.
//!
//! The report is also the start of the meeting's minutes (*resoconto*): it
//! carries the [`crate::record::Record`] the facilitator wrote — the
//! meeting's data, the table's conclusion on each phase, the commitments,
//! the next steps and the questions left for the next meeting. The formats
//! for people show only what was written: an empty record adds nothing.
//! A session started from a previous one also reports, right after the
//! meeting's data, what that meeting left ("Dal precedente incontro"): its
//! commitments with where each stands and the facilitator's note on its
//! progress, and the questions it left ([`PreviousReport`]; `None`, and no
//! section, for a session not started from another). The organizations the
//! previous meeting invited are not reported.
//!
//! # Privacy rules
//!
//! - **Hidden notes** (moderated) are left out of every report and every
//!   count; a cluster whose only notes are hidden is left out too, since its
//!   title may echo what was hidden.
//! - **Anonymous notes** never show their author's name or organization, in
//!   any version: the board promised "anonimo". Their author's sector is
//!   kept. In the ledger they form one "anonymous" row per sector, so not
//!   even the tier is disclosed.
//! - **No identifiers**, in any version: no participant ids, note ids or
//!   cluster ids, and votes only as totals (the documents key them by
//!   participant).
//! - **Private version** (`public: false`, for the facilitator): names and
//!   organizations of the authors of non-anonymous notes.
//! - **Public version** (`public: true`): no names; organizations only when
//!   the session's `organizations_public` is set, and then only for
//!   non-anonymous notes; otherwise sector labels only, and the ledger's
//!   rows are sector × tier. Note texts and cluster titles are kept: they
//!   are the content.
//! - The **attendance list** with names is never part of a report: it is the
//!   separate [`attendance_annex`], for the facilitator.
//! - The **record** holds no person's name by design (a commitment names an
//!   organization and a contact *role*), so every version carries it whole,
//!   commitments included — except the meeting's `facilitators`, which
//!   names people and is left out of the public version. The previous
//!   meeting's commitments follow the same rule (organizations and contact
//!   roles, never a person).
//!
//! # Layout
//!
//! - `data`: the [`Report`] types (serialized for JSON; mirrored by
//!   `docs/report.schema.json`).
//! - `build`: documents → [`Report`], including the one function that
//!   applies the privacy rules to a note's author.
//! - `markdown`, `csv`, `html` (+ `chart` for its inline SVG): the formats;
//!   `prose` splits the record's long texts into paragraphs and lists for
//!   the formats people read. `odt` writes the HTML's structure as an
//!   OpenDocument Text package (its own small ZIP writer, no dependency);
//!   it is binary, so it is [`Report::render_odt`] and not a [`Format`].
//!   The CSV (notes, one per row) does not
//!   carry the record.
//! - `table`: small one-table documents (the attendance annex, a
//!   participant's own notes) in every format.
//! - `i18n`: the catalogues `model/i18n/report.{it,en}.toml`.
//! - `date`: dates from milliseconds, without a clock: UTC for machines,
//!   Italian time (CET/CEST, computed) for the date line people read.

mod build;
mod chart;
mod csv;
mod data;
mod date;
mod html;
mod i18n;
mod markdown;
mod odt;
mod prose;
mod table;

pub use build::{MIN_GROUP, shown_groups};
pub use data::*;
pub use html::SMALL_TABLE_ROWS;
pub use odt::MEDIA_TYPE as ODT_CONTENT_TYPE;

/// The file name extension of [`Report::render_odt`]'s output.
pub const ODT_EXTENSION: &str = "odt";

use crate::record::Record;
use crate::schema::{QuestionDoc, RosterDoc, SessionDoc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The language of a report. Italian unless asked otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    It,
    En,
}

impl Lang {
    /// `"it"` or `"en"`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The BCP 47 tag (`<html lang>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

/// What a report page may load and run: its inline styles and nothing else.
/// The HTML carries it in a `<meta>`; the server also sends it as a header.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The formats a report renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Markdown,
    Csv,
    Json,
    Html,
}

impl Format {
    /// `"md"`, `"csv"`, `"json"` or `"html"` (the `format=` of the HTTP call).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// What kind of report to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// The public version, without personal data (see the privacy rules).
    pub public: bool,
    pub lang: Lang,
    /// When the report is made, in milliseconds since the Unix epoch (the
    /// caller's clock: this crate has none).
    pub generated_at_ms: i64,
}

/// The documents of one session, already hydrated.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub session: &'a SessionDoc,
    pub roster: &'a RosterDoc,
    /// Question documents keyed by their URL (`Question::doc_url`). A
    /// question whose document is missing is reported without notes.
    pub questions: &'a BTreeMap<String, QuestionDoc>,
    /// The record of the meeting, read from the session document with
    /// [`Record::load`] (empty when nothing was written).
    pub record: &'a Record,
}

/// Computes the report (see the module documentation for what it holds and
/// what it never does).
pub fn build(src: &Sources, opts: &ReportOptions) -> Report {
    build::build(src, opts)
}

impl Report {
    /// The report in a format: Markdown, CSV (UTF-8 with a BOM, CRLF),
    /// pretty JSON or a self-contained printable HTML page.
    pub fn render(&self, f: Format) -> String {
        match f {
            Format::Markdown => markdown::render(self),
            Format::Csv => csv::render(self),
            Format::Json => to_json(self),
            Format::Html => html::render(self),
        }
    }

    /// The report as an OpenDocument Text file for LibreOffice Writer (and
    /// Word): the HTML page's sections as headings, paragraphs, lists,
    /// tables and SVG charts, to edit before it goes to the administration.
    /// Served as [`ODT_CONTENT_TYPE`], saved as [`ODT_EXTENSION`].
    pub fn render_odt(&self) -> Vec<u8> {
        odt::render(self)
    }
}

/// Pretty JSON with a final newline. Serializing plain data with string keys
/// cannot fail; were it ever to, the error is reported in a JSON object
/// rather than as a panic.
fn to_json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(s) => s + "\n",
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// Facilitator-only annex: the attendance list (name, organization, sector,
/// tier, attendance, joined at). Never part of a report.
pub fn attendance_annex(src: &Sources, lang: Lang, generated_at_ms: i64, f: Format) -> String {
    table::attendance_annex(src, lang, generated_at_ms).render(f)
}

/// A participant's own notes in every phase, for them to download. Hidden
/// notes are included (their author can see them) and marked; vote totals
/// show only where the facilitator has revealed them.
pub fn participant_notes(
    src: &Sources,
    participant_id: &str,
    lang: Lang,
    generated_at_ms: i64,
    f: Format,
) -> String {
    table::participant_notes(src, participant_id, lang, generated_at_ms).render(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_languages_parse_their_query_values() {
        assert_eq!(Format::parse("md"), Some(Format::Markdown));
        assert_eq!(Format::parse("HTML"), Some(Format::Html));
        assert_eq!(Format::parse("pdf"), None);
        assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!(Format::Json.extension(), "json");
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::default(), Lang::It);
    }
}

/// The name a downloaded report is saved under:
/// `tavolo-<what>-<session title>-<date>.<ext>`, e.g.
/// `tavolo-report-pubblico-prima-sessione-del-tavolo-2026-11-27.md`. ASCII
/// only (accents folded), so every browser and file system keeps it; the
/// date is the Italian calendar day the report was made.
pub fn download_name(what: &str, session_title: &str, generated_at_ms: i64, f: Format) -> String {
    download_name_with_extension(what, session_title, generated_at_ms, f.extension())
}

/// [`download_name`] with any extension (`"odt"`: [`ODT_EXTENSION`]).
pub fn download_name_with_extension(
    what: &str,
    session_title: &str,
    generated_at_ms: i64,
    extension: &str,
) -> String {
    let mut slug = String::new();
    for c in session_title.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c if c.is_ascii_alphanumeric() => c,
            _ => '-',
        };
        if folded != '-' || !slug.ends_with('-') {
            slug.push(folded);
        }
    }
    let mut slug: String = slug.trim_matches('-').chars().take(48).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    let day = date::rome(generated_at_ms);
    let date = format!("{:04}-{:02}-{:02}", day.year, day.month, day.day);
    let parts: Vec<&str> = ["tavolo", what, slug.as_str(), date.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    format!("{}.{extension}", parts.join("-"))
}

#[cfg(test)]
mod download_name_tests {
    use super::*;

    #[test]
    fn names_are_ascii_with_the_title_and_the_italian_day() {
        // 2026-11-26 23:30 UTC is already the 27th in Italy (UTC+1).
        let ms = 1_795_735_800_000;
        assert_eq!(
            download_name(
                "report",
                "Città dell’Opificio: è la “prima”!",
                ms,
                Format::Markdown
            ),
            "tavolo-report-citta-dell-opificio-e-la-prima-2026-11-27.md"
        );
        assert_eq!(
            download_name("le-mie-note", "«»—", ms, Format::Csv),
            "tavolo-le-mie-note-2026-11-27.csv"
        );
        let long = download_name("report", &"a".repeat(200), ms, Format::Html);
        assert!(long.len() < 80 && long.is_ascii(), "{long}");
    }
}
