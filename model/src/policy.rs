//! Who may change what: inspection of incoming changes against the sender's role.
//!
//! The server applies a peer's changes to a *copy* of the document first and
//! hands [`check`] the document before, the document after and the changes
//! that are new. Every operation of every change is resolved to the path of
//! the object it touches (`notes/<id>/text`, `votes/<target>`, …) and judged
//! by rules that depend on the role. Values that only make sense once the
//! whole change is in (a new note's author) are judged on the
//! document after. A single refused operation refuses the whole batch: the
//! caller then throws the copy away, so refused content never reaches
//! storage or another peer.
//!
//! Operations are judged whether or not they are visible afterwards: a write
//! that loses a conflict today could surface tomorrow when the winner is
//! deleted, so losing is no excuse.

use crate::ids::ParticipantId;
use crate::ops::{MAX_CLUSTER_TITLE_CHARS, MAX_NOTE_CHARS};
use crate::read;
use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ActorId, Automerge, Change, ObjId, ObjType, Prop, ROOT, ReadDoc};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// Who is sending the changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The facilitator of the session (holds the facilitator key).
    Facilitator,
    /// A participant who joined with the session's code.
    Participant(ParticipantId),
    /// A read-only screen (the projector view): it may read everything and
    /// change nothing.
    Viewer,
}

/// Which of a session's documents the changes are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocKind {
    Session,
    Roster,
    Question {
        phase_id: String,
        /// The category ids a note on this question may carry.
        categories: Vec<String>,
    },
}

/// What the rules need to know beyond the document itself, read by the
/// server from the session document when the batch arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyContext {
    pub kind: DocKind,
    /// The question's phase is locked: no participant change lands.
    pub phase_locked: bool,
    /// Dots each participant may place on this question.
    pub vote_budget: i64,
}

/// Why a batch of changes was refused. The code is stable (clients translate
/// it); the detail is for logs and for clients that show it as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    /// Participants cannot change the session or roster documents.
    ReadOnlyDocument,
    /// The phase is locked by the facilitator.
    PhaseLocked,
    /// A note, vote or field that belongs to someone else.
    NotYours,
    /// A change outside the shapes of the contract.
    Malformed,
    /// More dots than the budget allows.
    OverBudget,
    /// Dots placed or removed while voting is closed.
    VotingClosed,
    /// Earlier changes of this peer were refused and everything it sends
    /// since depends on them: it must drop its copy and load the server's.
    ResetRequired,
    /// More notes, clusters or operations than a participant or a question
    /// may hold (see [`Quotas`]).
    QuotaExceeded,
    /// The server rewrote the board without a removed or hidden note's
    /// text (a purge): a copy from before must be dropped and loaded again.
    Rewritten,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::ReadOnlyDocument => "read_only_document",
            RefusalCode::PhaseLocked => "phase_locked",
            RefusalCode::NotYours => "not_yours",
            RefusalCode::Malformed => "malformed",
            RefusalCode::OverBudget => "over_budget",
            RefusalCode::VotingClosed => "voting_closed",
            RefusalCode::ResetRequired => "reset_required",
            RefusalCode::QuotaExceeded => "quota_exceeded",
            RefusalCode::Rewritten => "board_rewritten",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl std::error::Error for Refusal {}

fn refuse<T>(code: RefusalCode, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        detail: detail.into(),
    })
}

/// How much one participant, and one question, may hold. Sized for a real
/// session (ARCHITECTURE.md, "Quotas"): a participant typically writes a
/// handful of notes per question, a lively table of forty a few hundred.
pub mod quotas {
    /// Notes one participant may have on one question at once.
    pub const NOTES_PER_PARTICIPANT: usize = 500;
    /// Notes a question may hold, from everyone.
    pub const NOTES_PER_QUESTION: usize = 5_000;
    /// Clusters a question may hold.
    pub const CLUSTERS_PER_QUESTION: usize = 1_000;
}

/// What a question document's history says beyond its current state: the
/// note ids ever used. A note id, once used, can never be created again,
/// so its tally and its moderation stay tied to the note that earned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    used_notes: std::collections::HashSet<String>,
    used_clusters: std::collections::HashSet<String>,
    /// The author of every note in the document now (for the quotas,
    /// without reading every note on every batch).
    author_of: HashMap<String, String>,
}

impl History {
    /// Reads the whole history of `doc` (once, when a document is loaded);
    /// `owner` names the participant behind an actor id (see
    /// [`note_author`]).
    pub fn of(doc: &Automerge, owner: &dyn Fn(&ActorId) -> Option<String>) -> Self {
        let mut h = History::default();
        h.record(doc, &doc.get_changes(&[]), owner);
        h
    }

    /// Adds what `changes` (already applied to `doc`) used.
    pub fn record(
        &mut self,
        doc: &Automerge,
        changes: &[Change],
        owner: &dyn Fn(&ActorId) -> Option<String>,
    ) {
        let ids_of = |key: &str| -> BTreeSet<String> {
            doc.get_all(ROOT, key)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, id)| id.to_string())
                .collect()
        };
        // Notes purged from the board (the server rewrote it without them)
        // stay used: their ids never come back.
        if let Some(purged) = read::get_map(doc, &ROOT, "purged") {
            self.used_notes.extend(read::keys(doc, &purged));
        }
        let (notes, clusters) = (ids_of("notes"), ids_of("clusters"));
        if notes.is_empty() && clusters.is_empty() {
            return;
        }
        let mut touched = BTreeSet::new();
        for change in changes {
            for op in &change.decode().operations {
                let ObjectId::Id(id) = &op.obj else { continue };
                let Key::Map(key) = &op.key else { continue };
                let obj = format!("{}@{}", id.counter(), id.actor());
                if notes.contains(&obj) {
                    self.used_notes.insert(key.to_string());
                    touched.insert(key.to_string());
                } else if clusters.contains(&obj) {
                    self.used_clusters.insert(key.to_string());
                }
            }
        }
        for id in touched {
            match note_author(doc, &id, owner) {
                Some(a) => self.author_of.insert(id, a),
                None => self.author_of.remove(&id),
            };
        }
    }

    /// Who wrote a note now in the document, as far as the server knows
    /// (anonymous notes included).
    pub fn author_of(&self, note_id: &str) -> Option<&str> {
        self.author_of.get(note_id).map(String::as_str)
    }

    /// Who wrote each note now in the document (the server's knowledge).
    pub fn authors(&self) -> &HashMap<String, String> {
        &self.author_of
    }

    /// The notes now in the document written by `who`.
    pub fn notes_of(&self, who: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .author_of
            .iter()
            .filter(|(_, a)| *a == who)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Notes in the document (as of the last [`History::record`]) written by `who`.
    pub fn notes_by(&self, who: &str) -> usize {
        self.author_of.values().filter(|a| *a == who).count()
    }

    /// Note ids used once and no longer in the board (deleted, removed).
    pub fn gone_notes<'a>(&'a self, doc: &'a Automerge) -> impl Iterator<Item = &'a String> + 'a {
        let notes = read::get_map(doc, &ROOT, "notes");
        let purged = read::get_map(doc, &ROOT, "purged");
        self.used_notes.iter().filter(move |id| {
            notes
                .as_ref()
                .is_none_or(|n| doc.get(n, id.as_str()).ok().flatten().is_none())
                && purged
                    .as_ref()
                    .is_none_or(|p| doc.get(p, id.as_str()).ok().flatten().is_none())
        })
    }

    /// Whether `note_id` was ever a key of the notes map.
    pub fn note_used(&self, note_id: &str) -> bool {
        self.used_notes.contains(note_id)
    }

    /// Whether `cluster_id` was ever a key of the clusters map.
    pub fn cluster_used(&self, cluster_id: &str) -> bool {
        self.used_clusters.contains(cluster_id)
    }
}

/// The participant who wrote a note: its `author` field for a named note;
/// for an anonymous note (which carries none, contract v2) the owner of
/// the actor id that created the note's map, which only the server knows
/// (`owner` maps an actor id to a participant id).
pub fn note_author(
    doc: &Automerge,
    note_id: &str,
    owner: &dyn Fn(&ActorId) -> Option<String>,
) -> Option<String> {
    let note = read::map_at_path(doc, &["notes", note_id])?;
    if let Some(a) = read::get_str(doc, &note, "author") {
        return Some(a);
    }
    match &note {
        ObjId::Id(_, actor, _) => owner(actor),
        ObjId::Root => None,
    }
}

/// Judges `changes` (new to `before`, all applied in `after`) sent by `role`,
/// reading `before`'s history for what it needs (tests and tools; the
/// server keeps a [`History`] per document and calls [`check_with`]).
pub fn check(
    before: &Automerge,
    after: &Automerge,
    changes: &[Change],
    role: &Role,
    ctx: &PolicyContext,
) -> Result<(), Refusal> {
    check_with(
        before,
        after,
        changes,
        role,
        ctx,
        &History::of(before, &|_| None),
    )
}

/// Judges `changes` (new to `before`, all applied in `after`) sent by `role`;
/// `history` is `before`'s.
pub fn check_with(
    before: &Automerge,
    after: &Automerge,
    changes: &[Change],
    role: &Role,
    ctx: &PolicyContext,
    history: &History,
) -> Result<(), Refusal> {
    if changes.is_empty() {
        return Ok(());
    }
    match (&ctx.kind, role) {
        (_, Role::Viewer) => refuse(RefusalCode::ReadOnlyDocument, "this screen is read-only"),
        // Only the server writes the roster; it never goes through here.
        (DocKind::Roster, _) => refuse(
            RefusalCode::ReadOnlyDocument,
            "the roster is written by the server only",
        ),
        (DocKind::Session, Role::Facilitator) => Ok(()),
        (DocKind::Session, Role::Participant(_)) => refuse(
            RefusalCode::ReadOnlyDocument,
            "only the facilitator can change the session",
        ),
        (DocKind::Question { .. }, Role::Facilitator) => Ok(()),
        (DocKind::Question { categories, .. }, Role::Participant(me)) => {
            if ctx.phase_locked {
                return refuse(RefusalCode::PhaseLocked, "this phase is locked");
            }
            QuestionCheck {
                before,
                after,
                history,
                me,
                categories,
                paths: top_level_paths(after),
                touched_notes: BTreeSet::new(),
                new_notes: BTreeSet::new(),
                touched_clusters: BTreeSet::new(),
                author_written: BTreeSet::new(),
            }
            .run(changes)
        }
    }
}

/// The question's top-level maps, by object id: known without asking the
/// document (`parents` searches its operations, which grows with history).
fn top_level_paths(doc: &Automerge) -> HashMap<ObjectId, Option<Path>> {
    let mut paths = HashMap::new();
    paths.insert(ObjectId::Root, Some(Vec::new()));
    for key in ["notes", "clusters", "votes", "voting", "moderation"] {
        for (_, id) in doc.get_all(ROOT, key).unwrap_or_default() {
            if let automerge::ObjId::Id(counter, actor, _) = id {
                let legacy = ObjectId::Id(automerge::legacy::OpId::new(counter, &actor));
                paths.insert(legacy, Some(vec![key.to_string()]));
            }
        }
    }
    paths
}

/// One segment of the path from the root to an object.
type Path = Vec<String>;

struct QuestionCheck<'a> {
    before: &'a Automerge,
    after: &'a Automerge,
    history: &'a History,
    me: &'a ParticipantId,
    categories: &'a [String],
    paths: HashMap<ObjectId, Option<Path>>,
    touched_notes: BTreeSet<String>,
    new_notes: BTreeSet<String>,
    touched_clusters: BTreeSet<String>,
    /// Notes whose `author` the batch writes.
    author_written: BTreeSet<String>,
}

impl QuestionCheck<'_> {
    fn run(mut self, changes: &[Change]) -> Result<(), Refusal> {
        for change in changes {
            let expanded = change.decode();
            let start = expanded.start_op.get();
            for (i, op) in expanded.operations.iter().enumerate() {
                let Some(path) = self.path_of(&op.obj) else {
                    return refuse(RefusalCode::Malformed, "change touches an unknown object");
                };
                // An object this op makes sits at the op's path and key: known
                // without asking the document (`parents` searches it).
                if let (OpType::Make(_), Key::Map(k)) = (&op.action, &op.key) {
                    let id = ObjectId::Id(automerge::legacy::OpId::new(
                        start + i as u64,
                        &expanded.actor_id,
                    ));
                    let mut child = path.clone();
                    child.push(k.to_string());
                    self.paths.insert(id, Some(child));
                }
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                self.judge_op(&path, &op.key, &op.action)?;
            }
        }
        self.judge_result()
    }

    /// The map-key path of an object in the document after the batch, or
    /// `None` when it sits inside a list (nothing in a question doc does).
    fn path_of(&mut self, obj: &ObjectId) -> Option<Path> {
        if let Some(p) = self.paths.get(obj) {
            return p.clone();
        }
        let path = match obj {
            ObjectId::Root => Some(Vec::new()),
            ObjectId::Id(id) => {
                let exid = self
                    .after
                    .import_obj(&format!("{}@{}", id.counter(), id.actor()))
                    .ok()?;
                let mut segs = Vec::new();
                let mut ok = true;
                for parent in self.after.parents(&exid).ok()? {
                    match parent.prop {
                        Prop::Map(k) => segs.push(k),
                        Prop::Seq(_) => ok = false,
                    }
                }
                segs.reverse();
                ok.then_some(segs)
            }
        };
        self.paths.insert(obj.clone(), path.clone());
        path
    }

    fn judge_op(&mut self, path: &[&str], key: &Key, action: &OpType) -> Result<(), Refusal> {
        let map_key = match key {
            Key::Map(k) => Some(k.as_str()),
            Key::Seq(_) => None,
        };
        match (path, map_key) {
            // notes/<id>: create a note, or delete one's own.
            (["notes"], Some(note_id)) => match action {
                OpType::Make(ObjType::Map) => {
                    if self.note_exists_before(note_id)
                        || !self.new_notes.insert(note_id.to_string())
                    {
                        return refuse(
                            RefusalCode::NotYours,
                            format!("note {note_id} already exists"),
                        );
                    }
                    if self.history.note_used(note_id) {
                        // Deleted, but its dots and its moderation stay
                        // with the id: a new note takes a new id.
                        return refuse(
                            RefusalCode::NotYours,
                            format!("note id {note_id} was already used on this question"),
                        );
                    }
                    self.touched_notes.insert(note_id.to_string());
                    Ok(())
                }
                OpType::Delete => self.require_own_note(note_id),
                _ => refuse(RefusalCode::Malformed, "a note must be a map"),
            },
            // notes/<id>.<field>, or characters inside a field stored as a
            // Text object (what JavaScript clients write for strings).
            (["notes", note_id], Some(field)) => self.judge_note_field(note_id, field),
            (["notes", note_id, field], _) => self.judge_note_field(note_id, field),
            // clusters/<id>: create.
            (["clusters"], Some(cluster_id)) => match action {
                OpType::Make(ObjType::Map)
                    if !self.cluster_exists_before(cluster_id)
                        && !self.history.cluster_used(cluster_id) =>
                {
                    self.touched_clusters.insert(cluster_id.to_string());
                    Ok(())
                }
                OpType::Make(ObjType::Map) => refuse(
                    RefusalCode::NotYours,
                    format!("cluster {cluster_id} already exists"),
                ),
                _ => refuse(
                    RefusalCode::NotYours,
                    "only the facilitator can remove a cluster",
                ),
            },
            (["clusters", cluster_id], Some("title" | "merged_into" | "dissolved"))
            | (["clusters", cluster_id, "title" | "merged_into"], _) => {
                self.touched_clusters.insert(cluster_id.to_string());
                Ok(())
            }
            (["clusters", _], Some(field)) => refuse(
                RefusalCode::Malformed,
                format!("clusters have no field {field}"),
            ),
            // Voting settings and the moderation log are the facilitator's.
            ([], Some("voting" | "moderation")) | (["voting" | "moderation", ..], _) => refuse(
                RefusalCode::NotYours,
                "only the facilitator runs the vote and moderates",
            ),
            // Contract v2: dots are the server's (`crate::ballot`), so that
            // no replica says who placed which; totals are its to write.
            ([], Some("votes" | "totals")) | (["votes" | "totals", ..], _) => refuse(
                RefusalCode::NotYours,
                "dots are placed through the server (tavolo/dot), not written in the board",
            ),
            _ => refuse(
                RefusalCode::Malformed,
                format!("participants cannot change /{}", path.join("/")),
            ),
        }
    }

    fn judge_note_field(&mut self, note_id: &str, field: &str) -> Result<(), Refusal> {
        self.touched_notes.insert(note_id.to_string());
        if field == "author" {
            self.author_written.insert(note_id.to_string());
        }
        let known = matches!(
            field,
            "text"
                | "category"
                | "author"
                | "anonymous"
                | "cluster"
                | "created_at"
                | "hidden"
                | "hidden_reason"
                | "when"
                | "condition"
        );
        if !known {
            return refuse(
                RefusalCode::Malformed,
                format!("notes have no field {field}"),
            );
        }
        if self.new_notes.contains(note_id) {
            return Ok(());
        }
        match field {
            "text" | "category" | "when" | "condition" => {
                self.require_own_note(note_id)?;
                // A hidden note is under moderation: rewritten by its writer
                // it would reach every phone before the purge takes it out.
                if read::map_at_path(self.before, &["notes", note_id])
                    .is_some_and(|n| read::get_bool(self.before, &n, "hidden") == Some(true))
                {
                    return refuse(
                        RefusalCode::NotYours,
                        format!("note {note_id} is hidden: only the facilitator can change it"),
                    );
                }
                Ok(())
            }
            // Turning a named note anonymous would leave its author in the
            // history; turning an anonymous one named would tie its actor
            // id to the author's other notes. It is chosen once.
            "anonymous" => refuse(
                RefusalCode::NotYours,
                "whether a note is anonymous is chosen when it is written",
            ),
            "cluster" => Ok(()),
            "hidden" | "hidden_reason" => refuse(
                RefusalCode::NotYours,
                "only the facilitator can hide a note",
            ),
            _ => refuse(
                RefusalCode::NotYours,
                format!("the {field} of a note cannot change"),
            ),
        }
    }

    fn note_exists_before(&self, note_id: &str) -> bool {
        read::map_at_path(self.before, &["notes", note_id]).is_some()
    }

    fn cluster_exists_before(&self, cluster_id: &str) -> bool {
        read::map_at_path(self.before, &["clusters", cluster_id]).is_some()
    }

    /// The note must exist before the batch and be authored by the sender
    /// (for an anonymous note, as the server's history knows it).
    fn require_own_note(&self, note_id: &str) -> Result<(), Refusal> {
        let Some(note) = read::map_at_path(self.before, &["notes", note_id]) else {
            return refuse(
                RefusalCode::Malformed,
                format!("note {note_id} does not exist"),
            );
        };
        let author = read::get_str(self.before, &note, "author")
            .or_else(|| self.history.author_of(note_id).map(str::to_string));
        match author {
            Some(a) if a == self.me.as_str() => Ok(()),
            _ => refuse(
                RefusalCode::NotYours,
                format!("note {note_id} belongs to someone else"),
            ),
        }
    }

    /// Checks the values the batch leaves behind.
    fn judge_result(&self) -> Result<(), Refusal> {
        let after = self.after;
        for note_id in &self.touched_notes {
            let Some(note) = read::map_at_path(after, &["notes", note_id]) else {
                continue; // deleted (allowed above only for its author)
            };
            if self.new_notes.contains(note_id) {
                self.judge_new_note(note_id, &note)?;
            }
            self.judge_note_fields(note_id, &note)?;
        }
        for cluster_id in &self.touched_clusters {
            let Some(cluster) = read::map_at_path(after, &["clusters", cluster_id]) else {
                return refuse(
                    RefusalCode::Malformed,
                    format!("cluster {cluster_id} is incomplete"),
                );
            };
            match read::get_str(after, &cluster, "title") {
                Some(t) if t.chars().count() <= MAX_CLUSTER_TITLE_CHARS => {}
                Some(_) => return refuse(RefusalCode::Malformed, "cluster title is too long"),
                None => return refuse(RefusalCode::Malformed, "a cluster needs a title"),
            }
            if !read::is_null_or_absent(after, &cluster, "merged_into") {
                let ok = read::get_str(after, &cluster, "merged_into").is_some_and(|into| {
                    into != *cluster_id && read::map_at_path(after, &["clusters", &into]).is_some()
                });
                if !ok {
                    return refuse(
                        RefusalCode::Malformed,
                        format!("cluster {cluster_id} is merged into an unknown cluster"),
                    );
                }
            }
            if after.get(&cluster, "dissolved").ok().flatten().is_some()
                && read::get_bool(after, &cluster, "dissolved").is_none()
            {
                return refuse(RefusalCode::Malformed, "dissolved is true or false");
            }
        }
        self.judge_quotas()?;
        Ok(())
    }

    /// Notes and clusters a participant adds stay within [`quotas`].
    fn judge_quotas(&self) -> Result<(), Refusal> {
        let after = self.after;
        if !self.new_notes.is_empty() {
            let total = read::get_map(after, &ROOT, "notes").map_or(0, |n| after.length(&n));
            if total > quotas::NOTES_PER_QUESTION {
                return refuse(
                    RefusalCode::QuotaExceeded,
                    format!(
                        "this question holds {} notes at most",
                        quotas::NOTES_PER_QUESTION
                    ),
                );
            }
            // The history knows who wrote the notes before the batch; the
            // batch's new notes are the sender's (judged above).
            let mine = self.history.notes_by(self.me.as_str()) + self.new_notes.len();
            if mine > quotas::NOTES_PER_PARTICIPANT {
                return refuse(
                    RefusalCode::QuotaExceeded,
                    format!(
                        "you can have {} notes on one question at most",
                        quotas::NOTES_PER_PARTICIPANT
                    ),
                );
            }
        }
        let new_clusters = self
            .touched_clusters
            .iter()
            .any(|c| !self.cluster_exists_before(c));
        if new_clusters {
            let n = read::get_map(after, &ROOT, "clusters")
                .map(|c| read::keys(after, &c).len())
                .unwrap_or(0);
            if n > quotas::CLUSTERS_PER_QUESTION {
                return refuse(
                    RefusalCode::QuotaExceeded,
                    format!(
                        "this question holds {} groups at most",
                        quotas::CLUSTERS_PER_QUESTION
                    ),
                );
            }
        }
        Ok(())
    }

    fn judge_new_note(&self, note_id: &str, note: &ObjId) -> Result<(), Refusal> {
        let after = self.after;
        if read::get_bool(after, note, "anonymous") == Some(true) {
            // Contract v2: nothing in an anonymous note names its author,
            // not even a value written and overwritten in the same batch.
            if self.author_written.contains(note_id) {
                return refuse(
                    RefusalCode::Malformed,
                    format!("note {note_id} is anonymous, so it carries no author"),
                );
            }
        } else {
            self.judge_named_author(note_id, note)?;
        }
        if read::get_int(after, note, "created_at").is_none() {
            return refuse(
                RefusalCode::Malformed,
                format!("note {note_id} has no created_at"),
            );
        }
        if read::get_bool(after, note, "hidden") == Some(true)
            || !read::is_null_or_absent(after, note, "hidden_reason")
        {
            return refuse(
                RefusalCode::NotYours,
                "only the facilitator can hide a note",
            );
        }
        Ok(())
    }

    /// A named note is its sender's.
    fn judge_named_author(&self, note_id: &str, note: &ObjId) -> Result<(), Refusal> {
        match read::get_str(self.after, note, "author") {
            Some(a) if a == self.me.as_str() => Ok(()),
            Some(_) => refuse(
                RefusalCode::NotYours,
                format!("note {note_id} claims another author"),
            ),
            None => refuse(
                RefusalCode::Malformed,
                format!("note {note_id} has no author"),
            ),
        }
    }

    fn judge_note_fields(&self, note_id: &str, note: &ObjId) -> Result<(), Refusal> {
        let after = self.after;
        match read::get_str(after, note, "text") {
            Some(t) if t.chars().count() <= MAX_NOTE_CHARS => {}
            Some(_) => {
                return refuse(
                    RefusalCode::Malformed,
                    format!("note {note_id} is too long"),
                );
            }
            None => {
                return refuse(
                    RefusalCode::Malformed,
                    format!("note {note_id} has no text"),
                );
            }
        }
        if !read::is_null_or_absent(after, note, "category") {
            let ok = read::get_str(after, note, "category")
                .is_some_and(|c| self.categories.contains(&c));
            if !ok {
                return refuse(
                    RefusalCode::Malformed,
                    format!("note {note_id} has an unknown category"),
                );
            }
        }
        if !read::is_null_or_absent(after, note, "when") {
            let ok = read::get_str(after, note, "when")
                .is_some_and(|w| crate::ops::PLEDGE_WHEN.contains(&w.as_str()));
            if !ok {
                return refuse(
                    RefusalCode::Malformed,
                    format!("note {note_id}: when is now, soon or later"),
                );
            }
        }
        if !read::is_null_or_absent(after, note, "condition") {
            let ok = read::get_str(after, note, "condition")
                .is_some_and(|c| c.chars().count() <= crate::ops::MAX_CONDITION_CHARS);
            if !ok {
                return refuse(
                    RefusalCode::Malformed,
                    format!(
                        "note {note_id}: the condition is text of at most {} characters",
                        crate::ops::MAX_CONDITION_CHARS
                    ),
                );
            }
        }
        if after.get(note, "anonymous").ok().flatten().is_some()
            && read::get_bool(after, note, "anonymous").is_none()
        {
            return refuse(RefusalCode::Malformed, "anonymous is true or false");
        }
        if !read::is_null_or_absent(after, note, "cluster") {
            let exists = read::get_str(after, note, "cluster")
                .is_some_and(|c| read::map_at_path(after, &["clusters", &c]).is_some());
            if !exists {
                return refuse(
                    RefusalCode::Malformed,
                    format!("note {note_id} is in an unknown cluster"),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{self, NewNote};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ScalarValue};

    fn ctx() -> PolicyContext {
        PolicyContext {
            kind: DocKind::Question {
                phase_id: "p".into(),
                categories: vec!["spazi".into(), "competenze".into()],
            },
            phase_locked: false,
            vote_budget: 3,
        }
    }

    fn me() -> ParticipantId {
        ParticipantId("p_me".into())
    }

    fn server_doc() -> AutoCommit {
        let mut doc = AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        let other = ParticipantId("p_other".into());
        ops::add_note(&mut doc, "n_other", &other, &note("di altri")).unwrap();
        ops::add_note(&mut doc, "n_mine", &me(), &note("mia")).unwrap();
        ops::create_cluster(&mut doc, "c_1", "Gruppo").unwrap();
        ops::set_voting(&mut doc, true, None).unwrap();
        doc
    }

    fn note(text: &str) -> NewNote {
        NewNote {
            text: text.into(),
            category: Some("spazi".into()),
            anonymous: false,
            created_at: 1,
        }
    }

    /// Applies `edit` on a participant's fork and judges what it produced.
    fn judge(
        role: &Role,
        ctx: &PolicyContext,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> Result<(), Refusal> {
        let mut server = server_doc();
        let before = server.document().clone();
        let mut client = server.fork();
        edit(&mut client);
        let changes = server.document().get_changes_added(client.document());
        server.apply_changes(changes.clone()).unwrap();
        check(&before, server.document(), &changes, role, ctx)
    }

    fn as_me(edit: impl FnOnce(&mut AutoCommit)) -> Result<(), Refusal> {
        judge(&Role::Participant(me()), &ctx(), edit)
    }

    fn code(r: Result<(), Refusal>) -> RefusalCode {
        r.expect_err("should be refused").code
    }

    #[test]
    fn a_participant_adds_edits_and_clusters_their_own_notes() {
        as_me(|d| ops::add_note(d, "n_new", &me(), &note("nuova")).unwrap()).unwrap();
        as_me(|d| ops::edit_note_text(d, "n_mine", "cambiata").unwrap()).unwrap();
        as_me(|d| ops::set_note_category(d, "n_mine", Some("competenze")).unwrap()).unwrap();
        as_me(|d| ops::set_note_cluster(d, "n_other", Some("c_1")).unwrap()).unwrap();
        as_me(|d| ops::create_cluster(d, "c_2", "Nuovo").unwrap()).unwrap();
        as_me(|d| ops::rename_cluster(d, "c_1", "Rinominato").unwrap()).unwrap();
        as_me(|d| ops::delete_note(d, "n_mine").unwrap()).unwrap();
    }

    #[test]
    fn a_contributions_timing_and_condition_are_its_authors_and_well_formed() {
        // With the note, and later, by its author.
        as_me(|d| {
            ops::add_note(d, "n_new", &me(), &note("un furgone")).unwrap();
            ops::set_pledge_terms(d, "n_new", Some("now"), Some("se serve")).unwrap();
        })
        .unwrap();
        as_me(|d| ops::set_pledge_terms(d, "n_mine", Some("later"), None).unwrap()).unwrap();
        // Not on someone else's note.
        assert_eq!(
            code(as_me(|d| ops::set_pledge_terms(
                d,
                "n_other",
                Some("now"),
                None
            )
            .unwrap())),
            RefusalCode::NotYours
        );
        // A modified client writing what the app never would.
        let n = |d: &AutoCommit| read::map_at_path(d, &["notes", "n_mine"]).unwrap();
        assert_eq!(
            code(as_me(|d| {
                let n = n(d);
                d.put(&n, "when", "domani").unwrap();
            })),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(as_me(|d| {
                let n = n(d);
                d.put(&n, "condition", "x".repeat(ops::MAX_CONDITION_CHARS + 1))
                    .unwrap();
            })),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(as_me(|d| {
                let n = n(d);
                d.put(&n, "condition", 7).unwrap();
            })),
            RefusalCode::Malformed
        );
    }

    #[test]
    fn a_note_claiming_another_author_is_refused() {
        let other = ParticipantId("p_other".into());
        assert_eq!(
            code(as_me(
                |d| ops::add_note(d, "n_x", &other, &note("falsa")).unwrap()
            )),
            RefusalCode::NotYours
        );
    }

    #[test]
    fn another_participants_note_cannot_be_edited_or_deleted() {
        assert_eq!(
            code(as_me(
                |d| ops::edit_note_text(d, "n_other", "mia ora").unwrap()
            )),
            RefusalCode::NotYours
        );
        assert_eq!(
            code(as_me(|d| ops::delete_note(d, "n_other").unwrap())),
            RefusalCode::NotYours
        );
        assert_eq!(
            code(as_me(|d| {
                let n = read::map_at_path(&*d, &["notes", "n_other"]).unwrap();
                d.put(&n, "author", "p_me").unwrap();
            })),
            RefusalCode::NotYours
        );
    }

    /// Judges a participant's edit with the server's knowledge of who owns
    /// which actor id (`owners`), as the room does.
    fn step_owned(
        server: &mut AutoCommit,
        who: &ParticipantId,
        owners: &HashMap<ActorId, String>,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> Result<(), Refusal> {
        let before = server.document().clone();
        let mut client = server.fork();
        client.set_actor(ActorId::random());
        edit(&mut client);
        let changes = server.document().get_changes_added(client.document());
        let mut after = before.clone();
        after.apply_changes(changes.clone()).unwrap();
        let owner = |a: &ActorId| owners.get(a).cloned();
        let history = History::of(&before, &owner);
        check_with(
            &before,
            &after,
            &changes,
            &Role::Participant(who.clone()),
            &ctx(),
            &history,
        )?;
        server.apply_changes(changes).unwrap();
        Ok(())
    }

    #[test]
    fn an_anonymous_note_carries_no_author_and_only_its_writer_may_change_it() {
        let mut server = server_doc();
        let anon = NewNote {
            anonymous: true,
            ..note("il Comune non mantiene la parola")
        };
        // Written with an author: refused, even if overwritten at once.
        let named = code(step_as(&mut server, &me(), |d| {
            ops::add_note(d, "n_a", &me(), &anon).unwrap();
            let n = read::map_at_path(&*d, &["notes", "n_a"]).unwrap();
            d.put(&n, "author", "p_me").unwrap();
            d.delete(&n, "author").unwrap();
        }));
        assert_eq!(named, RefusalCode::Malformed);
        // Written without one, under an actor id the server records as mine.
        let actor = ActorId::random();
        let mut owners = HashMap::new();
        owners.insert(actor.clone(), "p_me".to_string());
        let written = actor.clone();
        step_owned(&mut server, &me(), &owners, move |d| {
            d.set_actor(written);
            ops::add_note(d, "n_a", &me(), &anon).unwrap();
        })
        .unwrap();
        let n = read::map_at_path(&server, &["notes", "n_a"]).unwrap();
        assert!(server.get(&n, "author").unwrap().is_none());
        // Its writer edits it under yet another actor id: the server knows
        // the note is theirs from the actor that created it.
        let later = ActorId::random();
        owners.insert(later, "p_me".to_string());
        step_owned(&mut server, &me(), &owners, |d| {
            ops::edit_note_text(d, "n_a", "il Comune non ha mantenuto la parola").unwrap();
        })
        .unwrap_or_else(|r| panic!("{r}"));
        // Nobody else may, nor may anyone turn it named (or a named one
        // anonymous).
        let other = ParticipantId("p_other".into());
        let theirs = code(step_owned(&mut server, &other, &owners, |d| {
            ops::edit_note_text(d, "n_a", "riscritta").unwrap();
        }));
        assert_eq!(theirs, RefusalCode::NotYours);
        let toggle = code(step_owned(&mut server, &me(), &owners, |d| {
            ops::set_note_anonymous(d, "n_a", false).unwrap();
        }));
        assert_eq!(toggle, RefusalCode::NotYours);
        let toggle = code(step_owned(&mut server, &me(), &owners, |d| {
            ops::set_note_anonymous(d, "n_mine", true).unwrap();
        }));
        assert_eq!(toggle, RefusalCode::NotYours);
        // Anyone may still move it into a group.
        step_owned(&mut server, &other, &owners, |d| {
            ops::set_note_cluster(d, "n_a", Some("c_1")).unwrap();
        })
        .unwrap();
    }

    #[test]
    fn text_objects_written_by_javascript_clients_are_judged_like_strings() {
        // The stock JS client writes strings as Text objects, character by character.
        as_me(|d| {
            let notes = read::get_map(&*d, &ROOT, "notes").unwrap();
            let n = d.put_object(&notes, "n_js", ObjType::Map).unwrap();
            let t = d.put_object(&n, "text", ObjType::Text).unwrap();
            d.splice_text(&t, 0, 0, "dal browser").unwrap();
            let a = d.put_object(&n, "author", ObjType::Text).unwrap();
            d.splice_text(&a, 0, 0, "p_me").unwrap();
            d.put(&n, "anonymous", false).unwrap();
            d.put(&n, "category", ScalarValue::Null).unwrap();
            d.put(&n, "cluster", ScalarValue::Null).unwrap();
            d.put(&n, "created_at", 1.0e12_f64).unwrap();
        })
        .unwrap();
        let forged = as_me(|d| {
            let notes = read::get_map(&*d, &ROOT, "notes").unwrap();
            let n = d.put_object(&notes, "n_js", ObjType::Map).unwrap();
            d.put(&n, "text", "x").unwrap();
            let a = d.put_object(&n, "author", ObjType::Text).unwrap();
            d.splice_text(&a, 0, 0, "p_other").unwrap();
            d.put(&n, "created_at", 1).unwrap();
        });
        assert_eq!(code(forged), RefusalCode::NotYours);
    }

    #[test]
    fn dots_and_totals_are_not_written_in_the_board() {
        // Contract v2: who placed which dot is the server's (`ballot`).
        for edit in [
            (|d: &mut AutoCommit| ops::set_vote(d, "n_other", &me(), 1).unwrap())
                as fn(&mut AutoCommit),
            |d| {
                let mut t = std::collections::BTreeMap::new();
                t.insert("n_other".to_string(), 9);
                ops::put_totals(d, &t).unwrap();
            },
        ] {
            assert_eq!(code(as_me(edit)), RefusalCode::NotYours);
        }
    }

    #[test]
    fn participants_cannot_touch_the_structure_or_unknown_categories() {
        assert_eq!(
            code(as_me(|d| d.put(ROOT, "notes", "boom").unwrap())),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(as_me(|d| ops::set_note_category(
                d,
                "n_mine",
                Some("inventata")
            )
            .unwrap())),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(as_me(|d| {
                let n = read::map_at_path(&*d, &["notes", "n_mine"]).unwrap();
                d.put(&n, "cluster", "c_404").unwrap();
            })),
            RefusalCode::Malformed
        );
    }

    #[test]
    fn a_locked_phase_refuses_participants_but_not_the_facilitator() {
        let locked = PolicyContext {
            phase_locked: true,
            ..ctx()
        };
        let add = |d: &mut AutoCommit| ops::add_note(d, "n_new", &me(), &note("tardi")).unwrap();
        assert_eq!(
            code(judge(&Role::Participant(me()), &locked, add)),
            RefusalCode::PhaseLocked
        );
        judge(&Role::Facilitator, &locked, add).unwrap();
    }

    #[test]
    fn session_and_roster_documents_are_out_of_participants_reach() {
        let session = PolicyContext {
            kind: DocKind::Session,
            ..ctx()
        };
        let roster = PolicyContext {
            kind: DocKind::Roster,
            ..ctx()
        };
        let edit = |d: &mut AutoCommit| d.put(ROOT, "title", "mio").unwrap();
        assert_eq!(
            code(judge(&Role::Participant(me()), &session, edit)),
            RefusalCode::ReadOnlyDocument
        );
        judge(&Role::Facilitator, &session, edit).unwrap();
        assert_eq!(
            code(judge(&Role::Facilitator, &roster, edit)),
            RefusalCode::ReadOnlyDocument
        );
    }

    #[test]
    fn a_viewer_changes_nothing_anywhere() {
        let edit = |d: &mut AutoCommit| d.put(ROOT, "title", "proiettore").unwrap();
        let add =
            |d: &mut AutoCommit| ops::add_note(d, "n_new", &me(), &note("dal proiettore")).unwrap();
        let session = PolicyContext {
            kind: DocKind::Session,
            ..ctx()
        };
        assert_eq!(
            code(judge(&Role::Viewer, &session, edit)),
            RefusalCode::ReadOnlyDocument
        );
        assert_eq!(
            code(judge(&Role::Viewer, &ctx(), add)),
            RefusalCode::ReadOnlyDocument
        );
    }

    #[test]
    fn the_vote_is_the_facilitators() {
        let close = |d: &mut AutoCommit| ops::set_voting(d, false, None).unwrap();
        assert_eq!(
            code(judge(&Role::Participant(me()), &ctx(), close)),
            RefusalCode::NotYours
        );
        judge(&Role::Facilitator, &ctx(), close).unwrap();
        let reveal = |d: &mut AutoCommit| ops::set_votes_revealed(d, true).unwrap();
        assert_eq!(
            code(judge(&Role::Participant(me()), &ctx(), reveal)),
            RefusalCode::NotYours
        );
    }

    #[test]
    fn anyone_may_merge_and_dissolve_clusters_but_only_into_real_ones() {
        let p = Role::Participant(me());
        judge(&p, &ctx(), |d| {
            ops::create_cluster(d, "c_2", "Altro").unwrap();
            ops::merge_clusters(d, "c_2", "c_1").unwrap();
        })
        .unwrap();
        judge(&p, &ctx(), |d| ops::dissolve_cluster(d, "c_1").unwrap()).unwrap();
        assert_eq!(
            code(judge(&p, &ctx(), |d| {
                let c = read::map_at_path(&*d, &["clusters", "c_1"]).unwrap();
                d.put(&c, "merged_into", "c_404").unwrap();
            })),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(judge(&p, &ctx(), |d| {
                let c = read::map_at_path(&*d, &["clusters", "c_1"]).unwrap();
                d.put(&c, "merged_into", "c_1").unwrap();
            })),
            RefusalCode::Malformed
        );
    }

    #[test]
    fn hiding_and_removing_notes_is_the_facilitators() {
        let p = Role::Participant(me());
        let hide = |d: &mut AutoCommit| {
            ops::set_note_hidden(d, "n_other", true, Some("offensiva"), 5).unwrap()
        };
        assert_eq!(code(judge(&p, &ctx(), hide)), RefusalCode::NotYours);
        judge(&Role::Facilitator, &ctx(), hide).unwrap();
        let remove = |d: &mut AutoCommit| ops::remove_note(d, "n_other", None, 5).unwrap();
        assert_eq!(code(judge(&p, &ctx(), remove)), RefusalCode::NotYours);
        judge(&Role::Facilitator, &ctx(), remove).unwrap();
        // Deleting one's own note is fine; a note born hidden is not.
        judge(&p, &ctx(), |d| ops::delete_note(d, "n_mine").unwrap()).unwrap();
        assert_eq!(
            code(judge(&p, &ctx(), |d| {
                ops::add_note(d, "n_new", &me(), &note("nascosta")).unwrap();
                let n = read::map_at_path(&*d, &["notes", "n_new"]).unwrap();
                d.put(&n, "hidden", true).unwrap();
            })),
            RefusalCode::NotYours
        );
    }

    #[test]
    fn a_hidden_note_is_not_rewritten_by_its_writer() {
        let mut server = server_doc();
        ops::set_note_hidden(&mut server, "n_mine", true, Some("dati personali"), 5).unwrap();
        for edit in [
            (|d: &mut AutoCommit| ops::edit_note_text(d, "n_mine", "di nuovo").unwrap())
                as fn(&mut AutoCommit),
            |d: &mut AutoCommit| {
                let n = read::map_at_path(&*d, &["notes", "n_mine"]).unwrap();
                d.put(&n, "category", "altro").unwrap();
            },
        ] {
            assert_eq!(code(step(&mut server, edit)), RefusalCode::NotYours);
        }
        // Shown again, it is the writer's to edit.
        ops::set_note_hidden(&mut server, "n_mine", false, None, 6).unwrap();
        step(&mut server, |d| {
            ops::edit_note_text(d, "n_mine", "corretta").unwrap()
        })
        .unwrap();
    }

    /// Runs the participant's `edit` on a fork of `server` and judges it
    /// against `server` as it is, history included; applies it if accepted.
    fn step(server: &mut AutoCommit, edit: impl FnOnce(&mut AutoCommit)) -> Result<(), Refusal> {
        step_as(server, &me(), edit)
    }

    fn step_as(
        server: &mut AutoCommit,
        who: &ParticipantId,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> Result<(), Refusal> {
        let before = server.document().clone();
        let mut client = server.fork();
        edit(&mut client);
        let changes = server.document().get_changes_added(client.document());
        let mut after = before.clone();
        after.apply_changes(changes.clone()).unwrap();
        check(
            &before,
            &after,
            &changes,
            &Role::Participant(who.clone()),
            &ctx(),
        )?;
        server.apply_changes(changes).unwrap();
        Ok(())
    }

    #[test]
    fn a_deleted_note_id_cannot_be_created_again() {
        let mut server = server_doc();
        step(&mut server, |d| ops::delete_note(d, "n_mine").unwrap()).unwrap();
        let again = step(&mut server, |d| {
            ops::add_note(d, "n_mine", &me(), &note("di nuovo")).unwrap()
        });
        assert_eq!(code(again), RefusalCode::NotYours);
        // A new id is fine.
        step(&mut server, |d| {
            ops::add_note(d, "n_fresh", &me(), &note("nuova")).unwrap()
        })
        .unwrap();
    }

    #[test]
    fn a_note_hidden_by_the_facilitator_cannot_come_back_under_its_id() {
        let mut server = server_doc();
        ops::set_note_hidden(&mut server, "n_mine", true, Some("dati personali"), 1).unwrap();
        step(&mut server, |d| ops::delete_note(d, "n_mine").unwrap()).unwrap();
        let again = step(&mut server, |d| {
            ops::add_note(d, "n_mine", &me(), &note("via Roma 3")).unwrap()
        });
        assert_eq!(code(again), RefusalCode::NotYours);
    }

    #[test]
    fn a_removed_cluster_id_cannot_be_created_again() {
        let mut server = server_doc();
        let clusters = read::get_map(&server, &ROOT, "clusters").unwrap();
        server.delete(&clusters, "c_1").unwrap();
        let again = step(&mut server, |d| {
            ops::create_cluster(d, "c_1", "Di nuovo").unwrap()
        });
        assert_eq!(code(again), RefusalCode::NotYours);
    }

    #[test]
    fn a_participant_cannot_hold_more_notes_than_the_quota() {
        let mut server = server_doc();
        step(&mut server, |d| {
            for i in 1..quotas::NOTES_PER_PARTICIPANT {
                ops::add_note(d, &format!("q{i}"), &me(), &note("x")).unwrap();
            }
        })
        .unwrap();
        let over = step(&mut server, |d| {
            ops::add_note(d, "q_last", &me(), &note("x")).unwrap()
        });
        assert_eq!(code(over), RefusalCode::QuotaExceeded);
        // Someone else still can.
        let other = ParticipantId("p_other".into());
        step_as(&mut server, &other, |d| {
            ops::add_note(d, "o_new", &other, &note("y")).unwrap()
        })
        .unwrap();
    }
}
