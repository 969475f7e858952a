//! The guard: inspects every incoming sync message before `automerge` sees it.
//!
//! Frame-size limits stop none of the hostile-but-valid inputs measured
//! against the automerge crate (`../shared/FACTS.md`): a 510 KiB compressed
//! change that inflates to 512 MiB, a 149-byte change that deletes a million
//! characters (its run-length-encoded columns hold a million operations;
//! merely decoding it costs 0.4 s, applying it seconds), objects nested
//! thousands deep. So the guard reads the binary formats itself, cheaply:
//!
//! - the sync message's framing (heads, need, have, the change list), with
//!   caps on every count and on the message's size;
//! - each chunk's header: document and bundle chunks are refused outright
//!   (peers send individual changes; see ARCHITECTURE.md), compressed change
//!   chunks are inflated through a bounded reader;
//! - each change's operation count, by summing the run lengths of its action
//!   column — O(bytes), never O(operations) — before `Change::from_bytes`;
//! - only then the change itself (now bounded): its actors, counted per
//!   connection, and how deep the objects it creates nest.
//!
//! A [`Guard`] lives as long as one connection. It never mutates a document;
//! a message it refuses is dropped whole and the connection is closed with
//! the [`GuardError`]'s code and reason.

use automerge::legacy::{ObjectId, OpType};
use automerge::{ActorId, Change, ObjType};
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// What the guard lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A sync message's size on the wire.
    pub max_message_bytes: usize,
    /// Changes in one message.
    pub max_changes_per_message: usize,
    /// Hashes in `heads`, `need` and each `have`'s `last_sync`, and `have` entries.
    pub max_hashes: usize,
    /// Size of one change once inflated.
    pub max_change_bytes: usize,
    /// Operations in one change, and in one message.
    pub max_ops_per_change: usize,
    pub max_ops_per_message: usize,
    /// Nesting of the objects one change creates inside each other.
    pub max_depth: usize,
    /// Distinct actors whose changes one connection may send.
    pub max_actors_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 1 << 20,
            max_changes_per_message: 2_000,
            max_hashes: 1_024,
            max_change_bytes: 1 << 20,
            // A stock client writes strings as Text, one operation per
            // character: a hundred notes pasted in one change are ~10,000.
            // A million-operation change (a few hundred bytes, seconds of
            // CPU to apply) stays far out.
            max_ops_per_change: 50_000,
            max_ops_per_message: 100_000,
            max_depth: 16,
            max_actors_per_connection: 32,
        }
    }
}

/// Why a message was refused; [`GuardError::close_code`] is the WebSocket
/// close code the server ends the connection with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("sync message is not well formed: {0}")]
    Malformed(&'static str),
    #[error("sync message too large: {0}")]
    TooLarge(&'static str),
    #[error("too many operations: {0}")]
    TooManyOps(&'static str),
    #[error("objects nested more than {0} deep")]
    TooDeep(usize),
    #[error("changes from more than {0} actors on one connection")]
    TooManyActors(usize),
    #[error("whole-document chunks are not accepted; send changes")]
    DocumentChunk,
}

impl GuardError {
    pub fn close_code(&self) -> u16 {
        match self {
            GuardError::Malformed(_) => 4000,
            GuardError::TooLarge(_) => 4009,
            GuardError::TooManyOps(_) => 4010,
            GuardError::TooDeep(_) => 4011,
            GuardError::TooManyActors(_) => 4012,
            GuardError::DocumentChunk => 4013,
        }
    }
}

/// What a message carries, once let through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    pub changes: usize,
    pub ops: usize,
}

/// One connection's guard.
#[derive(Debug)]
pub struct Guard {
    limits: Limits,
    actors: HashSet<ActorId>,
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED: u8 = 2;
/// The action column of a change's operations: column id 4, type integer.
const ACTION_COLUMN: u64 = (4 << 4) | 2;
const DEFLATE_BIT: u64 = 0b1000;
/// The low three bits of a column spec give its type; 5 is a string column.
const COLUMN_TYPE: u64 = 0b111;
const STRING_COLUMN: u64 = 5;

impl Guard {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            actors: HashSet::new(),
        }
    }

    /// Inspects the payload of a `sync` or `request` message.
    pub fn check_sync(&mut self, data: &[u8]) -> Result<Checked, GuardError> {
        let l = self.limits;
        if data.len() > l.max_message_bytes {
            return Err(GuardError::TooLarge("message"));
        }
        let mut r = Reader::new(data);
        let version = r.byte()?;
        if version != 0x42 && version != 0x43 {
            return Err(GuardError::Malformed("unknown message type"));
        }
        r.hashes(l.max_hashes)?; // heads
        r.hashes(l.max_hashes)?; // need
        let have = r.count(l.max_hashes)?;
        for _ in 0..have {
            r.hashes(l.max_hashes)?; // last_sync
            let bloom = r.count(l.max_message_bytes)?;
            r.take(bloom)?;
        }
        let n = r.count(l.max_changes_per_message)?;
        let mut checked = Checked::default();
        let mut new_actors: Vec<ActorId> = Vec::new();
        for _ in 0..n {
            let len = r.count(l.max_message_bytes)?;
            let chunk = r.take(len)?;
            let change = self.check_chunk(chunk)?;
            checked.changes += 1;
            checked.ops += change.len();
            if checked.ops > l.max_ops_per_message {
                return Err(GuardError::TooManyOps("message"));
            }
            let actor = change.actor_id();
            if !self.actors.contains(actor) && !new_actors.contains(actor) {
                new_actors.push(actor.clone());
            }
        }
        // Flags (optional) and nothing else.
        if !r.is_empty() {
            let len = r.count(16)?;
            r.take(len)?;
            if !r.is_empty() {
                return Err(GuardError::Malformed("trailing bytes"));
            }
        }
        if self.actors.len() + new_actors.len() > l.max_actors_per_connection {
            return Err(GuardError::TooManyActors(l.max_actors_per_connection));
        }
        self.actors.extend(new_actors);
        Ok(checked)
    }

    /// One chunk of the change list: its header, its size once inflated,
    /// its operation count, then the change itself.
    fn check_chunk(&self, chunk: &[u8]) -> Result<Change, GuardError> {
        let l = self.limits;
        let mut r = Reader::new(chunk);
        if r.take(4)? != MAGIC {
            return Err(GuardError::Malformed("not an automerge chunk"));
        }
        r.take(4)?; // checksum, verified by automerge
        let kind = r.byte()?;
        let len = r.count(l.max_change_bytes)?;
        let body = r.take(len)?;
        if !r.is_empty() {
            return Err(GuardError::Malformed("bytes after a chunk"));
        }
        let inflated;
        let body = match kind {
            CHUNK_CHANGE => body,
            CHUNK_COMPRESSED => {
                inflated = inflate(body, l.max_change_bytes)?;
                &inflated[..]
            }
            CHUNK_DOCUMENT => return Err(GuardError::DocumentChunk),
            _ => return Err(GuardError::DocumentChunk),
        };
        let ops = count_ops(body, l.max_ops_per_change)?;
        if ops > l.max_ops_per_change {
            return Err(GuardError::TooManyOps("change"));
        }
        // automerge 0.12's change parser panics on some malformed columns
        // instead of failing (an object id counter above u32::MAX unwraps in
        // `OpId::new`, found by fuzz/guard): such a change is malformed.
        let change = std::panic::catch_unwind(|| Change::from_bytes(chunk.to_vec()))
            .map_err(|_| GuardError::Malformed("change does not decode"))?
            .map_err(|_| GuardError::Malformed("change does not decode"))?;
        if change.len() > l.max_ops_per_change {
            return Err(GuardError::TooManyOps("change"));
        }
        if change.other_actor_ids().len() > l.max_actors_per_connection {
            return Err(GuardError::TooManyActors(l.max_actors_per_connection));
        }
        // Expanding the operations goes through the same column readers.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_depth(&change, l.max_depth)
        }))
        .map_err(|_| GuardError::Malformed("change does not decode"))??;
        Ok(change)
    }
}

/// Inflates raw deflate data, refusing to produce more than `limit` bytes.
fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, GuardError> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| GuardError::Malformed("compressed change does not inflate"))?;
    if out.len() > limit {
        return Err(GuardError::TooLarge("compressed change"));
    }
    Ok(out)
}

/// The number of operations in a change body, from its action column's run
/// lengths; stops counting past `cap`.
fn count_ops(body: &[u8], cap: usize) -> Result<usize, GuardError> {
    let mut r = Reader::new(body);
    let deps = r.count(1 << 16)?;
    r.take(deps.checked_mul(32).ok_or(GuardError::Malformed("deps"))?)?;
    let actor = r.count(1 << 10)?;
    r.take(actor)?;
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.uleb()?; // timestamp (signed; only skipped)
    let message = r.count(body.len())?;
    r.take(message)?;
    let others = r.count(1 << 16)?;
    for _ in 0..others {
        let len = r.count(1 << 10)?;
        r.take(len)?;
    }
    let columns = r.count(1 << 10)?;
    let mut layout = Vec::with_capacity(columns);
    for _ in 0..columns {
        let spec = r.uleb()?;
        let len = r.count(body.len())?;
        layout.push((spec, len));
    }
    let mut ops = 0;
    for (spec, len) in layout {
        let data = r.take(len)?;
        if spec & DEFLATE_BIT != 0 {
            return Err(GuardError::Malformed("compressed columns in a change"));
        }
        if spec & COLUMN_TYPE == STRING_COLUMN {
            check_strings(data)?;
        }
        if spec == ACTION_COLUMN {
            ops = rle_rows(data, cap)?;
        }
    }
    Ok(ops)
}

/// Every string of a run-length-encoded string column (keys, mark names)
/// must fit in the column: automerge allocates a string's declared length,
/// up to 1 GB, before reading it (found by fuzz/guard: a 607-byte message
/// made `Change::from_bytes` allocate 512 MiB).
fn check_strings(data: &[u8]) -> Result<(), GuardError> {
    let mut r = Reader::new(data);
    while !r.is_empty() {
        let strings = match r.sleb()? {
            n if n > 0 => 1,
            n if n < 0 => n.unsigned_abs(),
            _ => {
                r.uleb()?; // a run of nulls
                0
            }
        };
        // Each string takes at least its length byte: at most data.len() of them.
        for _ in 0..strings.min(data.len() as u64 + 1) {
            let len = r.uleb()?;
            r.take(usize::try_from(len).map_err(|_| GuardError::Malformed("truncated"))?)?;
        }
    }
    Ok(())
}

/// Rows of a run-length-encoded integer column (runs: `n > 0` repeats one
/// value `n` times, `n < 0` lists `-n` values, `0` then a length is a run
/// of nulls).
fn rle_rows(data: &[u8], cap: usize) -> Result<usize, GuardError> {
    let mut r = Reader::new(data);
    let mut rows: usize = 0;
    while !r.is_empty() {
        let n = r.sleb()?;
        let run = match n {
            n if n > 0 => {
                r.uleb()?;
                n as u64
            }
            n if n < 0 => {
                let k = n.unsigned_abs();
                for _ in 0..k.min(data.len() as u64 + 1) {
                    r.uleb()?;
                }
                k
            }
            _ => r.uleb()?,
        };
        rows = rows.saturating_add(usize::try_from(run).unwrap_or(usize::MAX));
        if rows > cap {
            return Ok(rows);
        }
    }
    Ok(rows)
}

/// How deep the objects a change creates nest inside each other.
fn check_depth(change: &Change, max: usize) -> Result<(), GuardError> {
    let expanded = change.decode();
    let actor = change.actor_id().clone();
    let mut depth: HashMap<u64, usize> = HashMap::new();
    let start = change.start_op().get();
    for (i, op) in expanded.operations.iter().enumerate() {
        if let OpType::Make(kind) = op.action {
            if !matches!(
                kind,
                ObjType::Map | ObjType::List | ObjType::Table | ObjType::Text
            ) {
                continue;
            }
            let parent = match &op.obj {
                ObjectId::Id(id) if id.actor() == &actor => {
                    depth.get(&id.counter()).copied().unwrap_or(0)
                }
                _ => 0,
            };
            let d = parent + 1;
            if d > max {
                return Err(GuardError::TooDeep(max));
            }
            depth.insert(start + i as u64, d);
        }
    }
    Ok(())
}

/// A cursor over bytes that never reads past the end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> Result<u8, GuardError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(GuardError::Malformed("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], GuardError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or(GuardError::Malformed("truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uleb(&mut self) -> Result<u64, GuardError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(GuardError::Malformed("integer too long"))
    }

    fn sleb(&mut self) -> Result<i64, GuardError> {
        let mut v: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift < 64 {
                v |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1_i64 << shift;
                }
                return Ok(v);
            }
            if shift > 70 {
                return Err(GuardError::Malformed("integer too long"));
            }
        }
    }

    /// A count that must not exceed `max`.
    fn count(&mut self, max: usize) -> Result<usize, GuardError> {
        let v = self.uleb()?;
        usize::try_from(v)
            .ok()
            .filter(|v| *v <= max)
            .ok_or(GuardError::TooLarge("a count"))
    }

    /// A length-prefixed list of 32-byte hashes.
    fn hashes(&mut self, max: usize) -> Result<(), GuardError> {
        let n = self.count(max)?;
        self.take(n * 32)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{self, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    /// The sync message a fresh peer receives from `doc` (all its changes).
    fn message_from(doc: &mut AutoCommit) -> Vec<u8> {
        let mut server = AutoCommit::new();
        let mut to_server = sync::State::new();
        let mut to_client = sync::State::new();
        // Two rounds: the first message carries only heads and a bloom filter.
        let first = doc.sync().generate_sync_message(&mut to_server).unwrap();
        server
            .sync()
            .receive_sync_message(&mut to_client, first)
            .unwrap();
        let mut reply = server.sync().generate_sync_message(&mut to_client).unwrap();
        // As Tavolo's server does: advertise nothing, so peers send changes.
        reply.flags = None;
        doc.sync()
            .receive_sync_message(&mut to_server, reply)
            .unwrap();
        doc.sync()
            .generate_sync_message(&mut to_server)
            .unwrap()
            .encode()
    }

    #[test]
    fn an_honest_message_passes_and_is_counted() {
        let mut doc = AutoCommit::new();
        let notes = doc.put_object(ROOT, "notes", ObjType::Map).unwrap();
        let n = doc.put_object(&notes, "n_1", ObjType::Map).unwrap();
        doc.put(&n, "text", "La biblioteca").unwrap();
        doc.commit();
        let msg = message_from(&mut doc);
        let checked = Guard::new(Limits::default()).check_sync(&msg).unwrap();
        assert_eq!(checked, Checked { changes: 1, ops: 3 });
    }

    #[test]
    fn a_million_deletions_in_a_tiny_change_are_counted_without_decoding_them() {
        let mut doc = AutoCommit::new();
        let t = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, &"x".repeat(200_000)).unwrap();
        doc.commit();
        let heads = doc.get_heads();
        doc.splice_text(&t, 0, 200_000, "").unwrap();
        doc.commit();
        let mut delete = doc.get_changes(&heads)[0].clone();
        assert!(delete.bytes().len() < 200, "the change is tiny");
        let raw = delete.raw_bytes();
        let mut header = Reader::new(&raw[9..]);
        let len = header.count(usize::MAX).unwrap();
        let body = &raw[raw.len() - len..];
        assert_eq!(count_ops(body, usize::MAX), Ok(200_000));
        let msg = sync::Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: vec![delete.bytes().to_vec()].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        }
        .encode();
        assert_eq!(
            Guard::new(Limits::default()).check_sync(&msg),
            Err(GuardError::TooManyOps("change"))
        );
    }

    #[test]
    fn a_compression_bomb_is_refused_before_it_inflates() {
        // A deflate stream of 8 MiB of zeros is a few KiB.
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![0u8; 8 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        let mut chunk = MAGIC.to_vec();
        chunk.extend([0, 0, 0, 0, CHUNK_COMPRESSED]);
        let mut len = Vec::new();
        let mut v = bomb.len() as u64;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                len.push(b);
                break;
            }
            len.push(b | 0x80);
        }
        chunk.extend(len);
        chunk.extend(&bomb);
        let msg = sync::Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: vec![chunk].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        }
        .encode();
        assert_eq!(
            Guard::new(Limits::default()).check_sync(&msg),
            Err(GuardError::TooLarge("compressed change"))
        );
    }

    #[test]
    fn deep_nesting_and_whole_documents_are_refused() {
        let mut doc = AutoCommit::new();
        let mut obj = ROOT;
        for i in 0..40 {
            obj = doc.put_object(&obj, format!("k{i}"), ObjType::Map).unwrap();
        }
        doc.commit();
        let msg = message_from(&mut doc);
        assert_eq!(
            Guard::new(Limits::default()).check_sync(&msg),
            Err(GuardError::TooDeep(16))
        );
        let whole = sync::Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: vec![doc.save()].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        }
        .encode();
        assert_eq!(
            Guard::new(Limits::default()).check_sync(&whole),
            Err(GuardError::DocumentChunk)
        );
    }

    #[test]
    fn a_connection_may_not_bring_endless_new_actors() {
        let mut guard = Guard::new(Limits {
            max_actors_per_connection: 3,
            ..Limits::default()
        });
        for i in 0..4 {
            let mut doc = AutoCommit::new();
            doc.put(ROOT, "k", i).unwrap();
            doc.commit();
            let msg = message_from(&mut doc);
            let r = guard.check_sync(&msg);
            if i < 3 {
                r.unwrap();
            } else {
                assert_eq!(r, Err(GuardError::TooManyActors(3)));
            }
        }
    }

    #[test]
    fn garbage_and_truncation_are_malformed_not_panics() {
        let mut g = Guard::new(Limits::default());
        for bytes in [&[][..], &[0x42], &[0x42, 0xff, 0xff, 0xff], &[7, 1, 2, 3]] {
            assert!(g.check_sync(bytes).is_err());
        }
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "k", 1).unwrap();
        doc.commit();
        let msg = message_from(&mut doc);
        for cut in 1..msg.len() {
            let _ = g.check_sync(&msg[..cut]);
        }
    }
}
