//! The report as CSV: one row per visible note, for spreadsheets.
//!
//! UTF-8 with a byte-order mark (LibreOffice and Excel then read Italian
//! accents correctly instead of guessing a legacy code page), comma
//! separated, RFC 4180 quoting (by the `csv` crate), CRLF line ends.
//! Texts are written as the participants wrote them, except that a cell a
//! spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`,
//! a tab or a carriage return) is prefixed with `'`, so it shows as text
//! and never runs (see [`defuse`]). The JSON report keeps the exact text.

use super::data::*;
use super::i18n;

/// The byte-order mark that tells spreadsheets the file is UTF-8.
pub const BOM: &str = "\u{FEFF}";

/// A cell as a spreadsheet must show it: text that would start a formula
/// (`=1+1`, `+39…`, `-2`, `@SUM(…)`, or after a tab or carriage return) gets
/// a leading `'`, which Calc and Excel display as a text marker.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Writes a header and rows as CSV text, BOM included; every cell defused.
pub fn write(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing into a Vec cannot fail for IO reasons; a record of the wrong
    // length cannot happen either (rows are built from the same columns).
    for record in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        if w.write_record(record.iter().map(|c| defuse(c).into_owned()))
            .is_err()
        {
            break;
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("{BOM}{}", String::from_utf8_lossy(&bytes))
}

pub fn render(r: &Report) -> String {
    let lang = r.lang;
    let with_orgs = r.organizations_shown;
    let with_names = !r.public;
    let mut headers: Vec<String> = [
        "phase", "question", "category", "cluster", "votes", "sector",
    ]
    .iter()
    .map(|k| i18n::t(lang, &format!("column.{k}")))
    .collect();
    if with_orgs {
        headers.push(i18n::t(lang, "column.organization"));
    }
    headers.push(i18n::t(lang, "column.anonymous"));
    if with_names {
        headers.push(i18n::t(lang, "column.author"));
    }
    headers.push(i18n::t(lang, "column.text"));
    let mut rows = Vec::new();
    for p in &r.phases {
        for q in &p.questions {
            let clustered = q
                .clusters
                .iter()
                .flat_map(|c| c.notes.iter().map(move |n| (Some(c.title.as_str()), n)));
            let loose = q.unclustered.iter().map(|n| (None, n));
            for (cluster, n) in clustered.chain(loose) {
                let mut row = vec![
                    p.title.clone(),
                    q.text.clone(),
                    n.category
                        .as_ref()
                        .map(|c| c.label.clone())
                        .unwrap_or_default(),
                    cluster.unwrap_or_default().to_string(),
                    n.votes.to_string(),
                    if n.author.anonymous {
                        String::new()
                    } else {
                        n.author.sector.label.clone()
                    },
                ];
                if with_orgs {
                    row.push(n.author.organization.clone().unwrap_or_default());
                }
                row.push(i18n::yes_no(lang, n.author.anonymous));
                if with_names {
                    row.push(n.author.name.clone().unwrap_or_default());
                }
                row.push(n.text.clone());
                rows.push(row);
            }
        }
    }
    write(&headers, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_quotes_commas_and_newlines_are_quoted_and_lines_end_in_crlf() {
        let out = write(
            &["a".into(), "b".into()],
            &[vec!["x, \"y\"".into(), "riga\nnuova è".into()]],
        );
        assert_eq!(out, "\u{FEFF}a,b\r\n\"x, \"\"y\"\"\",\"riga\nnuova è\"\r\n");
    }

    #[test]
    fn cells_that_would_be_formulas_are_shown_as_text() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+39 333",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(defuse(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in ["La biblioteca", "3", "", "'già citato", "a=b"] {
            assert_eq!(defuse(fine), fine);
        }
        let out = write(
            &["testo".into()],
            &[vec!["=1+1".into()], vec!["normale".into()]],
        );
        assert!(out.contains("'=1+1"), "{out}");
        assert!(out.contains("normale"), "{out}");
    }
}
