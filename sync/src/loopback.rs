//! An in-memory server for one document: the server side of the protocol
//! (`join` → `peer`, `request`/`sync` → the [`Room`]) without sockets or
//! storage (changes count as saved at once). For simulations and for testing
//! clients — including the browser client in wasm — against the real room.

use crate::DocumentId;
use crate::dots::DotBox;
use crate::presence::{DOT_TYPE, payload_type};
use crate::room::{Room, SyncKind};
use crate::wire::{EphemeralMessage, Message, PROTOCOL_V1, PeerId, PeerMetadata};
use automerge::Automerge;
use std::collections::BTreeMap;
use tavolo_model::policy::{PolicyContext, Role};

#[derive(Debug)]
pub struct Loopback {
    room: Room,
    server: PeerId,
    ctx: PolicyContext,
    /// Roles by peer id, assigned before the peer joins.
    roles: BTreeMap<PeerId, Role>,
    /// The question's dots (contract v2).
    dots: DotBox,
    sent: u64,
}

impl Loopback {
    pub fn new(id: DocumentId, doc: Automerge, ctx: PolicyContext) -> Self {
        let server = PeerId("loopback-server".into());
        Self {
            room: Room::new(id, server.clone(), doc),
            server,
            ctx,
            roles: BTreeMap::new(),
            dots: DotBox::default(),
            sent: 0,
        }
    }

    /// A fresh, empty question document (notes, clusters, votes) served to
    /// participants with an unlocked phase; returns it with its id.
    pub fn question(categories: Vec<String>) -> (Self, DocumentId) {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tavolo_model::ops::init_question_doc(&mut tx)
            .expect("a fresh document takes the question maps");
        tx.commit();
        let id = DocumentId::random();
        let ctx = PolicyContext {
            kind: tavolo_model::policy::DocKind::Question {
                phase_id: "loopback".into(),
                categories,
            },
            phase_locked: false,
            vote_budget: 3,
        };
        (Self::new(id, doc, ctx), id)
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    pub fn set_context(&mut self, ctx: PolicyContext) {
        self.ctx = ctx;
    }

    /// The role a peer will have once it joins.
    pub fn admit(&mut self, peer: PeerId, role: Role) {
        self.roles.insert(peer, role);
    }

    /// Handles one frame from `from`; returns the frames to deliver, by peer.
    pub fn deliver(&mut self, from: &PeerId, frame: &[u8]) -> Vec<(PeerId, Vec<u8>)> {
        let mut out = Vec::new();
        match Message::decode(frame) {
            Ok(Message::Join { sender_id, .. }) => {
                let role = self.roles.get(&sender_id).cloned();
                if let Some(role) = role {
                    self.room.remove_peer(&sender_id);
                    self.room.add_peer(sender_id.clone(), role);
                    let peer = Message::Peer {
                        sender_id: self.server.clone(),
                        target_id: sender_id.clone(),
                        peer_metadata: PeerMetadata::default(),
                        selected_protocol_version: PROTOCOL_V1.into(),
                    };
                    out.push((sender_id, peer.encode()));
                }
            }
            Ok(Message::Request(m)) | Ok(Message::Sync(m)) if m.document_id == self.room.id() => {
                let kind = if matches!(Message::decode(frame), Ok(Message::Request(_))) {
                    SyncKind::Request
                } else {
                    SyncKind::Sync
                };
                if self.room.receive(from, kind, &m.data, &self.ctx).is_ok() {
                    self.room.take_unsaved();
                    self.room.saved();
                }
            }
            Ok(Message::Request(m)) | Ok(Message::Sync(m)) => {
                let unavailable = Message::DocUnavailable {
                    sender_id: self.server.clone(),
                    target_id: from.clone(),
                    document_id: m.document_id,
                };
                out.push((from.clone(), unavailable.encode()));
            }
            Ok(Message::Ephemeral(e))
                if e.document_id == self.room.id()
                    && payload_type(&e.data).as_deref() == Some(DOT_TYPE) =>
            {
                let role = self.roles.get(from).cloned().unwrap_or(Role::Viewer);
                match self
                    .dots
                    .request(self.room.doc(), &role, &e.data, &self.ctx)
                {
                    Ok(placed) => {
                        self.follow_totals();
                        let peers: Vec<(PeerId, Role)> = self
                            .roles
                            .iter()
                            .map(|(p, r)| (p.clone(), r.clone()))
                            .collect();
                        for (peer, role) in peers {
                            let data = match role {
                                Role::Participant(p) if p.as_str() == placed.participant => {
                                    self.dots.my_dots(&placed.participant, None).encode()
                                }
                                Role::Facilitator => {
                                    self.dots.live_totals(self.room.doc()).encode()
                                }
                                _ => continue,
                            };
                            out.push((peer.clone(), self.ephemeral(&peer, data)));
                        }
                    }
                    Err(answer) => out.push((from.clone(), self.ephemeral(from, answer.encode()))),
                }
            }
            _ => {}
        }
        // A revealed or hidden total follows the board.
        self.follow_totals();
        for peer in self.room.dirty_peers() {
            for m in self.room.outgoing(&peer) {
                out.push((peer.clone(), m.encode()));
            }
        }
        out
    }

    /// Rewrites the board if it needs a purge (what the server's document
    /// actor does once a batch is saved); returns the frames to deliver.
    pub fn purge(&mut self) -> Vec<(PeerId, Vec<u8>)> {
        let Some(plan) = self.room.purge_plan() else {
            return Vec::new();
        };
        let writers = self.room.writers();
        let Ok(rebuilt) =
            crate::reroot::rebuild(self.room.doc(), &plan, |id| writers.get(id).cloned())
        else {
            return Vec::new();
        };
        let mut doc = rebuilt.doc;
        doc.set_actor(rebuilt.server_actor);
        self.room
            .replace_doc(doc, rebuilt.retired, &rebuilt.writers);
        let mut out = Vec::new();
        for peer in self.room.dirty_peers() {
            for m in self.room.outgoing(&peer) {
                out.push((peer.clone(), m.encode()));
            }
        }
        out
    }

    /// Makes the board's `totals` what the dots and the reveal say.
    fn follow_totals(&mut self) {
        if let Some(totals) = self.dots.board_totals(self.room.doc()) {
            let _ = self
                .room
                .local_change(|tx| tavolo_model::ops::put_totals(tx, &totals));
            self.room.take_unsaved();
            self.room.saved();
        }
    }

    fn ephemeral(&mut self, to: &PeerId, data: Vec<u8>) -> Vec<u8> {
        self.sent += 1;
        Message::Ephemeral(EphemeralMessage {
            sender_id: self.server.clone(),
            target_id: to.clone(),
            count: self.sent,
            session_id: "loopback".into(),
            document_id: self.room.id(),
            data,
        })
        .encode()
    }
}
