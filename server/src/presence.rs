//! Who is connected to each session, kept in memory only.
//!
//! A connection [`arrive`]s once its handshake is done (closing any older
//! connection of the same participant) and leaves when its
//! [`Here`] guard drops, whatever way the connection ended. Every change
//! publishes a new [`Presence`] on the session's watch channel; each
//! connection forwards the latest one to its peer as an `ephemeral` message
//! on the session document (a watch coalesces bursts, so forty people
//! joining at once cost each peer a handful of messages, not forty).

use crate::actor::ConnId;
use crate::registry::SessionShared;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tavolo_model::Role;
use tavolo_sync::presence::{Presence, PresentParticipant};
use tavolo_sync::wire::EphemeralMessage;
use tavolo_sync::{DocumentId, Message, PeerId};
use tokio::sync::{oneshot, watch};

/// One connection as the board knows it.
#[derive(Debug)]
struct Entry {
    role: Role,
    /// The peer id the connection introduced itself with.
    peer: PeerId,
    attendance: Option<String>,
    /// Tells the connection to close, and why.
    replace: Option<oneshot::Sender<Kick>>,
}

/// One session's connections.
#[derive(Debug)]
pub struct PresenceBoard {
    conns: Mutex<HashMap<ConnId, Entry>>,
    tx: watch::Sender<Arc<Published>>,
}

/// How many deltas a publication keeps: a connection further behind is
/// sent the whole picture.
const DELTAS_KEPT: usize = 16;

/// The picture as published, encoded once for every connection: whole, and
/// as the deltas that led to it.
#[derive(Debug, Default)]
pub struct Published {
    pub picture: Presence,
    /// `picture`, encoded.
    pub whole: Vec<u8>,
    /// The last deltas, oldest first: (base version, encoded delta).
    pub deltas: std::collections::VecDeque<(u64, Arc<Vec<u8>>)>,
}

impl Published {
    /// What a connection that was last sent `version` is sent now: the
    /// deltas since, or the whole picture.
    pub fn since(&self, version: Option<u64>) -> Vec<Vec<u8>> {
        if version == Some(self.picture.version) {
            return Vec::new();
        }
        if let Some(v) = version
            && let Some(from) = self.deltas.iter().position(|(base, _)| *base == v)
        {
            return self
                .deltas
                .iter()
                .skip(from)
                .map(|(_, d)| d.as_ref().clone())
                .collect();
        }
        vec![self.whole.clone()]
    }
}

impl Default for PresenceBoard {
    fn default() -> Self {
        Self {
            conns: Mutex::new(HashMap::new()),
            tx: watch::channel(Arc::new(Published::default())).0,
        }
    }
}

impl PresenceBoard {
    /// Nobody is connected to the session.
    pub fn is_empty(&self) -> bool {
        self.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.tx.subscribe()
    }

    fn update(&self, f: impl FnOnce(&mut HashMap<ConnId, Entry>)) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conns);
        let mut p = Presence::default();
        for Entry {
            role, attendance, ..
        } in conns.values()
        {
            match role {
                Role::Participant(id) => {
                    p.participants
                        .entry(id.as_str().to_string())
                        .and_modify(|e| e.connections += 1)
                        .or_insert_with(|| PresentParticipant {
                            attendance: attendance.clone().unwrap_or_default(),
                            connections: 1,
                        });
                }
                Role::Facilitator => p.facilitators += 1,
                Role::Viewer => p.viewers += 1,
            }
        }
        // Published while the lock is held, so versions keep the order of
        // updates; each is encoded here once, not once per connection.
        let last = self.tx.borrow().clone();
        p.version = last.picture.version + 1;
        let delta = Arc::new(last.picture.delta_to(&p).encode());
        let mut deltas = last.deltas.clone();
        if deltas.len() >= DELTAS_KEPT {
            deltas.pop_front();
        }
        deltas.push_back((last.picture.version, delta));
        let whole = p.encode();
        self.tx.send_replace(Arc::new(Published {
            picture: p,
            whole,
            deltas,
        }));
    }
}

/// A connection's presence; dropping it removes the connection.
#[derive(Debug)]
pub struct Here {
    session: Arc<SessionShared>,
    conn: ConnId,
}

/// Why a connection is told to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// The same participant connected again elsewhere.
    Replaced,
    /// The facilitator removed the participant.
    Revoked,
    /// The facilitator deleted the session.
    Deleted,
    /// Another node serves the session now (this one lost its lease).
    Moved,
}

impl PresenceBoard {
    /// Closes every connection of a participant (their tickets were revoked).
    pub fn revoke(&self, participant: &str) {
        self.revoke_where(|r| matches!(r, Role::Participant(p) if p.as_str() == participant));
    }

    /// Closes every connection whose role matches (their tickets were revoked).
    pub fn revoke_where(&self, which: impl Fn(&Role) -> bool) {
        self.kick_where(which, Kick::Revoked);
    }

    /// Closes every connection of the session (it was deleted).
    pub fn close_all(&self) {
        self.kick_where(|_| true, Kick::Deleted);
    }

    /// Closes every connection of the session: another node serves it now,
    /// and the clients reconnect there.
    pub fn move_all(&self) {
        self.kick_where(|_| true, Kick::Moved);
    }

    fn kick_where(&self, which: impl Fn(&Role) -> bool, why: Kick) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        for e in conns.values_mut() {
            if which(&e.role)
                && let Some(kick) = e.replace.take()
            {
                let _ = kick.send(why);
            }
        }
    }
}

/// Another connection of the session, with another role, holds this peer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdTaken;

/// Registers a connection. The receiver fires when the same participant
/// connects again elsewhere: this connection must then close (one live
/// connection per participant, so two tabs never write over each other and
/// a stolen ticket shows up).
pub fn arrive(
    session: Arc<SessionShared>,
    conn: ConnId,
    peer: PeerId,
    role: Role,
    attendance: Option<String>,
) -> Result<(Here, oneshot::Receiver<Kick>), PeerIdTaken> {
    let (tx, rx) = oneshot::channel();
    let mut taken = false;
    session.presence.update(|c| {
        // Documents know their peers by peer id: someone else's would take
        // over their place in every document's sync.
        if c.values().any(|e| e.peer == peer && e.role != role) {
            taken = true;
            return;
        }
        if let Role::Participant(me) = &role {
            for e in c.values_mut() {
                if matches!(&e.role, Role::Participant(p) if p == me)
                    && let Some(replace) = e.replace.take()
                {
                    let _ = replace.send(Kick::Replaced);
                }
            }
        }
        c.insert(
            conn,
            Entry {
                role,
                peer,
                attendance,
                replace: Some(tx),
            },
        );
    });
    if taken {
        return Err(PeerIdTaken);
    }
    Ok((Here { session, conn }, rx))
}

impl Drop for Here {
    fn drop(&mut self) {
        let conn = self.conn;
        self.session.presence.update(|c| {
            c.remove(&conn);
        });
    }
}

/// Numbers presence messages across the whole process: automerge-repo
/// clients drop an ephemeral message whose count they have already seen
/// for its session id, also after reconnecting.
#[derive(Debug)]
pub struct PresenceSender {
    session_id: String,
    count: AtomicU64,
}

impl PresenceSender {
    pub fn new() -> Self {
        Self {
            session_id: format!("tavolo-presence-{}", uuid::Uuid::new_v4().simple()),
            count: AtomicU64::new(0),
        }
    }

    /// The frame telling `target` who is connected.
    pub fn frame(
        &self,
        server: &PeerId,
        target: &PeerId,
        document_id: DocumentId,
        data: Vec<u8>,
    ) -> Vec<u8> {
        Message::Ephemeral(EphemeralMessage {
            sender_id: server.clone(),
            target_id: target.clone(),
            count: self.count.fetch_add(1, Ordering::Relaxed) + 1,
            session_id: self.session_id.clone(),
            document_id,
            data,
        })
        .encode()
    }
}

impl Default for PresenceSender {
    fn default() -> Self {
        Self::new()
    }
}
