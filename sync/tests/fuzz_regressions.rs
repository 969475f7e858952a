//! Inputs the fuzzers (`fuzz/`) found, replayed as ordinary tests with the
//! fuzz targets' properties. Each file in `fuzz_regressions/<target>/` is one
//! input; the checked-in seed corpus `fuzz/corpus/<target>/` (real frames,
//! real sync messages and the hostile inputs of FACTS.md) is replayed too.
//! `fuzz_regressions/guard_open/` holds the changes that get past the guard
//! and make automerge panic; the room's copy refuses them (see
//! fuzz/README.md, "Findings").

use automerge::Automerge;
use automerge::sync::{self, SyncDoc};
use std::path::{Path, PathBuf};
use tavolo_sync::Message;
use tavolo_sync::guard::{Guard, Limits};

fn inputs(dirs: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read a fuzz input");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// The `wire_decode` property: decoding never panics, and a decoded message
/// survives encode → decode unchanged.
fn wire_round_trips(data: &[u8]) {
    if let Ok(message) = Message::decode(data) {
        assert_eq!(Message::decode(&message.encode()), Ok(message));
    }
}

/// The `guard` property: the guard never panics, and what it lets through
/// automerge decodes and receives on a fresh document without panicking.
fn guard_holds(data: &[u8]) {
    let mut guard = Guard::new(Limits::default());
    let Ok(checked) = guard.check_sync(data) else {
        return;
    };
    let Ok(message) = sync::Message::decode(data) else {
        return;
    };
    assert_eq!(message.changes.len(), checked.changes);
    let mut doc = Automerge::new();
    let mut state = sync::State::new();
    if doc.receive_sync_message(&mut state, message).is_ok() {
        let _ = doc.generate_sync_message(&mut state);
        let _ = doc.save();
    }
}

#[test]
fn wire_decode_regressions_and_seeds() {
    let all = inputs(&[
        "tests/fuzz_regressions/wire_decode",
        "../fuzz/corpus/wire_decode",
    ]);
    assert!(!all.is_empty(), "the seed corpus is checked in");
    for (path, data) in all {
        let r = std::panic::catch_unwind(|| wire_round_trips(&data));
        assert!(
            r.is_ok(),
            "{} fails the wire_decode property",
            path.display()
        );
    }
}

#[test]
fn guard_regressions_and_seeds() {
    let all = inputs(&["tests/fuzz_regressions/guard", "../fuzz/corpus/guard"]);
    assert!(!all.is_empty(), "the seed corpus is checked in");
    for (path, data) in all {
        let r = std::panic::catch_unwind(|| guard_holds(&data));
        assert!(r.is_ok(), "{} fails the guard property", path.display());
    }
}

/// A 607-byte message whose change declares a 512 MiB key string: automerge
/// allocates a string's declared length (up to 1 GB) before reading it, so
/// the guard refuses a string longer than its column before
/// `Change::from_bytes` runs (found by the `guard` target with
/// `-malloc_limit_mb=256`).
#[test]
fn a_string_longer_than_its_column_is_refused_before_automerge_allocates_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(root.join("tests/fuzz_regressions/guard/string_length_512mib_alloc"))
        .expect("the regression input");
    assert_eq!(
        Guard::new(Limits::default()).check_sync(&data),
        Err(tavolo_sync::guard::GuardError::Malformed("truncated"))
    );
}

/// Crashes of the `guard` fuzz target past the guard, one file each in
/// `fuzz_regressions/guard_open/`. Each is a real sync message whose changes
/// were mutated by one byte, with their checksums recomputed (as an attacker
/// would). The guard lets every one through; automerge 0.12 then panics,
/// because it trusts a checksummed change to be consistent with the document:
/// - `unknown_actor_seq3`: a change by an actor the document never saw, with
///   `seq` 3. `receive_sync_message` registers only the actors of `seq == 1`
///   changes, then unwraps every actor lookup (`op_set2/change/batch.rs:1121`).
/// - `missing_object`: an operation on an object the document does not have
///   (`batch.rs:920`, `panic!("Obj … Missing from Index")`).
/// - `unbuildable_after_receive`: received without error, after which
///   `generate_sync_message` panics (`op_set2/change/collector.rs:753`,
///   unwrapping a failed bundle build): the document is poisoned.
/// - `seq_not_next`: a change whose `seq` is not the next of its actor in the
///   document (`change_graph.rs:569`, an `assert_eq!`).
/// - `list_insert_unplaced`, `list_insert_entry_left`: list insertions that
///   refer to elements the list does not have (`batch.rs:146`, an unwrap;
///   `batch.rs:136`, an `assert!`).
/// - `sort_not_total_order`: operations whose ids make automerge's ordering
///   of them inconsistent (`order_ops_for_doc`; the standard library's sort
///   panics, "does not correctly implement a total order").
/// - `op_order_after_receive`: received, after which the document's
///   operations are out of order (`batch.rs:949`, a `debug_assert!`: a panic
///   in debug builds, silent corruption in release).
///
/// The guard cannot catch these from the bytes alone: it needs the
/// document (its actors, their last `seq`, its objects), or automerge needs
/// fixing. The room stops them where the server meets them (next test).
///
/// Where the server meets them, a [`tavolo_sync::Room`]
/// receives each into a copy of its document, so when automerge panics the
/// room refuses the batch as malformed and its document is unharmed — it
/// still syncs a fresh peer afterwards.
#[test]
fn the_room_refuses_what_panics_automerge_and_its_document_stays_usable() {
    use tavolo_model::policy::{DocKind, PolicyContext, Role};
    use tavolo_sync::{DocumentId, PeerId, Room, SyncKind};
    let all = inputs(&["tests/fuzz_regressions/guard_open"]);
    assert!(!all.is_empty());
    let ctx = PolicyContext {
        kind: DocKind::Question {
            phase_id: "p".into(),
            categories: Vec::new(),
        },
        phase_locked: false,
        vote_budget: 3,
    };
    for (path, data) in all {
        let mut doc = automerge::AutoCommit::new();
        tavolo_model::ops::init_question_doc(&mut doc).unwrap();
        doc.commit();
        let id = DocumentId::from_bytes([7; 16]);
        let mut room = Room::new(id, PeerId("server".into()), doc.document().clone());
        let peer = PeerId("fuzzed".into());
        room.add_peer(peer.clone(), Role::Facilitator);
        let heads_before = room.doc().get_heads();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            room.receive(&peer, SyncKind::Sync, &data, &ctx)
        }));
        let Ok(result) = outcome else {
            panic!("{}: the room panicked", path.display());
        };
        // Refused, ignored, or an error: never a panic. The document is
        // whatever it was unless the changes applied cleanly.
        eprintln!("{}: {result:?}", path.display());
        if path.ends_with("op_order_after_receive") {
            // Refused by the room's own shape check, in release builds too
            // (where automerge's `debug_assert!` is silent).
            match &result {
                Ok(tavolo_sync::Received::Refused(r)) => {
                    assert!(r.detail.contains("not a list"), "{r:?}")
                }
                other => panic!("op_order_after_receive: {other:?}"),
            }
        }
        if !matches!(result, Ok(tavolo_sync::Received::Accepted(_))) {
            assert_eq!(room.doc().get_heads(), heads_before, "{}", path.display());
        }
        let fresh = PeerId("fresh".into());
        room.add_peer(fresh.clone(), Role::Facilitator);
        let usable = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut state = sync::State::new();
            let first = room.doc().generate_sync_message(&mut state);
            // A fresh peer that has nothing: the second message carries
            // every change, which is where a poisoned document panics.
            let mut peer_doc = Automerge::new();
            let mut peer_state = sync::State::new();
            if let Some(m) = first {
                peer_doc.receive_sync_message(&mut peer_state, m).unwrap();
            }
            if let Some(reply) = peer_doc.generate_sync_message(&mut peer_state) {
                room.doc()
                    .clone()
                    .receive_sync_message(&mut state, reply)
                    .unwrap();
            }
            let second = room.doc().generate_sync_message(&mut state);
            (room.doc().save(), second.is_some())
        }));
        assert!(
            usable.is_ok(),
            "{}: the document is poisoned",
            path.display()
        );
    }
}
