//! Storage faults against the real binary and a real SQLite file: damaged
//! stored chunks, writes the disk refuses, a database file overwritten or
//! replaced while the server runs, and one that is garbage at start. In
//! every case the server stays up, tells its peers, and never serves an
//! empty board in place of the real one.

use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use tavolo_tests::{ServerProcess, SyncClient, note_texts, question_docs, server_bin};

/// The start of what a peer is told while saves fail (`actor::SAVE_FAILING`).
const SAVE_FAILING: &str = "the server cannot save right now";
/// The start of what a peer is told about a damaged board (`actor::DAMAGED`).
const DAMAGED: &str = "this board's saved data is damaged";

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("tavolo.sqlite3")).expect("database opens")
}

/// Inverts one byte in the middle of a stored chunk: what a bad sector or a
/// torn write leaves behind.
fn damage(mut data: Vec<u8>) -> Vec<u8> {
    let i = data.len() / 2;
    data[i] ^= 0xff;
    data
}

fn has_notes_map(doc: &automerge::AutoCommit) -> bool {
    tavolo_model::read::get_map(doc, &automerge::ROOT, "notes").is_some()
}

async fn health(api: &tavolo_tests::Api) -> (u16, serde_json::Value) {
    api.get("/healthz").await.expect("healthz answers")
}

fn told(c: &tavolo_tests::ClientView, what: &str) -> bool {
    c.errors.iter().any(|e| e.starts_with(what))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_change_is_quarantined_the_rest_is_served_and_the_authors_copy_restores_it() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let pid = a.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    for i in 0..10 {
        add_note(&mut anna, q, &pid, &format!("n_{i}"), &format!("nota {i}")).await;
    }
    let mut bruno = connect(&r.server, &b).await;
    open_question(&mut bruno, q).await;
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 10)
        .await
        .unwrap();
    // Anna's phone keeps its copy.
    let kept = anna.doc(q);
    drop((anna, bruno));
    let dir = r.server.data_dir.clone();
    r.server.kill().await.unwrap();

    // Damage the change that added "nota 5" (each note is one change).
    {
        let conn = db(&dir);
        let rows: Vec<(i64, Vec<u8>)> = conn
            .prepare("SELECT seq, data FROM changes WHERE doc_id = ?1 ORDER BY seq")
            .unwrap()
            .query_map([q.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 10, "one stored change per note");
        let (seq, data) = rows[5].clone();
        conn.execute(
            "UPDATE changes SET data = ?1 WHERE seq = ?2",
            rusqlite::params![damage(data), seq],
        )
        .unwrap();
    }

    let server = ServerProcess::start(&dir).await.unwrap();
    let api = server.api();
    let mut bruno = connect(&server, &b).await;
    open_question(&mut bruno, q).await;
    // The notes before the damaged change are served; the ones after it
    // depend on it and are set aside with it, not dropped.
    let served: BTreeSet<String> = note_texts(&bruno.doc(q)).into_iter().collect();
    let expected: BTreeSet<String> = (0..5).map(|i| format!("nota {i}")).collect();
    assert_eq!(served, expected);
    let quarantined: Vec<(String, String)> = db(&dir)
        .prepare("SELECT kind, reason FROM quarantine WHERE doc_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([q.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(quarantined.len(), 5, "{quarantined:?}");
    assert!(quarantined[0].1.starts_with("damaged"), "{quarantined:?}");
    assert!(
        quarantined[1..]
            .iter()
            .all(|(k, r)| k == "change" && r.contains("depends")),
        "{quarantined:?}"
    );
    let live: i64 = db(&dir)
        .query_row(
            "SELECT count(*) FROM changes WHERE doc_id = ?1",
            [q.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(live, 5);
    let (status, body) = health(&api).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["quarantine"]["chunks"], 5, "{body}");

    // Anna comes back with her copy: her own changes land again.
    let mut anna = SyncClient::connect_with(&server.ws_url(&a.ticket), vec![(q, kept)])
        .await
        .unwrap();
    anna.open(a.session_doc).await.unwrap();
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 10)
        .await
        .unwrap();
    assert!(anna.refusals().is_empty(), "{:?}", anna.refusals());
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_snapshot_and_nothing_else_gets_an_error_never_an_empty_board() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let pid = a.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let questions = question_docs(&anna.doc(a.session_doc));
    let (q, other) = (questions[0], questions[1]);
    open_question(&mut anna, q).await;
    // Exactly the compaction threshold: the log becomes one snapshot.
    for i in 0..500 {
        add_note(&mut anna, q, &pid, &format!("n_{i}"), &format!("nota {i}")).await;
    }
    let mut bruno = connect(&r.server, &b).await;
    open_question(&mut bruno, q).await;
    bruno
        .pump_until(WAIT * 3, |c| note_texts(c.doc(q)).len() == 500)
        .await
        .unwrap();
    drop((anna, bruno));
    let dir = r.server.data_dir.clone();
    r.server.kill().await.unwrap();
    {
        let conn = db(&dir);
        let loose: i64 = conn
            .query_row(
                "SELECT count(*) FROM changes WHERE doc_id = ?1",
                [q.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(loose, 0, "the log was compacted into the snapshot");
        let snapshot: Vec<u8> = conn
            .query_row(
                "SELECT data FROM snapshots WHERE doc_id = ?1",
                [q.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE snapshots SET data = ?1 WHERE doc_id = ?2",
            rusqlite::params![damage(snapshot), q.to_string()],
        )
        .unwrap();
    }

    let server = ServerProcess::start(&dir).await.unwrap();
    let api = server.api();
    let mut bruno = connect(&server, &b).await;
    bruno.open(q).await.unwrap();
    bruno.pump_until(WAIT, |c| told(c, DAMAGED)).await.unwrap();
    // Nothing of the document was sent: no sync message, no empty board.
    bruno.lock_view(|v| {
        assert_eq!(v.sync_received.get(&q).copied().unwrap_or(0), 0);
        assert!(!has_notes_map(v.doc(q)));
        assert!(v.closed.is_none(), "{:?}", v.closed);
    });
    // The rest of the session works on the same connection.
    open_question(&mut bruno, other).await;
    let kind: String = db(&dir)
        .query_row(
            "SELECT kind FROM quarantine WHERE doc_id = ?1",
            [q.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "snapshot");
    let (status, body) = health(&api).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("degraded")));
    assert_eq!(body["quarantine"]["documents"], 1, "{body}");

    // After another restart the board is still refused, not served empty.
    server.kill().await.unwrap();
    let server = ServerProcess::start(&dir).await.unwrap();
    let mut carla = connect(&server, &b).await;
    carla.open(q).await.unwrap();
    carla.pump_until(WAIT, |c| told(c, DAMAGED)).await.unwrap();
    assert!(!has_notes_map(&carla.doc(q)));
    server.kill().await.unwrap();
}

/// Sets the server's file size limit (`RLIMIT_FSIZE`, soft) from outside:
/// at 0 every write to a file fails with `EFBIG`, as a full disk fails
/// writes with `ENOSPC`.
fn file_size_limit(server: &ServerProcess, limit: &str) {
    let pid = server.pid().expect("server runs").to_string();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--fsize={limit}:")])
        .status()
        .expect("prlimit runs");
    assert!(status.success(), "prlimit {limit} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_disk_refuses_writes_changes_are_held_the_peers_told_and_saved_after_recovery() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let pid = a.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    open_question(&mut bruno, q).await;
    add_note(&mut anna, q, &pid, "n_before", "prima").await;
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"prima".to_string())
        })
        .await
        .unwrap();

    file_size_limit(&r.server, "0");
    add_note(&mut anna, q, &pid, "n_held", "trattenuta").await;
    // The writer learns that saving fails, and so does everyone on the board.
    anna.pump_until(WAIT, |c| told(c, SAVE_FAILING))
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| told(c, SAVE_FAILING))
        .await
        .unwrap();
    // More edits while failing are taken and held too.
    add_note(&mut anna, q, &pid, "n_held_2", "trattenuta due").await;
    let (status, body) = health(&r.api).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("failing")),
        "{body}"
    );
    let (status, body) = r
        .api
        .post(
            "/api/join",
            &json!({"join_code": s.join_code, "name": "Carla", "organization": "",
                    "sector": "community", "tier": "founding_core", "attendance": "remote"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // Nothing that depends on an unsaved change reached anyone.
    let seen = note_texts(&bruno.doc(q));
    assert_eq!(seen, vec!["prima".to_string()], "delivered before saved");

    file_size_limit(&r.server, "unlimited");
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 3)
        .await
        .unwrap();
    let (status, body) = health(&r.api).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    // Delivered means durable: they survive a SIGKILL.
    let dir = r.server.data_dir.clone();
    drop((anna, bruno));
    r.server.kill().await.unwrap();
    let server = ServerProcess::start(&dir).await.unwrap();
    let mut again = connect(&server, &b).await;
    open_question(&mut again, q).await;
    let texts: BTreeSet<String> = note_texts(&again.doc(q)).into_iter().collect();
    let expected: BTreeSet<String> = ["prima", "trattenuta", "trattenuta due"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(texts, expected);
    server.kill().await.unwrap();
}

/// How the database file is made unusable under a running server.
#[derive(Debug, Clone, Copy)]
enum Breakage {
    /// Garbage written over the file in place (same inode).
    Overwritten,
    /// Another file renamed over it: SQLite would go on using the old,
    /// now nameless, file.
    Replaced,
}

fn break_database(dir: &Path, how: Breakage) {
    let path = dir.join("tavolo.sqlite3");
    let garbage = vec![0xa5_u8; 64 * 1024];
    match how {
        Breakage::Overwritten => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.write_all(&garbage).unwrap();
            f.sync_all().unwrap();
        }
        Breakage::Replaced => {
            let tmp = dir.join("garbage.tmp");
            std::fs::write(&tmp, &garbage).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        }
    }
}

async fn database_broken_while_running(how: Breakage) {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let pid = b.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let questions = question_docs(&anna.doc(a.session_doc));
    let (q, unopened) = (questions[0], questions[1]);
    open_question(&mut anna, q).await;
    open_question(&mut bruno, q).await;

    break_database(&r.server.data_dir, how);

    // HTTP: 503 with an error, for the API and the health check.
    let (status, body) = health(&r.api).await;
    assert_eq!(status, 503, "{how:?}: {body}");
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = r
        .api
        .post(
            "/api/join",
            &json!({"join_code": s.join_code, "name": "Carla", "organization": "",
                    "sector": "community", "tier": "founding_core", "attendance": "remote"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 503, "{how:?}: {body}");
    assert!(body["error"].is_string(), "{body}");
    // A new socket is refused before the upgrade (its ticket cannot be read).
    let refused = SyncClient::connect(&r.server.ws_url(&a.ticket)).await;
    let err = refused
        .expect_err("no upgrade without a database")
        .to_string();
    assert!(err.contains("503"), "{how:?}: {err}");

    // An edit on a board already open is held, and its writer told.
    add_note(&mut bruno, q, &pid, "n_lost", "dove va?").await;
    bruno
        .pump_until(WAIT, |c| told(c, SAVE_FAILING))
        .await
        .unwrap();
    anna.pump_until(WAIT, |c| told(c, SAVE_FAILING))
        .await
        .unwrap();
    assert!(
        note_texts(&anna.doc(q)).is_empty(),
        "{how:?}: delivered unsaved"
    );

    // A board not loaded yet cannot be read: the socket closes with 1011,
    // and no document (empty or not) was sent for it.
    anna.open(unopened).await.unwrap();
    let (code, reason) = anna.closed(WAIT).await.unwrap();
    assert_eq!(code, 1011, "{how:?}: {reason}");
    anna.lock_view(|v| {
        assert_eq!(v.sync_received.get(&unopened).copied().unwrap_or(0), 0);
        assert!(!has_notes_map(v.doc(unopened)));
    });
    r.server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_overwritten_with_garbage_while_running_yields_errors_not_an_empty_board() {
    database_broken_while_running(Breakage::Overwritten).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_file_replaced_while_running_is_noticed_and_nothing_is_saved_into_the_old_one() {
    database_broken_while_running(Breakage::Replaced).await;
}

#[tokio::test]
async fn a_database_that_is_garbage_at_start_stops_the_server_with_a_clear_error_and_is_left_as_is()
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tavolo.sqlite3");
    let garbage: Vec<u8> = b"this is not a database ".repeat(400);
    std::fs::write(&path, &garbage).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new(server_bin())
            .args(["--addr", "127.0.0.1:0", "--announce", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .output(),
    )
    .await
    .expect("the server exits")
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a database"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("TAVOLO_LISTENING"),
        "it must not listen"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file was touched"
    );
}

/// Damages every stored chunk of one document, in place.
fn damage_doc(dir: &Path, doc_id: &str) {
    let conn = db(dir);
    for table in ["snapshots", "changes"] {
        let key = if table == "snapshots" {
            "doc_id"
        } else {
            "seq"
        };
        let rows: Vec<(String, Vec<u8>)> = conn
            .prepare(&format!(
                "SELECT CAST({key} AS TEXT), data FROM {table} WHERE doc_id = ?1"
            ))
            .unwrap()
            .query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (k, data) in rows {
            conn.execute(
                &format!("UPDATE {table} SET data = ?1 WHERE CAST({key} AS TEXT) = ?2"),
                rusqlite::params![damage(data), k],
            )
            .unwrap();
        }
    }
}

fn participant_rows(dir: &Path, session_id: &str) -> (i64, i64) {
    let conn = db(dir);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [session_id], |r| r.get(0)).unwrap() };
    (
        count("SELECT count(*) FROM participants WHERE session_id = ?1"),
        count("SELECT count(*) FROM tickets WHERE session_id = ?1 AND participant_id IS NOT NULL"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_session_whose_data_is_damaged_is_refused_and_writes_no_one_down() {
    let r = spawn_server().await;
    let (s, a, _b) = session_and_two(&r.api).await;
    let other = r.api.create_session().await.unwrap();
    let anna = connect(&r.server, &a).await;
    let session = tavolo_model::SessionDoc::load(&anna.doc(a.session_doc)).unwrap();
    let roster = tavolo_sync::DocumentId::from_url(&session.roster_doc).unwrap();
    drop(anna);
    let dir = r.server.data_dir.clone();
    r.server.kill().await.unwrap();
    // One session loses its roster, the other its session document.
    damage_doc(&dir, &roster.to_string());
    damage_doc(&dir, &other.session_doc.to_string());
    let before = (
        participant_rows(&dir, &s.session_id),
        participant_rows(&dir, &other.session_id),
    );
    assert_eq!(before.0, (2, 2), "Anna and Bruno, with a ticket each");

    let server = ServerProcess::start(&dir).await.unwrap();
    let api = server.api();
    for (code, what) in [
        (&s.join_code, "damaged roster"),
        (&other.join_code, "damaged session"),
    ] {
        let person = json!({"name": "Carla", "organization": "Pro Loco", "sector": "community",
                            "tier": "founding_core", "attendance": "in_room", "join_code": code});
        let (status, body) = api.post("/api/join", &person).await.unwrap();
        assert_eq!(status, 503, "{what}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty() && e != "internal error"),
            "{what}: the refusal says why: {body}"
        );
    }
    server.kill().await.unwrap();
    let after = (
        participant_rows(&dir, &s.session_id),
        participant_rows(&dir, &other.session_id),
    );
    assert_eq!(after, before, "no participant or ticket was left behind");
}

/// Issue 12, case 11: a board whose stored data was damaged, then repaired
/// in the database while the server runs, is served again once nobody has
/// it open (its stand-in retires when idle) — no restart needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repaired_board_is_served_again_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(dir.path(), &["--idle-secs", "1"])
        .await
        .unwrap();
    let api = server.api();
    let (_s, a, b) = session_and_two(&api).await;
    let pid = a.participant_id.clone().unwrap();
    let mut anna = connect(&server, &a).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    add_note(&mut anna, q, &pid, "n_salva", "da salvare").await;
    let mut bruno = connect(&server, &b).await;
    open_question(&mut bruno, q).await;
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"da salvare".to_string())
        })
        .await
        .unwrap();
    drop((anna, bruno));
    server.kill().await.unwrap();
    // Keep a good copy of the board's rows, then damage its snapshot.
    let (snapshot, saved_at, changes) = {
        let conn = db(dir.path());
        let (snapshot, saved_at): (Vec<u8>, i64) = conn
            .query_row(
                "SELECT data, saved_at FROM snapshots WHERE doc_id = ?1",
                [q.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let mut stmt = conn
            .prepare("SELECT hash, data FROM changes WHERE doc_id = ?1 ORDER BY seq")
            .unwrap();
        let changes: Vec<(Vec<u8>, Vec<u8>)> = stmt
            .query_map([q.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        conn.execute(
            "UPDATE snapshots SET data = ?1 WHERE doc_id = ?2",
            rusqlite::params![damage(snapshot.clone()), q.to_string()],
        )
        .unwrap();
        (snapshot, saved_at, changes)
    };
    let server = ServerProcess::start_with(dir.path(), &["--idle-secs", "1"])
        .await
        .unwrap();
    let mut bruno = connect(&server, &b).await;
    bruno.open(q).await.unwrap();
    bruno.pump_until(WAIT, |c| told(c, DAMAGED)).await.unwrap();
    drop(bruno);
    // The operator repairs the rows (from a backup) while the server runs.
    {
        let conn = db(dir.path());
        conn.execute("DELETE FROM quarantine WHERE doc_id = ?1", [q.to_string()])
            .unwrap();
        conn.execute(
            "INSERT OR REPLACE INTO snapshots (doc_id, data, saved_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![q.to_string(), snapshot, saved_at],
        )
        .unwrap();
        for (hash, data) in &changes {
            conn.execute(
                "INSERT OR IGNORE INTO changes (doc_id, hash, data) VALUES (?1, ?2, ?3)",
                rusqlite::params![q.to_string(), hash, data],
            )
            .unwrap();
        }
    }
    // Once nobody has it open, the next visit reads it again.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut carla = connect(&server, &b).await;
        carla.open(q).await.unwrap();
        let served = carla
            .pump_until(Duration::from_secs(3), |c| {
                note_texts(c.doc(q)).contains(&"da salvare".to_string())
            })
            .await;
        if served.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the repaired board was never served again"
        );
        drop(carla);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    server.kill().await.unwrap();
}
