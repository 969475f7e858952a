//! What a participant's phone holds, checked the way an attacker would: a
//! stock automerge-repo client (samod) holding one participant's ticket
//! loads every document it can reach, with its whole history, and looks
//! for what the privacy table in ARCHITECTURE.md says is not there.

use crate::helpers::*;
use crate::samod::{find, samod_client};
use automerge::{Automerge, ObjId, ReadDoc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tavolo_model::ParticipantId;
use tavolo_model::ops::{self, NewNote};
use tavolo_model::read;
use tavolo_sync::{DocumentId, MyNotes};
use tavolo_tests::{SyncClient, note_texts};

/// Writes an anonymous note the way Tavolo's client does.
async fn anonymous_note(c: &mut SyncClient, doc: DocumentId, author: &str, id: &str, text: &str) {
    let author = ParticipantId(author.to_string());
    let new = NewNote {
        anonymous: true,
        ..note(text)
    };
    c.change_unlinked(doc, |d| ops::add_note(d, id, &author, &new))
        .await
        .expect("send")
        .expect("add note");
}

/// Who wrote what, as the history of a question document shows it: for
/// every note, the actor ids of the changes that wrote it (created it,
/// or changed anything of it but its group), and whether any change ever
/// gave it an `author`.
struct Writers {
    by_note: BTreeMap<String, BTreeSet<String>>,
    author_written: BTreeSet<String>,
}

fn writers(doc: &Automerge) -> Writers {
    // Every object that belongs to a note, mapped to the note and to the
    // key it sits under in the note (`None` for the note's own map).
    let mut owner_of: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let notes = read::map_at_path(doc, &["notes"]).expect("a question document");
    for id in read::keys(doc, &notes) {
        let Some(n) = read::get_map(doc, &notes, &id) else {
            continue;
        };
        owner_of.insert(n.to_string(), (id.clone(), None));
        for key in read::keys(doc, &n) {
            for (_, obj) in doc.get_all(&n, key.as_str()).unwrap() {
                if matches!(obj, ObjId::Id(..)) {
                    owner_of.insert(obj.to_string(), (id.clone(), Some(key.clone())));
                }
            }
        }
    }
    let notes_obj = notes.to_string();
    let mut w = Writers {
        by_note: BTreeMap::new(),
        author_written: BTreeSet::new(),
    };
    for change in doc.get_changes(&[]) {
        let actor = change.actor_id().to_hex_string();
        for op in change.decode().operations {
            let automerge::legacy::ObjectId::Id(obj) = &op.obj else {
                continue;
            };
            let obj = format!("{}@{}", obj.counter(), obj.actor());
            let key = match &op.key {
                automerge::legacy::Key::Map(k) => Some(k.to_string()),
                automerge::legacy::Key::Seq(_) => None,
            };
            let (note, field) = if obj == notes_obj {
                match key {
                    Some(k) => (k, None),
                    None => continue,
                }
            } else if let Some((note, under)) = owner_of.get(&obj) {
                match under {
                    // The note's own map: the field is the op's key.
                    None => (note.clone(), key),
                    Some(f) => (note.clone(), Some(f.clone())),
                }
            } else {
                continue;
            };
            if field.as_deref() == Some("author") {
                w.author_written.insert(note.clone());
            }
            // Moving a note into a group is anyone's, so it says nothing
            // about who wrote it.
            if field.as_deref() != Some("cluster") {
                w.by_note.entry(note).or_default().insert(actor.clone());
            }
        }
    }
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_client_finds_no_link_between_an_anonymous_note_and_its_writer() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let carla = r.api.join(&s.join_code, "Carla").await.unwrap();
    let (anna_id, bruno_id) = (
        a.participant_id.clone().unwrap(),
        b.participant_id.clone().unwrap(),
    );
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    open_question(&mut bruno, q).await;

    // Anna signs a note and, before the server has even answered, writes an
    // anonymous one: it must not depend on her unconfirmed signed change.
    add_note(&mut anna, q, &anna_id, "n_anna", "Firmata da Anna").await;
    anonymous_note(
        &mut anna,
        q,
        &anna_id,
        "n_anon_a",
        "Il Comune non mantiene la parola",
    )
    .await;
    anonymous_note(
        &mut bruno,
        q,
        &bruno_id,
        "n_anon_b",
        "Servono spazi la sera",
    )
    .await;
    add_note(&mut bruno, q, &bruno_id, "n_bruno", "Firmata da Bruno").await;
    let all = ["n_anna", "n_anon_a", "n_anon_b", "n_bruno"];
    bruno
        .pump_until(WAIT, |c| {
            let d = tavolo_model::QuestionDoc::load(c.doc(q));
            all.iter().all(|n| d.notes.contains_key(*n))
        })
        .await
        .expect("every note is accepted");
    // Anna edits and recategorises her anonymous note, again unlinked.
    anna.change_unlinked(q, |d| {
        ops::edit_note_text(d, "n_anon_a", "Il Comune non ha mantenuto la parola")
    })
    .await
    .unwrap()
    .unwrap();
    // Bruno moves her anonymous note into a group (anyone may).
    bruno
        .change(q, |d| {
            ops::create_cluster_with(d, "c_1", "Fiducia", &["n_anon_a"]).unwrap();
        })
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"Il Comune non ha mantenuto la parola".to_string())
        })
        .await
        .expect("the edit is accepted");
    assert!(anna.refusals().is_empty(), "{:?}", anna.refusals());
    assert!(bruno.refusals().is_empty(), "{:?}", bruno.refusals());

    // Carla, with a stock client, takes everything she can reach.
    let url = Arc::new(Mutex::new(r.server.ws_url(&carla.ticket)));
    let (repo, _dialer) = samod_client(url).await;
    let session = find(&repo, &s.session_doc.url()).await;
    let (roster_url, question_urls) = session.with_document(|d| {
        let s = tavolo_model::SessionDoc::load(&*d).expect("the session reads");
        let qs: Vec<String> = s
            .phases
            .iter()
            .flat_map(|p| p.questions.iter().map(|q| q.doc_url.clone()))
            .collect();
        (s.roster_doc.clone(), qs)
    });
    let roster = find(&repo, &roster_url).await;
    let roster_text = roster.with_document(|d| format!("{:?}", d.get_changes(&[])));
    assert!(roster_text.len() > 10);
    let question = find(&repo, &q.url()).await;
    let expected = anna.doc(q).get_heads();
    tokio::time::timeout(WAIT, async {
        loop {
            if question
                .with_document(|d| expected.iter().all(|h| d.get_change_by_hash(h).is_some()))
            {
                break;
            }
            use futures_util::StreamExt;
            let _ = question.changes().next().await;
        }
    })
    .await
    .expect("the stock client gets the whole board");
    for other in &question_urls {
        // Every other board too (they are empty, but reachable).
        find(&repo, other).await;
    }

    let seen = question.with_document(|d| {
        let state = tavolo_model::QuestionDoc::load(&*d);
        (writers(d), state)
    });
    let (w, state) = seen;
    // No value: an anonymous note never had an author, not even in history.
    for id in ["n_anon_a", "n_anon_b"] {
        assert!(state.notes[id].anonymous);
        assert_eq!(state.notes[id].author, "", "{id} names its author");
        assert!(
            !w.author_written.contains(id),
            "{id}'s history holds an author"
        );
    }
    assert_eq!(state.notes["n_anna"].author, anna_id);
    // No actor id: whoever wrote an anonymous note wrote nothing else.
    for id in ["n_anon_a", "n_anon_b"] {
        let actors = &w.by_note[id];
        for (other, other_actors) in &w.by_note {
            if other != id {
                assert!(
                    actors.is_disjoint(other_actors),
                    "an actor id ties {id} to {other}"
                );
            }
        }
        // Nor anything in the other documents she can fetch.
        for url in question_urls.iter().chain([&roster_url]) {
            let h = find(&repo, url).await;
            let used: BTreeSet<String> = h.with_document(|d| {
                d.get_changes(&[])
                    .iter()
                    .map(|c| c.actor_id().to_hex_string())
                    .collect()
            });
            if url != &q.url() {
                assert!(actors.is_disjoint(&used), "{id}'s actor writes {url}");
            }
        }
    }
    // Nor its dependencies: the anonymous change was made on what the
    // server had confirmed, not on Anna's unsent signed note.
    let named_hash = question.with_document(|d| {
        d.get_changes(&[])
            .iter()
            .filter(|c| w.by_note["n_anna"].contains(&c.actor_id().to_hex_string()))
            .map(|c| c.hash())
            .collect::<Vec<_>>()
    });
    let anon_deps = question.with_document(|d| {
        let notes = read::map_at_path(&*d, &["notes"]).unwrap().to_string();
        d.get_changes(&[])
            .iter()
            .filter(|c| {
                c.decode().operations.iter().any(|op| {
                    let automerge::legacy::ObjectId::Id(o) = &op.obj else {
                        return false;
                    };
                    format!("{}@{}", o.counter(), o.actor()) == notes
                        && matches!(&op.key, automerge::legacy::Key::Map(k) if k == "n_anon_a")
                })
            })
            .flat_map(|c| c.deps().to_vec())
            .collect::<Vec<_>>()
    });
    assert!(!anon_deps.is_empty(), "the creating change is found");
    assert!(
        anon_deps.iter().all(|d| !named_hash.contains(d)),
        "the anonymous note depends on Anna's signed one"
    );

    // Only the server can say whose it is, and it says so to its writer
    // alone: Anna, back on a new connection, learns hers; Carla nothing.
    drop(anna);
    let mine_on = |c: &tavolo_tests::ClientView| -> Option<MyNotes> {
        let server = c.server_peer()?;
        c.ephemeral
            .iter()
            .filter(|e| e.sender_id == server && e.document_id == q)
            .find_map(|e| MyNotes::decode(&e.data).ok().flatten())
    };
    let mut anna = connect(&r.server, &a).await;
    open_question(&mut anna, q).await;
    anna.pump_until(WAIT, |c| mine_on(c).is_some())
        .await
        .expect("Anna hears which notes are hers");
    let hers = anna.lock_view(|c| mine_on(c)).unwrap();
    assert_eq!(
        hers.notes,
        BTreeSet::from(["n_anna".to_string(), "n_anon_a".to_string()])
    );
    // (Another participant than Carla: her stock client is still connected,
    // and a participant has one live connection at a time.)
    let dario = r.api.join(&s.join_code, "Dario").await.unwrap();
    let mut dario = connect(&r.server, &dario).await;
    open_question(&mut dario, q).await;
    dario
        .pump_until(WAIT, |c| mine_on(c).is_some())
        .await
        .expect("Dario hears his too");
    assert!(dario.lock_view(|c| mine_on(c)).unwrap().notes.is_empty());
    r.server.kill().await.unwrap();
}

/// Every map key any change of `doc` ever wrote.
fn keys_ever_written(doc: &Automerge) -> BTreeSet<String> {
    doc.get_changes(&[])
        .iter()
        .flat_map(|c| c.decode().operations)
        .filter_map(|op| match op.key {
            automerge::legacy::Key::Map(k) => Some(k.to_string()),
            automerge::legacy::Key::Seq(_) => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_replica_says_who_placed_a_dot_and_dots_survive_a_restart() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let carla = r.api.join(&s.join_code, "Carla").await.unwrap();
    let f = r.api.facilitator(&s).await.unwrap();
    let voters = [
        a.participant_id.clone().unwrap(),
        b.participant_id.clone().unwrap(),
    ];
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let mut fac = connect(&r.server, &f).await;
    let q = first_question(&anna, a.session_doc);
    for c in [&mut anna, &mut bruno, &mut fac] {
        open_question(c, q).await;
    }
    add_note(&mut anna, q, &voters[0], "n_a", "Una sala per i ragazzi").await;
    fac.change(q, |d| ops::set_voting(d, true, Some(3)).unwrap())
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| {
            let d = tavolo_model::QuestionDoc::load(c.doc(q));
            d.voting.open && d.notes.contains_key("n_a")
        })
        .await
        .unwrap();
    let totals = |b: &[u8]| tavolo_sync::Totals::decode(b).ok().flatten();
    let dots = |b: &[u8]| tavolo_sync::MyDots::decode(b).ok().flatten();
    anna.send_dot(q, "n_a", 2).await.unwrap();
    bruno.send_dot(q, "n_a", 1).await.unwrap();
    let three = BTreeMap::from([("n_a".to_string(), 3)]);
    fac.pump_until(WAIT, |v| {
        v.latest(q, totals).is_some_and(|t| t.totals == three)
    })
    .await
    .expect("the facilitator sees the live total");

    // Carla's stock client: the whole history of the board, before and
    // after the reveal, names no voter.
    let url = Arc::new(Mutex::new(r.server.ws_url(&carla.ticket)));
    let (repo, dialer) = samod_client(url).await;
    let question = find(&repo, &q.url()).await;
    let wait_for = |pred: Box<dyn Fn(&Automerge) -> bool + Send>| {
        let question = question.clone();
        async move {
            tokio::time::timeout(WAIT, async {
                loop {
                    if question.with_document(|d| pred(d)) {
                        break;
                    }
                    use futures_util::StreamExt;
                    let _ = question.changes().next().await;
                }
            })
            .await
        }
    };
    let heads = fac.doc(q).get_heads();
    wait_for(Box::new(move |d| {
        heads.iter().all(|h| d.get_change_by_hash(h).is_some())
    }))
    .await
    .expect("the stock client has the board");
    let before = question.with_document(|d| {
        (
            keys_ever_written(d),
            tavolo_model::QuestionDoc::load(&*d).totals,
        )
    });
    assert!(
        before.1.is_empty(),
        "totals before the reveal: {:?}",
        before.1
    );
    assert!(!before.0.contains("totals"));
    for v in &voters {
        assert!(!before.0.contains(v), "a voter's id is a key in the board");
    }
    fac.change(q, |d| ops::set_votes_revealed(d, true).unwrap())
        .await
        .unwrap();
    wait_for(Box::new(|d| {
        tavolo_model::QuestionDoc::load(d).totals.get("n_a") == Some(&3)
    }))
    .await
    .expect("the revealed total reaches the stock client");
    let after = question.with_document(|d| keys_ever_written(d));
    for v in &voters {
        assert!(!after.contains(v), "a voter's id is a key in the board");
    }
    drop((question, repo, dialer));

    // A restart keeps the dots: each voter hears theirs, the facilitator the total.
    // (SIGKILL: a dot is told only once it is on disk.)
    drop((anna, bruno, fac));
    let crate::helpers::Running { server, _dir, .. } = r;
    server.kill().await.unwrap();
    let server = tavolo_tests::ServerProcess::start(_dir.path())
        .await
        .expect("restarts");
    let mut anna = connect(&server, &a).await;
    open_question(&mut anna, q).await;
    anna.pump_until(WAIT, |v| v.latest(q, dots).is_some())
        .await
        .unwrap();
    assert_eq!(
        anna.lock_view(|v| v.latest(q, dots)).unwrap().dots,
        BTreeMap::from([("n_a".to_string(), 2)])
    );
    let mut fac = connect(&server, &f).await;
    open_question(&mut fac, q).await;
    fac.pump_until(WAIT, |v| {
        v.latest(q, totals).is_some_and(|t| t.totals == three)
    })
    .await
    .expect("the total survives a restart");
    server.kill().await.unwrap();
}

/// Whether `needle` is anywhere in the server's database files (the file and
/// its write-ahead log).
fn on_disk(dir: &std::path::Path, needle: &str) -> bool {
    ["tavolo.sqlite3", "tavolo.sqlite3-wal"].iter().any(|f| {
        std::fs::read(dir.join(f))
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_join_page_learns_who_holds_the_data_before_anything_is_sent() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let (status, body) = r
        .api
        .get(&format!("/api/join/{}", s.join_code))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["privacy"]["controller"]
            .as_str()
            .is_some_and(|c| c.contains("Opificio")),
        "{body}"
    );
    assert_eq!(body["privacy"]["contact"], "Chi facilita la sessione");
    assert_eq!(body["joining_open"], true);
    // Lower case and spaces are the same code; an unknown one is a 404.
    let sloppy = format!(" {} ", s.join_code.to_lowercase());
    let (status, _) = r
        .api
        .get(&format!("/api/join/{}", sloppy.trim()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, body) = r.api.get("/api/join/ZZZZZZ").await.unwrap();
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "{body}");
    r.server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_facilitator_deletes_a_session_and_nothing_of_it_is_left() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    // A name the database stores as it is (note texts are inside compressed
    // automerge chunks, so a byte search would prove nothing about them).
    let name = "Zebedeo-Marcatore-7f3a9c";
    let a = r.api.join(&s.join_code, name).await.unwrap();
    let b = r.api.join(&s.join_code, "Bruno").await.unwrap();
    let other = r.api.create_session().await.unwrap();
    let marker = "Testo-da-cancellare-7f3a9c";
    let kept = "Testo-di-un-altro-tavolo-2b8d1e";
    let anna_id = a.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    add_note(&mut anna, q, &anna_id, "n_segreta", marker).await;
    let o = r.api.join(&other.join_code, "Ottavia").await.unwrap();
    let mut ottavia = connect(&r.server, &o).await;
    let oq = first_question(&ottavia, o.session_doc);
    open_question(&mut ottavia, oq).await;
    add_note(
        &mut ottavia,
        oq,
        o.participant_id.as_deref().unwrap(),
        "n_o",
        kept,
    )
    .await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    open_question(&mut fac, q).await;
    fac.pump_until(WAIT, |v| note_texts(v.doc(q)).contains(&marker.to_string()))
        .await
        .unwrap();
    ottavia
        .pump_until(WAIT, |v| note_texts(v.doc(oq)).contains(&kept.to_string()))
        .await
        .unwrap();
    let dir = r._dir.path().to_path_buf();
    assert!(on_disk(&dir, name), "the check can see a name on disk");

    let path = format!("/api/sessions/{}", s.session_id);
    // Only the facilitator: not a participant's ticket, not another key.
    for bearer in [a.ticket.clone(), other.facilitator_key.clone()] {
        let denied = r
            .api
            .delete_authorized(&path, Some(&format!("Bearer {bearer}")))
            .await
            .unwrap();
        assert!(matches!(denied.status, 401 | 403), "{}", denied.status);
    }
    let none = r.api.delete_authorized(&path, None).await.unwrap();
    assert_eq!(none.status, 401);
    let done = r
        .api
        .delete_authorized(&path, Some(&format!("Bearer {}", s.facilitator_key)))
        .await
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);

    // Every connection is told and closed; nothing answers any more.
    let (code, reason) = anna.closed(WAIT).await.unwrap();
    assert_eq!(
        (code, reason.as_str()),
        (4017, "the facilitator deleted this session")
    );
    let (code, _) = fac.closed(WAIT).await.unwrap();
    assert_eq!(code, 4017);
    let grant = r
        .api
        .get_authorized("/api/grant", Some(&format!("Bearer {}", b.ticket)))
        .await
        .unwrap();
    assert_eq!(grant.status, 401);
    let (status, _) = r
        .api
        .get(&format!("/api/join/{}", s.join_code))
        .await
        .unwrap();
    assert_eq!(status, 404);
    let report = r
        .api
        .get_authorized(
            &format!("{path}/report?format=md"),
            Some(&format!("Bearer {}", s.facilitator_key)),
        )
        .await
        .unwrap();
    assert!(
        matches!(report.status, 401 | 403 | 404),
        "{}",
        report.status
    );
    assert!(
        SyncClient::connect(&r.server.ws_url(&a.ticket))
            .await
            .is_err()
            || anna_cannot_sync(&r, &a).await
    );
    // Not a byte of it is left in the files; the other session is intact.
    assert!(
        !on_disk(&dir, name),
        "a deleted participant's name is still on disk"
    );
    assert!(
        !on_disk(&dir, &s.join_code),
        "the deleted session's code is still on disk"
    );
    assert!(
        on_disk(&dir, &other.join_code),
        "the other session is still there"
    );
    // And after a restart nothing comes back.
    let crate::helpers::Running { server, _dir, .. } = r;
    server.kill().await.unwrap();
    let server = tavolo_tests::ServerProcess::start(_dir.path())
        .await
        .unwrap();
    let (status, _) = server
        .api()
        .get(&format!("/api/join/{}", s.join_code))
        .await
        .unwrap();
    assert_eq!(status, 404);
    let mut again = connect(&server, &o).await;
    open_question(&mut again, oq).await;
    assert!(note_texts(&again.doc(oq)).contains(&kept.to_string()));
    server.kill().await.unwrap();
}

/// A deleted session's ticket opens no socket (refused at the upgrade).
async fn anna_cannot_sync(r: &crate::helpers::Running, a: &tavolo_tests::Ticket) -> bool {
    SyncClient::connect(&r.server.ws_url(&a.ticket))
        .await
        .is_err()
}

/// Every string value any change of `doc` ever held (a text's characters
/// are consecutive within a change).
fn strings_ever(doc: &Automerge) -> String {
    let mut out = String::new();
    for c in doc.get_changes(&[]) {
        for op in c.decode().operations {
            if let automerge::legacy::OpType::Put(automerge::ScalarValue::Str(s)) = &op.action {
                out.push_str(s);
            }
        }
        out.push('\n');
    }
    out
}

/// Waits for the server's `board_rewritten` (the test client then drops
/// its copy, as Tavolo's client does) and for the rewritten board.
async fn reload_after_rewrite(c: &mut SyncClient, q: DocumentId) {
    c.pump_until(WAIT, |v| {
        v.rewritten.contains(&q)
            && tavolo_model::read::get_map(v.doc(q), &automerge::ROOT, "purged").is_some()
    })
    .await
    .expect("told that the board was rewritten, and the rewritten board arrives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_or_hidden_note_is_purged_from_every_copy_history_and_disk() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let carlo_t = r.api.join(&s.join_code, "Carlo").await.unwrap();
    let dario = r.api.join(&s.join_code, "Dario").await.unwrap();
    let f = r.api.facilitator(&s).await.unwrap();
    let anna_id = a.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let mut carlo = connect(&r.server, &carlo_t).await;
    let mut fac = connect(&r.server, &f).await;
    let q = first_question(&anna, a.session_doc);
    for c in [&mut anna, &mut bruno, &mut carlo, &mut fac] {
        open_question(c, q).await;
    }
    let removed = "Testo-da-purgare-4c1e";
    let hidden = "Mario-Rossi-via-Roma-3";
    add_note(&mut anna, q, &anna_id, "n_rm", "da rimuovere").await;
    add_note(&mut anna, q, &anna_id, "n_hide", "da nascondere").await;
    anonymous_note(&mut anna, q, &anna_id, "n_anon", "Anonima di Anna").await;
    // Each text in a change of its own, small enough to be stored as is:
    // the byte search below can see it.
    anna.change(q, |d| ops::edit_note_text(d, "n_rm", removed).unwrap())
        .await
        .unwrap();
    anna.change(q, |d| ops::edit_note_text(d, "n_hide", hidden).unwrap())
        .await
        .unwrap();
    carlo
        .pump_until(WAIT, |v| {
            let t = note_texts(v.doc(q));
            t.contains(&removed.to_string()) && t.contains(&hidden.to_string())
        })
        .await
        .unwrap();
    fac.pump_until(WAIT, |v| note_texts(v.doc(q)).contains(&hidden.to_string()))
        .await
        .unwrap();
    // Carlo's phone goes offline holding both texts.
    let offline = carlo.doc(q);
    drop(carlo);
    let dir = r._dir.path().to_path_buf();
    assert!(on_disk(&dir, removed), "the check can see the text on disk");

    // The facilitator removes one and hides the other.
    fac.change(q, |d| {
        ops::remove_note(d, "n_rm", Some("fuori tema"), 1).unwrap();
        ops::set_note_hidden(d, "n_hide", true, Some("dati personali"), 1).unwrap();
    })
    .await
    .unwrap();
    for c in [&mut fac, &mut bruno, &mut anna] {
        reload_after_rewrite(c, q).await;
    }
    for c in [&fac, &bruno, &anna] {
        let mut doc = c.doc(q);
        let seen = strings_ever(doc.document());
        assert!(!seen.contains(removed), "a removed note's text in a copy");
        assert!(!seen.contains(hidden), "a hidden note's text in a copy");
        let board = tavolo_model::QuestionDoc::load(&doc);
        assert!(!board.notes.contains_key("n_rm"));
        assert!(board.notes["n_hide"].hidden && board.notes["n_hide"].text.is_empty());
        assert_eq!(board.notes["n_anon"].text, "Anonima di Anna");
    }
    // Its writer and the facilitator are told the hidden text privately;
    // nobody else is.
    let hidden_of = |b: &[u8]| tavolo_sync::HiddenTexts::decode(b).ok().flatten();
    for c in [&mut anna, &mut fac] {
        c.pump_until(WAIT, |v| {
            v.latest(q, hidden_of)
                .is_some_and(|h| h.notes.get("n_hide").map(String::as_str) == Some(hidden))
        })
        .await
        .expect("the writer and the facilitator still see the hidden text");
    }
    assert!(bruno.lock_view(|v| v.latest(q, hidden_of)).is_none());
    assert!(!on_disk(&dir, removed), "the removed text is still on disk");
    // (A hidden note's text is kept by the server, in its own table, so
    // that the facilitator can show the note again; see below.)

    // The rewrite keeps who may do what: Anna edits her anonymous note, a
    // removed id never comes back.
    anna.change_unlinked(q, |d| ops::edit_note_text(d, "n_anon", "Anonima, corretta"))
        .await
        .unwrap()
        .unwrap();
    bruno
        .pump_until(WAIT, |v| {
            note_texts(v.doc(q)).contains(&"Anonima, corretta".to_string())
        })
        .await
        .expect("the writer of an anonymous note still edits it");
    let before = anna.refusals().len();
    add_note(&mut anna, q, &anna_id, "n_rm", "di nuovo").await;
    anna.pump_until(WAIT, |v| v.refusals.len() > before)
        .await
        .expect("a purged id is refused");

    // Carlo comes back with his old copy: refused, reloaded, and the text
    // does not come back anywhere.
    let mut carlo = SyncClient::connect_with(&r.server.ws_url(&carlo_t.ticket), vec![(q, offline)])
        .await
        .unwrap();
    reload_after_rewrite(&mut carlo, q).await;
    assert!(!strings_ever(carlo.doc(q).document()).contains(removed));
    // A stock client sees the whole history: nothing either.
    let url = Arc::new(Mutex::new(r.server.ws_url(&dario.ticket)));
    let (repo, dialer) = samod_client(url).await;
    let question = find(&repo, &q.url()).await;
    let heads = bruno.doc(q).get_heads();
    tokio::time::timeout(WAIT, async {
        loop {
            if question.with_document(|d| heads.iter().all(|h| d.get_change_by_hash(h).is_some())) {
                break;
            }
            use futures_util::StreamExt;
            let _ = question.changes().next().await;
        }
    })
    .await
    .expect("the stock client has the board");
    let seen = question.with_document(|d| strings_ever(d));
    assert!(!seen.contains(removed) && !seen.contains(hidden), "{seen}");
    drop((question, repo, dialer));

    // Shown again: the server puts the text back.
    fac.change(q, |d| {
        ops::set_note_hidden(d, "n_hide", false, None, 2).unwrap();
    })
    .await
    .unwrap();
    bruno
        .pump_until(WAIT, |v| note_texts(v.doc(q)).contains(&hidden.to_string()))
        .await
        .expect("a note shown again has its text back");

    // A restart changes nothing: the purge is stored.
    drop((anna, bruno, carlo, fac));
    let crate::helpers::Running { server, _dir, .. } = r;
    server.kill().await.unwrap();
    let server = tavolo_tests::ServerProcess::start(_dir.path())
        .await
        .unwrap();
    let mut again = connect(&server, &dario).await;
    open_question(&mut again, q).await;
    let mut doc = again.doc(q);
    assert!(!strings_ever(doc.document()).contains(removed));
    assert!(
        !tavolo_model::QuestionDoc::load(&doc)
            .notes
            .contains_key("n_rm")
    );
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dot_request_reaches_nobody_but_the_server_and_only_participants_place_dots() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let v = r.api.projector(&s).await.unwrap();
    let anna_id = a.participant_id.clone().unwrap();
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let mut fac = connect(&r.server, &f).await;
    let mut screen = connect(&r.server, &v).await;
    let q = first_question(&anna, a.session_doc);
    for c in [&mut anna, &mut bruno, &mut fac, &mut screen] {
        open_question(c, q).await;
    }
    add_note(&mut anna, q, &anna_id, "n_a", "Una nota").await;
    fac.change(q, |d| ops::set_voting(d, true, Some(3)).unwrap())
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| {
            tavolo_model::QuestionDoc::load(c.doc(q)).voting.open
        })
        .await
        .unwrap();
    let dots = |b: &[u8]| tavolo_sync::MyDots::decode(b).ok().flatten();
    // Only participants place dots: not the facilitator, not the projector.
    for c in [&mut fac, &mut screen] {
        let n = c.lock_view(|v| v.count_of(q, dots));
        c.send_dot(q, "n_a", 1).await.unwrap();
        c.pump_until(WAIT, |v| v.count_of(q, dots) > n)
            .await
            .expect("the server answers");
        let got = c.lock_view(|v| v.latest(q, dots)).unwrap();
        assert_eq!(got.refused.map(|r| r.0).as_deref(), Some("not_yours"));
    }
    // Malformed and absurd requests are answered, not taken.
    let no_count = {
        let mut buf = Vec::new();
        let mut e = minicbor::Encoder::new(&mut buf);
        e.map(2).unwrap();
        e.str("type").unwrap().str("tavolo/dot").unwrap();
        e.str("target").unwrap().str("n_a").unwrap();
        buf
    };
    for data in [
        no_count,
        tavolo_sync::DotRequest {
            target: "n_a".into(),
            count: u64::MAX,
        }
        .encode(),
    ] {
        let n = anna.lock_view(|v| v.count_of(q, dots));
        anna.send_to_server(q, data).await.unwrap();
        anna.pump_until(WAIT, |v| v.count_of(q, dots) > n)
            .await
            .expect("the server answers");
        let got = anna.lock_view(|v| v.latest(q, dots)).unwrap();
        assert_eq!(got.refused.map(|r| r.0).as_deref(), Some("malformed"));
        assert!(got.dots.is_empty());
    }
    // A real one lands, and no other screen ever hears a request: it would
    // say who voted for what.
    anna.send_dot(q, "n_a", 2).await.unwrap();
    let totals = |b: &[u8]| tavolo_sync::Totals::decode(b).ok().flatten();
    fac.pump_until(WAIT, |v| {
        v.latest(q, totals)
            .is_some_and(|t| t.totals.get("n_a") == Some(&2))
    })
    .await
    .unwrap();
    for c in [&bruno, &fac, &screen] {
        let heard = c.lock_view(|v| {
            v.ephemeral
                .iter()
                .filter(|e| {
                    tavolo_sync::presence::payload_type(&e.data).as_deref() == Some("tavolo/dot")
                })
                .count()
        });
        assert_eq!(heard, 0, "a dot request was relayed to another screen");
    }
    r.server.kill().await.unwrap();
}
