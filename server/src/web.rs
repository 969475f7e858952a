//! Serving the built web app (`web/dist`): hashed assets with long caching,
//! precompressed `.gz` files when present, and `index.html` for the app's
//! routes (`/`, `/j/…`, `/b/…`, `/f/…`, `/p/…`). When the app has not been
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

async fn index(State(state): State<Arc<AppState>>) -> Response {
    let dir = &state.web_dir;
    match tokio::fs::read_to_string(dir.join("index.html")).await {
        Ok(html) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
            Html(html),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
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

/// The app's pages and files; anything else falls through to `fallback`.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let dir = state.web_dir.clone();
    let immutable = SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Router::new()
        .route("/", get(index))
        .route("/j", get(index))
        .route("/j/{code}", get(index))
        .route("/b/{code}", get(index))
        .route("/f/{session}", get(index))
        .route("/p/{session}", get(index))
        .nest_service(
            "/assets",
            tower::ServiceBuilder::new()
                .layer(immutable)
                .service(ServeDir::new(dir.join("assets")).precompressed_gzip()),
        )
        .route_service(
            "/favicon.svg",
            tower_http::services::ServeFile::new(dir.join("favicon.svg")),
        )
}
