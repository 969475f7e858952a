//! Templates: the phases, guiding questions and note categories of a session,
//! as data. A template is a TOML file; [`Template::parse`] validates it.
//!
//! A facilitator writes templates by hand, so a refused one says *where*:
//! every [`TemplateProblem`] carries the line and column of the offending
//! value, the path to it (`phases[2].questions[0].categories[1]`), a stable
//! [`ProblemCode`] and named parameters, from which the web app writes the
//! message in the facilitator's language; `message` is the English text.
//!
//! Parsing happens in two passes over the source: `toml` deserializes into
//! private *raw* structs whose every value is [`toml::Spanned`], then the
//! checks that the type system cannot express (ids, references, limits) run
//! on the raw structs, with their spans at hand. Only a template that passes
//! both becomes a [`Template`], whose shape stays plain for its callers.
//!
//! ```
//! use tavolo_model::template::{ProblemCode, Template};
//!
//! let err = Template::parse("id = \"t\"\ntitle = \"T\"\nphases = []\n").unwrap_err();
//! let p = err.first();
//! assert_eq!((p.code, p.line, p.column), (ProblemCode::NoPhases, 3, 10));
//! assert_eq!(err.to_string(), "line 3, column 10: template has no phases");
//! ```

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// The id of the built-in template every deployment carries.
pub const DEFAULT_TEMPLATE_ID: &str = "tavolo-prima-sessione";

const BUILTIN_SOURCES: &[&str] = &[include_str!("../templates/tavolo-prima-sessione.toml")];

/// Largest template source, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// Most phases a template may have.
pub const MAX_PHASES: usize = 20;
/// Most guiding questions in one phase.
pub const MAX_QUESTIONS_PER_PHASE: usize = 20;
/// Most note categories a template may define.
pub const MAX_CATEGORIES: usize = 40;
/// Longest title, question text, category label or phase goal, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest template description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most dots a participant may place per question.
pub const MAX_VOTE_BUDGET: u32 = 50;
/// Longest a phase may be planned to last, in minutes.
pub const MAX_PHASE_MINUTES: u32 = 600;
/// Longest id, in bytes (ids are ASCII).
pub const MAX_ID_LEN: usize = 64;
/// Problems reported at most for one template; the rest are left out.
const MAX_PROBLEMS: usize = 20;

/// A session template, as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Dots each participant may place per question when voting opens.
    #[serde(default = "default_vote_budget")]
    pub vote_budget: u32,
    /// The categories questions may offer; questions refer to them by id.
    #[serde(default)]
    pub categories: Vec<CategoryDef>,
    pub phases: Vec<PhaseDef>,
    /// Who holds the participants' data (the body running the table), for
    /// the privacy notice shown before joining.
    #[serde(default)]
    pub privacy_controller: String,
    /// Whom to ask about one's data.
    #[serde(default)]
    pub privacy_contact: String,
    /// What a new session's meeting data start with (the facilitator edits
    /// them on the console).
    #[serde(default, skip_serializing_if = "MeetingDefaults::is_empty")]
    pub meeting: MeetingDefaults,
}

/// A template's defaults for the record's meeting data: what stays the same
/// from one meeting of a table to the next. The date and who facilitates
/// are each meeting's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingDefaults {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub place: String,
    /// `HH:MM`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// `HH:MM`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub responsible: String,
}

impl MeetingDefaults {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Each default with the record field it fills.
    pub fn fields(&self) -> [(crate::record::MeetingField, &str); 6] {
        use crate::record::MeetingField as F;
        [
            (F::Title, &self.title),
            (F::Number, &self.number),
            (F::Place, &self.place),
            (F::Start, &self.start),
            (F::End, &self.end),
            (F::Responsible, &self.responsible),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseDef {
    pub id: String,
    pub title: String,
    /// What the phase is for, shown under its title.
    #[serde(default)]
    pub goal: String,
    /// How long it is planned to last (the agenda; presets the phase timer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    pub questions: Vec<QuestionDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub note_kind: NoteKind,
    /// Ids of entries in [`Template::categories`]; empty when notes carry none.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// What a note on a question stands for; reports group notes by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A free contribution to the discussion.
    #[default]
    Idea,
    /// Something the territory already has (the map of social raw material).
    Resource,
    /// A pledge: what the author's organization puts on the table; the
    /// category is the resource type.
    Pledge,
    /// A need or fragility not yet met.
    Need,
    /// An expectation addressed to a sector; the category names the sector.
    Expectation,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Idea => "idea",
            NoteKind::Resource => "resource",
            NoteKind::Pledge => "pledge",
            NoteKind::Need => "need",
            NoteKind::Expectation => "expectation",
        }
    }

    /// Every kind, in the order the format documents them.
    pub const ALL: [NoteKind; 5] = [
        NoteKind::Idea,
        NoteKind::Resource,
        NoteKind::Pledge,
        NoteKind::Need,
        NoteKind::Expectation,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

fn default_vote_budget() -> u32 {
    3
}

/// What is wrong with a template, as a stable machine code. The web app keys
/// its messages on these (`template.problem.<code>`), so a code is never
/// renamed. Each variant lists the `params` its problems carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The source is larger than [`MAX_SOURCE_BYTES`]: `size`, `max`.
    TooLarge,
    /// Not valid TOML: `detail` (the parser's English text).
    Syntax,
    /// A key the format does not know: `field`, `expected` (the known keys).
    UnknownField,
    /// A required key is absent: `field`.
    MissingField,
    /// A value of the wrong type: `field`, `expected` (`text`, `integer`,
    /// `list` or `table`), `detail`.
    WrongType,
    /// `phases` is absent or empty.
    NoPhases,
    /// A phase without questions: `phase`.
    NoQuestions,
    /// More than [`MAX_PHASES`]: `count`, `max`.
    TooManyPhases,
    /// More than [`MAX_QUESTIONS_PER_PHASE`]: `phase`, `count`, `max`.
    TooManyQuestions,
    /// More than [`MAX_CATEGORIES`]: `count`, `max`.
    TooManyCategories,
    /// An id that is not 1–64 characters of a-z, 0-9, `-`, `_`: `kind`
    /// (`template`, `phase`, `question`, `category`), `id`.
    InvalidId,
    /// A phase id used before: `id`, `first_line`.
    DuplicatePhaseId,
    /// A question id used before (anywhere in the template): `id`, `first_line`.
    DuplicateQuestionId,
    /// A category id used before: `id`, `first_line`.
    DuplicateCategoryId,
    /// A question names a category the template does not define:
    /// `question`, `category`.
    UnknownCategory,
    /// A question lists the same category twice: `question`, `category`, `first_line`.
    RepeatedCategory,
    /// The template's `title` is blank.
    EmptyTemplateTitle,
    /// A phase's `title` is blank: `phase`.
    EmptyPhaseTitle,
    /// A question's `text` is blank: `question`.
    EmptyQuestionText,
    /// A category's `label` is blank: `category`.
    EmptyCategoryLabel,
    /// A text longer than its limit: `field`, `length`, `max`.
    TextTooLong,
    /// `vote_budget` outside 1..=[`MAX_VOTE_BUDGET`]: `value`, `min`, `max`.
    VoteBudgetOutOfRange,
    /// A phase's `minutes` outside 1..=[`MAX_PHASE_MINUTES`]: `phase`, `value`, `min`, `max`.
    MinutesOutOfRange,
    /// A meeting default's start or end that is not `HH:MM`.
    BadTime,
    /// A `note_kind` that is not one of [`NoteKind`]: `value`, `expected`.
    UnknownNoteKind,
}

impl ProblemCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::TooLarge => "too_large",
            ProblemCode::Syntax => "syntax",
            ProblemCode::UnknownField => "unknown_field",
            ProblemCode::MissingField => "missing_field",
            ProblemCode::WrongType => "wrong_type",
            ProblemCode::NoPhases => "no_phases",
            ProblemCode::NoQuestions => "no_questions",
            ProblemCode::TooManyPhases => "too_many_phases",
            ProblemCode::TooManyQuestions => "too_many_questions",
            ProblemCode::TooManyCategories => "too_many_categories",
            ProblemCode::InvalidId => "invalid_id",
            ProblemCode::DuplicatePhaseId => "duplicate_phase_id",
            ProblemCode::DuplicateQuestionId => "duplicate_question_id",
            ProblemCode::DuplicateCategoryId => "duplicate_category_id",
            ProblemCode::UnknownCategory => "unknown_category",
            ProblemCode::RepeatedCategory => "repeated_category",
            ProblemCode::EmptyTemplateTitle => "empty_template_title",
            ProblemCode::EmptyPhaseTitle => "empty_phase_title",
            ProblemCode::EmptyQuestionText => "empty_question_text",
            ProblemCode::EmptyCategoryLabel => "empty_category_label",
            ProblemCode::TextTooLong => "text_too_long",
            ProblemCode::VoteBudgetOutOfRange => "vote_budget_out_of_range",
            ProblemCode::MinutesOutOfRange => "minutes_out_of_range",
            ProblemCode::BadTime => "bad_time",
            ProblemCode::UnknownNoteKind => "unknown_note_kind",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with a template, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    pub code: ProblemCode,
    /// 1-based line of the offending value (or key, or table header).
    pub line: usize,
    /// 1-based column, in characters (Unicode scalar values) from the
    /// start of the line.
    pub column: usize,
    /// Where in the template's structure, e.g.
    /// `phases[2].questions[0].categories[1]`; empty for the whole template.
    pub path: String,
    /// The values the message names, by the names [`ProblemCode`] lists.
    pub params: BTreeMap<String, String>,
    /// The problem in English, without the position.
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Why a template was refused: at least one problem, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    problems: Vec<TemplateProblem>,
}

impl TemplateError {
    fn new(mut problems: Vec<TemplateProblem>) -> Self {
        assert!(!problems.is_empty(), "a refusal names its problem");
        problems.sort_by_key(|p| (p.line, p.column));
        Self { problems }
    }

    /// The problem nearest the top of the file.
    pub fn first(&self) -> &TemplateProblem {
        &self.problems[0]
    }

    /// Every problem found (at most twenty), in source order.
    pub fn problems(&self) -> &[TemplateProblem] {
        &self.problems
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first())?;
        match self.problems.len() {
            1 => Ok(()),
            2 => write!(f, " (and 1 more problem)"),
            n => write!(f, " (and {} more problems)", n - 1),
        }
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parses and validates a template from TOML source. A refusal names
    /// every problem found with its line and column (a TOML syntax error or
    /// a wrongly typed value stops the reading: it is then the only one).
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut checker = Checker::new(source);
        if source.len() > MAX_SOURCE_BYTES {
            checker.report(
                ProblemCode::TooLarge,
                0..0,
                String::new(),
                &[
                    ("size", source.len().to_string()),
                    ("max", MAX_SOURCE_BYTES.to_string()),
                ],
                format!(
                    "template is {} bytes, more than the {MAX_SOURCE_BYTES} allowed",
                    source.len()
                ),
            );
            return Err(checker.into_error());
        }
        let table = match toml::de::DeTable::parse(source) {
            Ok(table) => table,
            Err(e) => {
                checker.report(
                    ProblemCode::Syntax,
                    e.span().unwrap_or(0..0),
                    String::new(),
                    &[("detail", e.message().to_string())],
                    format!("template is not valid TOML: {}", e.message()),
                );
                return Err(checker.into_error());
            }
        };
        let raw = match RawTemplate::deserialize(toml::de::Deserializer::from(table.clone())) {
            Ok(raw) => raw,
            Err(e) => {
                checker.data_error(&e, table.get_ref());
                return Err(checker.into_error());
            }
        };
        checker.template(&raw);
        if checker.problems.is_empty() {
            Ok(raw.into_template())
        } else {
            Err(checker.into_error())
        }
    }

    /// Checks a template built in code (not read from a file) by the same
    /// rules as [`Template::parse`]; positions then refer to the template's
    /// canonical TOML rendering.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let source = toml::to_string(self).map_err(|e| {
            TemplateError::new(vec![TemplateProblem {
                code: ProblemCode::Syntax,
                line: 1,
                column: 1,
                path: String::new(),
                params: BTreeMap::from([("detail".to_string(), e.to_string())]),
                message: format!("template cannot be written as TOML: {e}"),
            }])
        })?;
        Self::parse(&source).map(|_| ())
    }

    /// The category definitions a question offers, in its order.
    pub fn question_categories<'a>(&'a self, q: &'a QuestionDef) -> Vec<&'a CategoryDef> {
        q.categories
            .iter()
            .filter_map(|id| self.categories.iter().find(|c| &c.id == id))
            .collect()
    }

    /// The built-in templates, parsed.
    /// The template a session was made from, read back from its session
    /// document (which holds every phase, question and category), so a
    /// session can be followed by another with the same questions even
    /// when its template was uploaded and never stored. The phases' planned
    /// minutes are the session's, as the facilitator left them.
    pub fn from_session(s: &crate::SessionDoc) -> Template {
        let mut categories: Vec<CategoryDef> = Vec::new();
        for c in s
            .phases
            .iter()
            .flat_map(|p| &p.questions)
            .flat_map(|q| &q.categories)
        {
            if !categories.iter().any(|k| k.id == c.id) {
                categories.push(CategoryDef {
                    id: c.id.clone(),
                    label: c.label.clone(),
                });
            }
        }
        Template {
            id: s.template.clone(),
            title: s.title.clone(),
            description: String::new(),
            vote_budget: u32::try_from(s.vote_budget).unwrap_or_else(|_| default_vote_budget()),
            categories,
            phases: s
                .phases
                .iter()
                .map(|p| PhaseDef {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    goal: p.goal.clone(),
                    minutes: p.minutes.and_then(|m| u32::try_from(m).ok()),
                    questions: p
                        .questions
                        .iter()
                        .map(|q| QuestionDef {
                            id: q.id.clone(),
                            text: q.text.clone(),
                            note_kind: NoteKind::parse(&q.note_kind).unwrap_or_default(),
                            categories: q.categories.iter().map(|c| c.id.clone()).collect(),
                        })
                        .collect(),
                })
                .collect(),
            privacy_controller: s.privacy_controller.clone(),
            privacy_contact: s.privacy_contact.clone(),
            // A follow-up takes its meeting data from the previous meeting
            // (`record::follow_up_meeting`), not from defaults.
            meeting: MeetingDefaults::default(),
        }
    }

    pub fn builtins() -> Vec<Template> {
        BUILTIN_SOURCES
            .iter()
            .map(|src| Template::parse(src).expect("built-in templates are valid (tested)"))
            .collect()
    }

    /// A built-in template by id.
    pub fn builtin(id: &str) -> Option<Template> {
        Self::builtins().into_iter().find(|t| t.id == id)
    }

    /// The TOML source of a built-in template, comments included: where a
    /// facilitator starts when writing their own.
    pub fn builtin_source(id: &str) -> Option<&'static str> {
        BUILTIN_SOURCES
            .iter()
            .copied()
            .find(|src| Template::parse(src).is_ok_and(|t| t.id == id))
    }
}

// The template as read, every value with its place in the source. Optional
// fields are `Option` so that "absent" and "empty" can be told apart.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    description: Option<Spanned<String>>,
    #[serde(default)]
    vote_budget: Option<Spanned<i64>>,
    #[serde(default)]
    categories: Option<Spanned<Vec<Spanned<RawCategory>>>>,
    #[serde(default)]
    phases: Option<Spanned<Vec<Spanned<RawPhase>>>>,
    #[serde(default)]
    privacy_controller: Option<Spanned<String>>,
    #[serde(default)]
    privacy_contact: Option<Spanned<String>>,
    #[serde(default)]
    meeting: Option<Spanned<RawMeeting>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeeting {
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    number: Option<Spanned<String>>,
    #[serde(default)]
    place: Option<Spanned<String>>,
    #[serde(default)]
    start: Option<Spanned<String>>,
    #[serde(default)]
    end: Option<Spanned<String>>,
    #[serde(default)]
    responsible: Option<Spanned<String>>,
}

impl RawMeeting {
    fn fields(&self) -> [(&'static str, &Option<Spanned<String>>); 6] {
        [
            ("title", &self.title),
            ("number", &self.number),
            ("place", &self.place),
            ("start", &self.start),
            ("end", &self.end),
            ("responsible", &self.responsible),
        ]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: Spanned<String>,
    label: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    goal: Option<Spanned<String>>,
    #[serde(default)]
    minutes: Option<Spanned<i64>>,
    #[serde(default)]
    questions: Option<Spanned<Vec<Spanned<RawQuestion>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    text: Spanned<String>,
    #[serde(default)]
    note_kind: Option<Spanned<String>>,
    #[serde(default)]
    categories: Option<Spanned<Vec<Spanned<String>>>>,
}

fn items<T>(list: &Option<Spanned<Vec<Spanned<T>>>>) -> &[Spanned<T>] {
    list.as_ref().map_or(&[], |l| l.get_ref().as_slice())
}

fn text_of(s: &Option<Spanned<String>>) -> String {
    s.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default()
}

impl RawTemplate {
    /// The plain template; only called once every check has passed.
    fn into_template(self) -> Template {
        Template {
            id: self.id.into_inner(),
            title: self.title.into_inner(),
            description: text_of(&self.description),
            privacy_controller: text_of(&self.privacy_controller),
            privacy_contact: text_of(&self.privacy_contact),
            meeting: self
                .meeting
                .as_ref()
                .map(|m| {
                    let m = m.get_ref();
                    MeetingDefaults {
                        title: text_of(&m.title),
                        number: text_of(&m.number),
                        place: text_of(&m.place),
                        start: text_of(&m.start),
                        end: text_of(&m.end),
                        responsible: text_of(&m.responsible),
                    }
                })
                .unwrap_or_default(),
            vote_budget: self
                .vote_budget
                .and_then(|v| u32::try_from(*v.get_ref()).ok())
                .unwrap_or_else(default_vote_budget),
            categories: items(&self.categories)
                .iter()
                .map(|c| CategoryDef {
                    id: c.get_ref().id.get_ref().clone(),
                    label: c.get_ref().label.get_ref().clone(),
                })
                .collect(),
            phases: items(&self.phases)
                .iter()
                .map(|p| {
                    let p = p.get_ref();
                    PhaseDef {
                        id: p.id.get_ref().clone(),
                        title: p.title.get_ref().clone(),
                        goal: text_of(&p.goal),
                        minutes: p
                            .minutes
                            .as_ref()
                            .and_then(|m| u32::try_from(*m.get_ref()).ok())
                            .filter(|m| (1..=MAX_PHASE_MINUTES).contains(m)),
                        questions: items(&p.questions)
                            .iter()
                            .map(|q| {
                                let q = q.get_ref();
                                QuestionDef {
                                    id: q.id.get_ref().clone(),
                                    text: q.text.get_ref().clone(),
                                    note_kind: q
                                        .note_kind
                                        .as_ref()
                                        .and_then(|k| NoteKind::parse(k.get_ref()))
                                        .unwrap_or_default(),
                                    categories: items(&q.categories)
                                        .iter()
                                        .map(|c| c.get_ref().clone())
                                        .collect(),
                                }
                            })
                            .collect(),
                    }
                })
                .collect(),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Collects problems with their positions.
struct Checker<'s> {
    source: &'s str,
    problems: Vec<TemplateProblem>,
}

/// What an id names, for [`ProblemCode::InvalidId`].
#[derive(Clone, Copy)]
enum IdKind {
    Template,
    Phase,
    Question,
    Category,
}

impl IdKind {
    fn as_str(self) -> &'static str {
        match self {
            IdKind::Template => "template",
            IdKind::Phase => "phase",
            IdKind::Question => "question",
            IdKind::Category => "category",
        }
    }
}

impl<'s> Checker<'s> {
    fn new(source: &'s str) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    fn into_error(self) -> TemplateError {
        TemplateError::new(self.problems)
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        position(self.source, span.start).0
    }

    fn report(
        &mut self,
        code: ProblemCode,
        span: Range<usize>,
        path: String,
        params: &[(&str, String)],
        message: String,
    ) {
        if self.problems.len() >= MAX_PROBLEMS {
            return;
        }
        let (line, column) = position(self.source, span.start);
        self.problems.push(TemplateProblem {
            code,
            line,
            column,
            path,
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            message,
        });
    }

    /// A value `toml` could not fit into the template's shape: an unknown
    /// or missing key, or a value of the wrong type.
    fn data_error(&mut self, e: &toml::de::Error, table: &toml::de::DeTable<'_>) {
        let span = e.span().unwrap_or(0..0);
        let path = path_of_span(table, &span).unwrap_or_default();
        let message = e.message();
        let quoted = |s: &str| s.split('`').nth(1).unwrap_or_default().to_string();
        if let Some(rest) = message.strip_prefix("unknown field ") {
            let field = quoted(rest);
            let expected = rest
                .split_once("expected ")
                .map(|(_, e)| e.trim_start_matches("one of ").replace('`', ""))
                .unwrap_or_default();
            self.report(
                ProblemCode::UnknownField,
                span,
                path,
                &[("field", field.clone()), ("expected", expected.clone())],
                format!("unknown field \"{field}\" (expected one of: {expected})"),
            );
        } else if let Some(rest) = message.strip_prefix("missing field ") {
            let field = quoted(rest);
            self.report(
                ProblemCode::MissingField,
                span,
                path,
                &[("field", field.clone())],
                format!("missing required field \"{field}\""),
            );
        } else {
            let field = last_key(&path);
            let expected = expected_type(&path);
            let article = if expected == "integer" { "an" } else { "a" };
            self.report(
                ProblemCode::WrongType,
                span,
                path,
                &[
                    ("field", field.clone()),
                    ("expected", expected.to_string()),
                    ("detail", message.to_string()),
                ],
                format!("\"{field}\" must be {article} {expected} ({message})"),
            );
        }
    }

    fn id(&mut self, kind: IdKind, id: &Spanned<String>, path: String) {
        let s = id.get_ref();
        let ok = !s.is_empty()
            && s.len() <= MAX_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            self.report(
                ProblemCode::InvalidId,
                id.span(),
                path,
                &[("kind", kind.as_str().to_string()), ("id", s.clone())],
                format!(
                    "{} id \"{s}\" must be 1–{MAX_ID_LEN} characters of a-z, 0-9, '-' or '_'",
                    kind.as_str()
                ),
            );
        }
    }

    /// Records `id` as seen; reports it when it was seen before.
    fn unique<'a>(
        &mut self,
        seen: &mut HashMap<&'a str, usize>,
        id: &'a Spanned<String>,
        code: ProblemCode,
        what: &str,
        path: String,
    ) {
        let line = self.line_of(&id.span());
        match seen.get(id.get_ref().as_str()) {
            Some(&first_line) => self.report(
                code,
                id.span(),
                path,
                &[
                    ("id", id.get_ref().clone()),
                    ("first_line", first_line.to_string()),
                ],
                format!(
                    "{what} id \"{}\" is used twice (first on line {first_line})",
                    id.get_ref()
                ),
            ),
            None => {
                seen.insert(id.get_ref(), line);
            }
        }
    }

    /// A text within its length limit; `field` names it for the message.
    fn length(&mut self, s: &Spanned<String>, max: usize, field: &str, path: String) {
        let length = s.get_ref().chars().count();
        if length > max {
            self.report(
                ProblemCode::TextTooLong,
                s.span(),
                path,
                &[
                    ("field", field.to_string()),
                    ("length", length.to_string()),
                    ("max", max.to_string()),
                ],
                format!("{field} is {length} characters long, at most {max} are allowed"),
            );
        }
    }

    /// A blank text: `code`, with `params` and `message`.
    fn not_blank(
        &mut self,
        s: &Spanned<String>,
        code: ProblemCode,
        params: &[(&str, String)],
        message: String,
        path: String,
    ) {
        if s.get_ref().trim().is_empty() {
            self.report(code, s.span(), path, params, message);
        }
    }

    fn template(&mut self, t: &RawTemplate) {
        self.id(IdKind::Template, &t.id, "id".into());
        self.not_blank(
            &t.title,
            ProblemCode::EmptyTemplateTitle,
            &[],
            "template title is empty".into(),
            "title".into(),
        );
        self.length(&t.title, MAX_TEXT_CHARS, "title", "title".into());
        if let Some(d) = &t.description {
            self.length(
                d,
                MAX_DESCRIPTION_CHARS,
                "description",
                "description".into(),
            );
        }
        for (field, value) in [
            ("privacy_controller", &t.privacy_controller),
            ("privacy_contact", &t.privacy_contact),
        ] {
            if let Some(v) = value {
                self.length(v, MAX_TEXT_CHARS, field, field.into());
            }
        }
        if let Some(m) = &t.meeting {
            for (field, value) in m.get_ref().fields() {
                let Some(v) = value else { continue };
                let path = format!("meeting.{field}");
                if matches!(field, "start" | "end")
                    && !v.get_ref().is_empty()
                    && !crate::record::is_time(v.get_ref())
                {
                    self.report(
                        ProblemCode::BadTime,
                        v.span(),
                        path,
                        &[("field", field.to_string()), ("value", v.get_ref().clone())],
                        format!(
                            "meeting {field} must be a time as HH:MM, not \"{}\"",
                            v.get_ref()
                        ),
                    );
                } else {
                    self.length(v, crate::record::MAX_LINE_CHARS, field, path);
                }
            }
        }
        if let Some(budget) = &t.vote_budget {
            let value = *budget.get_ref();
            if !(1..=i64::from(MAX_VOTE_BUDGET)).contains(&value) {
                self.report(
                    ProblemCode::VoteBudgetOutOfRange,
                    budget.span(),
                    "vote_budget".into(),
                    &[
                        ("value", value.to_string()),
                        ("min", "1".into()),
                        ("max", MAX_VOTE_BUDGET.to_string()),
                    ],
                    format!("vote_budget must be between 1 and {MAX_VOTE_BUDGET}, found {value}"),
                );
            }
        }

        let categories = items(&t.categories);
        if let Some(extra) = categories.get(MAX_CATEGORIES) {
            self.report(
                ProblemCode::TooManyCategories,
                extra.span(),
                format!("categories[{MAX_CATEGORIES}]"),
                &[
                    ("count", categories.len().to_string()),
                    ("max", MAX_CATEGORIES.to_string()),
                ],
                format!(
                    "template has {} categories, at most {MAX_CATEGORIES} are allowed",
                    categories.len()
                ),
            );
        }
        let mut category_ids = HashMap::new();
        for (i, c) in categories.iter().enumerate() {
            let c = c.get_ref();
            let path = format!("categories[{i}]");
            self.id(IdKind::Category, &c.id, format!("{path}.id"));
            self.unique(
                &mut category_ids,
                &c.id,
                ProblemCode::DuplicateCategoryId,
                "category",
                format!("{path}.id"),
            );
            self.not_blank(
                &c.label,
                ProblemCode::EmptyCategoryLabel,
                &[("category", c.id.get_ref().clone())],
                format!("category \"{}\" has an empty label", c.id.get_ref()),
                format!("{path}.label"),
            );
            self.length(&c.label, MAX_TEXT_CHARS, "label", format!("{path}.label"));
        }

        let phases = items(&t.phases);
        if phases.is_empty() {
            // Point at `phases = []`, or at the top when there is no such key.
            let span = t.phases.as_ref().map_or(0..0, Spanned::span);
            self.report(
                ProblemCode::NoPhases,
                span,
                "phases".into(),
                &[],
                "template has no phases".into(),
            );
        }
        if let Some(extra) = phases.get(MAX_PHASES) {
            self.report(
                ProblemCode::TooManyPhases,
                extra.span(),
                format!("phases[{MAX_PHASES}]"),
                &[
                    ("count", phases.len().to_string()),
                    ("max", MAX_PHASES.to_string()),
                ],
                format!(
                    "template has {} phases, at most {MAX_PHASES} are allowed",
                    phases.len()
                ),
            );
        }
        let mut phase_ids = HashMap::new();
        let mut question_ids = HashMap::new();
        for (i, phase) in phases.iter().enumerate() {
            let path = format!("phases[{i}]");
            let p = phase.get_ref();
            let pid = p.id.get_ref().clone();
            self.id(IdKind::Phase, &p.id, format!("{path}.id"));
            self.unique(
                &mut phase_ids,
                &p.id,
                ProblemCode::DuplicatePhaseId,
                "phase",
                format!("{path}.id"),
            );
            self.not_blank(
                &p.title,
                ProblemCode::EmptyPhaseTitle,
                &[("phase", pid.clone())],
                format!("phase \"{pid}\" has an empty title"),
                format!("{path}.title"),
            );
            self.length(&p.title, MAX_TEXT_CHARS, "title", format!("{path}.title"));
            if let Some(goal) = &p.goal {
                self.length(goal, MAX_TEXT_CHARS, "goal", format!("{path}.goal"));
            }
            if let Some(minutes) = &p.minutes {
                let value = *minutes.get_ref();
                if !(1..=i64::from(MAX_PHASE_MINUTES)).contains(&value) {
                    self.report(
                        ProblemCode::MinutesOutOfRange,
                        minutes.span(),
                        format!("{path}.minutes"),
                        &[
                            ("phase", pid.clone()),
                            ("value", value.to_string()),
                            ("min", "1".into()),
                            ("max", MAX_PHASE_MINUTES.to_string()),
                        ],
                        format!("phase \"{pid}\" minutes must be between 1 and {MAX_PHASE_MINUTES}, found {value}"),
                    );
                }
            }
            let questions = items(&p.questions);
            if questions.is_empty() {
                // `questions = []`, or the phase's header when it has none.
                let span = p.questions.as_ref().map_or(phase.span(), Spanned::span);
                self.report(
                    ProblemCode::NoQuestions,
                    span,
                    format!("{path}.questions"),
                    &[("phase", pid.clone())],
                    format!("phase \"{pid}\" has no questions"),
                );
            }
            if let Some(extra) = questions.get(MAX_QUESTIONS_PER_PHASE) {
                self.report(
                    ProblemCode::TooManyQuestions,
                    extra.span(),
                    format!("{path}.questions[{MAX_QUESTIONS_PER_PHASE}]"),
                    &[
                        ("phase", pid.clone()),
                        ("count", questions.len().to_string()),
                        ("max", MAX_QUESTIONS_PER_PHASE.to_string()),
                    ],
                    format!(
                        "phase \"{pid}\" has {} questions, at most {MAX_QUESTIONS_PER_PHASE} are allowed",
                        questions.len()
                    ),
                );
            }
            for (j, q) in questions.iter().enumerate() {
                self.question(
                    q.get_ref(),
                    &format!("{path}.questions[{j}]"),
                    &mut question_ids,
                    &category_ids,
                );
            }
        }
    }

    fn question<'a>(
        &mut self,
        q: &'a RawQuestion,
        path: &str,
        question_ids: &mut HashMap<&'a str, usize>,
        category_ids: &HashMap<&str, usize>,
    ) {
        let qid = q.id.get_ref().clone();
        self.id(IdKind::Question, &q.id, format!("{path}.id"));
        self.unique(
            question_ids,
            &q.id,
            ProblemCode::DuplicateQuestionId,
            "question",
            format!("{path}.id"),
        );
        self.not_blank(
            &q.text,
            ProblemCode::EmptyQuestionText,
            &[("question", qid.clone())],
            format!("question \"{qid}\" has an empty text"),
            format!("{path}.text"),
        );
        self.length(&q.text, MAX_TEXT_CHARS, "text", format!("{path}.text"));
        if let Some(kind) = &q.note_kind
            && NoteKind::parse(kind.get_ref()).is_none()
        {
            let expected = NoteKind::ALL.map(NoteKind::as_str).join(", ");
            self.report(
                ProblemCode::UnknownNoteKind,
                kind.span(),
                format!("{path}.note_kind"),
                &[
                    ("value", kind.get_ref().clone()),
                    ("expected", expected.clone()),
                ],
                format!(
                    "unknown note_kind \"{}\" (expected one of: {expected})",
                    kind.get_ref()
                ),
            );
        }
        let mut listed: HashMap<&str, usize> = HashMap::new();
        for (k, c) in items(&q.categories).iter().enumerate() {
            let path = format!("{path}.categories[{k}]");
            let name = c.get_ref().as_str();
            if !category_ids.contains_key(name) {
                self.report(
                    ProblemCode::UnknownCategory,
                    c.span(),
                    path,
                    &[("question", qid.clone()), ("category", name.to_string())],
                    format!("question \"{qid}\" names unknown category \"{name}\""),
                );
            } else if let Some(&first_line) = listed.get(name) {
                self.report(
                    ProblemCode::RepeatedCategory,
                    c.span(),
                    path,
                    &[
                        ("question", qid.clone()),
                        ("category", name.to_string()),
                        ("first_line", first_line.to_string()),
                    ],
                    format!("question \"{qid}\" lists category \"{name}\" twice"),
                );
            } else {
                listed.insert(name, self.line_of(&c.span()));
            }
        }
    }
}

/// The path (`phases[0].questions[1].text`) of the key or value whose span
/// is `span`, searched depth-first; `None` for the document itself.
fn path_of_span(table: &toml::de::DeTable<'_>, span: &Range<usize>) -> Option<String> {
    fn in_value(v: &toml::de::DeValue<'_>, span: &Range<usize>, path: &str) -> Option<String> {
        match v {
            toml::de::DeValue::Table(t) => in_table(t, span, path),
            toml::de::DeValue::Array(a) => a.iter().enumerate().find_map(|(i, e)| {
                let p = format!("{path}[{i}]");
                in_value(e.get_ref(), span, &p).or_else(|| (e.span() == *span).then_some(p))
            }),
            _ => None,
        }
    }
    fn in_table(t: &toml::de::DeTable<'_>, span: &Range<usize>, path: &str) -> Option<String> {
        t.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{path}.{}", k.get_ref())
            };
            // Deeper first: an array of tables shares its span with its
            // first table's header, and the table is the better answer.
            if k.span() == *span {
                return Some(p);
            }
            in_value(v.get_ref(), span, &p).or_else(|| (v.span() == *span).then_some(p))
        })
    }
    in_table(table, span, "")
}

/// The last named key of a path: `categories` for `phases[0].questions[1].categories[2]`.
fn last_key(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or_default();
    last.split('[').next().unwrap_or_default().to_string()
}

/// What the template format expects at `path`: `text`, `integer`, `list`
/// or `table`.
fn expected_type(path: &str) -> &'static str {
    let last = path.rsplit('.').next().unwrap_or_default();
    let is_element = last.ends_with(']');
    match last_key(path).as_str() {
        "" => "table",
        "vote_budget" => "integer",
        // A question's categories are a list of ids (texts); the template's
        // are a list of tables.
        "categories" if is_element && path.contains("questions[") => "text",
        "phases" | "questions" | "categories" if is_element => "table",
        "phases" | "questions" | "categories" => "list",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's guiding questions, verbatim: the template must carry all of them.
    const SEED_QUESTIONS: &[&str] = &[
        "Perché proprio noi dovremmo essere i primi a scommettere sull'Opificio?",
        "Quale è la 'materia prima' sociale che Santarcangelo può mettere a disposizione dell'Opificio (tradizioni, competenze, relazioni già esistenti)?",
        "Cosa possiamo mettere concretamente sul tavolo per farlo partire?",
        "Cosa serve al nostro territorio per produrre benessere insieme?",
        "Quali sono le nostre aspettative reciproche in questa alleanza?",
        "Quali pratiche di collaborazione, cura e mutuo aiuto sono già presenti nel nostro territorio e meritano di essere rese visibili, strategiche e continuative?",
        "Perché proprio noi possiamo essere il nucleo fondativo di questo cambiamento? Qual è la responsabilità che possiamo assumerci?",
        "Qual è la “dote sociale” che Santarcangelo già possiede e può mettere a disposizione dell’Opificio (relazioni, tradizioni, spazi, competenze diffuse)?",
        "Cosa possiamo attivare concretamente da subito per avviare il processo?",
        "Quali bisogni oggi non intercettati possono trovare risposta attraverso forme nuove di alleanza tra pubblico, privato sociale e comunità?",
        "Quali relazioni oggi mancano e andrebbero generate per tessere un benessere realmente condiviso e anticipatorio?",
        "Quali aspettative reciproche vogliamo esplicitare fin da subito per rendere l’alleanza solida, trasparente e generativa?",
    ];

    #[test]
    fn builtin_template_carries_the_seeds_five_phases_and_every_question() {
        let t = Template::builtin(DEFAULT_TEMPLATE_ID).expect("built-in exists");
        let phases: Vec<_> = t.phases.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            phases,
            [
                "Legittimazione reciproca",
                "Materia prima e dote sociale",
                "Contributi",
                "Bisogni",
                "Aspettative reciproche"
            ]
        );
        let texts: Vec<_> = t
            .phases
            .iter()
            .flat_map(|p| p.questions.iter().map(|q| q.text.as_str()))
            .collect();
        for q in SEED_QUESTIONS {
            assert!(texts.contains(q), "missing guiding question: {q}");
        }
        assert_eq!(texts.len(), SEED_QUESTIONS.len());
    }

    #[test]
    fn builtin_template_names_the_design_categories() {
        let t = Template::builtin(DEFAULT_TEMPLATE_ID).expect("built-in exists");
        let map = &t.phases[1].questions[0];
        assert_eq!(
            map.categories,
            ["competenze", "spazi", "tradizioni", "relazioni", "pratiche"]
        );
        let pledges = &t.phases[2].questions[0];
        assert_eq!(pledges.note_kind, NoteKind::Pledge);
        let labels: Vec<_> = t
            .question_categories(pledges)
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "Spazio",
                "Competenze",
                "Tempo / volontari",
                "Attrezzature",
                "Relazioni",
                "Risorse economiche"
            ]
        );
        let expectations = &t.phases[4].questions[0];
        assert_eq!(expectations.note_kind, NoteKind::Expectation);
        assert_eq!(expectations.categories.len(), 3);
    }

    /// Line numbers in the tests below refer to this text.
    const MINIMAL: &str = "\
id = \"t\"
title = \"T\"
[[categories]]
id = \"a\"
label = \"A\"
[[phases]]
id = \"p1\"
title = \"Uno\"
[[phases.questions]]
id = \"q1\"
text = \"Domanda?\"
categories = [\"a\"]
";

    /// `MINIMAL` with `from` replaced by `to` (which must occur).
    fn edit(from: &str, to: &str) -> String {
        assert!(MINIMAL.contains(from), "{from}");
        MINIMAL.replacen(from, to, 1)
    }

    fn refused(source: &str) -> TemplateProblem {
        Template::parse(source)
            .expect_err("template must be refused")
            .first()
            .clone()
    }

    /// Asserts the first problem's code and position.
    #[track_caller]
    fn assert_refused(
        source: &str,
        code: ProblemCode,
        line: usize,
        column: usize,
    ) -> TemplateProblem {
        let p = refused(source);
        assert_eq!(
            (p.code, p.line, p.column),
            (code, line, column),
            "{p} (path {}, params {:?})",
            p.path,
            p.params
        );
        p
    }

    fn param<'a>(p: &'a TemplateProblem, name: &str) -> &'a str {
        p.params.get(name).map_or("", String::as_str)
    }

    #[test]
    fn minimal_template_parses() {
        let t = Template::parse(MINIMAL).expect("valid");
        assert_eq!(t.vote_budget, 3);
        assert_eq!(t.phases[0].questions[0].note_kind, NoteKind::Idea);
        assert_eq!(t.phases[0].questions[0].categories, ["a"]);
    }

    #[test]
    fn an_unknown_category_is_pointed_at_in_its_question() {
        let p = assert_refused(
            &edit("categories = [\"a\"]", "categories = [\"a\", \"b\"]"),
            ProblemCode::UnknownCategory,
            12,
            20,
        );
        assert_eq!(p.path, "phases[0].questions[0].categories[1]");
        assert_eq!((param(&p, "question"), param(&p, "category")), ("q1", "b"));
        assert_eq!(p.message, "question \"q1\" names unknown category \"b\"");
        assert_eq!(
            p.to_string(),
            "line 12, column 20: question \"q1\" names unknown category \"b\""
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let p = assert_refused(
            &edit("categories = [\"a\"]", "categories = [\"é\", \"b\"]"),
            ProblemCode::UnknownCategory,
            12,
            15,
        );
        assert_eq!(param(&p, "category"), "é");
        let problems =
            Template::parse(&edit("categories = [\"a\"]", "categories = [\"é\", \"b\"]"))
                .unwrap_err()
                .problems()
                .to_vec();
        assert_eq!(problems[1].column, 20);
    }

    #[test]
    fn a_duplicate_phase_id_points_at_the_second_and_names_the_first_line() {
        let source = format!(
            "{MINIMAL}[[phases]]\nid = \"p1\"\ntitle = \"Due\"\n[[phases.questions]]\nid = \"q2\"\ntext = \"?\"\n"
        );
        let p = assert_refused(&source, ProblemCode::DuplicatePhaseId, 14, 6);
        assert_eq!(p.path, "phases[1].id");
        assert_eq!((param(&p, "id"), param(&p, "first_line")), ("p1", "7"));
        assert_eq!(p.message, "phase id \"p1\" is used twice (first on line 7)");
    }

    #[test]
    fn a_question_id_is_unique_across_phases() {
        let source = format!(
            "{MINIMAL}[[phases]]\nid = \"p2\"\ntitle = \"Due\"\n[[phases.questions]]\nid = \"q1\"\ntext = \"?\"\n"
        );
        let p = assert_refused(&source, ProblemCode::DuplicateQuestionId, 17, 6);
        assert_eq!(p.path, "phases[1].questions[0].id");
        assert_eq!(param(&p, "first_line"), "10");
    }

    #[test]
    fn a_duplicate_category_id_is_refused() {
        let source = edit(
            "[[phases]]\n",
            "[[categories]]\nid = \"a\"\nlabel = \"Altra\"\n[[phases]]\n",
        );
        let p = assert_refused(&source, ProblemCode::DuplicateCategoryId, 7, 6);
        assert_eq!(p.path, "categories[1].id");
        assert_eq!(param(&p, "first_line"), "4");
    }

    #[test]
    fn a_question_listing_a_category_twice_is_refused() {
        let p = assert_refused(
            &edit("categories = [\"a\"]", "categories = [\"a\", \"a\"]"),
            ProblemCode::RepeatedCategory,
            12,
            20,
        );
        assert_eq!(param(&p, "first_line"), "12");
    }

    #[test]
    fn missing_phases_point_at_the_top_and_empty_phases_at_the_list() {
        assert_refused("id = \"t\"\ntitle = \"T\"\n", ProblemCode::NoPhases, 1, 1);
        let p = assert_refused(
            "id = \"t\"\ntitle = \"T\"\nphases = []\n",
            ProblemCode::NoPhases,
            3,
            10,
        );
        assert_eq!(p.message, "template has no phases");
    }

    #[test]
    fn a_phase_without_questions_points_at_the_phase_or_its_empty_list() {
        let header_only = "id = \"t\"\ntitle = \"T\"\n[[phases]]\nid = \"p1\"\ntitle = \"Uno\"\n";
        let p = assert_refused(header_only, ProblemCode::NoQuestions, 3, 1);
        assert_eq!(param(&p, "phase"), "p1");
        assert_refused(
            &format!("{header_only}questions = []\n"),
            ProblemCode::NoQuestions,
            6,
            13,
        );
    }

    #[test]
    fn ids_must_be_lowercase_ascii() {
        let p = assert_refused(
            &edit("id = \"q1\"", "id = \"Domanda 1\""),
            ProblemCode::InvalidId,
            10,
            6,
        );
        assert_eq!(
            (param(&p, "kind"), param(&p, "id")),
            ("question", "Domanda 1")
        );
        assert_refused(
            &edit("id = \"t\"", "id = \"\""),
            ProblemCode::InvalidId,
            1,
            6,
        );
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_refused(
            &edit("id = \"p1\"", &format!("id = \"{long}\"")),
            ProblemCode::InvalidId,
            7,
            6,
        );
    }

    #[test]
    fn empty_titles_texts_and_labels_are_refused() {
        assert_refused(
            &edit("title = \"T\"", "title = \" \""),
            ProblemCode::EmptyTemplateTitle,
            2,
            9,
        );
        let p = assert_refused(
            &edit("title = \"Uno\"", "title = \"\""),
            ProblemCode::EmptyPhaseTitle,
            8,
            9,
        );
        assert_eq!(param(&p, "phase"), "p1");
        let p = assert_refused(
            &edit("text = \"Domanda?\"", "text = \"\""),
            ProblemCode::EmptyQuestionText,
            11,
            8,
        );
        assert_eq!(param(&p, "question"), "q1");
        assert_refused(
            &edit("label = \"A\"", "label = \"\""),
            ProblemCode::EmptyCategoryLabel,
            5,
            9,
        );
    }

    #[test]
    fn a_phase_may_plan_its_minutes_within_range() {
        let t = Template::parse(&edit(
            "title = \"Uno\"\n",
            "title = \"Uno\"\nminutes = 25\n",
        ))
        .expect("valid");
        assert_eq!(t.phases[0].minutes, Some(25));
        assert_eq!(Template::parse(MINIMAL).unwrap().phases[0].minutes, None);
        for bad in ["0", "601", "-5"] {
            let p = assert_refused(
                &edit(
                    "title = \"Uno\"\n",
                    &format!("title = \"Uno\"\nminutes = {bad}\n"),
                ),
                ProblemCode::MinutesOutOfRange,
                9,
                11,
            );
            assert_eq!((param(&p, "phase"), param(&p, "value")), ("p1", bad));
        }
    }

    #[test]
    fn meeting_defaults_are_read_checked_and_kept_through_toml() {
        let src = edit(
            "title = \"T\"\n",
            "title = \"T\"\n[meeting]\ntitle = \"Tavolo\"\nplace = \"Sala\"\nstart = \"17:30\"\n",
        );
        let t = Template::parse(&src).expect("valid");
        assert_eq!(
            (
                t.meeting.title.as_str(),
                t.meeting.place.as_str(),
                t.meeting.start.as_str()
            ),
            ("Tavolo", "Sala", "17:30")
        );
        t.validate()
            .expect("the defaults survive the canonical TOML");
        let p = assert_refused(
            &edit(
                "title = \"T\"\n",
                "title = \"T\"\n[meeting]\nstart = \"5 e mezza\"\n",
            ),
            ProblemCode::BadTime,
            4,
            9,
        );
        assert_eq!(
            (p.path.as_str(), param(&p, "field")),
            ("meeting.start", "start")
        );
        let long = "x".repeat(crate::record::MAX_LINE_CHARS + 1);
        let p = refused(&edit(
            "title = \"T\"\n",
            &format!("title = \"T\"\n[meeting]\nplace = \"{long}\"\n"),
        ));
        assert_eq!(
            (p.code, p.path.as_str()),
            (ProblemCode::TextTooLong, "meeting.place")
        );
        let p = refused(&edit(
            "title = \"T\"\n",
            "title = \"T\"\n[meeting]\ndate = \"2026-03-14\"\n",
        ));
        assert_eq!(
            p.code,
            ProblemCode::UnknownField,
            "a date is each meeting's own"
        );
    }

    #[test]
    fn vote_budget_must_be_in_range_and_an_integer() {
        let p = assert_refused(
            &edit("title = \"T\"\n", "title = \"T\"\nvote_budget = 0\n"),
            ProblemCode::VoteBudgetOutOfRange,
            3,
            15,
        );
        assert_eq!((param(&p, "value"), param(&p, "max")), ("0", "50"));
        assert_refused(
            &edit("title = \"T\"\n", "title = \"T\"\nvote_budget = 51\n"),
            ProblemCode::VoteBudgetOutOfRange,
            3,
            15,
        );
        let p = assert_refused(
            &edit("title = \"T\"\n", "title = \"T\"\nvote_budget = \"tre\"\n"),
            ProblemCode::WrongType,
            3,
            15,
        );
        assert_eq!(
            (param(&p, "field"), param(&p, "expected")),
            ("vote_budget", "integer")
        );
        assert_eq!(p.path, "vote_budget");
    }

    #[test]
    fn an_unknown_note_kind_is_refused_with_the_known_ones() {
        let p = assert_refused(
            &edit(
                "text = \"Domanda?\"\n",
                "text = \"Domanda?\"\nnote_kind = \"wish\"\n",
            ),
            ProblemCode::UnknownNoteKind,
            12,
            13,
        );
        assert_eq!(param(&p, "value"), "wish");
        assert_eq!(
            param(&p, "expected"),
            "idea, resource, pledge, need, expectation"
        );
    }

    #[test]
    fn toml_syntax_errors_carry_their_position() {
        let p = assert_refused("id = ", ProblemCode::Syntax, 1, 6);
        assert!(p.message.starts_with("template is not valid TOML: "), "{p}");
        assert!(!param(&p, "detail").is_empty());
        assert_refused(
            &edit("title = \"Uno\"", "title = Uno"),
            ProblemCode::Syntax,
            8,
            9,
        );
        assert_refused(
            &edit("title = \"T\"\n", "title = \"T\"\ntitle = \"U\"\n"),
            ProblemCode::Syntax,
            3,
            1,
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let p = assert_refused(
            &edit("title = \"Uno\"", "titolo = \"Uno\""),
            ProblemCode::UnknownField,
            8,
            1,
        );
        assert_eq!(p.path, "phases[0].titolo");
        assert_eq!(param(&p, "field"), "titolo");
        assert!(param(&p, "expected").contains("title"), "{p}");
        let p = assert_refused(
            &edit("text = \"Domanda?\"\n", ""),
            ProblemCode::MissingField,
            9,
            1,
        );
        assert_eq!(p.path, "phases[0].questions[0]");
        assert_eq!(param(&p, "field"), "text");
        let p = assert_refused(
            &edit("title = \"T\"\n", ""),
            ProblemCode::MissingField,
            1,
            1,
        );
        assert_eq!((p.path.as_str(), param(&p, "field")), ("", "title"));
    }

    #[test]
    fn a_wrongly_typed_list_names_what_was_expected() {
        let p = assert_refused(
            &edit("categories = [\"a\"]", "categories = \"a\""),
            ProblemCode::WrongType,
            12,
            14,
        );
        assert_eq!(p.path, "phases[0].questions[0].categories");
        assert_eq!(param(&p, "expected"), "list");
        let p = assert_refused(
            &edit("categories = [\"a\"]", "categories = [1]"),
            ProblemCode::WrongType,
            12,
            15,
        );
        assert_eq!(param(&p, "expected"), "text");
    }

    #[test]
    fn sizes_are_capped() {
        let big = format!("{MINIMAL}#{}\n", "x".repeat(MAX_SOURCE_BYTES));
        let p = assert_refused(&big, ProblemCode::TooLarge, 1, 1);
        assert_eq!(param(&p, "max"), "65536");

        let mut many_phases = "id = \"t\"\ntitle = \"T\"\n".to_string();
        for i in 0..=MAX_PHASES {
            many_phases.push_str(&format!(
                "[[phases]]\nid = \"p{i}\"\ntitle = \"P\"\n[[phases.questions]]\nid = \"q{i}\"\ntext = \"?\"\n"
            ));
        }
        // Six lines per phase after the two of the header: phase 21 starts on line 123.
        let p = assert_refused(
            &many_phases,
            ProblemCode::TooManyPhases,
            2 + 6 * MAX_PHASES + 1,
            1,
        );
        assert_eq!((param(&p, "count"), param(&p, "max")), ("21", "20"));

        let mut many_questions =
            "id = \"t\"\ntitle = \"T\"\n[[phases]]\nid = \"p\"\ntitle = \"P\"\n".to_string();
        for i in 0..=MAX_QUESTIONS_PER_PHASE {
            many_questions.push_str(&format!(
                "[[phases.questions]]\nid = \"q{i}\"\ntext = \"?\"\n"
            ));
        }
        let p = assert_refused(
            &many_questions,
            ProblemCode::TooManyQuestions,
            5 + 3 * MAX_QUESTIONS_PER_PHASE + 1,
            1,
        );
        assert_eq!(param(&p, "phase"), "p");

        let mut many_categories = "id = \"t\"\ntitle = \"T\"\n".to_string();
        for i in 0..=MAX_CATEGORIES {
            many_categories.push_str(&format!("[[categories]]\nid = \"c{i}\"\nlabel = \"C\"\n"));
        }
        many_categories.push_str("[[phases]]\nid = \"p\"\ntitle = \"P\"\n[[phases.questions]]\nid = \"q\"\ntext = \"?\"\n");
        assert_refused(
            &many_categories,
            ProblemCode::TooManyCategories,
            2 + 3 * MAX_CATEGORIES + 1,
            1,
        );

        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let p = assert_refused(
            &edit("text = \"Domanda?\"", &format!("text = \"{long}\"")),
            ProblemCode::TextTooLong,
            11,
            8,
        );
        assert_eq!(
            (param(&p, "field"), param(&p, "length"), param(&p, "max")),
            ("text", "501", "500")
        );
    }

    #[test]
    fn every_problem_is_reported_in_source_order() {
        let source = edit("title = \"Uno\"", "title = \"\"")
            .replacen("categories = [\"a\"]", "categories = [\"b\"]", 1)
            .replacen("id = \"t\"", "id = \"T\"", 1);
        let err = Template::parse(&source).unwrap_err();
        let found: Vec<_> = err.problems().iter().map(|p| (p.code, p.line)).collect();
        assert_eq!(
            found,
            [
                (ProblemCode::InvalidId, 1),
                (ProblemCode::EmptyPhaseTitle, 8),
                (ProblemCode::UnknownCategory, 12)
            ]
        );
        assert!(err.to_string().ends_with("(and 2 more problems)"), "{err}");
    }

    #[test]
    fn problems_serialize_with_their_code_as_text() {
        let p = refused(&edit("categories = [\"a\"]", "categories = [\"b\"]"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["code"], "unknown_category");
        assert_eq!(json["line"], 12);
        assert_eq!(json["params"]["category"], "b");
    }

    #[test]
    fn a_builtin_source_parses_to_the_builtin_template() {
        let source = Template::builtin_source(DEFAULT_TEMPLATE_ID).expect("built-in source");
        assert!(source.starts_with("# Built-in template"));
        assert_eq!(
            Template::parse(source).unwrap(),
            Template::builtin(DEFAULT_TEMPLATE_ID).unwrap()
        );
        assert!(Template::builtin_source("nope").is_none());
    }

    #[test]
    fn validate_applies_the_same_rules_to_a_template_built_in_code() {
        let mut t = Template::builtin(DEFAULT_TEMPLATE_ID).unwrap();
        assert_eq!(t.validate(), Ok(()));
        t.phases[1].questions[0].categories.push("nessuna".into());
        let err = t.validate().unwrap_err();
        assert_eq!(err.first().code, ProblemCode::UnknownCategory);
        assert_eq!(err.first().path, "phases[1].questions[0].categories[5]");
    }
}
