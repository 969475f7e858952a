//! The SQLite backend: one file, `tavolo.sqlite3` in the data directory.
//!
//! All writes go through one dedicated thread that owns the write connection
//! and commits in groups: it takes every request waiting in its queue, runs
//! each in its own savepoint inside one transaction, commits once (one
//! fsync for the whole group, `synchronous=FULL` in WAL mode) and only then
//! answers each caller. A caller that got `Ok` knows its rows are on disk.
//! Reads use a separate connection (WAL lets them run beside the writer).

use super::{
    ActorClaims, BadChunk, ChunkRef, NewDocument, NewTicket, ParticipantRow, Reroot, SessionRow,
    StorageError, StorageHealth, Store, StoredChange, StoredDoc, TicketRow,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// How many queued writes one group commit takes at most.
const MAX_GROUP: usize = 512;
type WriteFn = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;

struct WriteRequest {
    work: WriteFn,
    reply: oneshot::Sender<Result<(), StorageError>>,
}

/// The SQLite database: a cheap, cloneable handle.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<WriteRequest>,
    reader: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Dropped after `reader` (field order): see [`FileGuard`].
    guard: Arc<FileGuard>,
    /// The last group commit failed (and nothing has committed since).
    write_failing: Arc<AtomicBool>,
}

/// Makes sure the file SQLite has open is still the database at `path`.
///
/// SQLite keeps working on a file that was renamed over or unlinked (its
/// writes then go to a file nobody will open again), and its page cache can
/// hide garbage written over the file. Before every group commit and every
/// read, the guard checks that `path` is still the file opened at start
/// (same device and inode) and that it still starts with SQLite's header.
/// It keeps its own descriptor open for the life of the process: closing a
/// descriptor of a database file would drop SQLite's POSIX locks on it.
#[derive(Debug)]
struct FileGuard {
    path: PathBuf,
    file: std::fs::File,
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

impl FileGuard {
    fn new(path: &Path) -> Result<Self, StorageError> {
        let file = std::fs::File::open(path).map_err(|e| {
            StorageError::Unavailable(format!("cannot open {}: {e}", path.display()))
        })?;
        let guard = Self {
            path: path.to_path_buf(),
            file,
        };
        guard.check()?;
        Ok(guard)
    }

    fn check(&self) -> Result<(), StorageError> {
        let unavailable = |m: String| StorageError::Unavailable(m);
        let at_path = std::fs::metadata(&self.path).map_err(|e| {
            unavailable(format!(
                "the database file {} is gone: {e}",
                self.path.display()
            ))
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let open = self
                .file
                .metadata()
                .map_err(|e| unavailable(format!("cannot stat the open database file: {e}")))?;
            if (open.dev(), open.ino()) != (at_path.dev(), at_path.ino()) {
                return Err(unavailable(format!(
                    "the database file {} was replaced while the server was running",
                    self.path.display()
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = at_path;
        let mut header = [0_u8; 16];
        read_at(&self.file, &mut header)
            .map_err(|e| unavailable(format!("cannot read the database file: {e}")))?;
        if &header != SQLITE_HEADER {
            return Err(unavailable(format!(
                "the database file {} is damaged (it no longer starts with SQLite's header)",
                self.path.display()
            )));
        }
        Ok(())
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, 0)
}

#[cfg(not(unix))]
fn read_at(file: &std::fs::File, buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(buf)
}

/// Whether an SQLite error means the storage itself is failing (as opposed
/// to a request that broke a constraint).
pub fn is_fault(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        rusqlite::Error::SqliteFailure(f, _) => matches!(
            f.code,
            C::DiskFull
                | C::SystemIoFailure
                | C::NotADatabase
                | C::DatabaseCorrupt
                | C::CannotOpen
                | C::ReadOnly
                | C::DatabaseBusy
                | C::DatabaseLocked
                | C::OutOfMemory
        ),
        _ => false,
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    template TEXT NOT NULL,
    join_code TEXT NOT NULL UNIQUE,
    facilitator_key_hash BLOB NOT NULL,
    session_doc TEXT NOT NULL,
    roster_doc TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_session ON documents(session_id);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    name TEXT NOT NULL,
    organization TEXT NOT NULL,
    sector TEXT NOT NULL,
    tier TEXT NOT NULL,
    attendance TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    hash BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    participant_id TEXT,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    hash BLOB NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (doc_id, hash)
);
CREATE TABLE IF NOT EXISTS snapshots (
    doc_id TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    saved_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// Brings a database written by an older version up to date; each step is
/// idempotent.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // Read-only viewer tickets (the projector screen).
    let has_viewer: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('tickets') WHERE name = 'viewer'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_viewer {
        conn.execute_batch("ALTER TABLE tickets ADD COLUMN viewer INTEGER NOT NULL DEFAULT 0")?;
    }
    // Stored chunks that failed their checksum (and changes that depended
    // on them), moved out of `snapshots`/`changes` so that they are kept
    // for repair but never loaded or compacted away.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            hash BLOB,
            data BLOB NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS quarantine_by_doc ON quarantine(doc_id);",
    )?;
    // The facilitator can close joining.
    let has_joining: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('sessions') WHERE name = 'joining_open'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_joining {
        conn.execute_batch(
            "ALTER TABLE sessions ADD COLUMN joining_open INTEGER NOT NULL DEFAULT 1",
        )?;
    }
    // Who first wrote under each actor id of a session (`server`,
    // `facilitator`, `viewer` or `p:<participant id>`): an actor id is
    // refused to anyone else.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS actors (
            session_id TEXT NOT NULL,
            actor BLOB NOT NULL,
            owner TEXT NOT NULL,
            PRIMARY KEY (session_id, actor)
        );
        CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions(created_at);",
    )?;
    // Purges (contract v2): the hashes of a rewritten board's old history,
    // so a copy from before is refused; and the texts of hidden notes, kept
    // by the server only.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS retired_changes (
            doc_id TEXT NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (doc_id, hash)
        );
        CREATE TABLE IF NOT EXISTS hidden_texts (
            doc_id TEXT NOT NULL,
            note_id TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (doc_id, note_id)
        );",
    )?;
    // Who placed which dot (contract v2): the server's alone, never in a
    // document anyone can fetch.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS dots (
            doc_id TEXT NOT NULL,
            participant_id TEXT NOT NULL,
            target TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (doc_id, participant_id, target)
        );",
    )?;
    Ok(())
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: the WAL is fsynced at every commit, so a commit that returned
    // survives a crash or power loss, not only a process kill.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted rows are overwritten, not left in free pages: a note removed
    // or a session deleted leaves no copy of its text in the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `tavolo.sqlite3` in `dir` and starts the writer.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Join(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("tavolo.sqlite3");
        // A file that is not a database fails here (SQLITE_NOTADB) and is
        // left as it is: the server refuses to start rather than serve
        // boards it cannot read.
        let write_conn = open(&path)?;
        write_conn.execute_batch(SCHEMA)?;
        migrate(&write_conn)?;
        let reader = open(&path)?;
        let guard = Arc::new(FileGuard::new(&path)?);
        let write_failing = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<WriteRequest>(4096);
        let writer = Writer {
            guard: guard.clone(),
            failing: write_failing.clone(),
        };
        std::thread::Builder::new()
            .name("tavolo-storage-writer".into())
            .spawn(move || writer_loop(write_conn, rx, writer))
            .map_err(|e| StorageError::Join(e.to_string()))?;
        Ok(Self {
            writer: tx,
            reader: Arc::new(Mutex::new(reader)),
            path,
            guard,
            write_failing,
        })
    }

    /// Whether the last group commit failed.
    pub fn write_failing(&self) -> bool {
        self.write_failing.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` in the next group commit; returns once it is durable.
    pub async fn write(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), StorageError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(WriteRequest {
                work: Box::new(work),
                reply,
            })
            .await
            .map_err(|_| StorageError::Closed)?;
        rx.await.map_err(|_| StorageError::Closed)?
    }

    /// Runs a read on the reader connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let reader = self.reader.clone();
        let guard = self.guard.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Never answer from a file that is no longer the database (or
            // from a page cache hiding that the file was overwritten).
            guard.check()?;
            f(&conn).map_err(StorageError::from)
        })
        .await
        .map_err(|e| StorageError::Join(e.to_string()))?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create_session(
        &self,
        session: SessionRow,
        documents: Vec<NewDocument>,
    ) -> Result<(), StorageError> {
        self.write(move |tx| insert_session(tx, &session, &documents))
            .await
            .map_err(|e| {
                if is_constraint(&e) {
                    StorageError::JoinCodeTaken
                } else {
                    e
                }
            })
    }

    async fn add_participant(
        &self,
        participant: ParticipantRow,
        ticket_hash: Vec<u8>,
        ticket_expires_at: i64,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            let p = &participant;
            tx.execute(
                "INSERT INTO participants (id, session_id, name, organization, sector, tier, attendance, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![p.id, p.session_id, p.name, p.organization, p.sector, p.tier, p.attendance, p.created_at],
            )?;
            insert_ticket(
                tx,
                &NewTicket {
                    hash: ticket_hash,
                    session_id: p.session_id.clone(),
                    holder: super::TicketFor::Participant(p.id.clone()),
                    expires_at: ticket_expires_at,
                },
            )
        })
        .await
    }

    async fn remove_participant(&self, participant_id: String) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM tickets WHERE participant_id = ?1",
                params![participant_id],
            )?;
            tx.execute(
                "DELETE FROM participants WHERE id = ?1",
                params![participant_id],
            )?;
            Ok(())
        })
        .await
    }

    async fn add_ticket(&self, ticket: NewTicket) -> Result<(), StorageError> {
        self.write(move |tx| insert_ticket(tx, &ticket)).await
    }

    /// Storage's state for the health check: fails if the database cannot
    /// be read.
    async fn health(&self) -> Result<StorageHealth, StorageError> {
        let write_failing = self.write_failing();
        let (quarantined_chunks, quarantined_docs) = self
            .read(|c| {
                c.query_row(
                    "SELECT count(*), count(DISTINCT doc_id) FROM quarantine",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .await?;
        Ok(StorageHealth {
            write_failing,
            quarantined_chunks,
            quarantined_docs,
        })
    }

    /// Appends changes and, in the same transaction, records who first
    /// used the actor ids they claim (`(session_id, [(actor, owner)])`):
    /// an actor id is never stored without its owner.
    async fn append_changes_claiming(
        &self,
        doc_id: String,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        claims: Option<ActorClaims>,
    ) -> Result<(), StorageError> {
        if changes.is_empty() && claims.is_none() {
            return Ok(());
        }
        self.write(move |tx| {
            if let Some((session_id, claims)) = &claims {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR IGNORE INTO actors (session_id, actor, owner) VALUES (?1, ?2, ?3)",
                )?;
                for (actor, owner) in claims {
                    stmt.execute(params![session_id, actor, owner])?;
                }
            }
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO changes (doc_id, hash, data) VALUES (?1, ?2, ?3)",
            )?;
            for (hash, data) in &changes {
                stmt.execute(params![doc_id, hash, data])?;
            }
            Ok(())
        })
        .await
    }

    /// Replaces a document's log with a snapshot of everything in it. The
    /// caller (the document's actor, its only writer) guarantees that the
    /// snapshot contains every change stored for the document.
    async fn compact(
        &self,
        doc_id: String,
        snapshot: Vec<u8>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO snapshots (doc_id, data, saved_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at",
                params![doc_id, snapshot, now_ms],
            )?;
            tx.execute("DELETE FROM changes WHERE doc_id = ?1", params![doc_id])?;
            Ok(())
        })
        .await
    }

    /// Deletes everything of a session, in one transaction: its documents'
    /// changes, snapshots and quarantined chunks, its dots, hidden texts and
    /// retired hashes, actor owners, tickets, participants and the session
    /// itself; then folds the WAL
    /// into the file so that no copy stays in it (rows are overwritten,
    /// `secure_delete`). Returns whether there was such a session.
    async fn delete_session(&self, session_id: String) -> Result<bool, StorageError> {
        let existed = self.session(session_id.clone()).await?.is_some();
        let id = session_id;
        self.write(move |tx| {
            let docs = "(SELECT id FROM documents WHERE session_id = ?1)";
            for table in [
                "changes",
                "snapshots",
                "quarantine",
                "dots",
                "hidden_texts",
                "retired_changes",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE doc_id IN {docs}"),
                    params![id],
                )?;
            }
            for table in ["actors", "tickets", "participants", "documents"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE session_id = ?1"),
                    params![id],
                )?;
            }
            tx.execute("DELETE FROM sessions WHERE id = ?1", params![id])?;
            Ok(())
        })
        .await?;
        self.read(|conn| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .await?;
        Ok(existed)
    }

    /// Replaces a board with its rewritten self (a purge), in one
    /// transaction: its changes and snapshot give way to the new snapshot,
    /// the old change hashes are recorded as retired, the new actor ids'
    /// owners and the hidden texts are kept. Then the WAL is folded into
    /// the file, whose deleted rows `secure_delete` has overwritten: no copy
    /// of the purged text stays on disk.
    async fn reroot(&self, r: Reroot) -> Result<(), StorageError> {
        self.write(move |tx| {
            let doc = &r.doc_id;
            tx.execute("DELETE FROM changes WHERE doc_id = ?1", params![doc])?;
            tx.execute(
                "INSERT INTO snapshots (doc_id, data, saved_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at",
                params![doc, r.snapshot, r.now_ms],
            )?;
            let mut retire = tx.prepare_cached(
                "INSERT OR IGNORE INTO retired_changes (doc_id, hash) VALUES (?1, ?2)",
            )?;
            for h in &r.retired {
                retire.execute(params![doc, h])?;
            }
            let mut own = tx.prepare_cached(
                "INSERT OR IGNORE INTO actors (session_id, actor, owner) VALUES (?1, ?2, ?3)",
            )?;
            for (actor, owner) in &r.claims {
                own.execute(params![r.session_id, actor, owner])?;
            }
            let mut hide = tx.prepare_cached(
                "INSERT INTO hidden_texts (doc_id, note_id, text) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id, note_id) DO UPDATE SET text = excluded.text",
            )?;
            for (note, text) in &r.hidden {
                hide.execute(params![doc, note, text])?;
            }
            Ok(())
        })
        .await?;
        self.read(|conn| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .await
    }

    /// A board's retired change hashes.
    async fn load_retired(&self, doc_id: String) -> Result<Vec<Vec<u8>>, StorageError> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT hash FROM retired_changes WHERE doc_id = ?1")?;
            stmt.query_map(params![doc_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
    }

    /// A board's hidden notes' texts: (note id, text).
    async fn load_hidden(&self, doc_id: String) -> Result<Vec<(String, String)>, StorageError> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT note_id, text FROM hidden_texts WHERE doc_id = ?1")?;
            stmt.query_map(params![doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
    }

    /// Forgets a hidden note's text (shown again, or the note is gone).
    async fn forget_hidden(&self, doc_id: String, note_id: String) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM hidden_texts WHERE doc_id = ?1 AND note_id = ?2",
                params![doc_id, note_id],
            )?;
            Ok(())
        })
        .await
    }

    /// A question's dots: (participant, target, count).
    async fn load_dots(&self, doc_id: String) -> Result<Vec<(String, String, i64)>, StorageError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT participant_id, target, count FROM dots WHERE doc_id = ?1",
            )?;
            stmt.query_map(params![doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
    }

    /// Sets dots (a count of 0 removes the row), in one transaction.
    async fn save_dots(
        &self,
        doc_id: String,
        dots: Vec<(String, String, i64)>,
    ) -> Result<(), StorageError> {
        if dots.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            let mut set = tx.prepare_cached(
                "INSERT INTO dots (doc_id, participant_id, target, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (doc_id, participant_id, target) DO UPDATE SET count = excluded.count",
            )?;
            let mut clear = tx.prepare_cached(
                "DELETE FROM dots WHERE doc_id = ?1 AND participant_id = ?2 AND target = ?3",
            )?;
            for (who, target, count) in &dots {
                if *count == 0 {
                    clear.execute(params![doc_id, who, target])?;
                } else {
                    set.execute(params![doc_id, who, target, count])?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn load_doc(&self, doc_id: String) -> Result<StoredDoc, StorageError> {
        self.read(move |conn| {
            let snapshot: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT data FROM snapshots WHERE doc_id = ?1",
                    params![doc_id],
                    |r| r.get(0),
                )
                .optional()?;
            let mut stmt = conn.prepare_cached(
                "SELECT seq, hash, data FROM changes WHERE doc_id = ?1 ORDER BY seq",
            )?;
            let changes = stmt
                .query_map(params![doc_id], |r| {
                    Ok(StoredChange {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                        data: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(StoredDoc { snapshot, changes })
        })
        .await
    }

    /// Moves chunks that must not be loaded out of a document's live rows
    /// into `quarantine`, in one transaction: a chunk is either live or
    /// quarantined, never lost in between. Returns how many were moved.
    async fn quarantine(
        &self,
        doc_id: String,
        bad: Vec<BadChunk>,
        now_ms: i64,
    ) -> Result<usize, StorageError> {
        let moved = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = moved.clone();
        self.write(move |tx| {
            let mut n = 0;
            for b in &bad {
                let (kind, hash, removed) = match &b.chunk {
                    ChunkRef::Snapshot => (
                        "snapshot",
                        None,
                        tx.execute(
                            "DELETE FROM snapshots WHERE doc_id = ?1 AND data = ?2",
                            params![doc_id, b.data],
                        )?,
                    ),
                    ChunkRef::Change { seq, hash } => (
                        "change",
                        Some(hash),
                        tx.execute(
                            "DELETE FROM changes WHERE doc_id = ?1 AND seq = ?2",
                            params![doc_id, seq],
                        )?,
                    ),
                };
                if removed > 0 {
                    tx.execute(
                        "INSERT INTO quarantine (doc_id, kind, hash, data, reason, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![doc_id, kind, hash, b.data, b.reason, now_ms],
                    )?;
                    n += 1;
                }
            }
            counter.store(n, Ordering::Relaxed);
            Ok(())
        })
        .await?;
        Ok(moved.load(Ordering::Relaxed))
    }

    async fn session_by_join_code(&self, code: String) -> Result<Option<SessionRow>, StorageError> {
        self.read(move |c| {
            c.query_row(
                &format!("{SESSION_COLUMNS} WHERE join_code = ?1"),
                params![code],
                session_row,
            )
            .optional()
        })
        .await
    }

    async fn session(&self, id: String) -> Result<Option<SessionRow>, StorageError> {
        self.read(move |c| {
            c.query_row(
                &format!("{SESSION_COLUMNS} WHERE id = ?1"),
                params![id],
                session_row,
            )
            .optional()
        })
        .await
    }

    /// Every document of a session: (doc id, kind).
    async fn session_documents(
        &self,
        session_id: String,
    ) -> Result<Vec<(String, String)>, StorageError> {
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT id, kind FROM documents WHERE session_id = ?1")?;
            let rows = stmt
                .query_map(params![session_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// The recorded owners of a session's actor ids.
    async fn actors(&self, session_id: String) -> Result<Vec<(Vec<u8>, String)>, StorageError> {
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT actor, owner FROM actors WHERE session_id = ?1")?;
            let rows = stmt
                .query_map(params![session_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// Opens or closes joining.
    async fn set_joining_open(&self, session_id: String, open: bool) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE sessions SET joining_open = ?2 WHERE id = ?1",
                params![session_id, open as i64],
            )
            .map(|_| ())
        })
        .await
    }

    /// Participants who joined a session and were not removed.
    async fn participant_count(&self, session_id: String) -> Result<i64, StorageError> {
        self.read(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM participants p WHERE p.session_id = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM tickets t WHERE t.participant_id = p.id AND t.revoked = 1)",
                params![session_id],
                |r| r.get(0),
            )
        })
        .await
    }

    /// Sessions created since `since_ms`.
    async fn sessions_created_since(&self, since_ms: i64) -> Result<i64, StorageError> {
        self.read(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM sessions WHERE created_at >= ?1",
                params![since_ms],
                |r| r.get(0),
            )
        })
        .await
    }

    /// Replaces the facilitator key and revokes every facilitator and
    /// viewer ticket of the session (and every participant's, if asked).
    async fn rotate_key(
        &self,
        session_id: String,
        key_hash: Vec<u8>,
        revoke_participants: bool,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE sessions SET facilitator_key_hash = ?2 WHERE id = ?1",
                params![session_id, key_hash],
            )?;
            let which = if revoke_participants {
                "UPDATE tickets SET revoked = 1 WHERE session_id = ?1"
            } else {
                "UPDATE tickets SET revoked = 1 WHERE session_id = ?1 AND participant_id IS NULL"
            };
            tx.execute(which, params![session_id]).map(|_| ())
        })
        .await
    }

    /// Revokes every ticket of a participant of a session.
    async fn revoke_participant(
        &self,
        session_id: String,
        participant_id: String,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tickets SET revoked = 1 WHERE session_id = ?1 AND participant_id = ?2",
                params![session_id, participant_id],
            )
            .map(|_| ())
        })
        .await
    }

    async fn participants(&self, session_id: String) -> Result<Vec<ParticipantRow>, StorageError> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT id, session_id, name, organization, sector, tier, attendance, created_at \
                 FROM participants WHERE session_id = ?1 ORDER BY created_at, id",
            )?;
            st.query_map(params![session_id], |r| {
                Ok(ParticipantRow {
                    id: r.get(0)?,
                    session_id: r.get(1)?,
                    name: r.get(2)?,
                    organization: r.get(3)?,
                    sector: r.get(4)?,
                    tier: r.get(5)?,
                    attendance: r.get(6)?,
                    created_at: r.get(7)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn tickets(&self, session_id: String) -> Result<Vec<(Vec<u8>, TicketRow)>, StorageError> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT t.hash, t.session_id, t.participant_id, t.expires_at, t.revoked, t.viewer, p.attendance \
                 FROM tickets t LEFT JOIN participants p ON p.id = t.participant_id \
                 WHERE t.session_id = ?1 ORDER BY t.hash",
            )?;
            st.query_map(params![session_id], |r| {
                Ok((
                    r.get(0)?,
                    TicketRow {
                        session_id: r.get(1)?,
                        participant_id: r.get(2)?,
                        expires_at: r.get(3)?,
                        revoked: r.get::<_, i64>(4)? != 0,
                        viewer: r.get::<_, i64>(5)? != 0,
                        attendance: r.get(6)?,
                    },
                ))
            })?
            .collect()
        })
        .await
    }

    async fn ticket(&self, hash: Vec<u8>) -> Result<Option<TicketRow>, StorageError> {
        self.read(move |c| {
            c.query_row(
                "SELECT t.session_id, t.participant_id, t.expires_at, t.revoked, t.viewer, p.attendance \
                 FROM tickets t LEFT JOIN participants p ON p.id = t.participant_id WHERE t.hash = ?1",
                params![hash],
                |r| {
                    Ok(TicketRow {
                        session_id: r.get(0)?,
                        participant_id: r.get(1)?,
                        expires_at: r.get(2)?,
                        revoked: r.get::<_, i64>(3)? != 0,
                        viewer: r.get::<_, i64>(4)? != 0,
                        attendance: r.get(5)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn meta(&self, key: &'static str) -> Result<Option<String>, StorageError> {
        self.read(move |c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
        })
        .await
    }

    async fn set_meta(&self, key: &'static str, value: String) -> Result<(), StorageError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }
}

const SESSION_COLUMNS: &str = "SELECT id, title, template, join_code, facilitator_key_hash, session_doc, roster_doc, created_at, joining_open FROM sessions";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        title: r.get(1)?,
        template: r.get(2)?,
        join_code: r.get(3)?,
        facilitator_key_hash: r.get(4)?,
        session_doc: r.get(5)?,
        roster_doc: r.get(6)?,
        created_at: r.get(7)?,
        joining_open: r.get::<_, i64>(8)? != 0,
    })
}

fn insert_session(
    tx: &Connection,
    s: &SessionRow,
    documents: &[NewDocument],
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO sessions (id, title, template, join_code, facilitator_key_hash, session_doc, roster_doc, created_at, joining_open)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![s.id, s.title, s.template, s.join_code, s.facilitator_key_hash, s.session_doc, s.roster_doc, s.created_at, s.joining_open],
    )?;
    let mut document =
        tx.prepare_cached("INSERT INTO documents (id, session_id, kind) VALUES (?1, ?2, ?3)")?;
    let mut snapshot =
        tx.prepare_cached("INSERT INTO snapshots (doc_id, data, saved_at) VALUES (?1, ?2, ?3)")?;
    for d in documents {
        document.execute(params![d.id, s.id, d.kind])?;
        snapshot.execute(params![d.id, d.snapshot, s.created_at])?;
    }
    Ok(())
}

fn insert_ticket(tx: &Connection, t: &NewTicket) -> rusqlite::Result<()> {
    let (participant_id, viewer) = t.columns();
    tx.execute(
        "INSERT INTO tickets (hash, session_id, participant_id, expires_at, viewer) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![t.hash, t.session_id, participant_id, t.expires_at, viewer],
    )?;
    Ok(())
}

/// Whether an error is a broken UNIQUE (or other) constraint.
fn is_constraint(e: &StorageError) -> bool {
    matches!(
        e,
        StorageError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// What the writer thread shares with the handles.
struct Writer {
    guard: Arc<FileGuard>,
    failing: Arc<AtomicBool>,
}

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<WriteRequest>, shared: Writer) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let outcome = run_group(&mut conn, &mut batch, &shared.guard);
        if outcome.is_ok() {
            crate::metrics::commit_took(started);
        }
        match outcome {
            Ok(results) => {
                // A request that failed for the storage's sake (not its own)
                // counts as a failing write too.
                let faulty = results
                    .iter()
                    .any(|r| matches!(r, Err(StorageError::Sqlite(e)) if is_fault(e)));
                if shared.failing.swap(faulty, Ordering::Relaxed) && !faulty {
                    tracing::warn!("storage writes succeed again");
                }
                for (req, result) in batch.drain(..).zip(results) {
                    let _ = req.reply.send(result);
                }
            }
            Err(e) => {
                // Nothing of the group is on disk; every caller is told and
                // decides (document actors retry, HTTP calls answer 503).
                shared.failing.store(true, Ordering::Relaxed);
                tracing::error!(error = %e, writes = batch.len(), "group commit failed");
                let msg = match e {
                    StorageError::Unavailable(m) => m,
                    other => other.to_string(),
                };
                for req in batch.drain(..) {
                    let _ = req.reply.send(Err(StorageError::Unavailable(msg.clone())));
                }
            }
        }
    }
    // SQLite's connection closes before the guard's descriptor does.
    drop(conn);
    drop(shared);
    tracing::debug!("storage writer stopped");
}

/// One transaction for the whole group, a savepoint per request so one
/// failing request does not undo the others.
fn run_group(
    conn: &mut Connection,
    batch: &mut [WriteRequest],
    guard: &FileGuard,
) -> Result<Vec<Result<(), StorageError>>, StorageError> {
    let mut tx = conn.transaction()?;
    let mut results = Vec::with_capacity(batch.len());
    for req in batch.iter_mut() {
        let work = std::mem::replace(&mut req.work, Box::new(|_| Ok(())));
        let sp = tx.savepoint()?;
        match work(&sp) {
            Ok(()) => {
                sp.commit()?;
                results.push(Ok(()));
            }
            Err(e) => {
                drop(sp); // rolls back this request only
                results.push(Err(StorageError::Sqlite(e)));
            }
        }
    }
    // Commit nothing into a file that is no longer the database: the
    // transaction rolls back when dropped.
    guard.check()?;
    tx.set_drop_behavior(rusqlite::DropBehavior::Commit);
    tx.commit()?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_survive_reopening_and_compaction_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStore::open(dir.path()).unwrap();
        storage
            .append_changes(
                "d".into(),
                vec![
                    (vec![1], vec![10]),
                    (vec![2], vec![20]),
                    (vec![1], vec![10]),
                ],
            )
            .await
            .unwrap();
        let loaded = storage.load_doc("d".into()).await.unwrap();
        let data = |d: &StoredDoc| d.changes.iter().map(|c| c.data.clone()).collect::<Vec<_>>();
        assert_eq!(data(&loaded), vec![vec![10], vec![20]]);
        storage.compact("d".into(), vec![99], 1).await.unwrap();
        storage
            .append_changes("d".into(), vec![(vec![3], vec![30])])
            .await
            .unwrap();
        drop(storage);
        let reopened = SqliteStore::open(dir.path()).unwrap();
        let loaded = reopened.load_doc("d".into()).await.unwrap();
        assert_eq!(loaded.snapshot, Some(vec![99]));
        assert_eq!(data(&loaded), vec![vec![30]]);
    }

    #[tokio::test]
    async fn quarantine_moves_chunks_out_of_the_live_tables_and_migration_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStore::open(dir.path()).unwrap();
        storage
            .write(|tx| {
                tx.execute(
                    "INSERT INTO snapshots (doc_id, data, saved_at) VALUES ('d', x'0707', 1)",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        storage
            .append_changes("d".into(), vec![(vec![1], vec![10]), (vec![2], vec![20])])
            .await
            .unwrap();
        let loaded = storage.load_doc("d".into()).await.unwrap();
        let first = loaded.changes[0].clone();
        let bad = vec![
            BadChunk {
                chunk: ChunkRef::Snapshot,
                data: vec![7, 7],
                reason: "damaged: test".into(),
            },
            BadChunk {
                chunk: ChunkRef::Change {
                    seq: first.seq,
                    hash: first.hash.clone(),
                },
                data: first.data.clone(),
                reason: "damaged: test".into(),
            },
        ];
        assert_eq!(
            storage
                .quarantine("d".into(), bad.clone(), 5)
                .await
                .unwrap(),
            2
        );
        // Moving the same chunks again moves nothing (they are gone).
        assert_eq!(storage.quarantine("d".into(), bad, 6).await.unwrap(), 0);
        let loaded = storage.load_doc("d".into()).await.unwrap();
        assert!(loaded.snapshot.is_none());
        assert_eq!(loaded.changes.len(), 1);
        let health = storage.health().await.unwrap();
        assert_eq!((health.quarantined_chunks, health.quarantined_docs), (2, 1));
        assert!(!health.write_failing);
        drop(storage);
        // Opening again runs the migration again, harmlessly.
        let reopened = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(reopened.health().await.unwrap().quarantined_chunks, 2);
    }

    #[tokio::test]
    async fn concurrent_writes_are_grouped_and_one_failure_spares_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStore::open(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..100_u8 {
            let s = storage.clone();
            tasks.push(tokio::spawn(async move {
                s.append_changes(format!("d{}", i % 3), vec![(vec![i], vec![i])])
                    .await
            }));
        }
        let failing = storage.write(|tx| {
            tx.execute("INSERT INTO no_such_table VALUES (1)", [])?;
            Ok(())
        });
        assert!(failing.await.is_err());
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let total: usize =
            futures_util::future::join_all((0..3).map(|i| storage.load_doc(format!("d{i}"))))
                .await
                .into_iter()
                .map(|d| d.unwrap().changes.len())
                .sum();
        assert_eq!(total, 100);
    }
}
