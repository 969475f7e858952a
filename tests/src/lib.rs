//! Test harness for Tavolo: real server processes on real ports with real
//! SQLite files (or a real PostgreSQL cluster), an HTTP client for the
//! contract's API, and a WebSocket sync client built from `tavolo-sync` and
//! `tavolo-model`.
//!
//! # Layout
//!
//! - [`ServerProcess`]: the `tavolo-server` binary on `127.0.0.1:0`, killed
//!   with SIGKILL or stopped with SIGTERM, restarted on the same data dir
//!   (or the same PostgreSQL database).
//! - [`PostgresCluster`]: a throwaway PostgreSQL cluster on loopback, one
//!   fresh database per test.
//! - [`Api`]: the HTTP calls, returning status and JSON.
//! - [`SyncClient`]: one automerge-repo peer over one WebSocket.

use anyhow::{Context, Result, anyhow, bail};
use automerge::AutoCommit;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tavolo_sync::wire::RefusedMessage;
use tavolo_sync::{ClientCore, DocumentId, Message, PeerId};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod postgres;
pub use postgres::PostgresCluster;

static SERVER_BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Uses this binary for every [`ServerProcess`] of this process (the
/// benchmarks point it at a release build). Returns false if one was
/// already chosen.
pub fn use_server_bin(path: PathBuf) -> bool {
    SERVER_BIN.set(path).is_ok()
}

/// Path of the server binary under test: `TAVOLO_SERVER_BIN`, or the
/// workspace's debug build, brought up to date once per test process (so a
/// test never runs against a stale binary; cargo releases its build lock
/// while tests run, and an up-to-date build takes a fraction of a second).
pub fn server_bin() -> PathBuf {
    // A failed build is remembered too: every test after it fails at once
    // with the same message instead of running cargo again.
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    if let Some(path) = SERVER_BIN.get() {
        return path.clone();
    }
    let built = BUILT.get_or_init(|| {
        if let Ok(p) = std::env::var("TAVOLO_SERVER_BIN") {
            return Ok(PathBuf::from(p));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "tavolo-server",
                "--bin",
                "tavolo-server",
            ])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cargo did not run: {e}"))?;
        if !status.success() {
            return Err(format!(
                "building tavolo-server failed ({status}); cargo's errors are above"
            ));
        }
        let target =
            std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
        Ok(target.join("debug").join("tavolo-server"))
    });
    match built {
        Ok(path) => SERVER_BIN.get_or_init(|| path.clone()).clone(),
        Err(why) => panic!("{why}"),
    }
}

/// A running `tavolo-server`.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// The PostgreSQL database it runs on (`None`: SQLite in `data_dir`).
    pub database_url: Option<String>,
}

impl ServerProcess {
    /// Starts the server on a free port with `data_dir` (created if needed).
    pub async fn start(data_dir: &Path) -> Result<Self> {
        Self::start_with(data_dir, &[]).await
    }

    pub async fn start_with(data_dir: &Path, extra: &[&str]) -> Result<Self> {
        Self::start_on(data_dir, None, extra).await
    }

    /// Starts the server on the PostgreSQL database at `database_url`
    /// (`data_dir` then holds no database).
    pub async fn start_postgres(data_dir: &Path, database_url: &str) -> Result<Self> {
        Self::start_on(data_dir, Some(database_url), &[]).await
    }

    /// Starts the server with `data_dir`, on PostgreSQL when
    /// `database_url` is given, with `extra` options.
    pub async fn start_on(
        data_dir: &Path,
        database_url: Option<&str>,
        extra: &[&str],
    ) -> Result<Self> {
        let bin = server_bin();
        let mut command = Command::new(&bin);
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        let mut child = command
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--announce")
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("TAVOLO_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let base = timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("TAVOLO_LISTENING ") {
                    return Ok::<_, anyhow::Error>(url.to_string());
                }
            }
            bail!("server exited before listening")
        })
        .await
        .context("server did not start in 20 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            database_url: database_url.map(str::to_string),
        })
    }

    /// The server's process id (for CPU and memory readings).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn ws_url(&self, ticket: &str) -> String {
        format!(
            "{}/sync?ticket={ticket}",
            self.base.replacen("http", "ws", 1)
        )
    }

    /// SIGKILL: no chance to flush anything.
    pub async fn kill(mut self) -> Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// SIGKILL, then a new server on the same data dir or database
    /// (without the first start's extra options).
    pub async fn kill_and_restart(self) -> Result<Self> {
        let (dir, url) = (self.data_dir.clone(), self.database_url.clone());
        self.kill().await?;
        Self::start_on(&dir, url.as_deref(), &[]).await
    }

    /// SIGTERM, then wait for a graceful exit.
    pub async fn terminate(mut self) -> Result<std::process::ExitStatus> {
        let pid = self.child.id().ok_or_else(|| anyhow!("already exited"))?;
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        Ok(timeout(Duration::from_secs(15), self.child.wait()).await??)
    }

    pub fn api(&self) -> Api {
        Api::new(&self.base)
    }
}

/// The contract's HTTP calls.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// What `POST /api/join` returns, and what a test needs to connect.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub ticket: String,
    pub participant_id: Option<String>,
    pub session_doc: DocumentId,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub session_id: String,
    pub join_code: String,
    pub facilitator_key: String,
    pub session_doc: DocumentId,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// POSTs JSON; returns status and body (JSON, or `null` if not JSON).
    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<(u16, Value)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// `POST` with an `Authorization` header.
    pub async fn post_raw_auth(
        &self,
        path: &str,
        authorization: &str,
        body: &Value,
    ) -> Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Authorization", authorization)
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub async fn get(&self, path: &str) -> Result<(u16, Value)> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn create_session(&self) -> Result<Session> {
        let (status, body) = self
            .post(
                "/api/sessions",
                &json!({"template": "tavolo-prima-sessione", "title": "Prova"}),
            )
            .await?;
        if status != 201 {
            bail!("create session: {status} {body}");
        }
        Ok(Session {
            session_id: str_field(&body, "session_id")?,
            join_code: str_field(&body, "join_code")?,
            facilitator_key: str_field(&body, "facilitator_key")?,
            session_doc: DocumentId::from_url(&str_field(&body, "session_doc")?)?,
        })
    }

    pub async fn join(&self, join_code: &str, name: &str) -> Result<Ticket> {
        self.join_as(join_code, name, "in_room").await
    }

    /// Joins saying where one sits: `in_room` or `remote`.
    pub async fn join_as(&self, join_code: &str, name: &str, attendance: &str) -> Result<Ticket> {
        let person = json!({
            "name": name, "organization": "Pro Loco",
            "sector": "community", "tier": "founding_core", "attendance": attendance
        });
        self.join_with(join_code, &person).await
    }

    pub async fn facilitator(&self, s: &Session) -> Result<Ticket> {
        let (status, body) = self
            .post(
                "/api/facilitator",
                &json!({"session_id": s.session_id, "facilitator_key": s.facilitator_key}),
            )
            .await?;
        if status != 201 {
            bail!("facilitator: {status} {body}");
        }
        Ok(Ticket {
            ticket: str_field(&body, "ticket")?,
            participant_id: None,
            session_doc: DocumentId::from_url(&str_field(&body, "session_doc")?)?,
        })
    }
}

impl Api {
    /// A read-only ticket for the projector screen.
    pub async fn projector(&self, s: &Session) -> Result<Ticket> {
        let (status, body) = self
            .post(
                "/api/projector",
                &json!({"session_id": s.session_id, "facilitator_key": s.facilitator_key}),
            )
            .await?;
        if status != 201 {
            bail!("projector: {status} {body}");
        }
        Ok(Ticket {
            ticket: str_field(&body, "ticket")?,
            participant_id: None,
            session_doc: DocumentId::from_url(&str_field(&body, "session_doc")?)?,
        })
    }
}

/// A document the server sent back: status, headers and body as text.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Fetched {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `{"error": …}` of a refusal.
    pub fn error(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }
}

impl Api {
    /// GETs with an `Authorization` header (when given), keeping what a
    /// document download needs to be checked: headers and the raw body.
    pub async fn get_authorized(&self, path: &str, authorization: Option<&str>) -> Result<Fetched> {
        self.fetch(self.http.get(format!("{}{path}", self.base)), authorization)
            .await
    }

    /// `DELETE` with an optional `Authorization` header.
    pub async fn delete_authorized(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> Result<Fetched> {
        self.fetch(
            self.http.delete(format!("{}{path}", self.base)),
            authorization,
        )
        .await
    }

    async fn fetch(
        &self,
        mut req: reqwest::RequestBuilder,
        authorization: Option<&str>,
    ) -> Result<Fetched> {
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await?;
        Ok(Fetched {
            status,
            headers,
            body,
        })
    }

    /// Joins with every field chosen by the test.
    pub async fn join_with(&self, join_code: &str, person: &Value) -> Result<Ticket> {
        let mut body = person.clone();
        body["join_code"] = json!(join_code);
        let (status, body) = self.post("/api/join", &body).await?;
        if status != 201 {
            bail!("join: {status} {body}");
        }
        Ok(Ticket {
            ticket: str_field(&body, "ticket")?,
            participant_id: Some(str_field(&body, "participant_id")?),
            session_doc: DocumentId::from_url(&str_field(&body, "session_doc")?)?,
        })
    }
}

fn str_field(v: &Value, k: &str) -> Result<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("response lacks {k}: {v}"))
}

/// What a [`SyncClient`] has seen so far; predicates of
/// [`SyncClient::pump_until`] look at it.
pub struct ClientView {
    core: ClientCore,
    pub refusals: Vec<RefusedMessage>,
    /// Documents the server rewrote (a purge), each time it said so; the
    /// copy was dropped and is loading again.
    pub rewritten: Vec<DocumentId>,
    pub unavailable: Vec<DocumentId>,
    pub ephemeral: Vec<tavolo_sync::wire::EphemeralMessage>,
    pub errors: Vec<String>,
    /// The close frame, once the server closed the connection.
    pub closed: Option<(u16, String)>,
    pub received: usize,
    pub sent: usize,
    /// `sync`/`request` messages per document, received and sent.
    pub sync_received: HashMap<DocumentId, usize>,
    pub sync_sent: HashMap<DocumentId, usize>,
}

impl std::fmt::Debug for ClientView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientView")
            .field("refusals", &self.refusals)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl ClientView {
    /// The local copy of a document (empty if not opened).
    pub fn doc(&self, id: DocumentId) -> &AutoCommit {
        static EMPTY: std::sync::OnceLock<AutoCommit> = std::sync::OnceLock::new();
        self.core
            .doc(id)
            .unwrap_or_else(|| EMPTY.get_or_init(AutoCommit::new))
    }

    /// The server's peer id, from its greeting.
    pub fn server_peer(&self) -> Option<PeerId> {
        self.core.server().cloned()
    }

    /// The server's latest word on who is connected: its last whole
    /// picture with the deltas after it applied in order, as a screen does.
    pub fn presence(&self) -> Option<tavolo_sync::Presence> {
        let server = self.core.server()?;
        let mut picture: Option<tavolo_sync::Presence> = None;
        for e in self.ephemeral.iter().filter(|e| &e.sender_id == server) {
            if let Ok(Some(p)) = tavolo_sync::Presence::decode(&e.data) {
                picture = Some(p);
            } else if let Ok(Some(d)) = tavolo_sync::PresenceDelta::decode(&e.data)
                && let Some(p) = picture.as_mut()
            {
                assert!(
                    p.apply(&d),
                    "a presence delta on version {} reached a screen at {}",
                    d.base,
                    p.version
                );
            }
        }
        picture
    }

    /// The server's latest private word of a kind on a document (its
    /// `ephemeral` payloads: `MyNotes`, `MyDots`, `Totals`…), decoded by
    /// `decode`; `None` before the first.
    pub fn latest<T>(&self, doc: DocumentId, decode: impl Fn(&[u8]) -> Option<T>) -> Option<T> {
        let server = self.core.server()?;
        self.ephemeral
            .iter()
            .rev()
            .filter(|e| &e.sender_id == server && e.document_id == doc)
            .find_map(|e| decode(&e.data))
    }

    /// How many of the server's private messages on `doc` decode with `decode`.
    pub fn count_of<T>(&self, doc: DocumentId, decode: impl Fn(&[u8]) -> Option<T>) -> usize {
        let Some(server) = self.core.server() else {
            return 0;
        };
        self.ephemeral
            .iter()
            .filter(|e| &e.sender_id == server && e.document_id == doc)
            .filter(|e| decode(&e.data).is_some())
            .count()
    }

    /// Moves what the core collected into the view and returns the frames
    /// to send.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        for r in self.core.take_refusals() {
            if r.code == "board_rewritten" {
                // The server purged the board: like Tavolo's client, drop
                // the copy and load it again (not a refusal of anything
                // this client did).
                self.core.reset(r.document_id);
                self.rewritten.push(r.document_id);
            } else {
                self.refusals.push(r);
            }
        }
        self.unavailable.extend(self.core.take_unavailable());
        self.ephemeral.extend(self.core.take_ephemeral());
        self.errors.extend(self.core.take_errors());
        let out = self.core.take_outgoing();
        self.sent += out.len();
        for f in &out {
            if let Some(id) = sync_doc(f) {
                *self.sync_sent.entry(id).or_default() += 1;
            }
        }
        out
    }
}

/// The document of a `sync` or `request` frame.
fn sync_doc(frame: &[u8]) -> Option<DocumentId> {
    match Message::decode(frame).ok()? {
        Message::Sync(m) | Message::Request(m) => Some(m.document_id),
        _ => None,
    }
}

type Shared = std::sync::Arc<std::sync::Mutex<ClientView>>;

/// One automerge-repo peer over one WebSocket: `tavolo_sync::ClientCore`
/// (the same protocol core the browser client uses) with a real socket. Like
/// a real client it reads and answers the server all the time (a background
/// task); tests act on it and wait for conditions on what it has seen.
pub struct SyncClient {
    pub peer: PeerId,
    view: Shared,
    changed: std::sync::Arc<tokio::sync::Notify>,
    out: tokio::sync::mpsc::UnboundedSender<WsMessage>,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("peer", &self.peer)
            .finish()
    }
}

impl Drop for SyncClient {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl SyncClient {
    /// Connects and completes the `join` / `peer` handshake.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, Vec::new()).await
    }

    /// Connects holding documents kept from before (edited while offline):
    /// they sync, local changes included, right after the handshake.
    pub async fn connect_with(url: &str, docs: Vec<(DocumentId, AutoCommit)>) -> Result<Self> {
        let (mut ws, _): (WebSocketStream<MaybeTlsStream<TcpStream>>, _) =
            tokio_tungstenite::connect_async(url).await?;
        let peer = PeerId(format!("test-{}", uuid::Uuid::new_v4().simple()));
        let mut core = ClientCore::new(peer.clone());
        for (id, doc) in docs {
            core.restore(id, doc);
        }
        core.connected();
        for frame in core.take_outgoing() {
            ws.send(WsMessage::Binary(frame.into())).await?;
        }
        while !core.ready() {
            let frame = timeout(Duration::from_secs(10), ws.next())
                .await
                .context("no peer message")?
                .ok_or_else(|| anyhow!("closed during handshake"))??;
            if let WsMessage::Binary(b) = frame {
                core.receive(&b)?;
            }
        }
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<WsMessage>();
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let view: Shared = std::sync::Arc::new(std::sync::Mutex::new(ClientView {
            core,
            refusals: Vec::new(),
            rewritten: Vec::new(),
            unavailable: Vec::new(),
            ephemeral: Vec::new(),
            errors: Vec::new(),
            closed: None,
            received: 0,
            sent: 0,
            sync_received: HashMap::new(),
            sync_sent: HashMap::new(),
        }));
        let changed = std::sync::Arc::new(tokio::sync::Notify::new());
        let reader = {
            let (view, changed, out) = (view.clone(), changed.clone(), out.clone());
            tokio::spawn(async move {
                while let Some(frame) = stream.next().await {
                    let Ok(frame) = frame else { break };
                    {
                        let mut v = view.lock().unwrap_or_else(|p| p.into_inner());
                        match frame {
                            WsMessage::Binary(b) => {
                                v.received += 1;
                                if let Some(id) = sync_doc(&b) {
                                    *v.sync_received.entry(id).or_default() += 1;
                                }
                                if let Err(e) = v.core.receive(&b) {
                                    v.errors.push(e.to_string());
                                }
                                for f in v.drain() {
                                    let _ = out.send(WsMessage::Binary(f.into()));
                                }
                            }
                            WsMessage::Close(f) => {
                                v.closed = Some(f.map_or((1005, String::new()), |f| {
                                    (f.code.into(), f.reason.to_string())
                                }));
                            }
                            _ => {}
                        }
                    }
                    changed.notify_waiters();
                }
                {
                    let mut v = view.lock().unwrap_or_else(|p| p.into_inner());
                    v.closed.get_or_insert((1006, "connection lost".into()));
                }
                changed.notify_waiters();
            })
        };
        let client = Self {
            peer,
            view,
            changed,
            out,
            reader,
            writer,
        };
        // The greeting queued the sync of any restored document.
        client.act(|_| ())?;
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClientView> {
        self.view.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the view, then sends what the core queued.
    fn act<T>(&self, f: impl FnOnce(&mut ClientView) -> T) -> Result<T> {
        let (out, frames) = {
            let mut v = self.lock();
            let out = f(&mut v);
            (out, v.drain())
        };
        for frame in frames {
            self.out
                .send(WsMessage::Binary(frame.into()))
                .map_err(|_| anyhow!("connection closed"))?;
        }
        Ok(out)
    }

    /// Starts syncing a document this client does not have.
    pub async fn open(&mut self, id: DocumentId) -> Result<()> {
        self.act(|v| v.core.open(id))
    }

    /// Drops the local copy and asks again (what the real client does after
    /// a refusal).
    pub async fn reset(&mut self, id: DocumentId) -> Result<()> {
        self.act(|v| v.core.reset(id))
    }

    /// A copy of the local document.
    pub fn doc(&self, id: DocumentId) -> AutoCommit {
        self.lock().doc(id).clone()
    }

    /// Reads what the client has seen.
    pub fn lock_view<T>(&self, f: impl FnOnce(&ClientView) -> T) -> T {
        f(&self.lock())
    }

    pub fn refusals(&self) -> Vec<RefusedMessage> {
        self.lock().refusals.clone()
    }

    /// Edits a document locally, then sends what changed.
    pub async fn change<T>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&mut AutoCommit) -> T,
    ) -> Result<T> {
        self.act(|v| v.core.change(id, f))?.map_err(Into::into)
    }

    /// Edits a document the way Tavolo's client writes an anonymous note
    /// (see [`ClientCore::change_unlinked`]), then sends what changed.
    pub async fn change_unlinked<T, E>(
        &mut self,
        id: DocumentId,
        f: impl Fn(&mut AutoCommit) -> std::result::Result<T, E>,
    ) -> Result<std::result::Result<T, E>> {
        self.act(|v| v.core.change_unlinked(id, f))?
            .map_err(Into::into)
    }

    /// Asks the server to set this participant's dots on a target
    /// (contract v2), the way Tavolo's client does.
    pub async fn send_dot(&mut self, id: DocumentId, target: &str, count: u64) -> Result<()> {
        let data = tavolo_sync::DotRequest {
            target: target.to_string(),
            count,
        }
        .encode();
        self.send_to_server(id, data).await
    }

    /// Sends the server any `ephemeral` payload on a document.
    pub async fn send_to_server(&mut self, id: DocumentId, data: Vec<u8>) -> Result<()> {
        if self.act(|v| v.core.send_to_server(id, data))? {
            Ok(())
        } else {
            bail!("not connected")
        }
    }

    /// How many times the server said it rewrote `id` (purges).
    pub fn rewrites(&self, id: DocumentId) -> usize {
        self.lock().rewritten.iter().filter(|d| **d == id).count()
    }

    /// Waits until the server has said `n` times that it rewrote `id`, and
    /// the rewritten board has loaded.
    pub async fn await_rewrites(&mut self, id: DocumentId, n: usize) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.pump_until(Duration::from_secs(10), |v| {
            v.rewritten.iter().filter(|d| **d == id).count() >= n
                && tavolo_model::read::get_map(v.doc(id), &automerge::ROOT, "purged").is_some()
        })
        .await
    }

    /// Sends raw bytes as one binary frame (for hostile-input tests).
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.out
            .send(WsMessage::Binary(bytes.into()))
            .map_err(|_| anyhow!("connection closed"))
    }

    pub async fn send_message(&mut self, m: &Message) -> Result<()> {
        self.send_raw(m.encode()).await
    }

    /// Waits until `done` holds for what the client has seen, or fails after `limit`.
    pub async fn pump_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&ClientView) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            {
                let v = self.lock();
                if done(&v) {
                    return Ok(());
                }
                if let Some(c) = &v.closed {
                    bail!("server closed the connection: {c:?}");
                }
            }
            if timeout(deadline.saturating_duration_since(Instant::now()), notified)
                .await
                .is_err()
            {
                bail!("condition not met within {limit:?}");
            }
        }
    }

    /// Waits for the connection to close; returns the close code and reason.
    pub async fn closed(&mut self, limit: Duration) -> Result<(u16, String)> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if let Some(c) = self.lock().closed.clone() {
                return Ok(c);
            }
            if timeout(deadline.saturating_duration_since(Instant::now()), notified)
                .await
                .is_err()
            {
                bail!("not closed within {limit:?}");
            }
        }
    }

    pub async fn close(self) -> Result<()> {
        let _ = self.out.send(WsMessage::Close(None));
        Ok(())
    }
}

/// The document URLs of a session, read from its session document.
pub fn question_docs(session: &AutoCommit) -> Vec<DocumentId> {
    let s = tavolo_model::SessionDoc::load(session).expect("session doc hydrates");
    s.phases
        .iter()
        .flat_map(|p| &p.questions)
        .map(|q| DocumentId::from_url(&q.doc_url).expect("question url"))
        .collect()
}

/// Note texts of a question document.
pub fn note_texts(doc: &AutoCommit) -> Vec<String> {
    tavolo_model::QuestionDoc::load(doc)
        .notes_in_order()
        .into_iter()
        .map(|(_, n)| n.text.clone())
        .collect()
}
