//! The document host: what a server does with one document, as decisions
//! without I/O. It owns the [`Room`] and decides, for the driver (the
//! server's tokio actor, or a test stepping it by hand):
//!
//! - **attach order**: which connection holds a peer id (a newer one takes
//!   it over and starts its sync afresh; an older connection's late first
//!   message does not take it back), and which messages come from a
//!   connection that no longer holds its peer (ignored);
//! - **saving**: what to store next ([`DocHost::to_save`]), and what follows
//!   the store's answer ([`DocHost::saved`]): replies released and peers
//!   served only once durable; after a failure, everything held, the peers
//!   told once, and a retry with backoff; compaction once the log is long;
//! - **fan-out and catch-up**: which peers to send what ([`DocHost::flush`],
//!   one message per distinct sync state, see [`Room::outgoing_many`]),
//!   which to park because their connection is busy, and what a parked peer
//!   is sent when its connection drains ([`DocHost::drained`]) — one
//!   catch-up message made from the document as it is then.
//!
//! The driver owns the clock (it passes `now`), the store and the sockets.
//! Replies to server-side changes are opaque tokens (`R`), handed back when
//! their change is durable.

use crate::room::{Received, Room, RoomError, SyncKind};
use crate::wire::{Message, PeerId};
use automerge::{ActorId, Change};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tavolo_model::policy::{PolicyContext, Role};

/// Identifies one connection; ids only grow, so a higher one is newer.
pub type ConnId = u64;

/// First wait before saving again after a failed save; it doubles up to
/// [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_millis(50);
pub const RETRY_MAX: Duration = Duration::from_secs(3);

/// A connection's view of a peer.
#[derive(Debug, Clone)]
pub struct Link {
    pub conn: ConnId,
    pub role: Role,
    /// The peer announced `tavoloExtensions` (Tavolo's own client).
    pub extensions: bool,
    /// Parked: waiting for room in its connection's queue.
    pub parked: bool,
}

/// What [`DocHost::attach`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// The connection holds the peer now (`fresh`: its sync starts afresh,
    /// a new peer or one that came back on a new connection).
    Taken { fresh: bool },
    /// An older connection's late attach: the newer one keeps the peer.
    Ignored,
}

/// What to store: the accepted changes not yet durable, in causal order,
/// and the actor ids they claimed.
#[derive(Debug, Default)]
pub struct SaveBatch {
    /// (hash, bytes) of each change.
    pub changes: Vec<(Vec<u8>, Vec<u8>)>,
    pub claims: Vec<(ActorId, crate::Owner)>,
}

/// What follows the store's answer.
#[derive(Debug)]
pub struct AfterSave<R> {
    /// Replies whose changes are now durable (or, after a failure, none).
    pub replies: Vec<R>,
    /// A snapshot to store in place of the change log.
    pub compact: Option<Vec<u8>>,
    /// The save failed for the first time since the last success: tell
    /// these peers that their changes are kept and will be saved.
    pub tell_failing: Vec<(PeerId, Link)>,
    /// The save works again after failing.
    pub recovered: bool,
}

/// Whether a peer's connection can take a message now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    Ready,
    Busy,
    Gone,
}

/// What to send, and to whom.
#[derive(Debug, Default)]
pub struct Flush {
    /// (connection, peer, messages in order).
    pub send: Vec<(ConnId, PeerId, Vec<Message>)>,
    /// Peers parked now: tell the host through [`DocHost::drained`] when
    /// their connection has room.
    pub parked: Vec<(ConnId, PeerId)>,
}

/// One document's server-side state, without I/O.
#[derive(Debug)]
pub struct DocHost<R> {
    room: Room,
    peers: HashMap<PeerId, Link>,
    /// Replies to server-side changes, released once durable.
    replies: Vec<R>,
    /// Changes handed to the store and not yet confirmed.
    saving: Vec<(Vec<u8>, Vec<u8>)>,
    claims: Vec<(ActorId, crate::Owner)>,
    failing: bool,
    retry_at: Option<Instant>,
    retry_delay: Duration,
    /// Changes stored after the last snapshot.
    loose: usize,
    compact_after: usize,
}

impl<R> DocHost<R> {
    /// A host over a room; `loose` changes are stored after the snapshot,
    /// and the log becomes a snapshot once it holds `compact_after`.
    pub fn new(room: Room, loose: usize, compact_after: usize) -> Self {
        Self {
            room,
            peers: HashMap::new(),
            replies: Vec::new(),
            saving: Vec::new(),
            claims: Vec::new(),
            failing: false,
            retry_at: None,
            retry_delay: RETRY_FIRST,
            loose,
            compact_after,
        }
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    pub fn room_mut(&mut self) -> &mut Room {
        &mut self.room
    }

    /// Replaces the room (a driver that warms it off its event loop).
    pub fn set_room(&mut self, room: Room) -> Room {
        std::mem::replace(&mut self.room, room)
    }

    pub fn peers(&self) -> impl Iterator<Item = (&PeerId, &Link)> {
        self.peers.iter()
    }

    pub fn link(&self, peer: &PeerId) -> Option<&Link> {
        self.peers.get(peer)
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Saves are failing (the peers have been told).
    pub fn failing(&self) -> bool {
        self.failing
    }

    /// When the next save may be tried after a failure.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// The connection holds its peer.
    pub fn is_current(&self, peer: &PeerId, conn: ConnId) -> bool {
        self.peers.get(peer).is_some_and(|l| l.conn == conn)
    }

    /// Nothing attached, nothing to store or answer.
    pub fn is_quiet(&self) -> bool {
        self.peers.is_empty()
            && !self.room.has_unsaved()
            && self.saving.is_empty()
            && self.replies.is_empty()
            && self.claims.is_empty()
            && self.retry_at.is_none()
    }

    /// Nothing accepted is waiting to be stored or confirmed.
    pub fn all_saved(&self) -> bool {
        !self.room.has_unsaved() && self.saving.is_empty()
    }

    /// A connection's first message on this document.
    pub fn attach(&mut self, conn: ConnId, peer: PeerId, role: Role, extensions: bool) -> Attach {
        if self.peers.get(&peer).is_some_and(|old| old.conn > conn) {
            // An older connection's late first message (its task read it
            // after the newer one attached): taking the peer back would
            // leave the newer connection ignored for good once the older
            // one detaches.
            return Attach::Ignored;
        }
        let fresh = match self.peers.get(&peer) {
            Some(old) if old.conn == conn => false,
            Some(_) => {
                // Same peer id on a new connection: start its sync afresh.
                self.room.remove_peer(&peer);
                true
            }
            None => true,
        };
        self.room
            .add_peer_with(peer.clone(), role.clone(), extensions);
        self.peers.insert(
            peer,
            Link {
                conn,
                role,
                extensions,
                parked: false,
            },
        );
        Attach::Taken { fresh }
    }

    /// A connection closed; it lets go of its peer if it still held it.
    pub fn detach(&mut self, conn: ConnId, peer: &PeerId) {
        if self.is_current(peer, conn) {
            self.peers.remove(peer);
            self.room.remove_peer(peer);
        }
    }

    /// A sync message; `None` from a connection that no longer holds its
    /// peer (ignored).
    pub fn receive(
        &mut self,
        conn: ConnId,
        peer: &PeerId,
        kind: SyncKind,
        data: &[u8],
        ctx: &PolicyContext,
    ) -> Option<Result<Received, RoomError>> {
        if !self.is_current(peer, conn) {
            return None;
        }
        Some(self.room.receive(peer, kind, data, ctx))
    }

    /// A change made by the server itself; `reply` is handed back by
    /// [`DocHost::saved`] once it is durable.
    pub fn local_change<E>(
        &mut self,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), E>,
        reply: R,
    ) -> Result<(), (R, E)> {
        match self.room.local_change(f) {
            Ok(()) => {
                self.replies.push(reply);
                Ok(())
            }
            Err(e) => Err((reply, e)),
        }
    }

    /// Replies to hand back now: none are waiting on a save.
    pub fn take_replies_if_saved(&mut self) -> Vec<R> {
        if self.all_saved() {
            std::mem::take(&mut self.replies)
        } else {
            Vec::new()
        }
    }

    /// What to store now, if anything: everything accepted and not yet
    /// durable (changes held through a failure included). `None` while a
    /// retry is scheduled for later than `now`.
    pub fn to_save(&mut self, now: Instant) -> Option<SaveBatch> {
        self.claims.extend(self.room.take_claims());
        if self.room.has_unsaved() {
            self.saving.extend(
                self.room
                    .take_unsaved()
                    .into_iter()
                    .map(|mut c: Change| (c.hash().0.to_vec(), c.bytes().into_owned())),
            );
        }
        if self.saving.is_empty() {
            return None;
        }
        if self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        self.retry_at = None;
        Some(SaveBatch {
            changes: self.saving.clone(),
            claims: self.claims.clone(),
        })
    }

    /// The store's answer to the last [`DocHost::to_save`].
    pub fn saved(&mut self, result: Result<(), String>, now: Instant) -> AfterSave<R> {
        match result {
            Ok(()) => {
                let recovered = std::mem::take(&mut self.failing);
                self.claims.clear();
                self.retry_delay = RETRY_FIRST;
                self.loose += self.saving.len();
                self.saving.clear();
                self.room.saved();
                let compact = (self.loose >= self.compact_after).then(|| self.room.save());
                AfterSave {
                    replies: self.take_replies_if_saved(),
                    compact,
                    tell_failing: Vec::new(),
                    recovered,
                }
            }
            Err(_) => {
                // Nothing leaves until a save succeeds; keep trying.
                let tell_failing = if self.failing {
                    Vec::new()
                } else {
                    self.failing = true;
                    self.peers
                        .iter()
                        .map(|(p, l)| (p.clone(), l.clone()))
                        .collect()
                };
                self.retry_at = Some(now + self.retry_delay);
                self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
                AfterSave {
                    replies: Vec::new(),
                    compact: None,
                    tell_failing,
                    recovered: false,
                }
            }
        }
    }

    /// Something else the driver stores failed (dots): retry later, with
    /// the same backoff as changes.
    pub fn hold(&mut self, now: Instant) {
        self.retry_at = Some(now + self.retry_delay);
        self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
    }

    /// The retry time passed (the driver's timer fired).
    pub fn retry_due(&mut self) {
        self.retry_at = None;
    }

    /// The log was replaced by the snapshot [`DocHost::saved`] asked for.
    pub fn compacted(&mut self) {
        self.loose = 0;
    }

    /// Sends every dirty peer what it lacks. `room` says whether a peer's
    /// connection can take a message now (a driver reserves the slot when
    /// it says `Ready`); a busy one is parked until [`DocHost::drained`].
    /// Nothing is sent while anything accepted is not yet durable.
    pub fn flush(&mut self, mut room: impl FnMut(&PeerId, &Link) -> Capacity) -> Flush {
        let mut flush = Flush::default();
        if !self.all_saved() {
            return flush;
        }
        let mut ready = Vec::new();
        for peer in self.room.dirty_peers() {
            let Some(link) = self.peers.get_mut(&peer) else {
                continue;
            };
            if link.parked {
                continue;
            }
            match room(&peer, link) {
                Capacity::Ready => ready.push(peer),
                Capacity::Busy => {
                    link.parked = true;
                    flush.parked.push((link.conn, peer));
                }
                // The connection is gone; its detach is on the way.
                Capacity::Gone => {}
            }
        }
        for (peer, messages) in self.room.outgoing_many(&ready) {
            if let Some(link) = self.peers.get(&peer) {
                flush.send.push((link.conn, peer, messages));
            }
        }
        flush
    }

    /// A parked peer's connection has room: one catch-up message, made from
    /// the document as it is now (empty if it is no longer current, or
    /// nothing is owed, or a save is still pending — it then stays dirty).
    pub fn drained(&mut self, conn: ConnId, peer: &PeerId) -> Vec<Message> {
        match self.peers.get_mut(peer) {
            Some(link) if link.conn == conn => link.parked = false,
            _ => return Vec::new(),
        }
        if !self.all_saved() {
            return Vec::new();
        }
        self.room.outgoing(peer)
    }
}
