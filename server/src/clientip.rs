//! Who is on the other end: the client's address behind trusted proxies,
//! and the access log.
//!
//! Behind nginx every connection comes from nginx. With
//! `--trusted-proxies` naming the proxies' networks, the server reads the
//! `X-Forwarded-For` chain from the right, skipping addresses of trusted
//! proxies, and takes the first one that is not: that is the address the
//! last trusted proxy saw. A client cannot choose its own address by
//! sending the header, because only a trusted peer's header is read and
//! the entries a client wrote are to the left of the one the proxy added.
//! Rate limits and the access log use this address.
//!
//! The access log (target `tavolo::access`, at `info`) has one line per
//! request: method, path, status, duration and the client's address. It
//! never carries a secret: no query string (a stock client's ticket rides
//! there), join codes in paths are replaced by `…`, and no header is
//! logged (the web app's ticket rides in `Sec-WebSocket-Protocol`).

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Instant;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8`, `127.0.0.1` (a single address) or `::1`.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let net = IpNet::from_str(item)
                .or_else(|_| IpAddr::from_str(item).map(IpNet::from))
                .map_err(|_| {
                    format!("--trusted-proxies: \"{item}\" is not an address or a network like 10.0.0.0/8")
                })?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a request that came from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return unmap(peer);
        }
        // Every X-Forwarded-For header, in order, as one list.
        let chain: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = unmap(peer);
        for hop in chain.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage where an address should be: stop at the last
                // address a trusted proxy vouched for.
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(unmap(ip));
    }
    SocketAddr::from_str(hop).ok().map(|s| unmap(s.ip()))
}

/// `::ffff:10.0.0.1` is `10.0.0.1`.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The client's address, as the middleware resolved it (request extension).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// Middleware: resolves the client's address for everything after it,
/// and writes the access log line once the response is ready.
pub async fn resolve(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = state
        .access
        .trusted_proxies
        .client(peer.ip(), request.headers());
    request.extensions_mut().insert(ClientAddr(client));
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "tavolo::access",
        client = %client,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// A path fit for a log: join codes (`/j/CODE`, `/api/join/CODE`) become
/// `…`; anything over 200 bytes is cut.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/api/join/", "/j/"] {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
        {
            return format!("{prefix}…");
        }
    }
    let mut p = path.to_string();
    if p.len() > 200 {
        let mut cut = 200;
        while !p.is_char_boundary(cut) {
            cut -= 1;
        }
        p.truncate(cut);
        p.push('…');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), &headers(&["10.1.1.1"])),
            ip("203.0.113.9")
        );
        let t = TrustedProxies::parse(&["127.0.0.1/32".into()]).unwrap();
        assert_eq!(
            t.client(ip("203.0.113.9"), &headers(&["10.1.1.1"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let t = TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let proxy = ip("127.0.0.1");
        // nginx appended the address it saw.
        assert_eq!(
            t.client(proxy, &headers(&["198.51.100.7"])),
            ip("198.51.100.7")
        );
        // The client wrote its own header first: nginx's entry is on the right.
        assert_eq!(
            t.client(proxy, &headers(&["6.6.6.6, 198.51.100.7"])),
            ip("198.51.100.7")
        );
        // Two trusted proxies in a row; several headers count as one list.
        assert_eq!(
            t.client(proxy, &headers(&["6.6.6.6, 198.51.100.7", "10.2.3.4"])),
            ip("198.51.100.7")
        );
        // Ports and IPv6 brackets.
        assert_eq!(
            t.client(proxy, &headers(&["[2001:db8::5]:443"])),
            ip("2001:db8::5")
        );
        assert_eq!(
            t.client(proxy, &headers(&["198.51.100.7:5555"])),
            ip("198.51.100.7")
        );
        // No header, or nothing but garbage: the proxy itself.
        assert_eq!(t.client(proxy, &HeaderMap::new()), proxy);
        assert_eq!(t.client(proxy, &headers(&["unknown"])), proxy);
        // Garbage to the left of a good entry is never reached.
        assert_eq!(
            t.client(proxy, &headers(&["zzz, 198.51.100.7"])),
            ip("198.51.100.7")
        );
        // A mapped IPv6 peer is its IPv4 address.
        assert_eq!(
            t.client(ip("::ffff:127.0.0.1"), &headers(&["198.51.100.7"])),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_bad_network_is_refused_with_its_text() {
        let e = TrustedProxies::parse(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(e.contains("10.0.0.0/33"), "{e}");
        assert!(TrustedProxies::parse(&["nginx".into()]).is_err());
        assert!(TrustedProxies::parse(&[" ".into()]).unwrap().is_empty());
    }

    #[test]
    fn paths_in_the_log_carry_no_join_code() {
        assert_eq!(loggable_path("/api/join/ABC234"), "/api/join/…");
        assert_eq!(loggable_path("/j/ABC234"), "/j/…");
        assert_eq!(loggable_path("/api/join"), "/api/join");
        assert_eq!(loggable_path("/sync"), "/sync");
        let long = format!("/x{}", "é".repeat(300));
        assert!(loggable_path(&long).len() <= 204);
    }
}
