//! `fanout`: the room's own cost of one note reaching N peers, with no
//! network: a board the size of a real one, N thin peers in sync, and for
//! each new note the server's whole round — receive it, generate what every
//! peer is sent, and take every peer's acknowledgement. This is the CPU a
//! document actor spends per note; the socket-level benchmark
//! (`bench fleet`) adds the network and the clients.

use anyhow::{Context, Result};
use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, Automerge};
use std::time::Instant;
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_model::policy::Role;
use tavolo_sync::{DocumentId, Message, PeerId, Room, SyncKind};

/// Groups on a bench board.
pub const BOARD_CLUSTERS: usize = 40;

/// Changes [`board_step`] makes for a board of `notes` notes moved `edits` times.
pub fn board_changes(notes: usize, edits: usize) -> usize {
    BOARD_CLUSTERS + notes + notes * edits
}

/// The `step`th edit of a bench board (one change's worth, not committed):
/// first the groups, then the notes (forty people, one note each in turn),
/// then every note moved to another group, `edits` times over.
pub fn board_step(doc: &mut AutoCommit, step: usize, notes: usize) -> Result<(), ops::OpError> {
    if step < BOARD_CLUSTERS {
        return ops::create_cluster(doc, &format!("c_{step}"), &format!("Gruppo {step}"));
    }
    let n = step - BOARD_CLUSTERS;
    if n < notes {
        let note = NewNote {
            text: format!("Nota numero {n}, con un testo di lunghezza realistica"),
            category: None,
            anonymous: false,
            created_at: n as i64,
        };
        let person = ParticipantId(format!("p_{}", n % 40));
        return ops::add_note(doc, &format!("n_{n}"), &person, &note);
    }
    let e = (n - notes) / notes.max(1);
    let n = (n - notes) % notes.max(1);
    let c = (n + e) % BOARD_CLUSTERS;
    ops::set_note_cluster(doc, &format!("n_{n}"), Some(&format!("c_{c}")))
}

/// A board like a real one after a long session: `notes` notes, each
/// written once and then touched `edits` times (moved between groups).
pub fn real_board(notes: usize, edits: usize) -> Result<Automerge> {
    let mut doc = AutoCommit::new();
    ops::init_question_doc(&mut doc)?;
    doc.commit();
    for step in 0..board_changes(notes, edits) {
        board_step(&mut doc, step, notes)?;
        doc.commit();
    }
    Ok(doc.document().clone())
}

/// What a thin peer answers a sync message with: "I now have your heads".
pub fn thin_ack(heads: Vec<automerge::ChangeHash>) -> Vec<u8> {
    up_to(heads, Vec::new())
}

/// A sync message saying "I have everything up to `heads`", carrying
/// `changes` (a relay's broadcast; none for an acknowledgement).
pub fn up_to(heads: Vec<automerge::ChangeHash>, changes: Vec<Vec<u8>>) -> Vec<u8> {
    sync::Message {
        heads: heads.clone(),
        need: Vec::new(),
        have: vec![sync::Have {
            last_sync: heads,
            bloom: sync::BloomFilter::default(),
        }],
        changes: changes.into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
    .encode()
}

fn sync_payload(m: &Message) -> Option<&[u8]> {
    match m {
        Message::Sync(d) | Message::Request(d) => Some(&d.data),
        _ => None,
    }
}

pub fn run(peers: usize, notes: usize, edits: usize, rounds: usize) -> Result<()> {
    let t = Instant::now();
    let board = real_board(notes, edits)?;
    let changes = board.get_changes(&[]).len();
    eprintln!(
        "board: {notes} notes, {changes} changes, built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let id = DocumentId::random();
    let mut room = Room::new(id, PeerId("server".into()), board.clone());
    let t = Instant::now();
    room.warm(true);
    let warm_ms = t.elapsed().as_secs_f64() * 1e3;
    let ctx = crate::question_ctx();
    // The writer is a full client (the facilitator: no quota in the way).
    let writer = PeerId("writer".into());
    room.add_peer(writer.clone(), Role::Facilitator);
    let mut writer_doc = AutoCommit::load(&board.save())?;
    let mut writer_state = sync::State::new();
    // Everyone else is thin, and starts in sync: a request, the board, an ack.
    let readers: Vec<PeerId> = (0..peers).map(|i| PeerId(format!("r_{i}"))).collect();
    let empty = Automerge::new();
    let t = Instant::now();
    for (i, r) in readers.iter().enumerate() {
        room.add_peer(
            r.clone(),
            Role::Participant(ParticipantId(format!("p_{i}"))),
        );
        let request = empty
            .generate_sync_message(&mut sync::State::new())
            .context("a first message")?
            .encode();
        room.receive(r, SyncKind::Request, &request, &ctx)?;
        for m in room.outgoing(r) {
            if let Some(data) = sync_payload(&m) {
                let msg = sync::Message::decode(data)?;
                room.receive(r, SyncKind::Sync, &thin_ack(msg.heads), &ctx)?;
            }
        }
        let _ = room.outgoing(r);
    }
    let join_ms = t.elapsed().as_secs_f64() * 1e3;
    // The writer syncs too.
    loop {
        let Some(m) = writer_doc.sync().generate_sync_message(&mut writer_state) else {
            break;
        };
        room.receive(&writer, SyncKind::Sync, &m.encode(), &ctx)?;
        let out = room.outgoing(&writer);
        if out.is_empty() {
            break;
        }
        for m in out {
            if let Some(data) = sync_payload(&m) {
                writer_doc
                    .sync()
                    .receive_sync_message(&mut writer_state, sync::Message::decode(data)?)?;
            }
        }
    }
    // p99 is taken over the notes after the first.
    let mut per_round = Vec::with_capacity(rounds);
    let mut send_phase = Vec::with_capacity(rounds);
    let mut judge_phase = Vec::with_capacity(rounds);
    let mut generated = 0usize;
    let mut bytes = 0usize;
    for r in 0..rounds {
        let note = NewNote {
            text: format!("Nuova nota {r}"),
            category: None,
            anonymous: false,
            created_at: 0,
        };
        ops::add_note(
            &mut writer_doc,
            &format!("new_{r}"),
            &ParticipantId("p_0".into()),
            &note,
        )?;
        writer_doc.commit();
        let msg = writer_doc
            .sync()
            .generate_sync_message(&mut writer_state)
            .context("the note goes out")?
            .encode();
        let t0 = Instant::now();
        room.receive(&writer, SyncKind::Sync, &msg, &ctx)?;
        let _ = room.take_unsaved();
        room.saved();
        let judged_us = t0.elapsed().as_micros() as u64;
        judge_phase.push(judged_us);
        let mut acks = Vec::with_capacity(peers);
        let dirty = room.dirty_peers();
        for (p, out) in room.outgoing_many(&dirty) {
            for m in out {
                if let Some(data) = sync_payload(&m) {
                    generated += 1;
                    bytes += data.len();
                    if p != writer {
                        // The thin peer's side (not the server's cost) is
                        // done outside the timed part below.
                        acks.push((p.clone(), data.to_vec()));
                    } else {
                        writer_doc.sync().receive_sync_message(
                            &mut writer_state,
                            sync::Message::decode(data)?,
                        )?;
                    }
                }
            }
        }
        let send_us = t0.elapsed().as_micros() as u64;
        send_phase.push(send_us);
        let mut server_us = send_us;
        let answers: Vec<(PeerId, Vec<u8>)> = acks
            .into_iter()
            .map(|(p, data)| {
                let heads = sync::Message::decode(&data)
                    .map(|m| m.heads)
                    .unwrap_or_default();
                (p, thin_ack(heads))
            })
            .collect();
        let t1 = Instant::now();
        for (p, ack) in &answers {
            room.receive(p, SyncKind::Sync, ack, &ctx)?;
        }
        let dirty = room.dirty_peers();
        for (_, out) in room.outgoing_many(&dirty) {
            for m in out {
                if sync_payload(&m).is_some() {
                    generated += 1;
                }
            }
        }
        server_us += t1.elapsed().as_micros() as u64;
        per_round.push(server_us);
    }
    let first_us = if per_round.len() > 1 {
        per_round.remove(0)
    } else {
        0
    };
    per_round.sort_unstable();
    send_phase.sort_unstable();
    let send_p50 = send_phase[send_phase.len() / 2];
    judge_phase.sort_unstable();
    let judge_p50 = judge_phase[judge_phase.len() / 2];
    let p = |q: f64| per_round[((per_round.len() as f64 * q) as usize).min(per_round.len() - 1)];
    let deliveries = rounds * peers;
    println!(
        "fanout: {peers} peers, board of {notes} notes / {changes} changes: \
         per note p50 {:.2} ms, p99 {:.2} ms ({:.1} µs per delivery); \
         {:.2} sync messages sent per delivery, {:.0} bytes per delivery; joining all took {join_ms:.0} ms; sending p50 {:.2} ms of which judging the note {:.2} ms; the first note {:.1} ms, after reading the board's history on load ({warm_ms:.0} ms)",
        p(0.5) as f64 / 1e3,
        p(0.99) as f64 / 1e3,
        p(0.5) as f64 / peers as f64,
        generated as f64 / deliveries as f64,
        bytes as f64 / deliveries as f64,
        send_p50 as f64 / 1e3,
        judge_p50 as f64 / 1e3,
        first_us as f64 / 1e3,
    );
    Ok(())
}
