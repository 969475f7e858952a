//! Writes the seed corpora of the fuzz targets (`fuzz/corpus/<target>/`):
//! real protocol frames from the codec, real automerge sync messages, and
//! the hostile-but-valid inputs of `shared/FACTS.md`, each kept small.
//!
//! Run from `fuzz/`: `cargo run --release --example make_seeds`. The output
//! overwrites the same file names; actors are fixed, timestamps are not, so
//! change hashes differ from run to run.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ObjType, ROOT};
use std::path::{Path, PathBuf};
use tavolo_sync::wire::{DocMessage, EphemeralMessage, PeerMetadata, RefusedMessage};
use tavolo_sync::{DocumentId, Message, PeerId};

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    assert!(
        bytes.len() <= 64 * 1024,
        "seed {name} is {} bytes: keep seeds small",
        bytes.len()
    );
    std::fs::write(dir.join(name), bytes).expect("write seed");
    eprintln!("{:>7} {}", bytes.len(), dir.join(name).display());
}

fn actor(n: u8) -> ActorId {
    ActorId::from([n; 16].as_slice())
}

/// Every message `from` sends `to` until both are quiet, as encoded bytes.
fn exchange(from: &mut Automerge, to: &mut Automerge) -> Vec<Vec<u8>> {
    let (mut s1, mut s2) = (sync::State::new(), sync::State::new());
    let mut sent = Vec::new();
    for _ in 0..20 {
        let a = from.generate_sync_message(&mut s1);
        let b = to.generate_sync_message(&mut s2);
        if a.is_none() && b.is_none() {
            break;
        }
        if let Some(m) = a {
            sent.push(m.clone().encode());
            to.receive_sync_message(&mut s2, m).expect("receive");
        }
        if let Some(m) = b {
            from.receive_sync_message(&mut s1, m).expect("receive");
        }
    }
    sent
}

/// A sync message with these chunks, heads and need empty.
fn with_chunks(chunks: Vec<Vec<u8>>, version: sync::MessageVersion) -> Vec<u8> {
    sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: vec![sync::Have::default()],
        changes: chunks.into(),
        flags: None,
        version,
    }
    .encode()
}

/// One change, its raw (uncompressed) bytes and its stored bytes
/// (compressed when automerge compresses it, above 256 bytes).
fn last_change(doc: &mut AutoCommit) -> (Vec<u8>, Vec<u8>) {
    let mut c = doc.get_last_local_change().expect("a change").clone();
    (c.raw_bytes().to_vec(), c.bytes().into_owned())
}

/// A small board: a few notes in maps, a text, a list and a counter.
fn board(n_notes: usize) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(actor(1));
    let notes = doc.put_object(ROOT, "notes", ObjType::Map).unwrap();
    doc.put_object(ROOT, "votes", ObjType::Map).unwrap();
    doc.put(ROOT, "title", "Retro").unwrap();
    doc.commit();
    for i in 0..n_notes {
        let note = doc
            .put_object(&notes, format!("note-{i}"), ObjType::Map)
            .unwrap();
        let text = doc.put_object(&note, "text", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, "more coffee please").unwrap();
        doc.put(&note, "author", "p1").unwrap();
        let tags = doc.put_object(&note, "tags", ObjType::List).unwrap();
        doc.insert(&tags, 0, "idea").unwrap();
        doc.put(&note, "dots", automerge::ScalarValue::counter(0))
            .unwrap();
        doc.commit();
    }
    doc
}

fn guard_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = Vec::new();

    // A fresh state's first message: heads and a bloom filter, no changes.
    let empty = Automerge::new();
    seeds.push((
        "first_message_empty_doc",
        empty
            .generate_sync_message(&mut sync::State::new())
            .unwrap()
            .encode(),
    ));

    // Every message a peer with a small board sends to an empty server.
    let mut b = board(3);
    let mut from = b.document().clone();
    let mut to = Automerge::new();
    let mut sent = exchange(&mut from, &mut to);
    sent.dedup();
    for (i, m) in sent.into_iter().enumerate() {
        let name: &'static str = [
            "board_sync_0",
            "board_sync_1",
            "board_sync_2",
            "board_sync_3",
        ]
        .get(i)
        .copied()
        .unwrap_or("board_sync_n");
        seeds.push((name, m));
    }

    // The same changes, one by one, raw and as stored (compressed when > 256 B).
    let changes: Vec<Vec<u8>> = b
        .document()
        .get_changes(&[])
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    seeds.push((
        "board_changes_v1",
        with_chunks(changes, sync::MessageVersion::V1),
    ));

    // A compressed change chunk (chunk type 2): a change over 256 bytes.
    let mut big = AutoCommit::new().with_actor(actor(2));
    let text = big.put_object(ROOT, "text", ObjType::Text).unwrap();
    big.splice_text(
        &text,
        0,
        0,
        &"a long note about the coffee machine, ".repeat(20),
    )
    .unwrap();
    big.commit();
    let (raw, stored) = last_change(&mut big);
    assert_ne!(raw, stored, "a change over 256 bytes is stored compressed");
    assert_eq!(stored[8], 2, "chunk type 2: compressed change");
    seeds.push((
        "compressed_change",
        with_chunks(vec![stored], sync::MessageVersion::V1),
    ));

    // Document chunks (type 0), in V1 and V2
    // messages, and a bundle chunk (type 3): a participant sends none of these.
    seeds.push((
        "document_chunk_v1",
        with_chunks(vec![b.save()], sync::MessageVersion::V1),
    ));
    seeds.push((
        "document_chunk_v2",
        with_chunks(vec![b.save()], sync::MessageVersion::V2),
    ));
    let heads = b.get_heads();
    let bundle = b.document().bundle(heads).expect("bundle");
    seeds.push((
        "bundle_chunk",
        with_chunks(vec![bundle.bytes().to_vec()], sync::MessageVersion::V1),
    ));

    // Many ops in one change: 100k characters inserted (stored compressed,
    // small), then all deleted by one tiny change (FACTS: 131 bytes deleting
    // 1M characters burns seconds of CPU).
    let mut many = AutoCommit::new().with_actor(actor(3));
    let text = many.put_object(ROOT, "text", ObjType::Text).unwrap();
    many.commit();
    let (_, create) = last_change(&mut many);
    many.splice_text(&text, 0, 0, &"a".repeat(100_000)).unwrap();
    many.commit();
    let (_, insert) = last_change(&mut many);
    many.splice_text(&text, 0, 100_000, "").unwrap();
    many.commit();
    let (_, delete) = last_change(&mut many);
    seeds.push((
        "many_ops_insert_100k",
        with_chunks(
            vec![create.clone(), insert.clone()],
            sync::MessageVersion::V1,
        ),
    ));
    seeds.push((
        "many_ops_delete_100k_alone",
        with_chunks(vec![delete.clone()], sync::MessageVersion::V1),
    ));
    seeds.push((
        "many_ops_insert_then_delete",
        with_chunks(vec![create, insert, delete], sync::MessageVersion::V1),
    ));

    // Maps nested 2,000 deep in one change (FACTS: 1,500 overflow the stack
    // of recursive readers).
    let mut deep = AutoCommit::new().with_actor(actor(4));
    let mut obj = ROOT;
    for _ in 0..2_000 {
        obj = deep.put_object(&obj, "m", ObjType::Map).unwrap();
    }
    deep.commit();
    let (_, nested) = last_change(&mut deep);
    seeds.push((
        "nested_maps_2000",
        with_chunks(vec![nested], sync::MessageVersion::V1),
    ));

    // A compression bomb: one valid change putting a 4 MiB string, stored
    // compressed (about 4 KiB). Inflating it is the attack; the guard must
    // inflate through a bounded reader.
    let mut bomb = AutoCommit::new().with_actor(actor(5));
    bomb.put(ROOT, "x", "a".repeat(4 << 20)).unwrap();
    bomb.commit();
    let (_, stored) = last_change(&mut bomb);
    assert_eq!(stored[8], 2, "the bomb is a compressed chunk");
    seeds.push((
        "compression_bomb_4mib",
        with_chunks(vec![stored], sync::MessageVersion::V1),
    ));

    // Many new actor ids: 64 one-op changes, each from its own actor.
    let mut actors = Vec::new();
    for n in 0..64u8 {
        let mut d = AutoCommit::new().with_actor(actor(100 + n));
        d.put(ROOT, format!("k{n}"), n as i64).unwrap();
        d.commit();
        actors.push(last_change(&mut d).1);
    }
    seeds.push((
        "new_actors_64",
        with_chunks(actors, sync::MessageVersion::V1),
    ));

    seeds
}

fn peer(s: &str) -> PeerId {
    PeerId(s.to_string())
}

fn wire_seeds(sync_payload: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let doc = DocumentId::from_bytes([7; 16]);
    let mut seeds = vec![
        (
            "join",
            Message::Join {
                sender_id: peer("peer-a"),
                peer_metadata: PeerMetadata {
                    storage_id: Some("storage-1".into()),
                    is_ephemeral: false,
                    tavolo_extensions: false,
                },
                supported_protocol_versions: vec!["1".into()],
            }
            .encode(),
        ),
        (
            "peer",
            Message::Peer {
                sender_id: peer("server"),
                target_id: peer("peer-a"),
                peer_metadata: PeerMetadata::default(),
                selected_protocol_version: "1".into(),
            }
            .encode(),
        ),
        (
            "leave",
            Message::Leave {
                sender_id: peer("peer-a"),
            }
            .encode(),
        ),
        (
            "error",
            Message::Error {
                message: "unsupported protocol version".into(),
            }
            .encode(),
        ),
        (
            "request",
            Message::Request(DocMessage {
                sender_id: peer("peer-a"),
                target_id: peer("server"),
                document_id: doc,
                data: sync_payload.to_vec(),
            })
            .encode(),
        ),
        (
            "sync",
            Message::Sync(DocMessage {
                sender_id: peer("peer-a"),
                target_id: peer("server"),
                document_id: doc,
                data: sync_payload.to_vec(),
            })
            .encode(),
        ),
        (
            "doc_unavailable",
            Message::DocUnavailable {
                sender_id: peer("server"),
                target_id: peer("peer-a"),
                document_id: doc,
            }
            .encode(),
        ),
        (
            "ephemeral",
            Message::Ephemeral(EphemeralMessage {
                sender_id: peer("peer-a"),
                target_id: peer("server"),
                count: 3,
                session_id: "session-1".into(),
                document_id: doc,
                data: vec![0xa1, 0x61, b'x', 0x01],
            })
            .encode(),
        ),
        (
            "tavolo_refused",
            Message::Refused(RefusedMessage {
                sender_id: peer("server"),
                target_id: peer("peer-a"),
                document_id: doc,
                code: "not_yours".into(),
                message: "the note belongs to someone else".into(),
            })
            .encode(),
        ),
        (
            "unknown_type",
            Message::Unknown {
                type_name: "remote-heads-changed".into(),
            }
            .encode(),
        ),
    ];

    // What the stock JavaScript client (cbor-x) writes: non-minimal lengths,
    // `undefined` storage id, the README's `metadata` spelling.
    let mut js = vec![0xb9, 0x00, 0x04];
    for (k, v) in [("type", "join"), ("senderId", "peer-xyz")] {
        js.push(0x60 + k.len() as u8);
        js.extend(k.as_bytes());
        js.push(0x60 + v.len() as u8);
        js.extend(v.as_bytes());
    }
    js.push(0x68);
    js.extend(b"metadata");
    js.extend([0xb9, 0x00, 0x02, 0x69]);
    js.extend(b"storageId");
    js.push(0xf7);
    js.push(0x6b);
    js.extend(b"isEphemeral");
    js.push(0xf5);
    js.push(0x78);
    js.push(25);
    js.extend(b"supportedProtocolVersions");
    js.extend([0x81, 0x61, b'1']);
    seeds.push(("join_cbor_x_style", js));

    // samod: the document id as 16 bytes; indefinite-length strings, bytes,
    // map and array; a float count above 2^32.
    let mut buf = Vec::new();
    {
        let mut e = minicbor::Encoder::new(&mut buf);
        e.begin_map().unwrap();
        e.str("type").unwrap();
        e.begin_str()
            .unwrap()
            .str("ephe")
            .unwrap()
            .str("meral")
            .unwrap()
            .end()
            .unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("count").unwrap().f64(8_589_934_592.0).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap();
        e.str("documentId").unwrap().bytes(doc.as_bytes()).unwrap();
        e.str("data").unwrap();
        e.begin_bytes()
            .unwrap()
            .bytes(&[1, 2])
            .unwrap()
            .bytes(&[3])
            .unwrap()
            .end()
            .unwrap();
        e.u8(7).unwrap().array(1).unwrap().u8(1).unwrap(); // a non-text key
        e.str("extra")
            .unwrap()
            .begin_array()
            .unwrap()
            .null()
            .unwrap()
            .end()
            .unwrap();
        e.end().unwrap();
    }
    seeds.push(("ephemeral_indefinite_samod", buf));

    seeds
}

fn main() {
    let guard = corpus("guard");
    let seeds = guard_seeds();
    for (name, bytes) in &seeds {
        write(&guard, name, bytes);
    }
    let wire = corpus("wire_decode");
    let payload = &seeds
        .iter()
        .find(|(n, _)| *n == "board_sync_1")
        .expect("a sync message with changes")
        .1;
    for (name, bytes) in wire_seeds(payload) {
        write(&wire, name, &bytes);
    }
    // A sync frame with the empty doc's first message, as a client opens with.
    let first = &seeds[0].1;
    let frame = Message::Request(DocMessage {
        sender_id: peer("peer-b"),
        target_id: peer("server"),
        document_id: DocumentId::from_bytes([9; 16]),
        data: first.clone(),
    })
    .encode();
    write(&wire, "request_first_message", &frame);
}
