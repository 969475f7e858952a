//! Golden files for every format of the report, private and public, and for
//! the attendance annex and a participant's own notes, built from one fixture
//! session (see `report_fixture`); and the public report of the second
//! session, started from the first (`report.second.*`).
//!
//! `UPDATE_GOLDEN=1 cargo test -p tavolo-model --test report_golden`
//! rewrites `model/tests/golden/`; otherwise each output must equal its file.

mod report_fixture;

use report_fixture::{GENERATED_MS, fixture, options, pid, second_meeting};
use std::path::PathBuf;
use tavolo_model::report::{self, Format, Lang};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `actual` with the golden file `name`, or rewrites it when
/// `UPDATE_GOLDEN` is set. Returns a description of the mismatch.
fn check(name: &str, actual: &str) -> Option<String> {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return None;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(e) => e,
        Err(e) => return Some(format!("{name}: cannot read {} ({e})", path.display())),
    };
    if expected == actual {
        return None;
    }
    Some(first_difference(name, &expected, actual))
}

/// A readable hint: the first line that differs, with its neighbours.
fn first_difference(name: &str, expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let show = |lines: &[&str]| -> String {
        let from = at.saturating_sub(2);
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(5)
            .map(|(i, l)| format!("  {:>5} | {l}\n", i + 1))
            .collect()
    };
    format!(
        "{name}: differs from line {} ({} lines expected, {} actual)\n--- expected\n{}+++ actual\n{}",
        at + 1,
        e.len(),
        a.len(),
        show(&e),
        show(&a)
    )
}

const FORMATS: [Format; 4] = [Format::Markdown, Format::Csv, Format::Json, Format::Html];

#[test]
fn every_format_matches_its_golden_file() {
    let mut f = fixture();
    let mut outputs: Vec<(String, String)> = Vec::new();
    for public in [false, true] {
        let r = report::build(&f.sources(), &options(public, Lang::It));
        let version = if public { "public" } else { "private" };
        for fmt in FORMATS {
            outputs.push((
                format!("report.{version}.{}", fmt.extension()),
                r.render(fmt),
            ));
        }
    }
    let en = report::build(&f.sources(), &options(false, Lang::En));
    outputs.push(("report.private.en.md".into(), en.render(Format::Markdown)));
    for fmt in FORMATS {
        let annex = report::attendance_annex(&f.sources(), Lang::It, GENERATED_MS, fmt);
        outputs.push((format!("annex.{}", fmt.extension()), annex));
    }
    for fmt in [Format::Markdown, Format::Csv] {
        let mine = report::participant_notes(
            &f.sources(),
            pid("zeb").as_str(),
            Lang::It,
            GENERATED_MS,
            fmt,
        );
        outputs.push((format!("participant_notes.{}", fmt.extension()), mine));
    }
    f.set_organizations_public(true);
    let orgs = report::build(&f.sources(), &options(true, Lang::It));
    outputs.push((
        "report.public_orgs.md".into(),
        orgs.render(Format::Markdown),
    ));
    // The session started from the fixture's: what the first meeting left.
    let second = second_meeting();
    let public = report::build(&second.sources(), &options(true, Lang::It));
    for fmt in [Format::Markdown, Format::Json, Format::Html] {
        outputs.push((
            format!("report.second.public.{}", fmt.extension()),
            public.render(fmt),
        ));
    }
    let en = report::build(&second.sources(), &options(true, Lang::En));
    outputs.push((
        "report.second.public.en.md".into(),
        en.render(Format::Markdown),
    ));

    let failures: Vec<String> = outputs
        .iter()
        .filter_map(|(name, out)| check(name, out))
        .collect();
    assert!(
        failures.is_empty(),
        "{} golden file(s) differ; if the change is intended, run \
         UPDATE_GOLDEN=1 cargo test -p tavolo-model --test report_golden and review the diff\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn reports_are_deterministic() {
    let f = fixture();
    let again = fixture();
    for public in [false, true] {
        let a = report::build(&f.sources(), &options(public, Lang::It));
        let b = report::build(&again.sources(), &options(public, Lang::It));
        for fmt in FORMATS {
            assert_eq!(a.render(fmt), b.render(fmt));
        }
    }
}
