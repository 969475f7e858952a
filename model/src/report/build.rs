//! From the documents to [`Report`]: where each visible note is, what the
//! dots say, the thematic views, and — in one place, [`Ctx::author`] — what
//! may be said about who wrote what.

use super::data::*;
use super::{Lang, ReportOptions, Sources, date, i18n};
use crate::board::{self, RankedKind};
use crate::ids::{Attendance, Sector, Tier};
use crate::schema::{Note, Participant, Phase, Question, QuestionDoc};
use crate::template::NoteKind;
use std::collections::{BTreeMap, HashSet};

/// What every part of the build needs to know: the sources and the rules of
/// this version of the report.
pub(super) struct Ctx<'a> {
    pub src: &'a Sources<'a>,
    pub lang: Lang,
    pub public: bool,
    /// Organizations of non-anonymous notes may be shown.
    pub orgs: bool,
    /// The sectors, and the tiers within them, the public version may
    /// show (see [`shown_groups`]); the private version shows all.
    shown_sectors: HashSet<Sector>,
    shown_tiers: HashSet<(Sector, Tier)>,
}

/// The public version never shows a group of fewer people than this: a
/// sector of one, or a sector and tier of two, would point at who wrote.
pub const MIN_GROUP: usize = 3;

/// The people counted: everyone who joined and was not removed.
fn present<'a>(src: &'a Sources<'a>) -> Vec<&'a Participant> {
    src.roster
        .participants
        .values()
        .filter(|p| !p.removed)
        .collect()
}

/// Which groups (of people, by size) a public table may show on their own:
/// those of at least [`MIN_GROUP`]; the rest go together into "others",
/// and while "others" would still hold 1 or 2 people the smallest shown
/// group joins it (else the one small group could be read off by
/// subtraction).
pub fn shown_groups<K: Copy + Eq + std::hash::Hash + Ord>(sizes: &[(K, usize)]) -> HashSet<K> {
    let mut shown: Vec<(K, usize)> = sizes
        .iter()
        .copied()
        .filter(|(_, n)| *n >= MIN_GROUP)
        .collect();
    let mut others: usize = sizes
        .iter()
        .filter(|(_, n)| (1..MIN_GROUP).contains(n))
        .map(|(_, n)| n)
        .sum();
    shown.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), *k));
    while (1..MIN_GROUP).contains(&others) {
        let Some((_, n)) = shown.pop() else { break };
        others += n;
    }
    shown.into_iter().map(|(k, _)| k).collect()
}

impl<'a> Ctx<'a> {
    pub fn new(src: &'a Sources<'a>, opts: &ReportOptions) -> Self {
        let people = present(src);
        let mut by_sector: BTreeMap<Sector, usize> = BTreeMap::new();
        let mut by_tier: BTreeMap<(Sector, Tier), usize> = BTreeMap::new();
        for p in &people {
            if let Some(s) = p.sector() {
                *by_sector.entry(s).or_default() += 1;
                if let Some(t) = p.tier() {
                    *by_tier.entry((s, t)).or_default() += 1;
                }
            }
        }
        let shown_sectors = shown_groups(&by_sector.into_iter().collect::<Vec<_>>());
        let mut shown_tiers = HashSet::new();
        for s in &shown_sectors {
            let tiers: Vec<((Sector, Tier), usize)> = by_tier
                .iter()
                .filter(|((x, _), _)| x == s)
                .map(|(k, n)| (*k, *n))
                .collect();
            shown_tiers.extend(shown_groups(&tiers));
        }
        Self {
            src,
            lang: opts.lang,
            public: opts.public,
            orgs: !opts.public || src.session.organizations_public,
            shown_sectors,
            shown_tiers,
        }
    }

    /// The sector a report may show for a person: in the public version a
    /// small group's sector becomes "others" (`None`).
    fn shown_sector(&self, p: Option<&Participant>) -> Option<Sector> {
        let s = p.and_then(Participant::sector)?;
        (!self.public || self.shown_sectors.contains(&s)).then_some(s)
    }

    /// The tier a report may show for a person: in the public version only
    /// within a shown sector whose tiers are all big enough.
    fn shown_tier(&self, p: Option<&Participant>) -> Option<Tier> {
        let t = p.and_then(Participant::tier)?;
        if !self.public {
            return Some(t);
        }
        let s = self.shown_sector(p)?;
        self.shown_tiers.contains(&(s, t)).then_some(t)
    }

    /// A sector's label: in the public version "others" stands for the
    /// merged small groups.
    fn sector_labelled(&self, s: Option<Sector>) -> Labelled {
        match (s, self.public) {
            (None, true) => Labelled {
                id: None,
                label: i18n::t(self.lang, "report.others"),
            },
            _ => sector_label(self.lang, s),
        }
    }

    fn participant(&self, id: &str) -> Option<&'a Participant> {
        self.src.roster.participants.get(id)
    }

    /// Who wrote a note, as far as any report may say: nobody for an
    /// anonymous note (the composer promises that it shows neither the
    /// organization nor the sector), even in a board written before
    /// anonymous notes stopped carrying their author.
    fn writer(&self, note: &Note) -> Option<&'a Participant> {
        (!note.anonymous)
            .then(|| self.participant(&note.author))
            .flatten()
    }

    /// The one place that decides what a report says about a note's author
    /// (see the privacy rules in the module documentation).
    pub fn author(&self, note: &Note) -> NoteAuthor {
        let p = self.writer(note);
        let disclosed = p.filter(|_| !note.anonymous);
        NoteAuthor {
            sector: self.sector_labelled(self.shown_sector(p)),
            anonymous: note.anonymous,
            organization: disclosed
                .filter(|_| self.orgs)
                .map(|p| p.organization.trim().to_string())
                .filter(|o| !o.is_empty()),
            name: disclosed
                .filter(|_| !self.public)
                .map(|p| p.name.trim().to_string())
                .filter(|n| !n.is_empty()),
        }
    }
}

pub fn sector_label(lang: Lang, s: Option<Sector>) -> Labelled {
    Labelled {
        id: s.map(|s| s.as_str().to_string()),
        label: i18n::sector(lang, s),
    }
}

fn tier_label(lang: Lang, t: Option<Tier>) -> Labelled {
    Labelled {
        id: t.map(|t| t.as_str().to_string()),
        label: i18n::tier(lang, t),
    }
}

/// Sorting position of a sector: the contract's order, unknown last.
fn sector_rank(s: Option<Sector>) -> usize {
    s.and_then(|s| Sector::ALL.iter().position(|x| *x == s))
        .unwrap_or(Sector::ALL.len())
}

fn tier_rank(t: Option<Tier>) -> usize {
    t.and_then(|t| Tier::ALL.iter().position(|x| *x == t))
        .unwrap_or(Tier::ALL.len())
}

/// A visible note of a question with everything the views need.
struct Seen<'a> {
    id: &'a str,
    note: &'a Note,
    votes: i64,
    /// The live cluster it is in (id, title).
    cluster: Option<(String, String)>,
    category: Option<Labelled>,
}

/// One question with its document (empty when the document is missing).
struct Asked<'a> {
    question: &'a Question,
    /// "2.1": phase 2 of the session, its question 1.
    number: String,
    kind: Option<NoteKind>,
    doc: &'a QuestionDoc,
    seen: Vec<Seen<'a>>,
}

pub(super) fn category_of(q: &Question, note: &Note) -> Option<Labelled> {
    let id = note.category.as_deref()?;
    q.categories.iter().find(|c| c.id == id).map(|c| Labelled {
        id: Some(c.id.clone()),
        label: c.label.clone(),
    })
}

/// The live group a note is in, with its title.
pub(super) fn place_of(doc: &QuestionDoc, note_id: &str) -> Option<(String, String)> {
    board::note_place(doc, note_id).map(|c| {
        let title = doc.clusters.get(&c).map(|c| c.title.clone());
        (c, title.unwrap_or_default())
    })
}

/// Visible notes in creation order; hidden (moderated) ones are left out
/// here, so no later step can show them.
fn seen_notes<'a>(q: &Question, doc: &'a QuestionDoc) -> Vec<Seen<'a>> {
    doc.notes_in_order()
        .into_iter()
        .filter(|(_, n)| !n.hidden)
        .map(|(id, note)| Seen {
            id,
            note,
            votes: doc.vote_total(id),
            cluster: place_of(doc, id),
            category: category_of(q, note),
        })
        .collect()
}

fn asked<'a>(src: &'a Sources<'a>, empty: &'a QuestionDoc) -> Vec<(&'a Phase, Asked<'a>)> {
    src.session
        .phases
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.questions
                .iter()
                .enumerate()
                .map(move |(j, q)| (p, format!("{}.{}", i + 1, j + 1), q))
        })
        .map(|(p, number, q)| {
            let doc = src.questions.get(&q.doc_url).unwrap_or(empty);
            let asked = Asked {
                question: q,
                number,
                kind: NoteKind::parse(&q.note_kind),
                doc,
                seen: seen_notes(q, doc),
            };
            (p, asked)
        })
        .collect()
}

pub fn build(src: &Sources, opts: &ReportOptions) -> Report {
    let ctx = Ctx::new(src, opts);
    let empty = QuestionDoc::default();
    let all = asked(src, &empty);
    let of_kind = |k: NoteKind| -> Vec<&Asked> {
        all.iter()
            .map(|(_, a)| a)
            .filter(|a| a.kind == Some(k))
            .collect()
    };
    Report {
        schema_version: SCHEMA_VERSION,
        public: opts.public,
        organizations_shown: ctx.orgs,
        lang: opts.lang,
        generated_at: date::iso(opts.generated_at_ms),
        generated_at_text: date::long(opts.lang, opts.generated_at_ms),
        session: SessionInfo {
            title: src.session.title.clone(),
            template: src.session.template.clone(),
        },
        meeting: meeting(&ctx),
        previous: src.record.previous.as_ref().map(|p| previous(&ctx, p)),
        attendance: attendance_summary(&ctx),
        raw_material: non_empty(of_kind(NoteKind::Resource)).map(|q| raw_material(&ctx, &q)),
        ledger: non_empty(of_kind(NoteKind::Pledge)).map(|q| ledger(&ctx, &q)),
        needs: non_empty(of_kind(NoteKind::Need)).map(|q| needs(&q)),
        expectations: non_empty(of_kind(NoteKind::Expectation)).map(|q| expectations(&ctx, &q)),
        phases: phases(&ctx, &all),
        commitments: src
            .record
            .commitments
            .iter()
            .filter(|c| !c.what.trim().is_empty())
            .map(|c| CommitmentEntry {
                organization: c.organization.trim().to_string(),
                what: c.what.trim().to_string(),
                by_when: c.by_when.trim().to_string(),
                condition: c.condition.trim().to_string(),
                contact_role: c.contact_role.trim().to_string(),
            })
            .collect(),
        next_steps: src.record.next_steps.trim().to_string(),
        open_questions: src.record.open_questions.trim().to_string(),
    }
}

/// The meeting's data as this version may show it: the facilitators are
/// people, named only in the facilitator's version.
fn meeting(ctx: &Ctx) -> MeetingInfo {
    let m = &ctx.src.record.meeting;
    let (date, date_text) = day(ctx.lang, &m.date);
    MeetingInfo {
        title: m.title.trim().to_string(),
        number: m.number.trim().to_string(),
        date,
        date_text,
        place: m.place.trim().to_string(),
        start: m.start.trim().to_string(),
        end: m.end.trim().to_string(),
        responsible: m.responsible.trim().to_string(),
        facilitators: (!ctx.public).then(|| m.facilitators.trim().to_string()),
        process: process(ctx),
    }
}

/// The meeting's process in a paragraph, once the facilitator has started
/// the record (a session with no meeting data has no resoconto header).
fn process(ctx: &Ctx) -> String {
    let m = &ctx.src.record.meeting;
    let filled = [
        &m.title,
        &m.number,
        &m.date,
        &m.place,
        &m.start,
        &m.end,
        &m.responsible,
        &m.facilitators,
    ]
    .iter()
    .any(|v| !v.trim().is_empty());
    if !filled {
        return String::new();
    }
    let phases: Vec<String> = ctx
        .src
        .session
        .phases
        .iter()
        .map(|p| match p.minutes {
            Some(min) => i18n::tf(
                ctx.lang,
                "meeting.phase_minutes",
                &[("title", &p.title), ("minutes", &min.to_string())],
            ),
            None => p.title.clone(),
        })
        .collect();
    i18n::tf(
        ctx.lang,
        "meeting.process_text",
        &[
            ("count", &phases.len().to_string()),
            ("phases", &phases.join("; ")),
        ],
    )
}

/// A calendar date of the record as (`YYYY-MM-DD` or empty, text for
/// people): what was written when it is not a date.
fn day(lang: Lang, written: &str) -> (String, String) {
    let written = written.trim();
    match date::day(lang, written) {
        Some(text) => (written.to_string(), text),
        None => (String::new(), written.to_string()),
    }
}

/// What the previous meeting left: its commitments (those with something
/// committed to) with how they are going, and its open questions.
fn previous(ctx: &Ctx, p: &crate::record::Previous) -> PreviousReport {
    let (date, date_text) = day(ctx.lang, &p.date);
    PreviousReport {
        title: p.title.trim().to_string(),
        date,
        date_text,
        commitments: p
            .commitments
            .iter()
            .filter(|c| !c.what.trim().is_empty())
            .map(|c| CarriedEntry {
                organization: c.organization.trim().to_string(),
                what: c.what.trim().to_string(),
                by_when: c.by_when.trim().to_string(),
                condition: c.condition.trim().to_string(),
                contact_role: c.contact_role.trim().to_string(),
                status: CarriedStatusLabel {
                    id: c.status,
                    label: i18n::t(ctx.lang, &format!("carried.{}", c.status.as_str())),
                },
                progress: c.progress.trim().to_string(),
            })
            .collect(),
        open_questions: p.open_questions.trim().to_string(),
    }
}

/// What the table concluded on a phase, when something was written.
fn conclusion(ctx: &Ctx, phase_id: &str) -> Option<PhaseConclusion> {
    let s = ctx.src.record.syntheses.get(phase_id)?;
    let c = PhaseConclusion {
        synthesis: s.synthesis.trim().to_string(),
        convergences: s.convergences.trim().to_string(),
        disagreements: s.disagreements.trim().to_string(),
        handling: s.handling.trim().to_string(),
    };
    let written = [&c.synthesis, &c.convergences, &c.disagreements, &c.handling]
        .iter()
        .any(|t| !t.is_empty());
    written.then_some(c)
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn phases(ctx: &Ctx, all: &[(&Phase, Asked)]) -> Vec<PhaseReport> {
    ctx.src
        .session
        .phases
        .iter()
        .map(|p| PhaseReport {
            id: p.id.clone(),
            title: p.title.clone(),
            goal: p.goal.clone(),
            minutes: p.minutes,
            conclusion: conclusion(ctx, &p.id),
            questions: all
                .iter()
                .filter(|(ph, _)| ph.id == p.id)
                .map(|(_, a)| question_report(ctx, a))
                .collect(),
        })
        .collect()
}

fn note_entry(ctx: &Ctx, s: &Seen) -> NoteEntry {
    NoteEntry {
        text: s.note.text.clone(),
        category: s.category.clone(),
        votes: s.votes,
        author: ctx.author(s.note),
    }
}

/// Live clusters that hold at least one visible note, with the ranking's
/// totals, in ranking order. A cluster left with only hidden notes is not
/// shown: its title may echo what the facilitator hid.
fn visible_ranking(a: &Asked) -> Vec<(board::Ranked, String, usize)> {
    let in_cluster = |id: &str| {
        a.seen
            .iter()
            .filter(|s| s.cluster.as_ref().is_some_and(|(c, _)| c == id))
            .count()
    };
    board::ranking(a.doc)
        .into_iter()
        .filter_map(|r| match r.kind {
            RankedKind::Cluster => {
                let n = in_cluster(&r.id);
                let title = a.doc.clusters.get(&r.id)?.title.clone();
                (n > 0).then_some((r, title, n))
            }
            RankedKind::Note => {
                let text = a.doc.notes.get(&r.id)?.text.clone();
                Some((r, text, 1))
            }
        })
        .collect()
}

fn question_report(ctx: &Ctx, a: &Asked) -> QuestionReport {
    let ranked = visible_ranking(a);
    let clusters = ranked
        .iter()
        .filter(|(r, _, _)| r.kind == RankedKind::Cluster)
        .map(|(r, title, _)| ClusterEntry {
            title: title.clone(),
            votes: r.votes,
            notes: a
                .seen
                .iter()
                .filter(|s| s.cluster.as_ref().is_some_and(|(c, _)| *c == r.id))
                .map(|s| note_entry(ctx, s))
                .collect(),
        })
        .collect();
    QuestionReport {
        id: a.question.id.clone(),
        number: a.number.clone(),
        text: a.question.text.clone(),
        note_kind: a.question.note_kind.clone(),
        categories: a
            .question
            .categories
            .iter()
            .map(|c| Labelled {
                id: Some(c.id.clone()),
                label: c.label.clone(),
            })
            .collect(),
        note_count: a.seen.len(),
        vote_budget: a.doc.voting.budget.unwrap_or(ctx.src.session.vote_budget),
        clusters,
        unclustered: a
            .seen
            .iter()
            .filter(|s| s.cluster.is_none())
            .map(|s| note_entry(ctx, s))
            .collect(),
        ranking: ranked
            .into_iter()
            .map(|(r, label, notes)| RankedItem {
                kind: item_kind(r.kind),
                label,
                votes: r.votes,
                notes,
            })
            .collect(),
    }
}

fn item_kind(k: RankedKind) -> ItemKind {
    match k {
        RankedKind::Cluster => ItemKind::Cluster,
        RankedKind::Note => ItemKind::Note,
    }
}

fn view_note(ctx: &Ctx, a: &Asked, s: &Seen) -> ViewNote {
    ViewNote {
        text: s.note.text.clone(),
        votes: s.votes,
        cluster: s.cluster.as_ref().map(|(_, t)| t.clone()),
        question_id: a.question.id.clone(),
        question_number: a.number.clone(),
        question: a.question.text.clone(),
        author: ctx.author(s.note),
    }
}

/// Category ids of several questions, each once, in the order they first
/// appear (questions of one kind usually share them).
fn union_categories(questions: &[&Asked]) -> Vec<Labelled> {
    let mut out: Vec<Labelled> = Vec::new();
    for c in questions.iter().flat_map(|a| &a.question.categories) {
        if !out.iter().any(|l| l.id.as_deref() == Some(c.id.as_str())) {
            out.push(Labelled {
                id: Some(c.id.clone()),
                label: c.label.clone(),
            });
        }
    }
    out
}

fn uncategorized(lang: Lang) -> Labelled {
    Labelled {
        id: None,
        label: i18n::t(lang, "report.uncategorized"),
    }
}

fn raw_material(ctx: &Ctx, questions: &[&Asked]) -> RawMaterialMap {
    let mut categories: Vec<RawMaterialCategory> = union_categories(questions)
        .into_iter()
        .chain([uncategorized(ctx.lang)])
        .map(|category| RawMaterialCategory {
            category,
            notes: Vec::new(),
        })
        .collect();
    for a in questions {
        for s in &a.seen {
            let id = s.category.as_ref().and_then(|c| c.id.clone());
            if let Some(slot) = categories.iter_mut().find(|c| c.category.id == id) {
                slot.notes.push(view_note(ctx, a, s));
            }
        }
    }
    for c in &mut categories {
        c.notes.sort_by_key(|n| std::cmp::Reverse(n.votes));
    }
    // "Senza categoria" only when something is in it.
    categories.retain(|c| c.category.id.is_some() || !c.notes.is_empty());
    RawMaterialMap { categories }
}

/// Ledger rows sort by sector, then named rows by tier and organization,
/// then the sector's anonymous row.
type RowKey = (usize, bool, usize, String, String);

fn ledger(ctx: &Ctx, questions: &[&Asked]) -> Ledger {
    let mut types = union_categories(questions);
    let has_loose = questions
        .iter()
        .flat_map(|a| &a.seen)
        .any(|s| s.category.is_none());
    if has_loose {
        types.push(uncategorized(ctx.lang));
    }
    let mut rows: BTreeMap<RowKey, LedgerRow> = BTreeMap::new();
    for s in questions.iter().flat_map(|a| &a.seen) {
        let (key, blank) = ledger_row_for(ctx, s.note, types.len());
        let row = rows.entry(key).or_insert(blank);
        let id = s.category.as_ref().and_then(|c| c.id.clone());
        if let Some(col) = types.iter().position(|t| t.id == id)
            && let Some(cell) = row.cells.get_mut(col)
        {
            cell.count += 1;
            cell.texts.push(s.note.text.clone());
            row.total += 1;
        }
    }
    Ledger {
        resource_types: types,
        rows: rows.into_values().collect(),
    }
}

/// The row a pledge belongs to, and that row empty. Anonymous pledges go to
/// their sector's anonymous row (their tier and organization stay unsaid);
/// without organizations the rows are sector × tier.
fn ledger_row_for(ctx: &Ctx, note: &Note, columns: usize) -> (RowKey, LedgerRow) {
    let lang = ctx.lang;
    let p = ctx.writer(note);
    let sector = ctx.shown_sector(p);
    let cells = vec![
        LedgerCell {
            count: 0,
            texts: Vec::new()
        };
        columns
    ];
    let sector_l = ctx.sector_labelled(sector);
    if note.anonymous {
        let label = i18n::t(lang, "ledger.anonymous_row");
        let key = (sector_rank(sector), true, 0, String::new(), String::new());
        let row = LedgerRow {
            sector: Labelled {
                id: None,
                label: i18n::t(lang, "report.anonymous"),
            },
            tier: None,
            organization: None,
            anonymous: true,
            label,
            cells,
            total: 0,
        };
        return (key, row);
    }
    let tier = ctx.shown_tier(p);
    // A tier merged away leaves the row at the sector's level.
    let merged_tier = ctx.public && tier.is_none();
    let tier_l = if merged_tier {
        Labelled {
            id: None,
            label: i18n::t(lang, "report.all_tiers"),
        }
    } else {
        tier_label(lang, tier)
    };
    let organization = if ctx.orgs {
        let o = p
            .map(|p| p.organization.trim().to_string())
            .unwrap_or_default();
        Some(if o.is_empty() {
            i18n::t(lang, "report.not_indicated")
        } else {
            o
        })
    } else {
        None
    };
    let label = match &organization {
        Some(o) => o.clone(),
        None if merged_tier => sector_l.label.clone(),
        None => format!("{}, {}", sector_l.label, tier_l.label),
    };
    let org = organization.clone().unwrap_or_default();
    let key = (
        sector_rank(sector),
        false,
        tier_rank(tier),
        org.to_lowercase(),
        org,
    );
    let row = LedgerRow {
        sector: sector_l,
        tier: Some(tier_l),
        organization,
        anonymous: false,
        label,
        cells,
        total: 0,
    };
    (key, row)
}

/// Every need question's ranked items merged, most votes first; ties keep
/// the template's question order, then each question's own ranking.
fn needs(questions: &[&Asked]) -> Vec<NeedItem> {
    let mut out: Vec<NeedItem> = Vec::new();
    for a in questions {
        for (r, label, notes) in visible_ranking(a) {
            out.push(NeedItem {
                kind: item_kind(r.kind),
                label,
                votes: r.votes,
                notes,
                question_id: a.question.id.clone(),
                question_number: a.number.clone(),
                question: a.question.text.clone(),
                categories: item_categories(a, &r),
            });
        }
    }
    out.sort_by_key(|n| std::cmp::Reverse(n.votes));
    out
}

/// The categories of a ranked item's visible notes, each once, in the
/// question's category order.
fn item_categories(a: &Asked, r: &board::Ranked) -> Vec<String> {
    let members: Vec<&Seen> = a
        .seen
        .iter()
        .filter(|s| match r.kind {
            RankedKind::Cluster => s.cluster.as_ref().is_some_and(|(c, _)| *c == r.id),
            RankedKind::Note => s.id == r.id,
        })
        .collect();
    a.question
        .categories
        .iter()
        .filter(|c| {
            members
                .iter()
                .any(|s| s.category.as_ref().and_then(|l| l.id.as_deref()) == Some(c.id.as_str()))
        })
        .map(|c| c.label.clone())
        .collect()
}

/// The sector an expectation is addressed to: category `verso-<sector>`.
fn addressed_to(note: &Note) -> Option<Sector> {
    note.category
        .as_deref()
        .and_then(|c| c.strip_prefix("verso-"))
        .and_then(Sector::parse)
}

fn expectations(ctx: &Ctx, questions: &[&Asked]) -> ExpectationMatrix {
    // (from, to) → notes, both in sector_rank order (unknown last).
    let mut cells: BTreeMap<(usize, usize), Vec<ExpectationNote>> = BTreeMap::new();
    for a in questions {
        for s in &a.seen {
            let from = ctx.shown_sector(ctx.writer(s.note));
            let to = addressed_to(s.note);
            cells
                .entry((sector_rank(from), sector_rank(to)))
                .or_default()
                .push(ExpectationNote {
                    text: s.note.text.clone(),
                    votes: s.votes,
                    question_id: a.question.id.clone(),
                    question_number: a.number.clone(),
                    author: ctx.author(s.note),
                });
        }
    }
    let unknown = Sector::ALL.len();
    let used = |row: bool| {
        cells
            .keys()
            .any(|(f, t)| if row { *f } else { *t } == unknown)
    };
    let axis = |with_unknown: bool| -> Vec<Option<Sector>> {
        let mut v: Vec<Option<Sector>> = Sector::ALL.iter().copied().map(Some).collect();
        if with_unknown {
            v.push(None);
        }
        v
    };
    let (mut from_axis, to_axis) = (axis(used(true)), axis(used(false)));
    // The public version has a row only for the sectors it may show, and
    // one "others" row.
    from_axis.retain(|s| s.is_none_or(|s| !ctx.public || ctx.shown_sectors.contains(&s)));
    let rows = from_axis
        .iter()
        .map(|from| ExpectationRow {
            from: ctx.sector_labelled(*from),
            cells: to_axis
                .iter()
                .map(|to| ExpectationCell {
                    to: sector_label(ctx.lang, *to),
                    notes: cells
                        .remove(&(sector_rank(*from), sector_rank(*to)))
                        .unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    ExpectationMatrix {
        to: to_axis.iter().map(|s| sector_label(ctx.lang, *s)).collect(),
        rows,
    }
}

fn attendance_summary(ctx: &Ctx) -> AttendanceSummary {
    let people = present(ctx.src);
    let lang = ctx.lang;
    let merge = |c: Vec<Count>| if ctx.public { merge_small(lang, c) } else { c };
    AttendanceSummary {
        total: people.len(),
        by_sector: merge(counts(&people, Sector::ALL, Participant::sector, |s| {
            i18n::sector(lang, s)
        })),
        by_tier: merge(counts(&people, Tier::ALL, Participant::tier, |t| {
            i18n::tier(lang, t)
        })),
        by_attendance: merge(counts(
            &people,
            Attendance::ALL,
            Participant::attendance,
            |a| i18n::attendance(lang, a),
        )),
        organizations: organizations_present(ctx, &people),
        unlisted: people.iter().filter(|p| !is_listed(p)).count(),
    }
}

fn is_listed(p: &Participant) -> bool {
    p.listed && !p.organization.trim().is_empty()
}

/// The organizations that agreed to be listed, grouped by the sector and
/// tier the report may show (the public version's "altri" and "tutti i
/// ruoli" included). Only consent puts an organization here: one whose
/// people wrote only anonymous notes must not be pointed at by elimination.
fn organizations_present(ctx: &Ctx, people: &[&Participant]) -> Vec<OrganizationGroup> {
    let tier_rank = |t: Option<Tier>| {
        t.and_then(|t| Tier::ALL.iter().position(|x| *x == t))
            .unwrap_or(Tier::ALL.len())
    };
    type Group = (Option<Sector>, Option<Tier>, BTreeMap<String, String>);
    let mut groups: BTreeMap<(usize, usize), Group> = BTreeMap::new();
    for p in people.iter().filter(|p| is_listed(p)) {
        let (sector, tier) = (ctx.shown_sector(Some(p)), ctx.shown_tier(Some(p)));
        let name = p.organization.trim().to_string();
        let group = groups
            .entry((sector_rank(sector), tier_rank(tier)))
            .or_insert_with(|| (sector, tier, BTreeMap::new()));
        // Spelled differently by two people of one organization: listed
        // once, as the first spelled it.
        group.2.entry(name.to_lowercase()).or_insert(name);
    }
    groups
        .into_values()
        .map(|(sector, tier, names)| OrganizationGroup {
            sector: ctx.sector_labelled(sector),
            // A tier merged away leaves the group at the sector's level.
            tier: if ctx.public && tier.is_none() {
                Labelled {
                    id: None,
                    label: i18n::t(ctx.lang, "report.all_tiers"),
                }
            } else {
                tier_label(ctx.lang, tier)
            },
            organizations: names.into_values().collect(),
        })
        .collect()
}

/// The public version's counts: the groups [`shown_groups`] does not show
/// on their own go into one "others" line (empty groups stay: a zero says
/// nobody).
fn merge_small(lang: Lang, counts: Vec<Count>) -> Vec<Count> {
    let sizes: Vec<(usize, usize)> = counts.iter().map(|c| c.count).enumerate().collect();
    let shown = shown_groups(&sizes);
    let merged = |i: usize, c: &Count| c.count > 0 && !shown.contains(&i);
    if !counts.iter().enumerate().any(|(i, c)| merged(i, c)) {
        return counts;
    }
    let others: usize = counts
        .iter()
        .enumerate()
        .filter(|(i, c)| merged(*i, c))
        .map(|(_, c)| c.count)
        .sum();
    let mut out: Vec<Count> = counts
        .into_iter()
        .enumerate()
        .filter(|(i, c)| !merged(*i, c))
        .map(|(_, c)| c)
        .collect();
    out.push(Count {
        id: None,
        label: i18n::t(lang, "report.others"),
        count: others,
    });
    out
}

/// Counts per value of a vocabulary, every value listed (zero included),
/// plus "not stated" when some roster entry holds something else.
fn counts<V: Copy + PartialEq + std::fmt::Display>(
    people: &[&Participant],
    all: &[V],
    get: impl Fn(&Participant) -> Option<V>,
    label: impl Fn(Option<V>) -> String,
) -> Vec<Count> {
    let values: Vec<Option<V>> = people.iter().map(|p| get(p)).collect();
    let mut out: Vec<Count> = all
        .iter()
        .map(|v| Count {
            id: Some(v.to_string()),
            label: label(Some(*v)),
            count: values.iter().filter(|x| **x == Some(*v)).count(),
        })
        .collect();
    let unknown = values.iter().filter(|x| x.is_none()).count();
    if unknown > 0 {
        out.push(Count {
            id: None,
            label: label(None),
            count: unknown,
        });
    }
    out
}
