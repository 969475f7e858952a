//! The PostgreSQL backend, for several server nodes sharing one database.
//!
//! Every call is one transaction on a pooled connection, and returns once
//! PostgreSQL has answered its `COMMIT`: every connection is opened with
//! `synchronous_commit=on` whatever the server's default, so a commit that
//! returned is in the write-ahead log on disk. There is no group commit of
//! our own: concurrent transactions run on separate connections, and
//! PostgreSQL flushes their commit records together.
//!
//! The schema is SQL files under `server/migrations/postgres/`, embedded in
//! the binary and applied at start by sqlx's migrator (which takes an
//! advisory lock, so nodes starting together migrate once).
//!
//! Note ids, dot targets and hidden texts come from participants and are
//! stored as UTF-8 bytes (`BYTEA`): PostgreSQL's `TEXT` refuses NUL, which a
//! hostile client could put in a note.

use super::{
    ActorClaims, BadChunk, ChunkRef, NewDocument, NewTicket, ParticipantRow, Reroot, SessionRow,
    StorageError, StorageHealth, Store, StoredChange, StoredDoc, TicketRow, redact_url,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, migrate::Migrator};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// What a fenced write fails with (mapped to [`StorageError::Fenced`]).
const FENCED: &str = "this node no longer holds the session's lease";

/// Connections one server node keeps to PostgreSQL at most.
const MAX_CONNECTIONS: u32 = 16;
/// How long a call waits for a free (or new) connection before failing:
/// document actors then hold their changes and retry, HTTP calls answer 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL database: a cheap, cloneable handle to a connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Set on the handle a session's document actors write through: every
    /// document write first checks, in its transaction, that this node
    /// still holds the session's lease with this token (see `lease`).
    fence: Option<crate::ownership::Fence>,
    /// The URL without its password, for messages.
    shown: String,
    /// The last write failed for the database's sake (not the request's).
    write_failing: Arc<AtomicBool>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`)
    /// and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let shown = redact_url(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::Unavailable(format!("bad database url {shown}: {e}")))?
            .application_name("tavolo-server")
            // The durability promise: a commit returns once it is on disk,
            // whatever the database's default.
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| {
                StorageError::Unavailable(format!("cannot connect to PostgreSQL at {shown}: {e}"))
            })?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            StorageError::Unavailable(format!(
                "cannot bring the schema of {shown} up to date: {e}"
            ))
        })?;
        Ok(Self {
            pool,
            fence: None,
            shown,
            write_failing: Arc::new(AtomicBool::new(false)),
        })
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A handle whose document writes are fenced by `fence`.
    pub fn fenced_by(&self, fence: crate::ownership::Fence) -> Self {
        Self {
            fence: Some(fence),
            ..self.clone()
        }
    }

    /// In a document write's transaction: refuses it unless this node
    /// still holds the session's lease with the token it acquired. `FOR
    /// SHARE` makes a takeover (an UPDATE of that row) wait for this
    /// transaction, so a write either commits before another node takes
    /// the session or fails.
    async fn check_fence(&self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        let Some(fence) = &self.fence else {
            return Ok(());
        };
        let held: Option<(i64,)> = sqlx::query_as(
            "SELECT token FROM session_leases WHERE session_id = $1 AND owner = $2              AND token = $3 AND expires_at > now() FOR SHARE",
        )
        .bind(&fence.session_id)
        .bind(&fence.node)
        .bind(fence.token)
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_some() {
            Ok(())
        } else {
            Err(sqlx::Error::InvalidArgument(FENCED.into()))
        }
    }

    /// Closes every connection (waiting for calls in flight).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records how a write went, for the health check.
    fn written<T>(&self, result: Result<T, sqlx::Error>) -> Result<T, StorageError> {
        match result {
            Err(sqlx::Error::InvalidArgument(m)) if m == FENCED => Err(StorageError::Fenced),
            Ok(v) => {
                if self.write_failing.swap(false, Ordering::Relaxed) {
                    tracing::warn!("storage writes succeed again");
                }
                Ok(v)
            }
            Err(e) => {
                if is_fault(&e) {
                    self.write_failing.store(true, Ordering::Relaxed);
                    tracing::error!(error = %e, "a PostgreSQL write failed");
                }
                Err(StorageError::Postgres(e))
            }
        }
    }

    /// Best effort after deleting rows that must leave no copy: makes
    /// their space reusable now rather than at the next autovacuum.
    async fn vacuum(&self, sql: &'static str) {
        if let Err(e) = sqlx::raw_sql(sql).execute(&self.pool).await {
            tracing::warn!(error = %e, "VACUUM after a deletion failed; autovacuum will do it");
        }
    }
}

/// Whether an error means the database itself is failing (unreachable,
/// out of space, shutting down) as opposed to a request that broke a
/// constraint or sent a value PostgreSQL refuses.
pub fn is_fault(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 53: insufficient resources (disk
            // full, out of memory); 57: operator intervention (shutdown);
            // 58: system error (I/O); XX: internal error.
            ["08", "53", "57", "58", "XX"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Bytes stored from a Rust string (see the module docs) back to it.
fn text(bytes: Vec<u8>) -> Result<String, StorageError> {
    String::from_utf8(bytes)
        .map_err(|e| StorageError::Unavailable(format!("a stored text is not valid UTF-8: {e}")))
}

macro_rules! select_session {
    ($where:literal) => {
        concat!(
            "SELECT id, title, template, join_code, facilitator_key_hash, session_doc, \
             roster_doc, created_at, joining_open FROM sessions WHERE ",
            $where
        )
    };
}

fn session_row(r: &PgRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        template: r.try_get(2)?,
        join_code: r.try_get(3)?,
        facilitator_key_hash: r.try_get(4)?,
        session_doc: r.try_get(5)?,
        roster_doc: r.try_get(6)?,
        created_at: r.try_get(7)?,
        joining_open: r.try_get(8)?,
    })
}

async fn insert_ticket(tx: &mut sqlx::PgConnection, t: &NewTicket) -> Result<(), sqlx::Error> {
    let (participant_id, viewer) = t.columns();
    sqlx::query(
        "INSERT INTO tickets (hash, session_id, participant_id, expires_at, viewer) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&t.hash)
    .bind(&t.session_id)
    .bind(participant_id)
    .bind(t.expires_at)
    .bind(viewer)
    .execute(tx)
    .await?;
    Ok(())
}

async fn claim_actors(
    tx: &mut sqlx::PgConnection,
    session_id: &str,
    claims: &[(Vec<u8>, String)],
) -> Result<(), sqlx::Error> {
    if claims.is_empty() {
        return Ok(());
    }
    let (actors, owners): (Vec<Vec<u8>>, Vec<String>) = claims.iter().cloned().unzip();
    sqlx::query(
        "INSERT INTO actors (session_id, actor, owner) \
         SELECT $1, a, o FROM UNNEST($2::bytea[], $3::text[]) AS t(a, o) \
         ON CONFLICT DO NOTHING",
    )
    .bind(session_id)
    .bind(actors)
    .bind(owners)
    .execute(tx)
    .await?;
    Ok(())
}

async fn put_snapshot(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    data: &[u8],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO snapshots (doc_id, data, saved_at) VALUES ($1, $2, $3) \
         ON CONFLICT (doc_id) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at",
    )
    .bind(doc_id)
    .bind(data)
    .bind(now_ms)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn fenced(&self, fence: &crate::ownership::Fence) -> Option<super::Storage> {
        Some(super::Storage::new(self.fenced_by(fence.clone())))
    }

    fn ownership(
        &self,
        node: &str,
        url: &str,
        ttl: Duration,
    ) -> Option<Arc<dyn crate::ownership::Ownership>> {
        Some(super::lease::PgOwnership::start(
            self.clone(),
            node,
            url,
            ttl,
        ))
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        let row = sqlx::query("SELECT count(*), count(DISTINCT doc_id) FROM quarantine")
            .fetch_one(&self.pool)
            .await?;
        Ok(StorageHealth {
            write_failing: self.write_failing.load(Ordering::Relaxed),
            quarantined_chunks: row.try_get(0)?,
            quarantined_docs: row.try_get(1)?,
        })
    }

    async fn create_session(
        &self,
        session: SessionRow,
        documents: Vec<NewDocument>,
    ) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            let s = &session;
            sqlx::query(
                "INSERT INTO sessions (id, title, template, join_code, facilitator_key_hash, \
                 session_doc, roster_doc, created_at, joining_open) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&s.id)
            .bind(&s.title)
            .bind(&s.template)
            .bind(&s.join_code)
            .bind(&s.facilitator_key_hash)
            .bind(&s.session_doc)
            .bind(&s.roster_doc)
            .bind(s.created_at)
            .bind(s.joining_open)
            .execute(&mut *tx)
            .await?;
            for d in &documents {
                sqlx::query("INSERT INTO documents (id, session_id, kind) VALUES ($1, $2, $3)")
                    .bind(&d.id)
                    .bind(&s.id)
                    .bind(&d.kind)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO snapshots (doc_id, data, saved_at) VALUES ($1, $2, $3)")
                    .bind(&d.id)
                    .bind(&d.snapshot)
                    .bind(s.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => Err(StorageError::JoinCodeTaken),
            other => self.written(other),
        }
    }

    async fn session(&self, id: String) -> Result<Option<SessionRow>, StorageError> {
        let row = sqlx::query(select_session!("id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_row).transpose()?)
    }

    async fn session_by_join_code(&self, code: String) -> Result<Option<SessionRow>, StorageError> {
        let row = sqlx::query(select_session!("join_code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_row).transpose()?)
    }

    async fn session_documents(
        &self,
        session_id: String,
    ) -> Result<Vec<(String, String)>, StorageError> {
        Ok(
            sqlx::query_as("SELECT id, kind FROM documents WHERE session_id = $1 ORDER BY id")
                .bind(session_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn sessions_created_since(&self, since_ms: i64) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM sessions WHERE created_at >= $1")
                .bind(since_ms)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn set_joining_open(&self, session_id: String, open: bool) -> Result<(), StorageError> {
        let result = sqlx::query("UPDATE sessions SET joining_open = $2 WHERE id = $1")
            .bind(session_id)
            .bind(open)
            .execute(&self.pool)
            .await
            .map(|_| ());
        self.written(result)
    }

    async fn rotate_key(
        &self,
        session_id: String,
        key_hash: Vec<u8>,
        revoke_participants: bool,
    ) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("UPDATE sessions SET facilitator_key_hash = $2 WHERE id = $1")
                .bind(&session_id)
                .bind(&key_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE tickets SET revoked = TRUE \
                 WHERE session_id = $1 AND ($2 OR participant_id IS NULL)",
            )
            .bind(&session_id)
            .bind(revoke_participants)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        self.written(result)
    }

    async fn delete_session(&self, session_id: String) -> Result<bool, StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            for sql in [
                "DELETE FROM changes WHERE doc_id IN (SELECT id FROM documents WHERE session_id = $1)",
                "DELETE FROM snapshots WHERE doc_id IN (SELECT id FROM documents WHERE session_id = $1)",
                "DELETE FROM quarantine WHERE doc_id IN (SELECT id FROM documents WHERE session_id = $1)",
                "DELETE FROM dots WHERE doc_id IN (SELECT id FROM documents WHERE session_id = $1)",
                "DELETE FROM hidden_texts WHERE doc_id IN (SELECT id FROM documents WHERE session_id = $1)",
                "DELETE FROM retired_changes WHERE doc_id IN (SELECT id FROM documents WHERE session_id = $1)",
                "DELETE FROM actors WHERE session_id = $1",
                "DELETE FROM tickets WHERE session_id = $1",
                "DELETE FROM participants WHERE session_id = $1",
                "DELETE FROM documents WHERE session_id = $1",
            ] {
                sqlx::query(sql).bind(&session_id).execute(&mut *tx).await?;
            }
            let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(&session_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(deleted > 0)
        }
        .await;
        let existed = self.written(result)?;
        self.vacuum(
            "VACUUM changes, snapshots, quarantine, dots, hidden_texts, participants, tickets, sessions",
        )
        .await;
        Ok(existed)
    }

    async fn add_participant(
        &self,
        participant: ParticipantRow,
        ticket_hash: Vec<u8>,
        ticket_expires_at: i64,
    ) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            let p = &participant;
            sqlx::query(
                "INSERT INTO participants (id, session_id, name, organization, sector, tier, \
                 attendance, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&p.id)
            .bind(&p.session_id)
            .bind(&p.name)
            .bind(&p.organization)
            .bind(&p.sector)
            .bind(&p.tier)
            .bind(&p.attendance)
            .bind(p.created_at)
            .execute(&mut *tx)
            .await?;
            let ticket = NewTicket {
                hash: ticket_hash,
                session_id: p.session_id.clone(),
                holder: super::TicketFor::Participant(p.id.clone()),
                expires_at: ticket_expires_at,
            };
            insert_ticket(&mut tx, &ticket).await?;
            tx.commit().await
        }
        .await;
        self.written(result)
    }

    async fn remove_participant(&self, participant_id: String) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM tickets WHERE participant_id = $1")
                .bind(&participant_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM participants WHERE id = $1")
                .bind(&participant_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await;
        self.written(result)
    }

    async fn participant_count(&self, session_id: String) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM participants p WHERE p.session_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM tickets t WHERE t.participant_id = p.id AND t.revoked)",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn add_ticket(&self, ticket: NewTicket) -> Result<(), StorageError> {
        let result = async {
            let mut conn = self.pool.acquire().await?;
            insert_ticket(&mut conn, &ticket).await
        }
        .await;
        self.written(result)
    }

    async fn participants(&self, session_id: String) -> Result<Vec<ParticipantRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, session_id, name, organization, sector, tier, attendance, created_at \
             FROM participants WHERE session_id = $1 ORDER BY created_at, id",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ParticipantRow {
                    id: r.try_get(0)?,
                    session_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    organization: r.try_get(3)?,
                    sector: r.try_get(4)?,
                    tier: r.try_get(5)?,
                    attendance: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn tickets(&self, session_id: String) -> Result<Vec<(Vec<u8>, TicketRow)>, StorageError> {
        let rows = sqlx::query(
            "SELECT t.hash, t.session_id, t.participant_id, t.expires_at, t.revoked, t.viewer, p.attendance \
             FROM tickets t LEFT JOIN participants p ON p.id = t.participant_id \
             WHERE t.session_id = $1 ORDER BY t.hash",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    TicketRow {
                        session_id: r.try_get(1)?,
                        participant_id: r.try_get(2)?,
                        expires_at: r.try_get(3)?,
                        revoked: r.try_get(4)?,
                        viewer: r.try_get(5)?,
                        attendance: r.try_get(6)?,
                    },
                ))
            })
            .collect()
    }

    async fn ticket(&self, hash: Vec<u8>) -> Result<Option<TicketRow>, StorageError> {
        let row = sqlx::query(
            "SELECT t.session_id, t.participant_id, t.expires_at, t.revoked, t.viewer, p.attendance \
             FROM tickets t LEFT JOIN participants p ON p.id = t.participant_id WHERE t.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(TicketRow {
            session_id: r.try_get(0)?,
            participant_id: r.try_get(1)?,
            expires_at: r.try_get(2)?,
            revoked: r.try_get(3)?,
            viewer: r.try_get(4)?,
            attendance: r.try_get(5)?,
        }))
    }

    async fn revoke_participant(
        &self,
        session_id: String,
        participant_id: String,
    ) -> Result<(), StorageError> {
        let result = sqlx::query(
            "UPDATE tickets SET revoked = TRUE WHERE session_id = $1 AND participant_id = $2",
        )
        .bind(session_id)
        .bind(participant_id)
        .execute(&self.pool)
        .await
        .map(|_| ());
        self.written(result)
    }

    async fn load_doc(&self, doc_id: String) -> Result<StoredDoc, StorageError> {
        // One snapshot of the database for both reads: a compaction
        // between them could otherwise lose the changes it folded in.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let snapshot: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM snapshots WHERE doc_id = $1")
                .bind(&doc_id)
                .fetch_optional(&mut *tx)
                .await?;
        let changes = sqlx::query_as::<_, (i64, Vec<u8>, Vec<u8>)>(
            "SELECT seq, hash, data FROM changes WHERE doc_id = $1 ORDER BY seq",
        )
        .bind(&doc_id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(seq, hash, data)| StoredChange { seq, hash, data })
        .collect();
        tx.commit().await?;
        Ok(StoredDoc { snapshot, changes })
    }

    async fn append_changes_claiming(
        &self,
        doc_id: String,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        claims: Option<ActorClaims>,
    ) -> Result<(), StorageError> {
        if changes.is_empty() && claims.is_none() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = async {
            let mut tx = self.pool.begin().await?;
            self.check_fence(&mut tx).await?;
            if let Some((session_id, claims)) = &claims {
                claim_actors(&mut tx, session_id, claims).await?;
            }
            if !changes.is_empty() {
                let (hashes, data): (Vec<Vec<u8>>, Vec<Vec<u8>>) = changes.into_iter().unzip();
                // In the order given: `seq` is the order changes load in.
                sqlx::query(
                    "INSERT INTO changes (doc_id, hash, data) \
                     SELECT $1, h, d FROM UNNEST($2::bytea[], $3::bytea[]) WITH ORDINALITY AS t(h, d, n) \
                     ORDER BY n ON CONFLICT (doc_id, hash) DO NOTHING",
                )
                .bind(&doc_id)
                .bind(hashes)
                .bind(data)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await;
        if result.is_ok() {
            // The commit (its WAL flush included), as SQLite's group commit
            // is measured: `tavolo_commit_seconds`.
            crate::metrics::commit_took(started);
        }
        self.written(result)
    }

    async fn compact(
        &self,
        doc_id: String,
        snapshot: Vec<u8>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            self.check_fence(&mut tx).await?;
            put_snapshot(&mut tx, &doc_id, &snapshot, now_ms).await?;
            sqlx::query("DELETE FROM changes WHERE doc_id = $1")
                .bind(&doc_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await;
        self.written(result)
    }

    async fn reroot(&self, r: Reroot) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            self.check_fence(&mut tx).await?;
            let doc = &r.doc_id;
            sqlx::query("DELETE FROM changes WHERE doc_id = $1")
                .bind(doc)
                .execute(&mut *tx)
                .await?;
            put_snapshot(&mut tx, doc, &r.snapshot, r.now_ms).await?;
            if !r.retired.is_empty() {
                sqlx::query(
                    "INSERT INTO retired_changes (doc_id, hash) \
                     SELECT $1, h FROM UNNEST($2::bytea[]) AS t(h) ON CONFLICT DO NOTHING",
                )
                .bind(doc)
                .bind(&r.retired)
                .execute(&mut *tx)
                .await?;
            }
            claim_actors(&mut tx, &r.session_id, &r.claims).await?;
            if !r.hidden.is_empty() {
                let (notes, texts): (Vec<Vec<u8>>, Vec<Vec<u8>>) = r
                    .hidden
                    .iter()
                    .map(|(n, t)| (n.clone().into_bytes(), t.clone().into_bytes()))
                    .unzip();
                sqlx::query(
                    "INSERT INTO hidden_texts (doc_id, note_id, text) \
                     SELECT $1, n, t FROM UNNEST($2::bytea[], $3::bytea[]) AS u(n, t) \
                     ON CONFLICT (doc_id, note_id) DO UPDATE SET text = excluded.text",
                )
                .bind(doc)
                .bind(notes)
                .bind(texts)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await;
        self.written(result)?;
        self.vacuum("VACUUM changes, snapshots").await;
        Ok(())
    }

    async fn quarantine(
        &self,
        doc_id: String,
        bad: Vec<BadChunk>,
        now_ms: i64,
    ) -> Result<usize, StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            self.check_fence(&mut tx).await?;
            let mut moved = 0;
            for b in &bad {
                let (kind, hash, removed) = match &b.chunk {
                    ChunkRef::Snapshot => (
                        "snapshot",
                        None,
                        sqlx::query("DELETE FROM snapshots WHERE doc_id = $1 AND data = $2")
                            .bind(&doc_id)
                            .bind(&b.data)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected(),
                    ),
                    ChunkRef::Change { seq, hash } => (
                        "change",
                        Some(hash),
                        sqlx::query("DELETE FROM changes WHERE doc_id = $1 AND seq = $2")
                            .bind(&doc_id)
                            .bind(seq)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected(),
                    ),
                };
                if removed > 0 {
                    sqlx::query(
                        "INSERT INTO quarantine (doc_id, kind, hash, data, reason, at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&doc_id)
                    .bind(kind)
                    .bind(hash)
                    .bind(&b.data)
                    .bind(&b.reason)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                    moved += 1;
                }
            }
            tx.commit().await?;
            Ok(moved)
        }
        .await;
        self.written(result)
    }

    async fn actors(&self, session_id: String) -> Result<Vec<(Vec<u8>, String)>, StorageError> {
        Ok(
            sqlx::query_as("SELECT actor, owner FROM actors WHERE session_id = $1")
                .bind(session_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn load_retired(&self, doc_id: String) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT hash FROM retired_changes WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn load_hidden(&self, doc_id: String) -> Result<Vec<(String, String)>, StorageError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT note_id, text FROM hidden_texts WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(note, t)| Ok((text(note)?, text(t)?)))
            .collect()
    }

    async fn forget_hidden(&self, doc_id: String, note_id: String) -> Result<(), StorageError> {
        let result = async {
            let mut tx = self.pool.begin().await?;
            self.check_fence(&mut tx).await?;
            sqlx::query("DELETE FROM hidden_texts WHERE doc_id = $1 AND note_id = $2")
                .bind(doc_id)
                .bind(note_id.into_bytes())
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await;
        self.written(result)
    }

    async fn load_dots(&self, doc_id: String) -> Result<Vec<(String, String, i64)>, StorageError> {
        let rows: Vec<(String, Vec<u8>, i64)> =
            sqlx::query_as("SELECT participant_id, target, count FROM dots WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(who, target, count)| Ok((who, text(target)?, count)))
            .collect()
    }

    async fn save_dots(
        &self,
        doc_id: String,
        dots: Vec<(String, String, i64)>,
    ) -> Result<(), StorageError> {
        if dots.is_empty() {
            return Ok(());
        }
        let result = async {
            let mut tx = self.pool.begin().await?;
            self.check_fence(&mut tx).await?;
            for (who, target, count) in &dots {
                let target = target.as_bytes();
                if *count == 0 {
                    sqlx::query(
                        "DELETE FROM dots WHERE doc_id = $1 AND participant_id = $2 AND target = $3",
                    )
                    .bind(&doc_id)
                    .bind(who)
                    .bind(target)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO dots (doc_id, participant_id, target, count) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (doc_id, participant_id, target) DO UPDATE SET count = excluded.count",
                    )
                    .bind(&doc_id)
                    .bind(who)
                    .bind(target)
                    .bind(count)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await
        }
        .await;
        self.written(result)
    }

    async fn meta(&self, key: &'static str) -> Result<Option<String>, StorageError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &'static str, value: String) -> Result<(), StorageError> {
        let result = sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map(|_| ());
        self.written(result)
    }
}
