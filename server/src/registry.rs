//! Which documents are open, and what each session's documents are.
//!
//! A session is opened lazily the first time one of its documents is needed:
//! its document list comes from storage, and its session document's actor is
//! started first so that the [`SessionView`] every question's policy reads
//! is in place before any question receives a change. Each document gets
//! exactly one actor; concurrent openers wait on the same `OnceCell`.

use crate::actor::{self, DocHandle};
use crate::storage::{Storage, StorageError};
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::Arc;
use tavolo_model::SessionDoc;
use tavolo_model::policy::{DocKind, PolicyContext};
use tavolo_sync::{DocumentId, PeerId};
use tokio::sync::{OnceCell, watch};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("session {0} does not exist")]
    NoSuchSession(String),
    #[error("document {0} is not part of this session")]
    NotInSession(DocumentId),
    #[error("document {doc} could not be loaded: {reason}")]
    Corrupt { doc: DocumentId, reason: String },
    #[error("document {0} stopped")]
    ActorGone(DocumentId),
    /// Another node serves this session (its base URL).
    #[error("session is served by {0}")]
    Elsewhere(String),
}

/// The role a document plays in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocRole {
    Session,
    Roster,
    Question,
}

impl DocRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DocRole::Session => "session",
            DocRole::Roster => "roster",
            DocRole::Question => "question",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "session" => Some(DocRole::Session),
            "roster" => Some(DocRole::Roster),
            "question" => Some(DocRole::Question),
            _ => None,
        }
    }
}

/// What question policies need from the session document, kept current by
/// the session document's actor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionView {
    pub vote_budget: i64,
    /// For each question document URL: its phase id, whether that phase is
    /// locked, and its category ids.
    pub questions: HashMap<String, (String, bool, Vec<String>)>,
}

impl SessionView {
    pub fn from_doc(doc: &SessionDoc) -> Self {
        let mut questions = HashMap::new();
        for p in &doc.phases {
            for q in &p.questions {
                let cats = q.categories.iter().map(|c| c.id.clone()).collect();
                questions.insert(q.doc_url.clone(), (p.id.clone(), p.locked, cats));
            }
        }
        Self {
            vote_budget: doc.vote_budget,
            questions,
        }
    }
}

/// An open session: its documents and the live view of its session document.
#[derive(Debug)]
pub struct SessionShared {
    pub id: String,
    pub session_doc: DocumentId,
    pub roster_doc: DocumentId,
    pub docs: HashMap<DocumentId, DocRole>,
    pub view: watch::Sender<SessionView>,
    /// Who is connected, in memory only.
    pub presence: crate::presence::PresenceBoard,
    /// Set when the session document's stored data is damaged: then every
    /// document of the session answers with an error (its questions cannot
    /// be judged without the session document's phases and locks).
    pub damaged: std::sync::OnceLock<String>,
    /// Set when the facilitator deletes the session: its actors save
    /// nothing more.
    pub deleted: std::sync::OnceLock<()>,
    /// Set when this node lost the session's lease: its actors stop at
    /// once, storing and sending nothing more. What they held unsaved is
    /// dropped unseen (another node serves the session from what is
    /// stored; the writers still have it and send it there).
    pub lost: std::sync::OnceLock<()>,
    /// Who owns which actor id in this session (recorded in storage).
    pub actors: tavolo_sync::ActorBook,
    /// This node's lease on the session, with several nodes.
    pub fence: Option<crate::ownership::Fence>,
}

impl SessionShared {
    /// The policy context for a document of this session, as of now.
    pub fn policy_context(&self, doc: DocumentId) -> PolicyContext {
        let view = self.view.borrow();
        let role = self.docs.get(&doc).copied().unwrap_or(DocRole::Question);
        let kind = match role {
            DocRole::Session => DocKind::Session,
            DocRole::Roster => DocKind::Roster,
            DocRole::Question => {
                let (phase_id, _, categories) =
                    view.questions.get(&doc.url()).cloned().unwrap_or_default();
                DocKind::Question {
                    phase_id,
                    categories,
                }
            }
        };
        let phase_locked = view
            .questions
            .get(&doc.url())
            .is_some_and(|(_, locked, _)| *locked);
        PolicyContext {
            kind,
            phase_locked,
            vote_budget: view.vote_budget,
        }
    }
}

/// Every open session and document of this server.
#[derive(Debug)]
pub struct Registry {
    storage: Storage,
    server_peer: PeerId,
    presence_sender: crate::presence::PresenceSender,
    sessions: Arc<DashMap<String, Arc<OnceCell<Arc<SessionShared>>>>>,
    docs: Arc<DashMap<DocumentId, Arc<OnceCell<DocHandle>>>>,
    /// How long a document actor with nobody attached stays.
    idle: std::time::Duration,
    /// Which sessions this node serves.
    ownership: Arc<dyn crate::ownership::Ownership>,
}

/// How long an unused document stays open by default.
pub const IDLE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(600);

impl Registry {
    pub fn new(storage: Storage, server_peer: PeerId) -> Self {
        Self {
            storage,
            server_peer,
            presence_sender: crate::presence::PresenceSender::new(),
            sessions: Arc::new(DashMap::new()),
            docs: Arc::new(DashMap::new()),
            idle: IDLE_DEFAULT,
            ownership: Arc::new(crate::ownership::SingleNode::default()),
        }
    }

    /// Serves sessions as `ownership` says (several nodes).
    pub fn with_ownership(mut self, ownership: Arc<dyn crate::ownership::Ownership>) -> Self {
        self.ownership = ownership;
        self
    }

    /// The sessions whose lease this node loses (see [`Self::drop_session`]).
    pub fn lost_sessions(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.ownership.lost()
    }

    /// Stops serving an open session at once, saving nothing more of it
    /// (its lease was lost: storage would refuse it anyway); its clients
    /// are told to reconnect, which brings them to the node that serves it
    /// now.
    pub fn drop_session(&self, session_id: &str) {
        let open = self.sessions.get(session_id).and_then(|c| c.get().cloned());
        let Some(shared) = open else { return };
        tracing::warn!(session = %session_id, "lease lost: this node stops serving the session");
        let _ = shared.lost.set(());
        shared.presence.move_all();
        for doc in shared.docs.keys() {
            self.docs.remove(doc);
        }
        self.sessions.remove(session_id);
    }

    /// Sets how long an unused document stays open.
    pub fn with_idle(mut self, idle: std::time::Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Open sessions and documents (for tests and diagnostics).
    pub fn open_counts(&self) -> (usize, usize) {
        (self.sessions.len(), self.docs.len())
    }

    /// What a retiring document actor calls: its registry entry goes (if it
    /// is still its own), and its session with it once no document of the
    /// session is open and nobody is connected.
    fn retire_for(
        &self,
        session: &Arc<SessionShared>,
        id: DocumentId,
        cell: &Arc<OnceCell<DocHandle>>,
    ) -> crate::actor::Retire {
        let docs = self.docs.clone();
        let sessions = self.sessions.clone();
        let ownership = self.ownership.clone();
        let cell = cell.clone();
        let session = Arc::downgrade(session);
        crate::actor::Retire {
            after: self.idle,
            leave: Arc::new(move || {
                docs.remove_if(&id, |_, c| Arc::ptr_eq(c, &cell));
                let Some(session) = session.upgrade() else {
                    return;
                };
                let unused = session.docs.keys().all(|d| !docs.contains_key(d))
                    && session.presence.is_empty();
                if unused {
                    let removed = sessions.remove_if(&session.id, |_, c| {
                        c.get().is_some_and(|s| Arc::ptr_eq(s, &session))
                    });
                    if removed.is_some()
                        && session.deleted.get().is_none()
                        && session.lost.get().is_none()
                        && let Some(fence) = session.fence.clone()
                    {
                        let ownership = ownership.clone();
                        tokio::spawn(async move { ownership.release(&fence).await });
                    }
                }
            }),
        }
    }

    pub fn server_peer(&self) -> &PeerId {
        &self.server_peer
    }

    pub fn presence_sender(&self) -> &crate::presence::PresenceSender {
        &self.presence_sender
    }

    /// Opens a session (once) and returns its shared state.
    pub async fn session(&self, session_id: &str) -> Result<Arc<SessionShared>, RegistryError> {
        let cell = self
            .sessions
            .entry(session_id.to_string())
            .or_default()
            .clone();
        let shared = cell
            .get_or_try_init(|| async {
                let row = self
                    .storage
                    .session(session_id.to_string())
                    .await?
                    .ok_or_else(|| RegistryError::NoSuchSession(session_id.to_string()))?;
                let fence = match self.ownership.claim(session_id).await? {
                    crate::ownership::Claim::Here(fence) => fence,
                    crate::ownership::Claim::Elsewhere(url) => {
                        return Err(RegistryError::Elsewhere(url));
                    }
                };
                let loaded = self.load_session(session_id, row, fence.clone()).await;
                if loaded.is_err()
                    && let Some(f) = &fence
                {
                    self.ownership.release(f).await;
                }
                loaded
            })
            .await;
        match shared {
            Ok(s) => Ok(s.clone()),
            Err(e) => {
                // Do not cache a failure: the next caller tries again.
                self.sessions.remove(session_id);
                Err(e)
            }
        }
    }

    /// Reads a claimed session's documents and starts its session
    /// document's actor.
    async fn load_session(
        &self,
        session_id: &str,
        row: crate::storage::SessionRow,
        fence: Option<crate::ownership::Fence>,
    ) -> Result<Arc<SessionShared>, RegistryError> {
        let mut docs = HashMap::new();
        for (id, kind) in self
            .storage
            .session_documents(session_id.to_string())
            .await?
        {
            if let (Ok(id), Some(role)) = (id.parse::<DocumentId>(), DocRole::parse(&kind)) {
                docs.insert(id, role);
            }
        }
        let session_doc =
            DocumentId::from_url(&row.session_doc).map_err(|e| RegistryError::Corrupt {
                doc: DocumentId::from_bytes([0; 16]),
                reason: e.to_string(),
            })?;
        let roster_doc =
            DocumentId::from_url(&row.roster_doc).map_err(|e| RegistryError::Corrupt {
                doc: session_doc,
                reason: e.to_string(),
            })?;
        let owners = self.storage.actors(session_id.to_string()).await?;
        let actors =
            tavolo_sync::ActorBook::new(owners.into_iter().filter_map(|(actor, owner)| {
                Some((
                    automerge::ActorId::from(actor),
                    tavolo_sync::Owner::from_key(&owner)?,
                ))
            }));
        let (view, _) = watch::channel(SessionView::default());
        let shared = Arc::new(SessionShared {
            id: session_id.to_string(),
            session_doc,
            roster_doc,
            docs,
            view,
            presence: Default::default(),
            damaged: std::sync::OnceLock::new(),
            deleted: std::sync::OnceLock::new(),
            lost: std::sync::OnceLock::new(),
            actors,
            fence,
        });
        // The session document's actor publishes the view as it loads.
        self.doc(&shared, session_doc).await?;
        Ok(shared)
    }

    /// The actor of one of the session's documents, started if needed.
    pub async fn doc(
        &self,
        session: &Arc<SessionShared>,
        id: DocumentId,
    ) -> Result<DocHandle, RegistryError> {
        let Some(&role) = session.docs.get(&id) else {
            return Err(RegistryError::NotInSession(id));
        };
        let cell = self.docs.entry(id).or_default().clone();
        let handle = cell
            .get_or_try_init(|| {
                self.start_doc(session, id, role, self.retire_for(session, id, &cell))
            })
            .await;
        match handle {
            Ok(h) => Ok(h.clone()),
            Err(e) => {
                self.docs.remove(&id);
                Err(e)
            }
        }
    }

    /// Loads a document and starts its actor. Damaged chunks are moved to
    /// quarantine first (a storage failure there fails the load, to be
    /// tried again: a bad chunk must not stay live for compaction to drop).
    /// A document with nothing worth serving gets the damaged stand-in.
    async fn start_doc(
        &self,
        session: &Arc<SessionShared>,
        id: DocumentId,
        role: DocRole,
        retire: actor::Retire,
    ) -> Result<DocHandle, RegistryError> {
        if let Some(reason) = session.damaged.get() {
            return Ok(actor::spawn_damaged(
                id,
                format!("its session document is damaged: {reason}"),
                self.server_peer.clone(),
                retire,
            ));
        }
        let stored = self.storage.load_doc(id.to_string()).await?;
        let mut ballots = tavolo_model::ballot::Ballots::new();
        let (mut retired, mut hidden) = (Vec::new(), Vec::new());
        if role == DocRole::Question {
            for (who, target, count) in self.storage.load_dots(id.to_string()).await? {
                tavolo_model::ballot::set(&mut ballots, &who, &target, count);
            }
            retired = self
                .storage
                .load_retired(id.to_string())
                .await?
                .into_iter()
                .filter_map(|h| automerge::ChangeHash::try_from(h.as_slice()).ok())
                .collect();
            hidden = self.storage.load_hidden(id.to_string()).await?;
        }
        // Checking and applying a stored board takes tens of milliseconds
        // for a big one (BENCHMARKS.md, "Loading a stored document"): off
        // the async workers, so other rooms keep flowing meanwhile.
        let loaded = tokio::task::spawn_blocking(move || actor::load(role, stored))
            .await
            .map_err(|e| RegistryError::Corrupt {
                doc: id,
                reason: format!("loading it failed: {e}"),
            })?;
        if !loaded.bad.is_empty() {
            for b in &loaded.bad {
                tracing::error!(
                    session = %session.id,
                    doc = %id,
                    role = role.as_str(),
                    chunk = ?chunk_name(&b.chunk),
                    bytes = b.data.len(),
                    reason = %b.reason,
                    "stored chunk set aside in quarantine"
                );
            }
            let moved = self
                .storage
                .quarantine(id.to_string(), loaded.bad, crate::now_ms())
                .await?;
            tracing::error!(session = %session.id, doc = %id, chunks = moved, "document had damaged stored data; see the quarantine table");
        }
        match loaded.doc {
            Ok(doc) => Ok(actor::spawn(actor::DocSetup {
                id,
                role,
                session: session.clone(),
                // Several nodes: the actor's writes carry the session's fence.
                storage: session
                    .fence
                    .as_ref()
                    .and_then(|f| self.storage.fenced(f))
                    .unwrap_or_else(|| self.storage.clone()),
                server_peer: self.server_peer.clone(),
                doc,
                loose: loaded.loose,
                retire,
                ballots,
                retired,
                hidden,
            })),
            Err(reason) => {
                tracing::error!(session = %session.id, doc = %id, role = role.as_str(), %reason, "document cannot be served; peers get an error instead");
                if role == DocRole::Session {
                    let _ = session.damaged.set(reason.clone());
                }
                Ok(actor::spawn_damaged(
                    id,
                    reason,
                    self.server_peer.clone(),
                    retire,
                ))
            }
        }
    }

    /// Deletes a session: no document of it saves anything more, every
    /// connection to it is closed (4017), and then everything it stored is
    /// deleted. Idempotent.
    pub async fn delete_session(&self, session_id: &str) -> Result<(), RegistryError> {
        let open = self.sessions.get(session_id).and_then(|c| c.get().cloned());
        if let Some(shared) = open {
            let _ = shared.deleted.set(());
            shared.presence.close_all();
            for doc in shared.docs.keys() {
                let handle = self.docs.remove(doc).and_then(|(_, c)| c.get().cloned());
                if let Some(h) = handle {
                    // Answered once the actor has finished any save begun
                    // before the flag was set; later ones are dropped.
                    let _ = h.change(|_| Ok(())).await;
                }
            }
            self.sessions.remove(session_id);
        }
        self.storage.delete_session(session_id.to_string()).await?;
        Ok(())
    }

    /// Handles of every running document actor (for shutdown).
    pub fn open_docs(&self) -> Vec<DocHandle> {
        self.docs
            .iter()
            .filter_map(|e| e.value().get().cloned())
            .collect()
    }
}

fn chunk_name(c: &crate::storage::ChunkRef) -> String {
    match c {
        crate::storage::ChunkRef::Snapshot => "snapshot".into(),
        crate::storage::ChunkRef::Change { seq, .. } => format!("change #{seq}"),
    }
}
