//! The guard on arbitrary bytes (the payload of a `sync`/`request` message).
//!
//! - `check_sync` never panics, never allocates without bound and never takes
//!   long (run with `-rss_limit_mb=512 -malloc_limit_mb=256 -timeout=5`);
//! - whenever it says Ok, automerge decodes and receives the message within
//!   the same limits, on a fresh document and sync state — the guard's
//!   promise — and the guard saw the same change list automerge did;
//! - each input is checked as it is, and again with its chunks' checksums
//!   made valid (as an attacker would), so mutated changes reach automerge.
#![no_main]

use automerge::Automerge;
use automerge::sync::{self, SyncDoc};
use libfuzzer_sys::fuzz_target;
use tavolo_sync::guard::{Guard, Limits};

fn check(data: &[u8]) {
    let mut guard = Guard::new(Limits::default());
    let Ok(checked) = guard.check_sync(data) else {
        return;
    };
    // What the server does next with a message the guard let through.
    let Ok(message) = sync::Message::decode(data) else {
        return;
    };
    assert_eq!(
        message.changes.len(),
        checked.changes,
        "the guard and automerge read different change lists"
    );
    // Known automerge panics the guard cannot see yet are skipped (see
    // `tavolo_fuzz::unless_known_panic`); sync/tests/fuzz_regressions.rs
    // keeps them as ignored tests.
    tavolo_fuzz::unless_known_panic(|| {
        let mut doc = Automerge::new();
        let mut state = sync::State::new();
        if doc.receive_sync_message(&mut state, message).is_ok() {
            let _ = doc.generate_sync_message(&mut state);
            let _ = doc.save();
        }
    });
}

fuzz_target!(|data: &[u8]| {
    tavolo_fuzz::init();
    check(data);
    if let Some(fixed) = tavolo_fuzz::fix_checksums(data) {
        check(&fixed);
    }
});
