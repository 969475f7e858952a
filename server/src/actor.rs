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
use crate::storage::{BadChunk, COMPACT_AFTER_CHANGES, ChunkRef, Storage, StoredDoc};
use automerge::{Automerge, Change, ReadDoc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tavolo_model::SessionDoc;
use tavolo_model::ballot::Ballots;
use tavolo_model::policy::Role;
use tavolo_sync::dots::DotBox;
use tavolo_sync::host::{Attach, Capacity, DocHost};
use tavolo_sync::reroot as sync_reroot;
use tavolo_sync::room::Received;
use tavolo_sync::wire::EphemeralMessage;
use tavolo_sync::{DocumentId, Message, PeerId, Room, SyncKind};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

/// Capacity of a document actor's command queue.
const COMMANDS: usize = 1024;
/// Most commands handled before saving and flushing.
const BATCH: usize = 256;

/// What the peers of a document are told while its changes cannot be saved.
pub const SAVE_FAILING: &str =
    "the server cannot save right now; your changes are kept and will be saved when it recovers";
/// What a peer is told about a document whose stored data is damaged.
pub const DAMAGED: &str = "this board's saved data is damaged, so the server will not show it (rather than show it empty); the damaged part is kept for repair, please tell the facilitator";

/// Identifies one WebSocket connection (a peer id may reconnect on a new one).
pub type ConnId = u64;

/// What a connection's writer task receives.
#[derive(Debug)]
pub enum Outbound {
    /// Encoded frames to send in order.
    Frames(Vec<Vec<u8>>),
    /// Messages to encode and send in order: the connection's own task
    /// encodes them, so a busy document's fan-out spreads over the cores
    /// instead of being encoded one peer after another on its actor.
    Messages(Vec<Message>),
}

pub type Outbox = mpsc::Sender<Outbound>;

type LocalChange =
    Box<dyn FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), String> + Send>;

pub enum DocCommand {
    /// Answered `false` by an actor that is closing (idle): the caller asks
    /// the registry again and gets a fresh one.
    Attach {
        conn: ConnId,
        peer: PeerId,
        role: Role,
        /// The peer announced `tavoloExtensions` (Tavolo's own client).
        extensions: bool,
        outbox: Outbox,
        ack: oneshot::Sender<bool>,
    },
    Sync {
        conn: ConnId,
        peer: PeerId,
        kind: SyncKind,
        data: Vec<u8>,
        /// When the message reached its connection.
        received: std::time::Instant,
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
    /// The document as loaded by [`load`].
    pub doc: Automerge,
    /// Changes stored after its snapshot (for compaction).
    pub loose: usize,
    /// How the actor leaves the registry when idle.
    pub retire: Retire,
    /// A question's dots, as stored (empty for other documents).
    pub ballots: Ballots,
    /// A question's history before it was rewritten (purges).
    pub retired: Vec<automerge::ChangeHash>,
    /// A question's hidden notes' texts, kept by the server only.
    pub hidden: Vec<(String, String)>,
}

/// An idle actor's way out: after `after` with no peer and nothing unsaved
/// it removes its own registry entry (`leave`), answers what is still
/// queued, and stops; the next use loads the document again.
#[derive(Clone)]
pub struct Retire {
    pub after: Duration,
    pub leave: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Retire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retire")
            .field("after", &self.after)
            .finish()
    }
}

impl Retire {
    /// Never retires (tools and tests that drive one actor).
    pub fn never() -> Self {
        Retire {
            after: Duration::from_secs(u64::MAX / 4),
            leave: Arc::new(|| {}),
        }
    }

    /// Leaves the registry, then answers the commands that were already on
    /// their way for a moment, and returns.
    async fn leave_and_drain(
        &self,
        rx: &mut mpsc::Receiver<DocCommand>,
        read: impl Fn(Box<dyn FnOnce(&Automerge) + Send>),
    ) {
        (self.leave)();
        while let Ok(Some(cmd)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            match cmd {
                DocCommand::Attach { ack, .. } => {
                    let _ = ack.send(false);
                }
                DocCommand::Change { reply, .. } => {
                    let _ = reply.send(Err("the document was closing; try again".into()));
                }
                DocCommand::Read { f } => read(f),
                DocCommand::Sync { .. }
                | DocCommand::Ephemeral { .. }
                | DocCommand::Detach { .. }
                | DocCommand::Drained { .. } => {}
            }
        }
    }
}

/// A stored document after checking every chunk.
#[derive(Debug)]
pub struct Loaded {
    /// The document built from every good chunk, or why there is no
    /// document worth serving.
    pub doc: Result<Automerge, String>,
    /// Chunks to move to quarantine: damaged ones, and changes that depend
    /// on a damaged or missing one.
    pub bad: Vec<BadChunk>,
    /// Good changes stored after the snapshot.
    pub loose: usize,
}

/// Builds a document from what storage holds, checking each chunk: the
/// snapshot must load (Automerge verifies its checksum and heads), each
/// change must parse and hash to the hash it was saved under. A bad chunk
/// is left out and reported in [`Loaded::bad`], as is every change that
/// cannot apply without it. If what remains does not have the root shape
/// of its role (a session, a roster, a question), there is no document:
/// an empty board must never be served in place of a damaged one.
pub fn load(role: DocRole, stored: StoredDoc) -> Loaded {
    let mut bad = Vec::new();
    let mut doc = match stored.snapshot {
        Some(bytes) => match Automerge::load(&bytes) {
            Ok(doc) => doc,
            Err(e) => {
                bad.push(BadChunk {
                    chunk: ChunkRef::Snapshot,
                    data: bytes,
                    reason: format!("damaged: snapshot does not load: {e}"),
                });
                Automerge::new()
            }
        },
        None => Automerge::new(),
    };
    // Each change is checked on its own (it parses, it hashes to its
    // name); the good ones are then applied in one call, which costs about
    // what one change does. Only if that fails are they applied one by one,
    // to find the one that does not apply and keep the rest.
    let mut parsed: Vec<(crate::storage::StoredChange, Change)> = Vec::new();
    for stored_change in stored.changes {
        let checked = Change::from_bytes(stored_change.data.clone())
            .map_err(|e| format!("damaged: change does not parse: {e}"))
            .and_then(|c| {
                if c.hash().0.as_slice() == stored_change.hash.as_slice() {
                    Ok(c)
                } else {
                    Err("damaged: change does not hash to the hash it was saved under".into())
                }
            });
        match checked {
            Ok(change) => parsed.push((stored_change, change)),
            Err(reason) => bad.push(BadChunk {
                chunk: ChunkRef::Change {
                    seq: stored_change.seq,
                    hash: stored_change.hash.clone(),
                },
                data: stored_change.data,
                reason,
            }),
        }
    }
    let mut trial = doc.clone();
    let all_at_once = trial
        .apply_changes(parsed.iter().map(|(_, c)| c.clone()))
        .is_ok();
    let mut good: Vec<(crate::storage::StoredChange, automerge::ChangeHash)> = Vec::new();
    if all_at_once {
        doc = trial;
        good = parsed.into_iter().map(|(s, c)| (s, c.hash())).collect();
    } else {
        for (stored_change, change) in parsed {
            let hash = change.hash();
            match doc.apply_changes([change]) {
                Ok(()) => good.push((stored_change, hash)),
                Err(e) => bad.push(BadChunk {
                    chunk: ChunkRef::Change {
                        seq: stored_change.seq,
                        hash: stored_change.hash.clone(),
                    },
                    data: stored_change.data,
                    reason: format!("damaged: change does not apply: {e}"),
                }),
            }
        }
    }
    // Changes still waiting for a dependency (one that was damaged, or the
    // snapshot) are set aside too: compaction would otherwise drop them.
    let mut loose = 0;
    let mut orphans = false;
    for (c, hash) in good {
        if doc.get_change_by_hash(&hash).is_some() {
            loose += 1;
        } else {
            orphans = true;
            bad.push(BadChunk {
                chunk: ChunkRef::Change {
                    seq: c.seq,
                    hash: c.hash,
                },
                data: c.data,
                reason: "change depends on a change that is damaged or missing".into(),
            });
        }
    }
    if orphans {
        // Drop automerge's queue of changes that cannot apply (`save()`
        // would keep them, and `load` would queue them again).
        let judged = doc.save_with_options(automerge::SaveOptions {
            retain_orphans: false,
            ..automerge::SaveOptions::default()
        });
        match Automerge::load(&judged) {
            Ok(d) => doc = d,
            Err(e) => {
                return Loaded {
                    doc: Err(format!("document does not reload: {e}")),
                    bad,
                    loose,
                };
            }
        }
    }
    let doc = if has_root_shape(role, &doc) {
        Ok(doc)
    } else if bad.is_empty() {
        Err(format!("no stored {} document", role.as_str()))
    } else {
        Err(format!(
            "what is left after setting aside {} damaged or dependent chunk(s) is not a {} document",
            bad.len(),
            role.as_str()
        ))
    };
    Loaded { doc, bad, loose }
}

/// Whether a document has what every document of its role starts with.
fn has_root_shape(role: DocRole, doc: &Automerge) -> bool {
    use tavolo_model::read::get_map;
    match role {
        DocRole::Session => SessionDoc::load(doc).is_ok(),
        DocRole::Roster => get_map(doc, &automerge::ROOT, "participants").is_some(),
        DocRole::Question => get_map(doc, &automerge::ROOT, "notes").is_some(),
    }
}

/// Starts the actor of a loaded document.
pub fn spawn(setup: DocSetup) -> DocHandle {
    let DocSetup {
        id,
        role,
        session,
        storage,
        server_peer,
        doc,
        loose,
        retire,
        ballots,
        retired,
        hidden,
    } = setup;
    let (tx, rx) = mpsc::channel(COMMANDS);
    let handle = DocHandle { id, tx: tx.clone() };
    let room = Room::new(id, server_peer.clone(), doc)
        .with_actors(session.actors.clone())
        .with_retired(retired);
    let actor = DocActor {
        host: DocHost::new(room, loose, COMPACT_AFTER_CHANGES),
        server_peer,
        role,
        session,
        storage,
        outboxes: HashMap::new(),
        self_tx: tx,
        retire,
        last_active: Instant::now(),
        dots: DotBox::new(ballots),
        pending_dots: Vec::new(),
        awaiting_disk: Vec::new(),
        dots_to_tell: std::collections::BTreeSet::new(),
        totals_to_tell: false,
        totals_heads: None,
        hidden_texts: hidden.into_iter().collect(),
        purge_heads: None,
    };
    if role == DocRole::Session {
        actor.publish_view();
    }
    let span = tracing::info_span!("doc", doc = %id, role = role.as_str());
    tokio::spawn(actor.run(rx).instrument(span));
    handle
}

/// Starts the stand-in for a document that cannot be served: every peer
/// that opens it gets an `error` message saying so — never a sync message,
/// so never an empty document — and server-side changes and reads fail.
///
/// Like a live document it retires when idle, so a board repaired in the
/// database is read again on its next use, without a restart.
pub fn spawn_damaged(id: DocumentId, reason: String, server: PeerId, retire: Retire) -> DocHandle {
    let (tx, mut rx) = mpsc::channel::<DocCommand>(COMMANDS);
    let handle = DocHandle { id, tx };
    let span = tracing::info_span!("damaged_doc", doc = %id);
    tokio::spawn(
        async move {
            let mut peers: HashMap<PeerId, (ConnId, Outbox, Vec<u8>)> = HashMap::new();
            let mut last_active = Instant::now();
            loop {
                let cmd = match tokio::time::timeout(retire.after, rx.recv()).await {
                    Ok(Some(cmd)) => cmd,
                    Ok(None) => break,
                    Err(_) => {
                        if peers.is_empty() && last_active.elapsed() >= retire.after {
                            // Dropping `f`: a reader never sees an empty document.
                            retire.leave_and_drain(&mut rx, drop).await;
                            break;
                        }
                        continue;
                    }
                };
                last_active = Instant::now();
                match cmd {
                    DocCommand::Attach {
                        conn,
                        peer,
                        outbox,
                        ack,
                        extensions,
                        ..
                    } => {
                        let _ = ack.send(true);
                        tracing::warn!(%peer, %reason, "a peer opened a damaged document");
                        let n = notice(extensions, &server, &peer, id, DAMAGED);
                        let _ = outbox.try_send(Outbound::Frames(vec![n.clone()]));
                        peers.insert(peer, (conn, outbox, n));
                    }
                    DocCommand::Sync { conn, peer, .. } => {
                        if let Some((c, outbox, n)) = peers.get(&peer)
                            && *c == conn
                        {
                            let _ = outbox.try_send(Outbound::Frames(vec![n.clone()]));
                        }
                    }
                    DocCommand::Detach { conn, peer } => {
                        if peers.get(&peer).is_some_and(|(c, _, _)| *c == conn) {
                            peers.remove(&peer);
                        }
                    }
                    DocCommand::Change { reply, .. } => {
                        let _ = reply.send(Err(format!("document {id} is damaged: {reason}")));
                    }
                    // Dropping `f` makes the reader fail: it never sees an
                    // empty document.
                    DocCommand::Read { .. }
                    | DocCommand::Ephemeral { .. }
                    | DocCommand::Drained { .. } => {}
                }
            }
        }
        .instrument(span),
    );
    handle
}

/// A notice that does not end the connection: `error` for Tavolo's own
/// clients, an `ephemeral` message on the document for stock ones (samod
/// treats any `error` after the handshake as fatal and reconnects, in a
/// loop while the cause lasts).
pub fn notice(
    extensions: bool,
    server: &PeerId,
    peer: &PeerId,
    doc: DocumentId,
    message: &str,
) -> Vec<u8> {
    if extensions {
        return Message::Error {
            message: message.to_string(),
        }
        .encode();
    }
    server_ephemeral(
        server,
        peer,
        doc,
        tavolo_sync::wire::notice_payload("tavolo/notice", None, message, Some(doc)),
    )
}

/// An `ephemeral` message from the server to one peer.
fn server_ephemeral(server: &PeerId, peer: &PeerId, doc: DocumentId, data: Vec<u8>) -> Vec<u8> {
    server_ephemeral_message(server, peer, doc, data).encode()
}

fn server_ephemeral_message(
    server: &PeerId,
    peer: &PeerId,
    doc: DocumentId,
    data: Vec<u8>,
) -> Message {
    static SESSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("tavolo-server-notice-{}", uuid::Uuid::new_v4().simple())
    });
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    Message::Ephemeral(EphemeralMessage {
        sender_id: server.clone(),
        target_id: peer.clone(),
        count: COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        session_id: SESSION.clone(),
        document_id: doc,
        data,
    })
}

/// What the actor holds for a peer besides the host's link: its
/// connection's outbound queue.
type Outboxes = HashMap<PeerId, (ConnId, Outbox)>;

/// Replies to server-side changes, handed back by the host once durable.
type Reply = oneshot::Sender<Result<(), String>>;

/// The tokio driver of one document's [`DocHost`]: it feeds the host the
/// commands, stores what the host says to store, and sends what it says to
/// send. Tavolo's own rules on top (dots, the board's totals, purges and
/// hidden texts) live here, using the host's room.
struct DocActor {
    host: DocHost<Reply>,
    server_peer: PeerId,
    role: DocRole,
    session: Arc<SessionShared>,
    storage: Storage,
    outboxes: Outboxes,
    self_tx: mpsc::Sender<DocCommand>,
    retire: Retire,
    /// The last command handled.
    last_active: Instant,
    /// Who placed which dot on this question (contract v2: the server's
    /// alone).
    dots: DotBox,
    /// Dots accepted and not yet durable: (participant, target, count).
    pending_dots: Vec<(String, String, i64)>,
    /// When each message with accepted changes not yet durable arrived,
    /// and how many changes it brought (for `/metrics`).
    awaiting_disk: Vec<(std::time::Instant, usize)>,
    /// Participants to tell their dots once the pending ones are durable.
    dots_to_tell: std::collections::BTreeSet<String>,
    /// The facilitator's connections are to hear the live totals.
    totals_to_tell: bool,
    /// The heads at which the board's `totals` were last made right.
    totals_heads: Option<Vec<automerge::ChangeHash>>,
    /// Hidden notes' texts (note id → text), out of the board since a purge.
    hidden_texts: HashMap<String, String>,
    /// The heads at which the board last needed no purge.
    purge_heads: Option<Vec<automerge::ChangeHash>>,
}

impl DocActor {
    async fn run(mut self, mut rx: mpsc::Receiver<DocCommand>) {
        // What the room reads of a big board before judging its first
        // change, read off the async workers (commands queue meanwhile).
        let question = self.role == DocRole::Question;
        let placeholder = Room::new(
            self.host.room().id(),
            self.server_peer.clone(),
            Automerge::new(),
        );
        let mut room = self.host.set_room(placeholder);
        match tokio::task::spawn_blocking(move || {
            room.warm(question);
            room
        })
        .await
        {
            Ok(room) => {
                self.host.set_room(room);
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the board's history failed; the document stops");
                return;
            }
        }
        let mut batch = Vec::with_capacity(BATCH);
        let mut idle_check =
            tokio::time::interval((self.retire.after / 2).max(Duration::from_millis(100)));
        idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // While saves fail the actor keeps taking commands (peers keep
            // editing, their changes held), and retries when the timer fires.
            let retry_at = self.host.retry_at().map(Instant::from_std);
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        break;
                    }
                    self.last_active = Instant::now();
                    for cmd in batch.drain(..) {
                        self.handle(cmd);
                    }
                }
                () = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                    self.host.retry_due();
                }
                _ = idle_check.tick() => {
                    if self.is_idle() {
                        tracing::debug!("idle: document actor retiring");
                        let room = self.host.room();
                        self.retire.leave_and_drain(&mut rx, |f| f(room.doc())).await;
                        return;
                    }
                }
            }
            if self.stopped_by_lost_lease() {
                // Readers get nothing: the document may hold unsaved changes.
                self.retire.leave_and_drain(&mut rx, drop).await;
                return;
            }
            self.reconcile_totals();
            self.save().await;
            if self.stopped_by_lost_lease() {
                self.retire.leave_and_drain(&mut rx, drop).await;
                return;
            }
            if self.purge().await {
                // The board was rewritten: a note shown again gets its text
                // back, and the totals follow, in the same round.
                self.reconcile_totals();
                self.save().await;
            }
            self.flush();
        }
        tracing::debug!("document actor stopped");
    }

    /// This node lost the session's lease: the actor stops without storing
    /// or sending anything more. Whatever it held unsaved must never reach
    /// a peer — a client holding a change the new owner never stored would
    /// have every later change of its own wait on it — so it is dropped
    /// here, where only its writer (who still has it) can bring it to the
    /// node serving the session now. Its connections are being told to go
    /// there; a command still queued finds the actor gone.
    fn stopped_by_lost_lease(&self) -> bool {
        if self.session.lost.get().is_none() {
            return false;
        }
        tracing::debug!(
            unsaved = !self.host.all_saved(),
            "the session's lease was lost: document actor stops"
        );
        true
    }

    /// Nobody attached, nothing to save or answer, quiet for a while.
    fn is_idle(&self) -> bool {
        self.host.is_quiet()
            && self.pending_dots.is_empty()
            && self.last_active.elapsed() >= self.retire.after
    }

    fn doc_id(&self) -> DocumentId {
        self.host.room().id()
    }

    /// Sends frames on a peer's connection if it has room (notices and
    /// Tavolo's own messages: lossy like presence, or repeated later).
    fn try_send(&self, peer: &PeerId, frames: Vec<Vec<u8>>) {
        if let Some((_, outbox)) = self.outboxes.get(peer) {
            let _ = outbox.try_send(Outbound::Frames(frames));
        }
    }

    fn handle(&mut self, cmd: DocCommand) {
        match cmd {
            DocCommand::Attach {
                conn,
                peer,
                role,
                extensions,
                outbox,
                ack,
            } => {
                let _ = ack.send(true);
                let link_role = role.clone();
                match self.host.attach(conn, peer.clone(), role, extensions) {
                    Attach::Ignored => {
                        tracing::debug!(%peer, conn, "attach from an older connection ignored");
                        return;
                    }
                    Attach::Taken { .. } => {}
                }
                self.outboxes.insert(peer.clone(), (conn, outbox));
                self.welcome(&peer, &link_role, extensions);
            }
            DocCommand::Detach { conn, peer } => {
                if self.host.is_current(&peer, conn) {
                    self.outboxes.remove(&peer);
                }
                self.host.detach(conn, &peer);
            }
            DocCommand::Sync {
                conn,
                peer,
                kind,
                data,
                received,
            } => {
                tracing::trace!(%peer, ?kind, bytes = data.len(), "sync in");
                let ctx = self.session.policy_context(self.doc_id());
                match self.host.receive(conn, &peer, kind, &data, &ctx) {
                    None => tracing::debug!(%peer, "sync from a detached peer ignored"),
                    Some(Ok(Received::Refused(refusal))) => {
                        crate::metrics::refused(refusal.code.as_str());
                        tracing::info!(%peer, code = refusal.code.as_str(), detail = %refusal.detail, "refused changes");
                    }
                    Some(Ok(Received::Accepted(n))) => {
                        tracing::debug!(%peer, changes = n, "accepted changes");
                        self.awaiting_disk.push((received, n));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::info!(%peer, error = %e, "bad sync message");
                        if let Some(link) = self.host.link(&peer) {
                            let n = notice(
                                link.extensions,
                                &self.server_peer,
                                &peer,
                                self.doc_id(),
                                &e.to_string(),
                            );
                            self.try_send(&peer, vec![n]);
                        }
                    }
                }
            }
            DocCommand::Ephemeral { conn, peer, msg } => {
                if !self.host.is_current(&peer, conn) {
                    return;
                }
                if tavolo_sync::presence::payload_type(&msg.data).as_deref()
                    == Some(tavolo_sync::presence::DOT_TYPE)
                {
                    // Asked of the server, never relayed.
                    self.dot(&peer, &msg.data);
                    return;
                }
                for out in self.host.room_mut().ephemeral(&peer, &msg) {
                    let target = match &out {
                        Message::Ephemeral(e) => e.target_id.clone(),
                        _ => continue,
                    };
                    // Presence is lossy by nature: a busy peer misses a beat.
                    self.try_send(&target, vec![out.encode()]);
                }
            }
            DocCommand::Drained { conn, peer, permit } => {
                let messages = self.host.drained(conn, &peer);
                if !messages.is_empty() {
                    permit.send(Outbound::Messages(messages));
                }
            }
            DocCommand::Change { change, reply } => {
                if let Err((reply, e)) = self.host.local_change(change, reply) {
                    let _ = reply.send(Err(e));
                }
            }
            DocCommand::Read { f } => f(self.host.room().doc()),
        }
    }

    /// What a screen is told as it opens a question, before the board
    /// itself: hidden texts it may see, where dots stand for it, which
    /// anonymous notes are its own, and whether saving is failing.
    fn welcome(&mut self, peer: &PeerId, role: &Role, extensions: bool) {
        let id = self.doc_id();
        let mut frames = Vec::new();
        if self.role == DocRole::Question {
            if let Some(data) = self.hidden_for(role) {
                frames.push(server_ephemeral(&self.server_peer, peer, id, data));
            }
            // Where dots stand for this screen: its own, or (the
            // facilitator) the live totals.
            let data = match role {
                Role::Participant(p) => Some(self.dots.my_dots(p.as_str(), None).encode()),
                Role::Facilitator => Some(self.dots.live_totals(self.host.room().doc()).encode()),
                Role::Viewer => None,
            };
            if let Some(data) = data {
                frames.push(server_ephemeral(&self.server_peer, peer, id, data));
            }
            if let (Role::Participant(p), true) = (role, extensions) {
                // Only the server knows which anonymous notes are whose
                // (contract v2): it tells their writer alone.
                let mine = tavolo_sync::MyNotes {
                    notes: self
                        .host
                        .room_mut()
                        .notes_by(p.as_str())
                        .into_iter()
                        .collect(),
                };
                frames.push(server_ephemeral(&self.server_peer, peer, id, mine.encode()));
            }
        }
        if self.host.failing() {
            frames.push(notice(
                extensions,
                &self.server_peer,
                peer,
                id,
                SAVE_FAILING,
            ));
        }
        for frame in frames {
            self.try_send(peer, vec![frame]);
        }
    }

    /// A participant asks to set its dots on a target (contract v2): judged
    /// against the board and the ballots, kept privately, and told back
    /// once durable; a refusal is told at once.
    fn dot(&mut self, peer: &PeerId, data: &[u8]) {
        let Some(link) = self.host.link(peer) else {
            return;
        };
        let ctx = self.session.policy_context(self.doc_id());
        match self
            .dots
            .request(self.host.room().doc(), &link.role, data, &ctx)
        {
            Ok(placed) => {
                self.pending_dots
                    .push((placed.participant.clone(), placed.target, placed.count));
                self.dots_to_tell.insert(placed.participant);
                self.totals_to_tell = true;
                // The board's totals follow if they are revealed.
                self.totals_heads = None;
            }
            Err(answer) => {
                let frame =
                    server_ephemeral(&self.server_peer, peer, self.doc_id(), answer.encode());
                self.try_send(peer, vec![frame]);
            }
        }
    }

    /// Once dots are durable: each participant whose dots changed hears
    /// them on every connection, the facilitator hears the totals.
    fn tell_dots(&mut self) {
        let told = std::mem::take(&mut self.dots_to_tell);
        let totals = std::mem::take(&mut self.totals_to_tell)
            .then(|| self.dots.live_totals(self.host.room().doc()).encode());
        for (peer, link) in self.host.peers() {
            let data = match &link.role {
                Role::Participant(p) if told.contains(p.as_str()) => {
                    Some(self.dots.my_dots(p.as_str(), None).encode())
                }
                Role::Facilitator => totals.clone(),
                _ => None,
            };
            if let Some(data) = data {
                let frame = server_ephemeral(&self.server_peer, peer, self.doc_id(), data);
                self.try_send(peer, vec![frame]);
            }
        }
    }

    /// Keeps the board's `totals` map what the facilitator chose: the
    /// totals while revealed, nothing otherwise. Checked when the board or
    /// the ballots changed.
    fn reconcile_totals(&mut self) {
        if self.role != DocRole::Question {
            return;
        }
        let heads = self.host.room().doc().get_heads();
        if self.totals_heads.as_ref() == Some(&heads) {
            return;
        }
        if let Some(desired) = self.dots.board_totals(self.host.room().doc()) {
            let result = self.host.room_mut().local_change(move |tx| {
                tavolo_model::ops::put_totals(tx, &desired).map_err(|e| e.to_string())
            });
            if let Err(e) = result {
                tracing::error!(error = %e, "the board's totals could not be written");
            }
        }
        self.totals_heads = Some(self.host.room().doc().get_heads());
    }

    /// Takes out of the board what must not stay in it (contract v2): a
    /// removed note, history included, and a hidden note's text. Done once
    /// everything is saved: the board is rewritten (`sync::reroot`), the
    /// rewrite stored in one transaction that retires the old history, and
    /// every peer told to load it again. A note the facilitator shows again
    /// gets its text back from the server's keeping. True when the board
    /// changed.
    async fn purge(&mut self) -> bool {
        if self.role != DocRole::Question
            || !self.host.all_saved()
            || self.host.retry_at().is_some()
            || self.session.deleted.get().is_some()
        {
            return false;
        }
        let heads = self.host.room().doc().get_heads();
        if self.purge_heads.as_ref() == Some(&heads) {
            return false;
        }
        if self.restore_shown() {
            // Saved first; the purge (if any) is planned on the next round.
            return true;
        }
        let Some(plan) = self.host.room_mut().purge_plan() else {
            self.purge_heads = Some(heads);
            return false;
        };
        let writers = self.host.room_mut().writers();
        // Off the async workers: a board of 500 notes takes about 0.2 s to
        // rewrite (BENCHMARKS.md), and other sessions must not wait.
        let board = self.host.room().doc().clone();
        let plan_for = plan.clone();
        let work = tokio::task::spawn_blocking(move || {
            sync_reroot::rebuild(&board, &plan_for, |id| writers.get(id).cloned()).map(|r| {
                let snapshot = r.doc.save();
                (r, snapshot)
            })
        })
        .await;
        let (rebuilt, snapshot) = match work {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the board could not be rewritten; the purge waits");
                self.purge_heads = Some(heads);
                return false;
            }
            Err(e) => {
                tracing::error!(error = %e, "rewriting the board failed; the purge waits");
                self.purge_heads = Some(heads);
                return false;
            }
        };
        let mut claims = vec![(
            rebuilt.server_actor.to_bytes().to_vec(),
            tavolo_sync::Owner::Server.key(),
        )];
        for (actor, who) in &rebuilt.writers {
            claims.push((
                actor.to_bytes().to_vec(),
                tavolo_sync::Owner::Participant(who.clone()).key(),
            ));
        }
        let mut doc = rebuilt.doc;
        let write = crate::storage::Reroot {
            doc_id: self.doc_id().to_string(),
            session_id: self.session.id.clone(),
            snapshot,
            now_ms: crate::now_ms(),
            retired: rebuilt.retired.iter().map(|h| h.0.to_vec()).collect(),
            claims,
            hidden: rebuilt.hidden_texts.clone(),
        };
        if let Err(e) = self.storage.reroot(write).await {
            tracing::error!(error = %e, "the rewritten board could not be stored; the purge waits");
            return false;
        }
        self.hidden_texts.extend(rebuilt.hidden_texts);
        doc.set_actor(rebuilt.server_actor);
        tracing::info!(
            removed = plan.removed.len(),
            hidden = plan.hidden.len(),
            "board rewritten without removed notes and hidden texts"
        );
        self.host
            .room_mut()
            .replace_doc(doc, rebuilt.retired, &rebuilt.writers);
        // The hidden texts the board no longer holds, to those who may see
        // them (after the notice to reload, on the same queue).
        let roles: Vec<(PeerId, Role)> = self
            .host
            .peers()
            .map(|(p, l)| (p.clone(), l.role.clone()))
            .collect();
        for (peer, role) in roles {
            if let Some(data) = self.hidden_for(&role) {
                let message =
                    server_ephemeral_message(&self.server_peer, &peer, self.doc_id(), data);
                self.host.room_mut().notify(&peer, message);
            }
        }
        self.host.compacted();
        self.totals_heads = None;
        self.purge_heads = Some(self.host.room().doc().get_heads());
        true
    }

    /// The hidden texts a screen may see: the facilitator all, a
    /// participant its own; `None` when there are none.
    fn hidden_for(&mut self, role: &Role) -> Option<Vec<u8>> {
        if self.hidden_texts.is_empty() {
            return None;
        }
        let notes: std::collections::BTreeMap<String, String> = match role {
            Role::Facilitator => self.hidden_texts.clone().into_iter().collect(),
            Role::Participant(p) => {
                let mut theirs = std::collections::BTreeMap::new();
                for (id, text) in &self.hidden_texts {
                    if self.host.room_mut().writer_of(id) == Some(p.as_str()) {
                        theirs.insert(id.clone(), text.clone());
                    }
                }
                theirs
            }
            Role::Viewer => return None,
        };
        (!notes.is_empty()).then(|| tavolo_sync::HiddenTexts { notes }.encode())
    }

    /// Puts back the text of notes the facilitator shows again.
    fn restore_shown(&mut self) -> bool {
        if self.hidden_texts.is_empty() {
            return false;
        }
        let doc = self.host.room().doc();
        let shown: Vec<(String, String)> = self
            .hidden_texts
            .iter()
            .filter(|(id, _)| {
                tavolo_model::read::map_at_path(doc, &["notes", id.as_str()])
                    .is_some_and(|n| tavolo_model::read::get_bool(doc, &n, "hidden") != Some(true))
            })
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect();
        if shown.is_empty() {
            return false;
        }
        let back = shown.clone();
        let result = self.host.room_mut().local_change(move |tx| {
            for (id, text) in &back {
                let note = tavolo_model::read::map_at_path(&*tx, &["notes", id.as_str()])
                    .ok_or("the note is gone")?;
                tavolo_model::ops::put_text(tx, &note, "text", text).map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "a hidden note's text could not be put back");
            return false;
        }
        for (id, _) in shown {
            self.hidden_texts.remove(&id);
            let (storage, doc_id) = (self.storage.clone(), self.doc_id().to_string());
            tokio::spawn(async move {
                let _ = storage.forget_hidden(doc_id, id).await;
            });
        }
        true
    }

    /// Makes accepted changes durable before anything reflecting them leaves
    /// (the host holds every message until then). A failed save keeps the
    /// changes, tells the document's peers once, and is retried with backoff.
    async fn save(&mut self) {
        if self.session.deleted.get().is_some() {
            // The facilitator deleted the session: nothing more is stored.
            let now = std::time::Instant::now();
            let _ = self.host.to_save(now);
            let after = self.host.saved(Ok(()), now);
            self.pending_dots.clear();
            self.awaiting_disk.clear();
            for reply in after.replies {
                let _ = reply.send(Ok(()));
            }
            return;
        }
        if !self.pending_dots.is_empty() && self.host.retry_at().is_none() {
            match self
                .storage
                .save_dots(self.doc_id().to_string(), self.pending_dots.clone())
                .await
            {
                Ok(()) => {
                    self.pending_dots.clear();
                    self.tell_dots();
                }
                Err(e) => {
                    crate::metrics::storage_error("dots");
                    tracing::error!(error = %e, dots = self.pending_dots.len(), "saving dots failed; holding them and retrying");
                    self.host.hold(std::time::Instant::now());
                    return;
                }
            }
        }
        if let Some(batch) = self.host.to_save(std::time::Instant::now()) {
            let claims = (!batch.claims.is_empty()).then(|| {
                let owners = batch
                    .claims
                    .iter()
                    .map(|(a, o)| (a.to_bytes().to_vec(), o.key()))
                    .collect();
                (self.session.id.clone(), owners)
            });
            let changes = batch.changes.len();
            let waiting = std::mem::take(&mut self.awaiting_disk);
            let result = self
                .storage
                .append_changes_claiming(self.doc_id().to_string(), batch.changes, claims)
                .await
                .map_err(|e| e.to_string());
            match &result {
                Ok(()) => {
                    let now = std::time::Instant::now();
                    for (received, n) in waiting {
                        crate::metrics::changes_durable(received, n, now);
                    }
                }
                Err(e) => {
                    crate::metrics::storage_error("append");
                    tracing::error!(error = %e, changes, "saving changes failed; holding them and retrying");
                    // Still waiting: measured from their arrival when a retry succeeds.
                    self.awaiting_disk.splice(0..0, waiting);
                }
            }
            let after = self.host.saved(result, std::time::Instant::now());
            if after.recovered {
                tracing::warn!(changes, "saving works again; held changes saved");
            }
            for (peer, link) in &after.tell_failing {
                let n = notice(
                    link.extensions,
                    &self.server_peer,
                    peer,
                    self.doc_id(),
                    SAVE_FAILING,
                );
                self.try_send(peer, vec![n]);
            }
            if self.host.all_saved() && self.role == DocRole::Session {
                self.publish_view();
            }
            if let Some(snapshot) = after.compact {
                self.compact(snapshot).await;
            }
            for reply in after.replies {
                let _ = reply.send(Ok(()));
            }
            return;
        }
        for reply in self.host.take_replies_if_saved() {
            let _ = reply.send(Ok(()));
        }
    }

    /// Replaces the change log with a snapshot (without changes still
    /// waiting for their dependencies: nobody has judged them).
    async fn compact(&mut self, snapshot: Vec<u8>) {
        let now = crate::now_ms();
        match self
            .storage
            .compact(self.doc_id().to_string(), snapshot, now)
            .await
        {
            Ok(()) => {
                tracing::debug!("compacted");
                self.host.compacted();
            }
            Err(e) => {
                crate::metrics::storage_error("compact");
                tracing::warn!(error = %e, "compaction failed; the change log stays");
            }
        }
    }

    fn publish_view(&self) {
        match SessionDoc::load(self.host.room().doc()) {
            Ok(doc) => {
                self.session.view.send_replace(SessionView::from_doc(&doc));
            }
            Err(e) => tracing::error!(error = %e, "session document does not hydrate"),
        }
    }

    /// Sends every dirty peer with room in its queue what it lacks, in one
    /// pass: the host generates one message per distinct sync state, and
    /// the peers' own connection tasks encode and send them. A peer whose
    /// queue is full is parked: a task waits for a slot and hands it back
    /// as `Drained`, and the peer then gets one catch-up message.
    fn flush(&mut self) {
        let started = std::time::Instant::now();
        let mut permits = HashMap::new();
        let outboxes = &self.outboxes;
        let flush = self.host.flush(|peer, link| {
            let Some((conn, outbox)) = outboxes.get(peer) else {
                return Capacity::Gone;
            };
            if *conn != link.conn {
                return Capacity::Gone;
            }
            match outbox.clone().try_reserve_owned() {
                Ok(permit) => {
                    permits.insert(peer.clone(), permit);
                    Capacity::Ready
                }
                Err(mpsc::error::TrySendError::Full(_)) => Capacity::Busy,
                Err(mpsc::error::TrySendError::Closed(_)) => Capacity::Gone,
            }
        });
        let mut queued = 0;
        for (_, peer, messages) in flush.send {
            if let Some(permit) = permits.remove(&peer)
                && !messages.is_empty()
            {
                queued += messages.len();
                permit.send(Outbound::Messages(messages));
            }
        }
        if queued > 0 {
            crate::metrics::fanned_out(started, queued);
        }
        for (conn, peer) in flush.parked {
            let Some((_, outbox)) = self.outboxes.get(&peer) else {
                continue;
            };
            let outbox = outbox.clone();
            let me = self.self_tx.clone();
            tokio::spawn(async move {
                if let Ok(permit) = outbox.reserve_owned().await {
                    let _ = me.send(DocCommand::Drained { conn, peer, permit }).await;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StoredChange;
    use automerge::ReadDoc;
    use tavolo_model::ops::{self, NewNote};

    fn stored(mut c: Change, seq: i64) -> StoredChange {
        StoredChange {
            seq,
            hash: c.hash().0.to_vec(),
            data: c.bytes().into_owned(),
        }
    }

    #[test]
    fn changes_set_aside_with_a_damaged_one_are_not_kept_waiting_in_the_loaded_document() {
        let mut doc = automerge::AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        let snapshot = doc.save();
        let note = |text: &str| NewNote {
            text: text.into(),
            category: None,
            anonymous: false,
            created_at: 1,
        };
        let author = tavolo_model::ParticipantId("p".into());
        ops::add_note(&mut doc, "n_1", &author, &note("prima")).unwrap();
        let first = doc.get_last_local_change().unwrap();
        ops::add_note(&mut doc, "n_2", &author, &note("seconda")).unwrap();
        let second = doc.get_last_local_change().unwrap();
        let mut damaged = stored(first, 1);
        let last = damaged.data.len() - 1;
        damaged.data[last] ^= 0xff;
        let loaded = load(
            DocRole::Question,
            StoredDoc {
                snapshot: Some(snapshot),
                changes: vec![damaged, stored(second, 2)],
            },
        );
        assert_eq!(loaded.bad.len(), 2, "the damaged change and the one on it");
        let doc = loaded.doc.unwrap();
        assert!(
            doc.get_missing_deps(&[]).is_empty(),
            "the dependent change still waits in the document"
        );
    }

    #[test]
    fn a_change_that_will_not_apply_is_set_aside_and_the_others_kept() {
        // Two different changes from one actor with the same sequence
        // number: each parses and hashes right, but not both can apply, so
        // the load falls back from one batch to change by change.
        let mut base = automerge::AutoCommit::new();
        ops::init_question_doc(&mut base).unwrap();
        let snapshot = base.save();
        let author = tavolo_model::ParticipantId("p".into());
        let note = |text: &str| NewNote {
            text: text.into(),
            category: None,
            anonymous: false,
            created_at: 1,
        };
        let actor = automerge::ActorId::random();
        let mut one = automerge::AutoCommit::load(&snapshot)
            .unwrap()
            .with_actor(actor.clone());
        ops::add_note(&mut one, "n_1", &author, &note("prima")).unwrap();
        let first = one.get_last_local_change().unwrap();
        ops::add_note(&mut one, "n_3", &author, &note("terza")).unwrap();
        let third = one.get_last_local_change().unwrap();
        let mut other = automerge::AutoCommit::load(&snapshot)
            .unwrap()
            .with_actor(actor);
        ops::add_note(&mut other, "n_2", &author, &note("rivale")).unwrap();
        let rival = other.get_last_local_change().unwrap();
        let loaded = load(
            DocRole::Question,
            StoredDoc {
                snapshot: Some(snapshot),
                changes: vec![stored(first, 1), stored(rival, 2), stored(third, 3)],
            },
        );
        assert_eq!(
            loaded.bad.len(),
            1,
            "{:?}",
            loaded.bad.iter().map(|b| &b.reason).collect::<Vec<_>>()
        );
        assert!(
            loaded.bad[0].reason.contains("does not apply"),
            "{}",
            loaded.bad[0].reason
        );
        let doc = loaded.doc.unwrap();
        let notes = tavolo_model::QuestionDoc::load(&doc).notes;
        assert_eq!(notes.keys().collect::<Vec<_>>(), ["n_1", "n_3"]);
        assert_eq!(loaded.loose, 2);
    }
}
