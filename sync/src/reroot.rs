//! Purging a question board (privacy, contract v2), sans-IO.
//!
//! Automerge keeps every change forever, so a removed note's text stays in
//! the history of every replica, and a hidden note's text in its state. A
//! purge rewrites the board: a new document with the same content, minus
//! the removed notes and the hidden notes' texts, written afresh (a new
//! server actor id; each anonymous note under a new actor id of its own,
//! which the server records as its writer's, so nothing changes about who
//! may edit it and nothing links it to anything). The old history is
//! retired: its change hashes are kept (not their content) so that a copy
//! from before, coming back from a phone that was offline, is recognised
//! and refused with `board_rewritten` instead of bringing the text back.
//! The ids of purged notes go in the board's `purged` map, so they are
//! never created again.

use automerge::transaction::{Transactable, Transaction};
use automerge::{ActorId, Automerge, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc};
use std::collections::BTreeSet;
use tavolo_model::policy::History;
use tavolo_model::read;

/// What a purge takes out of a board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purge {
    /// Note ids no longer in the board whose history still holds them.
    pub removed: BTreeSet<String>,
    /// Hidden notes whose text is still in the board.
    pub hidden: BTreeSet<String>,
}

/// The purge a board needs now, if any: notes deleted or removed since the
/// last one, and hidden notes that still carry their text.
pub fn plan(doc: &Automerge, history: &History) -> Option<Purge> {
    let removed: BTreeSet<String> = history.gone_notes(doc).cloned().collect();
    let mut hidden = BTreeSet::new();
    if let Some(notes) = read::get_map(doc, &ROOT, "notes") {
        for id in read::keys(doc, &notes) {
            let Some(n) = read::get_map(doc, &notes, &id) else {
                continue;
            };
            if read::get_bool(doc, &n, "hidden") == Some(true)
                && read::get_str(doc, &n, "text").is_some_and(|t| !t.is_empty())
            {
                hidden.insert(id);
            }
        }
    }
    (!removed.is_empty() || !hidden.is_empty()).then_some(Purge { removed, hidden })
}

/// The rewritten board and what the server must record with it.
#[derive(Debug)]
pub struct Rebuilt {
    pub doc: Automerge,
    /// The new server actor id (the old one's sequence numbers live on in
    /// copies from before).
    pub server_actor: ActorId,
    /// New actor id → participant, one per anonymous note.
    pub writers: Vec<(ActorId, String)>,
    /// (note id, text) of the notes hidden now: kept by the server only, so
    /// that the facilitator can show them again.
    pub hidden_texts: Vec<(String, String)>,
    /// Every change of the old board.
    pub retired: Vec<ChangeHash>,
}

/// Rewrites `doc` without what `purge` names; `writer_of` says who wrote an
/// anonymous note (the server's private knowledge).
pub fn rebuild(
    doc: &Automerge,
    purge: &Purge,
    writer_of: impl Fn(&str) -> Option<String>,
) -> Result<Rebuilt, AutomergeError> {
    let server_actor = ActorId::random();
    let mut new = Automerge::new().with_actor(server_actor.clone());
    let mut writers = Vec::new();
    let mut hidden_texts = Vec::new();
    let notes = read::get_map(doc, &ROOT, "notes");
    let mut anonymous: Vec<(String, ObjId, String)> = Vec::new();
    {
        let mut tx = new.transaction();
        for item in doc.map_range(ROOT, ..) {
            let key = item.key.to_string();
            if key == "notes" || key == "purged" {
                continue;
            }
            copy_value(
                doc,
                &item.id(),
                &item.value,
                &mut tx,
                &ROOT,
                Place::Key(&key),
                None,
            )?;
        }
        let new_notes = tx.put_object(ROOT, "notes", ObjType::Map)?;
        let purged = tx.put_object(ROOT, "purged", ObjType::Map)?;
        let mut gone: BTreeSet<String> = purge.removed.clone();
        if let Some(old) = read::get_map(doc, &ROOT, "purged") {
            gone.extend(read::keys(doc, &old));
        }
        for id in &gone {
            tx.put(&purged, id.as_str(), true)?;
        }
        if let Some(notes) = &notes {
            for id in read::keys(doc, notes) {
                let Some(n) = read::get_map(doc, notes, &id) else {
                    continue;
                };
                let hidden = read::get_bool(doc, &n, "hidden") == Some(true);
                if hidden
                    && let Some(text) = read::get_str(doc, &n, "text").filter(|t| !t.is_empty())
                {
                    hidden_texts.push((id.clone(), text));
                }
                let anon = read::get_bool(doc, &n, "anonymous") == Some(true)
                    && read::get_str(doc, &n, "author").is_none();
                match (anon, writer_of(&id)) {
                    (true, Some(who)) => anonymous.push((id, n, who)),
                    _ => {
                        let to = tx.put_object(&new_notes, id.as_str(), ObjType::Map)?;
                        copy_map(doc, &n, &mut tx, &to, hidden.then_some("text"))?;
                    }
                }
            }
        }
        tx.commit();
    }
    let new_notes = read::get_map(&new, &ROOT, "notes").expect("written above");
    for (id, n, who) in anonymous {
        let actor = ActorId::random();
        new.set_actor(actor.clone());
        let hidden = read::get_bool(doc, &n, "hidden") == Some(true);
        let mut tx = new.transaction();
        let to = tx.put_object(&new_notes, id.as_str(), ObjType::Map)?;
        copy_map(doc, &n, &mut tx, &to, hidden.then_some("text"))?;
        tx.commit();
        writers.push((actor, who));
    }
    new.set_actor(server_actor.clone());
    let retired = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
    Ok(Rebuilt {
        doc: new,
        server_actor,
        writers,
        hidden_texts,
        retired,
    })
}

enum Place<'a> {
    Key(&'a str),
    Index(usize),
}

fn copy_map(
    src: &Automerge,
    from: &ObjId,
    tx: &mut Transaction<'_>,
    to: &ObjId,
    blank: Option<&str>,
) -> Result<(), AutomergeError> {
    for item in src.map_range(from, ..) {
        let key = item.key.to_string();
        copy_value(
            src,
            &item.id(),
            &item.value,
            tx,
            to,
            Place::Key(&key),
            blank,
        )?;
    }
    Ok(())
}

/// Copies one value (the winner of any conflict) to `place` in `to`; the
/// field named `blank` becomes empty text.
fn copy_value(
    src: &Automerge,
    id: &ObjId,
    value: &automerge::ValueRef<'_>,
    tx: &mut Transaction<'_>,
    to: &ObjId,
    place: Place<'_>,
    blank: Option<&str>,
) -> Result<(), AutomergeError> {
    let blanked = matches!(&place, Place::Key(k) if Some(*k) == blank);
    match value {
        automerge::ValueRef::Object(kind) => {
            let made = match &place {
                Place::Key(k) => tx.put_object(to, *k, *kind)?,
                Place::Index(i) => tx.insert_object(to, *i, *kind)?,
            };
            match kind {
                ObjType::Text => {
                    if !blanked {
                        let text = src.text(id)?;
                        tx.splice_text(&made, 0, 0, &text)?;
                    }
                }
                ObjType::Map | ObjType::Table => copy_map(src, id, tx, &made, None)?,
                ObjType::List => {
                    for (i, item) in src.list_range(id, ..).enumerate() {
                        copy_value(
                            src,
                            &item.id(),
                            &item.value,
                            tx,
                            &made,
                            Place::Index(i),
                            None,
                        )?;
                    }
                }
            }
        }
        automerge::ValueRef::Scalar(s) => {
            let s = if blanked {
                automerge::ScalarValue::Str("".into())
            } else {
                automerge::ScalarValue::from(s)
            };
            match &place {
                Place::Key(k) => tx.put(to, *k, s)?,
                Place::Index(i) => tx.insert(to, *i, s)?,
            }
        }
    }
    Ok(())
}
