//! Who may knock, and how often: per-IP rate limits and the Origin allowlist.
//!
//! A civic session is open to anyone with the join code, usually from one
//! venue IP for the whole room. The limits are sized for that: forty phones
//! joining within a minute and reconnecting at once after a Wi-Fi blip pass
//! easily; a script hammering `/api/join` or opening sockets in a loop does
//! not. (Behind a reverse proxy every request comes from the proxy: put the
//! limits there, or turn these off with `--no-rate-limits`.)
//!
//! Browsers send `Origin` on WebSocket upgrades and on `POST`s: a page on
//! another site must not drive a participant's session with their ticket
//! or create sessions on their behalf. Requests without `Origin` (stock
//! clients, scripts, curl) carry no browser credentials and pass.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A token bucket per IP address.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Addresses remembered before full buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

impl RateLimiter {
    pub fn new(burst: f64, per_second: f64) -> Self {
        Self {
            burst,
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; false when none is left.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let (burst, rate) = (self.burst, self.per_second);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_TRACKED {
                // Every tracked address is mid-burst: an attack from many
                // addresses; refuse newcomers rather than grow.
                return false;
            }
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The server's door policy.
#[derive(Debug)]
pub struct Access {
    /// Origins allowed besides the server's own (e.g. `https://tavolo.example`).
    pub allowed_origins: Vec<String>,
    /// `None`: no rate limits.
    pub api: Option<RateLimiter>,
    pub sockets: Option<RateLimiter>,
}

impl Access {
    pub fn new(allowed_origins: Vec<String>, rate_limits: bool) -> Self {
        Self {
            allowed_origins: allowed_origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            // Writes to the API (create, join, tickets): a room of forty
            // joining at once, then one a second.
            api: rate_limits.then(|| RateLimiter::new(120.0, 2.0)),
            // Socket upgrades: a whole room reconnecting at once, several
            // times a minute.
            sockets: rate_limits.then(|| RateLimiter::new(300.0, 5.0)),
        }
    }

    /// Whether a request's `Origin` (if any) may use this server.
    pub fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return true;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        // Same origin: the Origin's host[:port] is the Host the request went to.
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        matches!((origin_host, host), (Some(o), Some(h)) if o == h)
    }
}

fn refuse(status: axum::http::StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Middleware for the whole router: Origin for upgrades and writes, rate
/// limits for API writes and socket upgrades.
pub async fn guard(
    State(state): State<Arc<crate::AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_socket = path == "/sync";
    // Reports are reads, but each renders a whole session: limited like writes.
    let is_costly_read = request.method() == Method::GET
        && path.starts_with("/api/sessions/")
        && (path.ends_with("/report")
            || path.ends_with("/attendance")
            || path.ends_with("/my-notes"));
    let is_write =
        (request.method() == Method::POST && path.starts_with("/api/")) || is_costly_read;
    if !(is_socket || is_write) {
        return next.run(request).await;
    }
    let access = &state.access;
    if !access.origin_allowed(request.headers()) {
        return refuse(
            axum::http::StatusCode::FORBIDDEN,
            "requests from this origin are not allowed",
        );
    }
    let limiter = if is_socket {
        &access.sockets
    } else {
        &access.api
    };
    if let Some(l) = limiter
        && !l.allow(peer.ip(), Instant::now())
    {
        let mut r = refuse(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this network; try again in a few seconds",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return r;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_room_joins_at_once_and_a_loop_is_stopped() {
        let l = RateLimiter::new(120.0, 2.0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..120).all(|_| l.allow(ip, t0)), "a whole room at once");
        assert!(!l.allow(ip, t0), "then a pause");
        assert!(l.allow(ip, t0 + Duration::from_secs(1)));
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.allow(other, t0), "another network is not affected");
    }

    #[test]
    fn origins_are_the_servers_own_or_listed() {
        let a = Access::new(vec!["https://tavolo.example/".into()], true);
        let mut h = HeaderMap::new();
        assert!(a.origin_allowed(&h), "no Origin: not a browser");
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(a.origin_allowed(&h));
        h.insert(header::ORIGIN, "https://tavolo.example".parse().unwrap());
        assert!(a.origin_allowed(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!a.origin_allowed(&h));
    }
}
