use std::time::Duration;
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_tests::{Api, ServerProcess, Session, SyncClient, Ticket, question_docs};
use tempfile::TempDir;

/// Generous: CI machines are shared; the happy path takes milliseconds.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Running {
    pub server: ServerProcess,
    pub api: Api,
    /// Kept so the data directory outlives the server.
    pub _dir: TempDir,
}

pub async fn spawn_server() -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(dir.path())
        .await
        .expect("server starts");
    let api = server.api();
    Running {
        server,
        api,
        _dir: dir,
    }
}

/// A server on a fresh database of the shared PostgreSQL test cluster
/// (its data directory then holds no database).
pub async fn spawn_server_on_postgres() -> Running {
    let url = tavolo_tests::PostgresCluster::shared()
        .create_database()
        .expect("a fresh database");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start_postgres(dir.path(), &url)
        .await
        .expect("server starts on PostgreSQL");
    let api = server.api();
    Running {
        server,
        api,
        _dir: dir,
    }
}

/// A connected client that has synced the session document.
pub async fn connect(server: &ServerProcess, ticket: &Ticket) -> SyncClient {
    let mut c = SyncClient::connect(&server.ws_url(&ticket.ticket))
        .await
        .expect("connects");
    c.open(ticket.session_doc).await.expect("opens session doc");
    let sd = ticket.session_doc;
    c.pump_until(WAIT, |c| tavolo_model::SessionDoc::load(c.doc(sd)).is_ok())
        .await
        .expect("session doc arrives");
    c
}

/// Opens a question document and waits until its maps are there.
pub async fn open_question(c: &mut SyncClient, id: tavolo_sync::DocumentId) {
    c.open(id).await.expect("open");
    c.pump_until(WAIT, |c| {
        tavolo_model::read::get_map(c.doc(id), &automerge::ROOT, "notes").is_some()
    })
    .await
    .expect("question doc arrives");
}

pub fn first_question(
    c: &SyncClient,
    session_doc: tavolo_sync::DocumentId,
) -> tavolo_sync::DocumentId {
    question_docs(&c.doc(session_doc))[0]
}

pub fn note(text: &str) -> NewNote {
    NewNote {
        text: text.into(),
        category: None,
        anonymous: false,
        created_at: 1_700_000_000_000,
    }
}

pub async fn add_note(
    c: &mut SyncClient,
    doc: tavolo_sync::DocumentId,
    author: &str,
    id: &str,
    text: &str,
) {
    let author = ParticipantId(author.to_string());
    let n = note(text);
    c.change(doc, |d| {
        ops::add_note(d, id, &author, &n).expect("add note")
    })
    .await
    .expect("send");
}

pub async fn session_and_two(api: &Api) -> (Session, Ticket, Ticket) {
    let s = api.create_session().await.expect("session");
    let a = api.join(&s.join_code, "Anna").await.expect("anna joins");
    let b = api.join(&s.join_code, "Bruno").await.expect("bruno joins");
    (s, a, b)
}

/// The facilitator locks or unlocks a phase; returns once `observer` sees it.
pub async fn set_locked(
    fac: &mut SyncClient,
    observer: &mut SyncClient,
    session_doc: tavolo_sync::DocumentId,
    phase: &str,
    locked: bool,
) {
    fac.change(session_doc, |d| {
        ops::set_phase_locked(d, phase, locked).expect("phase exists")
    })
    .await
    .expect("send");
    observer
        .pump_until(WAIT, |c| {
            tavolo_model::SessionDoc::load(c.doc(session_doc))
                .is_ok_and(|s| s.phase(phase).is_some_and(|p| p.locked == locked))
        })
        .await
        .expect("the lock reaches the observer");
}
