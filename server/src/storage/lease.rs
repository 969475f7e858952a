//! One owner per session on PostgreSQL (issue 18): leases with fencing
//! tokens in the `session_leases` table.
//!
//! - **Claim.** One statement inserts the lease, or takes it over when it
//!   has expired (or is this node's own, from before a restart), raising
//!   the token by one. PostgreSQL serializes claims of one row, so two
//!   nodes cold-loading a session at once get one owner: the second sees
//!   an unexpired lease of another node and is told where it is.
//! - **Renewal.** Every `ttl / 3` this node extends every lease it holds,
//!   in one statement that matches owner and token. A lease it did not get
//!   back (another node took it) is lost at once; if no renewal succeeds
//!   for a whole `ttl`, counted from the start of the last one that did —
//!   the database unreachable, or not answering (a renewal waits at most
//!   until then) — every lease is taken as lost: another node may take it
//!   from then on. Lost sessions stop being served here.
//! - **Fencing.** Every write of a session's documents checks, in its own
//!   transaction, that the lease still has this node's token and has not
//!   expired by the database's clock (`PostgresStore::check_fence`). A
//!   stale owner — killed, paused, or cut off from the database — can
//!   therefore never write after another node took over.
//! - **Release.** A session closed here gives its lease back, so another
//!   node can take it at once.

use super::StorageError;
use super::postgres::PostgresStore;
use crate::ownership::{Claim, Fence, Ownership};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// The lease manager of one node.
pub struct PgOwnership {
    store: PostgresStore,
    node: String,
    url: String,
    ttl: Duration,
    /// Sessions this node holds, with their tokens.
    held: Mutex<HashMap<String, i64>>,
    lost: broadcast::Sender<String>,
}

impl std::fmt::Debug for PgOwnership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOwnership")
            .field("node", &self.node)
            .field("url", &self.url)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl PgOwnership {
    /// Starts the lease manager of node `node` (reachable at `url`) and its
    /// renewal task.
    pub fn start(store: PostgresStore, node: &str, url: &str, ttl: Duration) -> Arc<Self> {
        let me = Arc::new(Self {
            store,
            node: node.to_string(),
            url: url.trim_end_matches('/').to_string(),
            ttl,
            held: Mutex::new(HashMap::new()),
            lost: broadcast::channel(1024).0,
        });
        let weak = Arc::downgrade(&me);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ttl / 3);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut renewed = Instant::now();
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { return };
                // Measured from before the statement: the database dates
                // the new expiry later than this, so this node's view of a
                // lease ends first.
                let started = Instant::now();
                // A renewal may take as long as the leases have left; one
                // that gets no answer by then (a stalled database, a silent
                // network, a row lock) has failed: waiting on it would keep
                // serving sessions another node may take.
                let left = (renewed + me.ttl).saturating_duration_since(started);
                let failed = match tokio::time::timeout(left, me.renew()).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some("the database did not answer in time".to_string()),
                };
                match failed {
                    None => renewed = started,
                    Some(error) => {
                        tracing::warn!(%error, "renewing leases failed");
                        if renewed.elapsed() >= me.ttl {
                            me.lose_all();
                        }
                    }
                }
            }
        });
        me
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Extends every lease held; those not extended are lost.
    async fn renew(&self) -> Result<(), sqlx::Error> {
        let (ids, tokens): (Vec<String>, Vec<i64>) =
            self.held().iter().map(|(s, t)| (s.clone(), *t)).unzip();
        if ids.is_empty() {
            return Ok(());
        }
        let kept: Vec<(String,)> = sqlx::query_as(
            "UPDATE session_leases AS l SET expires_at = now() + $2 * interval '1 millisecond' \
             FROM UNNEST($3::text[], $4::bigint[]) AS h(session_id, token) \
             WHERE l.session_id = h.session_id AND l.token = h.token AND l.owner = $1 \
             RETURNING l.session_id",
        )
        .bind(&self.node)
        .bind(self.ttl_ms())
        .bind(&ids)
        .bind(&tokens)
        .fetch_all(self.store.pool())
        .await?;
        let kept: std::collections::HashSet<String> = kept.into_iter().map(|(s,)| s).collect();
        let gone: Vec<String> = {
            let mut held = self.held();
            let gone: Vec<String> = ids
                .iter()
                .zip(&tokens)
                .filter(|(s, t)| !kept.contains(*s) && held.get(*s) == Some(*t))
                .map(|(s, _)| s.clone())
                .collect();
            for s in &gone {
                held.remove(s);
            }
            gone
        };
        for s in gone {
            tracing::warn!(session = %s, "lease taken by another node");
            let _ = self.lost.send(s);
        }
        Ok(())
    }

    /// The database could not be reached for a whole lease: every session
    /// here may be another node's by now.
    fn lose_all(&self) {
        let gone: Vec<String> = self.held().drain().map(|(s, _)| s).collect();
        for s in gone {
            tracing::warn!(session = %s, "lease not renewed in time; giving the session up");
            let _ = self.lost.send(s);
        }
    }

    async fn try_claim(&self, session_id: &str) -> Result<Claim, sqlx::Error> {
        for _ in 0..3 {
            let claimed: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO session_leases AS l (session_id, owner, owner_url, token, expires_at) \
                 VALUES ($1, $2, $3, 1, now() + $4 * interval '1 millisecond') \
                 ON CONFLICT (session_id) DO UPDATE \
                 SET owner = excluded.owner, owner_url = excluded.owner_url, \
                     token = l.token + 1, expires_at = excluded.expires_at \
                 WHERE l.expires_at <= now() OR l.owner = excluded.owner \
                 RETURNING token",
            )
            .bind(session_id)
            .bind(&self.node)
            .bind(&self.url)
            .bind(self.ttl_ms())
            .fetch_optional(self.store.pool())
            .await?;
            if let Some((token,)) = claimed {
                self.held().insert(session_id.to_string(), token);
                return Ok(Claim::Here(Some(Fence {
                    session_id: session_id.to_string(),
                    token,
                    node: self.node.clone(),
                })));
            }
            let owner: Option<(String,)> = sqlx::query_as(
                "SELECT owner_url FROM session_leases WHERE session_id = $1 AND expires_at > now()",
            )
            .bind(session_id)
            .fetch_optional(self.store.pool())
            .await?;
            if let Some((url,)) = owner {
                return Ok(Claim::Elsewhere(url));
            }
            // Expired between the two statements: claim again.
        }
        Err(sqlx::Error::Protocol(
            "the session's lease kept changing hands".into(),
        ))
    }
}

impl Ownership for PgOwnership {
    fn claim<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Claim, StorageError>> {
        Box::pin(async move {
            self.try_claim(session_id)
                .await
                .map_err(StorageError::Postgres)
        })
    }

    fn release<'a>(&'a self, fence: &'a Fence) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            {
                let mut held = self.held();
                if held.get(&fence.session_id) == Some(&fence.token) {
                    held.remove(&fence.session_id);
                }
            }
            let done = sqlx::query(
                "DELETE FROM session_leases WHERE session_id = $1 AND owner = $2 AND token = $3",
            )
            .bind(&fence.session_id)
            .bind(&self.node)
            .bind(fence.token)
            .execute(self.store.pool())
            .await;
            if let Err(e) = done {
                // It expires by itself.
                tracing::warn!(session = %fence.session_id, error = %e, "releasing a lease failed");
            }
        })
    }

    fn lost(&self) -> broadcast::Receiver<String> {
        self.lost.subscribe()
    }
}
