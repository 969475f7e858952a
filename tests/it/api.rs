//! The HTTP contract: success shapes and every error as `{"error": …}`.

use crate::helpers::spawn_server;
use serde_json::json;

#[tokio::test]
async fn creating_a_session_returns_its_code_key_and_document() {
    let r = spawn_server().await;
    let (status, body) = r
        .api
        .post(
            "/api/sessions",
            &json!({"template": "tavolo-prima-sessione"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["join_code"].as_str().unwrap().len(), 6);
    assert!(body["facilitator_key"].as_str().unwrap().len() >= 32);
    assert!(
        body["session_doc"]
            .as_str()
            .unwrap()
            .starts_with("automerge:")
    );
    assert!(body["session_id"].as_str().is_some());
    assert_eq!(body["title"], "Prima sessione del Tavolo di Negoziazione");
}

#[tokio::test]
async fn an_unknown_template_is_refused_with_the_available_ones() {
    let r = spawn_server().await;
    let (status, body) = r
        .api
        .post("/api/sessions", &json!({"template": "nope"}))
        .await
        .unwrap();
    assert_eq!(status, 422);
    let msg = body["error"].as_str().unwrap();
    assert!(
        msg.contains("nope") && msg.contains("tavolo-prima-sessione"),
        "{msg}"
    );
}

#[tokio::test]
async fn joining_returns_a_ticket_and_the_session_document() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let (status, body) = r
        .api
        .post(
            "/api/join",
            &json!({"join_code": s.join_code.to_lowercase(), "name": "Maria", "organization": "",
                    "sector": "public", "tier": "strategic_extension", "attendance": "remote"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(body["participant_id"].as_str().unwrap().starts_with("p_"));
    assert_eq!(body["ticket"].as_str().unwrap().len(), 64);
    assert_eq!(
        body["session_doc"].as_str().unwrap(),
        format!("automerge:{}", s.session_doc)
    );
}

#[tokio::test]
async fn joining_with_an_invalid_sector_is_422_with_a_message() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let (status, body) = r
        .api
        .post(
            "/api/join",
            &json!({"join_code": s.join_code, "name": "Maria", "organization": "Comune",
                    "sector": "private", "tier": "founding_core", "attendance": "in_room"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 422);
    assert_eq!(
        body["error"],
        "sector must be one of public, social_private, community, not \"private\""
    );
}

#[tokio::test]
async fn join_errors_name_what_is_wrong() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let base = json!({"join_code": s.join_code, "name": "Maria", "organization": "Comune",
                      "sector": "public", "tier": "founding_core", "attendance": "in_room"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("join_code", json!("ZZZZZZ")),
            404,
            "no session has this join code",
        ),
        (with("name", json!("   ")), 422, "name is required"),
        (
            with("tier", json!("boss")),
            422,
            "tier must be one of founding_core, strategic_extension, not \"boss\"",
        ),
        (
            with("attendance", serde_json::Value::Null),
            422,
            "attendance is required (one of in_room, remote)",
        ),
        (with("name", json!(42)), 422, ""),
    ];
    for (body, status, message) in cases {
        let (got, resp) = r.api.post("/api/join", &body).await.unwrap();
        assert_eq!(got, status, "{body} -> {resp}");
        let err = resp["error"].as_str().expect("error message");
        assert!(err.contains(message), "{err}");
    }
    let (status, resp) = r
        .api
        .post_raw("/api/join", "application/json", "{not json")
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(
        resp["error"]
            .as_str()
            .unwrap()
            .starts_with("request body is not valid JSON")
    );
    let (status, resp) = r
        .api
        .post_raw("/api/join", "text/plain", "{}")
        .await
        .unwrap();
    assert_eq!(status, 415);
    assert!(resp["error"].is_string());
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(100_000));
    let (status, resp) = r
        .api
        .post_raw("/api/join", "application/json", &huge)
        .await
        .unwrap();
    assert_eq!(status, 413);
    assert!(resp["error"].is_string());
}

#[tokio::test]
async fn the_facilitator_key_is_checked() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let (status, body) = r
        .api
        .post(
            "/api/facilitator",
            &json!({"session_id": s.session_id, "facilitator_key": s.facilitator_key}),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(body["ticket"].is_string());
    let (status, body) = r
        .api
        .post(
            "/api/facilitator",
            &json!({"session_id": s.session_id, "facilitator_key": "guess"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong facilitator key"))
    );
    let (status, _) = r
        .api
        .post(
            "/api/facilitator",
            &json!({"session_id": "nope", "facilitator_key": "guess"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn health_and_unknown_paths_answer_in_json() {
    let r = spawn_server().await;
    assert_eq!(r.api.get("/healthz").await.unwrap().0, 200);
    let (status, body) = r.api.get("/api/nothing-here").await.unwrap();
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}

/// The service worker that keeps the app on phones is served from the
/// root (its scope is the whole app) and never kept by the HTTP cache, so
/// a new build reaches phones on their next visit.
#[tokio::test]
async fn the_service_worker_is_served_from_the_root_and_always_revalidated() {
    let data = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    std::fs::write(web.path().join("sw.js"), "const VERSION = 'v1';").unwrap();
    let server = tavolo_tests::ServerProcess::start_with(
        data.path(),
        &["--web-dir", web.path().to_str().unwrap()],
    )
    .await
    .unwrap();
    let api = server.api();
    let sw = api.get_authorized("/sw.js", None).await.unwrap();
    assert_eq!(sw.status, 200);
    assert_eq!(sw.body, "const VERSION = 'v1';");
    assert_eq!(sw.header("cache-control"), "no-cache");
    assert!(
        sw.header("content-type").contains("javascript"),
        "{}",
        sw.header("content-type")
    );
    // A new build replaces it: the next fetch gets the new one.
    std::fs::write(web.path().join("sw.js"), "const VERSION = 'v2';").unwrap();
    assert_eq!(
        api.get_authorized("/sw.js", None).await.unwrap().body,
        "const VERSION = 'v2';"
    );
}

/// Assets go out precompressed as the browser asks: brotli when it offers
/// it (a fifth smaller than gzip on the wasm client), gzip otherwise, the
/// file itself to a client that offers neither.
#[tokio::test]
async fn assets_are_sent_brotli_or_gzip_compressed_as_the_browser_accepts() {
    let data = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    let assets = web.path().join("assets");
    std::fs::create_dir(&assets).unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    std::fs::write(web.path().join("index.html.gz"), "page gzipped").unwrap();
    std::fs::write(web.path().join("index.html.br"), "page brotli").unwrap();
    std::fs::write(assets.join("app-1234.js"), "plain").unwrap();
    std::fs::write(assets.join("app-1234.js.gz"), "gzipped").unwrap();
    std::fs::write(assets.join("app-1234.js.br"), "brotli").unwrap();
    let server = tavolo_tests::ServerProcess::start_with(
        data.path(),
        &["--web-dir", web.path().to_str().unwrap()],
    )
    .await
    .unwrap();
    // No decompression features in this reqwest: the bytes arrive as sent.
    let http = reqwest::Client::new();
    let fetch = |path: &str, accept: &'static str| {
        let request = http
            .get(format!("{}{path}", server.base))
            .header("accept-encoding", accept);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200, "{accept}");
            let header = |name: &str| {
                r.headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default()
            };
            let heads = [
                header("content-encoding"),
                header("content-type"),
                header("vary"),
                header("content-security-policy"),
            ];
            (heads, r.text().await.unwrap())
        }
    };
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", "br", "brotli"),
        ("gzip, deflate", "gzip", "gzipped"),
        ("identity", "", "plain"),
    ] {
        let ([got, kind, ..], text) = fetch("/assets/app-1234.js", accept).await;
        assert_eq!(got, encoding, "Accept-Encoding: {accept}");
        assert!(kind.contains("javascript"));
        assert_eq!(text, body, "{accept}");
    }
    // The app's page (any of its routes) too, with the CSP either way.
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", "br", "page brotli"),
        ("br;q=0, gzip", "gzip", "page gzipped"),
        ("identity", "", "<!doctype html><title>t</title>"),
    ] {
        let ([got, kind, vary, csp], text) = fetch("/j/ABCDEF", accept).await;
        assert_eq!(got, encoding, "page, Accept-Encoding: {accept}");
        assert_eq!(vary, "accept-encoding");
        assert!(kind.starts_with("text/html"));
        assert!(!csp.is_empty());
        assert_eq!(text, body, "page, {accept}");
    }
}
