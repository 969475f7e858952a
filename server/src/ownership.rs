//! Which node serves a session. With one node (SQLite) it is always this
//! one. With several (PostgreSQL), a session is served by the node holding
//! its lease (see `storage::lease`): the registry claims the lease before
//! loading a session, gives it back when the session is closed, and drops
//! a session whose lease this node lost.

use crate::storage::StorageError;
use futures_util::future::BoxFuture;
use tokio::sync::broadcast;

/// Proof that this node held a session's lease: every write of the
/// session's documents carries it, and storage refuses it once another
/// node has taken the lease (its token is then higher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub session_id: String,
    pub token: i64,
    /// The node holding it.
    pub node: String,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node serves the session (with the fence its writes carry, when
    /// there are several nodes).
    Here(Option<Fence>),
    /// Another node does: its base URL, for forwarding.
    Elsewhere(String),
}

/// Where sessions are served.
pub trait Ownership: Send + Sync + std::fmt::Debug {
    /// Claims a session for this node, or says which node has it.
    fn claim<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Claim, StorageError>>;
    /// Gives a session back (it was closed here).
    fn release<'a>(&'a self, fence: &'a Fence) -> BoxFuture<'a, ()>;
    /// Sessions whose lease this node lost (it could not renew it in time):
    /// they must stop being served here at once.
    fn lost(&self) -> broadcast::Receiver<String>;
}

/// One node: every session is served here, nothing to claim.
#[derive(Debug)]
pub struct SingleNode {
    lost: broadcast::Sender<String>,
}

impl Default for SingleNode {
    fn default() -> Self {
        Self {
            lost: broadcast::channel(1).0,
        }
    }
}

impl Ownership for SingleNode {
    fn claim<'a>(&'a self, _session_id: &'a str) -> BoxFuture<'a, Result<Claim, StorageError>> {
        Box::pin(async { Ok(Claim::Here(None)) })
    }

    fn release<'a>(&'a self, _fence: &'a Fence) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn lost(&self) -> broadcast::Receiver<String> {
        self.lost.subscribe()
    }
}
