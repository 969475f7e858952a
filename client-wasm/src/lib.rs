//! Tavolo's browser client: documents, protocol and sync states live here
//! (in Rust, shared with the server through `tavolo-model` and
//! `tavolo-sync`); JavaScript owns the socket and the UI.
//!
//! The JavaScript side calls [`TavoloClient::connected`] when its socket
//! opens, feeds every binary frame to [`TavoloClient::receive`], and after
//! every call sends what [`TavoloClient::take_outgoing`] returns. Views
//! (`session`, `roster`, `question`) are plain objects shaped for the UI;
//! edits (`addNote`, `editNote`) go through `tavolo_model::ops`. Every
//! fallible method throws a JavaScript `Error` with a readable message.
//!
//! # Layout
//!
//! - [`views`]: what the UI reads, computed from the documents.
//! - this file: the `TavoloClient` class exported to JavaScript.

pub mod views;

use std::collections::{BTreeMap, BTreeSet};
use tavolo_model::facilitation::{self, Spotlight, SpotlightKind};
use tavolo_model::ops::{self, NewNote, OpError};
use tavolo_model::policy::RefusalCode;
use tavolo_model::record::{self, ClosingField, CommitmentInput, MeetingField, SynthesisField};
use tavolo_model::{ParticipantId, QuestionDoc, SessionDoc};
use tavolo_sync::{
    ClientCore, DocumentId, HiddenTexts, MyDots, MyNotes, PeerId, Presence, PresenceDelta, Totals,
};
use views::{LostNote, RefusalView};
use wasm_bindgen::prelude::*;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn parse_url(url: &str) -> Result<DocumentId, JsError> {
    DocumentId::from_url(url).map_err(|e| JsError::new(&format!("invalid document URL {url}: {e}")))
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

/// The milliseconds clock, from JavaScript in the browser.
fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// One participant's (or the facilitator's) connection to a session.
#[wasm_bindgen]
#[derive(Debug)]
pub struct TavoloClient {
    me: Option<ParticipantId>,
    /// A projector screen (no participant id, not the facilitator).
    projector: bool,
    core: ClientCore,
    /// The roster's id, learnt from the session document.
    roster: Option<DocumentId>,
    /// Refused documents being reloaded, with my notes as they were.
    reloading: BTreeMap<DocumentId, (String, String, Vec<LostNote>)>,
    refusals: Vec<RefusalView>,
    /// Who is connected, as the server last said.
    presence: Option<Presence>,
    /// My anonymous notes, per question document: they carry no author
    /// (contract v2), so I know them from writing them here or from the
    /// server's private word (`tavolo/mine`).
    mine: BTreeMap<DocumentId, BTreeSet<String>>,
    /// What I had changed and the server had not confirmed when it rewrote
    /// a board (a purge), to make again on the rewritten one once loaded.
    replay: BTreeMap<DocumentId, Vec<Pending>>,
    /// My dots per question, as the server last said (contract v2: nobody
    /// else's replica holds them), with my requests not yet answered.
    my_dots: BTreeMap<DocumentId, BTreeMap<String, i64>>,
    /// The live totals per question (the facilitator's screens only).
    live_totals: BTreeMap<DocumentId, BTreeMap<String, i64>>,
    /// Hidden notes' texts the board no longer holds (after a purge), as
    /// the server told this screen: my own, or all for the facilitator.
    hidden_texts: BTreeMap<DocumentId, BTreeMap<String, String>>,
}

/// An edit the server had not confirmed when it rewrote a board.
#[derive(Debug, Clone)]
enum Pending {
    Note(String, tavolo_model::Note),
    /// (note, text, anonymous)
    Text(String, String, bool),
    Category(String, Option<String>, bool),
    Move(String, Option<String>),
    Cluster(String, String),
    Rename(String, String),
}

/// The pseudo-URL `receive` reports when presence changed.
pub const PRESENCE_URL: &str = "tavolo:presence";

/// A JavaScript number of milliseconds as an integer (NaN and infinities
/// become 0; JavaScript numbers hold integers exactly up to 2^53).
fn ms(v: f64) -> i64 {
    if v.is_finite() { v.round() as i64 } else { 0 }
}

#[wasm_bindgen]
impl TavoloClient {
    /// `participant_id` is `null` for the facilitator and the projector;
    /// `projector` is true for the latter (it sees what the room may see).
    #[wasm_bindgen(constructor)]
    pub fn new(participant_id: Option<String>, projector: Option<bool>) -> TavoloClient {
        let peer = PeerId(format!("tavolo-web-{}", uuid::Uuid::new_v4().simple()));
        TavoloClient {
            me: participant_id.map(ParticipantId),
            projector: projector.unwrap_or(false),
            core: ClientCore::new(peer),
            roster: None,
            reloading: BTreeMap::new(),
            refusals: Vec::new(),
            presence: None,
            mine: BTreeMap::new(),
            replay: BTreeMap::new(),
            my_dots: BTreeMap::new(),
            live_totals: BTreeMap::new(),
            hidden_texts: BTreeMap::new(),
        }
    }

    /// The socket opened: resets every sync state and returns the `join`
    /// frame to send first (it is also the first of `takeOutgoing`).
    pub fn connected(&mut self) -> Vec<u8> {
        self.core.connected();
        self.core
            .take_outgoing()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    pub fn disconnected(&mut self) {
        self.core.disconnected();
        // Whoever is online is unknown until the server says again.
        self.presence = None;
    }

    #[wasm_bindgen(getter)]
    pub fn ready(&self) -> bool {
        self.core.ready()
    }

    /// Feeds one frame; returns the URLs of documents whose content changed.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Vec<String>, JsError> {
        let received = self.core.receive(frame).map_err(js_err)?;
        for r in self.core.take_refusals() {
            // The local copy holds changes the server will never take: note
            // what of mine is in it, drop it, and reload the server's.
            let mine = self
                .core
                .doc(r.document_id)
                .map(|d| self.my_notes(r.document_id, &QuestionDoc::load(d)))
                .unwrap_or_default();
            if r.code == RefusalCode::Rewritten.as_str() {
                // A purge: keep showing the old copy while the new loads,
                // and make again what the server had not confirmed.
                let pending = self.pending_edits(r.document_id);
                self.replay.insert(r.document_id, pending);
                self.core.reload(r.document_id);
            } else {
                self.core.reset(r.document_id);
            }
            self.reloading
                .insert(r.document_id, (r.code, r.message, mine));
        }
        for id in &received.changed {
            if self.core.is_loaded(*id)
                && let Some(edits) = self.replay.remove(id)
            {
                self.replay_edits(*id, edits);
            }
        }
        let mut changed: Vec<String> = received.changed.iter().map(DocumentId::url).collect();
        for id in &received.changed {
            if let Some((code, message, mine)) = self.reloading.remove(id) {
                let server = self
                    .core
                    .doc(*id)
                    .map(QuestionDoc::load)
                    .unwrap_or_default();
                let hidden = self.hidden_texts.get(id);
                let lost_notes: Vec<LostNote> = mine
                    .into_iter()
                    .filter(|n| {
                        server.notes.get(&n.id).is_none_or(|s| {
                            // A hidden note's text is kept by the server.
                            let kept = hidden.and_then(|h| h.get(&n.id));
                            s.text != n.text && kept != Some(&n.text)
                        })
                    })
                    .collect();
                if code == RefusalCode::Rewritten.as_str() && lost_notes.is_empty() {
                    // The server rewrote the board without a removed or
                    // hidden note (a purge): nothing of mine was lost, so
                    // there is nothing to say.
                    continue;
                }
                self.refusals.push(RefusalView {
                    doc: id.url(),
                    code,
                    message,
                    lost_notes,
                });
            }
        }
        if received.greeted {
            changed.clear();
        }
        for url in self.take_ephemeral() {
            if !changed.contains(&url) {
                changed.push(url);
            }
        }
        Ok(changed)
    }

    /// Frames to send now, in order.
    #[wasm_bindgen(js_name = takeOutgoing)]
    pub fn take_outgoing(&mut self) -> Vec<js_sys::Uint8Array> {
        self.core
            .take_outgoing()
            .iter()
            .map(|f| js_sys::Uint8Array::from(f.as_slice()))
            .collect()
    }

    /// The document as kept on the device, `undefined` until it has
    /// content: `{ bytes, confirmed }`, its saved bytes and the heads the
    /// server had confirmed (hex).
    #[wasm_bindgen(js_name = keepLocal)]
    pub fn keep_local(&mut self, url: &str) -> Result<JsValue, JsError> {
        let id = parse_url(url)?;
        let Some(saved) = self.core.save(id) else {
            return Ok(JsValue::UNDEFINED);
        };
        let confirmed: Vec<String> = self
            .core
            .confirmed(id)
            .iter()
            .map(|h| h.to_string())
            .collect();
        let bytes = js_sys::Uint8Array::from(saved.as_slice());
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"bytes".into(), &bytes)
            .map_err(|_| JsError::new("keepLocal"))?;
        js_sys::Reflect::set(&out, &"confirmed".into(), &to_js(&confirmed)?)
            .map_err(|_| JsError::new("keepLocal"))?;
        Ok(out.into())
    }

    /// Opens a document kept on the device by `keepLocal` (the page was
    /// closed or reloaded): what it holds beyond `confirmed` goes to the
    /// server once connected. Call before the socket opens.
    #[wasm_bindgen(js_name = restoreLocal)]
    pub fn restore_local(
        &mut self,
        url: &str,
        bytes: &[u8],
        confirmed: Vec<String>,
    ) -> Result<(), JsError> {
        let id = parse_url(url)?;
        let doc = automerge::AutoCommit::load(bytes).map_err(js_err)?;
        let confirmed = confirmed
            .iter()
            .filter_map(|h| h.parse::<automerge::ChangeHash>().ok())
            .collect();
        self.core.restore_kept(id, doc, confirmed);
        Ok(())
    }

    /// How many changes of a document the server has not confirmed yet.
    pub fn unconfirmed(&mut self, url: &str) -> Result<u32, JsError> {
        let id = parse_url(url)?;
        Ok(u32::try_from(self.core.unconfirmed(id)).unwrap_or(u32::MAX))
    }

    /// Starts syncing a document by `automerge:` URL.
    pub fn open(&mut self, url: &str) -> Result<(), JsError> {
        self.core.open(parse_url(url)?);
        Ok(())
    }

    /// The session document as a view, `undefined` until it has loaded.
    pub fn session(&mut self, url: &str) -> Result<JsValue, JsError> {
        let id = parse_url(url)?;
        let Some(doc) = self.core.doc(id) else {
            return Ok(JsValue::UNDEFINED);
        };
        match SessionDoc::load(doc) {
            Ok(s) => {
                if let Ok(r) = DocumentId::from_url(&s.roster_doc) {
                    self.roster = Some(r);
                }
                to_js(&views::session(&s, doc))
            }
            Err(_) => Ok(JsValue::UNDEFINED),
        }
    }

    /// The roster (participant id → participant), `undefined` until loaded.
    pub fn roster(&mut self, url: &str) -> Result<JsValue, JsError> {
        let id = parse_url(url)?;
        self.roster = Some(id);
        match self.core.doc(id) {
            Some(doc) if self.core.is_loaded(id) => {
                to_js(&views::roster(&tavolo_model::RosterDoc::load(doc)))
            }
            _ => Ok(JsValue::UNDEFINED),
        }
    }

    /// A question document as a board view, `undefined` until loaded.
    pub fn question(&self, url: &str) -> Result<JsValue, JsError> {
        let id = parse_url(url)?;
        match self.core.shown(id) {
            Some(doc) => {
                let roster = self
                    .roster
                    .and_then(|r| self.core.doc(r))
                    .map(tavolo_model::RosterDoc::load)
                    .unwrap_or_default();
                let audience = match (&self.me, self.projector) {
                    (Some(p), _) => views::Audience::Participant(p),
                    (None, true) => views::Audience::Projector,
                    (None, false) => views::Audience::Facilitator,
                };
                let mut q = QuestionDoc::load(doc);
                if audience == views::Audience::Facilitator
                    && let Some(live) = self.live_totals.get(&id)
                {
                    // The facilitator sees the totals as they are, revealed
                    // or not (the board holds them only once revealed).
                    q.totals.clone_from(live);
                }
                if let Some(texts) = self.hidden_texts.get(&id) {
                    // What the board no longer holds, for those who may see it.
                    for (nid, n) in q.notes.iter_mut() {
                        if n.hidden
                            && n.text.is_empty()
                            && let Some(t) = texts.get(nid)
                        {
                            n.text.clone_from(t);
                        }
                    }
                }
                let (no_notes, no_dots) = (BTreeSet::new(), BTreeMap::new());
                let looking = views::Looking {
                    audience,
                    session_budget: self.session_budget(),
                    my_anonymous: self.mine.get(&id).unwrap_or(&no_notes),
                    my_dots: self.my_dots.get(&id).unwrap_or(&no_dots),
                    organizations_public: self
                        .session_doc()
                        .is_some_and(|s| s.organizations_public),
                };
                to_js(&views::question(doc, &q, &roster, looking))
            }
            _ => Ok(JsValue::UNDEFINED),
        }
    }

    /// Adds a note written by this participant; returns its id.
    #[wasm_bindgen(js_name = addNote)]
    pub fn add_note(
        &mut self,
        url: &str,
        text: &str,
        category: Option<String>,
        anonymous: bool,
        when: Option<String>,
        condition: Option<String>,
    ) -> Result<String, JsError> {
        let id = parse_url(url)?;
        let me = self
            .me
            .clone()
            .ok_or_else(|| JsError::new("the facilitator writes no notes as a participant"))?;
        if let Some(c) = &category {
            let known = self.question_categories(id);
            if !known.iter().any(|k| k == c) {
                return Err(JsError::new(&format!("unknown category {c}")));
            }
        }
        if self.phase_locked(id) {
            return Err(JsError::new("this phase is locked"));
        }
        let note_id = tavolo_model::ids::new_item_id("n");
        let new = NewNote {
            text: text.to_string(),
            category,
            anonymous,
            created_at: now_ms(),
        };
        // A contribution's timing and condition travel in the same change,
        // checked first: a change is kept even when its closure fails.
        let (when, condition) = (
            when.filter(|w| !w.is_empty()),
            condition.filter(|c| !c.trim().is_empty()),
        );
        if when
            .as_deref()
            .is_some_and(|w| !ops::PLEDGE_WHEN.contains(&w))
        {
            return Err(JsError::new("when is now, soon or later"));
        }
        if condition
            .as_deref()
            .is_some_and(|c| c.trim().chars().count() > ops::MAX_CONDITION_CHARS)
        {
            return Err(JsError::new(&format!(
                "a condition may be at most {} characters long",
                ops::MAX_CONDITION_CHARS
            )));
        }
        let write = |d: &mut automerge::AutoCommit| {
            ops::add_note(d, &note_id, &me, &new)?;
            if when.is_some() || condition.is_some() {
                ops::set_pledge_terms(d, &note_id, when.as_deref(), condition.as_deref())?;
            }
            Ok::<(), OpError>(())
        };
        if anonymous {
            // Contract v2: nothing a participant holds ties an anonymous
            // note to its writer, so it is written unlinked.
            self.core
                .change_unlinked(id, write)
                .map_err(js_err)?
                .map_err(js_err)?;
            self.mine.entry(id).or_default().insert(note_id.clone());
        } else {
            self.core
                .change(id, write)
                .map_err(js_err)?
                .map_err(js_err)?;
        }
        Ok(note_id)
    }

    /// Replaces the text of one of my notes.
    #[wasm_bindgen(js_name = editNote)]
    pub fn edit_note(&mut self, url: &str, note_id: &str, text: &str) -> Result<(), JsError> {
        self.edit_mine(url, note_id, |d| ops::edit_note_text(d, note_id, text))
    }

    /// Creates a cluster; returns its id.
    #[wasm_bindgen(js_name = createCluster)]
    pub fn create_cluster(&mut self, url: &str, title: &str) -> Result<String, JsError> {
        let cluster_id = tavolo_model::ids::new_item_id("c");
        self.edit_question(url, |d| ops::create_cluster(d, &cluster_id, title))?;
        Ok(cluster_id)
    }

    /// Creates a cluster holding these notes (a note dropped on another).
    #[wasm_bindgen(js_name = createClusterWith)]
    pub fn create_cluster_with(
        &mut self,
        url: &str,
        title: &str,
        note_ids: Vec<String>,
    ) -> Result<String, JsError> {
        let cluster_id = tavolo_model::ids::new_item_id("c");
        let notes: Vec<&str> = note_ids.iter().map(String::as_str).collect();
        self.edit_question(url, |d| {
            ops::create_cluster_with(d, &cluster_id, title, &notes)
        })?;
        Ok(cluster_id)
    }

    #[wasm_bindgen(js_name = renameCluster)]
    pub fn rename_cluster(
        &mut self,
        url: &str,
        cluster_id: &str,
        title: &str,
    ) -> Result<(), JsError> {
        self.edit_question(url, |d| ops::rename_cluster(d, cluster_id, title))
    }

    /// Moves a note into a cluster, or out of any with `null`.
    #[wasm_bindgen(js_name = moveNote)]
    pub fn move_note(
        &mut self,
        url: &str,
        note_id: &str,
        cluster_id: Option<String>,
    ) -> Result<(), JsError> {
        self.edit_question(url, |d| {
            ops::set_note_cluster(d, note_id, cluster_id.as_deref())
        })
    }

    /// Merges cluster `from` into `into`.
    #[wasm_bindgen(js_name = mergeClusters)]
    pub fn merge_clusters(&mut self, url: &str, from: &str, into: &str) -> Result<(), JsError> {
        self.edit_question(url, |d| ops::merge_clusters(d, from, into))
    }

    /// Dissolves a cluster: its notes become loose.
    #[wasm_bindgen(js_name = dissolveCluster)]
    pub fn dissolve_cluster(&mut self, url: &str, cluster_id: &str) -> Result<(), JsError> {
        self.edit_question(url, |d| ops::dissolve_cluster(d, cluster_id))
    }

    /// Deletes one of my notes.
    #[wasm_bindgen(js_name = deleteNote)]
    pub fn delete_note(&mut self, url: &str, note_id: &str) -> Result<(), JsError> {
        self.edit_mine(url, note_id, |d| ops::delete_note(d, note_id))
    }

    /// Changes the category of one of my notes (`null`: none).
    #[wasm_bindgen(js_name = setNoteCategory)]
    pub fn set_note_category(
        &mut self,
        url: &str,
        note_id: &str,
        category: Option<String>,
    ) -> Result<(), JsError> {
        let id = parse_url(url)?;
        if let Some(c) = &category
            && !self.question_categories(id).iter().any(|k| k == c)
        {
            return Err(JsError::new(&format!("unknown category {c}")));
        }
        self.edit_mine(url, note_id, |d| {
            ops::set_note_category(d, note_id, category.as_deref())
        })
    }

    /// Places one of my dots on a note or cluster.
    #[wasm_bindgen(js_name = addDot)]
    pub fn add_dot(&mut self, url: &str, target: &str) -> Result<(), JsError> {
        self.dot(url, target, 1)
    }

    /// Takes one of my dots back.
    #[wasm_bindgen(js_name = removeDot)]
    pub fn remove_dot(&mut self, url: &str, target: &str) -> Result<(), JsError> {
        self.dot(url, target, -1)
    }

    /// Opens or closes voting on a question (facilitator); `budget` sets
    /// its dots per participant (`null`: keep the current one).
    #[wasm_bindgen(js_name = setVoting)]
    pub fn set_voting(
        &mut self,
        url: &str,
        open: bool,
        budget: Option<f64>,
    ) -> Result<(), JsError> {
        self.facilitate(url, |d| ops::set_voting(d, open, budget.map(ms)))
    }

    /// Shows or hides the totals to participants and the projector (facilitator).
    #[wasm_bindgen(js_name = revealVotes)]
    pub fn reveal_votes(&mut self, url: &str, revealed: bool) -> Result<(), JsError> {
        self.facilitate(url, |d| ops::set_votes_revealed(d, revealed))
    }

    /// Hides a note (or shows it again), with an optional reason (facilitator).
    #[wasm_bindgen(js_name = hideNote)]
    pub fn hide_note(
        &mut self,
        url: &str,
        note_id: &str,
        hidden: bool,
        reason: Option<String>,
        now_ms: f64,
    ) -> Result<(), JsError> {
        self.facilitate(url, |d| {
            ops::set_note_hidden(d, note_id, hidden, reason.as_deref(), ms(now_ms))
        })
    }

    /// Removes a note, recording that it happened and why (facilitator).
    #[wasm_bindgen(js_name = removeNote)]
    pub fn remove_note(
        &mut self,
        url: &str,
        note_id: &str,
        reason: Option<String>,
        now_ms: f64,
    ) -> Result<(), JsError> {
        self.facilitate(url, |d| {
            ops::remove_note(d, note_id, reason.as_deref(), ms(now_ms))
        })
    }

    /// The phase timer at `now_ms` (server clock): `{status, remainingMs,
    /// durationMs}` with status `idle`, `running`, `paused` or `finished`.
    pub fn timer(&self, session_url: &str, now_ms: f64) -> Result<JsValue, JsError> {
        let id = parse_url(session_url)?;
        let state = match self.core.doc(id) {
            Some(doc) => facilitation::timer_state(doc, ms(now_ms)),
            None => facilitation::timer_state(&automerge::AutoCommit::new(), 0),
        };
        to_js(&views::TimerView::from(state))
    }

    /// Who is connected now (`undefined` until the server said).
    pub fn presence(&self) -> Result<JsValue, JsError> {
        match &self.presence {
            Some(p) => to_js(&views::presence(p)),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Moves everyone to a phase (facilitator). Clears the timer and the
    /// spotlight when the phase changes.
    #[wasm_bindgen(js_name = setCurrentPhase)]
    pub fn set_current_phase(&mut self, session_url: &str, phase_id: &str) -> Result<(), JsError> {
        self.facilitate(session_url, |d| ops::set_current_phase(d, phase_id))
    }

    /// Locks or unlocks a phase (facilitator).
    #[wasm_bindgen(js_name = setPhaseLocked)]
    pub fn set_phase_locked(
        &mut self,
        session_url: &str,
        phase_id: &str,
        locked: bool,
    ) -> Result<(), JsError> {
        self.facilitate(session_url, |d| ops::set_phase_locked(d, phase_id, locked))
    }

    /// Plans how long a phase lasts, in minutes (`null` clears) (facilitator).
    #[wasm_bindgen(js_name = setPhaseMinutes)]
    pub fn set_phase_minutes(
        &mut self,
        session_url: &str,
        phase_id: &str,
        minutes: Option<f64>,
    ) -> Result<(), JsError> {
        self.facilitate(session_url, |d| {
            ops::set_phase_minutes(d, phase_id, minutes.map(ms))
        })
    }

    /// Lets the public report name organizations, or stops it (facilitator).
    #[wasm_bindgen(js_name = setOrganizationsPublic)]
    pub fn set_organizations_public(&mut self, session_url: &str, on: bool) -> Result<(), JsError> {
        self.facilitate(session_url, |d| ops::set_organizations_public(d, on))
    }

    #[wasm_bindgen(js_name = startTimer)]
    pub fn start_timer(
        &mut self,
        session_url: &str,
        duration_ms: f64,
        now_ms: f64,
    ) -> Result<(), JsError> {
        self.facilitate(session_url, |d| {
            facilitation::start_timer(d, ms(duration_ms), ms(now_ms))
        })
    }

    #[wasm_bindgen(js_name = pauseTimer)]
    pub fn pause_timer(&mut self, session_url: &str, now_ms: f64) -> Result<(), JsError> {
        self.facilitate(session_url, |d| facilitation::pause_timer(d, ms(now_ms)))
    }

    #[wasm_bindgen(js_name = resumeTimer)]
    pub fn resume_timer(&mut self, session_url: &str, now_ms: f64) -> Result<(), JsError> {
        self.facilitate(session_url, |d| facilitation::resume_timer(d, ms(now_ms)))
    }

    #[wasm_bindgen(js_name = addTime)]
    pub fn add_time(
        &mut self,
        session_url: &str,
        delta_ms: f64,
        now_ms: f64,
    ) -> Result<(), JsError> {
        self.facilitate(session_url, |d| {
            facilitation::add_time(d, ms(delta_ms), ms(now_ms))
        })
    }

    #[wasm_bindgen(js_name = clearTimer)]
    pub fn clear_timer(&mut self, session_url: &str) -> Result<(), JsError> {
        self.facilitate(session_url, facilitation::clear_timer)
    }

    /// Points every screen at a note or a cluster (`kind` is `note` or `cluster`).
    #[wasm_bindgen(js_name = setSpotlight)]
    pub fn set_spotlight(
        &mut self,
        session_url: &str,
        question_url: &str,
        target_id: &str,
        kind: &str,
        now_ms: f64,
    ) -> Result<(), JsError> {
        parse_url(question_url)?;
        let kind = SpotlightKind::parse(kind)
            .ok_or_else(|| JsError::new(&format!("unknown spotlight kind {kind}")))?;
        let spot = Spotlight {
            doc: question_url.to_string(),
            target: target_id.to_string(),
            kind,
            at: ms(now_ms),
        };
        self.facilitate(session_url, |d| facilitation::set_spotlight(d, &spot))
    }

    #[wasm_bindgen(js_name = clearSpotlight)]
    pub fn clear_spotlight(&mut self, session_url: &str) -> Result<(), JsError> {
        self.facilitate(session_url, facilitation::clear_spotlight)
    }

    /// Shows a view of the results on the projector (`map`, `ledger`,
    /// `needs`, `matrix`, `conclusions`), or the board again with `null`
    /// (facilitator).
    #[wasm_bindgen(js_name = setRestitution)]
    pub fn set_restitution(
        &mut self,
        session_url: &str,
        step: Option<String>,
    ) -> Result<(), JsError> {
        let step = match step.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                facilitation::RestitutionStep::parse(s)
                    .ok_or_else(|| JsError::new(&format!("unknown results view {s}")))?,
            ),
        };
        self.facilitate(session_url, |d| facilitation::set_restitution(d, step))
    }

    /// Sets one field of the meeting's data (facilitator): `title`,
    /// `number`, `date` (YYYY-MM-DD), `place`, `start`/`end` (HH:MM),
    /// `responsible`, `facilitators`.
    #[wasm_bindgen(js_name = setMeetingField)]
    pub fn set_meeting_field(
        &mut self,
        session_url: &str,
        field: &str,
        value: &str,
    ) -> Result<(), JsError> {
        let field = MeetingField::parse(field)
            .ok_or_else(|| JsError::new(&format!("unknown meeting field {field}")))?;
        self.facilitate(session_url, |d| record::set_meeting_field(d, field, value))
    }

    /// Sets what the table concluded on a phase (facilitator): `synthesis`,
    /// `convergences`, `disagreements` or `handling`.
    #[wasm_bindgen(js_name = setSynthesisField)]
    pub fn set_synthesis_field(
        &mut self,
        session_url: &str,
        phase_id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), JsError> {
        let field = SynthesisField::parse(field)
            .ok_or_else(|| JsError::new(&format!("unknown synthesis field {field}")))?;
        self.facilitate(session_url, |d| {
            record::set_synthesis_field(d, phase_id, field, value)
        })
    }

    /// Sets the next steps (`next_steps`) or the questions left for the next
    /// meeting (`open_questions`) (facilitator).
    #[wasm_bindgen(js_name = setClosing)]
    pub fn set_closing(
        &mut self,
        session_url: &str,
        field: &str,
        value: &str,
    ) -> Result<(), JsError> {
        let field = ClosingField::parse(field)
            .ok_or_else(|| JsError::new(&format!("unknown field {field}")))?;
        self.facilitate(session_url, |d| record::set_closing(d, field, value))
    }

    /// Records a commitment (facilitator); `id` is empty for a new one.
    /// Returns its id.
    #[wasm_bindgen(js_name = putCommitment)]
    #[allow(clippy::too_many_arguments)]
    pub fn put_commitment(
        &mut self,
        session_url: &str,
        id: &str,
        organization: &str,
        what: &str,
        by_when: &str,
        condition: &str,
        contact_role: &str,
        from_note: Option<String>,
        now_ms: f64,
    ) -> Result<String, JsError> {
        let id = if id.is_empty() {
            uuid::Uuid::new_v4().simple().to_string()
        } else {
            id.to_string()
        };
        let input = CommitmentInput {
            organization: organization.to_string(),
            what: what.to_string(),
            by_when: by_when.to_string(),
            condition: condition.to_string(),
            contact_role: contact_role.to_string(),
            from_note: from_note.filter(|n| !n.is_empty()),
        };
        self.facilitate(session_url, |d| {
            record::put_commitment(d, &id, &input, ms(now_ms))
        })?;
        Ok(id)
    }

    /// Says how a commitment carried from the previous meeting is going
    /// (`open`, `in_progress`, `done`, `dropped`) (facilitator).
    #[wasm_bindgen(js_name = setCarriedProgress)]
    pub fn set_carried_progress(
        &mut self,
        session_url: &str,
        id: &str,
        status: &str,
        progress: &str,
    ) -> Result<(), JsError> {
        let status = record::CarriedStatus::parse(status)
            .ok_or_else(|| JsError::new(&format!("unknown status {status}")))?;
        self.facilitate(session_url, |d| {
            record::set_carried_progress(d, id, status, progress)
        })
    }

    #[wasm_bindgen(js_name = removeCommitment)]
    pub fn remove_commitment(&mut self, session_url: &str, id: &str) -> Result<(), JsError> {
        self.facilitate(session_url, |d| record::remove_commitment(d, id))
    }

    /// The server's `error` messages since the last call (it cannot save
    /// right now, a board's data is damaged…), as the server worded them.
    #[wasm_bindgen(js_name = takeServerErrors)]
    pub fn take_server_errors(&mut self) -> Vec<String> {
        self.core.take_errors()
    }

    /// Refusals since the last call, with the notes of mine that did not land.
    #[wasm_bindgen(js_name = takeRefusals)]
    pub fn take_refusals(&mut self) -> Result<JsValue, JsError> {
        to_js(&std::mem::take(&mut self.refusals))
    }
}

impl TavoloClient {
    /// An edit of a question document: participants only while its phase is
    /// open (the server would refuse it anyway); the projector never.
    fn edit_question(
        &mut self,
        url: &str,
        f: impl FnOnce(&mut automerge::AutoCommit) -> Result<(), OpError>,
    ) -> Result<(), JsError> {
        let id = parse_url(url)?;
        if self.projector {
            return Err(JsError::new("this screen is read-only"));
        }
        if self.me.is_some() && self.phase_locked(id) {
            return Err(JsError::new("this phase is locked"));
        }
        if !self.core.is_loaded(id) {
            return Err(JsError::new("the board has not loaded yet"));
        }
        self.core.change(id, f).map_err(js_err)?.map_err(js_err)
    }

    /// Asks the server to set my dots on a target (contract v2: dots are
    /// the server's, so that no replica says who placed which). Judged here
    /// first, for a quick answer; the server's word then replaces mine.
    fn dot(&mut self, url: &str, target: &str, delta: i64) -> Result<(), JsError> {
        if self.me.is_none() {
            return Err(JsError::new("only participants place dots"));
        }
        let id = parse_url(url)?;
        if self.phase_locked(id) {
            return Err(JsError::new("this phase is locked"));
        }
        let budget = self.session_budget();
        let count = self.judge_dot(id, target, delta, budget)?;
        let request = tavolo_sync::DotRequest {
            target: target.to_string(),
            count: u64::try_from(count).unwrap_or(0),
        };
        if !self.core.send_to_server(id, request.encode()) {
            return Err(JsError::new(
                "offline: dots are placed while connected to the server",
            ));
        }
        self.my_dots
            .entry(id)
            .or_default()
            .insert(target.to_string(), count);
        Ok(())
    }

    /// My new count of dots on a target, if the rules allow it.
    fn judge_dot(
        &self,
        id: DocumentId,
        target: &str,
        delta: i64,
        budget: i64,
    ) -> Result<i64, JsError> {
        let doc = self
            .core
            .doc(id)
            .filter(|_| self.core.is_loaded(id))
            .ok_or_else(|| JsError::new("the board has not loaded yet"))?;
        let voting = tavolo_model::schema::Voting::load(doc);
        if !voting.open {
            return Err(js_err(OpError::VotingClosed));
        }
        let exists = tavolo_model::ballot::exists_in(doc);
        let mine = self.my_dots.get(&id).cloned().unwrap_or_default();
        let current = mine.get(target).copied().unwrap_or(0);
        let count = (current + delta).max(0);
        if count > current {
            if !exists(target) {
                return Err(js_err(OpError::NoSuchNote(target.to_string())));
            }
            let used: i64 = mine
                .iter()
                .filter(|(t, _)| exists(t))
                .map(|(_, n)| *n)
                .sum();
            let budget = voting.budget.unwrap_or(budget);
            if used - current + count > budget {
                return Err(js_err(OpError::OverBudget(budget)));
            }
        }
        Ok(count)
    }

    /// Fails unless the note is mine; says whether it is anonymous.
    fn require_mine(&self, url: &str, note_id: &str) -> Result<bool, JsError> {
        let id = parse_url(url)?;
        let doc = self
            .core
            .doc(id)
            .ok_or_else(|| JsError::new("document is not open"))?;
        let q = QuestionDoc::load(doc);
        let note = q
            .notes
            .get(note_id)
            .ok_or_else(|| JsError::new("no such note"))?;
        if !self.is_mine(id, note_id, note) {
            return Err(JsError::new("only the author can change a note"));
        }
        Ok(note.anonymous)
    }

    /// The session's dots per participant, from the open session document.
    fn session_budget(&self) -> i64 {
        self.session_doc().map_or(3, |s| s.vote_budget)
    }

    /// The session document, from whichever open document is one (the
    /// client holds a single session's documents).
    fn session_doc(&self) -> Option<SessionDoc> {
        self.core.open_docs().find_map(|d| SessionDoc::load(d).ok())
    }

    /// A change to the session document, which only the facilitator makes.
    fn facilitate(
        &mut self,
        session_url: &str,
        f: impl FnOnce(&mut automerge::AutoCommit) -> Result<(), OpError>,
    ) -> Result<(), JsError> {
        if self.me.is_some() || self.projector {
            return Err(JsError::new("only the facilitator can change the session"));
        }
        let id = parse_url(session_url)?;
        if !self.core.is_loaded(id) {
            return Err(JsError::new("the session has not loaded yet"));
        }
        self.core.change(id, f).map_err(js_err)?.map_err(js_err)
    }

    /// Takes the ephemeral messages received; returns what changed: the
    /// presence pseudo-URL when the server's picture changed, a question's
    /// URL when the server named more of my notes on it. Both are believed
    /// only from the server.
    fn take_ephemeral(&mut self) -> Vec<String> {
        let server = self.core.server().cloned();
        let mut changed = Vec::new();
        for e in self.core.take_ephemeral() {
            if Some(&e.sender_id) != server.as_ref() {
                continue;
            }
            if let Ok(Some(p)) = Presence::decode(&e.data) {
                if self.presence.as_ref() != Some(&p) {
                    self.presence = Some(p);
                    changed.push(PRESENCE_URL.to_string());
                }
            } else if let Ok(Some(d)) = PresenceDelta::decode(&e.data) {
                // Made on the version this screen has (the server sends a
                // connection its deltas in order, after a whole picture).
                if let Some(p) = self.presence.as_mut()
                    && p.apply(&d)
                {
                    changed.push(PRESENCE_URL.to_string());
                }
            } else if let Ok(Some(d)) = MyDots::decode(&e.data) {
                let dots = d
                    .dots
                    .into_iter()
                    .map(|(t, n)| (t, i64::try_from(n).unwrap_or(0)))
                    .collect();
                self.my_dots.insert(e.document_id, dots);
                if let Some((code, message, _target)) = d.refused {
                    self.refusals.push(RefusalView {
                        doc: e.document_id.url(),
                        code,
                        message,
                        lost_notes: Vec::new(),
                    });
                }
                changed.push(e.document_id.url());
            } else if let Ok(Some(t)) = Totals::decode(&e.data) {
                let totals = t
                    .totals
                    .into_iter()
                    .map(|(k, n)| (k, i64::try_from(n).unwrap_or(0)))
                    .collect();
                self.live_totals.insert(e.document_id, totals);
                changed.push(e.document_id.url());
            } else if let Ok(Some(h)) = HiddenTexts::decode(&e.data) {
                self.hidden_texts
                    .entry(e.document_id)
                    .or_default()
                    .extend(h.notes);
                changed.push(e.document_id.url());
            } else if let Ok(Some(m)) = MyNotes::decode(&e.data) {
                let known = self.mine.entry(e.document_id).or_default();
                let before = known.len();
                known.extend(m.notes);
                if known.len() != before {
                    changed.push(e.document_id.url());
                }
            }
        }
        changed
    }

    /// What this copy of a board holds that the server had not confirmed:
    /// my new notes and my edits of my notes, moves, new and renamed groups.
    fn pending_edits(&self, id: DocumentId) -> Vec<Pending> {
        let Some(doc) = self.core.doc(id) else {
            return Vec::new();
        };
        let confirmed = self.core.confirmed(id);
        let base = if confirmed.is_empty() {
            QuestionDoc::default()
        } else {
            match doc.clone().fork_at(&confirmed) {
                Ok(f) => QuestionDoc::load(&f),
                Err(_) => return Vec::new(),
            }
        };
        let now = QuestionDoc::load(doc);
        let mut out = Vec::new();
        for (cid, c) in &now.clusters {
            match base.clusters.get(cid) {
                None => out.push(Pending::Cluster(cid.clone(), c.title.clone())),
                Some(b) if b.title != c.title => {
                    out.push(Pending::Rename(cid.clone(), c.title.clone()));
                }
                _ => {}
            }
        }
        for (nid, n) in &now.notes {
            let mine = self.is_mine(id, nid, n);
            match base.notes.get(nid) {
                None if mine => out.push(Pending::Note(nid.clone(), n.clone())),
                None => {}
                Some(b) => {
                    if mine && b.text != n.text {
                        out.push(Pending::Text(nid.clone(), n.text.clone(), n.anonymous));
                    }
                    if mine && b.category != n.category {
                        out.push(Pending::Category(
                            nid.clone(),
                            n.category.clone(),
                            n.anonymous,
                        ));
                    }
                    if b.cluster != n.cluster {
                        out.push(Pending::Move(nid.clone(), n.cluster.clone()));
                    }
                }
            }
        }
        out
    }

    /// Makes again, on a rewritten board, what the server had not
    /// confirmed; what no longer applies (a purged note) is left out.
    fn replay_edits(&mut self, id: DocumentId, edits: Vec<Pending>) {
        let Some(me) = self.me.clone() else {
            return;
        };
        for edit in edits {
            let Some(doc) = self.core.doc(id) else {
                return;
            };
            let board = QuestionDoc::load(doc);
            let purged = tavolo_model::read::get_map(doc, &automerge::ROOT, "purged");
            let gone = |n: &str| {
                purged
                    .as_ref()
                    .is_some_and(|p| automerge::ReadDoc::get(doc, p, n).ok().flatten().is_some())
            };
            let _ = match edit {
                Pending::Note(nid, n) if !board.notes.contains_key(&nid) && !gone(&nid) => {
                    let new = NewNote {
                        text: n.text.clone(),
                        category: n.category.clone(),
                        anonymous: n.anonymous,
                        created_at: n.created_at,
                    };
                    if n.anonymous {
                        self.core
                            .change_unlinked(id, |d| ops::add_note(d, &nid, &me, &new))
                            .map(|_| ())
                    } else {
                        self.core
                            .change(id, |d| ops::add_note(d, &nid, &me, &new))
                            .map(|_| ())
                    }
                }
                Pending::Text(nid, text, anon) if board.notes.contains_key(&nid) => {
                    let f = |d: &mut automerge::AutoCommit| ops::edit_note_text(d, &nid, &text);
                    if anon {
                        self.core.change_unlinked(id, f).map(|_| ())
                    } else {
                        self.core.change(id, f).map(|_| ())
                    }
                }
                Pending::Category(nid, cat, anon) if board.notes.contains_key(&nid) => {
                    let f = |d: &mut automerge::AutoCommit| {
                        ops::set_note_category(d, &nid, cat.as_deref())
                    };
                    if anon {
                        self.core.change_unlinked(id, f).map(|_| ())
                    } else {
                        self.core.change(id, f).map(|_| ())
                    }
                }
                Pending::Move(nid, cluster) if board.notes.contains_key(&nid) => self
                    .core
                    .change(id, |d| ops::set_note_cluster(d, &nid, cluster.as_deref()))
                    .map(|_| ()),
                Pending::Cluster(cid, title) if !board.clusters.contains_key(&cid) => self
                    .core
                    .change(id, |d| ops::create_cluster(d, &cid, &title))
                    .map(|_| ()),
                Pending::Rename(cid, title) if board.clusters.contains_key(&cid) => self
                    .core
                    .change(id, |d| ops::rename_cluster(d, &cid, &title))
                    .map(|_| ()),
                _ => Ok(()),
            };
        }
    }

    /// Whether a note is mine: named with my id, or anonymous and known mine.
    fn is_mine(&self, id: DocumentId, note_id: &str, note: &tavolo_model::Note) -> bool {
        let Some(me) = &self.me else {
            return false;
        };
        note.author == me.as_str() || self.mine.get(&id).is_some_and(|m| m.contains(note_id))
    }

    /// An edit of one of my notes: an anonymous one is edited the way it was
    /// written, under a new actor id on the server's confirmed heads, so the
    /// edit ties it to nothing else of mine.
    fn edit_mine(
        &mut self,
        url: &str,
        note_id: &str,
        f: impl Fn(&mut automerge::AutoCommit) -> Result<(), OpError>,
    ) -> Result<(), JsError> {
        let anonymous = self.require_mine(url, note_id)?;
        if !anonymous {
            return self.edit_question(url, f);
        }
        let id = parse_url(url)?;
        if self.phase_locked(id) {
            return Err(JsError::new("this phase is locked"));
        }
        self.core
            .change_unlinked(id, f)
            .map_err(js_err)?
            .map_err(js_err)
    }

    /// Whether my copy of the session says this question's phase is locked.
    fn phase_locked(&self, question: DocumentId) -> bool {
        let url = question.url();
        self.session_doc()
            .and_then(|s| s.question_by_doc(&url).map(|(p, _)| p.locked))
            .unwrap_or(false)
    }

    fn my_notes(&self, id: DocumentId, q: &QuestionDoc) -> Vec<LostNote> {
        q.notes_in_order()
            .into_iter()
            .filter(|(note_id, n)| self.is_mine(id, note_id, n))
            .map(|(id, n)| LostNote {
                id: id.clone(),
                text: n.text.clone(),
            })
            .collect()
    }

    /// The category ids the question offers, from whichever open session
    /// document lists it.
    fn question_categories(&self, id: DocumentId) -> Vec<String> {
        let url = id.url();
        self.session_doc()
            .and_then(|s| {
                s.question_by_doc(&url)
                    .map(|(_, q)| q.categories.iter().map(|c| c.id.clone()).collect())
            })
            .unwrap_or_default()
    }

    /// For native tests: the inner protocol core.
    pub fn core_mut(&mut self) -> &mut ClientCore {
        &mut self.core
    }
}
