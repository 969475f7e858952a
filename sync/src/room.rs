//! The document core: one Automerge document, the peers syncing it, and the
//! server's authority over what they may change. Sans-IO — events in,
//! messages out — so it is driven by a tokio actor in the server and stepped
//! by hand in tests.
//!
//! # Durability
//!
//! Accepted changes are first *unsaved*. [`Room::take_unsaved`] hands them to
//! storage; until [`Room::saved`] is called, [`Room::outgoing`] produces
//! nothing, so no message that reflects a change leaves before the change is
//! on disk.
//!
//! # Fan-out
//!
//! Every peer has one `sync::State` and a *dirty* flag meaning "there may be
//! something to tell this peer". Changes mark every peer dirty; the caller
//! asks for [`Room::outgoing_many`] only for peers whose outbound queue has
//! room. A peer whose queue is busy simply stays dirty, and gets one
//! catch-up message — generated from the document as it is then — when its
//! queue drains. Nothing is ever queued per change, so a slow peer costs
//! memory in proportion to one sync state, not to the traffic it missed.
//!
//! The cost of a note reaching N peers is kept near N times a copy, not N
//! generations: peers in the same sync state (after a note, nearly all) are
//! sent one message generated once, each taking the state it leads to; an
//! acknowledgement that the peer has everything is taken without automerge
//! walking the history ([`receive_heads`]) and asks for no reply; and a big
//! message (the whole board, for a peer that has none) is kept for the next
//! peer in the same state while the board stays as it was.
//!
//! # Authority
//!
//! A peer's sync message that carries changes is received by a *copy* of the
//! document and of the peer's sync state. The changes new to the document
//! are judged by [`tavolo_model::policy::check`]; if they pass, the copies
//! replace the originals. If not, the copies are dropped, the peer's sync
//! state turns read-only (automerge then ignores that peer's changes while
//! still sending it everyone else's, and the exchange goes quiet), and the
//! peer is sent a `tavolo/refused` message. Every later change of that peer
//! depends on the refused one, so the peer stays read-only on this document
//! until it sends a `request` (it threw its copy away and starts again).

use crate::doc_id::DocumentId;
use crate::wire::{DocMessage, EphemeralMessage, Message, PeerId, RefusedMessage};
use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, Automerge, Change, ChangeHash, ReadDoc};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tavolo_model::policy::{self, DocKind, History, PolicyContext, Refusal, RefusalCode, Role};

/// Chunk type byte of an automerge storage chunk (after 4 magic + 4 checksum bytes).
const CHUNK_TYPE_OFFSET: usize = 8;
const CHUNK_TYPE_DOCUMENT: u8 = 0;
const CHUNK_TYPE_CHANGE: u8 = 1;
const CHUNK_TYPE_COMPRESSED_CHANGE: u8 = 2;

/// How many ephemeral sessions the room remembers for de-duplication.
const MAX_EPHEMERAL_SESSIONS: usize = 1024;
/// The largest ephemeral payload relayed (Tavolo's own presence is a few
/// hundred bytes; a cursor or a "typing…" flag is less).
pub const MAX_EPHEMERAL_BYTES: usize = 4 * 1024;

/// What may wait in automerge's queue for dependencies the server has not
/// seen, per sender and per document. An honest client sends changes in
/// causal order, but automerge's sync protocol itself makes them wait now
/// and then: a bloom-filter false positive (about 1 in 100 per change)
/// leaves out a change the client thinks the server has, and everything
/// after it in that message waits one round trip for it. So a sender may
/// have waiting what it could send at once: one whole message of the
/// largest size, and the operations its quota allows on a board.
pub mod waiting_limits {
    /// Changes one peer may have waiting (a phone back online sends one
    /// per edit).
    pub const CHANGES_PER_PEER: usize = 10_000;
    /// Operations one peer may have waiting: a participant's quota on a
    /// board ([`super::MAX_OPS_PER_PARTICIPANT`]).
    pub const OPS_PER_PEER: usize = super::MAX_OPS_PER_PARTICIPANT;
    /// Bytes (as sent) one peer may have waiting: two of the largest
    /// messages a client may send.
    pub const BYTES_PER_PEER: usize = 2 * 1024 * 1024;
    /// Operations waiting in one document, from everyone.
    pub const OPS_PER_DOC: usize = 300_000;
    /// Bytes waiting in one document, from everyone.
    pub const BYTES_PER_DOC: usize = 8 * 1024 * 1024;
}

/// Operations one participant may add to one document over its lifetime
/// (ARCHITECTURE.md, "Quotas"): a participant typing two hundred notes of
/// three hundred characters one keystroke at a time stays below it.
pub const MAX_OPS_PER_PARTICIPANT: usize = 100_000;
/// Operations one document may hold from participants.
pub const MAX_OPS_PER_DOC: usize = 2_000_000;

/// Who wrote under an actor id: an actor id belongs to whoever first used it
/// in the session, recorded by the server and refused to anyone else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The server's own changes (roster, templates).
    Server,
    Facilitator,
    Viewer,
    Participant(String),
}

impl Owner {
    pub fn of(role: &Role) -> Self {
        match role {
            Role::Facilitator => Owner::Facilitator,
            Role::Viewer => Owner::Viewer,
            Role::Participant(p) => Owner::Participant(p.as_str().to_string()),
        }
    }

    /// The stored form: `server`, `facilitator`, `viewer` or `p:<id>`.
    pub fn key(&self) -> String {
        match self {
            Owner::Server => "server".into(),
            Owner::Facilitator => "facilitator".into(),
            Owner::Viewer => "viewer".into(),
            Owner::Participant(p) => format!("p:{p}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "server" => Some(Owner::Server),
            "facilitator" => Some(Owner::Facilitator),
            "viewer" => Some(Owner::Viewer),
            _ => key
                .strip_prefix("p:")
                .map(|p| Owner::Participant(p.to_string())),
        }
    }
}

/// The owners of the actor ids of one session, shared by its documents'
/// rooms. Claims are checked and made under one lock, so two documents
/// judging at once cannot both hand out the same actor id.
#[derive(Debug, Clone, Default)]
pub struct ActorBook {
    inner: Arc<Mutex<HashMap<ActorId, Owner>>>,
}

impl ActorBook {
    pub fn new(known: impl IntoIterator<Item = (ActorId, Owner)>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(known.into_iter().collect())),
        }
    }

    pub fn owner(&self, actor: &ActorId) -> Option<Owner> {
        self.lock().get(actor).cloned()
    }

    /// The participant behind an actor id, if a participant owns it (what
    /// [`History`] needs to know who wrote an anonymous note).
    pub fn participant_of(&self) -> impl Fn(&ActorId) -> Option<String> + '_ {
        move |a| match self.owner(a) {
            Some(Owner::Participant(p)) => Some(p),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ActorId, Owner>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether every actor is `owner`'s or nobody's.
    fn check(&self, actors: &[ActorId], owner: &Owner) -> Result<(), ActorId> {
        let book = self.lock();
        for a in actors {
            if book.get(a).is_some_and(|o| o != owner) {
                return Err(a.clone());
            }
        }
        Ok(())
    }

    /// Claims every unowned actor for `owner`; returns the ones newly
    /// claimed, or the first that belongs to someone else (nothing claimed).
    pub fn claim(&self, actors: &[ActorId], owner: &Owner) -> Result<Vec<ActorId>, ActorId> {
        let mut book = self.lock();
        for a in actors {
            if book.get(a).is_some_and(|o| o != owner) {
                return Err(a.clone());
            }
        }
        let mut new = Vec::new();
        for a in actors {
            if !book.contains_key(a) {
                book.insert(a.clone(), owner.clone());
                new.push(a.clone());
            }
        }
        Ok(new)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A number for the notices' session id, different for every room of every
/// process (no `rand` dependency and no clock, which wasm lacks: the std
/// hasher's keys are random per process, the counter differs per room).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(NEXT.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// What a copy of the document accepted, to replace the originals.
struct Accepted {
    doc: Automerge,
    sync: sync::State,
    new_changes: Vec<Change>,
    newly_waiting: Vec<(ChangeHash, Waiting)>,
    claims: Vec<(ActorId, Owner)>,
}

/// A change waiting in automerge's queue for its dependencies.
#[derive(Debug, Clone)]
struct Waiting {
    role: Role,
    peer: PeerId,
    ops: usize,
    bytes: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoomError {
    #[error("peer {0} has not joined this document")]
    UnknownPeer(PeerId),
    #[error("sync message is malformed: {0}")]
    BadSyncMessage(String),
}

/// Whether a sync payload came as `request` (the peer has no copy) or `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    Request,
    Sync,
}

/// What became of an incoming sync message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Nothing new (heads, acknowledgements, or changes we already had).
    NoChanges,
    /// This many changes were accepted (now unsaved).
    Accepted(usize),
    /// The message's changes were refused and the peer told why.
    Refused(Refusal),
    /// The peer is read-only here after an earlier refusal; its changes were ignored.
    Ignored,
}

#[derive(Debug)]
struct PeerState {
    role: Role,
    /// Shared between peers in the same state: after the whole board goes
    /// to a crowd joining at once, each of them holds the hashes of every
    /// change sent (12,000 on a big board, about 270 KiB) until it
    /// acknowledges; shared, that is one set, not one per phone.
    sync: Arc<sync::State>,
    /// There may be something to send this peer.
    dirty: bool,
    /// Changes were refused on this connection: the peer is read-only here.
    refused: bool,
    notices: Vec<Message>,
    /// The peer announced `tavoloExtensions`: refusals go as
    /// `tavolo/refused`; otherwise as an `ephemeral` notice.
    extensions: bool,
}

/// What [`Room::judge`] needs to know.
struct Judging<'a> {
    before: &'a Automerge,
    after: &'a Automerge,
    sender: &'a Role,
    waiting: &'a HashMap<ChangeHash, Waiting>,
    ctx: &'a PolicyContext,
    history: Option<&'a History>,
    actors: &'a ActorBook,
    ops_by: &'a mut Option<HashMap<Owner, usize>>,
}

/// One document and the peers syncing it.
#[derive(Debug)]
pub struct Room {
    id: DocumentId,
    server: PeerId,
    doc: Automerge,
    peers: BTreeMap<PeerId, PeerState>,
    unsaved: Vec<Change>,
    saving: usize,
    ephemeral_seen: HashMap<String, u64>,
    ephemeral_order: VecDeque<String>,
    /// Changes received before their dependencies (held in automerge's
    /// queue), with the role of whoever sent them: they are judged as that
    /// sender's when their dependencies arrive, whoever supplies those.
    waiting: HashMap<ChangeHash, Waiting>,
    /// Note and cluster ids ever used (question documents; read on first use).
    history: Option<History>,
    /// Who owns which actor id in this session.
    actors: ActorBook,
    /// Numbers the `ephemeral` notices sent to stock clients (they drop a
    /// `(sessionId, count)` they have seen).
    notice_session: String,
    notice_count: u64,
    /// Actor ids claimed by accepted changes and not yet handed to storage.
    claims: Vec<(ActorId, Owner)>,
    /// Operations accepted per participant (read from the history on first
    /// use, with the owners in `actors`).
    ops_by: Option<HashMap<Owner, usize>>,
    /// The changes of this board before it was rewritten (a purge): a copy
    /// holding any of them is refused with `board_rewritten`.
    retired: std::collections::HashSet<ChangeHash>,
    /// A change since the last look deleted something or touched `hidden`:
    /// the board may need a purge (true on load, in case one was cut short).
    purge_due: bool,
    /// Big messages (the whole board, for a peer that has none) kept for
    /// the next peer in the same state, while the document stays as it was:
    /// late joiners and a crowd reconnecting at once cost one encoding.
    kept: Kept,
}

/// The state a peer is in after being sent a message, and the message
/// (encoded; none when there was nothing to send).
type Made = (Shared, Option<Arc<Vec<u8>>>);
/// A sync state, shared by the peers in it.
type Shared = Arc<sync::State>;

/// Messages made for a state, at the document's heads.
#[derive(Debug, Default)]
struct Kept {
    heads: Vec<ChangeHash>,
    made: Vec<(Shared, Shared, Arc<Vec<u8>>)>,
}

/// A message at least this big is kept for the next peer in the same state.
const KEEP_FROM_BYTES: usize = 16 * 1024;
/// How many such messages are kept (distinct states: a stock client and
/// Tavolo's announce different capabilities).
const KEEP_AT_MOST: usize = 4;

impl Room {
    /// A room over a document loaded from storage (or freshly created).
    pub fn new(id: DocumentId, server: PeerId, doc: Automerge) -> Self {
        Self {
            id,
            server,
            doc,
            peers: BTreeMap::new(),
            unsaved: Vec::new(),
            saving: 0,
            ephemeral_seen: HashMap::new(),
            ephemeral_order: VecDeque::new(),
            waiting: HashMap::new(),
            history: None,
            actors: ActorBook::default(),
            notice_session: format!("tavolo-notice-{id}-{:016x}", rand_u64()),
            notice_count: 0,
            claims: Vec::new(),
            ops_by: None,
            retired: std::collections::HashSet::new(),
            purge_due: true,
            kept: Kept::default(),
        }
    }

    /// The hashes of this board's history before it was rewritten.
    pub fn with_retired(mut self, retired: impl IntoIterator<Item = ChangeHash>) -> Self {
        self.retired.extend(retired);
        self
    }

    /// What the board needs purged now (see [`crate::reroot`]). Looked at
    /// only after a change that deleted something or touched `hidden`.
    pub fn purge_plan(&mut self) -> Option<crate::reroot::Purge> {
        if !std::mem::take(&mut self.purge_due) {
            return None;
        }
        let actors = &self.actors;
        let doc = &self.doc;
        let history = self
            .history
            .get_or_insert_with(|| History::of(doc, &actors.participant_of()));
        crate::reroot::plan(&self.doc, history)
    }

    /// Who wrote each note, as the server knows it (anonymous ones included).
    pub fn writers(&mut self) -> HashMap<String, String> {
        self.history().authors().clone()
    }

    /// Who wrote one note, as the server knows it.
    pub fn writer_of(&mut self, note_id: &str) -> Option<&str> {
        self.history().author_of(note_id)
    }

    /// Operations in the document per owner of their actor id, from the
    /// changes' metadata (no change is decoded).
    fn count_ops(doc: &Automerge, actors: &ActorBook) -> HashMap<Owner, usize> {
        let mut counts: HashMap<Owner, usize> = HashMap::new();
        for c in doc.get_changes_meta(&[]) {
            if let Some(o) = actors.owner(&c.actor) {
                let ops = (c.max_op + 1).saturating_sub(c.start_op);
                *counts.entry(o).or_default() += usize::try_from(ops).unwrap_or(usize::MAX);
            }
        }
        counts
    }

    /// Reads now what the room would otherwise read on the first change it
    /// judges — the board's history and who wrote how much — so a driver
    /// can do it off its event loop (a big board takes about 0.1 s) instead
    /// of stalling the first note behind it.
    pub fn warm(&mut self, question: bool) {
        if question {
            let _ = self.history();
        }
        if self.ops_by.is_none() {
            self.ops_by = Some(Self::count_ops(&self.doc, &self.actors));
        }
    }

    /// The board's history, read once.
    fn history(&mut self) -> &History {
        let actors = &self.actors;
        let doc = &self.doc;
        self.history
            .get_or_insert_with(|| History::of(doc, &actors.participant_of()))
    }

    /// Replaces the board with its rewritten self (a purge, already
    /// durable): the old history is retired, and every peer is told to drop
    /// its copy and load the board again (`board_rewritten`); until it
    /// does, nothing it sends lands.
    pub fn replace_doc(
        &mut self,
        doc: Automerge,
        retired: impl IntoIterator<Item = ChangeHash>,
        writers: &[(ActorId, String)],
    ) {
        assert!(
            self.unsaved.is_empty(),
            "a board is rewritten only once saved"
        );
        self.retired.extend(retired);
        self.doc = doc;
        self.kept = Kept::default();
        let _ = self
            .actors
            .claim(&[self.doc.get_actor().clone()], &Owner::Server);
        for (actor, who) in writers {
            let _ = self.actors.claim(
                std::slice::from_ref(actor),
                &Owner::Participant(who.clone()),
            );
        }
        self.history = None;
        self.ops_by = None;
        self.waiting.clear();
        let refusal = Refusal {
            code: RefusalCode::Rewritten,
            detail: "the board was rewritten without a removed or hidden note: load it again"
                .into(),
        };
        let peers: Vec<PeerId> = self.peers.keys().cloned().collect();
        for peer in peers {
            let notice = self.refused(&peer, &refusal);
            if let Some(state) = self.peers.get_mut(&peer) {
                state.sync = read_only_state();
                state.refused = true;
                state.dirty = true;
                state.notices.push(notice);
            }
        }
    }

    /// Whether changes deleted something or wrote `hidden` (what can leave
    /// a note's text where it must not stay).
    /// Whether these changes may have made work for the purge: a delete, a
    /// note hidden, or text written into an object the change did not
    /// create (an existing note's text, which may be a hidden one's, as a
    /// string or spliced into a text object). A new
    /// note (its `hidden: false` and text included) is not, so a brainstorm
    /// does not rescan the board on every note.
    fn may_need_purge(changes: &[Change]) -> bool {
        use automerge::legacy::{Key, ObjectId, OpType};
        changes.iter().any(|c| {
            let start = c.start_op().get();
            let decoded = c.decode();
            let made_here = |obj: &ObjectId| match obj {
                ObjectId::Id(id) => {
                    id.1 == decoded.actor_id
                        && id.0 >= start
                        && id.0 < start + decoded.operations.len() as u64
                }
                ObjectId::Root => false,
            };
            decoded
                .operations
                .iter()
                .any(|op| match (&op.action, &op.key) {
                    (OpType::Delete, _) => true,
                    (action, Key::Map(k)) if k == "hidden" => {
                        !matches!(action, OpType::Put(automerge::ScalarValue::Boolean(false)))
                    }
                    (_, Key::Map(k)) if k == "text" => !made_here(&op.obj),
                    // A splice into an existing text object (JavaScript clients).
                    (_, Key::Seq(_)) => !made_here(&op.obj),
                    _ => false,
                })
        })
    }

    /// Queues a message for a peer, sent in order after its notices (the
    /// server's private word: hidden texts after a purge).
    pub fn notify(&mut self, peer: &PeerId, message: Message) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.notices.push(message);
            state.dirty = true;
        }
    }

    /// Whether a sync message comes from a copy of this board from before
    /// it was rewritten.
    fn is_from_retired(&self, message: &sync::Message) -> bool {
        if self.retired.is_empty() {
            return false;
        }
        if message.heads.iter().any(|h| self.retired.contains(h)) {
            return true;
        }
        message.changes.iter().any(|chunk| {
            Change::from_bytes(chunk.to_vec()).is_ok_and(|c| {
                self.retired.contains(&c.hash())
                    || c.deps().iter().any(|d| self.retired.contains(d))
            })
        })
    }

    /// Shares the session's actor book with this room; the room's own actor
    /// id (the server's changes) is claimed in it.
    pub fn with_actors(mut self, actors: ActorBook) -> Self {
        let _ = actors.claim(&[self.doc.get_actor().clone()], &Owner::Server);
        self.actors = actors;
        self
    }

    /// Actor ids claimed since the last call, for storage to record.
    pub fn take_claims(&mut self) -> Vec<(ActorId, Owner)> {
        std::mem::take(&mut self.claims)
    }

    /// Changes waiting for dependencies the server does not have.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    pub fn id(&self) -> DocumentId {
        self.id
    }

    pub fn doc(&self) -> &Automerge {
        &self.doc
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// Registers a peer (idempotent: a known peer keeps its state).
    pub fn add_peer(&mut self, peer: PeerId, role: Role) {
        self.add_peer_with(peer, role, true);
    }

    /// Registers a peer, saying whether it understands Tavolo's own
    /// messages (`tavoloExtensions` in its `join`).
    pub fn add_peer_with(&mut self, peer: PeerId, role: Role, extensions: bool) {
        self.peers.entry(peer).or_insert_with(|| PeerState {
            role,
            sync: Arc::default(),
            dirty: false,
            refused: false,
            notices: Vec::new(),
            extensions,
        });
    }

    /// Removes a peer; changes it left waiting for dependencies go with it.
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        if self.waiting.values().any(|w| &w.peer == peer) {
            self.drop_waiting();
        }
    }

    /// Empties automerge's queue of changes waiting for dependencies (the
    /// only way is a reload of what was accepted). Peers whose changes were
    /// waiting start their sync afresh, so they send them again if still
    /// connected.
    fn drop_waiting(&mut self) {
        let actor = self.doc.get_actor().clone();
        match Automerge::load(&Self::save_judged(&self.doc)) {
            Ok(mut doc) => {
                doc.set_actor(actor);
                self.doc = doc;
                self.kept = Kept::default();
            }
            // Cannot happen for a document we saved ourselves; keep the
            // queue rather than lose accepted changes.
            Err(_) => return,
        }
        let senders: Vec<PeerId> = self.waiting.drain().map(|(_, w)| w.peer).collect();
        for p in senders {
            if let Some(state) = self.peers.get_mut(&p) {
                // A fresh state alone is not enough: the peer remembers
                // having sent those changes and never sends them again
                // (automerge's `sent_hashes`), so the two would exchange
                // the same messages forever. The reset makes the next
                // message carry empty heads ("the server lost its data";
                // the room sends no flags, so not automerge's sync-reset
                // flag), on which every automerge peer forgets what it sent
                // and offers again what the room lacks.
                state.sync = Arc::new(sync::State {
                    needs_reset: true,
                    ..sync::State::default()
                });
                state.dirty = true;
            }
        }
    }

    /// Handles a `request` or `sync` payload from a peer.
    pub fn receive(
        &mut self,
        peer: &PeerId,
        kind: SyncKind,
        data: &[u8],
        ctx: &PolicyContext,
    ) -> Result<Received, RoomError> {
        let message =
            sync::Message::decode(data).map_err(|e| RoomError::BadSyncMessage(e.to_string()))?;
        let state = self
            .peers
            .get_mut(peer)
            .ok_or_else(|| RoomError::UnknownPeer(peer.clone()))?;
        state.dirty = true;
        if kind == SyncKind::Request && state.refused {
            // The peer dropped its copy after a refusal: start afresh.
            state.refused = false;
            state.sync = Arc::default();
        }
        if kind == SyncKind::Request && self.waiting.values().any(|w| &w.peer == peer) {
            // What it left waiting is gone from its copy too; its next
            // changes reuse those sequence numbers.
            self.drop_waiting();
        }
        let stale = self.is_from_retired(&message);
        if stale && self.peers.get(peer).is_some_and(|p| p.refused) {
            // Already told the board was rewritten (a frame from its old copy
            // that was on its way): nothing more to say, nothing to take.
            return Ok(Received::Ignored);
        }
        if stale {
            // A copy from before a purge (a phone that was offline): it
            // must be dropped, not merged, or the purged text comes back.
            let refusal = Refusal {
                code: RefusalCode::Rewritten,
                detail: "this copy of the board is from before it was rewritten: load it again"
                    .into(),
            };
            let notice = self.refused(peer, &refusal);
            if let Some(state) = self.peers.get_mut(peer) {
                state.refused = true;
                state.sync = read_only_state();
                state.notices.push(notice);
            }
            return Ok(Received::Refused(refusal));
        }
        let state = self
            .peers
            .get_mut(peer)
            .ok_or_else(|| RoomError::UnknownPeer(peer.clone()))?;
        if message.changes.is_empty() {
            receive_heads(&self.doc, &mut state.sync, message);
            // An acknowledgement of everything: nothing to answer, so no
            // generation (with hundreds of peers acknowledging each note,
            // this is most of what the room receives).
            state.dirty = !in_step(&self.doc, &state.sync);
            return Ok(Received::NoChanges);
        }
        if state.refused {
            self.doc
                .receive_sync_message(Arc::make_mut(&mut state.sync), message)
                .map_err(|e| RoomError::BadSyncMessage(e.to_string()))?;
            let refusal = Refusal {
                code: RefusalCode::ResetRequired,
                detail: "earlier changes of yours were refused; reload this document".into(),
            };
            if !state.extensions {
                // A stock client was told once; it stays read-only quietly.
                return Ok(Received::Ignored);
            }
            let notice = self.refused(peer, &refusal);
            if let Some(state) = self.peers.get_mut(peer) {
                state.notices.push(notice);
            }
            return Ok(Received::Ignored);
        }
        let role = state.role.clone();
        let judged = self.try_receive(peer, &role, &message, ctx);
        match judged {
            Ok(Accepted {
                doc,
                sync,
                new_changes,
                newly_waiting,
                claims,
            }) => {
                self.doc = doc;
                if let Some(state) = self.peers.get_mut(peer) {
                    state.sync = Arc::new(sync);
                }
                for (h, w) in newly_waiting {
                    self.waiting.insert(h, w);
                }
                for c in &new_changes {
                    self.waiting.remove(&c.hash());
                }
                if let Some(h) = self.history.as_mut() {
                    h.record(&self.doc, &new_changes, &self.actors.participant_of());
                }
                self.purge_due |= Self::may_need_purge(&new_changes);
                self.claims.extend(claims);
                let n = new_changes.len();
                if n > 0 {
                    self.unsaved.extend(new_changes);
                    for p in self.peers.values_mut() {
                        p.dirty = true;
                    }
                }
                Ok(if n > 0 {
                    Received::Accepted(n)
                } else {
                    Received::NoChanges
                })
            }
            Err((refusal, poisoned)) => {
                if self.waiting.values().any(|w| &w.peer == peer) {
                    // Its waiting changes depend on what was refused: they
                    // can never apply, and its copy will be dropped.
                    self.drop_waiting();
                }
                let notice = self.refused(peer, &refusal);
                let state = self
                    .peers
                    .get_mut(peer)
                    .ok_or_else(|| RoomError::UnknownPeer(peer.clone()))?;
                state.refused = true;
                Arc::make_mut(&mut state.sync).set_read_only(true);
                if !poisoned {
                    // Read-only: automerge notes what the peer has and
                    // ignores its changes, so the exchange goes quiet. A
                    // message that broke a copy is not fed to the document.
                    self.doc
                        .receive_sync_message(Arc::make_mut(&mut state.sync), message)
                        .map_err(|e| RoomError::BadSyncMessage(e.to_string()))?;
                }
                state.notices.push(notice);
                Ok(Received::Refused(refusal))
            }
        }
    }

    /// Receives a message with changes into copies of the document and of
    /// the peer's sync state, and judges the changes it applies. The
    /// refusal says whether the message broke the copy (then it must not
    /// reach the document even read-only).
    fn try_receive(
        &mut self,
        peer: &PeerId,
        role: &Role,
        message: &sync::Message,
        ctx: &PolicyContext,
    ) -> Result<Accepted, (Refusal, bool)> {
        let incoming = Self::incoming_hashes(message, &self.doc).map_err(|r| (r, false))?;
        self.check_actors(message, role).map_err(|r| (r, false))?;
        let state = self.peers.get(peer).expect("checked by the caller");
        let mut doc = self.doc.clone();
        let mut sync = sync::State::clone(&state.sync);
        // automerge 0.12 panics on some checksummed but inconsistent
        // changes (an actor or object the document never had; found by
        // fuzzing, see sync/tests/fuzz_regressions.rs). They are received
        // by a copy, so a panic leaves the document as it was: the batch
        // is refused as malformed.
        let received = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            doc.receive_sync_message(&mut sync, message.clone())
                .map(|()| self.doc.get_changes_added(&doc))
        }));
        let new_changes = match received {
            Ok(Ok(changes)) => changes,
            // The changes do not fit the document (a sequence number
            // already taken, …): refused like any other, so the peer resets
            // instead of sending them again.
            Ok(Err(e)) => {
                return Err((
                    Refusal {
                        code: RefusalCode::Malformed,
                        detail: format!("these changes do not fit this document: {e}"),
                    },
                    true,
                ));
            }
            Err(_) => {
                return Err((
                    Refusal {
                        code: RefusalCode::Malformed,
                        detail: "these changes cannot be applied to this document".into(),
                    },
                    true,
                ));
            }
        };
        // Changes whose dependencies have not arrived wait in the
        // document's queue (the sync protocol asks for the missing ones
        // next); they are judged when they apply.
        let newly_waiting: Vec<(ChangeHash, Waiting)> = incoming
            .into_iter()
            .filter(|(h, _, _)| {
                doc.get_change_by_hash(h).is_none() && !self.waiting.contains_key(h)
            })
            .map(|(h, ops, bytes)| {
                let w = Waiting {
                    role: role.clone(),
                    peer: peer.clone(),
                    ops,
                    bytes,
                };
                (h, w)
            })
            .collect();
        Self::waiting_fits(&self.waiting, peer, &newly_waiting).map_err(|r| (r, false))?;
        if matches!(ctx.kind, DocKind::Question { .. }) && self.history.is_none() {
            self.history = Some(History::of(&self.doc, &self.actors.participant_of()));
        }
        let claims = Self::judge(
            Judging {
                before: &self.doc,
                after: &doc,
                sender: role,
                waiting: &self.waiting,
                ctx,
                history: self.history.as_ref(),
                actors: &self.actors,
                ops_by: &mut self.ops_by,
            },
            &new_changes,
        )
        .map_err(|r| (r, false))?;
        Ok(Accepted {
            doc,
            sync,
            new_changes,
            newly_waiting,
            claims,
        })
    }

    /// Changes under an actor id someone else owns are refused before
    /// automerge sees them (it would otherwise report a taken sequence
    /// number, or accept them as the squatter's).
    fn check_actors(&self, message: &sync::Message, role: &Role) -> Result<(), Refusal> {
        let mut actors = Vec::new();
        for chunk in message.changes.iter() {
            // Changes the document already has (sent again after a lost
            // acknowledgement) were judged when they arrived.
            if let Ok(c) = Change::from_bytes(chunk.to_vec())
                && self.doc.get_change_by_hash(&c.hash()).is_none()
                && !self.waiting.contains_key(&c.hash())
            {
                actors.push(c.actor_id().clone());
            }
        }
        self.actors
            .check(&actors, &Owner::of(role))
            .map_err(|actor| Refusal {
                code: RefusalCode::NotYours,
                detail: format!("actor id {actor} belongs to someone else"),
            })
    }

    /// The hashes of the changes a message carries. Peers send changes one
    /// by one; a whole document or bundle chunk is refused rather than
    /// inflated and inspected.
    /// Their shapes are checked against the document as it is (objects the
    /// message itself creates included) before automerge applies them.
    fn incoming_hashes(
        message: &sync::Message,
        doc: &Automerge,
    ) -> Result<Vec<(ChangeHash, usize, usize)>, Refusal> {
        let malformed = |detail: &str| Refusal {
            code: RefusalCode::Malformed,
            detail: detail.to_string(),
        };
        let mut hashes = Vec::with_capacity(message.changes.len());
        let mut parsed = Vec::with_capacity(message.changes.len());
        for chunk in message.changes.iter() {
            match chunk.get(CHUNK_TYPE_OFFSET) {
                Some(&CHUNK_TYPE_CHANGE | &CHUNK_TYPE_COMPRESSED_CHANGE) => {}
                _ => {
                    return Err(malformed(
                        "only individual changes are accepted, not whole documents",
                    ));
                }
            }
            let change = Change::from_bytes(chunk.to_vec())
                .map_err(|_| malformed("a change does not parse"))?;
            hashes.push((change.hash(), change.len(), chunk.len()));
            parsed.push(change);
        }
        crate::shape::check(doc, &parsed)?;
        Ok(hashes)
    }

    /// Whether the changes about to wait fit in the sender's and the
    /// document's allowance.
    fn waiting_fits(
        waiting: &HashMap<ChangeHash, Waiting>,
        peer: &PeerId,
        new: &[(ChangeHash, Waiting)],
    ) -> Result<(), Refusal> {
        if new.is_empty() {
            return Ok(());
        }
        let mine = waiting.values().filter(|w| &w.peer == peer);
        let (mut changes, mut ops, mut bytes) = (0, 0, 0);
        for w in mine.chain(new.iter().map(|(_, w)| w)) {
            changes += 1;
            ops += w.ops;
            bytes += w.bytes;
        }
        let everyone = || waiting.values().chain(new.iter().map(|(_, w)| w));
        let all_ops: usize = everyone().map(|w| w.ops).sum();
        let all_bytes: usize = everyone().map(|w| w.bytes).sum();
        use waiting_limits as l;
        if changes > l::CHANGES_PER_PEER
            || ops > l::OPS_PER_PEER
            || bytes > l::BYTES_PER_PEER
            || all_ops > l::OPS_PER_DOC
            || all_bytes > l::BYTES_PER_DOC
        {
            return Err(Refusal {
                code: RefusalCode::Malformed,
                detail: "too many changes are waiting for changes the server does not have".into(),
            });
        }
        Ok(())
    }

    /// Judges the newly applied changes, each as its sender's: changes that
    /// waited for dependencies keep the role of whoever sent them. Returns
    /// the actor ids the batch claims.
    fn judge(mut j: Judging<'_>, new_changes: &[Change]) -> Result<Vec<(ActorId, Owner)>, Refusal> {
        let (waiting, sender) = (j.waiting, j.sender);
        let mut by_role: Vec<(&Role, Vec<Change>)> = Vec::new();
        for c in new_changes {
            let role = waiting.get(&c.hash()).map_or(sender, |w| &w.role);
            match by_role.iter_mut().find(|(r, _)| *r == role) {
                Some((_, list)) => list.push(c.clone()),
                None => by_role.push((role, vec![c.clone()])),
            }
        }
        crate::shape::check(j.after, new_changes)?;
        let empty = History::default();
        let history = j.history.unwrap_or(&empty);
        // Actor ids first: a change under someone else's actor id is refused
        // whatever it contains.
        let mut owners = Vec::new();
        for (role, changes) in &by_role {
            let owner = Owner::of(role);
            let mut actors: Vec<ActorId> = changes.iter().map(|c| c.actor_id().clone()).collect();
            actors.sort();
            actors.dedup();
            if let Err(actor) = j.actors.check(&actors, &owner) {
                return Err(Refusal {
                    code: RefusalCode::NotYours,
                    detail: format!("actor id {actor} belongs to someone else"),
                });
            }
            owners.push((owner, actors));
        }
        for (role, changes) in &by_role {
            policy::check_with(j.before, j.after, changes, role, j.ctx, history)?;
        }
        if let DocKind::Question { .. } = j.ctx.kind {
            Self::judge_ops_quota(&mut j, &by_role)?;
        }
        let mut claimed = Vec::new();
        for (owner, actors) in owners {
            match j.actors.claim(&actors, &owner) {
                Ok(new) => claimed.extend(new.into_iter().map(|a| (a, owner.clone()))),
                Err(actor) => {
                    return Err(Refusal {
                        code: RefusalCode::NotYours,
                        detail: format!("actor id {actor} belongs to someone else"),
                    });
                }
            }
        }
        // Counted once the batch is accepted.
        if let Some(counts) = j.ops_by.as_mut() {
            for (role, changes) in &by_role {
                *counts.entry(Owner::of(role)).or_default() +=
                    changes.iter().map(Change::len).sum::<usize>();
            }
        }
        Ok(claimed)
    }

    /// A participant's operations on a question stay within the quota.
    fn judge_ops_quota(
        j: &mut Judging<'_>,
        by_role: &[(&Role, Vec<Change>)],
    ) -> Result<(), Refusal> {
        if !by_role
            .iter()
            .any(|(r, _)| matches!(r, Role::Participant(_)))
        {
            return Ok(());
        }
        let (before, actors) = (j.before, j.actors);
        let counts = j
            .ops_by
            .get_or_insert_with(|| Self::count_ops(before, actors));
        let total: usize = counts
            .iter()
            .filter(|(o, _)| matches!(o, Owner::Participant(_)))
            .map(|(_, n)| n)
            .sum();
        let mut added_total = 0;
        for (role, changes) in by_role {
            if !matches!(role, Role::Participant(_)) {
                continue;
            }
            let added: usize = changes.iter().map(Change::len).sum();
            added_total += added;
            let mine = counts.get(&Owner::of(role)).copied().unwrap_or(0);
            if mine + added > MAX_OPS_PER_PARTICIPANT {
                return Err(Refusal {
                    code: RefusalCode::QuotaExceeded,
                    detail: "you have written as much as one person may on this question".into(),
                });
            }
        }
        if total + added_total > MAX_OPS_PER_DOC {
            return Err(Refusal {
                code: RefusalCode::QuotaExceeded,
                detail: "this question is full".into(),
            });
        }
        Ok(())
    }

    /// The refusal as the peer can take it: `tavolo/refused` for Tavolo's
    /// clients, an `ephemeral` notice on the document for stock clients
    /// (an unknown message type makes them drop the connection).
    fn refused(&mut self, peer: &PeerId, refusal: &Refusal) -> Message {
        let extensions = self.peers.get(peer).is_none_or(|p| p.extensions);
        if extensions {
            return Message::Refused(RefusedMessage {
                sender_id: self.server.clone(),
                target_id: peer.clone(),
                document_id: self.id,
                code: refusal.code.as_str().to_string(),
                message: refusal.detail.clone(),
            });
        }
        self.notice_count += 1;
        Message::Ephemeral(EphemeralMessage {
            sender_id: self.server.clone(),
            target_id: peer.clone(),
            count: self.notice_count,
            session_id: self.notice_session.clone(),
            document_id: self.id,
            data: crate::wire::notice_payload(
                "tavolo/refused",
                Some(refusal.code.as_str()),
                &refusal.detail,
                Some(self.id),
            ),
        })
    }

    /// Applies a change made by the server itself (e.g. a participant joining
    /// the roster). Returns the closure's result; the change is unsaved.
    pub fn local_change<T, E>(
        &mut self,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let heads = self.doc.get_heads();
        let mut tx = self.doc.transaction();
        let out = match f(&mut tx) {
            Ok(v) => v,
            Err(e) => {
                tx.rollback();
                return Err(e);
            }
        };
        tx.commit();
        let new: Vec<Change> = self.doc.get_changes(&heads);
        if let Some(h) = self.history.as_mut() {
            h.record(&self.doc, &new, &self.actors.participant_of());
        }
        self.purge_due |= Self::may_need_purge(&new);
        if !new.is_empty() {
            self.unsaved.extend(new);
            for p in self.peers.values_mut() {
                p.dirty = true;
            }
        }
        Ok(out)
    }

    /// Accepted changes not yet handed to storage, in causal order.
    pub fn take_unsaved(&mut self) -> Vec<Change> {
        self.saving += self.unsaved.len();
        std::mem::take(&mut self.unsaved)
    }

    pub fn has_unsaved(&self) -> bool {
        !self.unsaved.is_empty() || self.saving > 0
    }

    /// Storage confirmed that everything taken so far is durable.
    pub fn saved(&mut self) {
        self.saving = 0;
    }

    /// Peers that may have something to receive.
    pub fn dirty_peers(&self) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(_, s)| s.dirty || !s.notices.is_empty())
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The messages to send `peer` now: pending notices, then at most one
    /// sync message. Empty while changes are unsaved (the peer stays dirty).
    pub fn outgoing(&mut self, peer: &PeerId) -> Vec<Message> {
        self.outgoing_many(std::slice::from_ref(peer))
            .pop()
            .map(|(_, m)| m)
            .unwrap_or_default()
    }

    /// [`Room::outgoing`] for many peers at once, in their order. Peers in
    /// the same sync state — after a note, that is nearly all of them — get
    /// the same message, so it is generated and encoded once per distinct
    /// state, and each of them takes the state it leads to: the message a
    /// peer gets, and what the room then expects of it, are exactly what
    /// `generate_sync_message` would have made for it alone.
    pub fn outgoing_many(&mut self, peers: &[PeerId]) -> Vec<(PeerId, Vec<Message>)> {
        if self.has_unsaved() {
            return Vec::new();
        }
        let mut made: HashMap<Arc<sync::State>, Made> = HashMap::new();
        let mut out = Vec::with_capacity(peers.len());
        let heads = self.doc.get_heads();
        if self.kept.heads != heads {
            self.kept = Kept {
                heads,
                made: Vec::new(),
            };
        }
        for peer in peers {
            let Some(state) = self.peers.get_mut(peer) else {
                continue;
            };
            let mut messages = std::mem::take(&mut state.notices);
            if state.dirty {
                state.dirty = false;
                let data = match made.get(&state.sync) {
                    Some((after, data)) => {
                        state.sync = after.clone();
                        data.clone()
                    }
                    None => {
                        let before = state.sync.clone();
                        let data = match self.kept.made.iter().find(|(b, _, _)| *b == before) {
                            Some((_, after, data)) => {
                                state.sync = after.clone();
                                Some(data.clone())
                            }
                            None => {
                                let data =
                                    Self::generate(&self.doc, Arc::make_mut(&mut state.sync))
                                        .map(Arc::new);
                                if let Some(d) = &data
                                    && d.len() >= KEEP_FROM_BYTES
                                {
                                    if self.kept.made.len() >= KEEP_AT_MOST {
                                        self.kept.made.remove(0);
                                    }
                                    self.kept.made.push((
                                        before.clone(),
                                        state.sync.clone(),
                                        d.clone(),
                                    ));
                                }
                                data
                            }
                        };
                        made.insert(before, (state.sync.clone(), data.clone()));
                        data
                    }
                };
                if let Some(data) = data {
                    messages.push(Message::Sync(DocMessage {
                        sender_id: self.server.clone(),
                        target_id: peer.clone(),
                        document_id: self.id,
                        data: Arc::unwrap_or_clone(data),
                    }));
                }
            }
            out.push((peer.clone(), messages));
        }
        out
    }

    /// One sync message for a peer in `state`, encoded.
    fn generate(doc: &Automerge, state: &mut sync::State) -> Option<Vec<u8>> {
        if state.needs_reset {
            // The flags that would carry automerge's sync reset are
            // stripped below; without them the reset goes out as empty
            // heads, which every automerge peer understands.
            state.their_capabilities = None;
        }
        let mut msg = doc.generate_sync_message(state)?;
        // Flags would advertise v2 messages, inviting peers to send whole
        // documents; we only take individual changes.
        msg.flags = None;
        // A peer that lacks much of the document is sent all of it, from
        // `Automerge::save()`, which appends the changes still waiting for
        // their dependencies: unjudged and unsaved. Send the document
        // without them.
        let whole = msg
            .changes
            .iter()
            .any(|c| c.get(CHUNK_TYPE_OFFSET) == Some(&CHUNK_TYPE_DOCUMENT));
        if whole && !doc.get_missing_deps(&[]).is_empty() {
            msg.changes = vec![Self::save_judged(doc)].into();
        }
        Some(msg.encode())
    }

    /// Relays an ephemeral message to every other peer of the document, once
    /// per (session, count): stock clients re-gossip what they receive.
    ///
    /// The relayed message carries the sender the server knows (`from`),
    /// whatever `senderId` the peer wrote, and payloads over
    /// [`MAX_EPHEMERAL_BYTES`] are dropped.
    pub fn ephemeral(&mut self, from: &PeerId, msg: &EphemeralMessage) -> Vec<Message> {
        if !self.peers.contains_key(from) || msg.data.len() > MAX_EPHEMERAL_BYTES {
            return Vec::new();
        }
        if msg.session_id.len() > 128 {
            return Vec::new();
        }
        match self.ephemeral_seen.get_mut(&msg.session_id) {
            Some(last) if *last >= msg.count => return Vec::new(),
            Some(last) => *last = msg.count,
            None => {
                if self.ephemeral_order.len() >= MAX_EPHEMERAL_SESSIONS
                    && let Some(old) = self.ephemeral_order.pop_front()
                {
                    self.ephemeral_seen.remove(&old);
                }
                self.ephemeral_seen
                    .insert(msg.session_id.clone(), msg.count);
                self.ephemeral_order.push_back(msg.session_id.clone());
            }
        }
        self.peers
            .keys()
            .filter(|p| *p != from)
            .map(|p| {
                Message::Ephemeral(EphemeralMessage {
                    sender_id: from.clone(),
                    target_id: p.clone(),
                    ..msg.clone()
                })
            })
            .collect()
    }

    /// The document as saved bytes, for a snapshot: only what was accepted
    /// (`Automerge::save()` would also keep the changes still waiting for
    /// their dependencies, which nobody has judged yet).
    pub fn save(&self) -> Vec<u8> {
        Self::save_judged(&self.doc)
    }

    fn save_judged(doc: &Automerge) -> Vec<u8> {
        doc.save_with_options(automerge::SaveOptions {
            retain_orphans: false,
            ..automerge::SaveOptions::default()
        })
    }

    /// Heads of the document, for tests and diagnostics.
    pub fn heads(&self) -> Vec<automerge::ChangeHash> {
        self.doc.get_heads()
    }

    /// The notes now in this question document written by `participant`,
    /// anonymous ones included (the server's private knowledge).
    pub fn notes_by(&mut self, participant: &str) -> Vec<String> {
        self.history().notes_of(participant)
    }

    /// Number of changes in the document's history.
    pub fn change_count(&self) -> usize {
        self.doc.get_changes(&[]).len()
    }
}

/// What automerge's `receive_sync_message` does with a message that carries
/// no changes, with one step done differently: trimming `sent_hashes` to
/// the changes the peer does not yet have. automerge walks every ancestor
/// of the peer's heads for it — the whole history, on every
/// acknowledgement, about 0.3 ms on a board of 12,000 changes. Here the
/// change graph is asked for the changes *after* those heads instead
/// (cached clocks: the cost grows with the actors and with what is new,
/// not with the history). The resulting state is the same; a test holds
/// the two side by side.
pub fn receive_heads(doc: &Automerge, state: &mut Arc<sync::State>, message: sync::Message) {
    debug_assert!(message.changes.is_empty());
    let sync::Message {
        heads,
        need,
        have,
        flags,
        ..
    } = message;
    let reset = flags.is_some_and(|f| f.contains(sync::MessageFlags::SYNC_RESET));
    let ours = doc.get_heads();
    let known: Vec<ChangeHash> = heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    // What `sent_hashes` becomes, when it changes: computed from the old
    // set without copying it (it may be shared with other peers).
    let sent = if reset || heads.is_empty() {
        Some(BTreeSet::new())
    } else if !state.sent_hashes.is_empty() && !known.is_empty() {
        if known == ours {
            Some(BTreeSet::new())
        } else {
            Some(
                doc.get_changes_meta(&known)
                    .into_iter()
                    .map(|c| c.hash)
                    .filter(|h| state.sent_hashes.contains(h))
                    .collect(),
            )
        }
    } else {
        None
    };
    let state = match sent {
        Some(sent) => {
            if Arc::get_mut(state).is_none() {
                *state = Arc::new(without_sent(state));
            }
            let state = Arc::get_mut(state).expect("just made unique");
            state.sent_hashes = sent;
            state
        }
        None => Arc::make_mut(state),
    };
    state.in_flight = false;
    if let Some(flags) = flags {
        let mut caps = vec![sync::Capability::MessageV2];
        if flags.contains(sync::MessageFlags::SUPPORTS_SYNC_RESET) {
            caps.push(sync::Capability::SyncReset);
        }
        state.their_capabilities = Some(caps);
        state.peer_read_only = flags.contains(sync::MessageFlags::READ_ONLY);
    }
    if heads == ours {
        state.last_sent_heads.clone_from(&heads);
    }
    if known.len() == heads.len() {
        state.shared_heads.clone_from(&heads);
        if heads.is_empty() {
            state.last_sent_heads = Vec::new();
        }
    } else {
        let merged: BTreeSet<ChangeHash> =
            state.shared_heads.iter().chain(&known).copied().collect();
        state.shared_heads = merged.into_iter().collect();
    }
    state.their_have = Some(have);
    state.their_heads = Some(heads);
    state.their_need = Some(need);
}

/// A copy of `state` with no `sent_hashes` (the caller sets them).
fn without_sent(state: &sync::State) -> sync::State {
    // Every field named, so a field added by automerge stops the build
    // here instead of being dropped.
    let sync::State {
        shared_heads,
        last_sent_heads,
        their_heads,
        their_need,
        their_have,
        sent_hashes: _,
        in_flight,
        have_responded,
        their_capabilities,
        read_only,
        peer_read_only,
        needs_reset,
    } = state;
    sync::State {
        shared_heads: shared_heads.clone(),
        last_sent_heads: last_sent_heads.clone(),
        their_heads: their_heads.clone(),
        their_need: their_need.clone(),
        their_have: their_have.clone(),
        sent_hashes: BTreeSet::new(),
        in_flight: *in_flight,
        have_responded: *have_responded,
        their_capabilities: their_capabilities.clone(),
        read_only: *read_only,
        peer_read_only: *peer_read_only,
        needs_reset: *needs_reset,
    }
}

/// A fresh sync state for a peer that may no longer change the document.
fn read_only_state() -> Arc<sync::State> {
    let mut state = sync::State::new();
    state.set_read_only(true);
    Arc::new(state)
}

/// The peer has everything we have and knows it: a sync message now would
/// carry nothing it lacks (automerge would send none, or only changes the
/// peer already holds), so the peer need not be asked for one.
fn in_step(doc: &Automerge, state: &sync::State) -> bool {
    let ours = doc.get_heads();
    state.have_responded
        && !state.needs_reset
        && state.last_sent_heads == ours
        && state.their_heads.as_ref() == Some(&ours)
        && state.their_need.as_ref().is_none_or(|n| n.is_empty())
        && state.their_have.as_ref().is_none_or(|have| {
            have.iter()
                .flat_map(|h| &h.last_sync)
                .all(|h| doc.get_change_meta_by_hash(h).is_some())
        })
}

#[cfg(test)]
mod tests {
    use super::Room;
    use automerge::{AutoCommit, ObjType, ReadDoc, transaction::Transactable};
    use tavolo_model::{ParticipantId, ops};

    /// The changes `edit` makes on `doc`.
    fn made(doc: &mut AutoCommit, edit: impl FnOnce(&mut AutoCommit)) -> Vec<automerge::Change> {
        let heads = doc.get_heads();
        edit(doc);
        doc.commit();
        doc.get_changes(&heads)
    }

    #[test]
    fn only_changes_that_can_leave_hidden_or_removed_text_wake_the_purge() {
        let anna = ParticipantId("p_anna".into());
        let mut doc = AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        let note = |text: &str| ops::NewNote {
            text: text.into(),
            category: None,
            anonymous: false,
            created_at: 1,
        };
        let new = made(&mut doc, |d| {
            ops::add_note(d, "n_1", &anna, &note("uno")).unwrap()
        });
        assert!(!Room::may_need_purge(&new), "a new note");
        let moved = made(&mut doc, |d| {
            let n = tavolo_model::read::map_at_path(&*d, &["notes", "n_1"]).unwrap();
            d.put(&n, "cluster", "c_1").unwrap();
        });
        assert!(!Room::may_need_purge(&moved), "a note moved");
        let edited = made(&mut doc, |d| ops::edit_note_text(d, "n_1", "due").unwrap());
        assert!(Room::may_need_purge(&edited), "an existing note's text");
        let spliced = made(&mut doc, |d| {
            let n = tavolo_model::read::map_at_path(&*d, &["notes", "n_1"]).unwrap();
            let (_, t) = d.get(&n, "text").unwrap().unwrap();
            d.splice_text(&t, 0, 0, "tre ").unwrap();
        });
        assert!(
            Room::may_need_purge(&spliced),
            "a splice into an existing text"
        );
        let hidden = made(&mut doc, |d| {
            ops::set_note_hidden(d, "n_1", true, Some("dati personali"), 2).unwrap();
        });
        assert!(Room::may_need_purge(&hidden), "a note hidden");
        let shown = made(&mut doc, |d| {
            ops::set_note_hidden(d, "n_1", false, None, 3).unwrap();
        });
        assert!(!Room::may_need_purge(&shown), "a note shown again");
        let removed = made(&mut doc, |d| ops::delete_note(d, "n_1").unwrap());
        assert!(Room::may_need_purge(&removed), "a note deleted");
        let fresh_text = made(&mut doc, |d| {
            let notes = tavolo_model::read::get_map(&*d, &automerge::ROOT, "notes").unwrap();
            let n = d.put_object(&notes, "n_2", ObjType::Map).unwrap();
            let t = d.put_object(&n, "text", ObjType::Text).unwrap();
            d.splice_text(&t, 0, 0, "nuova").unwrap();
        });
        assert!(
            !Room::may_need_purge(&fresh_text),
            "text written into a new note"
        );
    }
}
