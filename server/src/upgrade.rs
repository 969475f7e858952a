//! The WebSocket upgrade (RFC 6455, over HTTP/1.1), done here rather than by
//! axum's extractor so that a connection owns its tokio-tungstenite stream
//! and can send a big message as a series of frames
//! ([`crate::connection`]): tungstenite formats a frame whole into its
//! write buffer and keeps that buffer's capacity, so one whole-board message
//! (hundreds of KiB on a 1,000-note board) would otherwise stay allocated for
//! as long as the phone stays connected.

use crate::api::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// A server-side WebSocket.
pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// A valid upgrade request, not yet answered.
#[derive(Debug)]
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
    offered: Vec<String>,
}

/// Why a request is not a WebSocket upgrade: `{"error": …}` with 400 (426
/// for another protocol version, as RFC 6455 asks).
fn rejection(status: StatusCode, message: &str) -> Response {
    match status {
        StatusCode::UPGRADE_REQUIRED => {
            let mut r = ApiError::Coded {
                status,
                code: "websocket_version",
                message: message.into(),
            }
            .into_response();
            r.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
            r
        }
        _ => ApiError::BadRequest(message.into()).into_response(),
    }
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let not_ws = "this address takes a WebSocket (GET with Upgrade: websocket)";
        if parts.version != Version::HTTP_11 || parts.method != Method::GET {
            return Err(rejection(StatusCode::BAD_REQUEST, not_ws));
        }
        if !has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return Err(rejection(StatusCode::BAD_REQUEST, not_ws));
        }
        if parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|v| v.as_bytes() != b"13")
        {
            return Err(rejection(
                StatusCode::UPGRADE_REQUIRED,
                "WebSocket version 13 is required",
            ));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return Err(rejection(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Key is missing",
            ));
        };
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return Err(rejection(
                StatusCode::BAD_REQUEST,
                "this connection cannot be upgraded",
            ));
        };
        let offered = parts
            .headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|s| s.split(','))
            .map(|p| p.trim().to_string())
            .collect();
        Ok(Self {
            key,
            on_upgrade,
            offered,
        })
    }
}

impl Upgrade {
    /// Answers 101 and runs `callback` on the socket once the upgrade is
    /// done; `protocol` is selected if the client offered it.
    pub fn on_upgrade<C, Fut>(
        self,
        config: WebSocketConfig,
        protocol: &str,
        callback: C,
    ) -> Response
    where
        C: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Self {
            key,
            on_upgrade,
            offered,
        } = self;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!(error = %e, "WebSocket upgrade failed");
                    return;
                }
            };
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            callback(socket).await;
        });
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = response.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if offered.iter().any(|p| p == protocol)
            && let Ok(p) = HeaderValue::from_str(protocol)
        {
            h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        response
    }
}
