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

/// The note ids a client holds in a question document.
fn note_ids(doc: &automerge::AutoCommit) -> std::collections::BTreeSet<String> {
    tavolo_model::QuestionDoc::load(doc)
        .notes
        .keys()
        .cloned()
        .collect()
}

async fn server_command(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(server_bin())
        .args(args)
        .output()
        .await
        .unwrap()
}

/// Issue 18: "a backup taken while clients write restores to a server that
/// serves every note that was acknowledged before the backup began". A
/// note is acknowledged once another client has it: the server relays
/// only what is on disk.
#[tokio::test]
async fn a_backup_taken_while_clients_write_restores_every_acknowledged_note() {
    use std::ffi::OsStr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let s = api.create_session().await.unwrap();
    let t = api.join(&s.join_code, "Ada").await.unwrap();
    let f = api.facilitator(&s).await.unwrap();
    let mut writer = connect(&server, &t).await;
    let q = first_question(&writer, t.session_doc);
    open_question(&mut writer, q).await;
    let mut observer = connect(&server, &f).await;
    open_question(&mut observer, q).await;

    let stop = Arc::new(AtomicBool::new(false));
    let author = t.participant_id.clone().unwrap();
    let writing = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                add_note(
                    &mut writer,
                    q,
                    &author,
                    &format!("n{i}"),
                    &format!("nota {i}"),
                )
                .await;
                i += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            i
        })
    };
    observer
        .pump_until(WAIT, |c| note_ids(c.doc(q)).len() >= 20)
        .await
        .expect("notes flow");
    let acknowledged = note_ids(&observer.doc(q));

    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("tavolo-backup.sqlite3");
    let out = server_command(&[
        OsStr::new("backup"),
        OsStr::new("--data-dir"),
        dir.path().as_os_str(),
        OsStr::new("--out"),
        file.as_os_str(),
    ])
    .await;
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written"));
    // Writes went on during the backup, and go on after it.
    let after = acknowledged.len() + 10;
    observer
        .pump_until(WAIT, |c| note_ids(c.doc(q)).len() >= after)
        .await
        .expect("writing went on");
    // A restore while the server runs is refused: it would pull the
    // database from under it.
    let refused = server_command(&[
        OsStr::new("restore"),
        OsStr::new("--data-dir"),
        dir.path().as_os_str(),
        OsStr::new("--from"),
        file.as_os_str(),
        OsStr::new("--force"),
    ])
    .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("another tavolo-server"));
    stop.store(true, Ordering::Relaxed);
    let written = writing.await.unwrap();
    server.kill().await.unwrap();

    let restored_dir = tempfile::tempdir().unwrap();
    let out = server_command(&[
        OsStr::new("restore"),
        OsStr::new("--data-dir"),
        restored_dir.path().as_os_str(),
        OsStr::new("--from"),
        file.as_os_str(),
    ])
    .await;
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = ServerProcess::start(restored_dir.path()).await.unwrap();
    // The same facilitator key opens the same session on the restored server.
    let f2 = restored.api().facilitator(&s).await.unwrap();
    let mut c = connect(&restored, &f2).await;
    open_question(&mut c, q).await;
    let served = note_ids(&c.doc(q));
    let missing: Vec<&String> = acknowledged.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, lost: {missing:?}"
    );
    assert!(served.len() <= written, "more notes than were written");
}

/// Issue 18: a whole session exported to one file and imported into
/// another server — here from SQLite to PostgreSQL — keeps its notes, its
/// people and their phones' tickets, and its facilitator link.
const IMPORT_TOKEN: &str = "the-operators-import-token";

/// The API with the operator's import token on every POST.
struct ImportApi(tavolo_tests::Api);

impl ImportApi {
    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.0
            .post_raw_auth(path, &format!("Bearer {IMPORT_TOKEN}"), body)
            .await
    }
}

impl std::ops::Deref for ImportApi {
    type Target = tavolo_tests::Api;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[tokio::test]
async fn importing_is_off_without_an_operator_token_and_bounded_with_one() {
    // Off: 403 whatever is sent, and nothing read.
    let r = spawn_server().await;
    let (status, e) = r
        .api
        .post_raw_auth(
            "/api/sessions/import",
            "Bearer anything",
            &serde_json::json!({"format": "tavolo-session"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("--import-token"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let on = ServerProcess::start_with(dir.path(), &["--import-token", IMPORT_TOKEN])
        .await
        .unwrap();
    let api = ImportApi(on.api());
    // More than 32 MB: 413 with a JSON error, the server unharmed.
    let http = reqwest::Client::new();
    let big = http
        .post(format!("{}/api/sessions/import", on.base))
        .header("Authorization", format!("Bearer {IMPORT_TOKEN}"))
        .header("content-type", "application/json")
        .body(vec![b' '; (32 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    let e: Value = big.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("32 MB"), "{e}");
    // Too many documents, or none: 422 naming the bound.
    let doc = serde_json::json!({"id": "x", "kind": "question", "data": "00"});
    for n in [0, 201] {
        let bundle = serde_json::json!({
            "format": "tavolo-session", "version": 1, "exported_at": 0,
            "session": {"id": "s", "join_code": "ABCDEF", "title": "t", "template": "t",
                "session_doc": "a", "roster_doc": "b", "facilitator_key_hash": "00",
                "created_at": 0, "joining_open": true},
            "documents": vec![doc.clone(); n],
            "participants": [], "tickets": [], "actors": [], "dots": [], "hidden": [], "retired": []
        });
        let (status, e) = api.post("/api/sessions/import", &bundle).await.unwrap();
        assert_eq!(status, 422, "{n} documents: {e}");
        assert!(
            e["error"].as_str().unwrap_or_default().contains("200"),
            "{n} documents: {e}"
        );
    }
    assert_eq!(api.get("/healthz").await.unwrap().0, 200);
}

#[tokio::test]
async fn a_session_exported_from_one_server_is_imported_into_another_and_its_phones_keep_working() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let ada = r.api.join(&s.join_code, "Ada").await.unwrap();
    let mut c = connect(&r.server, &ada).await;
    let q = first_question(&c, ada.session_doc);
    open_question(&mut c, q).await;
    let pid = ada.participant_id.clone().unwrap();
    for i in 0..4 {
        add_note(&mut c, q, &pid, &format!("n{i}"), &format!("nota {i}")).await;
    }
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    open_question(&mut fac, q).await;
    fac.pump_until(WAIT, |v| note_ids(v.doc(q)).len() == 4)
        .await
        .unwrap();
    drop((c, fac));

    let path = format!("/api/sessions/{}/export", s.session_id);
    let refused = r.api.get_authorized(&path, None).await.unwrap();
    assert_eq!(refused.status, 401);
    let wrong = r
        .api
        .get_authorized(&path, Some(&format!("Bearer {}", ada.ticket)))
        .await
        .unwrap();
    assert_eq!(wrong.status, 403, "a participant exported the session");
    let export = r
        .api
        .get_authorized(&path, Some(&format!("Bearer {}", s.facilitator_key)))
        .await
        .unwrap();
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(export.header("content-disposition").contains(".json"));
    let bundle: Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(bundle["format"], "tavolo-session");

    // Another server, on PostgreSQL.
    let pg = tavolo_tests::PostgresCluster::shared();
    let db = pg.create_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = ServerProcess::start_on(dir.path(), Some(&db), &["--import-token", IMPORT_TOKEN])
        .await
        .unwrap();
    let api = b.api();
    // Only the operator imports: without the server's token, or with
    // another secret (the session's own facilitator key), nothing happens.
    let (status, e) = api.post("/api/sessions/import", &bundle).await.unwrap();
    assert_eq!(status, 401, "{e}");
    assert!(e["error"].as_str().unwrap().contains("import token"), "{e}");
    let (status, _) = api
        .post_raw_auth(
            "/api/sessions/import",
            &format!("Bearer {}", s.facilitator_key),
            &bundle,
        )
        .await
        .unwrap();
    assert_eq!(status, 401);
    let api = ImportApi(api);
    let (status, body) = api.post("/api/sessions/import", &bundle).await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["session_id"], s.session_id.as_str());
    assert_eq!(body["join_code"], s.join_code.as_str());
    // Twice: refused, nothing changed.
    let (status, again) = api.post("/api/sessions/import", &bundle).await.unwrap();
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_exists"))
    );
    // Not an export, or a damaged one: 422 with the reason.
    let (status, e) = api
        .post("/api/sessions/import", &serde_json::json!({"hello": 1}))
        .await
        .unwrap();
    assert_eq!(status, 422, "{e}");
    let mut damaged = bundle.clone();
    damaged["session"]["id"] = "another-session".into();
    damaged["documents"][0]["data"] = "00ff00ff".into();
    let (status, e) = api.post("/api/sessions/import", &damaged).await.unwrap();
    assert_eq!(status, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("document"), "{e}");
    assert!(
        api.facilitator(&tavolo_tests::Session {
            session_id: "another-session".into(),
            ..s.clone()
        })
        .await
        .is_err(),
        "a refused import left a session behind"
    );

    // Ada's phone and the facilitator's link work on the new server.
    let mut c = connect(&b, &ada).await;
    open_question(&mut c, q).await;
    c.pump_until(WAIT, |v| note_ids(v.doc(q)).len() == 4)
        .await
        .expect("Ada's notes, with her old ticket, on the new server");
    add_note(&mut c, q, &pid, "n4", "scritta dopo il trasloco").await;
    let f2 = api
        .facilitator(&s)
        .await
        .expect("the facilitator key works");
    let mut fac = connect(&b, &f2).await;
    open_question(&mut fac, q).await;
    fac.pump_until(WAIT, |v| note_ids(v.doc(q)).len() == 5)
        .await
        .expect("a note written after the move reaches the facilitator");
}
