//! Several nodes: a node that is not a session's owner passes the session's
//! traffic to the owner, so any node can take any client.
//!
//! - A sync socket is bridged: the node opens a socket to the owner's
//!   `/sync/{session}` with the client's ticket, then upgrades the client
//!   and copies frames both ways, untouched (the owner judges them, as if
//!   the client were connected to it). The bridge pings the client itself
//!   and gives up on one that stays silent, as the owner would.
//! - An HTTP request is sent again, as it came (method, path and query,
//!   body, the headers that matter), to the owner, and its answer is
//!   passed back.
//!
//! Nodes talk plain HTTP to each other's `--advertise-url`: on a private
//! network, as in docker-compose.yml.

use crate::connection::Timeouts;
use crate::upgrade::Socket;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::net::IpAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Marks a response whose request belongs to another node (its base URL).
#[derive(Debug, Clone)]
pub struct Misdirected(pub String);

/// Request bodies this node holds to pass them on (the API's own limits
/// are smaller).
const MAX_FORWARD_BODY: usize = crate::MAX_IMPORT_BODY;

/// `/api/sessions/{id}/…` → `id`.
fn session_in_api_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api/sessions/")?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then_some(id)
}

/// Middleware (several nodes only): a request about a session another
/// node serves is passed on to it. A session in the path is located before
/// the handler runs (so nothing happens here first); a handler that finds
/// out later (a join, by its code) answers [`Misdirected`], and the request
/// is sent on then.
pub async fn route(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(http) = state.forwarder.clone() else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_string();
    if !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<crate::clientip::ClientAddr>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORWARD_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({ "error": "request body too large" })),
        )
            .into_response();
    };
    let held = Held {
        method: parts.method.clone(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or(path.clone(), |p| p.as_str().to_string()),
        headers: parts.headers.clone(),
        body: bytes.clone(),
        client,
    };
    if let Some(session) = session_in_api_path(&path)
        && let Err(crate::registry::RegistryError::Elsewhere(owner)) =
            state.registry.session(session).await
    {
        return held.send(&http, &owner).await;
    }
    let response = next
        .run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
        .await;
    match response.extensions().get::<Misdirected>().cloned() {
        Some(Misdirected(owner)) => held.send(&http, &owner).await,
        None => response,
    }
}

/// A request kept to be sent again to the owner.
struct Held {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: axum::body::Bytes,
    client: IpAddr,
}

impl Held {
    async fn send(self, http: &reqwest::Client, owner: &str) -> Response {
        resend(
            http,
            owner,
            self.method,
            &self.path_and_query,
            &self.headers,
            self.body,
            self.client,
        )
        .await
    }
}

/// A socket from this node to the owner.
pub type OwnerSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long opening a socket or a request to the owner may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `http://host:port` → `ws://host:port` (and https → wss).
fn ws_base(base: &str) -> String {
    if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    }
}

/// Opens a socket to the owner at `owner_base` for `session_id`, carrying
/// the client's `ticket` and, when the client asked for it, Tavolo's
/// subprotocol. Returns the socket and whether the owner selected the
/// subprotocol.
pub async fn connect_owner(
    owner_base: &str,
    session_id: &str,
    ticket: &str,
    subprotocol: Option<&str>,
    client: IpAddr,
    config: WebSocketConfig,
) -> anyhow::Result<(OwnerSocket, bool)> {
    let url = format!(
        "{}/sync/{session_id}",
        ws_base(owner_base.trim_end_matches('/'))
    );
    let mut request = url.into_client_request()?;
    let h = request.headers_mut();
    h.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {ticket}"))?,
    );
    if let Some(p) = subprotocol {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(p)?);
    }
    h.insert(
        "x-forwarded-for",
        HeaderValue::from_str(&client.to_string())?,
    );
    let (socket, response) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the owner did not answer in {CONNECT_TIMEOUT:?}"))??;
    let selected = response
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .is_some_and(|v| Some(v.as_bytes()) == subprotocol.map(str::as_bytes));
    Ok((socket, selected))
}

/// Copies frames between the client and the owner until either side
/// closes, passing the close on.
pub async fn bridge(client: Socket, owner: OwnerSocket, t: Timeouts) {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut owner_tx, mut owner_rx) = owner.split();
    let mut ping = tokio::time::interval(t.ping);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            from_client = client_rx.next() => match from_client {
                Some(Ok(Message::Close(frame))) => {
                    let _ = owner_tx.send(Message::Close(frame)).await;
                    break;
                }
                Some(Ok(m @ (Message::Binary(_) | Message::Text(_)))) => {
                    last_heard = tokio::time::Instant::now();
                    if owner_tx.send(m).await.is_err() {
                        let _ = client_tx.send(going_away("the session's server went away")).await;
                        break;
                    }
                }
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
                Some(Err(_)) | None => {
                    let _ = owner_tx.send(Message::Close(None)).await;
                    break;
                }
            },
            from_owner = owner_rx.next() => match from_owner {
                Some(Ok(Message::Close(frame))) => {
                    let _ = client_tx.send(Message::Close(frame)).await;
                    break;
                }
                Some(Ok(m @ (Message::Binary(_) | Message::Text(_)))) => {
                    let sent = tokio::time::timeout(t.send, client_tx.send(m)).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        let _ = owner_tx.send(Message::Close(None)).await;
                        break;
                    }
                }
                // Pings from the owner are answered by this side's reader.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = client_tx.send(going_away("the session's server went away")).await;
                    break;
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > t.dead {
                    let _ = owner_tx.send(Message::Close(None)).await;
                    break;
                }
                if client_tx.send(Message::Ping(Vec::new().into())).await.is_err() {
                    let _ = owner_tx.send(Message::Close(None)).await;
                    break;
                }
            }
        }
    }
}

fn going_away(reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Away,
        reason: reason.to_string().into(),
    }))
}

/// Headers passed on to the owner with a request: what the handlers read
/// (credentials, body type, the browser's origin and host for the origin
/// check, languages) and who the client is.
const PASSED_HEADERS: [header::HeaderName; 6] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ORIGIN,
    header::HOST,
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
];

/// Sends a request again to the owner and returns its answer.
pub async fn resend(
    http: &reqwest::Client,
    owner_base: &str,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
    client: IpAddr,
) -> Response {
    let url = format!("{}{path_and_query}", owner_base.trim_end_matches('/'));
    let mut request = http.request(method, &url).timeout(Duration::from_secs(60));
    for name in PASSED_HEADERS {
        if let Some(v) = headers.get(&name) {
            request = request.header(name, v);
        }
    }
    request = request.header("x-forwarded-for", client.to_string());
    match request.body(body).send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut out = Response::builder().status(status);
            for (name, value) in answer.headers() {
                if name != header::TRANSFER_ENCODING && name != header::CONNECTION {
                    out = out.header(name, value);
                }
            }
            match answer.bytes().await {
                Ok(bytes) => out
                    .body(Body::from(bytes))
                    .unwrap_or_else(|_| unavailable()),
                Err(_) => unavailable(),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, owner = %owner_base, "the session's owner did not answer");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({
            "error": "the server holding this session did not answer; try again in a few seconds"
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_urls_become_socket_urls() {
        assert_eq!(ws_base("http://10.0.0.2:8080"), "ws://10.0.0.2:8080");
        assert_eq!(ws_base("https://node2.internal"), "wss://node2.internal");
    }
}
