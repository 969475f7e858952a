//! What the report must always do, checked on the fixture session and on
//! small boards: CSV survives a round trip, JSON follows its published
//! schema, the public version leaks nobody, the views add up, and the
//! record of the meeting shows only what was written.

mod report_fixture;

use report_fixture::{
    Board, COMMITTED, FACILITATORS, Fixture, HIDDEN_TEXT, LISTED, PEOPLE, PROGRESS_NOTE, TRICKY,
    fixture, options, second_meeting, url,
};
use serde_json::Value;
use tavolo_model::board;
use tavolo_model::report::{self, Format, ItemKind, Lang, Report};
use tavolo_model::{QuestionDoc, RosterDoc};

const FORMATS: [Format; 4] = [Format::Markdown, Format::Csv, Format::Json, Format::Html];

fn build(f: &Fixture, public: bool, lang: Lang) -> Report {
    report::build(&f.sources(), &options(public, lang))
}

// --- CSV ---------------------------------------------------------------

fn sector_it(s: &str) -> &'static str {
    match s {
        "public" => "pubblico",
        "social_private" => "privato sociale",
        "community" => "comunità",
        _ => "non indicato",
    }
}

/// The rows the private Italian CSV must hold, computed straight from the
/// documents (not from the report).
fn expected_private_rows(f: &Fixture) -> Vec<Vec<String>> {
    let roster: &RosterDoc = &f.roster;
    let mut rows = Vec::new();
    for p in &f.session.phases {
        for q in &p.questions {
            let Some(doc) = f.questions.get(&q.doc_url) else {
                continue;
            };
            for (id, n) in &doc.notes {
                if n.hidden {
                    continue;
                }
                // An anonymous note names nobody (contract v2), and the
                // report says nothing of its writer, sector included.
                let who = (!n.anonymous).then(|| &roster.participants[&n.author]);
                let category = n
                    .category
                    .as_deref()
                    .and_then(|c| q.categories.iter().find(|x| x.id == c))
                    .map(|c| c.label.clone())
                    .unwrap_or_default();
                let cluster = board::note_place(doc, id)
                    .map(|c| doc.clusters[&c].title.clone())
                    .unwrap_or_default();
                let (org, name, sector) = match who {
                    None => (String::new(), String::new(), String::new()),
                    Some(w) => (
                        w.organization.clone(),
                        w.name.clone(),
                        sector_it(&w.sector).to_string(),
                    ),
                };
                rows.push(vec![
                    p.title.clone(),
                    q.text.clone(),
                    category,
                    cluster,
                    doc.vote_total(id).to_string(),
                    sector,
                    org,
                    if n.anonymous { "sì" } else { "no" }.to_string(),
                    name,
                    n.text.clone(),
                ]);
            }
        }
    }
    rows.sort();
    rows
}

#[test]
fn the_csv_round_trips_every_visible_note_field_by_field() {
    let f = fixture();
    let csv = build(&f, false, Lang::It).render(Format::Csv);
    let body = csv
        .strip_prefix('\u{FEFF}')
        .expect("the CSV starts with a UTF-8 byte-order mark");
    assert!(body.contains("\r\n"), "lines end in CRLF");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "Fase",
            "Domanda",
            "Categoria",
            "Gruppo",
            "Voti",
            "Settore",
            "Organizzazione",
            "Anonima",
            "Autore",
            "Testo"
        ]
    );
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    rows.sort();
    let expected = expected_private_rows(&f);
    assert_eq!(rows.len(), expected.len(), "one row per visible note");
    assert_eq!(rows, expected);
    assert!(
        rows.iter().any(|r| r[9] == TRICKY),
        "the tricky text is intact"
    );
    assert!(!csv.contains(HIDDEN_TEXT));
}

#[test]
fn the_public_csv_has_neither_organization_nor_author_columns() {
    let f = fixture();
    let csv = build(&f, true, Lang::En).render(Format::Csv);
    let body = csv.strip_prefix('\u{FEFF}').unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "Phase",
            "Question",
            "Category",
            "Group",
            "Votes",
            "Sector",
            "Anonymous",
            "Text"
        ]
    );
    let anonymous: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[6].to_string())
        .collect();
    assert!(anonymous.iter().all(|a| a == "yes" || a == "no"));
    assert!(anonymous.iter().any(|a| a == "yes"));
}

// --- JSON schema --------------------------------------------------------

fn validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("docs/report.schema.json is a valid JSON Schema")
}

fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn every_json_report_follows_the_published_schema() {
    let v = validator();
    let mut f = fixture();
    let mut reports = Vec::new();
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            reports.push(build(&f, public, lang));
        }
    }
    f.set_organizations_public(true);
    reports.push(build(&f, true, Lang::It));
    for r in reports {
        let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
        let errors = schema_errors(&v, &json);
        assert!(errors.is_empty(), "schema violations: {errors:#?}");
        assert_eq!(json["schema_version"], 1);
    }
}

#[test]
fn the_schema_rejects_a_report_missing_a_required_property_or_leaking_a_field() {
    let v = validator();
    let f = fixture();
    let good: Value =
        serde_json::from_str(&build(&f, true, Lang::It).render(Format::Json)).unwrap();
    assert!(v.is_valid(&good));

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("generated_at");
    assert!(
        !v.is_valid(&missing),
        "a missing required property must fail"
    );

    let mut bad_date = good.clone();
    bad_date["generated_at"] = Value::String("14/03/2026".into());
    assert!(
        !v.is_valid(&bad_date),
        "a date that is not ISO 8601 must fail"
    );

    let mut extra = good.clone();
    extra["phases"][0]["questions"][0]["unclustered"][0]["author"]["participant_id"] =
        Value::String("p_x".into());
    assert!(!v.is_valid(&extra), "an undocumented field must fail");

    // Question numbers: "2.1" everywhere, never a localized "D2.1".
    assert_eq!(good["phases"][1]["questions"][0]["number"], "2.1");
    let note = &good["raw_material"]["categories"][0]["notes"][0];
    assert!(
        note["question_number"]
            .as_str()
            .is_some_and(|n| n.starts_with(char::is_numeric))
    );
    let mut labelled = good.clone();
    labelled["raw_material"]["categories"][0]["notes"][0]["question_number"] =
        Value::String("D2.1".into());
    assert!(
        !v.is_valid(&labelled),
        "a question number is the stable value, not its label"
    );
    let mut unnumbered = good.clone();
    unnumbered["needs"][0]
        .as_object_mut()
        .unwrap()
        .remove("question_number");
    assert!(
        !v.is_valid(&unnumbered),
        "a need must say which question it answers"
    );
}

// --- Privacy ------------------------------------------------------------

/// Every string a public report must never contain: names (whole and by
/// surname) of the participants and of the facilitators, organizations,
/// participant ids, note, cluster and commitment ids, and the hidden note
/// with its reason. The organizations returned are those of note authors
/// that made no commitment: one that did is named in the commitments table
/// (see `an_organization_that_committed_is_named_only_in_the_commitments`).
fn personal_terms(f: &Fixture) -> (Vec<String>, Vec<String>) {
    let mut never: Vec<String> = Vec::new();
    let mut orgs: Vec<String> = Vec::new();
    let facilitators = FACILITATORS.split(" e ");
    let names = PEOPLE.iter().map(|p| p.1).chain(facilitators);
    for name in names {
        never.push(name.to_string());
        // Each part of a name as a whole word ("Gori" is inside "categoria").
        never.extend(name.split_whitespace().map(|w| format!("\u{0}{w}\u{0}")));
    }
    for (id, _, org, ..) in PEOPLE {
        never.push(id.to_string());
        // Organizations of people who signed a note (the report names
        // only those).
        let signed = f
            .questions
            .values()
            .any(|q| q.notes.values().any(|n| n.author == *id));
        if signed
            && !orgs.contains(&org.to_string())
            && !COMMITTED.contains(org)
            && !listed_organizations().contains(org)
        {
            orgs.push(org.to_string());
        }
    }
    for q in f.questions.values() {
        never.extend(q.notes.keys().map(|k| format!("{k}\"")));
        never.extend(q.notes.keys().map(|k| format!("{k},")));
        never.extend(q.clusters.keys().map(|k| format!("{k}\"")));
    }
    for c in &f.record.commitments {
        never.push(format!("{}\"", c.id));
        never.push(format!("{},", c.id));
    }
    never.push(HIDDEN_TEXT.to_string());
    never.push("fuori tema".to_string());
    (never, orgs)
}

/// Organizations someone agreed to list among those present.
fn listed_organizations() -> Vec<&'static str> {
    let mut orgs: Vec<&str> = PEOPLE
        .iter()
        .filter(|p| LISTED.contains(&p.0))
        .map(|p| p.2)
        .collect();
    orgs.dedup();
    orgs
}

fn all_public_outputs(f: &Fixture) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for lang in [Lang::It, Lang::En] {
        let r = build(f, true, lang);
        for fmt in FORMATS {
            out.push((format!("{lang:?} {}", fmt.extension()), r.render(fmt)));
        }
    }
    out
}

/// Lowercased, with every run of non-alphanumeric characters turned into a
/// NUL on each side of each word, so `\0word\0` finds whole words only.
fn words_marked(text: &str) -> String {
    let mut out = String::from("\u{0}");
    for c in text.to_lowercase().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else {
            out.push('\u{0}');
            out.push(c);
            out.push('\u{0}');
        }
    }
    out.push('\u{0}');
    out
}

/// The terms found in `text` (case-insensitive). A term wrapped in NULs is
/// looked up as a whole word.
fn leaks(text: &str, terms: &[String]) -> Vec<String> {
    let lower = text.to_lowercase();
    let marked = words_marked(text);
    terms
        .iter()
        .filter(|t| {
            match t
                .strip_prefix('\u{0}')
                .and_then(|t| t.strip_suffix('\u{0}'))
            {
                Some(word) => marked.contains(&words_marked(word)),
                None => lower.contains(&t.to_lowercase()),
            }
        })
        .cloned()
        .collect()
}

fn assert_absent(outputs: &[(String, String)], terms: &[String]) {
    for (what, text) in outputs {
        let found = leaks(text, terms);
        assert!(
            found.is_empty(),
            "the public {what} report contains {found:?}"
        );
    }
}

#[test]
fn the_public_report_names_nobody_in_any_format_or_language() {
    let mut f = fixture();
    let (never, orgs) = personal_terms(&f);
    let outputs = all_public_outputs(&f);
    assert_absent(&outputs, &never);
    assert_absent(&outputs, &orgs);

    // Organizations agreed public: they appear, names and ids still do not.
    f.set_organizations_public(true);
    let outputs = all_public_outputs(&f);
    assert_absent(&outputs, &never);
    for (what, text) in &outputs {
        assert!(
            text.contains("Cooperativa Fenicottero Viola"),
            "the public {what} report lacks the organization it may now show"
        );
    }
}

#[test]
fn the_public_report_never_names_who_facilitated() {
    let f = fixture();
    assert!(!FACILITATORS.is_empty() && f.record.meeting.facilitators == FACILITATORS);
    let names: Vec<&str> = FACILITATORS.split(" e ").collect();
    assert_eq!(names.len(), 2);
    for (what, text) in all_public_outputs(&f) {
        for name in &names {
            assert!(
                !text.contains(name),
                "the public {what} report names {name}"
            );
        }
        let found = leaks(
            &text,
            &names
                .iter()
                .flat_map(|n| n.split_whitespace())
                .map(|w| format!("\u{0}{w}\u{0}"))
                .collect::<Vec<_>>(),
        );
        assert!(
            found.is_empty(),
            "the public {what} report contains {found:?}"
        );
    }
    let json: Value =
        serde_json::from_str(&build(&f, true, Lang::It).render(Format::Json)).unwrap();
    assert!(json["meeting"].get("facilitators").is_none());
    // The facilitator's version says who facilitated, in the formats
    // people read and in the JSON.
    let private = build(&f, false, Lang::It);
    for fmt in [Format::Markdown, Format::Html, Format::Json] {
        assert!(private.render(fmt).contains(FACILITATORS), "{fmt:?}");
    }
}

/// A commitment names its organization in every version: it was made in
/// front of the table. In a public version where organizations are not
/// shown, that is the only place the organization appears, never beside a
/// note its people wrote.
#[test]
fn an_organization_that_committed_is_named_only_in_the_commitments() {
    let f = fixture();
    let signed: Vec<&str> = PEOPLE
        .iter()
        .filter(|p| COMMITTED.contains(&p.2))
        .map(|p| p.2)
        .collect();
    assert!(
        signed.len() >= 2,
        "the fixture's committed organizations include note authors'"
    );
    for lang in [Lang::It, Lang::En] {
        let r = build(&f, true, lang);
        assert!(!r.organizations_shown);
        for org in COMMITTED {
            let named = r
                .commitments
                .iter()
                .filter(|c| c.organization == *org)
                .count();
            assert_eq!(named, 1, "{org}");
            for fmt in [Format::Markdown, Format::Html] {
                let text = r.render(fmt);
                // The responsible body may be the Comune itself; count the
                // organization outside the meeting's data.
                let responsible = r.meeting.responsible.matches(org).count();
                // Listed among those present, if one of its people agreed.
                let present = usize::from(listed_organizations().contains(org));
                assert_eq!(
                    text.matches(org).count(),
                    named + responsible + present,
                    "{lang:?} {fmt:?}: {org} appears outside the commitments"
                );
            }
            assert!(!r.render(Format::Csv).contains(org), "{lang:?} CSV: {org}");
        }
        // In the JSON, nothing but a commitment (and the meeting's data)
        // holds it: every author object is without an organization.
        let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
        let mut all = Vec::new();
        authors(&json, &mut all);
        assert!(all.iter().all(|a| a.get("organization").is_none()));
    }
}

#[test]
fn the_private_report_names_the_authors_so_the_leak_test_can_fail() {
    let f = fixture();
    let (never, orgs) = personal_terms(&f);
    let r = build(&f, false, Lang::It);
    for fmt in FORMATS {
        let text = r.render(fmt);
        let found = leaks(&text, &never);
        for expected in [
            "Zebedeo Quaglierini",
            "\u{0}Quaglierini\u{0}",
            "\u{0}Gori\u{0}",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{fmt:?}: {expected:?} not detected"
            );
        }
        assert_eq!(
            leaks(&text, &orgs).len(),
            orgs.len(),
            "{fmt:?}: every org is named"
        );
        assert!(
            text.contains("Zebedeo Quaglierini"),
            "{fmt:?} lacks the name"
        );
        assert!(
            text.contains("Cooperativa Fenicottero Viola"),
            "{fmt:?} lacks the org"
        );
        assert!(!text.contains(HIDDEN_TEXT), "{fmt:?} shows the hidden note");
    }
}

/// Walks the JSON and checks every author object.
fn check_authors(v: &Value, public: bool, orgs: bool) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(a)) = m.get("author") {
                let anonymous = a["anonymous"].as_bool().unwrap();
                let may_name = !anonymous && !public;
                let may_org = !anonymous && orgs;
                assert_eq!(a.contains_key("name"), may_name, "{a:?}");
                assert_eq!(a.contains_key("organization"), may_org, "{a:?}");
                assert!(a["sector"]["label"].is_string(), "sector is kept: {a:?}");
            }
            m.values().for_each(|x| check_authors(x, public, orgs));
        }
        Value::Array(xs) => xs.iter().for_each(|x| check_authors(x, public, orgs)),
        _ => {}
    }
}

#[test]
fn anonymous_notes_never_carry_a_name_or_organization_in_any_version() {
    let mut f = fixture();
    for (public, orgs) in [(false, true), (true, false)] {
        let json: Value =
            serde_json::from_str(&build(&f, public, Lang::It).render(Format::Json)).unwrap();
        check_authors(&json, public, orgs);
    }
    f.set_organizations_public(true);
    let json: Value =
        serde_json::from_str(&build(&f, true, Lang::It).render(Format::Json)).unwrap();
    check_authors(&json, true, true);
}

#[test]
fn the_attendance_annex_lists_everyone_and_is_never_in_a_report() {
    let f = fixture();
    for fmt in FORMATS {
        let annex = report::attendance_annex(&f.sources(), Lang::It, 0, fmt);
        for (id, name, org, ..) in PEOPLE {
            assert!(
                annex.contains(name) && annex.contains(org),
                "{fmt:?} lacks {name}"
            );
            assert!(!annex.contains(id), "{fmt:?} shows the participant id {id}");
        }
    }
}

// --- HTML ---------------------------------------------------------------

#[test]
fn html_is_self_contained_printable_and_inert() {
    let f = fixture();
    let html = build(&f, true, Lang::It).render(Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"it\">"));
    assert!(
        !html.contains("<script"),
        "user text must not become a script"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    // The page carries its own policy, in the head, so it is inert also
    // from a Blob URL or a file on disk (no headers there).
    let meta = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        tavolo_model::report::CONTENT_SECURITY_POLICY
    );
    let head = &html[..html.find("</head>").expect("a head")];
    assert!(head.contains(&meta), "no CSP meta in the head");
    assert!(tavolo_model::report::CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
    for needle in [
        "@page { size: A4;",
        "thead { display: table-header-group; }",
        "tr, figure { break-inside: avoid;",
        "break-after: avoid",
        "table-layout: fixed",
        "overflow-wrap: anywhere",
        "Versione pubblica",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "external resource {external:?}");
    }
    assert_eq!(
        html.matches("<svg ").count(),
        2,
        "the ledger and needs charts"
    );
    assert_eq!(html.matches("role=\"img\"").count(), 2);
    assert!(html.contains("<title>Contributi per soggetto e tipo di risorsa</title>"));
    assert!(html.contains("<title>Bisogni più votati</title>"));
    let en = build(&f, true, Lang::En).render(Format::Html);
    assert!(en.contains("<html lang=\"en\">") && en.contains("<title>Most voted needs</title>"));

    // Each chart under its title, the title first in its figure: below the
    // chart it read as the caption of the table that follows.
    for title in [
        "Contributi per soggetto e tipo di risorsa",
        "Bisogni più votati",
    ] {
        let caption = format!("<figure class=\"chart\">\n<figcaption>{title}</figcaption>\n<svg ");
        assert!(html.contains(&caption), "{title} is not above its chart");
    }
    assert_eq!(html.matches("<figcaption>").count(), 2);

    // Small tables print whole; a group's heading row stays with its notes.
    for needle in [
        "table.whole, table.ledger tbody { break-inside: avoid;",
        "tr.group, p.table-title, dl.refs { break-after: avoid;",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    let matrix = html
        .split("<table class=\"")
        .find(|t| t.starts_with("matrix"))
        .expect("the expectations matrix");
    assert!(
        matrix.starts_with("matrix whole\""),
        "the 3-row matrix prints whole"
    );
    for t in html.split("<table class=\"").skip(1) {
        let rows = t.split("</table>").next().unwrap().matches("<tr").count() - 1;
        let whole = t
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .any(|c| c == "whole");
        assert_eq!(
            whole,
            rows <= report::SMALL_TABLE_ROWS,
            "{rows} rows: {}",
            &t[..60]
        );
    }
}

/// "Giulia Bianchi, Comune, pubblico": never "Giulia Bianchi (Comune,
/// pubblico)", which the matrix then wrapped in parentheses of its own.
#[test]
fn authors_are_attributed_without_nested_parentheses_in_every_version_and_language() {
    let mut f = fixture();
    let mut reports = Vec::new();
    for lang in [Lang::It, Lang::En] {
        reports.push(build(&f, false, lang));
    }
    f.set_organizations_public(true);
    reports.push(build(&f, true, Lang::It));
    for r in reports {
        for fmt in [Format::Markdown, Format::Html] {
            let text = r.render(fmt);
            for (_, name, org, ..) in PEOPLE {
                for who in [name, org] {
                    assert!(
                        !text.contains(&format!("{who} (")) && !text.contains(&format!("({who}")),
                        "{:?} {fmt:?}: {who} in parentheses",
                        r.lang
                    );
                }
            }
            let sector = if r.lang == Lang::It {
                "privato sociale"
            } else {
                "social private"
            };
            let who = if r.public {
                format!("Cooperativa Il Mosaico, {sector}")
            } else {
                format!("Marco Ferri, Cooperativa Il Mosaico, {sector}")
            };
            assert!(text.contains(&who), "{:?} {fmt:?}: attribution", r.lang);
        }
    }
}

/// The views cite questions as "D2.1" and spell each out once, in a legend:
/// rows no longer repeat a 120-character question. The CSV keeps the text.
#[test]
fn views_cite_questions_by_number_and_spell_them_out_once() {
    let f = fixture();
    for lang in [Lang::It, Lang::En] {
        let r = build(&f, false, lang);
        let prefix = if lang == Lang::It { "D" } else { "Q" };
        let md = r.render(Format::Markdown);
        let html = r.render(Format::Html);
        let cited = r
            .raw_material
            .iter()
            .flat_map(|m| &m.categories)
            .flat_map(|c| {
                c.notes
                    .iter()
                    .map(|n| (n.question_number.clone(), n.question.clone()))
            });
        let needs = r.needs.iter().flatten();
        let cited: Vec<(String, String)> = cited
            .chain(needs.map(|n| (n.question_number.clone(), n.question.clone())))
            .collect();
        assert!(cited.len() > 8, "the fixture's views cite questions");
        for (number, text) in &cited {
            let reference = format!("{prefix}{number}");
            // The legend and the phase's own heading: twice, however many rows.
            assert_eq!(
                md.matches(&markdown_inline(text)).count(),
                2,
                "{lang:?}: {text}"
            );
            assert!(md.contains(&format!("- **{reference}**: ")), "{reference}");
            assert!(md.contains(&format!("| {reference} |")), "{reference}");
            assert!(
                html.contains(&format!("<dt>{reference}</dt>")),
                "{reference}"
            );
            assert!(
                html.contains(&format!("\">{reference}</abbr></td>")),
                "{reference}"
            );
        }
        let csv = r.render(Format::Csv);
        assert!(csv.contains(&cited[0].1), "the CSV keeps the full question");
        assert!(!csv.contains(&format!(",{prefix}{},", cited[0].0)));
    }
}

/// Markdown escaping of the fixture's question texts (they hold quotes and
/// parentheses, which stay as they are).
fn markdown_inline(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = matches!(
                c,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
            );
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

// --- Views on small boards ----------------------------------------------

/// The fixture's session and roster with only the given question boards.
fn small(boards: Vec<(&str, QuestionDoc)>) -> Fixture {
    let mut f = fixture();
    f.questions = boards.into_iter().map(|(q, d)| (url(q), d)).collect();
    f
}

#[test]
fn the_expectation_matrix_goes_from_the_authors_sector_to_the_named_one() {
    let mut b = Board::new();
    b.note("e1", "anna", Some("verso-community"), "a")
        .note("e2", "giorgio", Some("verso-community"), "b")
        .anon("e3", "lucia", Some("verso-public"), "c");
    let f = small(vec![("aspettative-alleanza", b.load())]);
    let m = build(&f, true, Lang::It).expectations.unwrap();
    let to: Vec<&str> = m.to.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(
        to,
        ["pubblico", "privato sociale", "comunità"],
        "no unused 'non indicato'"
    );
    let count = |from: usize, to: usize| m.rows[from].cells[to].notes.len();
    assert_eq!(count(0, 2), 2, "public → community");
    // The anonymous one is counted, from nobody's sector.
    assert_eq!(count(3, 0), 1, "not stated → public");
    assert_eq!(
        m.rows
            .iter()
            .flat_map(|r| &r.cells)
            .map(|c| c.notes.len())
            .sum::<usize>(),
        3
    );

    let mut b = Board::new();
    b.note("e4", "marco", None, "senza destinatario").note(
        "e5",
        "marco",
        Some("verso-altro"),
        "destinatario ignoto",
    );
    let f = small(vec![("aspettative-esplicite", b.load())]);
    let m = build(&f, true, Lang::It).expectations.unwrap();
    assert_eq!(m.to.last().unwrap().label, "non indicato");
    assert_eq!(m.to.last().unwrap().id, None);
    assert_eq!(
        m.rows[1].cells[3].notes.len(),
        2,
        "social private → not stated"
    );
}

#[test]
fn the_ledger_groups_rows_by_sector_then_tier_and_keeps_anonymous_pledges_apart() {
    let mut b = Board::new();
    b.note("l1", "ettore", Some("risorsa-tempo"), "sere")
        .note("l2", "zeb", Some("risorsa-spazio"), "sala")
        .note("l3", "zeb", Some("risorsa-spazio"), "cortile")
        .note("l4", "anna", Some("risorsa-economiche"), "fondi")
        .anon("l5", "marco", Some("risorsa-tempo"), "volontari")
        .note("l6", "marco", Some("risorsa-tempo"), "educatori");
    let mut f = small(vec![("sul-tavolo", b.load())]);
    let l = build(&f, false, Lang::It).ledger.unwrap();
    let rows: Vec<(String, usize)> = l.rows.iter().map(|r| (r.label.clone(), r.total)).collect();
    assert_eq!(
        rows,
        [
            ("Comune di Borgo Lontano".to_string(), 1),
            ("Cooperativa Il Mosaico".to_string(), 1),
            ("Cooperativa Fenicottero Viola".to_string(), 2),
            ("Comitato Ortensia Bislacca".to_string(), 1),
            ("Contributi anonimi".to_string(), 1),
        ]
    );
    let spazio = l
        .resource_types
        .iter()
        .position(|t| t.label == "Spazio")
        .unwrap();
    assert_eq!(l.rows[2].cells[spazio].count, 2);
    assert_eq!(l.rows[2].cells[spazio].texts, ["sala", "cortile"]);
    assert!(l.rows[4].anonymous && l.rows[4].tier.is_none() && l.rows[4].organization.is_none());
    assert!(
        l.rows[4].sector.id.is_none(),
        "an anonymous pledge has no sector"
    );

    // Public, organizations not agreed: rows are sector × tier, and here
    // each sector's tiers are too small to show (one strategic extension
    // each), so each sector is one row.
    let l = build(&f, true, Lang::It).ledger.unwrap();
    assert!(l.rows.iter().all(|r| r.organization.is_none()));
    assert_eq!(l.rows[0].label, "pubblico");
    assert_eq!(
        l.rows[0].tier.as_ref().map(|t| t.label.as_str()),
        Some("tutti i ruoli")
    );
    f.set_organizations_public(true);
    let l = build(&f, true, Lang::It).ledger.unwrap();
    assert_eq!(
        l.rows[0].organization.as_deref(),
        Some("Comune di Borgo Lontano")
    );
}

#[test]
fn needs_from_every_question_are_ranked_together_by_votes() {
    let mut b1 = Board::new();
    b1.note("a1", "anna", Some("bisogno"), "casa")
        .note("a2", "marco", Some("fragilita"), "solitudine")
        .note("a3", "lucia", None, "trasporti")
        .cluster("k1", "Abitare", &["a1", "a2"])
        .dots("k1", &["anna"])
        .dots("a2", &["zeb", "ettore"])
        .dots("a3", &["lucia"]);
    let mut b2 = Board::new();
    b2.note("b1", "giorgio", Some("bisogno"), "giovani")
        .dots("b1", &["anna", "marco", "zeb", "lucia"]);
    let mut b3 = Board::new();
    b3.note("c1", "ettore", None, "ponti").dots("c1", &["anna"]);
    let f = small(vec![
        ("benessere", b1.load()),
        ("bisogni-non-intercettati", b2.load()),
        ("relazioni-mancanti", b3.load()),
    ]);
    let needs = build(&f, true, Lang::It).needs.unwrap();
    let got: Vec<(&str, i64, ItemKind)> = needs
        .iter()
        .map(|n| (n.label.as_str(), n.votes, n.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("giovani", 4, ItemKind::Note),
            ("Abitare", 3, ItemKind::Cluster),
            ("trasporti", 1, ItemKind::Note),
            ("ponti", 1, ItemKind::Note),
        ]
    );
    assert_eq!(
        needs[1].categories,
        ["Bisogno non intercettato", "Fragilità"]
    );
    assert_eq!(needs[1].notes, 2);
}

#[test]
fn hidden_notes_and_clusters_left_with_only_hidden_notes_are_not_reported() {
    let mut b = Board::new();
    b.note("h1", "anna", None, "visibile")
        .note("h2", "zeb", None, "nascosta")
        .cluster("k1", "Solo nascoste", &["h2"])
        .dots("h2", &["anna"]);
    tavolo_model::ops::set_note_hidden(&mut b.doc, "h2", true, None, 0).unwrap();
    let f = small(vec![("perche-noi", b.load())]);
    let r = build(&f, false, Lang::It);
    let q = &r.phases[0].questions[0];
    assert_eq!(q.note_count, 1);
    assert!(q.clusters.is_empty());
    assert_eq!(q.ranking.len(), 1);
    for fmt in FORMATS {
        let text = r.render(fmt);
        assert!(
            !text.contains("nascosta") && !text.contains("Solo nascoste"),
            "{fmt:?}"
        );
    }
}

#[test]
fn a_question_whose_document_is_missing_has_no_notes() {
    let f = small(vec![]);
    let r = build(&f, true, Lang::It);
    assert!(
        r.phases
            .iter()
            .flat_map(|p| &p.questions)
            .all(|q| q.note_count == 0)
    );
    assert!(r.needs.as_ref().unwrap().is_empty());
    assert!(r.ledger.as_ref().unwrap().rows.is_empty());
    for fmt in FORMATS {
        assert!(!r.render(fmt).is_empty());
    }
}

// --- Small groups in the public version -----------------------------------

/// The fixture with only the given people (by short name) still present.
fn only(f: &mut Fixture, keep: &[&str]) {
    let keep: Vec<String> = keep.iter().map(|k| report_fixture::pid(k).0).collect();
    for (id, p) in f.roster.participants.iter_mut() {
        p.removed = !keep.contains(id);
    }
}

#[test]
fn groups_of_fewer_than_three_are_never_shown_in_the_public_version() {
    use tavolo_model::report::MIN_GROUP;
    assert_eq!(MIN_GROUP, 3, "the report's words say 3");
    // Public: anna, giorgio, paola, sergio; social private: marco, zeb,
    // nadia; community: lucia, ettore, rita. Two of the community are
    // removed: Lucia would stand alone.
    let mut f = fixture();
    only(
        &mut f,
        &[
            "anna", "giorgio", "paola", "sergio", "marco", "zeb", "nadia", "lucia",
        ],
    );
    let r = build(&f, true, Lang::It);
    let a = &r.attendance;
    let label_counts = |c: &[tavolo_model::report::Count]| -> Vec<(String, usize)> {
        c.iter().map(|c| (c.label.clone(), c.count)).collect()
    };
    // Lucia alone in the community: with "altri" holding one person the
    // smallest shown sector joins it (else she could be read off).
    assert_eq!(
        label_counts(&a.by_sector),
        [("pubblico".to_string(), 4), ("altri".to_string(), 4)]
    );
    for c in a.by_sector.iter().chain(&a.by_tier).chain(&a.by_attendance) {
        assert!(
            c.count == 0 || c.count >= MIN_GROUP,
            "a public cell of {} people: {}",
            c.count,
            c.label
        );
    }
    // Every note's author: a shown sector or "altri", never the community.
    let md = r.render(tavolo_model::report::Format::Markdown);
    assert!(
        !md.contains("_comunità_"),
        "a community author is named by sector"
    );
    assert!(!md.contains("_privato sociale_"));
    assert!(md.contains("_altri_"));
    let l = r.ledger.unwrap();
    for row in &l.rows {
        assert!(
            ["pubblico", "altri", "anonimo"].contains(&row.sector.label.as_str()),
            "a ledger row for {}",
            row.sector.label
        );
    }
    let m = r.expectations.unwrap();
    let from: Vec<&str> = m.rows.iter().map(|r| r.from.label.as_str()).collect();
    assert!(
        !from.contains(&"comunità") && !from.contains(&"privato sociale"),
        "{from:?}"
    );
    // The facilitator's version says everything as it is.
    let private = build(&f, false, Lang::It);
    assert!(
        private
            .attendance
            .by_sector
            .iter()
            .any(|c| c.label == "comunità" && c.count == 1)
    );
}

#[test]
fn shown_groups_suppress_the_complement_of_a_small_one() {
    use tavolo_model::report::shown_groups;
    let shown = |v: &[(char, usize)]| {
        let mut s: Vec<char> = shown_groups(v).into_iter().collect();
        s.sort();
        s
    };
    assert_eq!(shown(&[('a', 5), ('b', 4), ('c', 3)]), ['a', 'b', 'c']);
    // One small group alone would be readable by subtraction.
    assert_eq!(shown(&[('a', 5), ('b', 4), ('c', 1)]), ['a']);
    // Two small groups together are big enough.
    assert_eq!(shown(&[('a', 5), ('b', 2), ('c', 1)]), ['a']);
    assert_eq!(shown(&[('a', 5), ('b', 2), ('c', 2)]), ['a']);
    // Nobody in a group is not a group.
    assert_eq!(shown(&[('a', 5), ('b', 0)]), ['a']);
    assert_eq!(shown(&[('a', 2)]), Vec::<char>::new());
}

// --- Promises -----------------------------------------------------------------

/// Every `author` object in a report's JSON.
fn authors(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(a) = m.get("author") {
                out.push(a.clone());
            }
            m.values().for_each(|x| authors(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| authors(x, out)),
        _ => {}
    }
}

#[test]
fn the_composers_promise_holds_in_every_version_and_language() {
    // "Nessuno saprà che l'hai scritta tu: la nota non mostra né il tuo
    // nome, né la tua organizzazione, né il tuo settore."
    let f = fixture();
    let mut checked = 0;
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            let r = build(&f, public, lang);
            let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
            let mut all = Vec::new();
            authors(&json, &mut all);
            for a in all.iter().filter(|a| a["anonymous"] == true) {
                assert!(a["name"].is_null(), "{a}");
                assert!(a["organization"].is_null(), "{a}");
                assert!(
                    a["sector"]["id"].is_null(),
                    "an anonymous note's sector: {a}"
                );
                checked += 1;
            }
            // And the words the report prints for them say nothing more.
            let md = r.render(Format::Markdown);
            let anon = if lang == Lang::It {
                "_anonimo_"
            } else {
                "_anonymous_"
            };
            assert!(md.contains(anon), "{lang:?}");
        }
    }
    assert!(checked >= 20, "only {checked} anonymous notes were checked");
}

// --- The record of the meeting ----------------------------------------------

/// The headings of the record's sections, in the order the report gives
/// them, in a language.
fn record_headings(lang: Lang) -> [&'static str; 8] {
    match lang {
        Lang::It => [
            "Dati dell'incontro",
            "Sintesi del tavolo",
            "Convergenze",
            "Divergenze",
            "Come sono state gestite",
            "Impegni",
            "Prossimi passi",
            "Domande per il prossimo incontro",
        ],
        Lang::En => [
            "Meeting details",
            "Summary of the discussion",
            "Points of agreement",
            "Points of disagreement",
            "How they were handled",
            "Commitments",
            "Next steps",
            "Questions for the next meeting",
        ],
    }
}

#[test]
fn the_record_opens_the_report_sits_under_its_phases_and_closes_it() {
    let f = fixture();
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            let r = build(&f, public, lang);
            let md = r.render(Format::Markdown);
            let [meeting, synthesis, .., commitments, next, open] = record_headings(lang);
            let at = |needle: &str| {
                md.find(needle)
                    .unwrap_or_else(|| panic!("{lang:?} lacks {needle:?}"))
            };
            let phases = at(if lang == Lang::It {
                "## Dettaglio delle fasi"
            } else {
                "## Phases in detail"
            });
            let attendance = at(if lang == Lang::It {
                "## Partecipazione"
            } else {
                "## Participation"
            });
            assert!(
                at(&format!("## {meeting}\n")) < attendance,
                "the meeting's data come first"
            );
            assert!(phases < at(&format!("## {commitments}\n")));
            assert!(at(&format!("## {commitments}\n")) < at(&format!("## {next}\n")));
            assert!(at(&format!("## {next}\n")) < at(&format!("## {open}\n")));
            assert_eq!(
                md.matches(&format!("#### {synthesis}\n")).count(),
                2,
                "two phases have a conclusion"
            );
            let date = if lang == Lang::It {
                "14 marzo 2026"
            } else {
                "14 March 2026"
            };
            assert!(md.contains(date), "{lang:?}: the meeting's day for people");
            let html = r.render(Format::Html);
            assert_eq!(html.matches("<div class=\"conclusion\">").count(), 2);
            assert!(html.contains("<table class=\"commitments whole\">"));
        }
    }
    // The conclusion is the phase's: under its heading, before its questions.
    let r = build(&f, true, Lang::It);
    assert!(r.phases[0].conclusion.is_some() && r.phases[3].conclusion.is_some());
    assert!(r.phases.iter().filter(|p| p.conclusion.is_some()).count() == 2);
    let md = r.render(Format::Markdown);
    let phase1 = md.find("### Fase 1:").unwrap();
    let conclusion = md.find("#### Sintesi del tavolo").unwrap();
    let question = md.find("#### Domanda 1.1:").unwrap();
    assert!(phase1 < conclusion && conclusion < question);
    // A synthesis written as a list stays a list.
    assert!(md.contains("**Convergenze**\n\n- L'isolamento è la priorità condivisa da tutti i settori.\n- Il trasporto"));
    assert_eq!(r.commitments.len(), 3);
    assert_eq!(r.commitments[1].organization, "Cooperativa Il Mosaico");
}

#[test]
fn an_empty_record_renders_no_record_sections() {
    let mut f = fixture();
    f.record = tavolo_model::record::Record::default();
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            let r = build(&f, public, lang);
            for fmt in [Format::Markdown, Format::Html] {
                let text = r.render(fmt);
                for heading in record_headings(lang) {
                    assert!(
                        !text.contains(heading),
                        "{lang:?} {fmt:?} public={public}: {heading:?}"
                    );
                }
                assert!(
                    !text.contains("class=\"conclusion\"") && !text.contains("class=\"meeting\"")
                );
            }
            let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
            assert_eq!(json["commitments"], Value::Array(vec![]));
            assert_eq!(json["next_steps"], "");
            assert_eq!(json["open_questions"], "");
            assert!(
                json["phases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["conclusion"].is_null())
            );
            assert_eq!(json["meeting"]["date_text"], "");
        }
    }
}

#[test]
fn a_record_shows_only_the_fields_written() {
    use tavolo_model::record::{Meeting, Record, Synthesis};
    let mut f = fixture();
    f.record = Record {
        meeting: Meeting {
            date: "2026-12-04".into(),
            start: "17:30".into(),
            facilitators: "Anna Facilitatrice".into(),
            ..Meeting::default()
        },
        syntheses: [(
            "contributi".to_string(),
            Synthesis {
                disagreements: "Sui tempi".into(),
                ..Synthesis::default()
            },
        )]
        .into(),
        ..Record::default()
    };
    let md = build(&f, true, Lang::It).render(Format::Markdown);
    let meeting = md.split("## Dati dell'incontro\n\n").nth(1).unwrap();
    let meeting = meeting.split("\n\n").next().unwrap();
    // What was written, then how the meeting went (its phases and planned times).
    assert!(
        meeting.starts_with(
            "- **Data:** 4 dicembre 2026\n- **Orario:** dalle 17:30\n- **Svolgimento:** L'incontro si è articolato in 5 fasi: Legittimazione reciproca (25 min);"
        ),
        "{meeting}"
    );
    assert_eq!(meeting.lines().count(), 3, "{meeting}");
    assert!(!md.contains("Facilitazione") && !md.contains("Anna Facilitatrice"));
    let private = build(&f, false, Lang::It).render(Format::Markdown);
    assert!(private.contains("- **Facilitazione:** Anna Facilitatrice\n"));
    // Only what was written of the conclusion: its heading, then that part.
    assert!(
        md.contains("#### Sintesi del tavolo\n\n**Divergenze**\n\nSui tempi\n\n#### Domanda 3.1")
    );
    for absent in [
        "Convergenze",
        "Come sono state gestite",
        "## Impegni",
        "## Prossimi passi",
    ] {
        assert!(!md.contains(absent), "{absent}");
    }
    // A date that is not one is shown as written, and not as a date in the JSON.
    f.record.meeting.date = "2026-02-30".into();
    let r = build(&f, true, Lang::En);
    assert_eq!(
        (r.meeting.date.as_str(), r.meeting.date_text.as_str()),
        ("", "2026-02-30")
    );
    assert!(
        r.render(Format::Markdown)
            .contains("- **Date:** 2026-02-30\n")
    );
    let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
    assert!(validator().is_valid(&json));
}

#[test]
fn what_the_facilitator_typed_in_the_record_comes_out_inert() {
    use tavolo_model::record::{Commitment, Record, Synthesis};
    let mut f = fixture();
    let nasty = "<script>alert(1)</script> | **grassetto** # titolo\n---\n=fine";
    f.record = Record {
        syntheses: [(
            "legittimazione".to_string(),
            Synthesis {
                synthesis: nasty.into(),
                ..Synthesis::default()
            },
        )]
        .into(),
        commitments: vec![Commitment {
            id: "k".into(),
            organization: "A | B".into(),
            what: nasty.into(),
            ..Commitment::default()
        }],
        next_steps: nasty.into(),
        ..Record::default()
    };
    let r = build(&f, true, Lang::It);
    let html = r.render(Format::Html);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let md = r.render(Format::Markdown);
    assert!(!md.contains("<script>") && !md.contains("\n---\n") && !md.contains("\n=fine"));
    assert!(md.contains(
        "\\<script\\>alert(1)\\</script\\> \\| \\*\\*grassetto\\*\\* \\# titolo\n\\---\n\\=fine"
    ));
    // The commitment stays one row of five cells.
    let row = md
        .lines()
        .find(|l| l.starts_with("| A \\| B |"))
        .expect("the commitment's row");
    assert_eq!(row.matches(" | ").count(), 4, "{row}");
}

#[test]
fn the_schema_keeps_who_facilitated_out_of_a_public_report() {
    let v = validator();
    let f = fixture();
    let mut public: Value =
        serde_json::from_str(&build(&f, true, Lang::It).render(Format::Json)).unwrap();
    assert!(v.is_valid(&public));
    public["meeting"]["facilitators"] = Value::String(FACILITATORS.into());
    assert!(
        !v.is_valid(&public),
        "a public report naming the facilitators must fail"
    );
    let mut bad_date: Value =
        serde_json::from_str(&build(&f, false, Lang::It).render(Format::Json)).unwrap();
    assert!(v.is_valid(&bad_date));
    bad_date["meeting"]["date"] = Value::String("14/03/2026".into());
    assert!(!v.is_valid(&bad_date));
    let mut with_id = bad_date.clone();
    with_id["meeting"]["date"] = Value::String("2026-03-14".into());
    with_id["commitments"][1]["from_note"] = Value::String("n_c3".into());
    assert!(!v.is_valid(&with_id), "a commitment carries no note id");
}

// --- What a vote means ---------------------------------------------------------

#[test]
fn the_report_says_what_a_vote_means_where_it_gives_votes() {
    let f = fixture();
    let md = build(&f, true, Lang::It).render(Format::Markdown);
    let meaning = "Ogni partecipante aveva 3 voti per ciascuna domanda, da dare alle note o ai gruppi che riteneva prioritari; un voto dato a un gruppo conta per il gruppo nel suo insieme";
    // Once for the views, once for the phases.
    assert_eq!(md.matches(meaning).count(), 2);
    assert!(md.contains(&format!("## Sintesi\n\n{meaning}")));
    assert!(md.contains(&format!("## Dettaglio delle fasi\n\n{meaning}")));
    assert!(
        !md.contains("su questa domanda:"),
        "one budget for all: no ranking repeats it"
    );
    let en = build(&f, true, Lang::En).render(Format::Markdown);
    assert!(en.contains("Each participant had 3 votes per question"));

    // Questions with different budgets: each ranking says its own.
    let mut five = Board::new();
    five.note("a", "anna", None, "uno").dots("a", &["marco"]);
    tavolo_model::ops::set_voting(&mut five.doc, true, Some(5)).unwrap();
    let mut three = Board::new();
    three.note("b", "anna", None, "due").dots("b", &["marco"]);
    let f = small(vec![
        ("perche-noi", five.load()),
        ("nucleo-fondativo", three.load()),
    ]);
    let r = build(&f, true, Lang::It);
    assert_eq!(r.phases[0].questions[0].vote_budget, 5);
    assert_eq!(r.phases[0].questions[1].vote_budget, 3);
    let md = r.render(Format::Markdown);
    assert!(md.contains("un certo numero di voti (indicato sotto ogni classifica)"));
    for n in [5, 3] {
        let line = format!("Voti a disposizione di ciascun partecipante su questa domanda: {n}.");
        assert_eq!(md.matches(&line).count(), 1, "{line}");
        assert_eq!(r.render(Format::Html).matches(&line).count(), 1, "{line}");
    }

    // No votes anywhere: nothing to explain.
    let mut none = Board::new();
    none.note("c", "anna", None, "tre");
    let f = small(vec![("perche-noi", none.load())]);
    let md = build(&f, true, Lang::It).render(Format::Markdown);
    assert!(!md.contains("Ogni partecipante aveva"));
}

// --- The previous meeting -------------------------------------------------

/// The section's heading and its open questions' heading, in a language.
fn previous_headings(lang: Lang) -> [&'static str; 2] {
    match lang {
        Lang::It => [
            "Dal precedente incontro",
            "Domande lasciate dal precedente incontro",
        ],
        Lang::En => [
            "From the previous meeting",
            "Questions the previous meeting left",
        ],
    }
}

#[test]
fn the_second_meeting_reports_the_first_ones_commitments_and_how_they_stand() {
    let f = second_meeting();
    let r = build(&f, true, Lang::It);
    let p = r.previous.as_ref().expect("started from the first meeting");
    assert_eq!(
        p.title,
        "Primo incontro del Tavolo di Negoziazione dell'Opificio"
    );
    assert_eq!(
        (p.date.as_str(), p.date_text.as_str()),
        ("2026-03-14", "14 marzo 2026")
    );
    let orgs: Vec<&str> = p
        .commitments
        .iter()
        .map(|c| c.organization.as_str())
        .collect();
    assert_eq!(orgs, COMMITTED, "the first meeting's order");
    let statuses: Vec<(&str, &str)> = p
        .commitments
        .iter()
        .map(|c| (c.status.id.as_str(), c.status.label.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("done", "fatto"),
            ("in_progress", "in corso"),
            ("open", "da avviare")
        ]
    );
    assert_eq!(p.commitments[1].progress, PROGRESS_NOTE);
    assert!(p.open_questions.starts_with("- Chi coordina il Tavolo"));

    for lang in [Lang::It, Lang::En] {
        let r = build(&f, true, lang);
        let [heading, questions] = previous_headings(lang);
        let md = r.render(Format::Markdown);
        let at = |needle: &str| {
            md.find(needle)
                .unwrap_or_else(|| panic!("{lang:?} lacks {needle:?}"))
        };
        let (meeting, attendance) = match lang {
            Lang::It => ("## Dati dell'incontro\n", "## Partecipazione\n"),
            Lang::En => ("## Meeting details\n", "## Participation\n"),
        };
        let section = at(&format!("## {heading}\n"));
        assert!(at(meeting) < section && section < at(attendance));
        assert!(section < at(&format!("### {questions}\n")));
        let summary = match lang {
            Lang::It => "3 impegni: 1 fatto, 1 in corso, 1 da avviare.",
            Lang::En => "3 commitments: 1 done, 1 in progress, 1 not started.",
        };
        assert!(md.contains(&format!("\n{summary}\n")), "{lang:?}");
        let html = r.render(Format::Html);
        assert!(html.contains("<section class=\"previous\">"));
        assert!(html.contains("<table class=\"previous whole\">"));
        assert!(html.contains(&format!("<h3>{questions}</h3>")));
    }
    // The meeting's data come first; with none, the section opens the report.
    let mut bare = second_meeting();
    bare.record.meeting = Default::default();
    let md = build(&bare, true, Lang::It).render(Format::Markdown);
    assert!(!md.contains("Dati dell'incontro"));
    assert!(
        md.find("## Dal precedente incontro\n").unwrap() < md.find("## Partecipazione\n").unwrap()
    );
}

#[test]
fn the_previous_meeting_is_said_in_whatever_it_left() {
    use tavolo_model::record::{CarriedStatus, Previous};
    let mut f = second_meeting();
    let p: &mut Previous = f.record.previous.as_mut().unwrap();
    p.date = "a metà marzo".into();
    p.open_questions = "  ".into();
    p.commitments.truncate(1);
    p.commitments[0].status = CarriedStatus::Dropped;
    let md = build(&f, true, Lang::It).render(Format::Markdown);
    // A day that is not a date is left out of the sentence.
    assert!(md.contains(
        "\n\nImpegni presi nell'incontro «Primo incontro del Tavolo di Negoziazione dell'Opificio» e a che punto sono.\n"
    ));
    assert!(md.contains("\n1 impegno: 1 non più attuale.\n"), "{md}");
    assert!(!md.contains("Domande lasciate dal precedente incontro"));

    let p = f.record.previous.as_mut().unwrap();
    p.date = String::new();
    p.commitments.clear();
    let r = build(&f, true, Lang::It);
    let md = r.render(Format::Markdown);
    assert!(md.contains(
        "## Dal precedente incontro\n\nL'incontro «Primo incontro del Tavolo di Negoziazione dell'Opificio» non aveva lasciato impegni.\n"
    ));
    assert!(!md.contains("| Stato |"));
    let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
    assert!(schema_errors(&validator(), &json).is_empty());
    assert_eq!(json["previous"]["date"], "");
    assert_eq!(json["previous"]["commitments"], Value::Array(vec![]));
}

#[test]
fn a_session_not_started_from_another_has_no_previous_section() {
    let f = fixture();
    assert!(f.record.previous.is_none());
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            let r = build(&f, public, lang);
            assert!(r.previous.is_none());
            for fmt in [Format::Markdown, Format::Html] {
                let text = r.render(fmt);
                for heading in previous_headings(lang) {
                    assert!(!text.contains(heading), "{lang:?} {fmt:?}: {heading}");
                }
                assert!(!text.contains("class=\"previous"));
            }
            let odt = r.render_odt();
            for heading in previous_headings(lang) {
                assert!(
                    !odt.windows(heading.len()).any(|w| w == heading.as_bytes()),
                    "{lang:?} ODT: {heading}"
                );
            }
            let json: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
            assert!(json["previous"].is_null(), "present, and null");
            assert!(json.as_object().unwrap().contains_key("previous"));
        }
    }
}

#[test]
fn the_second_meetings_json_follows_the_schema_which_knows_the_statuses() {
    let v = validator();
    let f = second_meeting();
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            let json: Value =
                serde_json::from_str(&build(&f, public, lang).render(Format::Json)).unwrap();
            let errors = schema_errors(&v, &json);
            assert!(errors.is_empty(), "schema violations: {errors:#?}");
            assert_eq!(json["previous"]["commitments"].as_array().unwrap().len(), 3);
        }
    }
    let good: Value =
        serde_json::from_str(&build(&f, true, Lang::It).render(Format::Json)).unwrap();
    let mut status = good.clone();
    status["previous"]["commitments"][0]["status"]["id"] = Value::String("fatto".into());
    assert!(!v.is_valid(&status), "a status is one of the stable values");
    let mut id = good.clone();
    id["previous"]["commitments"][0]["id"] = Value::String("c000".into());
    assert!(!v.is_valid(&id), "a carried commitment carries no id");
    let mut invited = good.clone();
    invited["previous"]["invited"] = Value::Array(vec![]);
    assert!(!v.is_valid(&invited), "the invited are not reported");
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("previous");
    assert!(!v.is_valid(&missing), "previous is required, null or not");
}

#[test]
fn the_public_second_meeting_names_nobody_in_any_format_or_language() {
    let mut f = second_meeting();
    assert_eq!(f.record.meeting.facilitators, FACILITATORS, "carried over");
    let (mut never, _) = personal_terms(&f);
    // Carried commitments' ids stay in the session document.
    for id in ["c000", "c001", "c002"] {
        never.push(format!("\u{0}{id}\u{0}"));
    }
    // The organizations the first meeting invited are not reported, and
    // those that committed are named only in the commitments' table.
    let outputs = all_public_outputs(&f);
    assert_absent(&outputs, &never);
    for (what, text) in &outputs {
        if what.ends_with("csv") {
            continue;
        }
        assert!(
            !text.contains("Cooperativa Fenicottero Viola"),
            "the {what} report names an organization that only took part"
        );
        for org in COMMITTED {
            assert!(text.contains(org), "the {what} report lacks {org}");
        }
    }
    f.set_organizations_public(true);
    assert_absent(&all_public_outputs(&f), &never);
    // The facilitator's version is the one that says who facilitated.
    assert!(
        build(&f, false, Lang::It)
            .render(Format::Markdown)
            .contains(FACILITATORS)
    );
}

/// Issue 17: participants as organizations by sector and tier. Only consent
/// lists an organization (one whose people wrote only anonymously must not
/// be pointed at by elimination); the public version groups them like
/// every other table.
#[test]
fn organizations_present_are_those_that_agreed_by_sector_and_tier() {
    let f = fixture();
    let listed = listed_organizations();
    let not_listed: Vec<&str> = PEOPLE
        .iter()
        .map(|p| p.2)
        .filter(|o| !listed.contains(o))
        .collect();
    assert!(listed.len() >= 3 && not_listed.len() >= 2);
    for public in [false, true] {
        for lang in [Lang::It, Lang::En] {
            let r = build(&f, public, lang);
            let groups = &r.attendance.organizations;
            let all: Vec<&str> = groups
                .iter()
                .flat_map(|g| g.organizations.iter().map(String::as_str))
                .collect();
            let mut expected = listed.clone();
            expected.sort();
            let mut got = all.clone();
            got.sort();
            // Each once, however many of its people came (Il Mosaico: two,
            // one of whom agreed).
            assert_eq!(got, expected, "public={public} {lang:?}");
            for o in &not_listed {
                assert!(!all.contains(o), "{o} listed without consent");
            }
            // Everyone who did not agree is counted, not named.
            let unlisted = PEOPLE.iter().filter(|p| !LISTED.contains(&p.0)).count();
            assert_eq!(r.attendance.unlisted, unlisted);
            for g in groups {
                let mut sorted = g.organizations.clone();
                sorted.sort_by_key(|o| o.to_lowercase());
                assert_eq!(g.organizations, sorted, "alphabetical in a group");
            }
            // Which sector and tier each is listed under.
            let under = |org: &str| {
                groups
                    .iter()
                    .find(|g| g.organizations.iter().any(|o| o == org))
                    .map(|g| (g.sector.id.clone(), g.tier.id.clone()))
                    .unwrap()
            };
            let (sector, tier) = under("Comune di Borgo Lontano");
            assert_eq!(sector.as_deref(), Some("public"));
            if public {
                // A tier of one or two people is merged: "tutti i ruoli".
                assert_eq!(tier, None);
                assert!(groups.iter().all(|g| g.tier.id.is_none()));
            } else {
                assert_eq!(tier.as_deref(), Some("founding_core"));
            }
            for fmt in [Format::Markdown, Format::Html] {
                let text = r.render(fmt);
                let heading = if lang == Lang::It {
                    "Organizzazioni presenti"
                } else {
                    "Organizations present"
                };
                assert!(text.contains(heading), "{fmt:?}");
                for o in &listed {
                    assert!(text.contains(o), "{fmt:?} lacks {o}");
                }
            }
        }
    }
}
