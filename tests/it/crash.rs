//! Crash safety: SIGKILL the server while clients write; every note a second
//! client had observed must be there after a restart on the same data dir.

use crate::helpers::*;
use std::collections::BTreeSet;
use tavolo_tests::{ServerProcess, SyncClient, note_texts};

const CRASHES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_observed_note_survives_repeated_sigkills_with_writes_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let (_s, a, b) = session_and_two(&api).await;
    let writer_id = a.participant_id.clone().unwrap();
    let mut observed: BTreeSet<String> = BTreeSet::new();
    let mut q = None;

    for round in 0..CRASHES {
        let mut writer = connect(&server, &a).await;
        let mut observer = connect(&server, &b).await;
        let qd = *q.get_or_insert_with(|| first_question(&writer, a.session_doc));
        open_question(&mut writer, qd).await;
        open_question(&mut observer, qd).await;

        // Everything observed before the last crash is still there.
        let present: BTreeSet<String> = note_texts(&observer.doc(qd)).into_iter().collect();
        let missing: Vec<_> = observed.difference(&present).collect();
        assert!(
            missing.is_empty(),
            "round {round}: lost after SIGKILL: {missing:?}"
        );

        // Write a burst; the observer confirms part of it; the rest is in
        // flight when the server dies.
        for i in 0..10 {
            let text = format!("r{round}-n{i}");
            add_note(
                &mut writer,
                qd,
                &writer_id,
                &format!("n_{round}_{i}"),
                &text,
            )
            .await;
        }
        let target = format!("r{round}-n4");
        observer
            .pump_until(WAIT, |c| note_texts(c.doc(qd)).contains(&target))
            .await
            .unwrap();
        observed.extend(note_texts(&observer.doc(qd)));
        // Keep writing while the kill lands.
        let (started, in_flight) = tokio::sync::oneshot::channel();
        let writing = tokio::spawn(keep_writing(writer, qd, writer_id.clone(), round, started));
        let _ = in_flight.await;
        server.kill().await.unwrap();
        let _ = writing.await;
        drop(observer);
        server = ServerProcess::start(dir.path()).await.unwrap();
    }
    // A final check, and the database is consistent.
    let mut observer = connect(&server, &b).await;
    let qd = q.unwrap();
    open_question(&mut observer, qd).await;
    let present: BTreeSet<String> = note_texts(&observer.doc(qd)).into_iter().collect();
    assert!(observed.is_subset(&present));
    assert!(observed.len() >= CRASHES * 5);
    server.kill().await.unwrap();
    let conn = rusqlite_check(dir.path());
    assert_eq!(conn, "ok");
}

async fn keep_writing(
    mut writer: SyncClient,
    q: tavolo_sync::DocumentId,
    author: String,
    round: usize,
    started: tokio::sync::oneshot::Sender<()>,
) {
    let mut started = Some(started);
    for i in 10..60 {
        if i == 13
            && let Some(s) = started.take()
        {
            let _ = s.send(());
        }
        let text = format!("r{round}-late{i}");
        let author = tavolo_model::ParticipantId(author.clone());
        let n = note(&text);
        let id = format!("n_{round}_{i}");
        if writer
            .change(q, |d| {
                tavolo_model::ops::add_note(d, &id, &author, &n).expect("add")
            })
            .await
            .is_err()
        {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// `PRAGMA integrity_check` on the server's database file.
fn rusqlite_check(dir: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(dir.join("tavolo.sqlite3")).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}
