//! The server's life: graceful stop, compaction across restarts, presence
//! relay, and frames that are not protocol messages.

use crate::helpers::*;
use tavolo_sync::wire::EphemeralMessage;
use tavolo_sync::{Message, PeerId};
use tavolo_tests::{ServerProcess, note_texts};

#[tokio::test]
async fn sigterm_closes_sockets_with_going_away_and_exits_cleanly() {
    let r = spawn_server().await;
    let (_s, a, _b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let status = r.server.terminate().await.unwrap();
    assert!(status.success(), "exit status {status}");
    let (code, reason) = anna.closed(WAIT).await.unwrap();
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("restarting"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_compacted_into_a_snapshot_loads_whole_after_a_restart() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    let pid = a.participant_id.clone().unwrap();
    // More changes than the compaction threshold (500), from two people
    // (one may hold 500 notes on a question).
    for i in 0..500 {
        add_note(&mut anna, q, &pid, &format!("n_{i}"), &format!("nota {i}")).await;
    }
    let mut bruno = connect(&r.server, &b).await;
    open_question(&mut bruno, q).await;
    let bid = b.participant_id.clone().unwrap();
    for i in 500..520 {
        add_note(&mut bruno, q, &bid, &format!("n_{i}"), &format!("nota {i}")).await;
    }
    // Anna sees Bruno's notes only once the server has saved them.
    anna.pump_until(WAIT * 3, |c| note_texts(c.doc(q)).len() == 520)
        .await
        .unwrap();
    let dir = r.server.data_dir.clone();
    r.server.kill().await.unwrap();

    let db = rusqlite::Connection::open(dir.join("tavolo.sqlite3")).unwrap();
    let loose: i64 = db
        .query_row(
            "SELECT count(*) FROM changes WHERE doc_id = ?1",
            [q.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        loose < 500,
        "{loose} loose changes: the log was never compacted"
    );
    drop(db);

    let server = ServerProcess::start(&dir).await.unwrap();
    let mut again = connect(&server, &b).await;
    open_question(&mut again, q).await;
    // As generous as the wait above: a loaded CI machine once took longer
    // than WAIT to serve the 520 notes after the restart.
    again
        .pump_until(WAIT * 3, |c| note_texts(c.doc(q)).len() == 520)
        .await
        .unwrap();
}

#[tokio::test]
async fn ephemeral_messages_reach_the_other_peers_of_the_document() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let presence = EphemeralMessage {
        sender_id: anna.peer.clone(),
        target_id: PeerId("server".into()),
        count: 1,
        session_id: "s-anna".into(),
        document_id: a.session_doc,
        data: vec![0xa1, 0x61, b'x', 0x01],
    };
    anna.send_message(&Message::Ephemeral(presence))
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| {
            c.ephemeral
                .iter()
                .any(|e| e.session_id == "s-anna" && e.data == [0xa1, 0x61, b'x', 0x01])
        })
        .await
        .unwrap();
    // The sender does not get its own message back (only the server's presence).
    assert!(anna.lock_view(|v| v.ephemeral.iter().all(|e| e.session_id != "s-anna")));
}

#[tokio::test]
async fn a_frame_that_is_not_a_protocol_message_closes_the_connection_with_a_reason() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    anna.send_raw(vec![0xff, 0x00, 0x13, 0x37]).await.unwrap();
    let (code, reason) = anna.closed(WAIT).await.unwrap();
    assert_eq!(code, 4000, "{reason}");
    assert!(!reason.is_empty());
    // The server is fine and others keep syncing.
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&bruno, b.session_doc);
    open_question(&mut bruno, q).await;
    assert_eq!(r.api.get("/healthz").await.unwrap().0, 200);
}

/// The count of changes made durable, read from `/metrics`.
fn durable_count(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tavolo_change_durable_seconds_count "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no change→durable count in:\n{metrics}"))
}

#[tokio::test]
async fn metrics_count_every_durable_change_and_name_nothing_of_the_session() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let before = r.api.get_authorized("/metrics", None).await.unwrap();
    assert_eq!(before.status, 200);
    assert!(before.header("content-type").contains("openmetrics-text"));
    let n0 = durable_count(&before.body);
    let mut anna = connect(&r.server, &a).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    let pid = a.participant_id.clone().unwrap();
    for i in 0..3 {
        add_note(
            &mut anna,
            q,
            &pid,
            &format!("n_{i}"),
            &format!("segreto {i}"),
        )
        .await;
    }
    // Bruno is sent the notes only once they are durable, and the
    // measurement is taken before anything goes out.
    let mut bruno = connect(&r.server, &b).await;
    open_question(&mut bruno, q).await;
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 3)
        .await
        .unwrap();
    let after = r.api.get_authorized("/metrics", None).await.unwrap();
    let n1 = durable_count(&after.body);
    assert!(
        n1 >= n0 + 3,
        "{n0} → {n1} durable changes after three notes"
    );
    assert!(after.body.contains("tavolo_commit_seconds_count"));
    // Operations' figures (issue 18): two sockets open, documents loaded,
    // fan-out passes measured.
    let value = |body: &str, name: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{body}"))
    };
    assert!(value(&after.body, "tavolo_connections") >= 2.0);
    assert!(value(&after.body, "tavolo_open_documents") >= 2.0);
    assert!(value(&after.body, "tavolo_open_sessions") >= 1.0);
    assert!(value(&after.body, "tavolo_fanout_seconds_count") >= 1.0);
    assert!(value(&after.body, "tavolo_fanout_messages_total") >= 1.0);
    // A refusal is counted by its code.
    bruno
        .change(q, |d| {
            tavolo_model::ops::edit_note_text(d, "n_0", "di Bruno")
        })
        .await
        .unwrap()
        .unwrap();
    let refused_line = "tavolo_changes_refused_total{code=\"not_yours\"}";
    let mut refused = 0.0;
    for _ in 0..50 {
        let m = r.api.get_authorized("/metrics", None).await.unwrap();
        if let Some(v) = m
            .body
            .lines()
            .find_map(|l| l.strip_prefix(refused_line))
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            refused = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(refused, 1.0, "the refusal was not counted");
    drop(bruno);
    drop(anna);
    for secret in [
        "segreto",
        pid.as_str(),
        s.join_code.as_str(),
        &q.to_string(),
    ] {
        assert!(!after.body.contains(secret), "/metrics shows {secret}");
    }
}
