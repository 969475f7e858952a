//! The stock automerge-repo JavaScript client (from npm) against Tavolo.

use crate::helpers::*;
use std::path::Path;
use std::process::Command;
use tavolo_tests::note_texts;

/// Installs the npm packages once (`npm install`, idempotent) and returns the
/// script's directory.
fn interop_dir() -> &'static Path {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/interop-js"));
    READY.get_or_init(|| {
        if dir
            .join("node_modules/@automerge/automerge-repo/package.json")
            .exists()
        {
            return;
        }
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .status()
            .expect("npm is installed (the interop test needs node and npm)");
        assert!(status.success(), "npm install failed in {}", dir.display());
    });
    dir
}

/// Runs a script of `interop-js/` with node; returns its last stdout line as JSON.
async fn run_script(script: &str, args: &[String]) -> serde_json::Value {
    let dir = interop_dir();
    let out = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(90), out)
        .await
        .expect("node finished within 90 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad report {stdout}: {e}"))
}

#[tokio::test]
async fn a_stock_javascript_client_cannot_write_into_a_locked_phase() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&bruno, s.session_doc);
    open_question(&mut bruno, q).await;
    open_question(&mut fac, q).await;
    set_locked(&mut fac, &mut bruno, s.session_doc, "legittimazione", true).await;

    let report = run_script(
        "locked.mjs",
        &[
            r.server.ws_url(&a.ticket),
            q.url(),
            a.participant_id.clone().unwrap(),
        ],
    )
    .await;
    assert_eq!(report["code"], "phase_locked", "{report}");

    // The facilitator's marker reaches Bruno; the stock client's note never does.
    add_note(
        &mut fac,
        q,
        b.participant_id.as_deref().unwrap(),
        "n_mark",
        "marcatore",
    )
    .await;
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"marcatore".to_string())
        })
        .await
        .unwrap();
    assert_eq!(note_texts(&bruno.doc(q)), ["marcatore"]);
    let mut check = connect(&r.server, &b).await;
    open_question(&mut check, q).await;
    check
        .pump_until(WAIT, |c| !note_texts(c.doc(q)).is_empty())
        .await
        .unwrap();
    assert_eq!(note_texts(&check.doc(q)), ["marcatore"]);
}

#[tokio::test]
async fn two_stock_javascript_clients_sync_a_note_through_tavolo_and_a_forgery_is_refused() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let reader = connect(&r.server, &a).await;
    let q = first_question(&reader, a.session_doc);
    drop(reader);

    let report = run_script(
        "interop.mjs",
        &[
            r.server.ws_url(&a.ticket),
            r.server.ws_url(&b.ticket),
            q.url(),
            a.participant_id.clone().unwrap(),
            b.participant_id.clone().unwrap(),
        ],
    )
    .await;
    assert_eq!(report["ok"], true, "{report}");

    // The server's copy, seen by a fresh connection once both JS clients
    // have gone (so the forgery was handled before this request): the
    // honest note, written with Text strings, is there; the forgery is not.
    let mut check = connect(&r.server, &b).await;
    open_question(&mut check, q).await;
    check
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"Marcatore di B".to_string())
        })
        .await
        .unwrap();
    let doc = check.doc(q);
    let texts = note_texts(&doc);
    assert!(
        texts.contains(&"Scritta dal client JavaScript".to_string()),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("Firmata B")),
        "forgery on the server: {texts:?}"
    );
    let notes = tavolo_model::QuestionDoc::load(&doc).notes;
    assert_eq!(notes["n_js_a"].author, a.participant_id.clone().unwrap());
}

#[tokio::test]
async fn a_stock_javascript_client_cannot_cheat_on_notes_or_votes() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut bruno = connect(&r.server, &b).await;
    let mut fac = connect(&r.server, &f).await;
    let q = first_question(&bruno, s.session_doc);
    open_question(&mut bruno, q).await;
    open_question(&mut fac, q).await;
    let bruno_id = b.participant_id.clone().unwrap();
    add_note(&mut bruno, q, &bruno_id, "n_bruno", "di Bruno").await;
    fac.change(q, |d| {
        tavolo_model::ops::set_voting(d, true, Some(3)).unwrap()
    })
    .await
    .unwrap();
    fac.pump_until(WAIT, |c| note_texts(c.doc(q)) == ["di Bruno"])
        .await
        .unwrap();

    let report = run_script(
        "cheat.mjs",
        &[
            r.server.ws_url(&a.ticket),
            q.url(),
            a.participant_id.clone().unwrap(),
            bruno_id.clone(),
            "n_bruno".into(),
            "3".into(),
        ],
    )
    .await;
    assert_eq!(report["editAnother"], "not_yours", "{report}");
    assert_eq!(report["voteAsAnother"], "not_yours", "{report}");
    assert_eq!(report["voteInTheBoard"], "not_yours", "{report}");
    assert_eq!(report["termsOfAnother"], "not_yours", "{report}");
    assert_eq!(report["overBudget"], "over_budget", "{report}");

    // None of it is on the server: a marker after the attempts reaches a
    // fresh reader, with Bruno's note intact and no dots anywhere.
    add_note(&mut fac, q, &bruno_id, "n_mark", "marcatore").await;
    let mut check = connect(&r.server, &b).await;
    open_question(&mut check, q).await;
    check
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"marcatore".to_string())
        })
        .await
        .unwrap();
    let server = tavolo_model::QuestionDoc::load(&check.doc(q));
    assert_eq!(server.notes["n_bruno"].text, "di Bruno");
    assert_eq!(
        (
            server.notes["n_bruno"].when.as_deref(),
            server.notes["n_bruno"].condition.as_deref()
        ),
        (None, None),
        "a forged timing landed"
    );
    assert_eq!(server.vote_total("n_bruno"), 0);
}

/// A stock JavaScript app finds a question document with the URL exactly
/// as the session document holds it (Tavolo writes its strings as Text,
/// which Automerge JS 3 reads as plain strings).
#[tokio::test]
async fn a_stock_javascript_app_finds_documents_by_the_urls_the_session_holds() {
    let r = spawn_server().await;
    let (s, a, _b) = session_and_two(&r.api).await;
    let report = run_script(
        "session.mjs",
        &[r.server.ws_url(&a.ticket), s.session_doc.url()],
    )
    .await;
    assert_eq!(report["docType"], "string", "{report}");
    assert_eq!(report["rosterType"], "string", "{report}");
    assert_eq!(report["currentPhaseType"], "string", "{report}");
    assert_eq!(report["currentIsFirst"], true, "{report}");
    assert_eq!(report["titleType"], "string", "{report}");
    assert_eq!(report["questionHasNotes"], true, "{report}");
    assert_eq!(report["rosterHasParticipants"], true, "{report}");
}

/// A stock JavaScript client opening a damaged board: told without losing
/// its connection, and the session's other boards keep working on it.
#[tokio::test]
async fn a_stock_javascript_client_is_told_of_a_damaged_board_without_losing_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = tavolo_tests::ServerProcess::start(dir.path())
        .await
        .unwrap();
    let api = server.api();
    let (s, a, b) = session_and_two(&api).await;
    let probe = connect(&server, &a).await;
    let questions = tavolo_tests::question_docs(&probe.doc(s.session_doc));
    drop(probe);
    let (q, other) = (questions[0], questions[1]);
    server.kill().await.unwrap();
    {
        let db = rusqlite::Connection::open(dir.path().join("tavolo.sqlite3")).unwrap();
        let mut snap: Vec<u8> = db
            .query_row(
                "SELECT data FROM snapshots WHERE doc_id = ?1",
                [q.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        let i = snap.len() / 2;
        snap[i] ^= 0xff;
        db.execute(
            "UPDATE snapshots SET data = ?1 WHERE doc_id = ?2",
            rusqlite::params![snap, q.to_string()],
        )
        .unwrap();
    }
    let server = tavolo_tests::ServerProcess::start(dir.path())
        .await
        .unwrap();
    let report = run_script(
        "damaged.mjs",
        &[
            server.ws_url(&a.ticket),
            q.url(),
            other.url(),
            a.participant_id.clone().unwrap(),
        ],
    )
    .await;
    assert_eq!(report["disconnects"], 0, "{report}");
    assert_eq!(report["damagedFound"], false, "{report}");
    let mut check = connect(&server, &b).await;
    open_question(&mut check, other).await;
    check
        .pump_until(WAIT, |c| {
            note_texts(c.doc(other)).contains(&"Accanto alla bacheca danneggiata".to_string())
        })
        .await
        .unwrap();
    server.kill().await.unwrap();
}
