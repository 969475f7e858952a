//! One task per WebSocket: the automerge-repo handshake, then one `select!`
//! over inbound frames, outbound frames, the ping timer and shutdown. It
//! ends with a [`CloseReason`] that becomes the close frame.

use crate::AppState;
use crate::actor::{ConnId, DocCommand, DocHandle, Outbound};
use crate::registry::RegistryError;
use crate::sessions::Grant;
use crate::upgrade::Socket as WebSocket;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tavolo_sync::guard::{Guard, GuardError, Limits};
use tavolo_sync::wire::{DocMessage, EphemeralMessage, PeerMetadata};
use tavolo_sync::{DocumentId, Message, PROTOCOL_V1, PeerId, SyncKind};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, timeout};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tracing::Instrument;

/// Frames queued for one connection before its documents mark it busy.
const OUTBOX: usize = 32;
/// A message longer than this goes out as WebSocket fragments of this size
/// (RFC 6455 §5.4; every client reassembles them): tungstenite's write
/// buffer keeps the capacity of the largest frame it formatted, so a
/// whole-board message sent in one frame would stay allocated for the
/// socket's life.
const FRAGMENT: usize = 8 * 1024;
/// How long the server waits on a peer before giving up on it.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For the `join` that opens the conversation.
    pub join: Duration,
    /// Between pings.
    pub ping: Duration,
    /// Without hearing anything (a pong at least): the peer is gone.
    pub dead: Duration,
    /// For the peer to take a frame: longer, it stopped reading.
    pub send: Duration,
    /// A document nobody has open stays loaded this long.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            join: Duration::from_secs(10),
            ping: Duration::from_secs(20),
            dead: Duration::from_secs(45),
            send: Duration::from_secs(10),
            idle: crate::registry::IDLE_DEFAULT,
        }
    }
}
/// Incoming messages: a burst of this many, then this many per second.
/// (An honest client opening a whole session sends a few dozen at once.)
const INCOMING_BURST: f64 = 600.0;
const INCOMING_PER_SECOND: f64 = 100.0;
/// Ephemeral messages relayed from one peer: enough for a cursor or a
/// "typing…" flag, not for a flood to every phone of the session.
const EPHEMERAL_BURST: f64 = 20.0;
const EPHEMERAL_PER_SECOND: f64 = 5.0;

/// Why a connection ended; each maps to a close code and a reason a client
/// can show or act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer said `leave` or closed the socket itself.
    PeerLeft,
    /// The server is shutting down; reconnect later.
    ShuttingDown,
    /// A frame that is not a protocol message.
    Protocol(String),
    /// The peer supports no protocol version we speak.
    UnsupportedVersion,
    /// No `join` in time.
    JoinTimeout,
    /// No pong for too long.
    Unresponsive,
    /// Text frames are not part of the protocol.
    TextFrame,
    /// The server could not load what the peer asked for.
    ServerError(String),
    /// The guard refused a sync message (too large, too many operations…).
    Guard(GuardError),
    /// More messages than any honest client sends.
    Flood,
    /// A message over the size limit.
    TooBig,
    /// The peer stopped reading what it is sent.
    SlowConsumer,
    /// The same participant connected again elsewhere.
    Replaced,
    /// The facilitator removed this participant.
    Revoked,
    /// The facilitator deleted the whole session.
    Deleted,
    /// Another node serves the session now: reconnect.
    Moved,
}

impl CloseReason {
    pub fn code(&self) -> u16 {
        match self {
            CloseReason::PeerLeft => 1000,
            CloseReason::ShuttingDown => 1001,
            CloseReason::ServerError(_) => 1011,
            CloseReason::Protocol(_) => 4000,
            CloseReason::UnsupportedVersion => 4002,
            CloseReason::TextFrame => 4003,
            CloseReason::JoinTimeout => 4004,
            CloseReason::Unresponsive => 4008,
            CloseReason::Guard(e) => e.close_code(),
            CloseReason::SlowConsumer => 4014,
            CloseReason::Replaced => 4015,
            CloseReason::Revoked => 4016,
            CloseReason::Deleted => 4017,
            CloseReason::Moved => 1012,
            CloseReason::Flood => 4029,
            CloseReason::TooBig => 1009,
        }
    }

    pub fn text(&self) -> String {
        match self {
            CloseReason::PeerLeft => "bye".into(),
            CloseReason::ShuttingDown => "server is restarting, reconnect shortly".into(),
            CloseReason::ServerError(m) => m.clone(),
            CloseReason::Protocol(m) => truncate(m, 120),
            CloseReason::UnsupportedVersion => "protocol version 1 is required".into(),
            CloseReason::TextFrame => "text frames are not part of the protocol".into(),
            CloseReason::JoinTimeout => "no join message received".into(),
            CloseReason::Unresponsive => "no pong received".into(),
            CloseReason::Guard(e) => truncate(&e.to_string(), 120),
            CloseReason::Flood => "too many messages".into(),
            CloseReason::TooBig => "message too big (the limit is 1 MiB)".into(),
            CloseReason::SlowConsumer => "not reading what the server sends".into(),
            CloseReason::Replaced => "opened in another window or device".into(),
            CloseReason::Revoked => "the facilitator removed this participant".into(),
            CloseReason::Deleted => "the facilitator deleted this session".into(),
            CloseReason::Moved => "this session moved to another server; reconnect".into(),
        }
    }
}

/// Close reasons travel in a control frame of at most 123 bytes.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

pub async fn serve(socket: WebSocket, state: Arc<AppState>, grant: Grant, conn: ConnId) {
    let span = tracing::info_span!("conn", conn, session = %grant.session_id);
    async move {
        let _open = crate::metrics::ConnectionGauge::open();
        let reason = run(socket, &state, &grant, conn).await;
        tracing::debug!(code = reason.code(), reason = %reason.text(), "connection closed");
    }
    .instrument(span)
    .await;
}

async fn run(socket: WebSocket, state: &Arc<AppState>, grant: &Grant, conn: ConnId) -> CloseReason {
    let (mut sink, mut stream) = socket.split();
    let shutdown = state.shutdown.clone();
    let t = state.timeouts;

    let close = |reason: CloseReason| {
        let frame = CloseFrame {
            code: reason.code().into(),
            reason: reason.text().into(),
        };
        (reason, WsMessage::Close(Some(frame)))
    };

    // Handshake: the peer introduces itself with `join`.
    let first = tokio::select! {
        r = timeout(t.join, next_binary(&mut stream)) => r,
        () = shutdown.cancelled() => {
            let (reason, frame) = close(CloseReason::ShuttingDown);
            let _ = sink.send(frame).await;
            return reason;
        }
    };
    let (peer, extensions) = match first {
        Err(_) => {
            let (reason, frame) = close(CloseReason::JoinTimeout);
            let _ = sink.send(frame).await;
            return reason;
        }
        Ok(Err(reason)) => {
            let (reason, frame) = close(reason);
            let _ = sink.send(frame).await;
            return reason;
        }
        Ok(Ok(bytes)) => match Message::decode(&bytes) {
            Ok(Message::Join {
                sender_id,
                supported_protocol_versions,
                peer_metadata,
            }) => {
                if sender_id == *state.registry.server_peer() || sender_id.0.len() > 128 {
                    let (reason, frame) = close(CloseReason::Protocol(
                        "this peer id cannot be used; pick a random one".into(),
                    ));
                    let _ = sink.send(frame).await;
                    return reason;
                }
                if !supported_protocol_versions.iter().any(|v| v == PROTOCOL_V1) {
                    let err = Message::Error {
                        message: "unsupported protocol version; this server speaks \"1\"".into(),
                    };
                    let _ = sink.send(WsMessage::Binary(err.encode().into())).await;
                    let (reason, frame) = close(CloseReason::UnsupportedVersion);
                    let _ = sink.send(frame).await;
                    return reason;
                }
                (sender_id, peer_metadata.tavolo_extensions)
            }
            Ok(other) => {
                let (reason, frame) = close(CloseReason::Protocol(format!(
                    "expected join, got {}",
                    other.type_name()
                )));
                let _ = sink.send(frame).await;
                return reason;
            }
            Err(e) => {
                let (reason, frame) = close(CloseReason::Protocol(e.to_string()));
                let _ = sink.send(frame).await;
                return reason;
            }
        },
    };
    let welcome = Message::Peer {
        sender_id: state.registry.server_peer().clone(),
        target_id: peer.clone(),
        peer_metadata: PeerMetadata {
            storage_id: None,
            is_ephemeral: false,
            tavolo_extensions: false,
        },
        selected_protocol_version: PROTOCOL_V1.into(),
    };
    if sink
        .send(WsMessage::Binary(welcome.encode().into()))
        .await
        .is_err()
    {
        return CloseReason::PeerLeft;
    }
    tracing::debug!(%peer, role = ?grant.role, "peer joined");

    let shared = match state.registry.session(&grant.session_id).await {
        Ok(s) => s,
        Err(e) => {
            let (reason, frame) = close(server_error(&e));
            let _ = sink.send(frame).await;
            return reason;
        }
    };
    // Counted as present from here until this function returns; an older
    // connection of the same participant is told to close.
    let Ok((_here, replaced)) = crate::presence::arrive(
        shared.clone(),
        conn,
        peer.clone(),
        grant.role.clone(),
        grant.attendance.clone(),
    ) else {
        let (reason, frame) = close(CloseReason::Protocol(
            "this peer id is in use by someone else; pick a random one".into(),
        ));
        let _ = sink.send(frame).await;
        return reason;
    };
    let mut replaced = futures_util::FutureExt::fuse(replaced);
    let mut presence = shared.presence.subscribe();
    // Presence is sent once the peer has the session document open.
    let mut presence_on = false;
    // The presence version this peer was last sent (deltas follow it).
    let mut presence_sent: Option<u64> = None;

    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(OUTBOX);
    let mut session = Conn {
        state,
        grant,
        conn,
        peer,
        outbox: out_tx,
        extensions,
        attached: HashMap::new(),
        guard: Guard::new(Limits::default()),
        ephemeral_bucket: TokenBucket::new(EPHEMERAL_BURST, EPHEMERAL_PER_SECOND),
    };
    let mut bucket = TokenBucket::new(INCOMING_BURST, INCOMING_PER_SECOND);
    let mut ping = interval(t.ping);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ping.tick().await;
    let mut last_heard = Instant::now();

    let reason = loop {
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    // tungstenite refuses a message over the size limit
                    // before buffering it (its text names the limit).
                    Some(Err(WsError::Capacity(_))) => break CloseReason::TooBig,
                    None | Some(Err(_)) => break CloseReason::PeerLeft,
                    Some(Ok(WsMessage::Binary(bytes))) => {
                        if !bucket.take(Instant::now()) {
                            break CloseReason::Flood;
                        }
                        let reply = match Message::decode(&bytes) {
                            Ok(msg) => session.handle(msg).await,
                            Err(e) => Err(CloseReason::Protocol(e.to_string())),
                        };
                        match reply {
                            Ok(frames) => {
                                if let Err(reason) = send_all(&mut sink, frames, t.send).await {
                                    break reason;
                                }
                            }
                            Err(reason) => break reason,
                        }
                        if !presence_on && session.attached.contains_key(&shared.session_doc) {
                            presence_on = true;
                            presence.mark_changed();
                        }
                    }
                    Some(Ok(WsMessage::Text(_))) => break CloseReason::TextFrame,
                    Some(Ok(WsMessage::Close(_))) => break CloseReason::PeerLeft,
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
                }
            }
            Some(out) = out_rx.recv() => {
                let frames = match out {
                    Outbound::Frames(frames) => frames,
                    Outbound::Messages(messages) => messages.iter().map(Message::encode).collect(),
                };
                if let Err(reason) = send_all(&mut sink, frames, t.send).await {
                    break reason;
                }
            }
            Ok(kick) = &mut replaced => break match kick {
                crate::presence::Kick::Replaced => CloseReason::Replaced,
                crate::presence::Kick::Revoked => CloseReason::Revoked,
                crate::presence::Kick::Deleted => CloseReason::Deleted,
                crate::presence::Kick::Moved => CloseReason::Moved,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > t.dead {
                    break CloseReason::Unresponsive;
                }
                match timeout(t.send, sink.send(WsMessage::Ping(Default::default()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break CloseReason::PeerLeft,
                    Err(_) => break CloseReason::SlowConsumer,
                }
            }
            Ok(()) = presence.changed(), if presence_on => {
                let now = presence.borrow_and_update().clone();
                let registry = &state.registry;
                let frames: Vec<Vec<u8>> = now
                    .since(presence_sent)
                    .into_iter()
                    .map(|data| {
                        registry.presence_sender().frame(
                            registry.server_peer(),
                            &session.peer,
                            shared.session_doc,
                            data,
                        )
                    })
                    .collect();
                presence_sent = Some(now.picture.version);
                if let Err(reason) = send_all(&mut sink, frames, t.send).await {
                    break reason;
                }
            }
            () = shutdown.cancelled() => break CloseReason::ShuttingDown,
        }
    };
    session.detach_all().await;
    if !matches!(reason, CloseReason::PeerLeft | CloseReason::SlowConsumer) {
        let (_, frame) = close(reason.clone());
        let _ = timeout(t.send, sink.send(frame)).await;
        // Read (and drop) what the peer had already sent, until its close
        // or for a second: a socket closed with unread data is reset, and
        // the peer would see "connection lost" instead of our close code
        // and reason.
        let _ = timeout(Duration::from_secs(1), async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, WsMessage::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    // A peer that does not read would hold the close handshake forever.
    let _ = timeout(Duration::from_secs(1), sink.close()).await;
    reason
}

/// Incoming-message allowance: `burst` at once, refilled at `rate` a second.
struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(burst: f64, rate: f64) -> Self {
        Self {
            tokens: burst,
            burst,
            rate,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Sends messages in order, each longer than [`FRAGMENT`] as fragments;
/// fails when the socket is gone, or when the peer has not taken a frame
/// for `limit` (it stopped reading).
async fn send_all(
    sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    messages: Vec<Vec<u8>>,
    limit: Duration,
) -> Result<(), CloseReason> {
    for m in messages {
        for frame in fragments(m) {
            match timeout(limit, sink.send(frame)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(CloseReason::PeerLeft),
                Err(_) => return Err(CloseReason::SlowConsumer),
            }
        }
    }
    Ok(())
}

/// One binary message as WebSocket frames: whole if short, else a first
/// frame and continuations of [`FRAGMENT`] bytes, the last one final.
fn fragments(message: Vec<u8>) -> Vec<WsMessage> {
    if message.len() <= FRAGMENT {
        return vec![WsMessage::Binary(message.into())];
    }
    let bytes = axum::body::Bytes::from(message);
    let count = bytes.len().div_ceil(FRAGMENT);
    (0..count)
        .map(|i| {
            let chunk = bytes.slice(i * FRAGMENT..((i + 1) * FRAGMENT).min(bytes.len()));
            let opcode = if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            WsMessage::Frame(Frame::message(chunk, opcode, i + 1 == count))
        })
        .collect()
}

/// Why reading failed: tungstenite refuses a message over the size limit
/// before buffering it; anything else means the peer is gone.
fn stream_error(e: &WsError) -> CloseReason {
    if matches!(e, WsError::Capacity(_)) {
        CloseReason::TooBig
    } else {
        CloseReason::PeerLeft
    }
}

/// The next binary frame (skipping pings); a text frame or close ends the wait.
async fn next_binary(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
) -> Result<axum::body::Bytes, CloseReason> {
    loop {
        match stream.next().await {
            None | Some(Ok(WsMessage::Close(_))) => return Err(CloseReason::PeerLeft),
            Some(Err(e)) => return Err(stream_error(&e)),
            Some(Ok(WsMessage::Binary(b))) => return Ok(b),
            Some(Ok(WsMessage::Text(_))) => return Err(CloseReason::TextFrame),
            Some(Ok(_)) => {}
        }
    }
}

struct Conn<'a> {
    state: &'a Arc<AppState>,
    grant: &'a Grant,
    conn: ConnId,
    peer: PeerId,
    outbox: mpsc::Sender<Outbound>,
    /// The peer announced `tavoloExtensions` in its `join`.
    extensions: bool,
    attached: HashMap<DocumentId, DocHandle>,
    guard: Guard,
    /// Ephemeral messages relayed for this peer: a burst, then a few a second.
    ephemeral_bucket: TokenBucket,
}

impl Conn<'_> {
    /// Handles one message; returns frames to send back directly, or why
    /// the connection must end.
    async fn handle(&mut self, msg: Message) -> Result<Vec<Vec<u8>>, CloseReason> {
        match msg {
            Message::Request(m) => self.sync(m, SyncKind::Request).await,
            Message::Sync(m) => self.sync(m, SyncKind::Sync).await,
            Message::Ephemeral(m) => self.ephemeral(m).await,
            Message::Leave { .. } => Err(CloseReason::PeerLeft),
            Message::Join { .. } => Err(CloseReason::Protocol("join sent twice".into())),
            Message::Error { message } => {
                tracing::debug!(peer = %self.peer, %message, "peer reported an error");
                Ok(Vec::new())
            }
            // Nothing to do for these from a client.
            Message::Peer { .. }
            | Message::DocUnavailable { .. }
            | Message::Refused(_)
            | Message::Unknown { .. } => Ok(Vec::new()),
        }
    }

    fn unavailable(&self, document_id: DocumentId) -> Vec<Vec<u8>> {
        vec![
            Message::DocUnavailable {
                sender_id: self.state.registry.server_peer().clone(),
                target_id: self.peer.clone(),
                document_id,
            }
            .encode(),
        ]
    }

    /// The document's actor, attaching this connection on first use; `None`
    /// when the document is not one of this session's.
    async fn doc(&mut self, id: DocumentId) -> Result<Option<DocHandle>, CloseReason> {
        if let Some(h) = self.attached.get(&id) {
            return Ok(Some(h.clone()));
        }
        let registry = &self.state.registry;
        let session = match registry.session(&self.grant.session_id).await {
            Ok(s) => s,
            Err(e) => return Err(server_error(&e)),
        };
        if !session.docs.contains_key(&id) {
            return Ok(None);
        }
        // An idle actor may be retiring as we reach it: it says so, and
        // the registry then starts a fresh one.
        for _ in 0..3 {
            let handle = match registry.doc(&session, id).await {
                Ok(h) => h,
                Err(RegistryError::NotInSession(_)) => return Ok(None),
                Err(e) => return Err(server_error(&e)),
            };
            let (ack, attached) = tokio::sync::oneshot::channel();
            let sent = handle
                .send(DocCommand::Attach {
                    conn: self.conn,
                    peer: self.peer.clone(),
                    role: self.grant.role.clone(),
                    extensions: self.extensions,
                    outbox: self.outbox.clone(),
                    ack,
                })
                .await;
            if sent.is_ok() && attached.await == Ok(true) {
                self.attached.insert(id, handle.clone());
                return Ok(Some(handle));
            }
            tokio::task::yield_now().await;
        }
        Err(CloseReason::ServerError("document stopped".into()))
    }

    async fn sync(&mut self, m: DocMessage, kind: SyncKind) -> Result<Vec<Vec<u8>>, CloseReason> {
        let received = std::time::Instant::now();
        // Before anything else sees it, and before the document is opened.
        if let Err(e) = self.guard.check_sync(&m.data) {
            tracing::info!(peer = %self.peer, error = %e, "sync message refused by the guard");
            return Err(CloseReason::Guard(e));
        }
        let Some(handle) = self.doc(m.document_id).await? else {
            return Ok(self.unavailable(m.document_id));
        };
        handle
            .send(DocCommand::Sync {
                conn: self.conn,
                peer: self.peer.clone(),
                kind,
                data: m.data,
                received,
            })
            .await
            .map_err(|_| CloseReason::ServerError("document stopped".into()))?;
        Ok(Vec::new())
    }

    async fn ephemeral(&mut self, m: EphemeralMessage) -> Result<Vec<Vec<u8>>, CloseReason> {
        // Relayed to every peer of the document: small and few, or dropped
        // (presence is lossy by nature; the next beat carries the state).
        if m.data.len() > tavolo_sync::room::MAX_EPHEMERAL_BYTES
            || !self.ephemeral_bucket.take(Instant::now())
        {
            return Ok(Vec::new());
        }
        let Some(handle) = self.doc(m.document_id).await? else {
            return Ok(self.unavailable(m.document_id));
        };
        handle
            .send(DocCommand::Ephemeral {
                conn: self.conn,
                peer: self.peer.clone(),
                msg: m,
            })
            .await
            .map_err(|_| CloseReason::ServerError("document stopped".into()))?;
        Ok(Vec::new())
    }

    async fn detach_all(&mut self) {
        for (_, handle) in self.attached.drain() {
            let _ = handle
                .send(DocCommand::Detach {
                    conn: self.conn,
                    peer: self.peer.clone(),
                })
                .await;
        }
    }
}

fn server_error(e: &RegistryError) -> CloseReason {
    tracing::error!(error = %e, "cannot open document");
    CloseReason::ServerError("the server cannot load this session right now".into())
}
