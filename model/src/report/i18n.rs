//! The report's words: one TOML catalogue per language, compiled in.
//!
//! Catalogues are parsed once (a `OnceLock` each) into flat `section.key`
//! maps. A missing key never panics: it comes out as the key itself, which a
//! test (`both_catalogues_have_the_same_keys_and_placeholders`) keeps from
//! ever happening in a release.

use super::Lang;
use crate::ids::{Attendance, Sector, Tier};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const IT_SOURCE: &str = include_str!("../../i18n/report.it.toml");
const EN_SOURCE: &str = include_str!("../../i18n/report.en.toml");

type Catalogue = BTreeMap<String, String>;

/// Flattens a TOML catalogue into `section.key → text`. A catalogue that does
/// not parse yields an empty map (every lookup then shows its key), which the
/// unit tests below turn into a failure.
fn parse(source: &str) -> Catalogue {
    let mut out = Catalogue::new();
    if let Ok(table) = source.parse::<toml::Table>() {
        flatten("", &toml::Value::Table(table), &mut out);
    }
    out
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Catalogue) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn catalogue(lang: Lang) -> &'static Catalogue {
    static IT: OnceLock<Catalogue> = OnceLock::new();
    static EN: OnceLock<Catalogue> = OnceLock::new();
    match lang {
        Lang::It => IT.get_or_init(|| parse(IT_SOURCE)),
        Lang::En => EN.get_or_init(|| parse(EN_SOURCE)),
    }
}

/// The text for `key`, or the key itself when the catalogue lacks it.
pub fn t(lang: Lang, key: &str) -> String {
    catalogue(lang)
        .get(key)
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// [`t`] with `{name}` placeholders filled in.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(lang, key);
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// "1 voto" / "3 voti".
pub fn votes(lang: Lang, count: i64) -> String {
    if count == 1 {
        t(lang, "report.one_vote")
    } else {
        tf(lang, "report.votes_count", &[("count", &count.to_string())])
    }
}

pub fn yes_no(lang: Lang, yes: bool) -> String {
    t(lang, if yes { "report.yes" } else { "report.no" })
}

pub fn sector(lang: Lang, s: Option<Sector>) -> String {
    match s {
        Some(s) => t(lang, &format!("sector.{}", s.as_str())),
        None => t(lang, "report.not_indicated"),
    }
}

pub fn tier(lang: Lang, tier: Option<Tier>) -> String {
    match tier {
        Some(x) => t(lang, &format!("tier.{}", x.as_str())),
        None => t(lang, "report.not_indicated"),
    }
}

pub fn attendance(lang: Lang, a: Option<Attendance>) -> String {
    match a {
        Some(a) => t(lang, &format!("presence.{}", a.as_str())),
        None => t(lang, "report.not_indicated"),
    }
}

/// How a view cites a question: "D2.1" (Domanda 2.1) / "Q2.1".
pub fn question_ref(lang: Lang, number: &str) -> String {
    tf(lang, "question.ref", &[("number", number)])
}

/// The name of month `m` (1–12).
pub fn month(lang: Lang, m: u32) -> String {
    t(lang, &format!("month.{m}"))
}

/// Who wrote a note, in words, from the most to the least specific and
/// without parentheses (it often stands inside some): "Anna Rossi, Comune,
/// pubblico", "anonimo" (nothing more), or just the sector.
pub fn author(lang: Lang, a: &super::NoteAuthor) -> String {
    let sector = a.sector.label.as_str();
    if a.anonymous {
        // Nothing more: the composer promises neither organization nor sector.
        return t(lang, "report.anonymous");
    }
    [a.name.as_deref(), a.organization.as_deref(), Some(sector)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn both_catalogues_parse_and_are_not_empty() {
        assert!(parse(IT_SOURCE).len() > 50, "report.it.toml did not parse");
        assert!(parse(EN_SOURCE).len() > 50, "report.en.toml did not parse");
    }

    #[test]
    fn both_catalogues_have_the_same_keys_and_placeholders() {
        let it = parse(IT_SOURCE);
        let en = parse(EN_SOURCE);
        let it_keys: BTreeSet<_> = it.keys().collect();
        let en_keys: BTreeSet<_> = en.keys().collect();
        assert_eq!(it_keys, en_keys, "the catalogues list different keys");
        for (key, it_text) in &it {
            assert_eq!(
                placeholders(it_text),
                placeholders(&en[key]),
                "placeholders differ for {key}"
            );
        }
    }

    #[test]
    fn vocabulary_labels_are_italian_by_default() {
        assert_eq!(
            sector(Lang::It, Some(Sector::SocialPrivate)),
            "privato sociale"
        );
        assert_eq!(tier(Lang::It, Some(Tier::FoundingCore)), "nucleo fondativo");
        assert_eq!(attendance(Lang::It, Some(Attendance::Remote)), "da remoto");
        assert_eq!(sector(Lang::En, Some(Sector::Community)), "community");
        assert_eq!(votes(Lang::It, 1), "1 voto");
        assert_eq!(votes(Lang::It, 2), "2 voti");
    }

    #[test]
    fn an_author_is_named_without_parentheses() {
        let sector = crate::report::Labelled {
            id: Some("public".into()),
            label: "pubblico".into(),
        };
        let who = |name: Option<&str>, org: Option<&str>, anonymous| crate::report::NoteAuthor {
            sector: sector.clone(),
            anonymous,
            organization: org.map(String::from),
            name: name.map(String::from),
        };
        let comune = Some("Comune di Santarcangelo di Romagna");
        assert_eq!(
            author(Lang::It, &who(Some("Giulia Bianchi"), comune, false)),
            "Giulia Bianchi, Comune di Santarcangelo di Romagna, pubblico"
        );
        assert_eq!(
            author(Lang::It, &who(Some("Giulia Bianchi"), None, false)),
            "Giulia Bianchi, pubblico"
        );
        assert_eq!(
            author(Lang::It, &who(None, comune, false)),
            "Comune di Santarcangelo di Romagna, pubblico"
        );
        assert_eq!(author(Lang::It, &who(None, None, false)), "pubblico");
        assert_eq!(author(Lang::En, &who(None, None, true)), "anonymous");
    }

    #[test]
    fn a_missing_key_shows_itself_instead_of_panicking() {
        assert_eq!(t(Lang::It, "nope.nothing"), "nope.nothing");
    }
}
