//! Helpers shared by the fuzz targets.
//!
//! automerge's `load_incremental` (and so `receive_sync_message`) refuses a
//! chunk whose checksum is wrong, so a byte-level fuzzer that mutates a change
//! would never get past that check into automerge. An attacker computes the
//! checksum; [`fix_checksums`] does the same for the fuzzer, so the guard
//! target explores what automerge does with mutated but well-checksummed
//! changes.

use sha2::{Digest, Sha256};
use std::io::Read;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// How far [`fix_checksums`] inflates a compressed chunk to checksum it.
const INFLATE_LIMIT: u64 = 4 << 20;

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn uleb(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len())?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Some(s)
    }

    fn hashes(&mut self) -> Option<()> {
        let n = self.uleb()?;
        self.take(n.checked_mul(32)?)?;
        Some(())
    }
}

fn uleb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The checksum automerge expects for a chunk of `kind` with this body.
pub fn checksum(kind: u8, body: &[u8]) -> [u8; 4] {
    let mut header = vec![kind];
    uleb(body.len() as u64, &mut header);
    let mut h = Sha256::new();
    h.update(&header);
    h.update(body);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Rewrites, in place, the checksum of one chunk (`MAGIC`, checksum, type,
/// length, body) so automerge accepts it. Compressed chunks carry the
/// checksum of the change they inflate to.
pub fn fix_chunk(chunk: &mut [u8]) {
    if chunk.len() < 10 || chunk[..4] != MAGIC {
        return;
    }
    let kind = chunk[8];
    let mut c = Cursor {
        data: chunk,
        pos: 9,
    };
    let Some(len) = c.uleb() else { return };
    let Some(body) = c.take(len) else { return };
    let sum = if kind == 2 {
        let mut inflated = Vec::new();
        if flate2::read::DeflateDecoder::new(body)
            .take(INFLATE_LIMIT)
            .read_to_end(&mut inflated)
            .is_err()
        {
            return;
        }
        checksum(1, &inflated)
    } else {
        checksum(kind, body)
    };
    chunk[4..8].copy_from_slice(&sum);
}

/// `data` with the checksum of every chunk in its change list made valid,
/// if it frames like a sync message; `None` if it does not or nothing changed.
pub fn fix_checksums(data: &[u8]) -> Option<Vec<u8>> {
    let mut c = Cursor { data, pos: 0 };
    c.byte()?;
    c.hashes()?;
    c.hashes()?;
    let have = c.uleb()?;
    for _ in 0..have.min(data.len() as u64) {
        c.hashes()?;
        let bloom = c.uleb()?;
        c.take(bloom)?;
    }
    let n = c.uleb()?;
    let mut ranges = Vec::new();
    for _ in 0..n.min(data.len() as u64) {
        let len = c.uleb()?;
        let start = c.pos;
        c.take(len)?;
        ranges.push(start..c.pos);
    }
    let mut out = data.to_vec();
    for r in ranges {
        fix_chunk(&mut out[r]);
    }
    (out != data).then_some(out)
}

/// Whether the targets should run into known findings instead of skipping
/// them: set `TAVOLO_FUZZ_KNOWN=1` to reproduce them.
pub fn reveal_known() -> bool {
    static REVEAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REVEAL.get_or_init(|| std::env::var_os("TAVOLO_FUZZ_KNOWN").is_some_and(|v| v == "1"))
}

/// Known automerge 0.12 panics on changes whose checksums are valid but
/// whose contents are not consistent with the document (fuzz/README.md,
/// "Findings"; `sync/tests/fuzz_regressions.rs` keeps them as ignored tests):
/// - `batch.rs:1121`: a change names an actor the document does not know and
///   no `seq == 1` change of that actor comes in the same batch (automerge
///   registers only those, then unwraps every lookup);
/// - `batch.rs:920`: an operation targets an object the document does not
///   have (`panic!("Obj … Missing from Index")`);
/// - `batch.rs:136` and `batch.rs:146`: list insertions that refer to
///   elements the list does not have (an `assert!`, an unwrap);
/// - `smallsort.rs` in the standard library: `order_ops_for_doc` sorts with
///   a comparison that is no total order on such operations;
/// - `change_graph.rs:569`: a change whose `seq` is not the next one of its
///   actor in the document (`assert_eq!`);
/// - `batch.rs:949` (a `debug_assert!`, so only where debug assertions are
///   on: tests, fuzz builds): after applying a mutated change the document's
///   operations are out of order;
/// - `collector.rs:753`: a mutated change that `receive_sync_message`
///   accepted leaves the document unable to build the next sync message
///   (`generate_sync_message` unwraps a failed bundle build).
///
/// The guard cannot see either without the document. The targets skip
/// inputs that end in one of these (unless `TAVOLO_FUZZ_KNOWN=1`), so a run
/// goes on to find other problems instead of stopping at the first.
const KNOWN_PANICS: &[&str] = &[
    "automerge-0.12.0/src/op_set2/change/batch.rs:1121:",
    "automerge-0.12.0/src/op_set2/change/batch.rs:920:",
    "automerge-0.12.0/src/op_set2/change/batch.rs:949:",
    "automerge-0.12.0/src/op_set2/change/batch.rs:136:",
    "automerge-0.12.0/src/op_set2/change/batch.rs:146:",
    "library/core/src/slice/sort/shared/smallsort.rs:",
    "automerge-0.12.0/src/change_graph.rs:569:",
    "automerge-0.12.0/src/op_set2/change/collector.rs:753:",
];

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn is_known(location: &str) -> bool {
    KNOWN_PANICS
        .iter()
        .any(|k| location.ends_with(k) || location.contains(k))
}

/// Call first in every target that runs the guard. libfuzzer-sys installs a
/// panic hook that aborts at once, even inside `catch_unwind`; the guard
/// catches panics of automerge's change parser on purpose (a malformed change
/// is refused, not a crash), and the targets catch the known panics above.
/// This hook records where a panic happened and prints it (with the
/// backtrace, as the default hook does) unless it is a known one; a panic
/// that escapes the target still aborts the process (libfuzzer-sys aborts
/// when its own `catch_unwind` sees one) and counts as a crash.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::panic::take_hook();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}:", l.file(), l.line()))
                .unwrap_or_default();
            let known = is_known(&at);
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(at));
            if !known || reveal_known() {
                default(info);
            }
        }));
    });
}

/// Runs `f`; a known automerge panic inside it (see [`KNOWN_PANICS`]) gives
/// `None` unless `TAVOLO_FUZZ_KNOWN=1`; any other panic goes on unwinding.
pub fn unless_known_panic<T>(f: impl FnOnce() -> T) -> Option<T> {
    LAST_PANIC.with(|p| *p.borrow_mut() = None);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(payload) => {
            let known = LAST_PANIC.with(|p| p.borrow().as_deref().is_some_and(is_known));
            if known && !reveal_known() {
                None
            } else {
                std::panic::resume_unwind(payload)
            }
        }
    }
}
