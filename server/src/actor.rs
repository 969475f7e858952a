//! One task per open document: it alone owns the document (a sync `Room`),
//! every peer's sync state and the order in which things reach storage and
//! the network.
//!
//! The loop takes a batch of commands, applies them to the room, saves what
//! they changed (awaiting the group commit), and only then lets messages out:
//! for each dirty peer whose outbound queue has room it sends one message;
//! for a peer whose queue is full it parks a waiter that reserves a slot and
//! hands it back as `Drained`, at which point the peer gets one catch-up
//! message generated from the document as it is then.

use crate::registry::{DocRole, SessionShared, SessionView};
use crate::storage::{COMPACT_AFTER_CHANGES, Storage, StoredDoc};
use automerge::Automerge;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tavolo_model::SessionDoc;
use tavolo_model::policy::Role;
use tavolo_sync::room::Received;
use tavolo_sync::wire::EphemeralMessage;
use tavolo_sync::{DocumentId, Message, PeerId, Room, SyncKind};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// Capacity of a document actor's command queue.
const COMMANDS: usize = 1024;
/// Most commands handled before saving and flushing.
const BATCH: usize = 256;

/// Identifies one WebSocket connection (a peer id may reconnect on a new one).
pub type ConnId = u64;

/// What a connection's writer task receives.
#[derive(Debug)]
pub enum Outbound {
    /// Encoded frames to send in order.
    Frames(Vec<Vec<u8>>),
}

pub type Outbox = mpsc::Sender<Outbound>;

type LocalChange =
    Box<dyn FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), String> + Send>;

pub enum DocCommand {
    Attach {
        conn: ConnId,
        peer: PeerId,
        role: Role,
        outbox: Outbox,
    },
    Sync {
        conn: ConnId,
        peer: PeerId,
        kind: SyncKind,
        data: Vec<u8>,
    },
    Ephemeral {
        conn: ConnId,
        peer: PeerId,
        msg: EphemeralMessage,
    },
    Detach {
        conn: ConnId,
        peer: PeerId,
    },
    Drained {
        conn: ConnId,
        peer: PeerId,
        permit: mpsc::OwnedPermit<Outbound>,
    },
    /// A change made by the server itself; answered once it is durable.
    Change {
        change: LocalChange,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Reads the document (answered with a copy of what `f` returns).
    Read {
        f: Box<dyn FnOnce(&Automerge) + Send>,
    },
}

impl std::fmt::Debug for DocCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            DocCommand::Attach { .. } => "Attach",
            DocCommand::Sync { .. } => "Sync",
            DocCommand::Ephemeral { .. } => "Ephemeral",
            DocCommand::Detach { .. } => "Detach",
            DocCommand::Drained { .. } => "Drained",
            DocCommand::Change { .. } => "Change",
            DocCommand::Read { .. } => "Read",
        };
        f.write_str(name)
    }
}

/// A cheap handle to a document's actor.
#[derive(Debug, Clone)]
pub struct DocHandle {
    pub id: DocumentId,
    tx: mpsc::Sender<DocCommand>,
}

impl DocHandle {
    /// Sends a command, waiting for room in the actor's queue (backpressure
    /// on the sending connection). Fails only if the actor stopped.
    pub async fn send(&self, cmd: DocCommand) -> Result<(), DocumentId> {
        self.tx.send(cmd).await.map_err(|_| self.id)
    }

    /// Makes a server-side change and waits until it is on disk.
    pub async fn change(
        &self,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), String>
        + Send
        + 'static,
    ) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.send(DocCommand::Change {
            change: Box::new(f),
            reply,
        })
        .await
        .map_err(|id| format!("document {id} stopped"))?;
        rx.await.map_err(|_| "document stopped".to_string())?
    }

    /// Runs `f` on the current document and returns its result.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Automerge) -> T + Send + 'static,
    ) -> Result<T, String> {
        let (reply, rx) = oneshot::channel();
        let f = Box::new(move |doc: &Automerge| {
            let _ = reply.send(f(doc));
        });
        self.send(DocCommand::Read { f })
            .await
            .map_err(|id| format!("document {id} stopped"))?;
        rx.await.map_err(|_| "document stopped".to_string())
    }
}

/// Everything an actor starts from.
#[derive(Debug)]
pub struct DocSetup {
    pub id: DocumentId,
    pub role: DocRole,
    pub session: Arc<SessionShared>,
    pub storage: Storage,
    pub server_peer: PeerId,
    pub stored: StoredDoc,
}

/// Loads the document and starts its actor.
pub fn spawn(setup: DocSetup) -> Result<DocHandle, String> {
    let DocSetup {
        id,
        role,
        session,
        storage,
        server_peer,
        stored,
    } = setup;
    let mut doc = match &stored.snapshot {
        Some(bytes) => {
            Automerge::load(bytes).map_err(|e| format!("snapshot does not load: {e}"))?
        }
        None => Automerge::new(),
    };
    for change in &stored.changes {
        doc.load_incremental(change)
            .map_err(|e| format!("stored change does not load: {e}"))?;
    }
    if stored.snapshot.is_none() && stored.changes.is_empty() {
        return Err("document has no stored content".into());
    }
    let loose = stored.changes.len();
    let (tx, rx) = mpsc::channel(COMMANDS);
    let handle = DocHandle { id, tx: tx.clone() };
    let actor = DocActor {
        room: Room::new(id, server_peer, doc),
        role,
        session,
        storage,
        peers: HashMap::new(),
        self_tx: tx,
        loose_changes: loose,
        pending_replies: Vec::new(),
    };
    if role == DocRole::Session {
        actor.publish_view();
    }
    let span = tracing::info_span!("doc", doc = %id, role = role.as_str());
    tokio::spawn(actor.run(rx).instrument(span));
    Ok(handle)
}

struct PeerLink {
    conn: ConnId,
    outbox: Outbox,
    /// A waiter is parked for room in this peer's queue.
    waiting: bool,
}

struct DocActor {
    room: Room,
    role: DocRole,
    session: Arc<SessionShared>,
    storage: Storage,
    peers: HashMap<PeerId, PeerLink>,
    self_tx: mpsc::Sender<DocCommand>,
    loose_changes: usize,
    pending_replies: Vec<oneshot::Sender<Result<(), String>>>,
}

impl DocActor {
    async fn run(mut self, mut rx: mpsc::Receiver<DocCommand>) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            if rx.recv_many(&mut batch, BATCH).await == 0 {
                break;
            }
            for cmd in batch.drain(..) {
                self.handle(cmd);
            }
            self.save().await;
            self.flush();
        }
        tracing::debug!("document actor stopped");
    }

    fn handle(&mut self, cmd: DocCommand) {
        match cmd {
            DocCommand::Attach {
                conn,
                peer,
                role,
                outbox,
            } => {
                if self.peers.get(&peer).is_some_and(|old| old.conn != conn) {
                    // Same peer id on a new connection: start its sync afresh.
                    self.room.remove_peer(&peer);
                }
                self.room.add_peer(peer.clone(), role);
                self.peers.insert(
                    peer,
                    PeerLink {
                        conn,
                        outbox,
                        waiting: false,
                    },
                );
            }
            DocCommand::Detach { conn, peer } => {
                if self.peers.get(&peer).is_some_and(|l| l.conn == conn) {
                    self.peers.remove(&peer);
                    self.room.remove_peer(&peer);
                }
            }
            DocCommand::Sync {
                conn,
                peer,
                kind,
                data,
            } => {
                if !self.is_current(&peer, conn) {
                    tracing::debug!(%peer, "sync from a detached peer ignored");
                    return;
                }
                tracing::trace!(%peer, ?kind, bytes = data.len(), "sync in");
                let ctx = self.session.policy_context(self.room.id());
                match self.room.receive(&peer, kind, &data, &ctx) {
                    Ok(Received::Refused(refusal)) => {
                        tracing::info!(%peer, code = refusal.code.as_str(), detail = %refusal.detail, "refused changes");
                    }
                    Ok(Received::Accepted(n)) => {
                        tracing::debug!(%peer, changes = n, "accepted changes")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::info!(%peer, error = %e, "bad sync message");
                        let notice = Message::Error {
                            message: e.to_string(),
                        };
                        if let Some(link) = self.peers.get(&peer) {
                            let _ = link
                                .outbox
                                .try_send(Outbound::Frames(vec![notice.encode()]));
                        }
                    }
                }
            }
            DocCommand::Ephemeral { conn, peer, msg } => {
                if !self.is_current(&peer, conn) {
                    return;
                }
                for out in self.room.ephemeral(&peer, &msg) {
                    let target = match &out {
                        Message::Ephemeral(e) => e.target_id.clone(),
                        _ => continue,
                    };
                    if let Some(link) = self.peers.get(&target) {
                        // Presence is lossy by nature: a busy peer misses a beat.
                        let _ = link.outbox.try_send(Outbound::Frames(vec![out.encode()]));
                    }
                }
            }
            DocCommand::Drained { conn, peer, permit } => {
                if let Some(link) = self.peers.get_mut(&peer)
                    && link.conn == conn
                {
                    link.waiting = false;
                    let frames = self.room.outgoing(&peer);
                    if !frames.is_empty() {
                        permit.send(Outbound::Frames(
                            frames.iter().map(Message::encode).collect(),
                        ));
                    }
                }
            }
            DocCommand::Change { change, reply } => match self.room.local_change(change) {
                Ok(()) => self.pending_replies.push(reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            DocCommand::Read { f } => f(self.room.doc()),
        }
    }

    fn is_current(&self, peer: &PeerId, conn: ConnId) -> bool {
        self.peers.get(peer).is_some_and(|l| l.conn == conn)
    }

    /// Makes accepted changes durable before anything reflecting them leaves.
    async fn save(&mut self) {
        if self.room.has_unsaved() {
            let changes: Vec<(Vec<u8>, Vec<u8>)> = self
                .room
                .take_unsaved()
                .into_iter()
                .map(|mut c| (c.hash().0.to_vec(), c.bytes().into_owned()))
                .collect();
            let n = changes.len();
            let mut delay = Duration::from_millis(50);
            loop {
                match self
                    .storage
                    .append_changes(self.room.id().to_string(), changes.clone())
                    .await
                {
                    Ok(()) => break,
                    Err(e) => {
                        // Nothing leaves until this succeeds; keep trying.
                        tracing::error!(error = %e, "saving changes failed, retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
            self.room.saved();
            self.loose_changes += n;
            if self.role == DocRole::Session {
                self.publish_view();
            }
            if self.loose_changes >= COMPACT_AFTER_CHANGES {
                self.compact().await;
            }
        }
        for reply in self.pending_replies.drain(..) {
            let _ = reply.send(Ok(()));
        }
    }

    async fn compact(&mut self) {
        let snapshot = self.room.doc().save();
        let now = crate::now_ms();
        match self
            .storage
            .compact(self.room.id().to_string(), snapshot, now)
            .await
        {
            Ok(()) => {
                tracing::debug!(changes = self.loose_changes, "compacted");
                self.loose_changes = 0;
            }
            Err(e) => tracing::warn!(error = %e, "compaction failed; the change log stays"),
        }
    }

    fn publish_view(&self) {
        match SessionDoc::load(self.room.doc()) {
            Ok(doc) => {
                self.session.view.send_replace(SessionView::from_doc(&doc));
            }
            Err(e) => tracing::error!(error = %e, "session document does not hydrate"),
        }
    }

    fn flush(&mut self) {
        for peer in self.room.dirty_peers() {
            let Some(link) = self.peers.get_mut(&peer) else {
                continue;
            };
            if link.waiting {
                continue;
            }
            match link.outbox.try_reserve() {
                Ok(permit) => {
                    let frames = self.room.outgoing(&peer);
                    tracing::trace!(%peer, frames = frames.len(), "flush");
                    if !frames.is_empty() {
                        permit.send(Outbound::Frames(
                            frames.iter().map(Message::encode).collect(),
                        ));
                    }
                }
                Err(mpsc::error::TrySendError::Full(())) => {
                    link.waiting = true;
                    let outbox = link.outbox.clone();
                    let me = self.self_tx.clone();
                    let conn = link.conn;
                    tokio::spawn(async move {
                        if let Ok(permit) = outbox.reserve_owned().await {
                            let _ = me.send(DocCommand::Drained { conn, peer, permit }).await;
                        }
                    });
                }
                Err(mpsc::error::TrySendError::Closed(())) => {
                    // The connection is gone; its Detach is on the way.
                }
            }
        }
    }
}
