//! The storage contract: one suite, written once against `Store`, run
//! against every backend — SQLite in a temporary directory and PostgreSQL
//! in a throwaway cluster (a fresh database per test). A backend that
//! passes can hold a Tavolo server's data.
//!
//! Each test is a plain async function taking a [`Backend`]; the
//! `contract!` macro at the bottom makes one `#[tokio::test]` of it per
//! backend (`storage::sqlite::…`, `storage::postgres::…`).

use std::collections::BTreeSet;
use tavolo_server::storage::{
    BadChunk, ChunkRef, NewDocument, NewTicket, ParticipantRow, Reroot, SessionRow, Storage,
    StorageError, TicketFor,
};
use tavolo_tests::PostgresCluster;
use tempfile::TempDir;

/// Where a test's data lives, and how to open it (again).
pub enum Backend {
    Sqlite(TempDir),
    Postgres { url: String },
}

impl Backend {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    fn postgres() -> Self {
        let url = PostgresCluster::shared()
            .create_database()
            .expect("a fresh database");
        Self::Postgres { url }
    }

    /// Opens the backend's database: a new handle each time, as a
    /// restarted server would.
    async fn open(&self) -> Storage {
        match self {
            Self::Sqlite(dir) => Storage::sqlite(dir.path()).expect("sqlite opens"),
            Self::Postgres { url } => Storage::postgres(url).await.expect("postgres opens"),
        }
    }
}

fn session_row(id: &str, join_code: &str) -> SessionRow {
    SessionRow {
        id: id.into(),
        title: format!("Tavolo {id}"),
        template: "tavolo-prima-sessione".into(),
        join_code: join_code.into(),
        facilitator_key_hash: vec![0xfa, 0xc1, id.len() as u8],
        session_doc: format!("automerge:{id}-session"),
        roster_doc: format!("automerge:{id}-roster"),
        created_at: 1_700_000_000_000,
        joining_open: true,
    }
}

fn documents(id: &str) -> Vec<NewDocument> {
    ["session", "roster", "question"]
        .iter()
        .map(|kind| NewDocument {
            id: format!("{id}-{kind}"),
            kind: (*kind).into(),
            snapshot: format!("{id} {kind} snapshot").into_bytes(),
        })
        .collect()
}

/// A session `id` with its three documents.
async fn create(s: &Storage, id: &str, join_code: &str) {
    s.create_session(session_row(id, join_code), documents(id))
        .await
        .expect("session created");
}

fn participant(id: &str, session_id: &str, attendance: &str) -> ParticipantRow {
    ParticipantRow {
        id: id.into(),
        session_id: session_id.into(),
        name: format!("Name of {id}"),
        organization: "Opificio".into(),
        sector: "community".into(),
        tier: "founding_core".into(),
        attendance: attendance.into(),
        created_at: 1_700_000_000_001,
    }
}

fn ticket(hash: &[u8], session_id: &str, holder: TicketFor) -> NewTicket {
    NewTicket {
        hash: hash.to_vec(),
        session_id: session_id.into(),
        holder,
        expires_at: 1_800_000_000_000,
    }
}

fn change(n: u32) -> (Vec<u8>, Vec<u8>) {
    (
        format!("hash-{n}").into_bytes(),
        format!("change {n}").into_bytes(),
    )
}

async fn loaded_changes(s: &Storage, doc: &str) -> Vec<Vec<u8>> {
    s.load_doc(doc.into())
        .await
        .expect("load_doc")
        .changes
        .into_iter()
        .map(|c| c.data)
        .collect()
}

pub async fn sessions_are_found_by_id_and_by_join_code_with_their_documents(b: &Backend) {
    let s = b.open().await;
    assert!(s.session("s1".into()).await.unwrap().is_none());
    create(&s, "s1", "ABC234").await;
    create(&s, "s2", "XYZ789").await;

    let by_id = s.session("s1".into()).await.unwrap().expect("found by id");
    assert_eq!(by_id.join_code, "ABC234");
    assert_eq!(by_id.title, "Tavolo s1");
    assert_eq!(by_id.facilitator_key_hash, vec![0xfa, 0xc1, 2]);
    assert_eq!(by_id.created_at, 1_700_000_000_000);
    assert!(by_id.joining_open);
    let by_code = s
        .session_by_join_code("XYZ789".into())
        .await
        .unwrap()
        .expect("found by join code");
    assert_eq!(by_code.id, "s2");
    assert!(
        s.session_by_join_code("NOPE22".into())
            .await
            .unwrap()
            .is_none()
    );

    let docs: BTreeSet<(String, String)> = s
        .session_documents("s1".into())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: BTreeSet<(String, String)> = ["question", "roster", "session"]
        .iter()
        .map(|k| (format!("s1-{k}"), (*k).to_string()))
        .collect();
    assert_eq!(docs, expected);
    let roster = s.load_doc("s1-roster".into()).await.unwrap();
    assert_eq!(roster.snapshot, Some(b"s1 roster snapshot".to_vec()));
    assert!(roster.changes.is_empty());

    assert_eq!(
        s.sessions_created_since(1_700_000_000_000).await.unwrap(),
        2
    );
    assert_eq!(
        s.sessions_created_since(1_700_000_000_001).await.unwrap(),
        0
    );

    s.set_joining_open("s1".into(), false).await.unwrap();
    assert!(!s.session("s1".into()).await.unwrap().unwrap().joining_open);
    s.set_joining_open("s1".into(), true).await.unwrap();
    assert!(s.session("s1".into()).await.unwrap().unwrap().joining_open);
}

pub async fn a_taken_join_code_is_refused_and_nothing_of_the_session_is_stored(b: &Backend) {
    let s = b.open().await;
    create(&s, "first", "SAME22").await;
    let second = s
        .create_session(session_row("second", "SAME22"), documents("second"))
        .await;
    assert!(
        matches!(second, Err(StorageError::JoinCodeTaken)),
        "expected JoinCodeTaken, got {second:?}"
    );
    assert!(s.session("second".into()).await.unwrap().is_none());
    assert!(
        s.session_documents("second".into())
            .await
            .unwrap()
            .is_empty()
    );
    let doc = s.load_doc("second-session".into()).await.unwrap();
    assert!(
        doc.snapshot.is_none(),
        "a refused session left a snapshot behind"
    );
    // Another code works.
    create(&s, "second", "OTHER2").await;
}

pub async fn tickets_grant_what_they_were_issued_for_until_revoked(b: &Backend) {
    let s = b.open().await;
    create(&s, "s", "TICKET").await;
    s.add_participant(
        participant("p1", "s", "remote"),
        b"t-p1".to_vec(),
        1_800_000_000_000,
    )
    .await
    .unwrap();
    s.add_ticket(ticket(b"t-fac", "s", TicketFor::Facilitator))
        .await
        .unwrap();
    s.add_ticket(ticket(b"t-view", "s", TicketFor::Viewer))
        .await
        .unwrap();

    let p = s.ticket(b"t-p1".to_vec()).await.unwrap().expect("p1's");
    assert_eq!(p.session_id, "s");
    assert_eq!(p.participant_id.as_deref(), Some("p1"));
    assert_eq!(p.attendance.as_deref(), Some("remote"));
    assert_eq!(p.expires_at, 1_800_000_000_000);
    assert!(!p.viewer && !p.revoked);
    let f = s.ticket(b"t-fac".to_vec()).await.unwrap().expect("fac");
    assert!(f.participant_id.is_none() && !f.viewer && !f.revoked);
    let v = s.ticket(b"t-view".to_vec()).await.unwrap().expect("view");
    assert!(v.participant_id.is_none() && v.viewer && !v.revoked);
    assert!(s.ticket(b"unknown".to_vec()).await.unwrap().is_none());

    // A ticket hash is unique: issuing it twice fails.
    assert!(
        s.add_ticket(ticket(b"t-fac", "s", TicketFor::Facilitator))
            .await
            .is_err()
    );

    // Rotating the key revokes facilitator and viewer tickets only...
    s.rotate_key("s".into(), vec![9, 9], false).await.unwrap();
    assert_eq!(
        s.session("s".into())
            .await
            .unwrap()
            .unwrap()
            .facilitator_key_hash,
        vec![9, 9]
    );
    let revoked = |t: &[u8]| {
        let s = s.clone();
        let t = t.to_vec();
        async move { s.ticket(t).await.unwrap().unwrap().revoked }
    };
    assert!(revoked(b"t-fac").await && revoked(b"t-view").await);
    assert!(!revoked(b"t-p1").await);
    // ...and, when asked, the participants' too.
    s.rotate_key("s".into(), vec![8], true).await.unwrap();
    assert!(revoked(b"t-p1").await);
}

pub async fn participants_are_counted_revoked_and_taken_back(b: &Backend) {
    let s = b.open().await;
    create(&s, "s", "PEOPLE").await;
    create(&s, "other", "OTHERS").await;
    for (id, session) in [("a", "s"), ("b", "s"), ("c", "s"), ("z", "other")] {
        s.add_participant(
            participant(id, session, "in_room"),
            format!("t-{id}").into_bytes(),
            1_800_000_000_000,
        )
        .await
        .unwrap();
    }
    assert_eq!(s.participant_count("s".into()).await.unwrap(), 3);
    assert_eq!(s.participant_count("other".into()).await.unwrap(), 1);

    s.revoke_participant("s".into(), "b".into()).await.unwrap();
    assert!(s.ticket(b"t-b".to_vec()).await.unwrap().unwrap().revoked);
    assert_eq!(s.participant_count("s".into()).await.unwrap(), 2);

    s.remove_participant("c".into()).await.unwrap();
    assert!(s.ticket(b"t-c".to_vec()).await.unwrap().is_none());
    assert_eq!(s.participant_count("s".into()).await.unwrap(), 1);

    // A participant with a taken id is refused, ticket and all.
    let again = s
        .add_participant(
            participant("a", "s", "in_room"),
            b"t-a2".to_vec(),
            1_800_000_000_000,
        )
        .await;
    assert!(again.is_err());
    assert!(s.ticket(b"t-a2".to_vec()).await.unwrap().is_none());
}

pub async fn changes_load_in_the_order_appended_once_each_with_their_actors(b: &Backend) {
    let s = b.open().await;
    s.append_changes("d".into(), vec![change(3), change(1), change(2)])
        .await
        .unwrap();
    // The same change again (a peer resending) is stored once.
    s.append_changes("d".into(), vec![change(1), change(4)])
        .await
        .unwrap();
    s.append_changes("other".into(), vec![change(1)])
        .await
        .unwrap();
    let loaded = s.load_doc("d".into()).await.unwrap();
    assert!(loaded.snapshot.is_none());
    let data: Vec<Vec<u8>> = loaded.changes.iter().map(|c| c.data.clone()).collect();
    assert_eq!(data, [3, 1, 2, 4].map(|n| change(n).1).to_vec());
    assert_eq!(loaded.changes[0].hash, change(3).0);
    assert!(
        loaded.changes.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq grows with the order of appending"
    );

    // Claims land with the changes; the first owner of an actor id stays.
    s.append_changes_claiming(
        "d".into(),
        vec![change(5)],
        Some((
            "s".into(),
            vec![(vec![1], "p:alice".into()), (vec![2], "facilitator".into())],
        )),
    )
    .await
    .unwrap();
    s.append_changes_claiming(
        "d".into(),
        vec![],
        Some(("s".into(), vec![(vec![1], "p:mallory".into())])),
    )
    .await
    .unwrap();
    let owners: BTreeSet<(Vec<u8>, String)> =
        s.actors("s".into()).await.unwrap().into_iter().collect();
    assert_eq!(
        owners,
        BTreeSet::from([
            (vec![1], "p:alice".to_string()),
            (vec![2], "facilitator".to_string())
        ])
    );
    assert!(s.actors("elsewhere".into()).await.unwrap().is_empty());
    assert_eq!(loaded_changes(&s, "d").await.len(), 5);
    // Nothing to write is not an error.
    s.append_changes("d".into(), vec![]).await.unwrap();
}

pub async fn compaction_replaces_the_log_with_a_snapshot(b: &Backend) {
    let s = b.open().await;
    s.append_changes("d".into(), vec![change(1), change(2)])
        .await
        .unwrap();
    s.append_changes("keep".into(), vec![change(1)])
        .await
        .unwrap();
    s.compact("d".into(), b"snapshot 1".to_vec(), 10)
        .await
        .unwrap();
    s.append_changes("d".into(), vec![change(3)]).await.unwrap();
    let d = s.load_doc("d".into()).await.unwrap();
    assert_eq!(d.snapshot, Some(b"snapshot 1".to_vec()));
    assert_eq!(
        d.changes.into_iter().map(|c| c.data).collect::<Vec<_>>(),
        vec![change(3).1]
    );
    // Compacting again replaces the snapshot; other documents keep theirs.
    s.compact("d".into(), b"snapshot 2".to_vec(), 11)
        .await
        .unwrap();
    let d = s.load_doc("d".into()).await.unwrap();
    assert_eq!(d.snapshot, Some(b"snapshot 2".to_vec()));
    assert!(d.changes.is_empty());
    assert_eq!(loaded_changes(&s, "keep").await, vec![change(1).1]);
}

pub async fn reroot_retires_the_old_history_and_keeps_hidden_texts(b: &Backend) {
    let s = b.open().await;
    create(&s, "s", "REROOT").await;
    let q = "s-question".to_string();
    s.append_changes(q.clone(), vec![change(1), change(2)])
        .await
        .unwrap();
    // A hostile text may hold any character, NUL included.
    let hidden = vec![
        ("note-1".to_string(), "Testo nascosto".to_string()),
        ("nul\0id".to_string(), "a\0b ✓".to_string()),
    ];
    s.reroot(Reroot {
        doc_id: q.clone(),
        session_id: "s".into(),
        snapshot: b"rewritten".to_vec(),
        now_ms: 20,
        retired: vec![change(1).0, change(2).0],
        claims: vec![(vec![7], "server".into())],
        hidden: hidden.clone(),
    })
    .await
    .unwrap();
    let d = s.load_doc(q.clone()).await.unwrap();
    assert_eq!(d.snapshot, Some(b"rewritten".to_vec()));
    assert!(d.changes.is_empty(), "the old history is gone");
    let retired: BTreeSet<Vec<u8>> = s
        .load_retired(q.clone())
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(retired, BTreeSet::from([change(1).0, change(2).0]));
    assert!(
        s.actors("s".into())
            .await
            .unwrap()
            .contains(&(vec![7], "server".to_string()))
    );
    let mut got = s.load_hidden(q.clone()).await.unwrap();
    got.sort();
    let mut want = hidden.clone();
    want.sort();
    assert_eq!(got, want);

    // A second purge replaces a hidden text and keeps the others.
    s.reroot(Reroot {
        doc_id: q.clone(),
        session_id: "s".into(),
        snapshot: b"rewritten again".to_vec(),
        now_ms: 21,
        retired: vec![change(1).0],
        claims: vec![],
        hidden: vec![("note-1".into(), "nuovo testo".into())],
    })
    .await
    .unwrap();
    let hidden: std::collections::BTreeMap<String, String> = s
        .load_hidden(q.clone())
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(hidden["note-1"], "nuovo testo");
    assert_eq!(hidden["nul\0id"], "a\0b ✓");

    s.forget_hidden(q.clone(), "nul\0id".into()).await.unwrap();
    s.forget_hidden(q.clone(), "never-hidden".into())
        .await
        .unwrap();
    let left: Vec<String> = s
        .load_hidden(q.clone())
        .await
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(left, vec!["note-1".to_string()]);
}

pub async fn dots_are_set_replaced_and_cleared(b: &Backend) {
    let s = b.open().await;
    s.save_dots(
        "q".into(),
        vec![
            ("p1".into(), "note-a".into(), 2),
            ("p1".into(), "note-b".into(), 1),
            ("p2".into(), "cluster\0x".into(), 3),
        ],
    )
    .await
    .unwrap();
    s.save_dots("other".into(), vec![("p1".into(), "note-a".into(), 5)])
        .await
        .unwrap();
    // Replace one count, clear another (a count of 0 removes the row),
    // clear one that never existed.
    s.save_dots(
        "q".into(),
        vec![
            ("p1".into(), "note-a".into(), 1),
            ("p1".into(), "note-b".into(), 0),
            ("p3".into(), "note-z".into(), 0),
        ],
    )
    .await
    .unwrap();
    s.save_dots("q".into(), vec![]).await.unwrap();
    let dots: BTreeSet<(String, String, i64)> =
        s.load_dots("q".into()).await.unwrap().into_iter().collect();
    assert_eq!(
        dots,
        BTreeSet::from([
            ("p1".to_string(), "note-a".to_string(), 1),
            ("p2".to_string(), "cluster\0x".to_string(), 3),
        ])
    );
    assert_eq!(s.load_dots("other".into()).await.unwrap().len(), 1);
}

pub async fn quarantine_moves_chunks_out_of_the_live_rows_once(b: &Backend) {
    let s = b.open().await;
    create(&s, "s", "QUARAN").await;
    let q = "s-question".to_string();
    s.append_changes(q.clone(), vec![change(1), change(2)])
        .await
        .unwrap();
    let stored = s.load_doc(q.clone()).await.unwrap();
    let first = stored.changes[0].clone();
    let bad = vec![
        BadChunk {
            chunk: ChunkRef::Snapshot,
            data: stored.snapshot.clone().expect("a snapshot"),
            reason: "damaged: test".into(),
        },
        BadChunk {
            chunk: ChunkRef::Change {
                seq: first.seq,
                hash: first.hash.clone(),
            },
            data: first.data.clone(),
            reason: "damaged: test".into(),
        },
    ];
    let before = s.health().await.unwrap();
    assert_eq!((before.quarantined_chunks, before.quarantined_docs), (0, 0));
    assert!(!before.write_failing);
    assert_eq!(s.quarantine(q.clone(), bad.clone(), 5).await.unwrap(), 2);
    // The same chunks again: they are gone, nothing moves.
    assert_eq!(s.quarantine(q.clone(), bad, 6).await.unwrap(), 0);
    let after = s.load_doc(q.clone()).await.unwrap();
    assert!(after.snapshot.is_none());
    assert_eq!(
        after
            .changes
            .into_iter()
            .map(|c| c.data)
            .collect::<Vec<_>>(),
        vec![change(2).1]
    );
    let health = s.health().await.unwrap();
    assert_eq!((health.quarantined_chunks, health.quarantined_docs), (2, 1));
    assert!(!health.write_failing);
}

pub async fn meta_values_are_set_and_replaced(b: &Backend) {
    let s = b.open().await;
    assert_eq!(s.meta("demo_session").await.unwrap(), None);
    s.set_meta("demo_session", "{\"a\":1}".into())
        .await
        .unwrap();
    s.set_meta("demo_session", "{\"a\":2}".into())
        .await
        .unwrap();
    assert_eq!(
        s.meta("demo_session").await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
    assert_eq!(s.meta("other_key").await.unwrap(), None);
}

pub async fn deleting_a_session_removes_everything_it_stored_and_nothing_else(b: &Backend) {
    let s = b.open().await;
    for (id, code) in [("gone", "GONE22"), ("kept", "KEPT22")] {
        create(&s, id, code).await;
        let q = format!("{id}-question");
        s.add_participant(
            participant(&format!("{id}-p"), id, "remote"),
            format!("t-{id}").into_bytes(),
            1_800_000_000_000,
        )
        .await
        .unwrap();
        s.append_changes_claiming(
            q.clone(),
            vec![change(1)],
            Some((id.into(), vec![(vec![1], format!("p:{id}-p"))])),
        )
        .await
        .unwrap();
        s.save_dots(q.clone(), vec![(format!("{id}-p"), "n".into(), 1)])
            .await
            .unwrap();
        s.reroot(Reroot {
            doc_id: q.clone(),
            session_id: id.into(),
            snapshot: b"purged".to_vec(),
            now_ms: 1,
            retired: vec![change(1).0],
            claims: vec![],
            hidden: vec![("n".into(), format!("hidden text of {id}"))],
        })
        .await
        .unwrap();
        s.append_changes(q, vec![change(2)]).await.unwrap();
    }
    assert!(s.delete_session("gone".into()).await.unwrap());
    assert!(
        !s.delete_session("gone".into()).await.unwrap(),
        "a second delete finds nothing"
    );

    assert!(s.session("gone".into()).await.unwrap().is_none());
    assert!(
        s.session_by_join_code("GONE22".into())
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.session_documents("gone".into()).await.unwrap().is_empty());
    assert!(s.ticket(b"t-gone".to_vec()).await.unwrap().is_none());
    assert_eq!(s.participant_count("gone".into()).await.unwrap(), 0);
    assert!(s.actors("gone".into()).await.unwrap().is_empty());
    for kind in ["session", "roster", "question"] {
        let d = s.load_doc(format!("gone-{kind}")).await.unwrap();
        assert!(d.snapshot.is_none() && d.changes.is_empty(), "{kind} left");
    }
    assert!(
        s.load_dots("gone-question".into())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.load_hidden("gone-question".into())
            .await
            .unwrap()
            .is_empty(),
        "a hidden note's text outlived its session"
    );
    assert!(
        s.load_retired("gone-question".into())
            .await
            .unwrap()
            .is_empty()
    );

    // The other session is untouched.
    assert!(s.session("kept".into()).await.unwrap().is_some());
    assert!(s.ticket(b"t-kept".to_vec()).await.unwrap().is_some());
    assert_eq!(s.participant_count("kept".into()).await.unwrap(), 1);
    assert_eq!(s.actors("kept".into()).await.unwrap().len(), 1);
    let kept = s.load_doc("kept-question".into()).await.unwrap();
    assert_eq!(kept.snapshot, Some(b"purged".to_vec()));
    assert_eq!(kept.changes.len(), 1);
    assert_eq!(
        s.load_hidden("kept-question".into()).await.unwrap().len(),
        1
    );
    assert_eq!(s.load_dots("kept-question".into()).await.unwrap().len(), 1);
}

pub async fn a_refused_write_does_not_undo_concurrent_ones(b: &Backend) {
    let s = b.open().await;
    create(&s, "s", "CONCUR").await;
    s.add_ticket(ticket(b"dup", "s", TicketFor::Facilitator))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..60_u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.append_changes(format!("d{}", i % 3), vec![change(i)])
                .await
        }));
    }
    let refused = s.add_ticket(ticket(b"dup", "s", TicketFor::Viewer)).await;
    assert!(refused.is_err(), "a duplicate ticket hash was accepted");
    for t in tasks {
        t.await.unwrap().expect("an append failed");
    }
    let mut total = 0;
    for d in 0..3 {
        total += loaded_changes(&s, &format!("d{d}")).await.len();
    }
    assert_eq!(total, 60);
    assert!(!s.health().await.unwrap().write_failing);
}

/// Every write that returned `Ok` is there when the database is opened
/// again; on PostgreSQL the cluster is first crashed (`pg_ctl stop -m
/// immediate`, no checkpoint) while writes are in flight.
pub async fn nothing_returned_ok_is_lost_after_reopening(b: &Backend) {
    // PostgreSQL: a cluster of this test's own, since it is crashed.
    let own_cluster = match b {
        Backend::Postgres { .. } => Some(PostgresCluster::start().expect("a cluster")),
        Backend::Sqlite(_) => None,
    };
    let own_backend = own_cluster.as_ref().map(|c| Backend::Postgres {
        url: c.create_database().expect("database"),
    });
    let b = own_backend.as_ref().unwrap_or(b);

    let s = b.open().await;
    create(&s, "s", "DURABL").await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..8_u32 {
        let (s, acknowledged) = (s.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for k in 0..40_u32 {
                let n = w * 1000 + k;
                let doc = format!("doc-{w}");
                match s.append_changes(doc.clone(), vec![change(n)]).await {
                    Ok(()) => acknowledged.lock().unwrap().push((doc, n)),
                    // Only once the database is gone.
                    Err(_) => break,
                }
            }
        }));
    }
    // Let some writes land, then pull the plug while others are in flight.
    let started = std::time::Instant::now();
    while acknowledged.lock().unwrap().len() < 40
        && started.elapsed() < std::time::Duration::from_secs(20)
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if let Some(cluster) = &own_cluster {
        cluster.crash().expect("crash");
    }
    for w in writers {
        w.await.unwrap();
    }
    drop(s);
    if let Some(cluster) = &own_cluster {
        cluster.restart().expect("restart after crash");
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 40,
        "too few writes were acknowledged ({}) for the test to mean anything",
        acknowledged.len()
    );
    let reopened = b.open().await;
    assert!(reopened.session("s".into()).await.unwrap().is_some());
    for w in 0..8 {
        let doc = format!("doc-{w}");
        let stored: BTreeSet<Vec<u8>> = loaded_changes(&reopened, &doc).await.into_iter().collect();
        for (_, n) in acknowledged.iter().filter(|(d, _)| *d == doc) {
            assert!(
                stored.contains(&change(*n).1),
                "change {n} of {doc} was acknowledged but is lost"
            );
        }
    }
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(&super::Backend::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(&super::Backend::postgres()).await;
                }
            )*
        }
    };
}

contract!(
    sessions_are_found_by_id_and_by_join_code_with_their_documents,
    a_taken_join_code_is_refused_and_nothing_of_the_session_is_stored,
    tickets_grant_what_they_were_issued_for_until_revoked,
    participants_are_counted_revoked_and_taken_back,
    changes_load_in_the_order_appended_once_each_with_their_actors,
    compaction_replaces_the_log_with_a_snapshot,
    reroot_retires_the_old_history_and_keeps_hidden_texts,
    dots_are_set_replaced_and_cleared,
    quarantine_moves_chunks_out_of_the_live_rows_once,
    meta_values_are_set_and_replaced,
    deleting_a_session_removes_everything_it_stored_and_nothing_else,
    a_refused_write_does_not_undo_concurrent_ones,
    nothing_returned_ok_is_lost_after_reopening,
);
