//! Tavolo's server: the HTTP API, WebSocket sync with server authority, and
//! storage (SQLite, or PostgreSQL for several nodes), in one binary.
//!
//! `main.rs` only parses options, sets up logging and binds; [`run`] serves a
//! listener until the shutdown future resolves. Tests call [`run`] (or the
//! binary) on `127.0.0.1:0`.
//!
//! # Layout
//!
//! - [`access`]: per-IP rate limits and the Origin allowlist.
//! - [`api`]: the contract's HTTP calls and `ApiError`.
//! - [`sessions`]: creating sessions from templates, joining, tickets.
//! - [`connection`]: one task per WebSocket (handshake, `select!` loop,
//!   close reasons).
//! - [`registry`]: open sessions and documents; one actor per document.
//! - [`actor`]: the per-document task that owns a sync `Room`.
//! - [`storage`]: the `Store` trait and its two backends, SQLite (group
//!   commit, the default) and PostgreSQL.
//! - [`metrics`]: counts and latencies for `/metrics` (Prometheus).
//! - [`templates_api`]: built-in template sources, checking and uploading
//!   a facilitator's own.
//! - [`web`]: the built web app and its routes.

pub mod access;
pub mod actor;
pub mod api;
pub mod backup;
pub mod clientip;
pub mod connection;
pub mod forward;
pub mod metrics;
pub mod ownership;
pub mod presence;
pub mod registry;
pub mod report_api;
pub mod sessions;
pub mod storage;
pub mod templates_api;
pub mod transfer;
pub mod upgrade;
pub mod web;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use registry::Registry;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use storage::Storage;
use tavolo_sync::PeerId;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Largest WebSocket message a client may send. Participants send small
/// changes; a phone that was offline for a while sends a few dozen.
pub const MAX_CLIENT_MESSAGE: usize = 1 << 20;
/// Bytes the server reads from a socket at a time (allocated per socket).
pub const READ_BUFFER: usize = 8 * 1024;
/// Outgoing bytes buffered before a write is pushed to the socket, and the
/// most one connection may hold unsent (a peer that stops reading is then
/// closed by its send timeout, not left to grow).
pub const WRITE_BUFFER: usize = 16 * 1024;
pub const MAX_WRITE_BUFFER: usize = 1 << 20;
/// Largest API request body.
pub const MAX_API_BODY: usize = 64 * 1024;
/// A whole session exported from another server (a big board is a few MB).
pub const MAX_IMPORT_BODY: usize = 32 << 20;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    pub storage: Storage,
    pub registry: Registry,
    /// Cancelled when the server shuts down; connections watch it.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them.
    pub connections: TaskTracker,
    /// The built web app (`web/dist`).
    pub web_dir: PathBuf,
    /// Rate limits and allowed origins.
    pub access: access::Access,
    /// How long connections wait on their peers.
    pub timeouts: connection::Timeouts,
    /// With several nodes: the client that passes requests and sockets to
    /// the node serving their session.
    pub forwarder: Option<reqwest::Client>,
    /// The hash of the secret `POST /api/sessions/import` asks for (the
    /// operator's `--import-token`); `None`: importing is off.
    pub import_token: Option<Vec<u8>>,
    next_conn: AtomicU64,
}

impl AppState {
    pub fn new(storage: Storage, web_dir: PathBuf) -> Arc<Self> {
        Self::with_access(storage, web_dir, access::Access::new(Vec::new(), true))
    }

    pub fn with_access(storage: Storage, web_dir: PathBuf, access: access::Access) -> Arc<Self> {
        Self::with_options(storage, web_dir, access, connection::Timeouts::default())
    }

    pub fn with_options(
        storage: Storage,
        web_dir: PathBuf,
        access: access::Access,
        timeouts: connection::Timeouts,
    ) -> Arc<Self> {
        Self::build(storage, web_dir, access, timeouts, None, None)
    }

    /// With `ownership`, one node of several: sessions are served where
    /// their lease is, and traffic for the others is passed on. Must be
    /// called within the tokio runtime.
    pub fn build(
        storage: Storage,
        web_dir: PathBuf,
        access: access::Access,
        timeouts: connection::Timeouts,
        ownership: Option<Arc<dyn ownership::Ownership>>,
        import_token: Option<&str>,
    ) -> Arc<Self> {
        let server_peer = PeerId(format!("tavolo-server-{}", uuid::Uuid::new_v4().simple()));
        let mut registry = Registry::new(storage.clone(), server_peer).with_idle(timeouts.idle);
        let cluster = ownership.is_some();
        if let Some(o) = ownership {
            registry = registry.with_ownership(o);
        }
        let state = Arc::new(Self {
            registry,
            storage,
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            web_dir,
            access,
            timeouts,
            forwarder: cluster.then(reqwest::Client::new),
            import_token: import_token.map(sessions::hash_secret),
            next_conn: AtomicU64::new(1),
        });
        if cluster {
            let mut lost = state.registry.lost_sessions();
            let weak = Arc::downgrade(&state);
            tokio::spawn(async move {
                use tokio::sync::broadcast::error::RecvError;
                loop {
                    let id = match lost.recv().await {
                        Ok(id) => id,
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return,
                    };
                    let Some(state) = weak.upgrade() else { return };
                    state.registry.drop_session(&id);
                }
            });
        }
        state
    }
}

/// The router: API, sync endpoint, health check, web app.
pub fn app(state: Arc<AppState>) -> Router {
    let router = Router::new()
        .merge(web::routes(&state))
        .route("/api/templates", get(api::templates))
        .route(
            "/api/sessions",
            post(api::create_session).layer(templates_api::body_limit()),
        )
        .route("/api/templates/{id}/source", get(templates_api::source))
        .route(
            "/api/templates/check",
            post(templates_api::check).layer(templates_api::body_limit()),
        )
        .route("/api/join", post(api::join))
        .route("/api/join/{code}", get(api::join_info))
        .route(
            "/api/sessions/{session_id}",
            axum::routing::delete(api::delete_session),
        )
        .route("/api/facilitator", post(api::facilitator))
        .route("/api/projector", post(api::projector))
        .route("/api/revoke", post(api::revoke))
        .route("/api/grant", get(api::grant))
        .route(
            "/api/sessions/{session_id}/rotate-key",
            post(api::rotate_key),
        )
        .route("/api/sessions/{session_id}/joining", post(api::joining))
        .route("/api/sessions/{session_id}/report", get(report_api::report))
        .route(
            "/api/sessions/{session_id}/results",
            get(report_api::results),
        )
        .route(
            "/api/sessions/{session_id}/follow-up",
            post(report_api::follow_up),
        )
        .route(
            "/api/sessions/import",
            post(api::import_session).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BODY)),
        )
        .route("/api/sessions/{session_id}/export", get(report_api::export))
        .route(
            "/api/sessions/{session_id}/report/attendance",
            get(report_api::attendance),
        )
        .route(
            "/api/sessions/{session_id}/my-notes",
            get(report_api::my_notes),
        )
        .route("/api/time", get(api::time))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/sync", get(sync_upgrade))
        .route("/sync/{session_id}", get(sync_upgrade_in))
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_API_BODY))
        // Several nodes: requests about another node's session go there,
        // once the guard has checked and counted them here.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::route,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        // Outermost: the client's address for the guard, and the access log.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            clientip::resolve,
        ));
    web::security_headers(router).with_state(state)
}

#[derive(Debug, Deserialize)]
struct SyncQuery {
    ticket: Option<String>,
}

/// The subprotocol Tavolo's own client asks for; its ticket rides in a
/// second one, `tavolo.ticket.<ticket>`, so it stays out of URLs (and so
/// out of proxy access logs).
const SUBPROTOCOL: &str = "tavolo";
const TICKET_SUBPROTOCOL_PREFIX: &str = "tavolo.ticket.";

/// Where the socket's ticket comes from: the `Sec-WebSocket-Protocol`
/// header (Tavolo's web app), an `Authorization: Bearer` header (clients
/// that can set headers), or the `?ticket=` query (stock automerge-repo
/// clients, which take a URL and nothing else: the trade-off is documented
/// in ARCHITECTURE.md).
fn socket_ticket(headers: &axum::http::HeaderMap, query: Option<String>) -> String {
    let from_protocol = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix(TICKET_SUBPROTOCOL_PREFIX)
                .map(str::to_string)
        });
    from_protocol
        .or_else(|| api::bearer(headers).map(str::to_string))
        .or(query)
        .unwrap_or_default()
}

/// `GET /sync` (ticket as described in [`socket_ticket`]): the ticket is
/// checked before the upgrade, so a missing or wrong one gets a plain 401
/// and no WebSocket.
async fn sync_upgrade(
    State(state): State<Arc<AppState>>,
    client: Option<axum::Extension<clientip::ClientAddr>>,
    headers: axum::http::HeaderMap,
    query: Result<Query<SyncQuery>, QueryRejection>,
    upgrade: Result<upgrade::Upgrade, Response>,
) -> Response {
    upgrade_socket(state, client, headers, query, upgrade, None).await
}

/// `GET /sync/{session_id}`: the same socket, with the session in the path
/// so that a proxy can send all of a session's sockets to one node (see
/// `deploy/nginx/`). The ticket must be for that session.
async fn sync_upgrade_in(
    State(state): State<Arc<AppState>>,
    client: Option<axum::Extension<clientip::ClientAddr>>,
    axum::extract::Path(session_id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    query: Result<Query<SyncQuery>, QueryRejection>,
    upgrade: Result<upgrade::Upgrade, Response>,
) -> Response {
    upgrade_socket(state, client, headers, query, upgrade, Some(session_id)).await
}

async fn upgrade_socket(
    state: Arc<AppState>,
    client: Option<axum::Extension<clientip::ClientAddr>>,
    headers: axum::http::HeaderMap,
    query: Result<Query<SyncQuery>, QueryRejection>,
    upgrade: Result<upgrade::Upgrade, Response>,
    session_in_path: Option<String>,
) -> Response {
    let ticket = socket_ticket(&headers, query.ok().and_then(|q| q.0.ticket));
    let grant = match sessions::check_ticket(&state.storage, &ticket).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            return api::ApiError::Unauthorized(
                "a valid ticket is required (join the session first)".into(),
            )
            .into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "ticket check failed");
            return api::ApiError::Unavailable("storage is unavailable, try again".into())
                .into_response();
        }
    };
    if let Some(sid) = session_in_path
        && sid != grant.session_id
    {
        return api::ApiError::Coded {
            status: axum::http::StatusCode::FORBIDDEN,
            code: "wrong_session",
            message: "this ticket is for another session than the one in the path".into(),
        }
        .into_response();
    }
    if let Some(l) = &state.access.sockets
        && !l.allow(sessions::hash_secret(&ticket), std::time::Instant::now())
    {
        let mut r = api::ApiError::Coded {
            status: axum::http::StatusCode::TOO_MANY_REQUESTS,
            code: "reconnecting_too_often",
            message: "this ticket reconnects too often; wait a few seconds".into(),
        }
        .into_response();
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return r;
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection,
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let tracker = state.connections.clone();
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_CLIENT_MESSAGE);
    config.max_frame_size = Some(MAX_CLIENT_MESSAGE);
    config.read_buffer_size = READ_BUFFER;
    config.write_buffer_size = WRITE_BUFFER;
    config.max_write_buffer_size = MAX_WRITE_BUFFER;
    // Several nodes: a session another node serves is bridged there.
    if state.forwarder.is_some()
        && let Err(registry::RegistryError::Elsewhere(owner)) =
            state.registry.session(&grant.session_id).await
    {
        let client = client.map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.0);
        let offered = headers
            .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == SUBPROTOCOL);
        let opened = forward::connect_owner(
            &owner,
            &grant.session_id,
            &ticket,
            offered.then_some(SUBPROTOCOL),
            client,
            config,
        )
        .await;
        return match opened {
            Ok((owner_socket, _)) => {
                let t = state.timeouts;
                upgrade.on_upgrade(config, SUBPROTOCOL, move |socket| {
                    tracker.track_future(forward::bridge(socket, owner_socket, t))
                })
            }
            Err(e) => {
                tracing::warn!(session = %grant.session_id, %owner, error = %e, "cannot reach the node serving this session");
                api::ApiError::Unavailable(
                    "the server holding this session did not answer; try again in a few seconds"
                        .into(),
                )
                .into_response()
            }
        };
    }
    upgrade.on_upgrade(config, SUBPROTOCOL, move |socket| {
        tracker.track_future(connection::serve(socket, state, grant, conn))
    })
}

/// Serves `listener` until `shutdown` resolves, then closes every WebSocket
/// with "going away" and waits for pending writes.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = state.shutdown.clone();
    let router = app(state.clone());
    let serve = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        token.cancel();
    });
    serve.await?;
    // axum's graceful shutdown does not wait for upgraded sockets: they
    // watch the token and close themselves; wait for them here.
    state.connections.close();
    if tokio::time::timeout(Duration::from_secs(5), state.connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    Ok(())
}

/// The demo session `--demo` prints: created once per data directory.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct DemoSession {
    pub session_id: String,
    pub join_code: String,
    pub facilitator_key: String,
    pub title: String,
}

/// Returns the data directory's demo session, creating it from the seed
/// template the first time.
pub async fn ensure_demo_session(storage: &Storage) -> anyhow::Result<DemoSession> {
    if let Some(json) = storage.meta("demo_session").await?
        && let Ok(demo) = serde_json::from_str::<DemoSession>(&json)
        && storage.session(demo.session_id.clone()).await?.is_some()
    {
        return Ok(demo);
    }
    let template = tavolo_model::Template::builtin(tavolo_model::template::DEFAULT_TEMPLATE_ID)
        .ok_or_else(|| anyhow::anyhow!("built-in template missing"))?;
    let created = sessions::create_session(storage, &template, None).await?;
    let demo = DemoSession {
        session_id: created.session_id,
        join_code: created.join_code,
        facilitator_key: created.facilitator_key,
        title: created.title,
    };
    storage
        .set_meta("demo_session", serde_json::to_string(&demo)?)
        .await?;
    Ok(demo)
}
