//! The report as data: what [`super::build`] computes and every format
//! renders. Serialized as-is for the JSON format, so every field here is
//! described in `docs/report.schema.json` (keep the two in step).
//!
//! Nothing here holds a participant id, a note id or a cluster id: the report
//! is for people, and the public version must carry nothing derived from ids.
//! Names and organizations are `Option`s that [`super::build`] fills only
//! where the privacy rules allow, and that serialization then leaves out.

use super::Lang;
use serde::Serialize;

/// The version of the JSON shape; bump it when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// The public version (no personal data) rather than the facilitator's.
    pub public: bool,
    /// Whether organizations of non-anonymous notes are shown.
    pub organizations_shown: bool,
    pub lang: Lang,
    /// ISO 8601, UTC.
    pub generated_at: String,
    /// The same moment as a person reads it, in the report's language.
    pub generated_at_text: String,
    pub session: SessionInfo,
    /// The meeting's data as the facilitator filled it in (empty strings
    /// where not).
    pub meeting: MeetingInfo,
    /// What the meeting this session was started from left to it: its
    /// commitments and how they are going, its open questions. `None` when
    /// the session was not started from another.
    pub previous: Option<PreviousReport>,
    pub attendance: AttendanceSummary,
    /// `None` when the session has no question of that kind.
    pub raw_material: Option<RawMaterialMap>,
    pub ledger: Option<Ledger>,
    pub needs: Option<Vec<NeedItem>>,
    pub expectations: Option<ExpectationMatrix>,
    pub phases: Vec<PhaseReport>,
    /// What organizations committed to, in the order they were recorded.
    pub commitments: Vec<CommitmentEntry>,
    /// What happens next (empty when not written).
    pub next_steps: String,
    /// Questions left for the next meeting (empty when not written).
    pub open_questions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    pub title: String,
    pub template: String,
}

/// The meeting's data, from the record (see [`crate::record::Meeting`]);
/// every text trimmed, empty where not filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeetingInfo {
    pub title: String,
    /// Its number in a series ("1").
    pub number: String,
    /// `YYYY-MM-DD`; empty when not given or not a date.
    pub date: String,
    /// The date as a person reads it ("14 marzo 2026"); what was written
    /// when it is not a date; empty when not given.
    pub date_text: String,
    pub place: String,
    /// `HH:MM`, as written.
    pub start: String,
    /// `HH:MM`, as written.
    pub end: String,
    /// The body responsible for the decision.
    pub responsible: String,
    /// Who facilitated: people's names, so only in the facilitator's
    /// version (absent from the public one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facilitators: Option<String>,
    /// How the meeting went, in a paragraph (its phases and planned times,
    /// and how people took part); empty when no meeting data was filled in.
    pub process: String,
}

impl MeetingInfo {
    /// Whether nothing this version shows was filled in.
    pub fn is_empty(&self) -> bool {
        [
            &self.title,
            &self.number,
            &self.date_text,
            &self.place,
            &self.start,
            &self.end,
            &self.responsible,
        ]
        .iter()
        .all(|s| s.is_empty())
            && self.facilitators.as_deref().is_none_or(str::is_empty)
    }
}

/// What the table concluded on a phase, from the record; every text
/// trimmed, empty where not written (at least one is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseConclusion {
    pub synthesis: String,
    pub convergences: String,
    pub disagreements: String,
    /// How the disagreements were handled.
    pub handling: String,
}

/// A commitment an organization made at the table. It names an
/// organization and a contact *role*, never a person, and carries no id
/// (not even of the note it may have been made from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitmentEntry {
    pub organization: String,
    /// What it commits to.
    pub what: String,
    /// By when, as said at the table.
    pub by_when: String,
    /// On what condition (empty: none).
    pub condition: String,
    /// Whom to contact, as a role.
    pub contact_role: String,
}

/// What the previous meeting (the session this one was started from) left
/// to this one; every text trimmed. Like the commitments, it names
/// organizations and contact roles, never a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviousReport {
    /// The previous meeting's title.
    pub title: String,
    /// `YYYY-MM-DD`; empty when not given or not a date.
    pub date: String,
    /// The date as a person reads it ("14 marzo 2026"); what was written
    /// when it is not a date; empty when not given.
    pub date_text: String,
    /// Its commitments, in the order they were recorded, with how each is
    /// going.
    pub commitments: Vec<CarriedEntry>,
    /// The questions it left for this meeting (empty when none).
    pub open_questions: String,
}

/// A commitment of the previous meeting and how it is going. No id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CarriedEntry {
    pub organization: String,
    pub what: String,
    pub by_when: String,
    /// Empty: none.
    pub condition: String,
    /// Whom to contact, as a role.
    pub contact_role: String,
    pub status: CarriedStatusLabel,
    /// What the facilitator noted about its progress (empty: nothing).
    pub progress: String,
}

/// Where a carried commitment stands: the stable value and its label in
/// the report's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CarriedStatusLabel {
    pub id: crate::record::CarriedStatus,
    pub label: String,
}

/// A label with the stable value it stands for (`None`: not stated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Labelled {
    pub id: Option<String>,
    pub label: String,
}

/// Who wrote a note, as far as the version of the report may say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteAuthor {
    /// The author's sector (kept even for anonymous notes).
    pub sector: Labelled,
    pub anonymous: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteEntry {
    pub text: String,
    /// The note's category in its question, if it has one.
    pub category: Option<Labelled>,
    /// Dots placed on this note itself.
    pub votes: i64,
    pub author: NoteAuthor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterEntry {
    pub title: String,
    /// Dots on the cluster, on its notes and on clusters merged into it.
    pub votes: i64,
    pub notes: Vec<NoteEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Cluster,
    Note,
}

/// One line of a question's ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedItem {
    pub kind: ItemKind,
    /// A cluster's title or a loose note's text.
    pub label: String,
    pub votes: i64,
    /// Notes in it (1 for a loose note).
    pub notes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionReport {
    pub id: String,
    /// Its place in the session, "2.1" (phase 2, question 1): what the
    /// thematic views cite it by (a reader sees "D2.1").
    pub number: String,
    pub text: String,
    pub note_kind: String,
    pub categories: Vec<Labelled>,
    /// Visible notes in the question (hidden ones are never counted).
    pub note_count: usize,
    /// Dots each participant had on this question (its own budget, or the
    /// session's).
    pub vote_budget: i64,
    pub clusters: Vec<ClusterEntry>,
    pub unclustered: Vec<NoteEntry>,
    pub ranking: Vec<RankedItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseReport {
    pub id: String,
    pub title: String,
    pub goal: String,
    /// How long it was planned to last, in minutes (the agenda), if said.
    pub minutes: Option<i64>,
    /// What the table concluded on this phase; `None` when nothing was
    /// written.
    pub conclusion: Option<PhaseConclusion>,
    pub questions: Vec<QuestionReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub id: Option<String>,
    pub label: String,
    pub count: usize,
}

/// Counts only: never a name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttendanceSummary {
    pub total: usize,
    pub by_sector: Vec<Count>,
    pub by_tier: Vec<Count>,
    pub by_attendance: Vec<Count>,
    /// The organizations present whose people agreed, when joining, that
    /// the resoconto may list them, by sector and tier (in the public
    /// version with the same merged groups as every other table).
    pub organizations: Vec<OrganizationGroup>,
    /// People present who did not agree to list their organization (or
    /// gave none); their colleagues may have.
    pub unlisted: usize,
}

/// Organizations present in one sector and tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrganizationGroup {
    pub sector: Labelled,
    /// "tutti i ruoli" (id null) where the public version merges a
    /// sector's tiers.
    pub tier: Labelled,
    /// In alphabetical order, each once.
    pub organizations: Vec<String>,
}

/// A note seen from a thematic view (it names its question).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewNote {
    pub text: String,
    pub votes: i64,
    /// The title of the cluster it is in, if any.
    pub cluster: Option<String>,
    pub question_id: String,
    /// The question's [`QuestionReport::number`].
    pub question_number: String,
    pub question: String,
    pub author: NoteAuthor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawMaterialCategory {
    pub category: Labelled,
    pub notes: Vec<ViewNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawMaterialMap {
    pub categories: Vec<RawMaterialCategory>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerCell {
    pub count: usize,
    pub texts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRow {
    pub sector: Labelled,
    /// `None` for the anonymous row of a sector (its tier is not disclosed).
    pub tier: Option<Labelled>,
    /// Present only where organizations are shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Pledges whose authors chose to stay anonymous.
    pub anonymous: bool,
    /// What the row is called in tables and charts.
    pub label: String,
    /// One per resource type, in the order of [`Ledger::resource_types`].
    pub cells: Vec<LedgerCell>,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ledger {
    pub resource_types: Vec<Labelled>,
    pub rows: Vec<LedgerRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeedItem {
    pub kind: ItemKind,
    pub label: String,
    pub votes: i64,
    pub notes: usize,
    pub question_id: String,
    /// The question's [`QuestionReport::number`].
    pub question_number: String,
    pub question: String,
    /// Category labels of the notes in it, in the question's order.
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectationNote {
    pub text: String,
    pub votes: i64,
    pub question_id: String,
    /// The question's [`QuestionReport::number`].
    pub question_number: String,
    pub author: NoteAuthor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectationCell {
    pub to: Labelled,
    pub notes: Vec<ExpectationNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectationRow {
    pub from: Labelled,
    pub cells: Vec<ExpectationCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectationMatrix {
    /// Column headings, in the order of every row's `cells`.
    pub to: Vec<Labelled>,
    pub rows: Vec<ExpectationRow>,
}
