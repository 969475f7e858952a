//! Running behind a proxy (issue 18): the client's address from a trusted
//! proxy's `X-Forwarded-For` and from nobody else's, an access log without
//! secrets, and the socket path that carries its session.

use crate::helpers::*;
use serde_json::Value;
use std::process::Stdio;
use tavolo_tests::{ServerProcess, SyncClient, server_bin};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Sends wrong join-code lookups (each a 404, a failed attempt) as if from
/// `client` through a proxy, until one is answered 429; returns how many
/// were answered 404 first (`None`: never limited within `max`).
async fn failures_until_limited(base: &str, client: &str, max: usize) -> Option<usize> {
    let http = reqwest::Client::new();
    for i in 0..max {
        let status = http
            .get(format!("{base}/api/join/ZZZZZZ"))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        match status {
            404 => {}
            429 => return Some(i),
            other => panic!("unexpected {other}"),
        }
    }
    None
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_count_the_client_and_nobody_can_pick_their_address() {
    // Trusted: the test connects from 127.0.0.1, as nginx on the same
    // machine would.
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(dir.path(), &["--trusted-proxies", "127.0.0.1/32"])
        .await
        .unwrap();
    let first = failures_until_limited(&server.base, "198.51.100.1", 200).await;
    let spent = first.expect("a client guessing codes is limited");
    assert!(spent >= 10, "limited after only {spent} failures");
    // Another client behind the same proxy is not affected by the first one.
    let other = failures_until_limited(&server.base, "198.51.100.2", 5).await;
    assert_eq!(other, None, "the proxy's neighbours pay for one guesser");
    // The client cannot escape by writing its own header: the proxy's entry
    // is the rightmost and is the one read.
    let escape = failures_until_limited(&server.base, "203.0.113.50, 198.51.100.1", 1).await;
    assert_eq!(
        escape,
        Some(0),
        "a forged X-Forwarded-For escaped the limit"
    );

    // Not trusted: the header is ignored, a new address per request changes
    // nothing.
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let http = reqwest::Client::new();
    let mut limited = false;
    for i in 0..200 {
        let status = http
            .get(format!("{}/api/join/ZZZZZZ", server.base))
            .header("x-forwarded-for", format!("10.9.{}.{}", i / 250, i % 250))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 429 {
            limited = true;
            break;
        }
    }
    assert!(
        limited,
        "rotating X-Forwarded-For escaped the limit without a trusted proxy"
    );
}

#[tokio::test]
async fn the_access_log_is_json_on_request_names_the_client_and_carries_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(server_bin())
        .args([
            "--addr",
            "127.0.0.1:0",
            "--announce",
            "--log-format",
            "json",
        ])
        .args(["--trusted-proxies", "127.0.0.1"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = out.next_line().await.unwrap().expect("server exited");
        if let Some(u) = line.strip_prefix("TAVOLO_LISTENING ") {
            break u.to_string();
        }
    };
    let err = child.stderr.take().unwrap();
    let api = tavolo_tests::Api::new(&base);
    let s = api.create_session().await.unwrap();
    let ticket = api.join(&s.join_code, "Ada").await.unwrap();
    let http = reqwest::Client::new();
    http.get(format!("{base}/api/join/{}", s.join_code))
        .header("x-forwarded-for", "198.51.100.77")
        .send()
        .await
        .unwrap();
    // A stock client's socket: the ticket in the query string.
    let mut c = SyncClient::connect(&format!(
        "{}/sync/{}?ticket={}",
        base.replacen("http", "ws", 1),
        s.session_id,
        ticket.ticket
    ))
    .await
    .expect("the socket with the session in its path opens");
    c.open(ticket.session_doc).await.unwrap();
    drop(c);
    // Stop the server so that stderr ends.
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let mut lines = BufReader::new(err).lines();
    let mut all = Vec::new();
    while let Some(l) = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("stderr ends")
        .unwrap()
    {
        all.push(l);
    }
    let records: Vec<Value> = all
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let access: Vec<&Value> = records
        .iter()
        .filter(|r| r["target"] == "tavolo::access")
        .collect();
    assert!(
        access.iter().any(|r| r["client"] == "198.51.100.77"
            && r["path"] == "/api/join/…"
            && r["status"] == 200),
        "no access line for the proxied lookup: {access:#?}"
    );
    assert!(
        access
            .iter()
            .any(|r| r["path"] == format!("/sync/{}", s.session_id) && r["method"] == "GET"),
        "no access line for the socket: {access:#?}"
    );
    let text = all.join("\n");
    for secret in [&ticket.ticket, &s.facilitator_key, &s.join_code] {
        assert!(
            !text.contains(secret.as_str()),
            "the log holds a secret: {secret}"
        );
    }
}

#[tokio::test]
async fn a_socket_path_names_its_session_and_a_ticket_for_another_is_refused() {
    let r = spawn_server().await;
    let a = r.api.create_session().await.unwrap();
    let b = r.api.create_session().await.unwrap();
    let ticket = r.api.join(&a.join_code, "Ada").await.unwrap();
    let http = reqwest::Client::new();
    let wrong = http
        .get(format!("{}/sync/{}", r.server.base, b.session_id))
        .bearer_auth(&ticket.ticket)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["code"], "wrong_session", "{body}");
    let ws = r.server.base.replacen("http", "ws", 1);
    assert!(
        SyncClient::connect(&format!(
            "{ws}/sync/{}?ticket={}",
            b.session_id, ticket.ticket
        ))
        .await
        .is_err(),
        "a socket opened on another session's path"
    );
    let mut c = SyncClient::connect(&format!(
        "{ws}/sync/{}?ticket={}",
        a.session_id, ticket.ticket
    ))
    .await
    .expect("its own session's path");
    c.open(ticket.session_doc).await.unwrap();
    c.pump_until(WAIT, |c| {
        tavolo_model::SessionDoc::load(c.doc(ticket.session_doc)).is_ok()
    })
    .await
    .expect("the session document arrives over /sync/{id}");
}
