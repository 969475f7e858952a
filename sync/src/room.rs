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
//! asks for [`Room::outgoing`] only for peers whose outbound queue has room.
//! A peer whose queue is busy simply stays dirty, and gets one catch-up
//! message — generated from the document as it is then — when its queue
//! drains. Nothing is ever queued per change, so a slow peer costs memory in
//! proportion to one sync state, not to the traffic it missed.
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
use automerge::{Automerge, Change, ChangeHash, ReadDoc};
use std::collections::{BTreeMap, HashMap, VecDeque};
use tavolo_model::policy::{self, PolicyContext, Refusal, RefusalCode, Role};

/// Chunk type byte of an automerge storage chunk (after 4 magic + 4 checksum bytes).
const CHUNK_TYPE_OFFSET: usize = 8;
const CHUNK_TYPE_DOCUMENT: u8 = 0;
const CHUNK_TYPE_CHANGE: u8 = 1;
const CHUNK_TYPE_COMPRESSED_CHANGE: u8 = 2;

/// How many ephemeral sessions the room remembers for de-duplication.
const MAX_EPHEMERAL_SESSIONS: usize = 1024;
/// Changes waiting for their dependencies, per document.
const MAX_WAITING_CHANGES: usize = 256;

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
    sync: sync::State,
    /// There may be something to send this peer.
    dirty: bool,
    /// Changes were refused on this connection: the peer is read-only here.
    refused: bool,
    notices: Vec<Message>,
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
    waiting: HashMap<ChangeHash, Role>,
}

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
        }
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
        self.peers.entry(peer).or_insert_with(|| PeerState {
            role,
            sync: sync::State::new(),
            dirty: false,
            refused: false,
            notices: Vec::new(),
        });
    }

    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
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
            state.sync = sync::State::new();
        }
        if message.changes.is_empty() {
            self.doc
                .receive_sync_message(&mut state.sync, message)
                .map_err(|e| RoomError::BadSyncMessage(e.to_string()))?;
            return Ok(Received::NoChanges);
        }
        if state.refused {
            self.doc
                .receive_sync_message(&mut state.sync, message)
                .map_err(|e| RoomError::BadSyncMessage(e.to_string()))?;
            let refusal = Refusal {
                code: RefusalCode::ResetRequired,
                detail: "earlier changes of yours were refused; reload this document".into(),
            };
            state
                .notices
                .push(Self::refused(&self.server, self.id, peer, &refusal));
            return Ok(Received::Ignored);
        }

        let judged = match Self::incoming_hashes(&message) {
            Err(refusal) => Err(refusal),
            Ok(incoming) => {
                let mut doc = self.doc.clone();
                let mut sync = state.sync.clone();
                // automerge 0.12 panics on some checksummed but inconsistent
                // changes (an actor or object the document never had; found
                // by fuzzing, see sync/tests/fuzz_regressions.rs). They are
                // received by a copy, so a panic leaves the document as it
                // was: the batch is refused as malformed.
                let received = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    doc.receive_sync_message(&mut sync, message.clone())
                        .map(|()| self.doc.get_changes_added(&doc))
                }));
                let new_changes = match received {
                    Ok(Ok(changes)) => changes,
                    Ok(Err(e)) => return Err(RoomError::BadSyncMessage(e.to_string())),
                    Err(_) => {
                        let refusal = Refusal {
                            code: RefusalCode::Malformed,
                            detail: "these changes cannot be applied to this document".into(),
                        };
                        state.refused = true;
                        // Not fed to the document, even read-only: it is
                        // the message that broke the copy.
                        state.sync.set_read_only(true);
                        state
                            .notices
                            .push(Self::refused(&self.server, self.id, peer, &refusal));
                        return Ok(Received::Refused(refusal));
                    }
                };
                // Changes whose dependencies have not arrived wait in the
                // document's queue (the sync protocol asks for the missing
                // ones next); they are judged when they apply.
                let newly_waiting: Vec<ChangeHash> = incoming
                    .into_iter()
                    .filter(|h| {
                        doc.get_change_by_hash(h).is_none() && !self.waiting.contains_key(h)
                    })
                    .collect();
                if self.waiting.len() + newly_waiting.len() > MAX_WAITING_CHANGES {
                    Err(Refusal {
                        code: RefusalCode::Malformed,
                        detail: "too many changes are waiting for changes the server does not have"
                            .into(),
                    })
                } else {
                    Self::judge(
                        &self.doc,
                        &doc,
                        &new_changes,
                        &state.role,
                        &self.waiting,
                        ctx,
                    )
                    .map(|()| (doc, sync, new_changes, newly_waiting))
                }
            }
        };

        match judged {
            Ok((doc, sync, new_changes, newly_waiting)) => {
                self.doc = doc;
                state.sync = sync;
                for h in newly_waiting {
                    self.waiting.insert(h, state.role.clone());
                }
                for c in &new_changes {
                    self.waiting.remove(&c.hash());
                }
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
            Err(refusal) => {
                state.refused = true;
                state.sync.set_read_only(true);
                self.doc
                    .receive_sync_message(&mut state.sync, message)
                    .map_err(|e| RoomError::BadSyncMessage(e.to_string()))?;
                let notice = Self::refused(&self.server, self.id, peer, &refusal);
                if let Some(state) = self.peers.get_mut(peer) {
                    state.notices.push(notice);
                }
                Ok(Received::Refused(refusal))
            }
        }
    }

    /// The hashes of the changes a message carries. Peers send changes one
    /// by one; a whole document or bundle chunk is refused rather than
    /// inflated and inspected.
    fn incoming_hashes(message: &sync::Message) -> Result<Vec<ChangeHash>, Refusal> {
        let malformed = |detail: &str| Refusal {
            code: RefusalCode::Malformed,
            detail: detail.to_string(),
        };
        let mut hashes = Vec::with_capacity(message.changes.len());
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
            hashes.push(change.hash());
        }
        Ok(hashes)
    }

    /// Judges the newly applied changes, each as its sender's: changes that
    /// waited for dependencies keep the role of whoever sent them.
    fn judge(
        before: &Automerge,
        after: &Automerge,
        new_changes: &[Change],
        sender: &Role,
        waiting: &HashMap<ChangeHash, Role>,
        ctx: &PolicyContext,
    ) -> Result<(), Refusal> {
        let mut by_role: Vec<(&Role, Vec<Change>)> = Vec::new();
        for c in new_changes {
            let role = waiting.get(&c.hash()).unwrap_or(sender);
            match by_role.iter_mut().find(|(r, _)| *r == role) {
                Some((_, list)) => list.push(c.clone()),
                None => by_role.push((role, vec![c.clone()])),
            }
        }
        for (role, changes) in by_role {
            policy::check(before, after, &changes, role, ctx)?;
        }
        Ok(())
    }

    fn refused(server: &PeerId, id: DocumentId, peer: &PeerId, refusal: &Refusal) -> Message {
        Message::Refused(RefusedMessage {
            sender_id: server.clone(),
            target_id: peer.clone(),
            document_id: id,
            code: refusal.code.as_str().to_string(),
            message: refusal.detail.clone(),
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
        if self.has_unsaved() {
            return Vec::new();
        }
        let Some(state) = self.peers.get_mut(peer) else {
            return Vec::new();
        };
        let mut out = std::mem::take(&mut state.notices);
        if state.dirty {
            state.dirty = false;
            if let Some(mut msg) = self.doc.generate_sync_message(&mut state.sync) {
                // Flags would advertise v2 messages, inviting peers to send
                // whole documents; we only take individual changes.
                msg.flags = None;
                // A peer that lacks much of the document is sent all of it,
                // from `Automerge::save()`, which appends the changes still
                // waiting for their dependencies: unjudged and unsaved. Send
                // the document without them.
                let whole = msg
                    .changes
                    .iter()
                    .any(|c| c.get(CHUNK_TYPE_OFFSET) == Some(&CHUNK_TYPE_DOCUMENT));
                if whole && !self.doc.get_missing_deps(&[]).is_empty() {
                    msg.changes = vec![Self::save_judged(&self.doc)].into();
                }
                out.push(Message::Sync(DocMessage {
                    sender_id: self.server.clone(),
                    target_id: peer.clone(),
                    document_id: self.id,
                    data: msg.encode(),
                }));
            }
        }
        out
    }

    /// Relays an ephemeral message to every other peer of the document, once
    /// per (session, count): stock clients re-gossip what they receive.
    pub fn ephemeral(&mut self, from: &PeerId, msg: &EphemeralMessage) -> Vec<Message> {
        if !self.peers.contains_key(from) {
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
            .filter(|p| *p != from && **p != msg.sender_id)
            .map(|p| {
                Message::Ephemeral(EphemeralMessage {
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

    /// Number of changes in the document's history.
    pub fn change_count(&self) -> usize {
        self.doc.get_changes(&[]).len()
    }
}
