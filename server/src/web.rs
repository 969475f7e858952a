//! Serving the built web app (`web/dist`): hashed assets with long caching,
//! precompressed `.br` and `.gz` files when present (by the browser's
//! `Accept-Encoding`), `index.html` for the app's
//! routes (`/`, `/j/…`, `/b/…`, `/f/…`, `/p/…`), and the service worker
//! (`/sw.js`, never cached by the browser's HTTP cache). When the app has not been
//! built, its pages say how to build it instead of a bare 404.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Headers on every response: no MIME sniffing, no Referer leaving the
/// app (a join code or session id in a path stays here), and no framing.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// The app's Content-Security-Policy: its own scripts (and WebAssembly),
/// its own sockets, never framed by another site.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; \
    frame-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
    object-src 'none'";

/// Whether `Accept-Encoding` takes `coding` (listed, and not with `q=0`).
fn accepts(headers: &axum::http::HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case(coding))
                && parts.all(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_none_or(|q| q > 0.0)
                })
        })
}

/// The app's page, compressed like the assets when the browser takes it
/// (`index.html.br` / `.gz` from the build; about a kilobyte saved on a
/// phone's first visit).
async fn index(State(state): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> Response {
    let dir = &state.web_dir;
    let page_headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(APP_CSP),
        ),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
    ];
    for (coding, suffix) in [("br", "index.html.br"), ("gzip", "index.html.gz")] {
        if !accepts(&headers, coding) {
            continue;
        }
        if let Ok(bytes) = tokio::fs::read(dir.join(suffix)).await {
            return (
                page_headers,
                [(header::CONTENT_ENCODING, HeaderValue::from_static(coding))],
                bytes,
            )
                .into_response();
        }
    }
    match tokio::fs::read(dir.join("index.html")).await {
        Ok(html) => (page_headers, html).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(APP_CSP),
            )],
            Html(format!(
                "<!doctype html><html lang=it><meta charset=utf-8><title>Tavolo</title>\
                 <p>L'app web non è stata costruita (<code>{}</code> manca): avvia Tavolo con \
                 <code>scripts/run.sh</code>.</p><p lang=en>The web app is not built: start Tavolo \
                 with <code>scripts/run.sh</code>.</p></html>",
                dir.join("index.html").display()
            )),
        )
            .into_response(),
    }
}

/// Hashed file names never change content; anything else under /assets (a
/// 404 for a file a newer build renamed) must not be kept.
fn cache_assets<B>(mut r: axum::http::Response<B>) -> axum::http::Response<B> {
    let value = if r.status().is_success() || r.status() == StatusCode::NOT_MODIFIED {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    r
}

/// The app's pages and files; anything else falls through to `fallback`.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let dir = state.web_dir.clone();
    // Hashed file names never change content; anything else under
    // /assets (a 404 for a file a newer build renamed) must not be kept.
    let immutable = tower::util::MapResponseLayer::new(cache_assets);
    Router::new()
        .route("/", get(index))
        .route("/j", get(index))
        .route("/j/{code}", get(index))
        .route("/b/{code}", get(index))
        .route("/f/{session}", get(index))
        .route("/p/{session}", get(index))
        .nest_service(
            "/assets",
            tower::ServiceBuilder::new().layer(immutable).service(
                ServeDir::new(dir.join("assets"))
                    .precompressed_br()
                    .precompressed_gzip(),
            ),
        )
        .route_service(
            "/favicon.svg",
            tower_http::services::ServeFile::new(dir.join("favicon.svg")),
        )
        // The service worker that keeps the app on phones for when the
        // network is gone: always checked again, so a new build reaches them.
        .route_service(
            "/sw.js",
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ))
                .service(tower_http::services::ServeFile::new(dir.join("sw.js"))),
        )
}
