//! Who may knock, and how often: rate limits and the Origin allowlist.
//!
//! A civic session is open to anyone with the join code, usually from one
//! venue address for the whole room (NAT), so one device must not be able
//! to spend the venue's allowance. Failed attempts (a wrong join code,
//! ticket or key: 401, 403, 404) are counted per network — an IPv4
//! address, or an IPv6 /64 — and once a network has failed too often its
//! further *failures* are answered 429, so guessing is slowed while every
//! valid request from the same address still passes. Valid users are
//! limited per credential instead: socket upgrades per ticket (see
//! [`TicketLimiter`]). Session creation and the costly reads (reports) keep
//! a per-network allowance. Behind a reverse proxy, name it with
//! `--trusted-proxies` so that the limits count the client's address, not
//! the proxy's (see [`crate::clientip`]).
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

/// The network an address belongs to: IPv4 as is, IPv6 by its /64 (one
/// device has a whole /64 to pick addresses from).
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A token bucket per key (a network, a ticket).
#[derive(Debug)]
pub struct Limiter<K> {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// A token bucket per network.
pub type RateLimiter = Limiter<IpAddr>;
/// A token bucket per ticket (its hash).
pub type TicketLimiter = Limiter<Vec<u8>>;

/// Addresses remembered before full buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

impl<K: std::hash::Hash + Eq + Clone> Limiter<K> {
    pub fn new(burst: f64, per_second: f64) -> Self {
        Self {
            burst,
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` has a token left, without taking it.
    pub fn has_tokens(&self, ip: &K, now: Instant) -> bool {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.get(ip).is_none_or(|(tokens, at)| {
            tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second >= 1.0
        })
    }

    /// Takes one token for `ip`; false when none is left.
    pub fn allow(&self, ip: K, now: Instant) -> bool {
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
    /// Failed attempts (401/403/404 on the API and the socket), per network.
    pub failures: Option<RateLimiter>,
    /// Session creation, per network.
    pub create: Option<RateLimiter>,
    /// Costly reads (reports), per network.
    pub reads: Option<RateLimiter>,
    /// Socket upgrades, per ticket.
    pub sockets: Option<TicketLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client (see
    /// [`crate::clientip`]); empty: the peer is the client.
    pub trusted_proxies: crate::clientip::TrustedProxies,
}

impl Access {
    pub fn new(allowed_origins: Vec<String>, rate_limits: bool) -> Self {
        Self {
            allowed_origins: allowed_origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            // Mistyped codes from a whole room, then one every two seconds.
            failures: rate_limits.then(|| RateLimiter::new(60.0, 0.5)),
            // A facilitator trying templates, not a script filling the disk.
            create: rate_limits.then(|| RateLimiter::new(20.0, 1.0 / 60.0)),
            // Reports render a whole session.
            reads: rate_limits.then(|| RateLimiter::new(60.0, 1.0)),
            // One phone reconnecting: through a flaky evening, not in a loop.
            sockets: rate_limits.then(|| TicketLimiter::new(30.0, 0.2)),
            trusted_proxies: crate::clientip::TrustedProxies::default(),
        }
    }

    /// Believes `X-Forwarded-For` from these proxies.
    pub fn with_trusted_proxies(mut self, proxies: crate::clientip::TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
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

fn too_many() -> Response {
    let mut r = refuse(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too many requests; try again in a few seconds",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    r
}

/// Middleware for the whole router: Origin for upgrades and writes, the
/// per-network allowances for creation and reports, and the count of
/// failed attempts.
pub async fn guard(
    State(state): State<Arc<crate::AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<crate::clientip::ClientAddr>()
        .map_or(peer.ip(), |c| c.0);
    let path = request.uri().path();
    let is_socket = path == "/sync" || path.starts_with("/sync/");
    // Reports are reads, but each renders a whole session.
    let is_costly_read = request.method() == Method::GET
        && path.starts_with("/api/sessions/")
        && (path.ends_with("/report")
            || path.ends_with("/results")
            || path.ends_with("/attendance")
            || path.ends_with("/my-notes"));
    let is_create = request.method() == Method::POST
        && (path == "/api/sessions" || path == "/api/sessions/import");
    let is_write =
        matches!(*request.method(), Method::POST | Method::DELETE) && path.starts_with("/api/");
    let is_grant = path == "/api/grant";
    // Answers whether a join code exists: failures count like a wrong join.
    let is_join_info = path.starts_with("/api/join/");
    if !(is_socket || is_write || is_costly_read || is_grant || is_join_info) {
        return next.run(request).await;
    }
    let access = &state.access;
    if !access.origin_allowed(request.headers()) {
        return refuse(
            axum::http::StatusCode::FORBIDDEN,
            "requests from this origin are not allowed",
        );
    }
    let net = network(client);
    let now = Instant::now();
    let allowance = if is_create {
        &access.create
    } else if is_costly_read {
        &access.reads
    } else {
        &None
    };
    if let Some(l) = allowance
        && !l.allow(net, now)
    {
        return too_many();
    }
    let response = next.run(request).await;
    let failed = matches!(response.status().as_u16(), 401 | 403 | 404);
    if failed && let Some(f) = &access.failures {
        // The attempt was made and failed: it costs the network a token;
        // with none left the answer says nothing about why it failed.
        if !f.allow(net, now) {
            return too_many();
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_room_joins_at_once_and_a_loop_is_stopped() {
        let l: RateLimiter = Limiter::new(120.0, 2.0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..120).all(|_| l.allow(ip, t0)), "a whole room at once");
        assert!(!l.allow(ip, t0), "then a pause");
        assert!(l.allow(ip, t0 + Duration::from_secs(1)));
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.allow(other, t0), "another network is not affected");
    }

    #[test]
    fn ipv6_addresses_of_one_64_are_one_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(network(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
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
