//! Convergence through the real room core on a network that fails.
//!
//! 2–5 [`ClientCore`]s (participants, sometimes the facilitator, sometimes a
//! participant who tries forbidden edits) edit one question document through
//! `tavolo_model::ops` while a simulated server — the real [`Room`] and
//! [`Guard`], driven the way `server/src/actor.rs` and `connection.rs` drive
//! them, with a change log and snapshots like `server/src/storage.rs` — serves
//! them over connections the test controls.
//!
//! # Fault model
//!
//! The sync protocol assumes a reliable ordered stream per connection
//! (`FACTS.md`), so a fault inside a connection *dooms* it: a frame in either
//! direction is lost, duplicated or swapped with another, the connection
//! carries on for a few more frames and then breaks. Across connections
//! nothing is ordered: frames of a connection its client already dropped can
//! still reach the server after the client reconnected, the server notices a
//! closed connection late (so a stale detach can come after the new attach),
//! a newer connection replaces an older one (closed a little later, so the
//! older one may still pass a frame on), the outbound queue fills (the peer
//! stays dirty and catches up), and the server may hold a save (nothing
//! leaves meanwhile) or restart from storage, losing what it had not saved.
//! A reconnect is a fresh `connected()` handshake with fresh sync states,
//! and the server attaches the peer afresh.
//!
//! # What must hold
//!
//! While faults happen: every sync message the server sends carries only
//! changes already in storage. Once they stop, every client is reconnected
//! and the network runs — within a bounded number of rounds, so a resend loop
//! fails — until nothing moves. Then: every replica has the room's heads, the
//! same `QuestionDoc` and the same `board::placement`; every note an honest
//! client wrote is there with its latest text; honest clients were never
//! refused and saw no errors on connections that were never faulted; every
//! change the server ever saved is still in the room; refused changes are in
//! no replica, not in the room and not in storage; and the room's document
//! survives `save` → `load` and the incremental storage form (snapshot plus
//! change log) with the same heads and the same board.
//!
//! # Size
//!
//! 400 scenarios of up to 200 steps each; a run prints what the faults did
//! (frames lost, duplicated, swapped, restarts, late frames, refusals…) and
//! fails if any kind never happened. About 12 s in a debug build.

use automerge::{AutoCommit, Automerge, Change, ChangeHash, ReadDoc};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;
use tavolo_model::board;
use tavolo_model::ops::{self, NewNote};
use tavolo_model::policy::{DocKind, PolicyContext, Role};
use tavolo_model::{ParticipantId, QuestionDoc};
use tavolo_sync::guard::{Guard, Limits};
use tavolo_sync::host::{Capacity, ConnId, DocHost};
use tavolo_sync::wire::{PROTOCOL_V1, PeerMetadata};
use tavolo_sync::{ClientCore, DocumentId, Message, PeerId, Room, SyncKind};

/// Frames waiting for a client before the server holds back (the peer stays
/// dirty and catches up later, as with a full outbound queue).
const DOWN_CAPACITY: usize = 2;
/// Loose changes after which storage replaces the log by a snapshot (the
/// server uses 500; a small number makes restarts load both forms).
const COMPACT_AFTER: usize = 6;
/// Rounds the healthy network gets to go quiet.
const QUIESCENCE_ROUNDS: usize = 40;

#[derive(Debug, Clone)]
enum Edit {
    AddNote,
    RewriteOwn(u8),
    /// A cluster holding up to two notes.
    Cluster(u8, u8),
    /// A note into a cluster, or out of any.
    Move(u8, u8),
    Merge(u8, u8),
    Dissolve(u8),
    Rename(u8, u8),
    /// Only the mischievous client does these: a note in someone else's
    /// name, another's note edited, a note hidden.
    Forbidden(u8, u8),
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Lose,
    Duplicate,
    Swap,
}

#[derive(Debug, Clone)]
enum Step {
    Edit {
        client: usize,
        edit: Edit,
    },
    /// Up to `n` frames from one of the client's connections reach the
    /// server (an old one's, if it still has frames in flight).
    Up {
        client: usize,
        pick: u8,
        n: u8,
    },
    /// The server saves what it accepted (or holds the save) and sends.
    Serve {
        hold_save: bool,
    },
    /// Up to `n` frames reach the client.
    Down {
        client: usize,
        n: u8,
    },
    /// A fault on the client's connection, which then breaks after `after`
    /// more frames.
    Fault {
        client: usize,
        fault: Fault,
        upstream: bool,
        i: u8,
        j: u8,
        after: u8,
    },
    /// The client loses its connection; what it had sent may still arrive.
    Break {
        client: usize,
        sent_arrives: bool,
    },
    Reconnect {
        client: usize,
    },
    /// The server notices connections that are gone.
    Notice,
    /// The server is killed and starts again from storage.
    Restart,
    /// A few rounds of ordinary traffic: every connection delivers what
    /// it holds, the server serves, every client reads.
    Run {
        rounds: u8,
    },
    /// What the client sent on connections it has dropped reaches the
    /// server now.
    Late {
        client: usize,
    },
}

struct Link {
    client: usize,
    up: VecDeque<Vec<u8>>,
    down: VecDeque<Vec<u8>>,
    /// The client still reads and writes on it.
    client_open: bool,
    /// The server still serves it (it has not noticed the end yet).
    server_open: bool,
    faulted: bool,
    /// Frames left before a doomed connection breaks.
    doomed: Option<u32>,
    guard: Guard,
    peer: Option<PeerId>,
    attached: bool,
    /// A newer connection of the same peer arrived: the server closes this
    /// one, but not at once (its task may still pass on a frame or two).
    replaced: bool,
    /// A fault waiting for the next frame in that direction (`true`: up).
    armed: Option<(Fault, bool)>,
    /// A frame held back to go out after the next one (a swap).
    held: Option<(bool, Vec<u8>)>,
}

impl Link {
    /// Queues a frame, unless an armed fault takes it.
    /// Returns the fault that took the frame, if one did.
    fn push(&mut self, upstream: bool, frame: Vec<u8>) -> Option<Fault> {
        let q = if upstream {
            &mut self.up
        } else {
            &mut self.down
        };
        if let Some((up, first)) = self.held.take() {
            if up == upstream {
                q.push_back(frame);
                q.push_back(first);
                return Some(Fault::Swap);
            }
            self.held = Some((up, first));
        }
        match self.armed {
            Some((fault, up)) if up == upstream => {
                self.armed = None;
                match fault {
                    Fault::Lose => {}
                    Fault::Duplicate => {
                        q.push_back(frame.clone());
                        q.push_back(frame);
                    }
                    Fault::Swap => {
                        self.held = Some((upstream, frame));
                        return None;
                    }
                }
                Some(fault)
            }
            _ => {
                q.push_back(frame);
                None
            }
        }
    }
}

/// The document as `server/src/storage.rs` keeps it.
struct Storage {
    snapshot: Vec<u8>,
    log: Vec<Vec<u8>>,
    saved: BTreeSet<ChangeHash>,
}

impl Storage {
    /// Everything in `chunk` (a change, or — automerge sends v2 messages to
    /// clients — a document or a bundle of changes) is already saved.
    fn assert_holds(&self, chunk: &[u8]) {
        if let Ok(c) = Change::from_bytes(chunk.to_vec()) {
            assert!(
                self.saved.contains(&c.hash()),
                "a change left the server before it was saved"
            );
            return;
        }
        let mut probe = self.load();
        let before = probe.get_changes(&[]).len();
        probe
            .load_incremental(chunk)
            .expect("an outgoing chunk loads");
        assert_eq!(
            probe.get_changes(&[]).len(),
            before,
            "changes left the server before they were saved"
        );
        assert!(
            probe.get_missing_deps(&[]).is_empty(),
            "changes left the server before they were saved"
        );
    }

    /// What `server/src/actor.rs` does on start: the snapshot, then every
    /// stored change.
    fn load(&self) -> Automerge {
        let mut doc = Automerge::load(&self.snapshot).expect("the snapshot loads");
        for c in &self.log {
            doc.load_incremental(c).expect("a stored change loads");
        }
        doc
    }
}

struct Server {
    /// The real document host, as `server/src/actor.rs` drives it.
    host: DocHost<()>,
    ctx: PolicyContext,
    roles: BTreeMap<PeerId, Role>,
    storage: Storage,
    /// Peers the host parked until their connection has room.
    parked: Vec<(ConnId, PeerId)>,
    errors: Vec<String>,
}

const SERVER: &str = "server";

fn host_over(doc: Automerge, id: DocumentId, loose: usize) -> DocHost<()> {
    DocHost::new(
        Room::new(id, PeerId(SERVER.into()), doc),
        loose,
        COMPACT_AFTER,
    )
}

impl Server {
    fn new(doc: Automerge, id: DocumentId) -> Self {
        let storage = Storage {
            snapshot: doc.save(),
            log: Vec::new(),
            saved: doc.get_changes(&[]).iter().map(Change::hash).collect(),
        };
        Server {
            host: host_over(doc, id, 0),
            ctx: PolicyContext {
                kind: DocKind::Question {
                    phase_id: "p".into(),
                    categories: vec!["spazi".into()],
                },
                phase_locked: false,
                vote_budget: 3,
            },
            roles: BTreeMap::new(),
            storage,
            parked: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn room(&self) -> &Room {
        self.host.room()
    }

    /// Accepted changes not yet stored (a restart loses them).
    fn unsaved(&mut self) -> usize {
        self.host
            .to_save(Instant::now())
            .map_or(0, |b| b.changes.len())
    }

    fn restart(&mut self) {
        let doc = self.storage.load();
        let id = self.host.room().id();
        self.host = host_over(doc, id, self.storage.log.len());
        self.parked.clear();
    }

    /// The actor's save: what the host says to store is committed (unless
    /// the save is held: the host then keeps it, and nothing leaves), then
    /// the log is compacted when the host says so.
    /// Returns whether a save was held.
    fn save(&mut self, hold: bool) -> bool {
        let now = Instant::now();
        let Some(batch) = self.host.to_save(now) else {
            return false;
        };
        if hold {
            return true;
        }
        for (hash, bytes) in batch.changes {
            self.storage
                .saved
                .insert(ChangeHash::try_from(hash.as_slice()).unwrap());
            self.storage.log.push(bytes);
        }
        let after = self.host.saved(Ok(()), now);
        if let Some(snapshot) = after.compact {
            self.storage.snapshot = snapshot;
            self.storage.log.clear();
            self.host.compacted();
        }
        false
    }

    fn detach(&mut self, conn: ConnId, link: &mut Link) {
        if let Some(peer) = &link.peer
            && link.attached
        {
            self.host.detach(conn, peer);
        }
        link.attached = false;
        link.server_open = false;
        link.up.clear();
    }
}

struct Client {
    name: String,
    mischievous: bool,
    core: ClientCore,
    link: Option<ConnId>,
    made: usize,
    /// Notes this client wrote: id → its latest text.
    notes: BTreeMap<String, String>,
    /// Hashes of the forbidden changes it made.
    forbidden: Vec<ChangeHash>,
    refusals: Vec<String>,
    /// Errors seen, and whether the connection had been faulted.
    errors: Vec<(bool, String)>,
}

struct World {
    id: DocumentId,
    server: Server,
    clients: Vec<Client>,
    links: BTreeMap<ConnId, Link>,
    next_conn: ConnId,
    stats: Stats,
    /// What moved in the last round (for a report when nothing settles).
    last_moves: Vec<String>,
}

/// What the cases went through, summed over a run: a run where the faults
/// never bit would prove little.
#[derive(Debug, Default, Clone)]
struct Stats {
    cases: usize,
    steps: usize,
    frames_to_server: usize,
    frames_to_clients: usize,
    /// Faults that hit a frame (lost, duplicated, swapped).
    lost: usize,
    duplicated: usize,
    swapped: usize,
    /// Doomed connections that broke, and connections the server closed
    /// (protocol error after a fault, or replaced by a newer one).
    doomed_breaks: usize,
    server_closes: usize,
    /// Frames of a connection its client had already dropped that reached
    /// the server, and messages the server ignored from a detached one.
    late_frames: usize,
    stale_ignored: usize,
    held_saves: usize,
    restarts: usize,
    /// Accepted changes lost by a restart before they were saved.
    unsaved_lost: usize,
    /// Sends deferred because the client's queue was full (catch-up later).
    deferred: usize,
    refusals: usize,
    forbidden_edits: usize,
    room_errors: usize,
    client_errors: usize,
    reconnects: usize,
    quiescence_frames_max: usize,
    quiescence_rounds_max: usize,
    notes: usize,
    clusters: usize,
}

impl Stats {
    fn count(&mut self, fault: Option<Fault>) {
        match fault {
            Some(Fault::Lose) => self.lost += 1,
            Some(Fault::Duplicate) => self.duplicated += 1,
            Some(Fault::Swap) => self.swapped += 1,
            None => {}
        }
    }

    fn add(&mut self, o: &Stats) {
        self.cases += o.cases;
        self.steps += o.steps;
        self.frames_to_server += o.frames_to_server;
        self.frames_to_clients += o.frames_to_clients;
        self.lost += o.lost;
        self.duplicated += o.duplicated;
        self.swapped += o.swapped;
        self.doomed_breaks += o.doomed_breaks;
        self.server_closes += o.server_closes;
        self.late_frames += o.late_frames;
        self.stale_ignored += o.stale_ignored;
        self.held_saves += o.held_saves;
        self.restarts += o.restarts;
        self.unsaved_lost += o.unsaved_lost;
        self.deferred += o.deferred;
        self.refusals += o.refusals;
        self.forbidden_edits += o.forbidden_edits;
        self.room_errors += o.room_errors;
        self.client_errors += o.client_errors;
        self.reconnects += o.reconnects;
        self.quiescence_frames_max = self.quiescence_frames_max.max(o.quiescence_frames_max);
        self.quiescence_rounds_max = self.quiescence_rounds_max.max(o.quiescence_rounds_max);
        self.notes += o.notes;
        self.clusters += o.clusters;
    }
}

fn note(text: &str) -> NewNote {
    NewNote {
        text: text.into(),
        category: None,
        anonymous: false,
        created_at: 1,
    }
}

impl World {
    fn new(clients: usize, facilitator: bool, mischievous: bool) -> Self {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        ops::init_question_doc(&mut tx).unwrap();
        tx.commit();
        let id = DocumentId::random();
        let mut server = Server::new(doc, id);
        let mut list = Vec::new();
        for i in 0..clients {
            let name = format!("c{i}");
            let role = if facilitator && i == 0 {
                Role::Facilitator
            } else {
                Role::Participant(ParticipantId(name.clone()))
            };
            let peer = PeerId(format!("peer-{name}"));
            server.roles.insert(peer.clone(), role);
            let mut core = ClientCore::new(peer);
            core.open(id);
            list.push(Client {
                name,
                mischievous: mischievous && i == clients - 1,
                core,
                link: None,
                made: 0,
                notes: BTreeMap::new(),
                forbidden: Vec::new(),
                refusals: Vec::new(),
                errors: Vec::new(),
            });
        }
        let mut w = World {
            id,
            server,
            clients: list,
            links: BTreeMap::new(),
            next_conn: 0,
            stats: Stats::default(),
            last_moves: Vec::new(),
        };
        // The session is under way: everyone is connected and has the board.
        for c in 0..clients {
            w.connect(c);
        }
        while w.round() > 0 {}
        w.stats = Stats::default();
        w
    }

    fn connect(&mut self, c: usize) {
        if self.clients[c].link.is_some() {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.stats.reconnects += 1;
        self.links.insert(
            conn,
            Link {
                client: c,
                up: VecDeque::new(),
                down: VecDeque::new(),
                client_open: true,
                server_open: true,
                faulted: false,
                doomed: None,
                guard: Guard::new(Limits::default()),
                peer: None,
                attached: false,
                replaced: false,
                armed: None,
                held: None,
            },
        );
        self.clients[c].link = Some(conn);
        self.clients[c].core.connected();
        self.pump(c);
    }

    /// Moves what the client queued onto its connection.
    fn pump(&mut self, c: usize) {
        let frames = self.clients[c].core.take_outgoing();
        if let Some(conn) = self.clients[c].link {
            let link = self.links.get_mut(&conn).unwrap();
            for f in frames {
                let fired = link.push(true, f);
                self.stats.count(fired);
            }
        }
    }

    /// The client side of a connection ends; what the client had sent may
    /// still reach the server.
    fn break_link(&mut self, conn: ConnId, sent_arrives: bool) {
        let link = self.links.get_mut(&conn).unwrap();
        if !link.client_open {
            return;
        }
        link.client_open = false;
        link.down.clear();
        if !sent_arrives {
            link.up.clear();
        }
        let c = link.client;
        self.clients[c].link = None;
        self.clients[c].core.disconnected();
    }

    /// Counts a frame over a doomed connection; breaks it when its time is up.
    fn tick(&mut self, conn: ConnId) {
        let link = self.links.get_mut(&conn).unwrap();
        if let Some(left) = link.doomed.as_mut() {
            if *left == 0 {
                self.stats.doomed_breaks += usize::from(link.client_open);
                self.break_link(conn, false);
            } else {
                *left -= 1;
            }
        }
    }

    /// The server ends a connection (protocol error, replaced): the client
    /// sees it closed.
    fn server_close(&mut self, conn: ConnId) {
        self.stats.server_closes += 1;
        let mut link = self.links.remove(&conn).unwrap();
        self.server.detach(conn, &mut link);
        self.links.insert(conn, link);
        self.break_link(conn, false);
    }

    /// The server handles one frame from a connection, as
    /// `server/src/connection.rs` and the document actor do.
    fn server_receive(&mut self, conn: ConnId, frame: &[u8]) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        if !link.server_open {
            return;
        }
        self.stats.frames_to_server += 1;
        self.stats.late_frames += usize::from(!link.client_open);
        let faulted = link.faulted;
        let msg = match Message::decode(frame) {
            Ok(m) => m,
            Err(e) => {
                self.server.errors.push(format!("decode: {e}"));
                assert!(
                    faulted,
                    "a frame on a healthy connection did not decode: {e}"
                );
                return self.server_close(conn);
            }
        };
        let Some(peer) = link.peer.clone() else {
            match msg {
                Message::Join { sender_id, .. } => {
                    let welcome = Message::Peer {
                        sender_id: PeerId(SERVER.into()),
                        target_id: sender_id.clone(),
                        peer_metadata: PeerMetadata::default(),
                        selected_protocol_version: PROTOCOL_V1.into(),
                    };
                    link.peer = Some(sender_id.clone());
                    if link.client_open {
                        let fired = link.push(false, welcome.encode());
                        self.stats.count(fired);
                    }
                    // A newer connection of the same peer replaces older ones
                    // (closed at the next notice).
                    for (k, l) in self.links.iter_mut() {
                        if *k != conn && l.server_open && l.peer.as_ref() == Some(&sender_id) {
                            l.replaced = true;
                        }
                    }
                }
                _ => {
                    assert!(faulted, "a healthy connection did not start with join");
                    self.server_close(conn);
                }
            }
            return;
        };
        let (kind, m) = match msg {
            Message::Request(m) => (SyncKind::Request, m),
            Message::Sync(m) => (SyncKind::Sync, m),
            Message::Join { .. } => {
                assert!(faulted, "join twice on a healthy connection");
                return self.server_close(conn);
            }
            _ => return,
        };
        assert_eq!(m.document_id, self.id);
        if let Err(e) = link.guard.check_sync(&m.data) {
            panic!("the guard refused an honest client's message: {e}");
        }
        // The connection's first message on the document attaches it; the
        // host keeps a newer connection's hold on the peer.
        if !link.attached {
            link.attached = true;
            let role = self.server.roles[&peer].clone();
            let _ = self.server.host.attach(conn, peer.clone(), role, true);
        }
        let ctx = self.server.ctx.clone();
        let Some(received) = self.server.host.receive(conn, &peer, kind, &m.data, &ctx) else {
            self.stats.stale_ignored += 1;
            return; // a detached connection's late message
        };
        if let Err(e) = received {
            self.server.errors.push(e.to_string());
            self.stats.room_errors += 1;
            assert!(faulted, "the room failed on a healthy connection: {e}");
            let link = self.links.get_mut(&conn).unwrap();
            if link.client_open {
                let notice = Message::Error {
                    message: e.to_string(),
                };
                let fired = link.push(false, notice.encode());
                self.stats.count(fired);
            }
        }
    }

    fn up(&mut self, c: usize, pick: u8, n: u8) {
        let conns: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| l.client == c && l.server_open && !l.up.is_empty())
            .map(|(k, _)| *k)
            .collect();
        if conns.is_empty() {
            return;
        }
        let conn = conns[pick as usize % conns.len()];
        for _ in 0..n {
            let Some(frame) = self.links.get_mut(&conn).and_then(|l| l.up.pop_front()) else {
                return;
            };
            self.server_receive(conn, &frame);
            self.tick(conn);
        }
    }

    /// Save, then send to every dirty peer whose connection has room, as the
    /// actor does: parked peers whose connection drained get their catch-up
    /// message, then the host's flush. Every change sent must already be in
    /// storage.
    fn serve(&mut self, hold: bool) {
        self.stats.held_saves += usize::from(self.server.save(hold));
        let mut sends = Vec::new();
        for (conn, peer) in std::mem::take(&mut self.server.parked) {
            match self.links.get(&conn) {
                Some(l) if l.server_open && l.down.len() >= DOWN_CAPACITY => {
                    self.server.parked.push((conn, peer));
                }
                _ => sends.push((conn, self.server.host.drained(conn, &peer))),
            }
        }
        let links = &self.links;
        let flush = self
            .server
            .host
            .flush(|_, link| match links.get(&link.conn) {
                Some(l) if l.server_open && l.down.len() >= DOWN_CAPACITY => Capacity::Busy,
                Some(l) if l.server_open => Capacity::Ready,
                _ => Capacity::Gone,
            });
        self.stats.deferred += flush.parked.len();
        self.server.parked.extend(flush.parked);
        sends.extend(flush.send.into_iter().map(|(conn, _, m)| (conn, m)));
        for (conn, messages) in sends {
            for m in messages {
                if let Message::Sync(d) = &m {
                    let msg = automerge::sync::Message::decode(&d.data).unwrap();
                    for chunk in msg.changes.iter() {
                        self.server.storage.assert_holds(chunk);
                    }
                }
                let Some(link) = self.links.get_mut(&conn) else {
                    continue;
                };
                if link.server_open && link.client_open {
                    let fired = link.push(false, m.encode());
                    self.stats.count(fired);
                }
            }
        }
    }

    fn down(&mut self, c: usize, n: u8) {
        for _ in 0..n {
            let Some(conn) = self.clients[c].link else {
                return;
            };
            let Some(frame) = self.links.get_mut(&conn).unwrap().down.pop_front() else {
                return;
            };
            let faulted = self.links[&conn].faulted;
            self.stats.frames_to_clients += 1;
            let client = &mut self.clients[c];
            if let Err(e) = client.core.receive(&frame) {
                self.stats.client_errors += 1;
                client.errors.push((faulted, e.to_string()));
                // A client drops a connection that sends nonsense.
                self.break_link(conn, false);
                return;
            }
            for e in client.core.take_errors() {
                client.errors.push((faulted, e));
            }
            for r in client.core.take_refusals() {
                self.stats.refusals += 1;
                client.refusals.push(r.code);
                if client.mischievous {
                    // What Tavolo's client does: drop the copy, ask anew.
                    client.core.reset(self.id);
                }
            }
            client.core.take_ephemeral();
            client.core.take_unavailable();
            self.pump(c);
            self.tick(conn);
        }
    }

    fn fault(&mut self, c: usize, fault: Fault, upstream: bool, i: u8, j: u8, after: u8) {
        let Some(conn) = self.clients[c].link else {
            return;
        };
        let link = self.links.get_mut(&conn).unwrap();
        link.faulted = true;
        link.doomed = Some(
            link.doomed
                .map_or(u32::from(after), |d| d.min(u32::from(after))),
        );
        let q = if upstream {
            &mut link.up
        } else {
            &mut link.down
        };
        if q.is_empty() {
            // The next frame that way takes it.
            link.armed = Some((fault, upstream));
            return;
        }
        let (i, j) = (i as usize % q.len(), j as usize % q.len());
        match fault {
            Fault::Lose => {
                q.remove(i);
                self.stats.lost += 1;
            }
            Fault::Duplicate => {
                let copy = q[i].clone();
                q.insert(j.max(i) + 1, copy);
                self.stats.duplicated += 1;
            }
            Fault::Swap if i == j => link.armed = Some((fault, upstream)),
            Fault::Swap => {
                q.swap(i, j);
                self.stats.swapped += 1;
            }
        }
    }

    fn notice(&mut self) {
        let replaced: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| l.server_open && l.replaced)
            .map(|(k, _)| *k)
            .collect();
        for conn in replaced {
            self.server_close(conn);
        }
        let gone: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| l.server_open && !l.client_open && l.up.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for conn in gone {
            let mut link = self.links.remove(&conn).unwrap();
            self.server.detach(conn, &mut link);
        }
        self.links.retain(|_, l| l.server_open || l.client_open);
    }

    fn restart(&mut self) {
        let conns: Vec<ConnId> = self.links.keys().copied().collect();
        for conn in conns {
            self.break_link(conn, false);
        }
        self.links.clear();
        self.stats.restarts += 1;
        self.stats.unsaved_lost += self.server.unsaved();
        self.server.restart();
    }

    fn edit(&mut self, c: usize, edit: &Edit) {
        let others: Vec<String> = self
            .clients
            .iter()
            .filter(|o| o.name != self.clients[c].name)
            .map(|o| o.name.clone())
            .collect();
        let id = self.id;
        let client = &mut self.clients[c];
        let Some(doc) = client.core.doc(id) else {
            return;
        };
        let q = QuestionDoc::load(doc);
        let notes: Vec<String> = q.notes.keys().cloned().collect();
        let clusters: Vec<String> = q.clusters.keys().cloned().collect();
        let me = ParticipantId(client.name.clone());
        let pick = |list: &[String], i: u8| -> Option<String> {
            (!list.is_empty()).then(|| list[i as usize % list.len()].clone())
        };
        let k = client.made;
        client.made += 1;
        let name = client.name.clone();
        match edit {
            Edit::Forbidden(kind, i) if client.mischievous => {
                let theirs: Vec<String> = q
                    .notes
                    .iter()
                    .filter(|(_, n)| n.author != name)
                    .map(|(id, _)| id.clone())
                    .collect();
                let target = pick(&theirs, *i);
                let hash = client
                    .core
                    .change(id, |d| {
                        let done = match (kind % 3, &target) {
                            (0, _) => {
                                let other =
                                    ParticipantId(others[*i as usize % others.len()].clone());
                                ops::add_note(
                                    d,
                                    &format!("{name}-forged{k}"),
                                    &other,
                                    &note("VIETATO"),
                                )
                            }
                            (1, Some(t)) => ops::edit_note_text(d, t, "VIETATO"),
                            (_, Some(t)) => ops::set_note_hidden(d, t, true, Some("VIETATO"), 1),
                            (_, None) => return None,
                        };
                        done.ok()?;
                        d.commit();
                        d.get_last_local_change().map(|c| c.hash())
                    })
                    .unwrap();
                self.stats.forbidden_edits += hash.iter().len();
                client.forbidden.extend(hash);
            }
            Edit::AddNote | Edit::Forbidden(..) => {
                let note_id = format!("{name}-n{k}");
                let text = format!("{name} nota {k}");
                let ok = client
                    .core
                    .change(id, |d| {
                        ops::add_note(d, &note_id, &me, &note(&text)).is_ok()
                    })
                    .unwrap();
                if ok {
                    client.notes.insert(note_id, text);
                }
            }
            Edit::RewriteOwn(i) => {
                let own: Vec<String> = client
                    .notes
                    .keys()
                    .filter(|n| q.notes.contains_key(*n))
                    .cloned()
                    .collect();
                if let Some(n) = pick(&own, *i) {
                    let text = format!("{name} nota riscritta {k}");
                    let ok = client
                        .core
                        .change(id, |d| ops::edit_note_text(d, &n, &text).is_ok())
                        .unwrap();
                    if ok {
                        client.notes.insert(n, text);
                    }
                }
            }
            Edit::Cluster(a, b) => {
                let mut with: Vec<String> = pick(&notes, *a).into_iter().collect();
                if let Some(n) = pick(&notes, *b)
                    && !with.contains(&n)
                {
                    with.push(n);
                }
                let with: Vec<&str> = with.iter().map(String::as_str).collect();
                client
                    .core
                    .change(id, |d| {
                        let _ = ops::create_cluster_with(
                            d,
                            &format!("{name}-g{k}"),
                            &format!("gruppo {k}"),
                            &with,
                        );
                    })
                    .unwrap();
            }
            Edit::Move(n, g) => {
                if let Some(n) = pick(&notes, *n) {
                    let to = (*g as usize % (clusters.len() + 1) < clusters.len())
                        .then(|| clusters[*g as usize % (clusters.len() + 1)].as_str());
                    client
                        .core
                        .change(id, |d| {
                            let _ = ops::set_note_cluster(d, &n, to);
                        })
                        .unwrap();
                }
            }
            Edit::Merge(a, b) => {
                if let (Some(a), Some(b)) = (pick(&clusters, *a), pick(&clusters, *b)) {
                    client
                        .core
                        .change(id, |d| {
                            let _ = ops::merge_clusters(d, &a, &b);
                        })
                        .unwrap();
                }
            }
            Edit::Dissolve(a) => {
                if let Some(a) = pick(&clusters, *a) {
                    client
                        .core
                        .change(id, |d| {
                            let _ = ops::dissolve_cluster(d, &a);
                        })
                        .unwrap();
                }
            }
            Edit::Rename(a, t) => {
                if let Some(a) = pick(&clusters, *a) {
                    client
                        .core
                        .change(id, |d| {
                            let _ = ops::rename_cluster(d, &a, &format!("nome {t}"));
                        })
                        .unwrap();
                }
            }
        }
        self.pump(c);
    }

    fn step(&mut self, s: &Step) {
        self.stats.steps += 1;
        match *s {
            Step::Edit { client, ref edit } => self.edit(client, edit),
            Step::Up { client, pick, n } => self.up(client, pick, n),
            Step::Serve { hold_save } => self.serve(hold_save),
            Step::Down { client, n } => self.down(client, n),
            Step::Fault {
                client,
                fault,
                upstream,
                i,
                j,
                after,
            } => self.fault(client, fault, upstream, i, j, after),
            Step::Break {
                client,
                sent_arrives,
            } => {
                if let Some(conn) = self.clients[client].link {
                    self.break_link(conn, sent_arrives);
                }
            }
            Step::Reconnect { client } => self.connect(client),
            Step::Notice => self.notice(),
            Step::Restart => self.restart(),
            Step::Late { client } => {
                let late: Vec<ConnId> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.client == client && !l.client_open && l.server_open)
                    .map(|(k, _)| *k)
                    .collect();
                for conn in late {
                    while let Some(frame) = self
                        .links
                        .get_mut(&conn)
                        .filter(|l| l.server_open)
                        .and_then(|l| l.up.pop_front())
                    {
                        self.server_receive(conn, &frame);
                    }
                }
            }
            Step::Run { rounds } => {
                for _ in 0..rounds {
                    self.round();
                }
            }
        }
    }

    /// Every connection delivers what it holds, the server serves, every
    /// client reads. Returns the frames moved.
    fn round(&mut self) -> usize {
        let mut moved = 0;
        self.last_moves.clear();
        let conns: Vec<ConnId> = self.links.keys().copied().collect();
        for &conn in &conns {
            // A dropped connection's late frames arrive only by `Late`.
            while let Some(frame) = self
                .links
                .get_mut(&conn)
                .filter(|l| l.server_open && l.client_open)
                .and_then(|l| l.up.pop_front())
            {
                self.last_moves
                    .push(format!("up {conn:?}: {}", describe(&frame)));
                self.server_receive(conn, &frame);
                self.tick(conn);
                moved += 1;
            }
        }
        self.serve(false);
        for c in 0..self.clients.len() {
            while let Some(conn) = self.clients[c].link {
                if self.links[&conn].down.is_empty() {
                    break;
                }
                let f = self.links[&conn].down.front().cloned().unwrap_or_default();
                self.last_moves
                    .push(format!("down to client {c} on {conn:?}: {}", describe(&f)));
                self.down(c, 1);
                moved += 1;
            }
        }
        moved
    }

    /// Faults stop: doomed connections break, late frames are lost, the
    /// server notices, everyone reconnects, and the network runs reliably
    /// until nothing moves. Returns the frames exchanged.
    fn quiesce(&mut self) -> usize {
        let doomed: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| l.doomed.is_some())
            .map(|(k, _)| *k)
            .collect();
        for conn in doomed {
            self.break_link(conn, false);
        }
        for l in self.links.values_mut() {
            if !l.client_open {
                l.up.clear();
            }
        }
        self.notice();
        for c in 0..self.clients.len() {
            self.connect(c);
        }
        let mut total = 0;
        let mut per_round = Vec::new();
        for round in 0..QUIESCENCE_ROUNDS {
            let moved = self.round();
            per_round.push(moved);
            total += moved;
            if moved == 0 {
                assert!(!self.server.room().has_unsaved());
                assert!(self.server.room().dirty_peers().is_empty());
                self.stats.quiescence_frames_max = total;
                self.stats.quiescence_rounds_max = round;
                return total;
            }
        }
        panic!(
            "the network did not go quiet within {QUIESCENCE_ROUNDS} rounds (frames moved per round: {per_round:?}; in the last: {:?}; refusals per client: {:?})",
            self.last_moves,
            self.clients
                .iter()
                .map(|c| c.refusals.clone())
                .collect::<Vec<_>>()
        );
    }
}

fn sorted_heads(doc: &Automerge) -> Vec<ChangeHash> {
    let mut h = doc.get_heads();
    h.sort();
    h
}

/// The board as people see it: the document and where every note is.
fn board_of(doc: &Automerge) -> (QuestionDoc, BTreeMap<String, Option<String>>) {
    let q = QuestionDoc::load(doc);
    let placement = board::placement(&q);
    (q, placement)
}

fn client_doc(w: &World, c: usize) -> Automerge {
    let mut d: AutoCommit = w.clients[c].core.doc(w.id).unwrap().clone();
    d.document().clone()
}

fn check(w: &World) -> Result<(), TestCaseError> {
    let room = w.server.room().doc().clone();
    let heads = sorted_heads(&room);
    let board = board_of(&room);

    for (c, client) in w.clients.iter().enumerate() {
        let doc = client_doc(w, c);
        prop_assert_eq!(
            sorted_heads(&doc),
            heads.clone(),
            "{} has other heads",
            client.name
        );
        prop_assert_eq!(
            &board_of(&doc),
            &board,
            "{} sees another board",
            client.name
        );
        if !client.mischievous {
            prop_assert!(
                client.refusals.is_empty(),
                "{} was refused: {:?}",
                client.name,
                client.refusals
            );
        } else if !client.forbidden.is_empty() {
            prop_assert!(
                !client.refusals.is_empty(),
                "forbidden edits went unrefused"
            );
        }
        let unfaulted: Vec<_> = client.errors.iter().filter(|(f, _)| !f).collect();
        prop_assert!(
            unfaulted.is_empty(),
            "{} saw errors: {:?}",
            client.name,
            unfaulted
        );
    }

    // Every note of every honest client, with its latest text.
    let (q, _) = &board;
    for client in w.clients.iter().filter(|c| !c.mischievous) {
        for (id, text) in &client.notes {
            let n = q.notes.get(id);
            prop_assert!(n.is_some(), "{}'s note {} is missing", client.name, id);
            let n = n.unwrap();
            prop_assert_eq!(&n.text, text);
            prop_assert_eq!(&n.author, &client.name);
        }
    }
    // Refused content is nowhere.
    for n in q.notes.values() {
        prop_assert!(
            !n.text.contains("VIETATO") && !n.hidden,
            "refused content landed: {:?}",
            n
        );
        prop_assert!(w.clients.iter().any(|c| c.name == n.author));
    }
    let stored = w.server.storage.load();
    let forbidden: Vec<ChangeHash> = w.clients.iter().flat_map(|c| c.forbidden.clone()).collect();
    for h in &forbidden {
        prop_assert!(
            room.get_change_by_hash(h).is_none(),
            "a refused change is in the room"
        );
        prop_assert!(
            stored.get_change_by_hash(h).is_none(),
            "a refused change is stored"
        );
        for c in 0..w.clients.len() {
            prop_assert!(
                client_doc(w, c).get_change_by_hash(h).is_none(),
                "a refused change reached c{}",
                c
            );
        }
    }
    // Nothing the server ever saved went missing (restarts included).
    for h in &w.server.storage.saved {
        prop_assert!(
            room.get_change_by_hash(h).is_some(),
            "a saved change is gone"
        );
    }

    // Among honest clients nothing stays waiting for a dependency.
    if w.clients.iter().all(|c| !c.mischievous) {
        prop_assert!(room.get_missing_deps(&[]).is_empty(), "changes still wait");
    }

    // save → load (automerge's, and the room's for snapshots), and the
    // storage form (snapshot + change log).
    for bytes in [room.save(), w.server.room().save()] {
        let reloaded = Automerge::load(&bytes).unwrap();
        prop_assert_eq!(sorted_heads(&reloaded), heads.clone());
        prop_assert_eq!(&board_of(&reloaded), &board);
    }
    prop_assert_eq!(sorted_heads(&stored), heads.clone());
    prop_assert_eq!(&board_of(&stored), &board);
    Ok(())
}

fn edit() -> impl Strategy<Value = Edit> {
    let b = any::<u8>;
    prop_oneof![
        4 => Just(Edit::AddNote),
        2 => b().prop_map(Edit::RewriteOwn),
        2 => (b(), b()).prop_map(|(a, c)| Edit::Cluster(a, c)),
        3 => (b(), b()).prop_map(|(a, c)| Edit::Move(a, c)),
        1 => (b(), b()).prop_map(|(a, c)| Edit::Merge(a, c)),
        1 => b().prop_map(Edit::Dissolve),
        1 => (b(), b()).prop_map(|(a, c)| Edit::Rename(a, c)),
        2 => (b(), b()).prop_map(|(a, c)| Edit::Forbidden(a, c)),
    ]
}

fn step(clients: usize) -> impl Strategy<Value = Step> {
    let c = 0..clients;
    let b = any::<u8>;
    let fault = prop_oneof![Just(Fault::Lose), Just(Fault::Duplicate), Just(Fault::Swap)];
    prop_oneof![
        10 => (c.clone(), edit()).prop_map(|(client, edit)| Step::Edit { client, edit }),
        6 => (c.clone(), b(), 1..8u8).prop_map(|(client, pick, n)| Step::Up { client, pick, n }),
        5 => prop::bool::weighted(0.3).prop_map(|hold_save| Step::Serve { hold_save }),
        6 => (c.clone(), 1..8u8).prop_map(|(client, n)| Step::Down { client, n }),
        3 => (1..4u8).prop_map(|rounds| Step::Run { rounds }),
        1 => c.clone().prop_map(|client| Step::Late { client }),
        2 => (c.clone(), fault, any::<bool>(), b(), b(), 0..6u8).prop_map(
            |(client, fault, upstream, i, j, after)| Step::Fault { client, fault, upstream, i, j, after }
        ),
        1 => (c.clone(), any::<bool>()).prop_map(|(client, sent_arrives)| Step::Break { client, sent_arrives }),
        2 => c.prop_map(|client| Step::Reconnect { client }),
        2 => prop::bool::weighted(0.15).prop_map(|restart| if restart { Step::Restart } else { Step::Notice }),
    ]
}

/// Clients, whether client 0 is the facilitator, whether the last one tries
/// forbidden edits, and the steps.
fn scenario() -> impl Strategy<Value = (usize, bool, bool, Vec<Step>)> {
    (2usize..=5, any::<bool>(), any::<bool>()).prop_flat_map(|(n, fac, bad)| {
        (
            Just(n),
            Just(fac),
            // Someone must stay honest besides the facilitator.
            Just(bad && n >= 3),
            proptest::collection::vec(step(n), 1..200),
        )
    })
}

/// How many scenarios a run tries.
const CASES: u32 = 400;

#[test]
fn replicas_and_the_room_converge_through_lost_duplicated_and_reordered_frames_and_restarts() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    });
    let total = std::cell::RefCell::new(Stats::default());
    let result = runner.run(&scenario(), |(n, fac, bad, steps)| {
        let mut w = World::new(n, fac, bad);
        for s in &steps {
            w.step(s);
        }
        w.quiesce();
        check(&w)?;
        let q = QuestionDoc::load(w.server.room().doc());
        w.stats.cases = 1;
        w.stats.notes = q.notes.len();
        w.stats.clusters = q.clusters.len();
        total.borrow_mut().add(&w.stats);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let t = total.into_inner();
    eprintln!("room convergence: {t:#?}");
    // The faults must have bitten, or the run proved little (each of these
    // happens dozens of times or more in a run).
    assert!(t.lost > 0 && t.duplicated > 0 && t.swapped > 0, "{t:?}");
    assert!(
        t.doomed_breaks > 0 && t.server_closes > 0 && t.late_frames > 0,
        "{t:?}"
    );
    assert!(
        t.held_saves > 0 && t.restarts > 0 && t.deferred > 0,
        "{t:?}"
    );
    assert!(t.refusals > 0 && t.notes > t.cases, "{t:?}");
}

/// Found while modelling late frames for the property test, with the
/// actor's attach rule as it was: a connection the client had dropped
/// delivers its first sync message late, after the client's new connection
/// attached; the old connection took the peer, and once it detached the new
/// one was ignored for good (`server/src/actor.rs` now ignores the attach;
/// this simulation follows the same rule).
#[test]
fn an_older_connections_late_first_message_does_not_deafen_the_newer_one() {
    let steps = [
        Step::Break {
            client: 0,
            sent_arrives: false,
        },
        Step::Reconnect { client: 0 },
        Step::Up {
            client: 0,
            pick: 0,
            n: 1,
        },
        Step::Serve { hold_save: false },
        // The greeting: the request is queued on the old connection...
        Step::Down { client: 0, n: 1 },
        // ...which drops before sending it.
        Step::Break {
            client: 0,
            sent_arrives: true,
        },
        Step::Reconnect { client: 0 },
        Step::Run { rounds: 3 },
        Step::Late { client: 0 },
        Step::Edit {
            client: 0,
            edit: Edit::AddNote,
        },
        Step::Run { rounds: 3 },
        Step::Notice,
    ];
    let mut w = World::new(2, false, false);
    for s in &steps {
        w.step(s);
    }
    w.quiesce();
    check(&w).unwrap();
}

/// A scenario the property test above found in CI (2026-12-05): one client
/// and the room exchanged the same two frames forever — the room's sync
/// message needed a change the client had already sent on that connection,
/// and automerge never sends a change twice in one sync state. The client
/// now sends again what the room says it needs (`client::resend_what_is_needed`).
/// Before the fix this case failed about one run in forty (the outcome
/// depends on the random actor and peer ids); after it, none in 200.
#[test]
fn regression_ci_2026_12_05_quiesces() {
    let steps = vec![
        Step::Up {
            client: 1,
            pick: 65,
            n: 5,
        },
        Step::Up {
            client: 1,
            pick: 123,
            n: 7,
        },
        Step::Up {
            client: 3,
            pick: 200,
            n: 6,
        },
        Step::Down { client: 4, n: 5 },
        Step::Serve { hold_save: false },
        Step::Break {
            client: 3,
            sent_arrives: false,
        },
        Step::Edit {
            client: 3,
            edit: Edit::Move(190, 7),
        },
        Step::Up {
            client: 0,
            pick: 205,
            n: 3,
        },
        Step::Fault {
            client: 4,
            fault: Fault::Duplicate,
            upstream: true,
            i: 84,
            j: 126,
            after: 1,
        },
        Step::Run { rounds: 2 },
        Step::Notice,
        Step::Serve { hold_save: false },
        Step::Down { client: 4, n: 1 },
        Step::Serve { hold_save: false },
        Step::Edit {
            client: 1,
            edit: Edit::RewriteOwn(18),
        },
        Step::Edit {
            client: 2,
            edit: Edit::Forbidden(165, 76),
        },
        Step::Edit {
            client: 1,
            edit: Edit::RewriteOwn(17),
        },
        Step::Edit {
            client: 2,
            edit: Edit::Move(235, 156),
        },
        Step::Serve { hold_save: true },
        Step::Edit {
            client: 2,
            edit: Edit::AddNote,
        },
        Step::Notice,
        Step::Edit {
            client: 3,
            edit: Edit::Forbidden(148, 130),
        },
        Step::Fault {
            client: 2,
            fault: Fault::Swap,
            upstream: true,
            i: 100,
            j: 91,
            after: 1,
        },
        Step::Edit {
            client: 4,
            edit: Edit::Merge(20, 125),
        },
        Step::Run { rounds: 1 },
        Step::Down { client: 1, n: 7 },
        Step::Down { client: 3, n: 5 },
        Step::Edit {
            client: 0,
            edit: Edit::Move(108, 3),
        },
        Step::Up {
            client: 1,
            pick: 15,
            n: 3,
        },
        Step::Up {
            client: 4,
            pick: 9,
            n: 5,
        },
        Step::Down { client: 0, n: 2 },
        Step::Down { client: 4, n: 7 },
        Step::Reconnect { client: 3 },
        Step::Reconnect { client: 4 },
        Step::Serve { hold_save: false },
        Step::Edit {
            client: 0,
            edit: Edit::Move(251, 138),
        },
        Step::Reconnect { client: 1 },
        Step::Fault {
            client: 1,
            fault: Fault::Lose,
            upstream: false,
            i: 88,
            j: 24,
            after: 4,
        },
        Step::Down { client: 1, n: 1 },
        Step::Edit {
            client: 0,
            edit: Edit::Rename(12, 66),
        },
        Step::Run { rounds: 2 },
        Step::Edit {
            client: 2,
            edit: Edit::AddNote,
        },
        Step::Edit {
            client: 2,
            edit: Edit::Forbidden(98, 251),
        },
        Step::Edit {
            client: 4,
            edit: Edit::AddNote,
        },
        Step::Up {
            client: 0,
            pick: 14,
            n: 1,
        },
        Step::Up {
            client: 1,
            pick: 207,
            n: 1,
        },
        Step::Fault {
            client: 3,
            fault: Fault::Duplicate,
            upstream: false,
            i: 223,
            j: 8,
            after: 2,
        },
        Step::Down { client: 4, n: 7 },
        Step::Up {
            client: 0,
            pick: 87,
            n: 2,
        },
        Step::Reconnect { client: 4 },
        Step::Notice,
        Step::Fault {
            client: 4,
            fault: Fault::Duplicate,
            upstream: true,
            i: 209,
            j: 56,
            after: 0,
        },
        Step::Edit {
            client: 4,
            edit: Edit::Rename(191, 161),
        },
        Step::Break {
            client: 4,
            sent_arrives: false,
        },
        Step::Fault {
            client: 2,
            fault: Fault::Swap,
            upstream: false,
            i: 61,
            j: 134,
            after: 0,
        },
        Step::Edit {
            client: 3,
            edit: Edit::Cluster(152, 15),
        },
        Step::Down { client: 3, n: 1 },
        Step::Notice,
        Step::Fault {
            client: 3,
            fault: Fault::Swap,
            upstream: true,
            i: 146,
            j: 161,
            after: 0,
        },
        Step::Run { rounds: 3 },
        Step::Edit {
            client: 1,
            edit: Edit::Merge(181, 60),
        },
        Step::Up {
            client: 1,
            pick: 206,
            n: 5,
        },
        Step::Run { rounds: 1 },
        Step::Serve { hold_save: false },
        Step::Up {
            client: 2,
            pick: 31,
            n: 1,
        },
        Step::Up {
            client: 4,
            pick: 228,
            n: 7,
        },
        Step::Reconnect { client: 2 },
        Step::Down { client: 2, n: 7 },
        Step::Edit {
            client: 0,
            edit: Edit::Dissolve(87),
        },
        Step::Up {
            client: 1,
            pick: 204,
            n: 3,
        },
        Step::Edit {
            client: 3,
            edit: Edit::Move(199, 4),
        },
        Step::Down { client: 1, n: 2 },
        Step::Edit {
            client: 2,
            edit: Edit::Merge(217, 59),
        },
        Step::Serve { hold_save: false },
        Step::Edit {
            client: 0,
            edit: Edit::AddNote,
        },
        Step::Down { client: 4, n: 3 },
        Step::Late { client: 4 },
        Step::Edit {
            client: 1,
            edit: Edit::Merge(78, 145),
        },
        Step::Serve { hold_save: true },
        Step::Up {
            client: 1,
            pick: 158,
            n: 2,
        },
        Step::Run { rounds: 2 },
        Step::Serve { hold_save: false },
        Step::Serve { hold_save: false },
        Step::Reconnect { client: 2 },
        Step::Edit {
            client: 0,
            edit: Edit::AddNote,
        },
        Step::Down { client: 3, n: 4 },
        Step::Up {
            client: 4,
            pick: 120,
            n: 2,
        },
        Step::Run { rounds: 1 },
        Step::Serve { hold_save: false },
    ];
    let mut w = World::new(5, false, false);
    for s in &steps {
        w.step(s);
    }
    w.quiesce();
    check(&w).unwrap();
}

fn describe(frame: &[u8]) -> String {
    match Message::decode(frame) {
        Ok(Message::Sync(m)) | Ok(Message::Request(m)) => {
            match automerge::sync::Message::decode(&m.data) {
                Ok(sm) => format!(
                    "sync heads={:?} need={:?} have={} changes={}",
                    sm.heads
                        .iter()
                        .map(|h| h.to_string()[..6].to_string())
                        .collect::<Vec<_>>(),
                    sm.need
                        .iter()
                        .map(|h| h.to_string()[..6].to_string())
                        .collect::<Vec<_>>(),
                    sm.have.len(),
                    sm.changes.len()
                ),
                Err(e) => format!("sync undecodable {e}"),
            }
        }
        Ok(_) => "other".into(),
        Err(e) => format!("undecodable {e}"),
    }
}
