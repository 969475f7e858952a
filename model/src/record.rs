//! The record of the table (issue 17): the meeting's data and what the table
//! concluded, written live by the facilitator in the session document.
//!
//! Layout in the session document (every string is Text; long fields are
//! edited with a diff, so two consoles typing in one field merge and the
//! history stays the size of the typing, not of every keystroke's copy):
//!
//! ```text
//! meeting:     { title, number, date (YYYY-MM-DD), place, start (HH:MM),
//!                end (HH:MM), responsible, facilitators }
//! conclusions: { phases: { <phase id>: { synthesis, convergences,
//!                                         disagreements, handling } },
//!                commitments: { <id>: { organization, what, by_when,
//!                                       condition, contact_role,
//!                                       from_note?, created_at } },
//!                next_steps, open_questions }
//! ```
//!
//! The session document is the facilitator's alone (the policy refuses any
//! participant change to it), so the record inherits that authority; it
//! holds no person's name by design: commitments name an organization and a
//! contact *role*. Readers are lenient: a missing or malformed entry reads
//! as empty, never as an unreadable session.

use crate::ops::OpError;
use crate::read;
use automerge::{ObjId, ObjType, ROOT, Value};
use autosurgeon::{Doc, ReadDoc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Longest one-line field (a title, a place, an organization), in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest paragraph field (a synthesis, the next steps), in characters.
pub const MAX_PARAGRAPH_CHARS: usize = 4000;
/// Most commitments a session records.
pub const MAX_COMMITMENTS: usize = 300;

/// The meeting's data, as the facilitator filled it in (empty when not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Meeting {
    /// The meeting's own title ("Primo incontro del Tavolo di Negoziazione").
    pub title: String,
    /// Its number in a series ("1").
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub place: String,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
    /// The body responsible for the decision (the administration).
    pub responsible: String,
    /// Who facilitated (names of the facilitators, by their own choice).
    pub facilitators: String,
}

/// One field of [`Meeting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingField {
    Title,
    Number,
    Date,
    Place,
    Start,
    End,
    Responsible,
    Facilitators,
}

impl MeetingField {
    pub const ALL: [MeetingField; 8] = [
        MeetingField::Title,
        MeetingField::Number,
        MeetingField::Date,
        MeetingField::Place,
        MeetingField::Start,
        MeetingField::End,
        MeetingField::Responsible,
        MeetingField::Facilitators,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingField::Title => "title",
            MeetingField::Number => "number",
            MeetingField::Date => "date",
            MeetingField::Place => "place",
            MeetingField::Start => "start",
            MeetingField::End => "end",
            MeetingField::Responsible => "responsible",
            MeetingField::Facilitators => "facilitators",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn get(self, m: &mut Meeting) -> &mut String {
        match self {
            MeetingField::Title => &mut m.title,
            MeetingField::Number => &mut m.number,
            MeetingField::Date => &mut m.date,
            MeetingField::Place => &mut m.place,
            MeetingField::Start => &mut m.start,
            MeetingField::End => &mut m.end,
            MeetingField::Responsible => &mut m.responsible,
            MeetingField::Facilitators => &mut m.facilitators,
        }
    }

    /// Checks a value for this field: its length, and the shape of a date
    /// or a time (empty clears a field).
    fn check(self, value: &str) -> Result<(), OpError> {
        let field = self.as_str();
        let ok = match self {
            MeetingField::Date => value.is_empty() || is_date(value),
            MeetingField::Start | MeetingField::End => value.is_empty() || is_time(value),
            _ => value.chars().count() <= MAX_LINE_CHARS,
        };
        if ok {
            Ok(())
        } else {
            Err(OpError::BadRecordField(field))
        }
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
    };
    matches!(
        (num(0..4), num(5..7), num(8..10)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

/// `HH:MM`, 00:00–23:59.
pub(crate) fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
    };
    matches!((num(0..2), num(3..5)), (Some(0..=23), Some(0..=59)))
}

/// What the table concluded on one phase (one focus).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Synthesis {
    /// What the table said, in a paragraph.
    pub synthesis: String,
    /// Where it converged.
    pub convergences: String,
    /// Where it did not.
    pub disagreements: String,
    /// How the disagreements were handled (mediated, postponed, left open).
    pub handling: String,
}

impl Synthesis {
    pub fn is_empty(&self) -> bool {
        self.synthesis.trim().is_empty()
            && self.convergences.trim().is_empty()
            && self.disagreements.trim().is_empty()
            && self.handling.trim().is_empty()
    }
}

/// One field of [`Synthesis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthesisField {
    Synthesis,
    Convergences,
    Disagreements,
    Handling,
}

impl SynthesisField {
    pub const ALL: [SynthesisField; 4] = [
        SynthesisField::Synthesis,
        SynthesisField::Convergences,
        SynthesisField::Disagreements,
        SynthesisField::Handling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SynthesisField::Synthesis => "synthesis",
            SynthesisField::Convergences => "convergences",
            SynthesisField::Disagreements => "disagreements",
            SynthesisField::Handling => "handling",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn get(self, s: &mut Synthesis) -> &mut String {
        match self {
            SynthesisField::Synthesis => &mut s.synthesis,
            SynthesisField::Convergences => &mut s.convergences,
            SynthesisField::Disagreements => &mut s.disagreements,
            SynthesisField::Handling => &mut s.handling,
        }
    }
}

/// A commitment: an organization puts something on the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Commitment {
    pub id: String,
    pub organization: String,
    /// What it commits to.
    pub what: String,
    /// By when, as said at the table ("entro marzo", "subito").
    pub by_when: String,
    /// On what condition, if any.
    pub condition: String,
    /// Whom to contact, as a role ("referente area anziani"), never a name.
    pub contact_role: String,
    /// The contribution note it was made from, if any.
    pub from_note: Option<String>,
    /// When it was recorded (ms since the epoch; orders the list).
    pub created_at: i64,
}

/// A commitment as the console sends it (no id, no time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitmentInput {
    pub organization: String,
    pub what: String,
    pub by_when: String,
    pub condition: String,
    pub contact_role: String,
    pub from_note: Option<String>,
}

impl CommitmentInput {
    fn check(&self) -> Result<(), OpError> {
        if self.what.trim().is_empty() {
            return Err(OpError::BadRecordField("what"));
        }
        for (name, v, max) in [
            ("organization", &self.organization, MAX_LINE_CHARS),
            ("what", &self.what, MAX_PARAGRAPH_CHARS),
            ("by_when", &self.by_when, MAX_LINE_CHARS),
            ("condition", &self.condition, MAX_PARAGRAPH_CHARS),
            ("contact_role", &self.contact_role, MAX_LINE_CHARS),
        ] {
            if v.chars().count() > max {
                return Err(OpError::BadRecordField(name));
            }
        }
        Ok(())
    }
}

/// The two closing texts of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosingField {
    NextSteps,
    OpenQuestions,
}

impl ClosingField {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosingField::NextSteps => "next_steps",
            ClosingField::OpenQuestions => "open_questions",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ClosingField::NextSteps, ClosingField::OpenQuestions]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// What a commitment carried from the previous meeting has become.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CarriedStatus {
    /// Not started yet (where every carried commitment begins).
    #[default]
    Open,
    InProgress,
    Done,
    /// No longer relevant.
    Dropped,
}

impl CarriedStatus {
    pub const ALL: [CarriedStatus; 4] = [
        CarriedStatus::Open,
        CarriedStatus::InProgress,
        CarriedStatus::Done,
        CarriedStatus::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CarriedStatus::Open => "open",
            CarriedStatus::InProgress => "in_progress",
            CarriedStatus::Done => "done",
            CarriedStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A commitment of the previous meeting, and how it is going.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CarriedCommitment {
    pub id: String,
    pub organization: String,
    pub what: String,
    pub by_when: String,
    pub condition: String,
    pub contact_role: String,
    pub status: CarriedStatus,
    /// What the facilitator noted about its progress.
    pub progress: String,
}

/// An organization invited because it took part in the previous meeting
/// (no person's name: organizations only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Invited {
    pub organization: String,
    /// `ids::Sector` as text.
    pub sector: String,
    /// `ids::Tier` as text.
    pub tier: String,
}

/// What a session started from a previous one carries from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Previous {
    /// The previous session's title and its meeting's date (`YYYY-MM-DD`, may be empty).
    pub title: String,
    pub date: String,
    pub commitments: Vec<CarriedCommitment>,
    /// The questions it left for this meeting.
    pub open_questions: String,
    pub invited: Vec<Invited>,
}

impl Previous {
    fn load<D: ReadDoc>(doc: &D) -> Option<Previous> {
        let p = read::get_map(doc, &ROOT, "previous")?;
        let s = |o: &ObjId, k: &str| read::get_str(doc, o, k).unwrap_or_default();
        let mut out = Previous {
            title: s(&p, "title"),
            date: s(&p, "date"),
            open_questions: s(&p, "open_questions"),
            ..Previous::default()
        };
        if let Some(list) = read::get_map(doc, &p, "commitments") {
            for id in read::keys(doc, &list) {
                let Some(o) = read::get_map(doc, &list, &id) else {
                    continue;
                };
                out.commitments.push(CarriedCommitment {
                    organization: s(&o, "organization"),
                    what: s(&o, "what"),
                    by_when: s(&o, "by_when"),
                    condition: s(&o, "condition"),
                    contact_role: s(&o, "contact_role"),
                    status: CarriedStatus::parse(&s(&o, "status")).unwrap_or_default(),
                    progress: s(&o, "progress"),
                    id,
                });
            }
            // Keys are `c000`, `c001`…: the previous meeting's order.
        }
        if let Some(list) = read::get_map(doc, &p, "invited") {
            for key in read::keys(doc, &list) {
                if let Some(o) = read::get_map(doc, &list, &key) {
                    out.invited.push(Invited {
                        organization: s(&o, "organization"),
                        sector: s(&o, "sector"),
                        tier: s(&o, "tier"),
                    });
                }
            }
        }
        Some(out)
    }
}

/// Writes what a new session carries from the previous one (at creation).
pub fn init_previous<D: Doc>(doc: &mut D, prev: &Previous) -> Result<(), OpError> {
    let p = doc.put_object(ROOT, "previous", ObjType::Map)?;
    crate::ops::put_text(doc, &p, "title", &prev.title)?;
    crate::ops::put_text(doc, &p, "date", &prev.date)?;
    crate::ops::put_text(doc, &p, "open_questions", &prev.open_questions)?;
    let list = doc.put_object(&p, "commitments", ObjType::Map)?;
    for (i, c) in prev.commitments.iter().enumerate() {
        let o = doc.put_object(&list, format!("c{i:03}").as_str(), ObjType::Map)?;
        for (k, v) in [
            ("organization", &c.organization),
            ("what", &c.what),
            ("by_when", &c.by_when),
            ("condition", &c.condition),
            ("contact_role", &c.contact_role),
            ("progress", &c.progress),
        ] {
            crate::ops::put_text(doc, &o, k, v)?;
        }
        crate::ops::put_text(doc, &o, "status", c.status.as_str())?;
    }
    let invited = doc.put_object(&p, "invited", ObjType::Map)?;
    for (i, inv) in prev.invited.iter().enumerate() {
        let o = doc.put_object(&invited, format!("o{i:03}").as_str(), ObjType::Map)?;
        crate::ops::put_text(doc, &o, "organization", &inv.organization)?;
        crate::ops::put_text(doc, &o, "sector", &inv.sector)?;
        crate::ops::put_text(doc, &o, "tier", &inv.tier)?;
    }
    Ok(())
}

/// Says how a carried commitment is going (facilitator).
pub fn set_carried_progress<D: Doc>(
    doc: &mut D,
    id: &str,
    status: CarriedStatus,
    progress: &str,
) -> Result<(), OpError> {
    if progress.chars().count() > MAX_PARAGRAPH_CHARS {
        return Err(OpError::BadRecordField("progress"));
    }
    let o = read::map_at_path(doc, &["previous", "commitments", id])
        .ok_or_else(|| OpError::NoSuchCommitment(id.to_string()))?;
    crate::ops::put_text(doc, &o, "status", status.as_str())?;
    put_long_text(doc, &o, "progress", progress)
}

/// What a session started from this one carries: its open commitments
/// (all of this meeting's), the questions it left, and the organizations
/// that took part (from the roster, without names).
pub fn follow_up_of(record: &Record, session_title: &str, roster: &crate::RosterDoc) -> Previous {
    let mut invited: Vec<Invited> = Vec::new();
    for p in roster.participants.values().filter(|p| !p.removed) {
        let org = p.organization.trim();
        if org.is_empty()
            || invited
                .iter()
                .any(|i| i.organization.eq_ignore_ascii_case(org))
        {
            continue;
        }
        invited.push(Invited {
            organization: org.to_string(),
            sector: p.sector.clone(),
            tier: p.tier.clone(),
        });
    }
    invited.sort_by(|a, b| {
        a.organization
            .to_lowercase()
            .cmp(&b.organization.to_lowercase())
    });
    Previous {
        title: if record.meeting.title.trim().is_empty() {
            session_title.to_string()
        } else {
            record.meeting.title.clone()
        },
        date: record.meeting.date.clone(),
        commitments: record
            .commitments
            .iter()
            .map(|c| CarriedCommitment {
                id: String::new(),
                organization: c.organization.clone(),
                what: c.what.clone(),
                by_when: c.by_when.clone(),
                condition: c.condition.clone(),
                contact_role: c.contact_role.clone(),
                status: CarriedStatus::Open,
                progress: String::new(),
            })
            .collect(),
        open_questions: record.open_questions.clone(),
        invited,
    }
}

/// The meeting data a follow-up session starts with: the same body
/// responsible, place and facilitators, the next number.
pub fn follow_up_meeting(m: &Meeting) -> Meeting {
    Meeting {
        title: m.title.clone(),
        number: m
            .number
            .trim()
            .parse::<u32>()
            .map(|n| (n + 1).to_string())
            .unwrap_or_default(),
        place: m.place.clone(),
        responsible: m.responsible.clone(),
        facilitators: m.facilitators.clone(),
        ..Meeting::default()
    }
}

/// Everything the record holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Record {
    pub meeting: Meeting,
    /// Phase id → what the table concluded on it (phases with nothing
    /// written are absent).
    pub syntheses: BTreeMap<String, Synthesis>,
    /// Oldest first.
    pub commitments: Vec<Commitment>,
    pub next_steps: String,
    pub open_questions: String,
    /// What this session carries from the one it was started from.
    pub previous: Option<Previous>,
}

impl Record {
    /// The record of a session document; empty parts where nothing (or
    /// something malformed) is stored.
    pub fn load<D: ReadDoc>(doc: &D) -> Record {
        let mut r = Record {
            previous: Previous::load(doc),
            ..Record::default()
        };
        if let Some(m) = read::get_map(doc, &ROOT, "meeting") {
            for f in MeetingField::ALL {
                *f.get(&mut r.meeting) = read::get_str(doc, &m, f.as_str()).unwrap_or_default();
            }
        }
        let Some(c) = read::get_map(doc, &ROOT, "conclusions") else {
            return r;
        };
        if let Some(phases) = read::get_map(doc, &c, "phases") {
            for phase in read::keys(doc, &phases) {
                let Some(p) = read::get_map(doc, &phases, &phase) else {
                    continue;
                };
                let mut s = Synthesis::default();
                for f in SynthesisField::ALL {
                    *f.get(&mut s) = read::get_str(doc, &p, f.as_str()).unwrap_or_default();
                }
                if !s.is_empty() {
                    r.syntheses.insert(phase, s);
                }
            }
        }
        if let Some(list) = read::get_map(doc, &c, "commitments") {
            for id in read::keys(doc, &list) {
                let Some(o) = read::get_map(doc, &list, &id) else {
                    continue; // removed (null) or malformed
                };
                let s = |k: &str| read::get_str(doc, &o, k).unwrap_or_default();
                let what = s("what");
                if what.trim().is_empty() {
                    continue;
                }
                r.commitments.push(Commitment {
                    organization: s("organization"),
                    what,
                    by_when: s("by_when"),
                    condition: s("condition"),
                    contact_role: s("contact_role"),
                    from_note: read::get_str(doc, &o, "from_note").filter(|n| !n.is_empty()),
                    created_at: read::get_int(doc, &o, "created_at").unwrap_or(0),
                    id,
                });
            }
            r.commitments
                .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        }
        r.next_steps = read::get_str(doc, &c, "next_steps").unwrap_or_default();
        r.open_questions = read::get_str(doc, &c, "open_questions").unwrap_or_default();
        r
    }

    /// Whether the facilitator has written anything yet.
    pub fn is_empty(&self) -> bool {
        self == &Record::default()
    }
}

/// The map at `key` of `obj`, made when missing. Made once, at the first
/// write: two consoles making it at the same moment would each write into
/// their own and one would lose, so [`init_record`] makes both maps when the
/// session is created.
fn map_in<D: Doc>(doc: &mut D, obj: &ObjId, key: &str) -> Result<ObjId, OpError> {
    match read::get_map(doc, obj, key) {
        Some(m) => Ok(m),
        None => Ok(doc.put_object(obj, key, ObjType::Map)?),
    }
}

/// The empty record of a new session.
pub fn init_record<D: Doc>(doc: &mut D) -> Result<(), OpError> {
    doc.put_object(ROOT, "meeting", ObjType::Map)?;
    let c = doc.put_object(ROOT, "conclusions", ObjType::Map)?;
    doc.put_object(&c, "phases", ObjType::Map)?;
    doc.put_object(&c, "commitments", ObjType::Map)?;
    Ok(())
}

/// Writes `value` into the Text at `key`: a diff against what is there when
/// it is Text already (concurrent typing merges; history stays small), a new
/// Text otherwise.
fn put_long_text<D: Doc>(doc: &mut D, obj: &ObjId, key: &str, value: &str) -> Result<(), OpError> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Text), t)) => {
            doc.update_text(&t, value)?;
            Ok(())
        }
        _ => crate::ops::put_text(doc, obj, key, value),
    }
}

/// Sets one field of the meeting's data (facilitator).
pub fn set_meeting_field<D: Doc>(
    doc: &mut D,
    field: MeetingField,
    value: &str,
) -> Result<(), OpError> {
    let value = value.trim_end_matches(['\r', '\n']);
    field.check(value)?;
    let m = map_in(doc, &ROOT, "meeting")?;
    put_long_text(doc, &m, field.as_str(), value)
}

/// Sets one field of what the table concluded on a phase (facilitator).
pub fn set_synthesis_field<D: Doc>(
    doc: &mut D,
    phase_id: &str,
    field: SynthesisField,
    value: &str,
) -> Result<(), OpError> {
    if value.chars().count() > MAX_PARAGRAPH_CHARS {
        return Err(OpError::BadRecordField(field.as_str()));
    }
    let session = crate::schema::SessionDoc::load(doc)
        .map_err(|_| OpError::NoSuchPhase(phase_id.to_string()))?;
    if !session.phases.iter().any(|p| p.id == phase_id) {
        return Err(OpError::NoSuchPhase(phase_id.to_string()));
    }
    let c = map_in(doc, &ROOT, "conclusions")?;
    let phases = map_in(doc, &c, "phases")?;
    let p = map_in(doc, &phases, phase_id)?;
    put_long_text(doc, &p, field.as_str(), value)
}

/// Sets the next steps or the questions left for the next meeting (facilitator).
pub fn set_closing<D: Doc>(doc: &mut D, field: ClosingField, value: &str) -> Result<(), OpError> {
    if value.chars().count() > MAX_PARAGRAPH_CHARS {
        return Err(OpError::BadRecordField(field.as_str()));
    }
    let c = map_in(doc, &ROOT, "conclusions")?;
    put_long_text(doc, &c, field.as_str(), value)
}

/// Records a commitment under `id` (new, or replacing the one with that id);
/// `now` orders new ones (facilitator).
pub fn put_commitment<D: Doc>(
    doc: &mut D,
    id: &str,
    input: &CommitmentInput,
    now: i64,
) -> Result<(), OpError> {
    input.check()?;
    let c = map_in(doc, &ROOT, "conclusions")?;
    let list = map_in(doc, &c, "commitments")?;
    let existing = read::get_map(doc, &list, id);
    let created_at = match &existing {
        Some(o) => read::get_int(doc, o, "created_at").unwrap_or(now),
        None => {
            let live = read::keys(doc, &list)
                .iter()
                .filter(|k| read::get_map(doc, &list, k).is_some())
                .count();
            if live >= MAX_COMMITMENTS {
                return Err(OpError::TooManyCommitments);
            }
            now
        }
    };
    let o = match existing {
        Some(o) => o,
        None => doc.put_object(&list, id, ObjType::Map)?,
    };
    put_long_text(doc, &o, "organization", input.organization.trim())?;
    put_long_text(doc, &o, "what", input.what.trim())?;
    put_long_text(doc, &o, "by_when", input.by_when.trim())?;
    put_long_text(doc, &o, "condition", input.condition.trim())?;
    put_long_text(doc, &o, "contact_role", input.contact_role.trim())?;
    match &input.from_note {
        Some(n) => crate::ops::put_text(doc, &o, "from_note", n)?,
        None => doc.put(&o, "from_note", automerge::ScalarValue::Null)?,
    }
    doc.put(&o, "created_at", created_at)?;
    Ok(())
}

/// Removes a commitment (facilitator). Its key is set to null rather than
/// deleted, so an edit on another console at the same moment cannot bring
/// back half of it.
pub fn remove_commitment<D: Doc>(doc: &mut D, id: &str) -> Result<(), OpError> {
    let c = map_in(doc, &ROOT, "conclusions")?;
    let list = map_in(doc, &c, "commitments")?;
    if read::get_map(doc, &list, id).is_none() {
        return Err(OpError::NoSuchCommitment(id.to_string()));
    }
    doc.put(&list, id, automerge::ScalarValue::Null)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::AutoCommit;

    fn session() -> AutoCommit {
        let template = crate::Template::builtin("tavolo-prima-sessione").unwrap();
        let urls = template
            .phases
            .iter()
            .flat_map(|p| p.questions.iter())
            .map(|q| (q.id.clone(), format!("automerge:{}", q.id)))
            .collect();
        let mut doc = AutoCommit::new();
        crate::ops::init_session_doc(
            &mut doc,
            &crate::ops::SessionInit {
                template: &template,
                title: "Prova",
                roster_url: "automerge:roster",
                question_urls: &urls,
            },
        )
        .unwrap();
        doc
    }

    #[test]
    fn a_new_session_starts_with_the_templates_meeting_data_and_nothing_else() {
        let doc = session();
        let r = Record::load(&doc);
        // The built-in template's defaults: what stays from one meeting of
        // the table to the next.
        assert_eq!(
            (
                r.meeting.title.as_str(),
                r.meeting.number.as_str(),
                r.meeting.place.as_str()
            ),
            (
                "Tavolo di Negoziazione dell'Opificio",
                "1",
                "Santarcangelo di Romagna"
            )
        );
        assert!(r.meeting.date.is_empty() && r.meeting.facilitators.is_empty());
        let without_meeting = Record {
            meeting: Meeting::default(),
            ..r
        };
        assert!(without_meeting.is_empty());
        assert!(read::get_map(&doc, &ROOT, "meeting").is_some());
    }

    #[test]
    fn meeting_fields_are_written_and_read_back_and_checked() {
        let mut doc = session();
        set_meeting_field(&mut doc, MeetingField::Place, "Sala del Consiglio").unwrap();
        set_meeting_field(&mut doc, MeetingField::Date, "2026-12-04").unwrap();
        set_meeting_field(&mut doc, MeetingField::Start, "17:30").unwrap();
        let r = Record::load(&doc);
        assert_eq!(r.meeting.place, "Sala del Consiglio");
        assert_eq!(r.meeting.date, "2026-12-04");
        assert_eq!(r.meeting.start, "17:30");
        for bad in ["4/12/2026", "2026-13-01", "2026-12-4", "20261204xx"] {
            assert!(
                set_meeting_field(&mut doc, MeetingField::Date, bad).is_err(),
                "{bad}"
            );
        }
        for bad in ["24:00", "7:30", "17.30"] {
            assert!(
                set_meeting_field(&mut doc, MeetingField::End, bad).is_err(),
                "{bad}"
            );
        }
        assert!(
            set_meeting_field(
                &mut doc,
                MeetingField::Title,
                &"x".repeat(MAX_LINE_CHARS + 1)
            )
            .is_err()
        );
        // Refused values left the stored ones alone; empty clears.
        set_meeting_field(&mut doc, MeetingField::Date, "").unwrap();
        let r = Record::load(&doc);
        assert_eq!(r.meeting.date, "");
        assert_eq!(r.meeting.start, "17:30");
    }

    #[test]
    fn two_consoles_typing_in_one_synthesis_merge() {
        let mut a = session();
        let first = a.get_heads();
        set_synthesis_field(
            &mut a,
            "legittimazione",
            SynthesisField::Synthesis,
            "Il tavolo concorda.",
        )
        .unwrap();
        let mut b = a.fork();
        set_synthesis_field(
            &mut a,
            "legittimazione",
            SynthesisField::Synthesis,
            "Il tavolo concorda. Prima frase.",
        )
        .unwrap();
        set_synthesis_field(
            &mut b,
            "legittimazione",
            SynthesisField::Synthesis,
            "Tutto il tavolo concorda.",
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        let text = &Record::load(&a).syntheses["legittimazione"].synthesis;
        assert_eq!(text, "Tutto il tavolo concorda. Prima frase.");
        assert_ne!(first, a.get_heads());
        assert!(
            set_synthesis_field(&mut a, "nessuna-fase", SynthesisField::Synthesis, "x").is_err()
        );
    }

    #[test]
    fn commitments_are_added_edited_ordered_and_removed() {
        let mut doc = session();
        let input = |what: &str| CommitmentInput {
            organization: "Comune".into(),
            what: what.into(),
            by_when: "entro marzo".into(),
            condition: String::new(),
            contact_role: "Ufficio welfare".into(),
            from_note: Some("n1".into()),
        };
        put_commitment(&mut doc, "c2", &input("Una sala"), 20).unwrap();
        put_commitment(&mut doc, "c1", &input("Un furgone"), 10).unwrap();
        put_commitment(&mut doc, "c2", &input("Una sala, due sere"), 99).unwrap();
        let r = Record::load(&doc);
        let whats: Vec<_> = r.commitments.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(whats, ["Un furgone", "Una sala, due sere"]);
        assert_eq!(
            r.commitments[1].created_at, 20,
            "an edit keeps the commitment's place"
        );
        assert_eq!(r.commitments[0].from_note.as_deref(), Some("n1"));
        assert!(
            put_commitment(&mut doc, "c3", &input("  "), 30).is_err(),
            "a commitment says what"
        );
        remove_commitment(&mut doc, "c1").unwrap();
        assert_eq!(Record::load(&doc).commitments.len(), 1);
        assert!(remove_commitment(&mut doc, "c1").is_err());
    }

    #[test]
    fn a_malformed_record_reads_as_empty_parts_not_as_an_error() {
        let mut doc = session();
        doc.put(ROOT, "meeting", "not a map").unwrap();
        let c = read::get_map(&doc, &ROOT, "conclusions").unwrap();
        doc.put(&c, "phases", 3).unwrap();
        let list = read::get_map(&doc, &c, "commitments").unwrap();
        doc.put(&list, "x", "not a map").unwrap();
        let r = Record::load(&doc);
        assert!(r.is_empty());
        assert!(crate::schema::SessionDoc::load(&doc).is_ok());
    }
}
