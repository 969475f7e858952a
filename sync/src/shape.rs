//! Document-aware shape checks automerge 0.12 does not make before it
//! applies a change: an operation keyed by a list position must target a
//! list or text, a map key must target a map, and only list positions take
//! insertions. A crafted change that breaks this is accepted by a release
//! build of automerge and leaves the document's operations out of order
//! (found by fuzzing; `sync/tests/fuzz_regressions.rs`,
//! `op_order_after_receive`).

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{Automerge, Change, ObjType, ReadDoc};
use std::collections::HashMap;
use tavolo_model::policy::{Refusal, RefusalCode};

fn malformed(detail: &str) -> Refusal {
    Refusal {
        code: RefusalCode::Malformed,
        detail: detail.to_string(),
    }
}

/// Checks `changes`, applied in `after`, op by op.
pub fn check(after: &Automerge, changes: &[Change]) -> Result<(), Refusal> {
    // Objects the changes create: their type is in the creating operation.
    let mut made: HashMap<String, ObjType> = HashMap::new();
    let mut known: HashMap<String, Option<ObjType>> = HashMap::new();
    for change in changes {
        let expanded = change.decode();
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            if let OpType::Make(t) = op.action {
                made.insert(format!("{}@{}", start + i as u64, expanded.actor_id), t);
            }
        }
    }
    for change in changes {
        for op in &change.decode().operations {
            let target = match &op.obj {
                ObjectId::Root => Some(ObjType::Map),
                ObjectId::Id(id) => {
                    let key = format!("{}@{}", id.counter(), id.actor());
                    match made.get(&key) {
                        Some(t) => Some(*t),
                        None => *known.entry(key.clone()).or_insert_with(|| {
                            after
                                .import_obj(&key)
                                .ok()
                                .and_then(|o| after.object_type(&o).ok())
                        }),
                    }
                }
            };
            // An object nobody knows is automerge's to refuse.
            let Some(target) = target else { continue };
            let is_seq = matches!(target, ObjType::List | ObjType::Text);
            match &op.key {
                Key::Seq(_) if !is_seq => {
                    return Err(malformed("a list position on an object that is not a list"));
                }
                Key::Map(_) if is_seq => {
                    return Err(malformed("a map key on an object that is a list"));
                }
                Key::Map(_) if op.insert => {
                    return Err(malformed("an insertion at a map key"));
                }
                _ => {}
            }
        }
    }
    Ok(())
}
