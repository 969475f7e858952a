//! The guard on real automerge sync messages: `arbitrary` drives edits on
//! documents (maps, lists, text, counters, nesting, several actors, long
//! splices), the changes go out as a sync message — stored compressed or
//! raw, as whole documents or bundles, with one byte changed and the checksum
//! fixed, truncated, duplicated — and the guard checks it.
//!
//! Properties, beyond those of the `guard` target (no panic, bounded memory
//! and time; whatever passes is received by automerge within the limits):
//! an honest message within every limit is accepted, and the operations the
//! guard counts are the operations automerge reads.
#![no_main]

use arbitrary::Arbitrary;
use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use libfuzzer_sys::fuzz_target;
use tavolo_sync::guard::{Guard, Limits};

#[derive(Arbitrary, Debug)]
enum Scalar {
    Str(String),
    Int(i64),
    F64(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    Counter(i64),
    Null,
    Timestamp(i64),
}

impl Scalar {
    fn value(self) -> ScalarValue {
        match self {
            Scalar::Str(s) => ScalarValue::Str(s.into()),
            Scalar::Int(i) => ScalarValue::Int(i),
            Scalar::F64(f) => ScalarValue::F64(f),
            Scalar::Bool(b) => ScalarValue::Boolean(b),
            Scalar::Bytes(b) => ScalarValue::Bytes(b),
            // Counters stay far from i64 overflow: automerge's counter sums
            // overflow-panic where overflow checks are on (see README).
            Scalar::Counter(c) => ScalarValue::counter(i64::from(c as i32)),
            Scalar::Null => ScalarValue::Null,
            Scalar::Timestamp(t) => ScalarValue::Timestamp(t),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Kind {
    Map,
    List,
    Text,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    /// A new object under object `parent` (index into the objects made so far).
    Make {
        parent: u8,
        key: u8,
        kind: Kind,
    },
    Put {
        obj: u8,
        key: u8,
        value: Scalar,
    },
    Insert {
        obj: u8,
        index: u16,
        value: Scalar,
    },
    Splice {
        obj: u8,
        pos: u16,
        del: u8,
        text: String,
    },
    /// `n` copies of one character: long splices, many operations.
    SpliceRepeat {
        obj: u8,
        ch: char,
        n: u16,
    },
    Increment {
        obj: u8,
        key: u8,
        by: i64,
    },
    Delete {
        obj: u8,
        key: u8,
    },
    /// Maps nested `n` deep under `obj`, in one go.
    Nest {
        obj: u8,
        n: u8,
    },
    Commit {
        message: Option<String>,
    },
    /// Later edits come from another actor (a fork of the document merged back).
    Actor(u8),
}

#[derive(Arbitrary, Debug)]
enum Wrap {
    /// As automerge stores them: compressed above 256 bytes.
    Stored,
    /// Every change uncompressed.
    Raw,
    /// A whole document instead of changes (a participant may not).
    Document,
    /// A bundle of the changes (a participant may not).
    Bundle,
    /// The V2 message format with the changes.
    V2,
}

#[derive(Arbitrary, Debug)]
enum Damage {
    None,
    /// One byte of the encoded message xored, then the checksums fixed.
    Flip {
        at: u16,
        xor: u8,
    },
    Truncate {
        at: u16,
    },
    /// A change sent twice in one message.
    Duplicate {
        which: u8,
    },
    /// A byte appended to the flags.
    Trailing(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    edits: Vec<Edit>,
    wrap: Wrap,
    damage: Damage,
    /// Heads and need hashes sent along (garbage or real).
    heads: Vec<[u8; 32]>,
}

const MAX_EDITS: usize = 64;

struct Builder {
    doc: AutoCommit,
    /// Objects made so far, with their nesting depth (the root is 0).
    objs: Vec<(ObjId, Kind, usize)>,
    max_depth: usize,
    /// Actors that made changes.
    actors: Vec<ActorId>,
    /// Characters left for `SpliceRepeat` (keeps one input fast).
    repeat_budget: usize,
}

impl Builder {
    fn obj(&self, i: u8) -> (ObjId, Kind, usize) {
        self.objs[i as usize % self.objs.len()].clone()
    }

    fn pick(&self, i: u8, want: &[Kind]) -> Option<(ObjId, Kind, usize)> {
        let n = self.objs.len();
        (0..n)
            .map(|k| self.objs[(i as usize + k) % n].clone())
            .find(|(_, kind, _)| want.contains(kind))
    }

    fn make(&mut self, parent: u8, key: u8, kind: Kind) {
        let (p, pkind, depth) = self.obj(parent);
        let t = match kind {
            Kind::Map => ObjType::Map,
            Kind::List => ObjType::List,
            Kind::Text => ObjType::Text,
        };
        let made = match pkind {
            Kind::Map => self.doc.put_object(&p, format!("k{key}"), t),
            Kind::List => {
                let len = self.doc.length(&p);
                self.doc.insert_object(&p, key as usize % (len + 1), t)
            }
            Kind::Text => return,
        };
        if let Ok(id) = made {
            self.max_depth = self.max_depth.max(depth + 1);
            self.objs.push((id, kind, depth + 1));
        }
    }

    fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Make { parent, key, kind } => self.make(parent, key, kind),
            Edit::Put { obj, key, value } => {
                if let Some((o, _, _)) = self.pick(obj, &[Kind::Map]) {
                    let _ = self.doc.put(&o, format!("k{key}"), value.value());
                }
            }
            Edit::Insert { obj, index, value } => {
                if let Some((o, _, _)) = self.pick(obj, &[Kind::List]) {
                    let len = self.doc.length(&o);
                    let _ = self
                        .doc
                        .insert(&o, index as usize % (len + 1), value.value());
                }
            }
            Edit::Splice {
                obj,
                pos,
                del,
                text,
            } => {
                if let Some((o, _, _)) = self.pick(obj, &[Kind::Text]) {
                    let len = self.doc.length(&o);
                    let pos = pos as usize % (len + 1);
                    let del = (del as usize).min(len - pos);
                    let _ = self.doc.splice_text(&o, pos, del as isize, &text);
                }
            }
            Edit::SpliceRepeat { obj, ch, n } => {
                if let Some((o, _, _)) = self.pick(obj, &[Kind::Text]) {
                    // Up to a little past the per-change limit of operations.
                    let n = (n as usize % 12_001).min(self.repeat_budget);
                    self.repeat_budget -= n;
                    let text: String = std::iter::repeat_n(ch, n).collect();
                    let _ = self.doc.splice_text(&o, 0, 0, &text);
                }
            }
            Edit::Increment { obj, key, by } => {
                if let Some((o, _, _)) = self.pick(obj, &[Kind::Map]) {
                    let k = format!("c{key}");
                    if self.doc.get(&o, &k).ok().flatten().is_none() {
                        let _ = self.doc.put(&o, &k, ScalarValue::counter(0));
                    }
                    let _ = self.doc.increment(&o, &k, i64::from(by as i32));
                }
            }
            Edit::Delete { obj, key } => {
                let (o, kind, _) = self.obj(obj);
                match kind {
                    Kind::Map => {
                        let _ = self.doc.delete(&o, format!("k{key}"));
                    }
                    _ => {
                        let len = self.doc.length(&o);
                        if len > 0 {
                            let _ = self.doc.delete(&o, key as usize % len);
                        }
                    }
                }
            }
            Edit::Nest { obj, n } => {
                let Some((mut o, _, mut depth)) = self.pick(obj, &[Kind::Map]) else {
                    return;
                };
                for _ in 0..n {
                    match self.doc.put_object(&o, "nest", ObjType::Map) {
                        Ok(id) => {
                            depth += 1;
                            o = id;
                        }
                        Err(_) => break,
                    }
                }
                self.max_depth = self.max_depth.max(depth);
                self.objs.push((o, Kind::Map, depth));
            }
            Edit::Commit { message } => {
                self.doc.commit_with(
                    automerge::transaction::CommitOptions::default()
                        .with_message(message.unwrap_or_default()),
                );
            }
            Edit::Actor(a) => {
                self.doc.commit();
                let actor = ActorId::from([a; 16].as_slice());
                if !self.actors.contains(&actor) {
                    self.actors.push(actor.clone());
                }
                self.doc.set_actor(actor);
            }
        }
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

fuzz_target!(|input: Input| {
    tavolo_fuzz::init();
    let first = ActorId::from([0xaa; 16].as_slice());
    let mut b = Builder {
        doc: AutoCommit::new().with_actor(first.clone()),
        objs: vec![(ROOT, Kind::Map, 0)],
        max_depth: 0,
        actors: vec![first],
        repeat_budget: 30_000,
    };
    for edit in input.edits.into_iter().take(MAX_EDITS) {
        b.apply(edit);
    }
    b.doc.commit();
    let changes = b.doc.get_changes(&[]);
    if changes.is_empty() {
        return;
    }
    let per_change_ops: Vec<usize> = changes.iter().map(|c| c.len()).collect();
    let total_ops: usize = per_change_ops.iter().sum();
    let heads = b.doc.get_heads();

    let mut chunks: Vec<Vec<u8>> = match input.wrap {
        Wrap::Stored | Wrap::V2 => changes
            .into_iter()
            .map(|mut c| c.bytes().into_owned())
            .collect(),
        Wrap::Raw => changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
        Wrap::Document => vec![b.doc.save()],
        Wrap::Bundle => match b.doc.document().bundle(heads.clone()) {
            Ok(bundle) => vec![bundle.bytes().to_vec()],
            Err(_) => return,
        },
    };
    let honest = matches!(input.wrap, Wrap::Stored | Wrap::Raw | Wrap::V2);
    let mut damaged = false;
    if let Damage::Duplicate { which } = input.damage {
        let c = chunks[which as usize % chunks.len()].clone();
        chunks.push(c);
        damaged = true;
    }
    let n_chunks = chunks.len();
    let extra: Vec<automerge::ChangeHash> = input
        .heads
        .iter()
        .take(8)
        .map(|h| automerge::ChangeHash(*h))
        .collect();
    // automerge encodes sorted hash lists (a debug assertion checks).
    let mut all_heads: Vec<_> = heads.iter().copied().chain(extra.iter().copied()).collect();
    all_heads.sort();
    all_heads.dedup();
    let mut need = extra;
    need.sort();
    need.dedup();
    let message = sync::Message {
        heads: all_heads,
        need,
        have: vec![sync::Have::default()],
        changes: chunks.into(),
        flags: None,
        version: if matches!(input.wrap, Wrap::V2) {
            sync::MessageVersion::V2
        } else {
            sync::MessageVersion::V1
        },
    };
    let mut bytes = message.encode();
    match input.damage {
        Damage::None | Damage::Duplicate { .. } => {}
        Damage::Flip { at, xor } => {
            let i = at as usize % bytes.len();
            bytes[i] ^= xor;
            if let Some(fixed) = tavolo_fuzz::fix_checksums(&bytes) {
                bytes = fixed;
            }
            damaged = xor != 0;
        }
        Damage::Truncate { at } => {
            let i = at as usize % bytes.len();
            bytes.truncate(i);
            damaged = true;
        }
        Damage::Trailing(x) => {
            // One flags byte, then one more: automerge ignores it, the guard may not.
            uleb(1, &mut bytes);
            bytes.push(x);
            bytes.push(x);
            damaged = true;
        }
    }

    let limits = Limits::default();
    let mut guard = Guard::new(limits);
    let verdict = guard.check_sync(&bytes);

    let within_limits = honest
        && !damaged
        && bytes.len() <= limits.max_message_bytes
        && n_chunks <= limits.max_changes_per_message
        && per_change_ops
            .iter()
            .all(|n| *n <= limits.max_ops_per_change)
        && total_ops <= limits.max_ops_per_message
        && b.max_depth <= limits.max_depth
        && b.actors.len() <= limits.max_actors_per_connection
        && message_heads_ok(&input.heads, limits);
    if within_limits {
        match &verdict {
            Ok(checked) => {
                assert_eq!(checked.changes, n_chunks, "changes counted");
                assert_eq!(checked.ops, total_ops, "operations counted");
            }
            Err(e) => panic!("an honest message within the limits was refused: {e}"),
        }
    }

    if verdict.is_ok() {
        let Ok(message) = sync::Message::decode(&bytes) else {
            return;
        };
        let received = tavolo_fuzz::unless_known_panic(|| {
            let mut doc = Automerge::new();
            let mut state = sync::State::new();
            let received = doc.receive_sync_message(&mut state, message);
            let _ = doc.generate_sync_message(&mut state);
            let _ = doc.save();
            (received, doc.get_heads())
        });
        if within_limits {
            let (received, got) = received.expect("an honest message is no known panic");
            received.expect("an honest message is received");
            assert_eq!(got, heads, "the receiver has every change");
        }
    }
});

fn message_heads_ok(extra: &[[u8; 32]], limits: Limits) -> bool {
    extra.len().min(8) + 64 <= limits.max_hashes
}
