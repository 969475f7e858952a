//! Crash safety: SIGKILL the server while several clients write, 200 times
//! on SQLite and 60 times on PostgreSQL. After every kill, every note a
//! second client (the observer) had seen must be there once the server
//! restarts on the same data dir (or database), and an SQLite database must
//! pass `PRAGMA integrity_check`.
//!
//! What would make it fail: the server letting a change out (to the
//! observer) before it is durable, a group commit answered before its fsync,
//! a restart that loads the change log or a snapshot incompletely (or
//! compaction dropping changes), or a kill mid-write damaging the database.
//!
//! Each round: a fresh observer loads the board from the restarted server
//! and checks it; three writers reconnect holding their copies (as phones
//! do, so what the last kill lost is sent again) and each writes one note
//! the observer must see; then each queues one more note and the kill lands
//! while those are in flight — at once, or once the observer has seen some
//! of them, so kills fall before, during and after the group commit. The
//! observer's copy at the moment the socket dies is what it observed.

use crate::helpers::*;
use automerge::AutoCommit;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;
use tavolo_model::ParticipantId;
use tavolo_model::read;
use tavolo_sync::DocumentId;
use tavolo_tests::{ServerProcess, SyncClient, Ticket};

const CRASHES: usize = 200;
/// On PostgreSQL (each restart also reconnects and checks the migrations).
const CRASHES_POSTGRES: usize = 60;
/// Clients writing at once in every round.
const WRITERS: usize = 3;

/// Note id → text of a question document, read straight from the `notes`
/// map (cheap enough to run on every frame the observer receives).
fn notes_of(doc: &AutoCommit) -> BTreeMap<String, String> {
    let Some(notes) = read::map_at_path(doc, &["notes"]) else {
        return BTreeMap::new();
    };
    read::keys(doc, &notes)
        .into_iter()
        .filter_map(|id| {
            let note = read::get_map(doc, &notes, &id)?;
            let text = read::get_str(doc, &note, "text")?;
            Some((id, text))
        })
        .collect()
}

fn has_notes(doc: &AutoCommit, ids: &[String]) -> usize {
    let Some(notes) = read::map_at_path(doc, &["notes"]) else {
        return 0;
    };
    ids.iter()
        .filter(|id| read::get_map(doc, &notes, id).is_some())
        .count()
}

fn note_id(round: usize, writer: usize, i: usize) -> String {
    format!("n_{round}_{writer}_{i}")
}

/// One writer: its ticket, and its copies of the documents kept across
/// connections (a phone keeps its copy when the server goes away).
struct Writer {
    ticket: Ticket,
    author: ParticipantId,
    kept: Vec<(DocumentId, AutoCommit)>,
}

impl Writer {
    async fn connect(&mut self, server: &ServerProcess, q: DocumentId) -> SyncClient {
        if self.kept.is_empty() {
            let mut c = connect(server, &self.ticket).await;
            open_question(&mut c, q).await;
            return c;
        }
        let url = server.ws_url(&self.ticket.ticket);
        SyncClient::connect_with(&url, std::mem::take(&mut self.kept))
            .await
            .expect("a writer reconnects with its copies")
    }

    async fn write(&self, c: &mut SyncClient, q: DocumentId, id: &str, text: &str) {
        let n = note(text);
        // A send fails only once the socket is gone (the kill landed).
        let _ = c
            .change(q, |d| {
                tavolo_model::ops::add_note(d, id, &self.author, &n).expect("add")
            })
            .await;
    }

    fn keep(&mut self, c: &SyncClient, session: DocumentId, q: DocumentId) {
        self.kept = vec![(session, c.doc(session)), (q, c.doc(q))];
    }
}

#[derive(Default, Debug)]
struct Tally {
    /// Notes the writers sent after the last confirmed one, as the kill came.
    in_flight: usize,
    /// Of those: observed before the kill, present after the restart without
    /// having been observed, gone (never confirmed, so not a loss).
    in_flight_observed: usize,
    in_flight_durable_unobserved: usize,
    in_flight_gone: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_observed_note_survives_200_sigkills_with_several_writers() {
    crash_loop(CRASHES, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_observed_note_survives_sigkills_with_several_writers_on_postgres() {
    let url = tavolo_tests::PostgresCluster::shared()
        .create_database()
        .expect("a fresh database");
    crash_loop(CRASHES_POSTGRES, Some(url)).await;
}

/// `crashes` rounds on SQLite in a temporary directory, or on the
/// PostgreSQL database at `database_url`.
async fn crash_loop(crashes: usize, database_url: Option<String>) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let url = database_url.as_deref();
    let start = || ServerProcess::start_on(dir.path(), url, &[]);
    // SQLite's file as the kill left it; PostgreSQL recovers on its own.
    let integrity = || match url {
        None => integrity_check(dir.path()),
        Some(_) => "ok".to_string(),
    };
    let mut server = start().await.unwrap();
    let api = server.api();
    let (s, observer_ticket, w0) = session_and_two(&api).await;
    let mut tickets = vec![w0];
    for k in 1..WRITERS {
        tickets.push(api.join(&s.join_code, &format!("W{k}")).await.unwrap());
    }
    let mut writers: Vec<Writer> = tickets
        .into_iter()
        .map(|ticket| Writer {
            author: ParticipantId(ticket.participant_id.clone().unwrap()),
            ticket,
            kept: Vec::new(),
        })
        .collect();
    let sd = observer_ticket.session_doc;
    let qd = {
        let c = connect(&server, &observer_ticket).await;
        first_question(&c, sd)
    };

    // Everything the observer ever saw: note id → text.
    let mut observed: BTreeMap<String, String> = BTreeMap::new();
    // The previous round's in-flight notes, not observed before its kill.
    let mut unconfirmed: Vec<String> = Vec::new();
    let mut tally = Tally::default();
    let mut checks = 0usize;

    for round in 0..crashes {
        // A fresh observer loads what the restarted server has.
        let mut observer = connect(&server, &observer_ticket).await;
        open_question(&mut observer, qd).await;
        let want: Vec<String> = observed.keys().cloned().collect();
        let arrived = observer
            .pump_until(WAIT, |c| has_notes(c.doc(qd), &want) == want.len())
            .await;
        let present = notes_of(&observer.doc(qd));
        let lost: Vec<_> = observed
            .iter()
            .filter(|(id, text)| present.get(*id) != Some(*text))
            .collect();
        assert!(
            arrived.is_ok() && lost.is_empty(),
            "round {round}: {} observed notes lost after SIGKILL: {lost:?}",
            lost.len()
        );
        checks += observed.len();
        for id in unconfirmed.drain(..) {
            if present.contains_key(&id) {
                tally.in_flight_durable_unobserved += 1;
            } else {
                tally.in_flight_gone += 1;
            }
        }

        // Several writers, each writing as itself; the observer sees one
        // note of each, so every writer's path to the server works.
        let mut clients = Vec::new();
        for w in &mut writers {
            clients.push(w.connect(&server, qd).await);
        }
        for (k, (w, c)) in writers.iter().zip(&mut clients).enumerate() {
            w.write(c, qd, &note_id(round, k, 0), &format!("r{round} w{k} n0"))
                .await;
        }
        let firsts: Vec<String> = (0..WRITERS).map(|k| note_id(round, k, 0)).collect();
        observer
            .pump_until(WAIT, |c| has_notes(c.doc(qd), &firsts) == WRITERS)
            .await
            .unwrap_or_else(|e| panic!("round {round}: writes did not reach the observer: {e}"));

        // One more note from each writer, and the kill lands while they are
        // in flight: at once, or after the observer has seen 1 or 2 of them.
        let burst: Vec<String> = (0..WRITERS).map(|k| note_id(round, k, 1)).collect();
        for (k, (w, c)) in writers.iter().zip(&mut clients).enumerate() {
            w.write(c, qd, &burst[k], &format!("r{round} w{k} n1"))
                .await;
        }
        let wait_for = round % 3;
        if wait_for > 0 {
            observer
                .pump_until(WAIT, |c| has_notes(c.doc(qd), &burst) >= wait_for)
                .await
                .unwrap_or_else(|e| panic!("round {round}: the burst did not arrive: {e}"));
        }
        server.kill().await.unwrap();

        // Whatever the observer holds now came from the server before it died.
        observer.closed(WAIT).await.unwrap();
        let seen = notes_of(&observer.doc(qd));
        tally.in_flight += burst.len();
        for id in burst {
            if seen.contains_key(&id) {
                tally.in_flight_observed += 1;
            } else {
                unconfirmed.push(id);
            }
        }
        observed.extend(seen);
        drop(observer);
        for (w, c) in writers.iter_mut().zip(clients) {
            w.keep(&c, sd, qd);
        }

        assert_eq!(
            integrity(),
            "ok",
            "round {round}: the database is damaged after SIGKILL"
        );
        server = start().await.unwrap();
    }

    // The last kill's notes, checked after the last restart.
    let mut observer = connect(&server, &observer_ticket).await;
    open_question(&mut observer, qd).await;
    let want: Vec<String> = observed.keys().cloned().collect();
    observer
        .pump_until(WAIT, |c| has_notes(c.doc(qd), &want) == want.len())
        .await
        .expect("every observed note is there after the last restart");
    let present = notes_of(&observer.doc(qd));
    assert!(observed.iter().all(|(id, t)| present.get(id) == Some(t)));
    checks += observed.len();
    server.kill().await.unwrap();
    assert_eq!(integrity(), "ok");

    let ids: BTreeSet<&String> = observed.keys().collect();
    assert!(
        ids.len() >= crashes * WRITERS,
        "only {} observed",
        ids.len()
    );
    // Kills that never caught a write before its group commit would test
    // only the easy half.
    assert!(
        tally.in_flight_observed < tally.in_flight,
        "every in-flight note was observed before its kill: {tally:?}"
    );
    eprintln!(
        "CRASH {crashes} SIGKILLs with {WRITERS} writers on {} in {:.1} s: {} notes observed, \
         {checks} note checks after restarts; {tally:?}",
        if url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        started.elapsed().as_secs_f64(),
        observed.len(),
    );
}

/// `PRAGMA integrity_check` on the server's database as the kill left it.
/// Read-only and without a checkpoint on close, so the next start recovers
/// the WAL exactly as the kill left it.
fn integrity_check(dir: &std::path::Path) -> String {
    use rusqlite::{OpenFlags, config::DbConfig};
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("tavolo.sqlite3"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}
