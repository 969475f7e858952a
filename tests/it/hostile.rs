//! Hostile input against the real binary. Every case asserts the same three
//! things afterwards: the server is alive (`/healthz`), its memory stayed
//! bounded (peak RSS, reported), and another session's participants still
//! sync a note to each other within a second. Each case also checks how the
//! attacker's connection ended (close code and reason).

use crate::helpers::*;
use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_sync::wire::DocMessage;
use tavolo_sync::{DocumentId, Message, PeerId};
use tavolo_tests::{ServerProcess, SyncClient, Ticket, note_texts};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Peak resident memory the server may reach in any case.
const MAX_RSS_MIB: u64 = 256;

/// A server with two bystanders in one session and an attacker in another.
struct Arena {
    server: ServerProcess,
    anna: SyncClient,
    bruno: SyncClient,
    anna_id: String,
    q: DocumentId,
    attacker: Ticket,
    attacker_q: DocumentId,
    join_code: String,
    notes: usize,
    _dir: tempfile::TempDir,
}

impl Arena {
    async fn new() -> Arena {
        // Short timeouts so that half-open and non-reading peers are
        // noticed in seconds: ping 300 ms, dead after 1.5 s, send 1.5 s.
        Self::with(&["--timeouts-ms", "300,1500,1500"]).await
    }

    async fn with(args: &[&str]) -> Arena {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start_with(dir.path(), args).await.unwrap();
        let api = server.api();
        let (_s, a, b) = session_and_two(&api).await;
        let mut anna = connect(&server, &a).await;
        let mut bruno = connect(&server, &b).await;
        let q = first_question(&anna, a.session_doc);
        open_question(&mut anna, q).await;
        open_question(&mut bruno, q).await;
        let other = api.create_session().await.unwrap();
        let attacker = api.join(&other.join_code, "Mallory").await.unwrap();
        let probe = connect(&server, &attacker).await;
        let attacker_q = first_question(&probe, attacker.session_doc);
        probe.close().await.unwrap();
        Arena {
            server,
            anna,
            bruno,
            anna_id: a.participant_id.unwrap(),
            q,
            attacker,
            attacker_q,
            join_code: other.join_code,
            notes: 0,
            _dir: dir,
        }
    }

    /// The attacker, connected, with its question open.
    async fn attacker(&self) -> SyncClient {
        let mut c = connect(&self.server, &self.attacker).await;
        open_question(&mut c, self.attacker_q).await;
        c
    }

    /// Another participant of the attacker's session (sees its presence).
    async fn watcher(&self) -> SyncClient {
        let t = self
            .server
            .api()
            .join(&self.join_code, "Osservatore")
            .await
            .unwrap();
        connect(&self.server, &t).await
    }

    /// Alive, bounded, and the bystanders still sync within a second.
    async fn check(&mut self, case: &str) {
        let (status, body) = self.server.api().get("/healthz").await.unwrap();
        assert_eq!(status, 200, "{case}: server not healthy: {body}");
        self.notes += 1;
        let text = format!("ancora qui {}", self.notes);
        let started = Instant::now();
        add_note(
            &mut self.anna,
            self.q,
            &self.anna_id,
            &format!("n_alive_{}", self.notes),
            &text,
        )
        .await;
        self.bruno
            .pump_until(Duration::from_secs(5), |c| {
                note_texts(c.doc(self.q)).contains(&text)
            })
            .await
            .unwrap_or_else(|e| panic!("{case}: the other session stopped syncing: {e}"));
        let took = started.elapsed();
        let rss = peak_rss_mib(self.server.pid().unwrap());
        eprintln!(
            "HOSTILE {case}: server alive, peak RSS {rss} MiB, other session synced in {} ms",
            took.as_millis()
        );
        assert!(took < Duration::from_secs(1), "{case}: sync took {took:?}");
        assert!(rss < MAX_RSS_MIB, "{case}: peak RSS {rss} MiB");
    }
}

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

/// A sync message for `doc` carrying these chunks.
pub(crate) fn sync_frame(c: &SyncClient, doc: DocumentId, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    let data = sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: chunks.into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
    .encode();
    Message::Sync(DocMessage {
        sender_id: c.peer.clone(),
        target_id: PeerId("server".into()),
        document_id: doc,
        data,
    })
    .encode()
}

/// Sends `frame`, then expects the connection to end with `code`.
async fn expect_close(mut c: SyncClient, frame: Vec<u8>, code: u16) -> String {
    c.send_raw(frame).await.unwrap();
    let (got, reason) = c.closed(WAIT).await.unwrap();
    assert_eq!(got, code, "closed with {got} {reason:?}");
    assert!(!reason.is_empty(), "a close reason is given");
    reason
}

/// A text of `n` characters committed in one change, then the change that
/// deletes it (returned: the insert's and the delete's bytes).
fn big_text(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut doc = AutoCommit::new();
    let t = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
    doc.splice_text(&t, 0, 0, &"x".repeat(n)).unwrap();
    doc.commit();
    let heads = doc.get_heads();
    doc.splice_text(&t, 0, n as isize, "").unwrap();
    doc.commit();
    let mut insert = doc.get_changes(&[])[0].clone();
    let mut delete = doc.get_changes(&heads)[0].clone();
    (insert.bytes().to_vec(), delete.bytes().to_vec())
}

#[tokio::test]
async fn garbage_bytes_close_with_a_protocol_error() {
    let mut arena = Arena::new().await;
    let c = arena.attacker().await;
    let reason = expect_close(c, vec![0xff, 0x00, 0x13, 0x37, 0xde, 0xad], 4000).await;
    assert!(
        reason.contains("CBOR") || reason.contains("map"),
        "{reason}"
    );
    arena.check("garbage bytes").await;
}

#[tokio::test]
async fn a_truncated_message_closes_with_a_protocol_error() {
    let mut arena = Arena::new().await;
    let c = arena.attacker().await;
    let frame = sync_frame(&c, arena.attacker_q, Vec::new());
    expect_close(c, frame[..frame.len() / 2].to_vec(), 4000).await;
    arena.check("truncated message").await;
}

#[tokio::test]
async fn a_compression_bomb_is_refused_before_it_inflates() {
    let mut enc = flate2_bomb(64 << 20);
    let mut arena = Arena::new().await;
    let c = arena.attacker().await;
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    let mut len = enc.len();
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            chunk.push(b);
            break;
        }
        chunk.push(b | 0x80);
    }
    chunk.append(&mut enc);
    let frame = sync_frame(&c, arena.attacker_q, vec![chunk]);
    let reason = expect_close(c, frame, 4009).await;
    assert!(reason.contains("compressed"), "{reason}");
    arena.check("compression bomb (64 MiB of zeros)").await;
}

/// Raw deflate of `n` zero bytes (a few tens of KiB for 64 MiB).
fn flate2_bomb(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..n / zeros.len() {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

#[tokio::test]
async fn nesting_two_thousand_deep_is_refused_in_cbor_and_in_a_change() {
    let mut arena = Arena::new().await;
    // CBOR: a map inside a map, 2,000 deep.
    let c = arena.attacker().await;
    let mut frame = Vec::new();
    for _ in 0..2_000 {
        frame.extend([0xa1, 0x61, b'k']);
    }
    frame.push(0x00);
    expect_close(c, frame, 4000).await;
    arena.check("CBOR nested 2,000 deep").await;

    // Automerge: objects nested 2,000 deep in one change.
    let c = arena.attacker().await;
    let mut doc = AutoCommit::new();
    let mut obj = ROOT;
    for i in 0..2_000 {
        obj = doc.put_object(&obj, format!("k{i}"), ObjType::Map).unwrap();
    }
    doc.commit();
    let chunk = doc.get_changes(&[])[0].clone().bytes().to_vec();
    let frame = sync_frame(&c, arena.attacker_q, vec![chunk]);
    let reason = expect_close(c, frame, 4011).await;
    assert!(reason.contains("nested"), "{reason}");
    arena.check("objects nested 2,000 deep").await;
}

#[tokio::test]
async fn a_million_character_insert_and_delete_are_refused_by_their_operation_count() {
    // Built before anyone connects: this test's runtime is single-threaded,
    // and seconds of work here would keep the bystanders from answering pings.
    let (insert, delete) = big_text(1_000_000);
    let mut arena = Arena::new().await;
    assert!(delete.len() < 300, "the delete is {} bytes", delete.len());
    let c = arena.attacker().await;
    let frame = sync_frame(&c, arena.attacker_q, vec![insert]);
    let reason = expect_close(c, frame, 4010).await;
    assert!(reason.contains("operations"), "{reason}");
    arena.check("1M-character insert").await;
    let c = arena.attacker().await;
    let frame = sync_frame(&c, arena.attacker_q, vec![delete]);
    expect_close(c, frame, 4010).await;
    arena.check("1M-character delete").await;
}

#[tokio::test]
async fn a_whole_document_from_a_participant_is_refused() {
    let mut arena = Arena::new().await;
    let c = arena.attacker().await;
    let mut doc = c.doc(arena.attacker_q);
    let frame = sync_frame(&c, arena.attacker_q, vec![doc.save()]);
    let reason = expect_close(c, frame, 4013).await;
    assert!(reason.contains("whole-document"), "{reason}");
    arena.check("document chunk from a participant").await;
}

#[tokio::test]
async fn a_text_frame_and_a_20_mib_frame_close_the_connection() {
    let mut arena = Arena::new().await;
    let url = arena.server.ws_url(&arena.attacker.ticket);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    ws.send(WsMessage::Text("ciao".into())).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(4003));
    arena.check("text frame").await;

    // Our own side must allow sending such a frame.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_frame_size(Some(32 << 20))
        .max_message_size(Some(32 << 20));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&url, Some(config), false)
        .await
        .unwrap();
    // The server stops reading at its 1 MiB limit and closes; the rest of
    // our 20 MiB may not even be sent.
    let _ = ws
        .send(WsMessage::Binary(vec![0x42; 20 << 20].into()))
        .await;
    let code = close_code(&mut ws).await;
    assert!(
        code.is_none_or(|c| c == 1009),
        "a 20 MiB frame ends the connection (message too big), got {code:?}"
    );
    arena.check("20 MiB frame").await;
}

/// Reading now drains what was buffered (the greeting, pings, the close). A
/// peer that did not read may never see the close frame; if it does, the
/// code says it was unresponsive (4008) or not reading (4014).
async fn assert_dropped_as_silent(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) {
    let code = close_code(ws).await;
    assert!(
        code.is_none_or(|c| matches!(c, 4008 | 4014)),
        "closed as unresponsive or not reading, got {code:?}"
    );
}

/// Reads until the close frame; its code (`None` if the socket just ended).
async fn close_code(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<u16> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match tokio::time::timeout(WAIT, ws.next()).await.ok()? {
            Some(Ok(WsMessage::Close(f))) => return f.map(|f| f.code.into()),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
    None
}

#[tokio::test]
async fn a_flood_of_five_thousand_messages_is_cut_off() {
    let mut arena = Arena::new().await;
    let mut c = arena.attacker().await;
    let frame = sync_frame(&c, arena.attacker_q, Vec::new());
    for _ in 0..5_000 {
        if c.send_raw(frame.clone()).await.is_err() {
            break;
        }
    }
    // The server closes with 4029; when our unread frames were still in its
    // socket buffer, the kernel resets the connection instead and the close
    // frame is lost (1006). Nothing else can close this connection: the
    // frames are valid, empty sync messages.
    let (code, reason) = c.closed(WAIT).await.unwrap();
    assert!(
        (code, reason.as_str()) == (4029, "too many messages") || code == 1006,
        "{code} {reason}"
    );
    arena.check("5,000-message flood").await;
}

#[tokio::test]
async fn two_hundred_new_actors_on_one_connection_are_cut_off() {
    let mut arena = Arena::new().await;
    let mut c = arena.attacker().await;
    let me = ParticipantId(arena.attacker.participant_id.clone().unwrap());
    let mut base = c.doc(arena.attacker_q);
    let base_heads = base.get_heads();
    let mut closed = None;
    for i in 0..200 {
        // A fresh actor each time, writing a perfectly valid note.
        let mut doc = base.fork();
        let new = NewNote {
            text: format!("nota {i}"),
            category: None,
            anonymous: false,
            created_at: 1,
        };
        ops::add_note(&mut doc, &format!("n_actor_{i}"), &me, &new).unwrap();
        doc.commit();
        let chunk = doc.get_changes(&base_heads)[0].clone().bytes().to_vec();
        if c.send_raw(sync_frame(&c, arena.attacker_q, vec![chunk]))
            .await
            .is_err()
        {
            break;
        }
        if let Some(end) = c.lock_view(|v| v.closed.clone()) {
            closed = Some(end);
            break;
        }
    }
    let (code, reason) = match closed {
        Some(end) => end,
        None => c.closed(WAIT).await.unwrap(),
    };
    assert_eq!(code, 4012, "{reason}");
    arena.check("200 new actor IDs").await;
}

#[tokio::test]
async fn a_half_open_connection_is_closed_after_the_pings_go_unanswered() {
    let mut arena = Arena::new().await;
    let url = arena.server.ws_url(&arena.attacker.ticket);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let join = Message::Join {
        sender_id: PeerId("half-open".into()),
        peer_metadata: Default::default(),
        supported_protocol_versions: vec!["1".into()],
    };
    ws.send(WsMessage::Binary(join.encode().into()))
        .await
        .unwrap();
    // Now the peer goes silent: it neither reads nor answers pings (the
    // socket stays open, as when a phone loses the network mid-session).
    // Someone else in its session watches it leave the presence list.
    let mut watcher = arena.watcher().await;
    let mallory = arena.attacker.participant_id.clone().unwrap();
    watcher
        .pump_until(WAIT, |v| {
            v.presence()
                .is_some_and(|p| p.participants.contains_key(&mallory))
        })
        .await
        .unwrap();
    arena.check("half-open connection (meanwhile)").await;
    watcher
        .pump_until(WAIT, |v| {
            v.presence()
                .is_some_and(|p| !p.participants.contains_key(&mallory))
        })
        .await
        .unwrap();
    assert_dropped_as_silent(&mut ws).await;
    arena.check("half-open connection").await;
}

#[tokio::test]
async fn a_client_that_stops_reading_while_thirty_others_edit_is_closed_and_nobody_waits() {
    let mut arena = Arena::new().await;
    let api = arena.server.api();
    let q = arena.attacker_q;
    // The slow one joins and asks for the question, then never reads again.
    let url = arena.server.ws_url(&arena.attacker.ticket);
    let (mut slow, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let peer = PeerId("slow-reader".into());
    let join = Message::Join {
        sender_id: peer.clone(),
        peer_metadata: Default::default(),
        supported_protocol_versions: vec!["1".into()],
    };
    slow.send(WsMessage::Binary(join.encode().into()))
        .await
        .unwrap();
    let mut empty = AutoCommit::new();
    let request = Message::Request(DocMessage {
        sender_id: peer,
        target_id: PeerId("server".into()),
        document_id: q,
        data: empty
            .sync()
            .generate_sync_message(&mut sync::State::new())
            .unwrap()
            .encode(),
    });
    slow.send(WsMessage::Binary(request.encode().into()))
        .await
        .unwrap();
    let started = Instant::now();

    // Thirty others edit the same question meanwhile.
    let mut editors = Vec::new();
    for i in 0..30 {
        let t = api.join(&arena.join_code, &format!("E{i}")).await.unwrap();
        let mut c = connect(&arena.server, &t).await;
        open_question(&mut c, q).await;
        editors.push((c, t.participant_id.unwrap()));
    }
    for round in 0..5 {
        for (i, (c, pid)) in editors.iter_mut().enumerate() {
            add_note(
                c,
                q,
                pid,
                &format!("n_{round}_{i}"),
                &format!("nota {round} {i}"),
            )
            .await;
        }
    }
    let (watcher, _) = &mut editors[0];
    watcher
        .pump_until(WAIT, |v| note_texts(v.doc(q)).len() == 150)
        .await
        .unwrap();
    arena.check("30 editors while one does not read").await;
    let mallory = arena.attacker.participant_id.clone().unwrap();
    watcher
        .pump_until(WAIT, |v| {
            v.presence()
                .is_some_and(|p| !p.participants.contains_key(&mallory))
        })
        .await
        .unwrap();
    eprintln!(
        "the non-reading client was dropped after {:?}",
        started.elapsed()
    );
    assert_dropped_as_silent(&mut slow).await;
    arena.check("a client that stops reading").await;
}

#[tokio::test]
async fn a_script_guessing_join_codes_is_throttled_and_a_foreign_origin_is_refused() {
    let mut arena = Arena::new().await;
    let http = reqwest::Client::new();
    let base = arena.server.base.clone();
    // A page on another site may not create sessions or open sockets.
    let r = http
        .post(format!("{base}/api/sessions"))
        .header("Origin", "https://evil.example")
        .json(&serde_json::json!({"template": "tavolo-prima-sessione"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("origin"), "{body}");
    let r = http
        .get(
            arena
                .server
                .ws_url(&arena.attacker.ticket)
                .replacen("ws", "http", 1),
        )
        .header("Origin", "https://evil.example")
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The server's own pages may (same origin).
    let own = base.clone();
    let r = http
        .post(format!("{base}/api/join"))
        .header("Origin", own)
        .json(
            &serde_json::json!({"join_code": arena.join_code, "name": "Ospite",
            "organization": "", "sector": "community", "tier": "founding_core",
            "attendance": "remote"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // A script guessing join codes in a loop: a room's worth of mistakes
    // passes, then its failures are answered 429 — and a valid join from
    // the same address still passes (a venue is one address).
    let mut statuses = Vec::new();
    for i in 0..200 {
        let r = http
            .post(format!("{base}/api/join"))
            .json(
                &serde_json::json!({"join_code": format!("QQQ{i:03}"), "name": format!("bot {i}"),
                "organization": "", "sector": "community", "tier": "founding_core",
                "attendance": "remote"}),
            )
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            break;
        }
    }
    let wrong = statuses.iter().filter(|s| **s == 404).count();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        wrong >= 40,
        "a room's worth of typos is answered plainly ({wrong})"
    );
    arena
        .server
        .api()
        .join(&arena.join_code, "Ospite puntuale")
        .await
        .expect("a valid join passes while the guessing is throttled");
    arena.check("join flood and foreign origin").await;
}

/// A raw socket that has sent `join` as `peer` (nothing read yet).
pub(crate) async fn raw_join(
    url: &str,
    peer: &PeerId,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let join = Message::Join {
        sender_id: peer.clone(),
        supported_protocol_versions: vec!["1".into()],
        peer_metadata: Default::default(),
    };
    ws.send(WsMessage::Binary(join.encode().into()))
        .await
        .unwrap();
    ws
}

/// A raw socket that joins, asks for `doc`, and never reads again.
async fn silent_peer(
    url: &str,
    doc: DocumentId,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let peer = PeerId(format!("silent-{}", uuid::Uuid::new_v4().simple()));
    let mut ws = raw_join(url, &peer).await;
    let _peer = ws.next().await;
    let mut state = sync::State::new();
    let empty = automerge::Automerge::new();
    let msg = empty.generate_sync_message(&mut state).unwrap();
    let request = Message::Request(DocMessage {
        sender_id: peer,
        target_id: PeerId("server".into()),
        document_id: doc,
        data: msg.encode(),
    });
    ws.send(WsMessage::Binary(request.encode().into()))
        .await
        .unwrap();
    ws
}

/// Issue 12, case 3: sixty ephemeral messages of 1 MB, relayed to twenty
/// peers that do not read. None is relayed (over 4 KiB); the server stays
/// small.
#[tokio::test]
async fn twenty_silent_peers_and_sixty_big_ephemeral_messages_cost_nothing() {
    // The default timeouts: a peer that stops reading is given 10 s.
    let mut arena = Arena::with(&[]).await;
    let api = arena.server.api();
    let mut silent = Vec::new();
    for i in 0..20 {
        let t = api
            .join(&arena.join_code, &format!("Muto {i}"))
            .await
            .unwrap();
        silent.push(silent_peer(&arena.server.ws_url(&t.ticket), t.session_doc).await);
    }
    let mut watcher = arena.watcher().await;
    let mut c = arena.attacker().await;
    let sd = arena.attacker.session_doc;
    for i in 0..60 {
        let big = Message::Ephemeral(tavolo_sync::wire::EphemeralMessage {
            sender_id: c.peer.clone(),
            target_id: PeerId("server".into()),
            count: i + 1,
            session_id: "peso".into(),
            document_id: sd,
            data: vec![0x42; 1_000_000],
        });
        if c.send_message(&big).await.is_err() {
            break;
        }
    }
    // A small one after them: once a reading peer has it, the server has
    // handled every big one before it (one connection is read in order).
    let last = Message::Ephemeral(tavolo_sync::wire::EphemeralMessage {
        sender_id: c.peer.clone(),
        target_id: PeerId("server".into()),
        count: 61,
        session_id: "fine".into(),
        document_id: sd,
        data: vec![1; 10],
    });
    c.send_message(&last).await.unwrap();
    watcher
        .pump_until(Duration::from_secs(30), |v| {
            v.ephemeral.iter().any(|e| e.session_id == "fine")
        })
        .await
        .unwrap();
    arena.check("60 x 1 MB ephemeral to 20 silent peers").await;
    drop(silent);
}

/// Issue 12, case 4: changes whose dependency the server never sees wait
/// in a bounded queue, per sender and per document, and leave with their
/// sender.
#[tokio::test]
async fn changes_waiting_for_missing_dependencies_are_bounded() {
    let mut arena = Arena::new().await;
    let api = arena.server.api();
    let q = arena.attacker_q;
    let mut refused = 0;
    for i in 0..12 {
        let t = api
            .join(&arena.join_code, &format!("Attesa {i}"))
            .await
            .unwrap();
        let mut c = connect(&arena.server, &t).await;
        open_question(&mut c, q).await;
        let mut d = c.doc(q);
        d.set_actor(automerge::ActorId::random());
        // A: never sent. Then changes of 19,000 characters each into A's
        // text, one more than the sender's allowance holds.
        let notes = d.get(ROOT, "notes").unwrap().unwrap().1;
        let text = d
            .put_object(&notes, format!("n_hidden_{i}"), ObjType::Text)
            .unwrap();
        d.commit();
        let mut frames = Vec::new();
        for _ in 0..=tavolo_sync::room::waiting_limits::OPS_PER_PEER / 19_000 {
            d.splice_text(&text, 0, 0, &"w".repeat(19_000)).unwrap();
            d.commit();
            let mut change = d.get_last_local_change().unwrap().clone();
            frames.push(sync_frame(&c, q, vec![change.bytes().to_vec()]));
        }
        for f in frames {
            c.send_raw(f).await.unwrap();
        }
        let got = c
            .pump_until(Duration::from_secs(2), |v| !v.refusals.is_empty())
            .await;
        if got.is_ok() {
            refused += 1;
            let r = &c.refusals()[0];
            assert!(r.message.contains("waiting"), "{r:?}");
        }
        // Left connected: their waiting changes stay until they go.
        std::mem::forget(c);
    }
    assert!(
        refused >= 9,
        "past the allowance, waiting changes are refused ({refused})"
    );
    arena
        .check("waiting changes without their dependencies")
        .await;
}
