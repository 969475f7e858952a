//! The Rust automerge-repo implementation, `samod`, from the package
//! registry, used the plain way (a dialer with its default backoff, `find`,
//! `with_document`) as a stock client of Tavolo. Nothing of Tavolo's client
//! code is involved: the documents are read and written with automerge
//! directly.

use crate::helpers::*;
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tavolo_model::QuestionDoc;
use tavolo_tests::{ServerProcess, note_texts};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Dials Tavolo's WebSocket; the address can change (a restarted server).
struct WsDialer {
    url: Arc<Mutex<String>>,
}

impl samod::Dialer for WsDialer {
    type Error = std::convert::Infallible;

    fn url(&self) -> samod::Url {
        samod::Url::parse(&self.url.lock().unwrap()).unwrap()
    }

    fn connect(
        &self,
    ) -> futures_util::future::BoxFuture<
        'static,
        Result<samod::Transport, samod::DialError<Self::Error>>,
    > {
        let url = self.url.lock().unwrap().clone();
        Box::pin(async move {
            let (ws, _) = tokio_tungstenite::connect_async(url)
                .await
                .map_err(samod::DialError::transient)?;
            let (sink, stream) = ws.split();
            let stream = stream.filter_map(|m| async move {
                match m {
                    Ok(WsMessage::Binary(b)) => Some(Ok(b.to_vec())),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            });
            let sink = sink.with(|b: Vec<u8>| async move {
                Ok::<_, tokio_tungstenite::tungstenite::Error>(WsMessage::Binary(b.into()))
            });
            Ok(samod::Transport::new(Box::pin(stream), Box::pin(sink)))
        })
    }
}

/// A samod repo dialing Tavolo with `ticket`.
pub(crate) async fn samod_client(
    url: Arc<Mutex<String>>,
) -> (samod::Repo, samod::DialerHandle<std::convert::Infallible>) {
    let repo = samod::Repo::build_tokio().load().await;
    let dialer = repo
        .dial(samod::BackoffConfig::default(), Arc::new(WsDialer { url }))
        .unwrap();
    tokio::time::timeout(WAIT, dialer.established())
        .await
        .expect("samod connects within 10 s")
        .expect("samod connects");
    (repo, dialer)
}

pub(crate) async fn find(repo: &samod::Repo, url: &str) -> samod::DocHandle {
    let url: samod::AutomergeUrl = url.parse().expect("an automerge URL");
    tokio::time::timeout(WAIT, repo.find(url.document_id().clone()))
        .await
        .expect("find within 10 s")
        .unwrap()
        .expect("the document is available")
}

/// Collects the document's ephemeral notices and counts the dialer's
/// disconnects for `window`.
async fn watch(
    notices: &mut (impl futures_util::Stream<Item = Vec<u8>> + Unpin),
    events: &mut (impl futures_util::Stream<Item = samod::DialerEvent> + Unpin),
    window: Duration,
) -> (Vec<Vec<u8>>, usize) {
    let mut got = Vec::new();
    let mut disconnects = 0;
    let end = tokio::time::sleep(window);
    tokio::pin!(end);
    loop {
        tokio::select! {
            () = &mut end => break,
            Some(n) = notices.next() => got.push(n),
            Some(e) = events.next() => {
                if matches!(e, samod::DialerEvent::Disconnected { .. }) {
                    disconnects += 1;
                }
            }
        }
    }
    (got, disconnects)
}

/// A note written with automerge alone, the way a Rust app would.
fn write_note(doc: &mut Automerge, id: &str, author: &str, text: &str) {
    write_note_as(doc, id, author, text, false);
}

/// A note written with automerge alone, anonymous or not, always naming
/// `author` (what contract v2 refuses for an anonymous one).
fn write_note_as(doc: &mut Automerge, id: &str, author: &str, text: &str, anonymous: bool) {
    let mut tx = doc.transaction();
    let notes = match tx.get(ROOT, "notes").unwrap() {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        other => panic!("no notes map: {other:?}"),
    };
    let n = tx.put_object(&notes, id, ObjType::Map).unwrap();
    let t = tx.put_object(&n, "text", ObjType::Text).unwrap();
    tx.splice_text(&t, 0, 0, text).unwrap();
    let a = tx.put_object(&n, "author", ObjType::Text).unwrap();
    tx.splice_text(&a, 0, 0, author).unwrap();
    tx.put(&n, "category", automerge::ScalarValue::Null)
        .unwrap();
    tx.put(&n, "cluster", automerge::ScalarValue::Null).unwrap();
    tx.put(&n, "anonymous", anonymous).unwrap();
    tx.put(&n, "created_at", 1_700_000_000_000_i64).unwrap();
    tx.commit();
}

/// The `tavolo/refused` notices samod handed to the application.
fn refusals(notices: &[Vec<u8>]) -> Vec<serde_json::Value> {
    notices
        .iter()
        .filter_map(|b| {
            let v: serde_json::Value = notice_json(b)?;
            (v["type"] == "tavolo/refused").then_some(v)
        })
        .collect()
}

/// Decodes the small CBOR map of a notice (text keys, text values) into JSON.
fn notice_json(bytes: &[u8]) -> Option<serde_json::Value> {
    let mut d = minicbor::Decoder::new(bytes);
    let n = d.map().ok()??;
    let mut out = serde_json::Map::new();
    for _ in 0..n {
        let k = d.str().ok()?.to_string();
        let v = d.str().ok()?.to_string();
        out.insert(k, serde_json::Value::String(v));
    }
    Some(serde_json::Value::Object(out))
}

/// Connect, read the session (its URLs as plain strings), write a named
/// note another client sees, have a forged author refused — after which
/// the refused client stays connected and quiet — and a note into a locked
/// (The locked phase is refused the same way: a refusal is a refusal.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_reads_writes_and_a_refusal_costs_no_connection() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut bruno = connect(&r.server, &b).await;
    let url = Arc::new(Mutex::new(r.server.ws_url(&a.ticket)));
    let (repo, dialer) = samod_client(url.clone()).await;
    let mut events = dialer.events();

    // The session document, as the server wrote it: URLs are strings.
    let session = find(&repo, &s.session_doc.url()).await;
    let (q_url, roster) = session.with_document(|d| {
        let s = tavolo_model::SessionDoc::load(&*d).expect("the session reads");
        (
            s.phases[0].questions[0].doc_url.clone(),
            s.roster_doc.clone(),
        )
    });
    assert!(q_url.starts_with("automerge:"), "{q_url}");
    assert!(roster.starts_with("automerge:"), "{roster}");
    let q = tavolo_sync::DocumentId::from_url(&q_url).unwrap();
    open_question(&mut bruno, q).await;
    open_question(&mut fac, q).await;

    let question = find(&repo, &q_url).await;
    let mut notices = question.ephemera();
    let anna = a.participant_id.clone().unwrap();
    let started = std::time::Instant::now();
    question.with_document(|d| write_note(d, "n_samod", &anna, "Scritta da samod"));
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"Scritta da samod".to_string())
        })
        .await
        .unwrap();
    eprintln!(
        "SAMOD note reached another client in {} ms",
        started.elapsed().as_millis()
    );

    // A forged author: refused, told as an ephemeral notice, and nothing else.
    let bruno_id = b.participant_id.clone().unwrap();
    question.with_document(|d| write_note(d, "n_falsa", &bruno_id, "Firmata Bruno"));
    // Over the 5 s after it: the refusal arrives as an ephemeral notice,
    // and the connection stays up (the client counts its disconnects).
    let (got, disconnects) = watch(&mut notices, &mut events, Duration::from_secs(5)).await;
    eprintln!("SAMOD disconnects in the 5 s after a refusal: {disconnects}");
    assert!(
        disconnects <= 1,
        "{disconnects} disconnects after one refusal"
    );
    let refused = refusals(&got);
    assert_eq!(
        refused.first().map(|r| r["code"].clone()),
        Some(serde_json::json!("not_yours")),
        "{refused:?}"
    );
    assert!(dialer.is_connected());
    // The forgery is nowhere; a marker from the facilitator still reaches
    // samod (it kept syncing, read-only for its own changes).
    add_note(&mut fac, q, &bruno_id, "n_mark", "marcatore").await;
    tokio::time::timeout(WAIT, async {
        loop {
            if question.with_document(|d| note_texts_am(d).contains(&"marcatore".to_string())) {
                break;
            }
            let _ = question.changes().next().await;
        }
    })
    .await
    .expect("samod still receives the others' changes");
    let server = QuestionDoc::load(&fac.doc(q));
    assert!(!server.notes.contains_key("n_falsa"));
    assert_eq!(server.notes["n_samod"].author, anna);
    drop(events);
    drop((repo, dialer));
    r.server.kill().await.unwrap();
}

fn note_texts_am(d: &Automerge) -> Vec<String> {
    QuestionDoc::load(d)
        .notes
        .values()
        .map(|n| n.text.clone())
        .collect()
}

/// A damaged board and a server killed with SIGKILL: samod is told of the
/// damage without losing its connection, and reconnects on its own when the
/// server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_hears_of_a_damaged_board_and_reconnects_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let (s, a, b) = session_and_two(&api).await;
    let mut probe = connect(&server, &a).await;
    let questions = tavolo_tests::question_docs(&probe.doc(s.session_doc));
    let (q, other) = (questions[0], questions[1]);
    open_question(&mut probe, q).await;
    drop(probe);
    server.kill().await.unwrap();
    {
        let db = rusqlite::Connection::open(dir.path().join("tavolo.sqlite3")).unwrap();
        let snap: Vec<u8> = db
            .query_row(
                "SELECT data FROM snapshots WHERE doc_id = ?1",
                [q.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        let mut bad = snap.clone();
        let i = bad.len() / 2;
        bad[i] ^= 0xff;
        db.execute(
            "UPDATE snapshots SET data = ?1 WHERE doc_id = ?2",
            rusqlite::params![bad, q.to_string()],
        )
        .unwrap();
    }
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let url = Arc::new(Mutex::new(server.ws_url(&a.ticket)));
    let (repo, dialer) = samod_client(url.clone()).await;
    let mut events = dialer.events();
    let session = find(&repo, &s.session_doc.url()).await;
    let _ = session;
    // The damaged board: samod cannot get it, hears why, stays connected.
    let damaged: samod::AutomergeUrl = q.url().parse().unwrap();
    let search = tokio::time::timeout(
        Duration::from_secs(3),
        repo.find(damaged.document_id().clone()),
    )
    .await;
    assert!(
        !matches!(search, Ok(Ok(Some(_)))),
        "no empty board is served"
    );
    let healthy = find(&repo, &other.url()).await;
    assert!(healthy.with_document(|d| d.get(ROOT, "notes").unwrap().is_some()));
    let mut disconnects = 0;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(1), events.next()).await {
        if matches!(e, samod::DialerEvent::Disconnected { .. }) {
            disconnects += 1;
        }
    }
    assert_eq!(disconnects, 0, "a damaged board costs no connection");

    // SIGKILL, then a server again: samod's dialer reconnects by itself.
    server.kill().await.unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    *url.lock().unwrap() = server.ws_url(&a.ticket);
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = events.next().await {
            if matches!(e, samod::DialerEvent::Connected { .. }) {
                break;
            }
        }
    })
    .await
    .expect("samod reconnects within 30 s");
    let anna = a.participant_id.clone().unwrap();
    healthy.with_document(|d| write_note(d, "n_dopo", &anna, "Dopo il riavvio"));
    let mut check = connect(&server, &b).await;
    open_question(&mut check, other).await;
    check
        .pump_until(WAIT, |c| {
            note_texts(c.doc(other)).contains(&"Dopo il riavvio".to_string())
        })
        .await
        .unwrap();
    drop(events);
    drop((repo, dialer));
    server.kill().await.unwrap();
}

/// A note written by samod into a locked phase: refused with
/// `phase_locked`, heard as an ephemeral notice, connection kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_writing_into_a_locked_phase_is_refused_quietly() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&fac, s.session_doc);
    open_question(&mut fac, q).await;
    open_question(&mut bruno, q).await;
    set_locked(&mut fac, &mut bruno, s.session_doc, "legittimazione", true).await;

    let url = Arc::new(Mutex::new(r.server.ws_url(&a.ticket)));
    let (repo, dialer) = samod_client(url).await;
    let mut events = dialer.events();
    let question = find(&repo, &q.url()).await;
    let mut notices = question.ephemera();
    let anna = a.participant_id.clone().unwrap();
    question.with_document(|d| write_note(d, "n_chiusa", &anna, "A fase chiusa"));
    let (got, disconnects) = watch(&mut notices, &mut events, Duration::from_secs(3)).await;
    assert_eq!(disconnects, 0);
    let refused = refusals(&got);
    assert_eq!(
        refused.first().map(|r| r["code"].clone()),
        Some(serde_json::json!("phase_locked")),
        "{refused:?}"
    );
    assert!(
        !QuestionDoc::load(&fac.doc(q))
            .notes
            .contains_key("n_chiusa")
    );
    drop(events);
    drop((repo, dialer));
}

/// Contract v2: an anonymous note names nobody. A stock client that writes
/// one with its author (which would tie it to the writer for every replica)
/// is refused, and the note reaches nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_writing_an_anonymous_note_with_its_author_is_refused() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let mut bruno = connect(&r.server, &b).await;
    let url = Arc::new(Mutex::new(r.server.ws_url(&a.ticket)));
    let (repo, dialer) = samod_client(url).await;
    let mut events = dialer.events();
    let session = find(&repo, &s.session_doc.url()).await;
    let q_url = session.with_document(|d| {
        tavolo_model::SessionDoc::load(&*d).unwrap().phases[0].questions[0]
            .doc_url
            .clone()
    });
    let q = tavolo_sync::DocumentId::from_url(&q_url).unwrap();
    open_question(&mut bruno, q).await;
    let question = find(&repo, &q_url).await;
    let mut notices = question.ephemera();
    let anna = a.participant_id.clone().unwrap();
    question.with_document(|d| write_note_as(d, "n_anon", &anna, "Firmata ma anonima", true));
    let (got, _) = watch(&mut notices, &mut events, Duration::from_secs(3)).await;
    let refused = refusals(&got);
    assert_eq!(
        refused.first().map(|r| r["code"].clone()),
        Some(serde_json::json!("malformed")),
        "{refused:?}"
    );
    // A signed note after it still lands (the refusal cost nothing else).
    let mut fac = connect(&r.server, &r.api.facilitator(&s).await.unwrap()).await;
    open_question(&mut fac, q).await;
    add_note(&mut fac, q, &anna, "n_mark", "marcatore").await;
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"marcatore".to_string())
        })
        .await
        .unwrap();
    assert!(!note_texts(&bruno.doc(q)).contains(&"Firmata ma anonima".to_string()));
    drop(events);
    drop((repo, dialer));
    r.server.kill().await.unwrap();
}
