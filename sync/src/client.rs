//! The client side of the protocol, sans-IO: the documents a peer holds,
//! one sync state per document (fresh per connection), the `join`
//! handshake, and the frames to send. Tavolo's browser client
//! (`client-wasm`) wraps it; JavaScript owns the socket.

use crate::doc_id::DocumentId;
use crate::wire::{
    DecodeError, DocMessage, EphemeralMessage, Message, PROTOCOL_V1, PeerId, PeerMetadata,
    RefusedMessage,
};
use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("frame is not a protocol message: {0}")]
    Decode(#[from] DecodeError),
    #[error("sync message for {doc} does not apply: {reason}")]
    Sync { doc: DocumentId, reason: String },
    #[error("document {0} is not open")]
    NotOpen(DocumentId),
    #[error("the server answered with protocol version {0}, expected 1")]
    Version(String),
}

#[derive(Debug)]
struct ClientDoc {
    doc: AutoCommit,
    state: sync::State,
    /// The document has content (from the server or a local edit).
    loaded: bool,
    /// Heads the server is known to have (kept across connections): what
    /// an unlinked change builds on.
    confirmed: Vec<ChangeHash>,
    /// The copy from before the server rewrote the board (a purge), shown
    /// until the new one has loaded so that screens do not flicker; never
    /// edited or sent.
    stale: Option<AutoCommit>,
}

/// What happened to the documents after a frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Documents whose content changed.
    pub changed: Vec<DocumentId>,
    /// The server greeted us (`peer`): documents can sync now.
    pub greeted: bool,
}

#[derive(Debug)]
pub struct ClientCore {
    peer: PeerId,
    server: Option<PeerId>,
    docs: BTreeMap<DocumentId, ClientDoc>,
    outgoing: Vec<Vec<u8>>,
    refusals: Vec<RefusedMessage>,
    unavailable: Vec<DocumentId>,
    ephemeral: Vec<EphemeralMessage>,
    errors: Vec<String>,
    /// Numbers this client's `ephemeral` messages (with `session_id`).
    ephemeral_sent: u64,
    session_id: String,
}

impl ClientCore {
    pub fn new(peer: PeerId) -> Self {
        let session_id = format!(
            "{}-{}",
            peer.0,
            automerge::ActorId::random().to_hex_string()
        );
        Self {
            peer,
            server: None,
            docs: BTreeMap::new(),
            outgoing: Vec::new(),
            refusals: Vec::new(),
            unavailable: Vec::new(),
            ephemeral: Vec::new(),
            errors: Vec::new(),
            ephemeral_sent: 0,
            session_id,
        }
    }

    /// Sends the server an `ephemeral` message on a document (how a dot is
    /// asked for, contract v2); false when not connected.
    pub fn send_to_server(&mut self, id: DocumentId, data: Vec<u8>) -> bool {
        let Some(server) = self.server.clone() else {
            return false;
        };
        self.ephemeral_sent += 1;
        self.outgoing.push(
            Message::Ephemeral(EphemeralMessage {
                sender_id: self.peer.clone(),
                target_id: server,
                count: self.ephemeral_sent,
                session_id: self.session_id.clone(),
                document_id: id,
                data,
            })
            .encode(),
        );
        true
    }

    pub fn peer(&self) -> &PeerId {
        &self.peer
    }

    /// The server's peer id on the current connection (once it answered `join`).
    pub fn server(&self) -> Option<&PeerId> {
        self.server.as_ref()
    }

    /// Whether the server has answered `join` on the current connection.
    pub fn ready(&self) -> bool {
        self.server.is_some()
    }

    /// The socket opened: every sync state starts afresh (the server keeps
    /// none across connections) and `join` goes first.
    pub fn connected(&mut self) {
        self.server = None;
        self.outgoing.clear();
        for d in self.docs.values_mut() {
            d.state = sync::State::new();
        }
        let join = Message::Join {
            sender_id: self.peer.clone(),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
                tavolo_extensions: true,
            },
            supported_protocol_versions: vec![PROTOCOL_V1.into()],
        };
        self.outgoing.push(join.encode());
    }

    pub fn disconnected(&mut self) {
        self.server = None;
        self.outgoing.clear();
    }

    /// Starts syncing a document (no-op when already open).
    pub fn open(&mut self, id: DocumentId) {
        if !self.docs.contains_key(&id) {
            self.reset(id);
        }
    }

    /// Opens a document with content kept from before (a copy edited while
    /// offline); it syncs, local changes included, once connected.
    pub fn restore(&mut self, id: DocumentId, mut doc: AutoCommit) {
        let loaded = !doc.get_heads().is_empty();
        self.docs.insert(
            id,
            ClientDoc {
                doc,
                state: sync::State::new(),
                loaded,
                confirmed: Vec::new(),
                stale: None,
            },
        );
        self.queue_sync(id);
    }

    /// Opens a document kept on the device (the phone's own store) with
    /// the heads the server had confirmed when it was kept: changes beyond
    /// them are this device's, not yet on the server, and go out once
    /// connected; an anonymous note written now still builds only on what
    /// the server had ([`ClientCore::change_unlinked`]).
    pub fn restore_kept(&mut self, id: DocumentId, doc: AutoCommit, confirmed: Vec<ChangeHash>) {
        self.restore(id, doc);
        if let Some(d) = self.docs.get_mut(&id) {
            d.confirmed = confirmed
                .into_iter()
                .filter(|h| d.doc.get_change_by_hash(h).is_some())
                .collect();
        }
    }

    /// The document's bytes, to keep on the device; `None` until loaded.
    pub fn save(&mut self, id: DocumentId) -> Option<Vec<u8>> {
        let d = self.docs.get_mut(&id)?;
        d.loaded.then(|| d.doc.save())
    }

    /// How many changes of this copy the server has not confirmed having
    /// (written here while offline, or not yet acknowledged).
    pub fn unconfirmed(&mut self, id: DocumentId) -> usize {
        let Some(d) = self.docs.get_mut(&id) else {
            return 0;
        };
        if !d.loaded || d.doc.get_heads() == d.confirmed {
            return 0;
        }
        let confirmed = d.confirmed.clone();
        d.doc.get_changes_meta(&confirmed).len()
    }

    /// Drops the local copy (if any) and asks the server for its copy
    /// (after a refusal: the local copy holds changes the server will never
    /// take).
    pub fn reset(&mut self, id: DocumentId) {
        let fresh = ClientDoc {
            doc: AutoCommit::new(),
            state: sync::State::new(),
            loaded: false,
            confirmed: Vec::new(),
            stale: None,
        };
        self.docs.insert(id, fresh);
        self.queue_sync(id);
    }

    /// Drops the local copy after the server rewrote the board (a purge)
    /// and loads it again; until it has, [`ClientCore::shown`] keeps the
    /// old copy on screen (read-only: [`ClientCore::is_loaded`] is false).
    pub fn reload(&mut self, id: DocumentId) {
        let stale = self.docs.remove(&id).map(|d| d.doc);
        self.reset(id);
        if let Some(d) = self.docs.get_mut(&id) {
            d.stale = stale;
        }
    }

    /// The heads the server last confirmed having, for a document.
    pub fn confirmed(&self, id: DocumentId) -> Vec<ChangeHash> {
        self.docs
            .get(&id)
            .map(|d| d.confirmed.clone())
            .unwrap_or_default()
    }

    /// The document has content (an empty document is still loading).
    pub fn is_loaded(&self, id: DocumentId) -> bool {
        self.docs.get(&id).is_some_and(|d| d.loaded)
    }

    /// What to show of a document: its content, or while it reloads after a
    /// rewrite, the copy from before.
    pub fn shown(&self, id: DocumentId) -> Option<&AutoCommit> {
        let d = self.docs.get(&id)?;
        match (&d.stale, d.loaded) {
            (Some(old), false) => Some(old),
            _ => d.loaded.then_some(&d.doc),
        }
    }

    pub fn is_open(&self, id: DocumentId) -> bool {
        self.docs.contains_key(&id)
    }

    /// Every open document.
    pub fn open_docs(&self) -> impl Iterator<Item = &AutoCommit> {
        self.docs.values().map(|d| &d.doc)
    }

    pub fn doc(&self, id: DocumentId) -> Option<&AutoCommit> {
        self.docs.get(&id).map(|d| &d.doc)
    }

    /// Edits a document locally and queues what changed for the server.
    pub fn change<T>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&mut AutoCommit) -> T,
    ) -> Result<T, ClientError> {
        let d = self.docs.get_mut(&id).ok_or(ClientError::NotOpen(id))?;
        let out = f(&mut d.doc);
        d.doc.commit();
        d.loaded = !d.doc.get_heads().is_empty();
        self.queue_sync(id);
        Ok(out)
    }

    /// Edits a document so that nobody can tie the edit to this client's
    /// other changes (how Tavolo writes anonymous notes, contract v2): the
    /// change is made under a new actor id used for nothing else, with no
    /// timestamp, on the document as the server last confirmed it, so its
    /// dependencies name only changes the server already had, never one of
    /// this client's unsent ones. Where the edit needs something the server
    /// has not confirmed yet (a note written offline), it is made on the
    /// whole local document instead.
    pub fn change_unlinked<T, E>(
        &mut self,
        id: DocumentId,
        f: impl Fn(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<Result<T, E>, ClientError> {
        let d = self.docs.get_mut(&id).ok_or(ClientError::NotOpen(id))?;
        d.doc.commit();
        let own = d.doc.get_actor().clone();
        let base: Vec<ChangeHash> = d
            .confirmed
            .iter()
            .filter(|h| d.doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        let isolated = !base.is_empty() && base != d.doc.get_heads();
        if isolated {
            d.doc.isolate(&base);
        }
        d.doc.set_actor(automerge::ActorId::random());
        let mut out = f(&mut d.doc);
        if out.is_err() && isolated {
            d.doc.rollback();
            d.doc.integrate();
            d.doc.set_actor(automerge::ActorId::random());
            out = f(&mut d.doc);
        }
        if out.is_ok() {
            d.doc.commit();
        } else {
            d.doc.rollback();
        }
        d.doc.set_actor(own);
        if isolated {
            d.doc.integrate();
        }
        d.loaded = !d.doc.get_heads().is_empty();
        self.queue_sync(id);
        Ok(out)
    }

    /// Queues the next sync message for a document, if the connection is up
    /// and there is something to say. A document with no content yet asks
    /// with `request`.
    fn queue_sync(&mut self, id: DocumentId) {
        let Some(server) = self.server.clone() else {
            return;
        };
        let Some(d) = self.docs.get_mut(&id) else {
            return;
        };
        let empty = d.doc.get_heads().is_empty();
        if let Some(msg) = d.doc.sync().generate_sync_message(&mut d.state) {
            let m = DocMessage {
                sender_id: self.peer.clone(),
                target_id: server,
                document_id: id,
                data: msg.encode(),
            };
            let wire = if empty {
                Message::Request(m)
            } else {
                Message::Sync(m)
            };
            self.outgoing.push(wire.encode());
        }
    }

    /// Handles one frame from the server.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Received, ClientError> {
        let mut out = Received::default();
        match Message::decode(frame)? {
            Message::Peer {
                sender_id,
                selected_protocol_version,
                ..
            } => {
                if selected_protocol_version != PROTOCOL_V1 {
                    return Err(ClientError::Version(selected_protocol_version));
                }
                self.server = Some(sender_id);
                out.greeted = true;
                let ids: Vec<DocumentId> = self.docs.keys().copied().collect();
                for id in ids {
                    self.queue_sync(id);
                }
            }
            Message::Sync(m) | Message::Request(m) => {
                let id = m.document_id;
                if let Some(d) = self.docs.get_mut(&id) {
                    let before = d.doc.get_heads();
                    let msg = sync::Message::decode(&m.data).map_err(|e| ClientError::Sync {
                        doc: id,
                        reason: e.to_string(),
                    })?;
                    d.doc
                        .sync()
                        .receive_sync_message(&mut d.state, msg)
                        .map_err(|e| ClientError::Sync {
                            doc: id,
                            reason: e.to_string(),
                        })?;
                    resend_what_is_needed(&mut d.doc, &mut d.state);
                    if !d.state.shared_heads.is_empty() {
                        d.confirmed.clone_from(&d.state.shared_heads);
                    }
                    let after = d.doc.get_heads();
                    if after != before {
                        d.loaded = !after.is_empty();
                        if d.loaded {
                            d.stale = None;
                        }
                        out.changed.push(id);
                    }
                    self.queue_sync(id);
                }
            }
            Message::DocUnavailable { document_id, .. } => self.unavailable.push(document_id),
            Message::Refused(r) => self.refusals.push(r),
            Message::Error { message } => self.errors.push(message),
            Message::Ephemeral(e) => self.ephemeral.push(e),
            Message::Join { .. } | Message::Leave { .. } | Message::Unknown { .. } => {}
        }
        Ok(out)
    }

    /// Frames to send now, in order.
    pub fn take_outgoing(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outgoing)
    }

    pub fn take_refusals(&mut self) -> Vec<RefusedMessage> {
        std::mem::take(&mut self.refusals)
    }

    pub fn take_unavailable(&mut self) -> Vec<DocumentId> {
        std::mem::take(&mut self.unavailable)
    }

    /// Ephemeral messages (presence) received since the last call.
    pub fn take_ephemeral(&mut self) -> Vec<EphemeralMessage> {
        std::mem::take(&mut self.ephemeral)
    }

    /// `error` messages from the server since the last call.
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }
}

/// The server says it needs changes this client already sent on this
/// connection (they never reached it, or it could not keep them):
/// automerge's sync never sends a change twice in one sync state, so
/// without this the two sides would exchange the same heads forever (the
/// room convergence property test found it). Forgetting that they were
/// sent makes the next message carry them.
fn resend_what_is_needed(doc: &mut automerge::AutoCommit, state: &mut sync::State) {
    let Some(need) = &state.their_need else {
        return;
    };
    for hash in need {
        if state.sent_hashes.contains(hash) && doc.get_change_by_hash(hash).is_some() {
            state.sent_hashes.remove(hash);
        }
    }
}
