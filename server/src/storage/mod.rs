//! Storage: sessions, participants, tickets, and every document as an
//! append-only log of Automerge changes plus an occasional snapshot.
//!
//! [`Store`] is what the rest of the server asks of storage, in named,
//! intent-level calls (create a session, add a participant, append a
//! document's changes…); [`Storage`] is the cheap handle the server passes
//! around. Two backends implement it and pass one contract suite
//! (`tests/it/storage.rs`):
//!
//! - [`sqlite`]: the embedded default, one file in the data directory, one
//!   writer thread doing group commits.
//! - [`postgres`]: PostgreSQL, for several nodes sharing the load; schema
//!   migrations are SQL files under `server/migrations/postgres/`, applied
//!   by sqlx's migrator at start.
//!
//! **Durability:** every write resolves only once it is committed. An `Ok`
//! means the rows are in the database and survive a crash of the server
//! (SQLite: `synchronous=FULL` in WAL mode; PostgreSQL: the commit returned
//! with `synchronous_commit=on`). Nothing that reflects a write may leave
//! the server before the write returned `Ok`.
//!
//! Every call of [`Store`] is one transaction: it lands whole or not at all.

pub mod lease;
pub mod postgres;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use std::path::Path;
use std::sync::Arc;

/// Loose changes of a document after which its actor compacts it.
pub const COMPACT_AFTER_CHANGES: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgresql error: {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("storage is shut down")]
    Closed,
    #[error("storage task failed: {0}")]
    Join(String),
    /// The database cannot be used: the file was replaced or damaged, a
    /// group commit failed (disk full, I/O error), or the database server
    /// cannot be reached.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// [`Store::create_session`]: another session already has this join
    /// code (the caller draws another).
    #[error("the join code is already taken")]
    JoinCodeTaken,
    /// A document write of a session whose lease this node no longer
    /// holds (another node serves it now): refused, nothing written.
    #[error("this node no longer holds the session's lease")]
    Fenced,
}

/// The storage a server runs on: a cheap, cloneable handle to one backend.
///
/// It dereferences to [`Store`], so `storage.load_doc(id)` calls the
/// backend directly.
#[derive(Clone)]
pub struct Storage(Arc<dyn Store>);

impl Storage {
    pub fn new(store: impl Store) -> Self {
        Self(Arc::new(store))
    }

    /// Opens the storage a server was configured with: PostgreSQL when
    /// `database_url` is a `postgres://` or `postgresql://` URL, else the
    /// SQLite file in `data_dir`.
    pub async fn connect(
        data_dir: &Path,
        database_url: Option<&str>,
    ) -> Result<Self, StorageError> {
        match database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) if is_postgres_url(url) => Ok(Self::new(PostgresStore::connect(url).await?)),
            Some(other) => Err(StorageError::Unavailable(format!(
                "unsupported database url {:?}: expected postgres:// or postgresql:// (leave it unset for SQLite in the data directory)",
                redact_url(other)
            ))),
            None => Self::sqlite(data_dir),
        }
    }

    /// The SQLite file `tavolo.sqlite3` in `dir` (created if needed).
    pub fn sqlite(dir: &Path) -> Result<Self, StorageError> {
        Ok(Self::new(SqliteStore::open(dir)?))
    }

    /// A PostgreSQL database, its schema brought up to date.
    pub async fn postgres(url: &str) -> Result<Self, StorageError> {
        Ok(Self::new(PostgresStore::connect(url).await?))
    }
}

impl std::ops::Deref for Storage {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    let url = url.trim_start();
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` without its password, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let after = &rest[userinfo.len()..];
            format!("{scheme}://{user}:***{after}")
        }
        _ => url.to_string(),
    }
}

/// What the server asks of storage. Every method is one transaction, and
/// a write returns `Ok` only once it is committed (see the module docs).
///
/// Strings are owned so that the futures are `'static`-friendly and the
/// trait stays object-safe (the server holds `Arc<dyn Store>`).
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Several nodes: a handle whose document writes carry `fence` and are
    /// refused once another node holds the session's lease. `None`: this
    /// backend serves one node, nothing to fence.
    fn fenced(&self, _fence: &crate::ownership::Fence) -> Option<Storage> {
        None
    }

    /// Several nodes: the lease manager that says which node serves which
    /// session (`node` is this node's id, `url` how the others reach it).
    /// `None`: this backend serves one node.
    fn ownership(
        &self,
        _node: &str,
        _url: &str,
        _ttl: std::time::Duration,
    ) -> Option<Arc<dyn crate::ownership::Ownership>> {
        None
    }

    /// Storage's state for the health check: fails if the database cannot
    /// be read.
    async fn health(&self) -> Result<StorageHealth, StorageError>;

    // Sessions.

    /// Creates a session with its documents, each starting from a
    /// snapshot saved at the session's `created_at`. Fails with
    /// [`StorageError::JoinCodeTaken`] if the join code is in use.
    async fn create_session(
        &self,
        session: SessionRow,
        documents: Vec<NewDocument>,
    ) -> Result<(), StorageError>;
    async fn session(&self, id: String) -> Result<Option<SessionRow>, StorageError>;
    async fn session_by_join_code(&self, code: String) -> Result<Option<SessionRow>, StorageError>;
    /// Every document of a session: (doc id, kind).
    async fn session_documents(
        &self,
        session_id: String,
    ) -> Result<Vec<(String, String)>, StorageError>;
    /// Sessions created since `since_ms`.
    async fn sessions_created_since(&self, since_ms: i64) -> Result<i64, StorageError>;
    /// Opens or closes joining.
    async fn set_joining_open(&self, session_id: String, open: bool) -> Result<(), StorageError>;
    /// Replaces the facilitator key and revokes every facilitator and
    /// viewer ticket of the session (and every participant's, if asked).
    async fn rotate_key(
        &self,
        session_id: String,
        key_hash: Vec<u8>,
        revoke_participants: bool,
    ) -> Result<(), StorageError>;
    /// Deletes everything of a session: its documents' changes, snapshots
    /// and quarantined chunks, its dots, actor owners, tickets,
    /// participants and the session itself, leaving no copy the backend
    /// can remove. Returns whether there was such a session.
    async fn delete_session(&self, session_id: String) -> Result<bool, StorageError>;

    // Participants and tickets.

    /// Adds a participant together with their ticket (whose hash is
    /// `ticket_hash`).
    async fn add_participant(
        &self,
        participant: ParticipantRow,
        ticket_hash: Vec<u8>,
        ticket_expires_at: i64,
    ) -> Result<(), StorageError>;
    /// Takes back a participant whose join could not finish (their roster
    /// entry could not be written): their tickets and their row.
    async fn remove_participant(&self, participant_id: String) -> Result<(), StorageError>;
    /// Participants who joined a session and were not removed.
    async fn participant_count(&self, session_id: String) -> Result<i64, StorageError>;
    /// Issues a ticket.
    async fn add_ticket(&self, ticket: NewTicket) -> Result<(), StorageError>;
    /// Every participant row of a session (for a session's export).
    async fn participants(&self, session_id: String) -> Result<Vec<ParticipantRow>, StorageError>;
    /// Every ticket of a session with its hash (for a session's export).
    async fn tickets(&self, session_id: String) -> Result<Vec<(Vec<u8>, TicketRow)>, StorageError>;
    async fn ticket(&self, hash: Vec<u8>) -> Result<Option<TicketRow>, StorageError>;
    /// Revokes every ticket of a participant of a session.
    async fn revoke_participant(
        &self,
        session_id: String,
        participant_id: String,
    ) -> Result<(), StorageError>;

    // Documents.

    /// A document as stored: its snapshot and the changes after it, in the
    /// order they were appended.
    async fn load_doc(&self, doc_id: String) -> Result<StoredDoc, StorageError>;
    /// Appends changes (`(hash, bytes)`) to a document's log, idempotent
    /// per change hash.
    async fn append_changes(
        &self,
        doc_id: String,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), StorageError> {
        self.append_changes_claiming(doc_id, changes, None).await
    }
    /// Appends changes and, in the same transaction, records who first
    /// used the actor ids they claim (`(session_id, [(actor, owner)])`):
    /// an actor id is never stored without its owner.
    async fn append_changes_claiming(
        &self,
        doc_id: String,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        claims: Option<ActorClaims>,
    ) -> Result<(), StorageError>;
    /// Replaces a document's log with a snapshot of everything in it. The
    /// caller (the document's actor, its only writer) guarantees that the
    /// snapshot contains every change stored for the document.
    async fn compact(
        &self,
        doc_id: String,
        snapshot: Vec<u8>,
        now_ms: i64,
    ) -> Result<(), StorageError>;
    /// Replaces a board with its rewritten self (a purge): its changes and
    /// snapshot give way to the new snapshot, the old change hashes are
    /// recorded as retired, the new actor ids' owners and the hidden texts
    /// are kept; then no copy of the purged history is left that the
    /// backend can remove.
    async fn reroot(&self, reroot: Reroot) -> Result<(), StorageError>;
    /// Moves chunks that must not be loaded out of a document's live rows
    /// into quarantine: a chunk is either live or quarantined, never lost
    /// in between. Returns how many were moved (chunks already gone are
    /// not counted).
    async fn quarantine(
        &self,
        doc_id: String,
        bad: Vec<BadChunk>,
        now_ms: i64,
    ) -> Result<usize, StorageError>;
    /// The recorded owners of a session's actor ids.
    async fn actors(&self, session_id: String) -> Result<Vec<(Vec<u8>, String)>, StorageError>;
    /// A board's retired change hashes.
    async fn load_retired(&self, doc_id: String) -> Result<Vec<Vec<u8>>, StorageError>;
    /// A board's hidden notes' texts: (note id, text).
    async fn load_hidden(&self, doc_id: String) -> Result<Vec<(String, String)>, StorageError>;
    /// Forgets a hidden note's text (shown again, or the note is gone).
    async fn forget_hidden(&self, doc_id: String, note_id: String) -> Result<(), StorageError>;
    /// A question's dots: (participant, target, count).
    async fn load_dots(&self, doc_id: String) -> Result<Vec<(String, String, i64)>, StorageError>;
    /// Sets dots (a count of 0 removes the row).
    async fn save_dots(
        &self,
        doc_id: String,
        dots: Vec<(String, String, i64)>,
    ) -> Result<(), StorageError>;

    // Server settings.

    async fn meta(&self, key: &'static str) -> Result<Option<String>, StorageError>;
    async fn set_meta(&self, key: &'static str, value: String) -> Result<(), StorageError>;
}

/// A document of a new session and the snapshot it starts from.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub id: String,
    /// `session`, `roster` or `question`.
    pub kind: String,
    pub snapshot: Vec<u8>,
}

/// Whom a ticket is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketFor {
    Participant(String),
    Facilitator,
    Viewer,
}

/// A ticket to store: only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub hash: Vec<u8>,
    pub session_id: String,
    pub holder: TicketFor,
    pub expires_at: i64,
}

impl NewTicket {
    /// The `participant_id` and `viewer` columns.
    pub(crate) fn columns(&self) -> (Option<&str>, bool) {
        match &self.holder {
            TicketFor::Participant(p) => (Some(p.as_str()), false),
            TicketFor::Facilitator => (None, false),
            TicketFor::Viewer => (None, true),
        }
    }
}

/// What [`Store::reroot`] writes.
#[derive(Debug)]
pub struct Reroot {
    pub doc_id: String,
    pub session_id: String,
    pub snapshot: Vec<u8>,
    pub now_ms: i64,
    pub retired: Vec<Vec<u8>>,
    /// (actor id bytes, owner key)
    pub claims: Vec<(Vec<u8>, String)>,
    /// (note id, text)
    pub hidden: Vec<(String, String)>,
}

/// A document as stored: the latest snapshot (if any) and the changes after it.
#[derive(Debug, Default)]
pub struct StoredDoc {
    pub snapshot: Option<Vec<u8>>,
    pub changes: Vec<StoredChange>,
}

/// One row of a document's change log.
#[derive(Debug, Clone)]
pub struct StoredChange {
    pub seq: i64,
    /// The change's hash as computed when it was saved.
    pub hash: Vec<u8>,
    pub data: Vec<u8>,
}

/// A stored chunk that must not be loaded, and why.
#[derive(Debug, Clone)]
pub struct BadChunk {
    pub chunk: ChunkRef,
    pub data: Vec<u8>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub enum ChunkRef {
    Snapshot,
    Change { seq: i64, hash: Vec<u8> },
}

/// What `GET /healthz` reports about storage.
#[derive(Debug, Clone, Default)]
pub struct StorageHealth {
    /// The last group commit failed.
    pub write_failing: bool,
    /// Rows in `quarantine`, and the documents they belong to.
    pub quarantined_chunks: i64,
    pub quarantined_docs: i64,
}

/// A session row.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub title: String,
    pub template: String,
    pub join_code: String,
    pub facilitator_key_hash: Vec<u8>,
    pub session_doc: String,
    pub roster_doc: String,
    pub created_at: i64,
    /// The facilitator lets newcomers join (default) or has closed joining.
    pub joining_open: bool,
}

/// Actor ids a session's changes claim: `(session_id, [(actor, owner)])`.
pub type ActorClaims = (String, Vec<(Vec<u8>, String)>);

/// A ticket row joined with what it grants.
#[derive(Debug, Clone)]
pub struct TicketRow {
    pub session_id: String,
    /// `None` for a facilitator or viewer ticket.
    pub participant_id: Option<String>,
    /// The participant's attendance (`in_room`/`remote`), for presence.
    pub attendance: Option<String>,
    /// A read-only screen's ticket.
    pub viewer: bool,
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct ParticipantRow {
    pub id: String,
    pub session_id: String,
    pub name: String,
    pub organization: String,
    pub sector: String,
    pub tier: String,
    pub attendance: String,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_choose_the_backend_and_lose_their_password_in_messages() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("sqlite://x"));
        assert!(!is_postgres_url("./data"));
        assert_eq!(
            redact_url("postgres://tavolo:s3cret@db:5432/tavolo?sslmode=disable"),
            "postgres://tavolo:***@db:5432/tavolo?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://tavolo@db/tavolo"),
            "postgres://tavolo@db/tavolo"
        );
        assert_eq!(redact_url("postgres://db/x@y"), "postgres://db/x@y");
    }

    #[tokio::test]
    async fn an_unsupported_database_url_is_refused_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let err = Storage::connect(dir.path(), Some("mysql://root:pw@h/db"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported database url"), "{err}");
        assert!(!err.contains("pw@"), "the password leaked: {err}");
        assert!(!dir.path().join("tavolo.sqlite3").exists());
        // No url, or an empty one: SQLite in the data directory.
        Storage::connect(dir.path(), Some("")).await.unwrap();
        assert!(dir.path().join("tavolo.sqlite3").exists());
    }
}
