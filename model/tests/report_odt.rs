//! The report as an OpenDocument Text file, read back byte by byte: a ZIP
//! whose first entry is the stored `mimetype`, a manifest listing every
//! part, well-formed XML, the HTML page's headings at Writer's outline
//! levels, the record's commitments in a table, note texts as plain text,
//! and a public version that names nobody.
//!
//! `TAVOLO_ODT_DIR=dir cargo test -p tavolo-model --test report_odt` also
//! writes the fixture's reports there (`report.private.odt`,
//! `report.public.odt`, `report.private.en.odt`) for the LibreOffice check
//! in `tests/e2e/libreoffice.test.mjs`.

mod report_fixture;

use report_fixture::{
    COMMITTED, FACILITATORS, HIDDEN_TEXT, PEOPLE, PROGRESS_NOTE, TRICKY, fixture, options,
    second_meeting,
};
use tavolo_model::report::{self, Format, Lang};

/// One entry of the package.
struct Entry {
    name: String,
    method: u16,
    extra_len: u16,
    data: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// CRC-32 (IEEE), bit by bit: independent of the generator's table.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Reads a ZIP of stored entries: the local headers in order, checked
/// against the central directory and their CRC-32.
fn unzip(b: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut offsets = Vec::new();
    let mut at = 0;
    while u32_at(b, at) == 0x0403_4b50 {
        let method = u16_at(b, at + 8);
        let crc = u32_at(b, at + 14);
        let size = u32_at(b, at + 18) as usize;
        assert_eq!(size, u32_at(b, at + 22) as usize, "stored: sizes agree");
        assert_eq!(u16_at(b, at + 6) & 0x08, 0, "no data descriptor");
        let name_len = u16_at(b, at + 26) as usize;
        let extra_len = u16_at(b, at + 28);
        let name = String::from_utf8(b[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra_len as usize;
        let data = b[start..start + size].to_vec();
        assert_eq!(crc32(&data), crc, "{name}: CRC-32");
        offsets.push(at as u32);
        entries.push(Entry {
            name,
            method,
            extra_len,
            data,
        });
        at = start + size;
    }
    // The central directory: one record per entry, same names and offsets.
    let end = b.len() - 22;
    assert_eq!(u32_at(b, end), 0x0605_4b50, "end of central directory");
    assert_eq!(u16_at(b, end + 10) as usize, entries.len());
    let mut cd = u32_at(b, end + 16) as usize;
    assert_eq!(cd, at, "the central directory follows the entries");
    for (e, offset) in entries.iter().zip(&offsets) {
        assert_eq!(u32_at(b, cd), 0x0201_4b50);
        let name_len = u16_at(b, cd + 28) as usize;
        assert_eq!(&b[cd + 46..cd + 46 + name_len], e.name.as_bytes());
        assert_eq!(u32_at(b, cd + 42), *offset, "{}: offset", e.name);
        assert_eq!(
            u32_at(b, cd + 16),
            crc32(&e.data),
            "{}: central CRC",
            e.name
        );
        cd += 46 + name_len + u16_at(b, cd + 30) as usize + u16_at(b, cd + 32) as usize;
    }
    assert_eq!(cd, end);
    entries
}

fn part<'a>(entries: &'a [Entry], name: &str) -> &'a str {
    let e = entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no {name} in the package"));
    std::str::from_utf8(&e.data).unwrap()
}

const TEXT_NS: &str = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
const TABLE_NS: &str = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";

/// The text of an element as Writer shows it: line breaks, tabs and
/// runs of spaces put back.
fn plain(node: roxmltree::Node) -> String {
    let mut out = String::new();
    for d in node.descendants() {
        if d.is_text() {
            out.push_str(d.text().unwrap_or(""));
        } else if d.tag_name().namespace() == Some(TEXT_NS) {
            match d.tag_name().name() {
                "line-break" => out.push('\n'),
                "tab" => out.push('\t'),
                "s" => {
                    let n: usize = d
                        .attribute((TEXT_NS, "c"))
                        .map_or(1, |c| c.parse().unwrap());
                    out.push_str(&" ".repeat(n));
                }
                _ => {}
            }
        }
    }
    out
}

fn decode_html(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The headings of the HTML page below its title, as (ODT outline level,
/// text): `<h2>` is Heading 1, and so on.
fn html_headings(html: &str) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<h") {
        rest = &rest[i + 2..];
        let Some(level) = rest.chars().next().and_then(|c| c.to_digit(10)) else {
            continue;
        };
        if !(2..=5).contains(&level) || !rest[1..].starts_with('>') {
            continue;
        }
        let close = format!("</h{level}>");
        let end = rest.find(&close).unwrap();
        out.push(((level - 1) as u8, decode_html(&rest[2..end])));
        rest = &rest[end..];
    }
    out
}

fn odt(public: bool, lang: Lang) -> Vec<u8> {
    let f = fixture();
    report::build(&f.sources(), &options(public, lang)).render_odt()
}

#[test]
fn the_package_is_an_opendocument_text_file() {
    let bytes = odt(false, Lang::It);
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    // ODF 1.3 part 2, 3.3: `mimetype` first, stored, no extra field, so the
    // media type sits at byte 38 for `file` and its like to find.
    assert_eq!(
        &bytes[38..38 + 39],
        b"application/vnd.oasis.opendocument.text"
    );
    let entries = unzip(&bytes);
    let first = &entries[0];
    assert_eq!(first.name, "mimetype");
    assert_eq!(first.method, 0, "mimetype is stored");
    assert_eq!(first.extra_len, 0);
    assert_eq!(first.data, report::ODT_CONTENT_TYPE.as_bytes());
    assert_eq!(entries[1].name, "META-INF/manifest.xml");

    let manifest = part(&entries, "META-INF/manifest.xml");
    let doc = roxmltree::Document::parse(manifest).expect("the manifest is well-formed");
    let listed: Vec<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "file-entry")
        .filter_map(|n| {
            n.attribute((
                "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
                "full-path",
            ))
        })
        .collect();
    assert_eq!(listed[0], "/");
    for e in &entries[2..] {
        assert!(
            listed.contains(&e.name.as_str()),
            "{} not in the manifest",
            e.name
        );
    }
    assert_eq!(
        listed.len(),
        entries.len() - 1,
        "the manifest lists nothing else"
    );
    for name in ["content.xml", "styles.xml", "meta.xml"] {
        assert!(entries.iter().any(|e| e.name == name), "{name}");
    }
    // Both charts of the fixture (ledger, needs), as SVG pictures.
    let pictures: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name.starts_with("Pictures/"))
        .collect();
    assert_eq!(pictures.len(), 2);
    for e in entries
        .iter()
        .filter(|e| e.name.ends_with(".xml") || e.name.ends_with(".svg"))
    {
        let text = std::str::from_utf8(&e.data).unwrap();
        roxmltree::Document::parse(text)
            .unwrap_or_else(|err| panic!("{} is not well-formed: {err}", e.name));
    }
    let content = part(&entries, "content.xml");
    for p in &pictures {
        assert!(content.contains(&format!("xlink:href=\"{}\"", p.name)));
    }
    // Same report, same bytes.
    assert_eq!(bytes, odt(false, Lang::It));
}

/// Writer's headings of a `content.xml`, as (outline level, text).
fn headings_of(doc: &roxmltree::Document) -> Vec<(u8, String)> {
    doc.descendants()
        .filter(|n| n.has_tag_name((TEXT_NS, "h")))
        .map(|n| {
            let level = n.attribute((TEXT_NS, "outline-level")).unwrap();
            (level.parse().unwrap(), plain(n))
        })
        .collect()
}

/// The text of every table cell of a `content.xml`.
fn cells_of(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name((TABLE_NS, "table-cell")))
        .map(plain)
        .collect()
}

#[test]
fn the_document_has_the_html_pages_headings_tables_and_record() {
    let f = fixture();
    for (public, lang) in [(false, Lang::It), (true, Lang::It), (false, Lang::En)] {
        let r = report::build(&f.sources(), &options(public, lang));
        let entries = unzip(&r.render_odt());
        let content = part(&entries, "content.xml");
        let doc = roxmltree::Document::parse(content).unwrap();
        let headings = headings_of(&doc);
        assert_eq!(
            headings,
            html_headings(&r.render(Format::Html)),
            "{lang:?} public={public}: the headings are the HTML page's"
        );
        let heading_texts: Vec<&str> = headings.iter().map(|(_, t)| t.as_str()).collect();
        if lang == Lang::It {
            for h in [
                "Partecipazione",
                "Dettaglio delle fasi",
                "Impegni",
                "Prossimi passi",
            ] {
                assert!(heading_texts.contains(&h), "{h}: {heading_texts:?}");
            }
        }
        // Every table has a header row that Writer repeats, but the
        // meeting's data (a list of label and value).
        let tables: Vec<roxmltree::Node> = doc
            .descendants()
            .filter(|n| n.has_tag_name((TABLE_NS, "table")))
            .collect();
        assert!(tables.len() > 10);
        let headerless = tables
            .iter()
            .filter(|t| {
                !t.children()
                    .any(|c| c.has_tag_name((TABLE_NS, "table-header-rows")))
            })
            .count();
        assert_eq!(headerless, 1, "only the meeting's data has no header row");
        // The commitments, cell for cell.
        let cells = cells_of(&doc);
        for org in COMMITTED {
            assert!(cells.iter().any(|c| c == org), "{org} in a table cell");
        }
        for c in &r.commitments {
            assert!(cells.contains(&c.what), "{}", c.what);
        }
        // A note full of markup comes back as the very text it was.
        assert!(
            cells.iter().any(|c| c == TRICKY),
            "the tricky note, as written"
        );
        assert!(!content.contains(HIDDEN_TEXT), "hidden notes stay out");
        // Open questions as a bullet list.
        assert!(content.contains("<text:list "));
    }
}

#[test]
fn the_public_odt_names_nobody_and_the_private_one_does() {
    let f = fixture();
    let text_of = |public: bool| -> String {
        let entries = unzip(&report::build(&f.sources(), &options(public, Lang::It)).render_odt());
        entries
            .iter()
            .filter(|e| e.name != "mimetype")
            .map(|e| String::from_utf8(e.data.clone()).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let public = text_of(true);
    for (id, name, ..) in PEOPLE {
        assert!(!public.contains(name), "public ODT names {name}");
        assert!(!public.contains(id), "public ODT carries the id {id}");
    }
    assert!(!public.contains(FACILITATORS));
    for part in FACILITATORS.split(" e ") {
        assert!(!public.contains(part), "public ODT names {part}");
    }
    let private = text_of(false);
    assert!(private.contains(FACILITATORS));
    assert!(PEOPLE.iter().any(|p| private.contains(p.1)));
}

#[test]
fn the_second_meeting_says_what_the_first_left_and_names_nobody() {
    let f = second_meeting();
    for (public, lang) in [(true, Lang::It), (false, Lang::It), (true, Lang::En)] {
        let r = report::build(&f.sources(), &options(public, lang));
        let entries = unzip(&r.render_odt());
        let content = part(&entries, "content.xml");
        let doc = roxmltree::Document::parse(content).unwrap();
        let headings = headings_of(&doc);
        assert_eq!(headings, html_headings(&r.render(Format::Html)));
        let (section, questions) = match lang {
            Lang::It => (
                "Dal precedente incontro",
                "Domande lasciate dal precedente incontro",
            ),
            Lang::En => (
                "From the previous meeting",
                "Questions the previous meeting left",
            ),
        };
        let at = |level: u8, text: &str| {
            headings
                .iter()
                .position(|h| *h == (level, text.to_string()))
                .unwrap_or_else(|| panic!("no heading {text:?}: {headings:?}"))
        };
        assert!(at(1, section) < at(2, questions));
        // Right after the meeting's data, before the participation.
        assert_eq!(at(1, section), 1);
        let cells = cells_of(&doc);
        for org in COMMITTED {
            assert!(cells.iter().any(|c| c == org), "{org} in a table cell");
        }
        assert!(cells.iter().any(|c| c == PROGRESS_NOTE));
        let done = if lang == Lang::It { "fatto" } else { "done" };
        assert!(cells.iter().any(|c| c == done));
        if public {
            for (id, name, ..) in PEOPLE {
                assert!(!content.contains(name) && !content.contains(id));
            }
            for part in FACILITATORS.split(" e ") {
                assert!(!content.contains(part), "public ODT names {part}");
            }
        }
    }
}

#[test]
fn writes_the_fixture_for_libreoffice_when_asked() {
    let Some(dir) = std::env::var_os("TAVOLO_ODT_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, public, lang) in [
        ("report.private.odt", false, Lang::It),
        ("report.public.odt", true, Lang::It),
        ("report.private.en.odt", false, Lang::En),
    ] {
        std::fs::write(dir.join(name), odt(public, lang)).unwrap();
    }
    let second = report::build(&second_meeting().sources(), &options(true, Lang::It));
    std::fs::write(dir.join("report.second.public.odt"), second.render_odt()).unwrap();
}

/// A ledger with many resource types is laid out on a landscape page, so
/// its columns are wide enough for their words (Writer would break them
/// mid-word on a portrait page); the pages after it are portrait again.
#[test]
fn a_wide_ledger_gets_a_landscape_page_of_its_own() {
    let entries = unzip(&odt(true, Lang::It));
    let styles = roxmltree::Document::parse(part(&entries, "styles.xml")).unwrap();
    let layout = |name: &str| {
        styles
            .descendants()
            .find(|n| n.has_tag_name("page-layout") && n.attributes().any(|a| a.value() == name))
            .and_then(|n| {
                n.descendants()
                    .find(|c| c.has_tag_name("page-layout-properties"))
            })
            .map(|p| {
                let get = |k: &str| {
                    p.attributes()
                        .find(|a| a.name() == k)
                        .map(|a| a.value().to_string())
                        .unwrap_or_default()
                };
                (get("page-width"), get("page-height"))
            })
            .unwrap_or_else(|| panic!("no page layout {name}"))
    };
    assert_eq!(layout("A4"), ("21cm".to_string(), "29.7cm".to_string()));
    assert_eq!(layout("A4L"), ("29.7cm".to_string(), "21cm".to_string()));
    let content = part(&entries, "content.xml");
    let to_landscape = content
        .find("text:style-name=\"ToLandscape\"")
        .expect("a landscape page starts");
    let ledger = content.find("Registro dei contributi").expect("the ledger");
    let to_portrait = content
        .find("text:style-name=\"ToPortrait\"")
        .expect("portrait again after it");
    let needs = content
        .find("Bisogni in ordine di voti")
        .expect("the needs");
    assert!(to_landscape < ledger && ledger < to_portrait && to_portrait < needs);
}
