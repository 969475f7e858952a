//! A whole session in one file, to move it to another server (issue 18).
//!
//! `GET /api/sessions/{id}/export` (the facilitator's key or console
//! ticket) answers one JSON file: the session's row, every document as
//! stored (snapshot and changes, as one Automerge save), its participants,
//! its tickets (hashes only: the same phones and the same facilitator link
//! keep working on the new server), who owns which actor id, the dots, the
//! texts of hidden notes and the hashes of retired history. It is personal
//! data (names, hidden texts): the facilitator's, like the attendance
//! annex.
//!
//! `POST /api/sessions/import` takes that file and creates the session on
//! this server, under the same ids, refusing one whose session or document
//! ids already exist here (409) and a file that does not hold a sound
//! session (422, with what is wrong). A join code already in use here is
//! replaced by a new one, returned in the answer. An import that fails
//! half-way leaves nothing behind.

use crate::storage::{
    NewDocument, NewTicket, ParticipantRow, Reroot, SessionRow, Storage, StorageError, TicketFor,
};
use automerge::AutoCommit;
use serde::{Deserialize, Serialize};

/// What the file says it is.
pub const FORMAT: &str = "tavolo-session";
pub const VERSION: u32 = 1;
/// Documents a session may bring (a template has at most 12 phases of 12
/// questions, plus the session and roster documents).
const MAX_DOCUMENTS: usize = 200;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub version: u32,
    pub exported_at: i64,
    pub session: BundleSession,
    pub documents: Vec<BundleDocument>,
    pub participants: Vec<BundleParticipant>,
    pub tickets: Vec<BundleTicket>,
    /// (actor id as hex, owner key)
    pub actors: Vec<(String, String)>,
    pub dots: Vec<BundleDot>,
    pub hidden: Vec<BundleHidden>,
    /// (document id, change hash as hex)
    pub retired: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSession {
    pub id: String,
    pub title: String,
    pub template: String,
    pub join_code: String,
    pub facilitator_key_hash: String,
    pub session_doc: String,
    pub roster_doc: String,
    pub created_at: i64,
    pub joining_open: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleDocument {
    pub id: String,
    pub kind: String,
    /// The document as one Automerge save, hex.
    pub data: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleParticipant {
    pub id: String,
    pub name: String,
    pub organization: String,
    pub sector: String,
    pub tier: String,
    pub attendance: String,
    pub created_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleTicket {
    pub hash: String,
    pub participant_id: Option<String>,
    pub viewer: bool,
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleDot {
    pub doc: String,
    pub participant: String,
    pub target: String,
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleHidden {
    pub doc: String,
    pub note: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("no such session")]
    UnknownSession,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn invalid(m: impl Into<String>) -> TransferError {
    TransferError::Invalid(m.into())
}

/// The session `id` as stored, in one bundle.
pub async fn export(storage: &Storage, id: &str) -> Result<Bundle, TransferError> {
    let row = storage
        .session(id.to_string())
        .await?
        .ok_or(TransferError::UnknownSession)?;
    let mut documents = Vec::new();
    let (mut dots, mut hidden, mut retired) = (Vec::new(), Vec::new(), Vec::new());
    for (doc_id, kind) in storage.session_documents(id.to_string()).await? {
        let stored = storage.load_doc(doc_id.clone()).await?;
        let data = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            let mut doc = match &stored.snapshot {
                Some(s) => AutoCommit::load(s).map_err(|e| e.to_string())?,
                None => AutoCommit::new(),
            };
            for c in &stored.changes {
                doc.load_incremental(&c.data).map_err(|e| e.to_string())?;
            }
            Ok(doc.save())
        })
        .await
        .map_err(|e| invalid(format!("exporting a document failed: {e}")))?
        .map_err(|e| invalid(format!("document {doc_id} cannot be read: {e}")))?;
        for (who, target, count) in storage.load_dots(doc_id.clone()).await? {
            dots.push(BundleDot {
                doc: doc_id.clone(),
                participant: who,
                target,
                count,
            });
        }
        for (note, text) in storage.load_hidden(doc_id.clone()).await? {
            hidden.push(BundleHidden {
                doc: doc_id.clone(),
                note,
                text,
            });
        }
        for hash in storage.load_retired(doc_id.clone()).await? {
            retired.push((doc_id.clone(), hex::encode(hash)));
        }
        documents.push(BundleDocument {
            id: doc_id,
            kind,
            data: hex::encode(data),
        });
    }
    let participants = storage
        .participants(id.to_string())
        .await?
        .into_iter()
        .map(|p| BundleParticipant {
            id: p.id,
            name: p.name,
            organization: p.organization,
            sector: p.sector,
            tier: p.tier,
            attendance: p.attendance,
            created_at: p.created_at,
        })
        .collect();
    let tickets = storage
        .tickets(id.to_string())
        .await?
        .into_iter()
        .map(|(hash, t)| BundleTicket {
            hash: hex::encode(hash),
            participant_id: t.participant_id,
            viewer: t.viewer,
            expires_at: t.expires_at,
            revoked: t.revoked,
        })
        .collect();
    let actors = storage
        .actors(id.to_string())
        .await?
        .into_iter()
        .map(|(a, o)| (hex::encode(a), o))
        .collect();
    Ok(Bundle {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: crate::now_ms(),
        session: BundleSession {
            id: row.id,
            title: row.title,
            template: row.template,
            join_code: row.join_code,
            facilitator_key_hash: hex::encode(row.facilitator_key_hash),
            session_doc: row.session_doc,
            roster_doc: row.roster_doc,
            created_at: row.created_at,
            joining_open: row.joining_open,
        },
        documents,
        participants,
        tickets,
        actors,
        dots,
        hidden,
        retired,
    })
}

fn unhex(what: &str, s: &str) -> Result<Vec<u8>, TransferError> {
    hex::decode(s).map_err(|_| invalid(format!("{what} is not hexadecimal")))
}

/// What [`import`] made.
#[derive(Debug)]
pub struct Imported {
    pub session_id: String,
    pub join_code: String,
    pub session_doc: String,
}

/// Checks a bundle and creates its session here.
pub async fn import(storage: &Storage, b: Bundle) -> Result<Imported, TransferError> {
    if b.format != FORMAT || b.version != VERSION {
        return Err(invalid(format!(
            "not a Tavolo session export (format \"{FORMAT}\", version {VERSION})"
        )));
    }
    if b.documents.is_empty() || b.documents.len() > MAX_DOCUMENTS {
        return Err(invalid(format!(
            "a session has between 1 and {MAX_DOCUMENTS} documents, not {}",
            b.documents.len()
        )));
    }
    let s = &b.session;
    // One-line fields: what a join or a creation would refuse.
    let one_line = std::iter::once(("title", s.title.as_str()))
        .chain(std::iter::once(("join_code", s.join_code.as_str())))
        .chain(b.participants.iter().flat_map(|p| {
            [
                ("a participant's name", p.name.as_str()),
                ("a participant's organization", p.organization.as_str()),
                ("a participant's id", p.id.as_str()),
            ]
        }));
    for (field, value) in one_line {
        if value.chars().any(char::is_control) {
            return Err(invalid(format!("{field} contains control characters")));
        }
    }
    let url = |id: &str| format!("automerge:{id}");
    let mut docs = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for d in &b.documents {
        if !["session", "roster", "question"].contains(&d.kind.as_str()) {
            return Err(invalid(format!("document {} has an unknown kind", d.id)));
        }
        let parsed: tavolo_sync::DocumentId =
            d.id.parse()
                .map_err(|_| invalid(format!("\"{}\" is not a document id", d.id)))?;
        if !ids.insert(parsed) {
            return Err(invalid(format!("document {} appears twice", d.id)));
        }
        let bytes = unhex("a document", &d.data)?;
        docs.push((d.id.clone(), d.kind.clone(), bytes));
    }
    let kind_of = |u: &str| {
        b.documents
            .iter()
            .find(|d| url(&d.id) == u)
            .map(|d| d.kind.as_str())
    };
    if kind_of(&s.session_doc) != Some("session") || kind_of(&s.roster_doc) != Some("roster") {
        return Err(invalid(
            "the session's session and roster documents are not among its documents",
        ));
    }
    // Every document must load, and the session document must read as one
    // (off the async workers; the documents come back for the import).
    let docs = tokio::task::spawn_blocking(move || -> Result<_, TransferError> {
        for (id, kind, bytes) in &docs {
            let doc = AutoCommit::load(bytes)
                .map_err(|e| invalid(format!("document {id} is not an Automerge document: {e}")))?;
            if kind == "session" {
                tavolo_model::SessionDoc::load(&doc)
                    .map_err(|e| invalid(format!("the session document does not read: {e}")))?;
            }
        }
        Ok(docs)
    })
    .await
    .map_err(|e| invalid(format!("checking the documents failed: {e}")))??;

    if storage.session(s.id.clone()).await?.is_some() {
        return Err(TransferError::Conflict(format!(
            "a session with id {} already exists on this server",
            s.id
        )));
    }
    for (id, _, _) in &docs {
        let stored = storage.load_doc(id.clone()).await?;
        if stored.snapshot.is_some() || !stored.changes.is_empty() {
            return Err(TransferError::Conflict(format!(
                "document {id} already exists on this server"
            )));
        }
    }
    let key_hash = unhex("facilitator_key_hash", &s.facilitator_key_hash)?;
    let now = crate::now_ms();
    let mut join_code = s.join_code.clone();
    let documents: Vec<NewDocument> = docs
        .iter()
        .map(|(id, kind, bytes)| NewDocument {
            id: id.clone(),
            kind: kind.clone(),
            snapshot: bytes.clone(),
        })
        .collect();
    let mut attempts = 0;
    loop {
        let row = SessionRow {
            id: s.id.clone(),
            title: s.title.clone(),
            template: s.template.clone(),
            join_code: join_code.clone(),
            facilitator_key_hash: key_hash.clone(),
            session_doc: s.session_doc.clone(),
            roster_doc: s.roster_doc.clone(),
            created_at: s.created_at,
            joining_open: s.joining_open,
        };
        match storage.create_session(row, documents.clone()).await {
            Ok(()) => break,
            Err(StorageError::JoinCodeTaken) if attempts < 20 => {
                attempts += 1;
                join_code = crate::sessions::new_join_code();
            }
            Err(e) => return Err(e.into()),
        }
    }
    let rest = import_rest(storage, &b, &docs, now).await;
    if let Err(e) = rest {
        // Nothing half-imported stays.
        let _ = storage.delete_session(s.id.clone()).await;
        return Err(e);
    }
    Ok(Imported {
        session_id: s.id.clone(),
        join_code,
        session_doc: s.session_doc.clone(),
    })
}

/// Participants, tickets, actors, hidden texts, retired history and dots
/// of a session whose row and documents were just created.
async fn import_rest(
    storage: &Storage,
    b: &Bundle,
    docs: &[(String, String, Vec<u8>)],
    now: i64,
) -> Result<(), TransferError> {
    let sid = &b.session.id;
    let mut first_ticket: std::collections::HashMap<&str, &BundleTicket> = Default::default();
    for t in &b.tickets {
        if let Some(p) = &t.participant_id {
            first_ticket.entry(p.as_str()).or_insert(t);
        }
    }
    for p in &b.participants {
        let row = ParticipantRow {
            id: p.id.clone(),
            session_id: sid.clone(),
            name: p.name.clone(),
            organization: p.organization.clone(),
            sector: p.sector.clone(),
            tier: p.tier.clone(),
            attendance: p.attendance.clone(),
            created_at: p.created_at,
        };
        // A participant comes with a ticket; one whose tickets are all
        // gone gets an unusable one, revoked below like theirs was.
        let (hash, expires) = match first_ticket.get(p.id.as_str()) {
            Some(t) => (unhex("a ticket hash", &t.hash)?, t.expires_at),
            None => (
                crate::sessions::hash_secret(&uuid::Uuid::new_v4().to_string()),
                0,
            ),
        };
        storage.add_participant(row, hash, expires).await?;
    }
    for t in &b.tickets {
        let is_first = t
            .participant_id
            .as_deref()
            .is_some_and(|p| first_ticket.get(p).is_some_and(|f| std::ptr::eq(*f, t)));
        if !is_first {
            let holder = match (&t.participant_id, t.viewer) {
                (Some(p), _) => TicketFor::Participant(p.clone()),
                (None, true) => TicketFor::Viewer,
                (None, false) => TicketFor::Facilitator,
            };
            storage
                .add_ticket(NewTicket {
                    hash: unhex("a ticket hash", &t.hash)?,
                    session_id: sid.clone(),
                    holder,
                    expires_at: t.expires_at,
                })
                .await?;
        }
    }
    let revoked: std::collections::BTreeSet<&str> = b
        .participants
        .iter()
        .map(|p| p.id.as_str())
        .filter(|p| {
            b.tickets
                .iter()
                .filter(|t| t.participant_id.as_deref() == Some(*p))
                .all(|t| t.revoked)
        })
        .collect();
    for p in revoked {
        storage
            .revoke_participant(sid.clone(), p.to_string())
            .await?;
    }
    let claims: Vec<(Vec<u8>, String)> = b
        .actors
        .iter()
        .map(|(a, o)| Ok((unhex("an actor id", a)?, o.clone())))
        .collect::<Result<_, TransferError>>()?;
    for (i, (id, _, bytes)) in docs.iter().enumerate() {
        let retired = b
            .retired
            .iter()
            .filter(|(d, _)| d == id)
            .map(|(_, h)| unhex("a change hash", h))
            .collect::<Result<Vec<_>, _>>()?;
        let hidden: Vec<(String, String)> = b
            .hidden
            .iter()
            .filter(|h| &h.doc == id)
            .map(|h| (h.note.clone(), h.text.clone()))
            .collect();
        storage
            .reroot(Reroot {
                doc_id: id.clone(),
                session_id: sid.clone(),
                snapshot: bytes.clone(),
                now_ms: now,
                retired,
                claims: if i == 0 { claims.clone() } else { Vec::new() },
                hidden,
            })
            .await?;
        let dots: Vec<(String, String, i64)> = b
            .dots
            .iter()
            .filter(|d| &d.doc == id)
            .map(|d| (d.participant.clone(), d.target.clone(), d.count))
            .collect();
        storage.save_dots(id.clone(), dots).await?;
    }
    Ok(())
}
