//! Building documents and editing them: every change a person (or the server)
//! makes goes through one of these functions, so the shapes stay those of the
//! contract. They work on anything transactable — an `AutoCommit` in the
//! browser, a `Transaction` in the server.

use crate::ids::ParticipantId;
use crate::read;
use crate::schema::{Category, Cluster, Participant, Phase, Question, QuestionDoc, SessionDoc};
use crate::template::Template;
use automerge::{ObjType, ROOT, ScalarValue};
use autosurgeon::{Doc, ReadDoc};
use std::collections::HashMap;

/// Longest note text accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Longest cluster title accepted, in characters.
pub const MAX_CLUSTER_TITLE_CHARS: usize = 120;
/// Longest moderation reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("note {0} does not exist")]
    NoSuchNote(String),
    #[error("cluster {0} does not exist")]
    NoSuchCluster(String),
    #[error("a note needs some text")]
    EmptyNote,
    #[error("a note may be at most {MAX_NOTE_CHARS} characters long")]
    NoteTooLong,
    #[error("a cluster title may be at most {MAX_CLUSTER_TITLE_CHARS} characters long")]
    TitleTooLong,
    #[error("a vote count cannot be negative")]
    NegativeVote,
    #[error("voting is closed on this question")]
    VotingClosed,
    #[error("no dots left: the budget is {0}")]
    OverBudget(i64),
    #[error("a cluster cannot be merged into itself")]
    MergeIntoItself,
    #[error("a reason may be at most {MAX_REASON_CHARS} characters long")]
    ReasonTooLong,
    #[error("document is missing its {0} map")]
    NotAQuestionDoc(&'static str),
    #[error("phase {0} does not exist")]
    NoSuchPhase(String),
    #[error("no timer is set")]
    NoTimer,
    #[error("a timer must last between a second and a day")]
    TimerOutOfRange,
    #[error("{0} is not a valid value for the record")]
    BadRecordField(&'static str),
    #[error(
        "the record holds at most {} commitments",
        crate::record::MAX_COMMITMENTS
    )]
    TooManyCommitments,
    #[error("commitment {0} does not exist")]
    NoSuchCommitment(String),
    #[error(transparent)]
    Automerge(Box<automerge::AutomergeError>),
    #[error(transparent)]
    Reconcile(Box<autosurgeon::ReconcileError>),
}

impl From<automerge::AutomergeError> for OpError {
    fn from(e: automerge::AutomergeError) -> Self {
        OpError::Automerge(Box::new(e))
    }
}

impl From<autosurgeon::ReconcileError> for OpError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        OpError::Reconcile(Box::new(e))
    }
}

/// Writes a string as a Text object. Automerge JS 3 reads Text as a plain
/// JavaScript string and a scalar string as an `ImmutableString` object,
/// which a stock app cannot pass to `repo.find` or compare with `===`; so
/// every string Tavolo writes is Text (every reader accepts both). A new
/// object per write keeps last-writer-wins between concurrent writers.
pub fn put_text<D: Doc>(
    doc: &mut D,
    obj: &automerge::ObjId,
    key: &str,
    value: &str,
) -> Result<(), OpError> {
    let t = doc.put_object(obj, key, ObjType::Text)?;
    if !value.is_empty() {
        doc.splice_text(&t, 0, 0, value)?;
    }
    Ok(())
}

/// Turns the scalar strings of a map, and of the maps and lists below it,
/// into Text (after autosurgeon wrote them as scalars).
fn strings_to_text<D: Doc>(doc: &mut D, obj: &automerge::ObjId) -> Result<(), OpError> {
    for key in read::keys(doc, obj) {
        let Some((value, id)) = doc.get(obj, key.as_str())? else {
            continue;
        };
        match value {
            automerge::Value::Scalar(s) => {
                if let ScalarValue::Str(text) = s.as_ref() {
                    let text = text.to_string();
                    put_text(doc, obj, &key, &text)?;
                }
            }
            automerge::Value::Object(ObjType::Map) => strings_to_text(doc, &id)?,
            automerge::Value::Object(ObjType::List) => {
                for i in 0..doc.length(&id) {
                    if let Some((automerge::Value::Object(ObjType::Map), item)) = doc.get(&id, i)? {
                        strings_to_text(doc, &item)?;
                    }
                }
            }
            automerge::Value::Object(_) => {}
        }
    }
    Ok(())
}

/// What `init_session_doc` needs besides the template.
#[derive(Debug, Clone)]
pub struct SessionInit<'a> {
    pub template: &'a Template,
    pub title: &'a str,
    pub roster_url: &'a str,
    /// question id → `automerge:` URL of its document.
    pub question_urls: &'a HashMap<String, String>,
}

/// The session document's content for a template (phase 1 current, nothing locked).
pub fn session_from_template(init: &SessionInit<'_>) -> SessionDoc {
    let t = init.template;
    SessionDoc {
        title: init.title.to_string(),
        template: t.id.clone(),
        current_phase: t.phases[0].id.clone(),
        roster_doc: init.roster_url.to_string(),
        vote_budget: i64::from(t.vote_budget),
        organizations_public: false,
        privacy_controller: t.privacy_controller.clone(),
        privacy_contact: t.privacy_contact.clone(),
        phases: t
            .phases
            .iter()
            .map(|p| Phase {
                id: p.id.clone(),
                title: p.title.clone(),
                goal: p.goal.clone(),
                locked: false,
                minutes: p.minutes.map(i64::from),
                questions: p
                    .questions
                    .iter()
                    .map(|q| Question {
                        id: q.id.clone(),
                        text: q.text.clone(),
                        note_kind: q.note_kind.as_str().to_string(),
                        doc_url: init.question_urls.get(&q.id).cloned().unwrap_or_default(),
                        categories: t
                            .question_categories(q)
                            .into_iter()
                            .map(|c| Category {
                                id: c.id.clone(),
                                label: c.label.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub fn init_session_doc<D: Doc>(doc: &mut D, init: &SessionInit<'_>) -> Result<(), OpError> {
    autosurgeon::reconcile(doc, session_from_template(init))?;
    strings_to_text(doc, &ROOT)?;
    crate::record::init_record(doc)?;
    for (field, value) in init.template.meeting.fields() {
        if !value.is_empty() {
            crate::record::set_meeting_field(doc, field, value)?;
        }
    }
    Ok(())
}

pub fn init_roster_doc<T: Doc>(doc: &mut T) -> Result<(), OpError> {
    doc.put_object(ROOT, "participants", ObjType::Map)?;
    Ok(())
}

pub fn init_question_doc<T: Doc>(doc: &mut T) -> Result<(), OpError> {
    doc.put_object(ROOT, "notes", ObjType::Map)?;
    doc.put_object(ROOT, "clusters", ObjType::Map)?;
    doc.put_object(ROOT, "votes", ObjType::Map)?;
    Ok(())
}

/// Adds (or replaces) a participant in the roster. Only the server calls this.
pub fn put_participant<D: Doc>(
    doc: &mut D,
    id: &ParticipantId,
    p: &Participant,
) -> Result<(), OpError> {
    let participants = read::get_map(doc, &ROOT, "participants")
        .ok_or(OpError::NotAQuestionDoc("participants"))?;
    autosurgeon::reconcile_prop(doc, &participants, id.as_str(), p)?;
    if let Some(entry) = read::get_map(doc, &participants, id.as_str()) {
        strings_to_text(doc, &entry)?;
    }
    Ok(())
}

/// Marks a participant as removed by the facilitator (server).
pub fn mark_participant_removed<D: Doc>(doc: &mut D, id: &str) -> Result<(), OpError> {
    let participants = read::get_map(doc, &ROOT, "participants")
        .ok_or(OpError::NotAQuestionDoc("participants"))?;
    if let Some(p) = read::get_map(doc, &participants, id) {
        doc.put(&p, "removed", true)?;
    }
    Ok(())
}

/// A note as its author writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    pub text: String,
    pub category: Option<String>,
    pub anonymous: bool,
    /// Milliseconds since the Unix epoch (the caller's clock).
    pub created_at: i64,
}

fn check_note_text(text: &str) -> Result<(), OpError> {
    if text.trim().is_empty() {
        return Err(OpError::EmptyNote);
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(OpError::NoteTooLong);
    }
    Ok(())
}

fn question_map<D: ReadDoc>(doc: &D, key: &'static str) -> Result<automerge::ObjId, OpError> {
    read::get_map(doc, &ROOT, key).ok_or(OpError::NotAQuestionDoc(key))
}

fn note_obj<D: ReadDoc>(doc: &D, note_id: &str) -> Result<automerge::ObjId, OpError> {
    let notes = question_map(doc, "notes")?;
    read::get_map(doc, &notes, note_id).ok_or_else(|| OpError::NoSuchNote(note_id.to_string()))
}

/// Adds a note written by `author`. An
/// anonymous note does not carry its author (contract v2): the client
/// writes it under an actor id used for nothing else, and only the server
/// knows whose it is.
pub fn add_note<D: Doc>(
    doc: &mut D,
    note_id: &str,
    author: &ParticipantId,
    new: &NewNote,
) -> Result<(), OpError> {
    check_note_text(&new.text)?;
    let notes = question_map(doc, "notes")?;
    let note = doc.put_object(&notes, note_id, ObjType::Map)?;
    put_text(doc, &note, "text", new.text.trim())?;
    match &new.category {
        Some(c) => put_text(doc, &note, "category", c)?,
        None => doc.put(&note, "category", ScalarValue::Null)?,
    }
    if !new.anonymous {
        put_text(doc, &note, "author", author.as_str())?;
    }
    doc.put(&note, "anonymous", new.anonymous)?;
    doc.put(&note, "cluster", ScalarValue::Null)?;
    doc.put(&note, "created_at", new.created_at)?;
    doc.put(&note, "hidden", false)?;
    doc.put(&note, "hidden_reason", ScalarValue::Null)?;
    Ok(())
}

/// Longest condition on a contribution, in characters.
pub const MAX_CONDITION_CHARS: usize = 300;

/// When a contribution can be activated.
pub const PLEDGE_WHEN: [&str; 3] = ["now", "soon", "later"];

/// Says when a contribution can be activated and on what condition (its
/// author, in the change that adds it or later; `None` clears).
pub fn set_pledge_terms<D: Doc>(
    doc: &mut D,
    note_id: &str,
    when: Option<&str>,
    condition: Option<&str>,
) -> Result<(), OpError> {
    if when.is_some_and(|w| !PLEDGE_WHEN.contains(&w)) {
        return Err(OpError::BadRecordField("when"));
    }
    let condition = condition.map(str::trim).filter(|c| !c.is_empty());
    if condition.is_some_and(|c| c.chars().count() > MAX_CONDITION_CHARS) {
        return Err(OpError::BadRecordField("condition"));
    }
    let note = note_obj(doc, note_id)?;
    match when {
        Some(w) => put_text(doc, &note, "when", w)?,
        None => doc.put(&note, "when", ScalarValue::Null)?,
    }
    match condition {
        Some(c) => put_text(doc, &note, "condition", c)?,
        None => doc.put(&note, "condition", ScalarValue::Null)?,
    }
    Ok(())
}

/// Makes the question's `totals` map say `totals` (the server's write while
/// the facilitator has them revealed; empty hides them again).
pub fn put_totals<D: Doc>(
    doc: &mut D,
    totals: &std::collections::BTreeMap<String, i64>,
) -> Result<(), OpError> {
    let map = match read::get_map(doc, &ROOT, "totals") {
        Some(m) => m,
        None => doc.put_object(ROOT, "totals", ObjType::Map)?,
    };
    for key in read::keys(doc, &map) {
        if !totals.contains_key(&key) {
            doc.delete(&map, key.as_str())?;
        }
    }
    for (target, n) in totals {
        if read::get_int(doc, &map, target.as_str()) != Some(*n) {
            doc.put(&map, target.as_str(), *n)?;
        }
    }
    Ok(())
}

/// Replaces a note's text (its author's edit).
pub fn edit_note_text<T: Doc>(doc: &mut T, note_id: &str, text: &str) -> Result<(), OpError> {
    check_note_text(text)?;
    let note = note_obj(doc, note_id)?;
    put_text(doc, &note, "text", text.trim())?;
    Ok(())
}

pub fn set_note_category<T: Doc>(
    doc: &mut T,
    note_id: &str,
    category: Option<&str>,
) -> Result<(), OpError> {
    let note = note_obj(doc, note_id)?;
    match category {
        Some(c) => put_text(doc, &note, "category", c)?,
        None => doc.put(&note, "category", ScalarValue::Null)?,
    }
    Ok(())
}

pub fn set_note_anonymous<T: Doc>(
    doc: &mut T,
    note_id: &str,
    anonymous: bool,
) -> Result<(), OpError> {
    let note = note_obj(doc, note_id)?;
    doc.put(&note, "anonymous", anonymous)?;
    Ok(())
}

/// Deletes a note and its tally.
pub fn delete_note<T: Doc>(doc: &mut T, note_id: &str) -> Result<(), OpError> {
    note_obj(doc, note_id)?;
    let notes = question_map(doc, "notes")?;
    doc.delete(&notes, note_id)?;
    Ok(())
}

/// Moves a note into a cluster, or out of any with `None`.
pub fn set_note_cluster<T: Doc>(
    doc: &mut T,
    note_id: &str,
    cluster: Option<&str>,
) -> Result<(), OpError> {
    let note = note_obj(doc, note_id)?;
    match cluster {
        Some(c) => {
            let clusters = question_map(doc, "clusters")?;
            if read::get_map(doc, &clusters, c).is_none() {
                return Err(OpError::NoSuchCluster(c.to_string()));
            }
            put_text(doc, &note, "cluster", c)?;
        }
        None => doc.put(&note, "cluster", ScalarValue::Null)?,
    }
    Ok(())
}

fn check_title(title: &str) -> Result<(), OpError> {
    if title.chars().count() > MAX_CLUSTER_TITLE_CHARS {
        return Err(OpError::TitleTooLong);
    }
    Ok(())
}

/// Creates a cluster.
pub fn create_cluster<D: Doc>(doc: &mut D, cluster_id: &str, title: &str) -> Result<(), OpError> {
    check_title(title)?;
    let clusters = question_map(doc, "clusters")?;
    autosurgeon::reconcile_prop(
        doc,
        &clusters,
        cluster_id,
        Cluster {
            title: title.trim().to_string(),
            merged_into: None,
            dissolved: false,
        },
    )?;
    if let Some(obj) = read::get_map(doc, &clusters, cluster_id) {
        strings_to_text(doc, &obj)?;
    }
    Ok(())
}

pub fn rename_cluster<T: Doc>(doc: &mut T, cluster_id: &str, title: &str) -> Result<(), OpError> {
    check_title(title)?;
    let clusters = question_map(doc, "clusters")?;
    let cluster = read::get_map(doc, &clusters, cluster_id)
        .ok_or_else(|| OpError::NoSuchCluster(cluster_id.to_string()))?;
    put_text(doc, &cluster, "title", title.trim())?;
    Ok(())
}

/// Sets how many dots `voter` places on `target` (0 removes them).
pub fn set_vote<T: Doc>(
    doc: &mut T,
    target: &str,
    voter: &ParticipantId,
    count: i64,
) -> Result<(), OpError> {
    if count < 0 {
        return Err(OpError::NegativeVote);
    }
    let votes = question_map(doc, "votes")?;
    let per_target = match read::get_map(doc, &votes, target) {
        Some(obj) => obj,
        None => doc.put_object(&votes, target, ObjType::Map)?,
    };
    if count == 0 {
        doc.delete(&per_target, voter.as_str())?;
    } else {
        doc.put(&per_target, voter.as_str(), count)?;
    }
    Ok(())
}

fn cluster_obj<D: ReadDoc>(doc: &D, cluster_id: &str) -> Result<automerge::ObjId, OpError> {
    let clusters = question_map(doc, "clusters")?;
    read::get_map(doc, &clusters, cluster_id)
        .ok_or_else(|| OpError::NoSuchCluster(cluster_id.to_string()))
}

/// Creates a cluster holding some notes (a note dropped on another).
pub fn create_cluster_with<D: Doc>(
    doc: &mut D,
    cluster_id: &str,
    title: &str,
    notes: &[&str],
) -> Result<(), OpError> {
    for n in notes {
        note_obj(doc, n)?;
    }
    create_cluster(doc, cluster_id, title)?;
    for n in notes {
        set_note_cluster(doc, n, Some(cluster_id))?;
    }
    Ok(())
}

/// Merges `from` into `into`: its notes move, and it keeps pointing at
/// `into` so that notes moved into it concurrently follow.
pub fn merge_clusters<D: Doc>(doc: &mut D, from: &str, into: &str) -> Result<(), OpError> {
    if from == into {
        return Err(OpError::MergeIntoItself);
    }
    let from_obj = cluster_obj(doc, from)?;
    cluster_obj(doc, into)?;
    put_text(doc, &from_obj, "merged_into", into)?;
    for (id, n) in QuestionDoc::load(doc).notes {
        if n.cluster.as_deref() == Some(from) {
            set_note_cluster(doc, &id, Some(into))?;
        }
    }
    Ok(())
}

/// Dissolves a cluster: its notes go back to being loose.
pub fn dissolve_cluster<D: Doc>(doc: &mut D, cluster_id: &str) -> Result<(), OpError> {
    let obj = cluster_obj(doc, cluster_id)?;
    doc.put(&obj, "dissolved", true)?;
    for (id, n) in QuestionDoc::load(doc).notes {
        if n.cluster.as_deref() == Some(cluster_id) {
            set_note_cluster(doc, &id, None)?;
        }
    }
    Ok(())
}

/// Opens (or closes) dot voting on a question (facilitator); `budget`
/// overrides the session's dots per participant.
pub fn set_voting<D: Doc>(doc: &mut D, open: bool, budget: Option<i64>) -> Result<(), OpError> {
    let v = match read::get_map(doc, &ROOT, "voting") {
        Some(v) => v,
        None => doc.put_object(ROOT, "voting", ObjType::Map)?,
    };
    doc.put(&v, "open", open)?;
    if let Some(b) = budget {
        if b < 0 {
            return Err(OpError::NegativeVote);
        }
        doc.put(&v, "budget", b)?;
    }
    Ok(())
}

/// Shows (or hides) the totals to participants (facilitator).
pub fn set_votes_revealed<D: Doc>(doc: &mut D, revealed: bool) -> Result<(), OpError> {
    let v = match read::get_map(doc, &ROOT, "voting") {
        Some(v) => v,
        None => doc.put_object(ROOT, "voting", ObjType::Map)?,
    };
    doc.put(&v, "revealed", revealed)?;
    Ok(())
}

/// Places one more dot (or takes one back) for `voter`, within the open
/// vote and the budget.
pub fn add_dot<D: Doc>(
    doc: &mut D,
    target: &str,
    voter: &ParticipantId,
    delta: i64,
    session_budget: i64,
) -> Result<(), OpError> {
    let q = QuestionDoc::load(doc);
    if !q.voting.open {
        return Err(OpError::VotingClosed);
    }
    if !q.notes.contains_key(target) && !q.clusters.contains_key(target) {
        return Err(OpError::NoSuchNote(target.to_string()));
    }
    let budget = q.voting.budget.unwrap_or(session_budget);
    let mine = q
        .votes
        .get(target)
        .and_then(|m| m.get(voter.as_str()))
        .copied()
        .unwrap_or(0);
    let count = (mine + delta).max(0);
    if delta > 0 && q.votes_used_by(voter.as_str()) + delta > budget {
        return Err(OpError::OverBudget(budget));
    }
    set_vote(doc, target, voter, count)
}

fn check_reason(reason: Option<&str>) -> Result<Option<String>, OpError> {
    let r = reason.map(str::trim).filter(|r| !r.is_empty());
    if r.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(OpError::ReasonTooLong);
    }
    Ok(r.map(str::to_string))
}

/// Records a moderation act in the question's log (facilitator).
fn log_moderation<D: Doc>(
    doc: &mut D,
    note_id: &str,
    action: &str,
    reason: Option<&str>,
    at: i64,
) -> Result<(), OpError> {
    let log = match read::get_map(doc, &ROOT, "moderation") {
        Some(l) => l,
        None => doc.put_object(ROOT, "moderation", ObjType::Map)?,
    };
    let entry = doc.put_object(&log, crate::ids::new_item_id("m"), ObjType::Map)?;
    put_text(doc, &entry, "note", note_id)?;
    put_text(doc, &entry, "action", action)?;
    match reason {
        Some(r) => put_text(doc, &entry, "reason", r)?,
        None => doc.put(&entry, "reason", ScalarValue::Null)?,
    }
    doc.put(&entry, "at", at)?;
    Ok(())
}

/// Hides a note from everyone but its author and the facilitator, or shows
/// it again (facilitator); recorded with the reason.
pub fn set_note_hidden<D: Doc>(
    doc: &mut D,
    note_id: &str,
    hidden: bool,
    reason: Option<&str>,
    at: i64,
) -> Result<(), OpError> {
    let reason = check_reason(reason)?;
    let note = note_obj(doc, note_id)?;
    doc.put(&note, "hidden", hidden)?;
    match (&reason, hidden) {
        (Some(r), true) => doc.put(&note, "hidden_reason", r.as_str())?,
        _ => doc.put(&note, "hidden_reason", ScalarValue::Null)?,
    }
    let action = if hidden { "hidden" } else { "shown" };
    log_moderation(doc, note_id, action, reason.as_deref(), at)
}

/// Removes a note (facilitator); the log keeps that it happened and why,
/// not what it said.
pub fn remove_note<D: Doc>(
    doc: &mut D,
    note_id: &str,
    reason: Option<&str>,
    at: i64,
) -> Result<(), OpError> {
    let reason = check_reason(reason)?;
    delete_note(doc, note_id)?;
    log_moderation(doc, note_id, "removed", reason.as_deref(), at)
}

/// Moves everyone to a phase (facilitator).
pub fn set_current_phase<T: Doc>(doc: &mut T, phase_id: &str) -> Result<(), OpError> {
    phase_index(doc, phase_id)?;
    let current = read::get_str(doc, &ROOT, "current_phase");
    put_text(doc, &ROOT, "current_phase", phase_id)?;
    if current.as_deref() != Some(phase_id) {
        // The timer and the spotlight belonged to the phase being left.
        crate::facilitation::clear_timer(doc)?;
        crate::facilitation::clear_spotlight(doc)?;
    }
    Ok(())
}

/// Lets the public report name the organizations behind non-anonymous notes,
/// or stops it (facilitator; the session document is theirs alone).
pub fn set_organizations_public<T: Doc>(doc: &mut T, public: bool) -> Result<(), OpError> {
    doc.put(ROOT, "organizations_public", public)?;
    Ok(())
}

/// Plans how long a phase lasts, in minutes, or clears it (facilitator).
pub fn set_phase_minutes<T: Doc>(
    doc: &mut T,
    phase_id: &str,
    minutes: Option<i64>,
) -> Result<(), OpError> {
    let max = i64::from(crate::template::MAX_PHASE_MINUTES);
    if minutes.is_some_and(|m| !(1..=max).contains(&m)) {
        return Err(OpError::BadRecordField("minutes"));
    }
    let (phases, idx) = phase_index(doc, phase_id)?;
    let phase = match doc.get(&phases, idx)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        _ => return Err(OpError::NoSuchPhase(phase_id.to_string())),
    };
    match minutes {
        Some(m) => doc.put(&phase, "minutes", m)?,
        None => doc.put(&phase, "minutes", ScalarValue::Null)?,
    }
    Ok(())
}

/// Locks or unlocks a phase (facilitator).
pub fn set_phase_locked<T: Doc>(doc: &mut T, phase_id: &str, locked: bool) -> Result<(), OpError> {
    let (phases, idx) = phase_index(doc, phase_id)?;
    let phase = match doc.get(&phases, idx)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        _ => return Err(OpError::NoSuchPhase(phase_id.to_string())),
    };
    doc.put(&phase, "locked", locked)?;
    Ok(())
}

fn phase_index<D: ReadDoc>(doc: &D, phase_id: &str) -> Result<(automerge::ObjId, usize), OpError> {
    let phases = match doc.get(&ROOT, "phases")? {
        Some((automerge::Value::Object(ObjType::List), id)) => id,
        _ => return Err(OpError::NoSuchPhase(phase_id.to_string())),
    };
    for i in 0..doc.length(&phases) {
        if let Some((automerge::Value::Object(_), p)) = doc.get(&phases, i)?
            && read::get_str(doc, &p, "id").as_deref() == Some(phase_id)
        {
            return Ok((phases, i));
        }
    }
    Err(OpError::NoSuchPhase(phase_id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::QuestionDoc;
    use automerge::AutoCommit;

    fn question() -> AutoCommit {
        let mut doc = AutoCommit::new();
        init_question_doc(&mut doc).unwrap();
        doc
    }

    fn note(text: &str) -> NewNote {
        NewNote {
            text: text.into(),
            category: Some("spazi".into()),
            anonymous: false,
            created_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_note_round_trips_through_the_document() {
        let mut doc = question();
        let me = ParticipantId("p_1".into());
        add_note(&mut doc, "n_1", &me, &note("  La biblioteca  ")).unwrap();
        let q = QuestionDoc::load(&doc);
        let n = &q.notes["n_1"];
        assert_eq!(n.text, "La biblioteca");
        assert_eq!(n.author, "p_1");
        assert_eq!(n.category.as_deref(), Some("spazi"));
        assert_eq!(n.cluster, None);
    }

    #[test]
    fn empty_and_overlong_notes_are_refused() {
        let mut doc = question();
        let me = ParticipantId("p_1".into());
        assert!(matches!(
            add_note(&mut doc, "n", &me, &note("   ")),
            Err(OpError::EmptyNote)
        ));
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert!(matches!(
            add_note(&mut doc, "n", &me, &note(&long)),
            Err(OpError::NoteTooLong)
        ));
    }

    #[test]
    fn clustering_and_voting_update_the_tallies() {
        let mut doc = question();
        let me = ParticipantId("p_1".into());
        add_note(&mut doc, "n_1", &me, &note("Orti condivisi")).unwrap();
        create_cluster(&mut doc, "c_1", "Verde").unwrap();
        set_note_cluster(&mut doc, "n_1", Some("c_1")).unwrap();
        assert!(matches!(
            set_note_cluster(&mut doc, "n_1", Some("c_404")),
            Err(OpError::NoSuchCluster(_))
        ));
        set_vote(&mut doc, "c_1", &me, 2).unwrap();
        set_vote(&mut doc, "n_1", &me, 1).unwrap();
        let q = QuestionDoc::load(&doc);
        assert_eq!(q.notes["n_1"].cluster.as_deref(), Some("c_1"));
        assert_eq!(q.vote_total("c_1"), 2);
        assert_eq!(q.votes_used_by("p_1"), 3);
        set_vote(&mut doc, "c_1", &me, 0).unwrap();
        assert_eq!(QuestionDoc::load(&doc).votes_used_by("p_1"), 1);
    }

    #[test]
    fn session_doc_is_built_from_the_template() {
        let t = Template::builtin(crate::template::DEFAULT_TEMPLATE_ID).unwrap();
        let urls: HashMap<_, _> = t
            .phases
            .iter()
            .flat_map(|p| &p.questions)
            .map(|q| (q.id.clone(), format!("automerge:{}", q.id)))
            .collect();
        let mut doc = AutoCommit::new();
        init_session_doc(
            &mut doc,
            &SessionInit {
                template: &t,
                title: "Prova",
                roster_url: "automerge:r",
                question_urls: &urls,
            },
        )
        .unwrap();
        set_phase_locked(&mut doc, "legittimazione", true).unwrap();
        crate::facilitation::start_timer(&mut doc, 60_000, 0).unwrap();
        set_current_phase(&mut doc, "legittimazione").unwrap();
        assert!(
            crate::facilitation::Timer::load(&doc).is_some(),
            "same phase keeps the timer"
        );
        set_current_phase(&mut doc, "contributi").unwrap();
        assert_eq!(
            crate::facilitation::Timer::load(&doc),
            None,
            "a new phase clears the timer"
        );
        let s = SessionDoc::load(&doc).unwrap();
        assert_eq!(s.title, "Prova");
        assert_eq!(s.current_phase, "contributi");
        assert!(s.phases[0].locked);
        assert_eq!(s.phases.len(), 5);
        assert_eq!(s.phases[1].questions[0].categories[1].label, "Spazi");
        assert_eq!(s.vote_budget, 3);
        let (p, q) = s.question_by_doc("automerge:sul-tavolo").unwrap();
        assert_eq!(
            (p.id.as_str(), q.note_kind.as_str()),
            ("contributi", "pledge")
        );
        assert!(matches!(
            set_current_phase(&mut doc, "nope"),
            Err(OpError::NoSuchPhase(_))
        ));
    }

    /// A session document made from the built-in template.
    fn builtin_session() -> AutoCommit {
        let t = Template::builtin(crate::template::DEFAULT_TEMPLATE_ID).unwrap();
        let urls = HashMap::new();
        let mut doc = AutoCommit::new();
        let init = SessionInit {
            template: &t,
            title: "Prova",
            roster_url: "automerge:r",
            question_urls: &urls,
        };
        init_session_doc(&mut doc, &init).unwrap();
        doc
    }

    #[test]
    fn the_agenda_comes_from_the_template_and_the_facilitator_changes_it() {
        let mut doc = builtin_session();
        let minutes = |d: &AutoCommit| {
            SessionDoc::load(d)
                .unwrap()
                .phases
                .iter()
                .map(|p| p.minutes)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            minutes(&doc),
            [Some(25), Some(40), Some(35), Some(40), Some(30)]
        );
        set_phase_minutes(&mut doc, "legittimazione", Some(20)).unwrap();
        set_phase_minutes(&mut doc, "aspettative", None).unwrap();
        assert_eq!(
            minutes(&doc),
            [Some(20), Some(40), Some(35), Some(40), None]
        );
        assert!(set_phase_minutes(&mut doc, "legittimazione", Some(0)).is_err());
        assert!(set_phase_minutes(&mut doc, "legittimazione", Some(601)).is_err());
        assert!(set_phase_minutes(&mut doc, "nessuna", Some(10)).is_err());
        // A session from before the agenda existed (no key) reads as having none.
        let (phases, _) = phase_index(&doc, "materia-prima").unwrap();
        let Some((_, first)) = doc.get(&phases, 1).unwrap() else {
            panic!("phase 2")
        };
        doc.delete(&first, "minutes").unwrap();
        assert_eq!(minutes(&doc)[1], None);
    }

    #[test]
    fn organizations_become_public_only_when_the_facilitator_says_so() {
        let mut doc = builtin_session();
        assert!(!SessionDoc::load(&doc).unwrap().organizations_public);
        set_organizations_public(&mut doc, true).unwrap();
        assert!(SessionDoc::load(&doc).unwrap().organizations_public);
        set_organizations_public(&mut doc, false).unwrap();
        assert!(!SessionDoc::load(&doc).unwrap().organizations_public);
    }
}
