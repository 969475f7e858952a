//! Sync through the real server: real WebSockets, real tickets, real SQLite.

use crate::helpers::*;
use automerge::ROOT;
use automerge::transaction::Transactable;
use tavolo_model::read;
use tavolo_sync::DocumentId;
use tavolo_tests::{SyncClient, note_texts};

#[tokio::test]
async fn two_clients_in_the_same_session_see_each_others_notes() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    open_question(&mut bruno, q).await;

    add_note(
        &mut anna,
        q,
        a.participant_id.as_deref().unwrap(),
        "n_anna",
        "La biblioteca civica",
    )
    .await;
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)) == ["La biblioteca civica"])
        .await
        .unwrap();
    add_note(
        &mut bruno,
        q,
        b.participant_id.as_deref().unwrap(),
        "n_bruno",
        "Il mercato del venerdì",
    )
    .await;
    anna.pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 2)
        .await
        .unwrap();
    assert!(note_texts(&anna.doc(q)).contains(&"Il mercato del venerdì".to_string()));
    assert!(anna.refusals().is_empty() && bruno.refusals().is_empty());
}

#[tokio::test]
async fn joined_participants_appear_in_the_roster() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let session = tavolo_model::SessionDoc::load(&anna.doc(a.session_doc)).unwrap();
    let roster_id = DocumentId::from_url(&session.roster_doc).unwrap();
    anna.open(roster_id).await.unwrap();
    anna.pump_until(WAIT, |c| {
        tavolo_model::RosterDoc::load(c.doc(roster_id))
            .participants
            .len()
            == 2
    })
    .await
    .unwrap();
    let roster = tavolo_model::RosterDoc::load(&anna.doc(roster_id));
    let bruno = &roster.participants[b.participant_id.as_deref().unwrap()];
    assert_eq!(
        (bruno.name.as_str(), bruno.sector.as_str()),
        ("Bruno", "community")
    );
}

#[tokio::test]
async fn a_participants_change_to_the_session_document_never_reaches_another_peer() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let sd = a.session_doc;
    anna.change(sd, |d| d.put(ROOT, "title", "Presa da Anna").unwrap())
        .await
        .unwrap();
    anna.pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(anna.refusals()[0].code, "read_only_document");

    // The facilitator's edit is the marker on the session document.
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    fac.change(sd, |d| {
        d.put(ROOT, "current_phase", "materia-prima").unwrap()
    })
    .await
    .unwrap();
    bruno
        .pump_until(WAIT, |c| {
            read::get_str(c.doc(sd), &ROOT, "current_phase").as_deref() == Some("materia-prima")
        })
        .await
        .unwrap();
    assert_eq!(
        read::get_str(&bruno.doc(sd), &ROOT, "title").as_deref(),
        Some("Prova")
    );

    // Still not there after a restart: it never reached storage.
    let dir = r.server.data_dir.clone();
    r.server.kill().await.unwrap();
    let server = tavolo_tests::ServerProcess::start(&dir).await.unwrap();
    let mut again = connect(&server, &b).await;
    again
        .pump_until(WAIT, |c| {
            read::get_str(c.doc(sd), &ROOT, "current_phase").as_deref() == Some("materia-prima")
        })
        .await
        .unwrap();
    assert_eq!(
        read::get_str(&again.doc(sd), &ROOT, "title").as_deref(),
        Some("Prova")
    );
}

#[tokio::test]
async fn a_note_with_another_participants_author_is_refused() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    open_question(&mut bruno, q).await;
    let bruno_id = b.participant_id.clone().unwrap();
    add_note(
        &mut anna,
        q,
        &bruno_id,
        "n_forged",
        "scritta da Anna, firmata Bruno",
    )
    .await;
    anna.pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(anna.refusals()[0].code, "not_yours");
    assert!(
        anna.refusals()[0].message.contains("another author"),
        "{:?}",
        anna.refusals()[0]
    );

    // Bruno writes a marker after the refusal; a fresh connection (the
    // server's state) sees the marker and not the forged note.
    add_note(&mut bruno, q, &bruno_id, "n_marker", "marker").await;
    let mut observer = observer(&r, &s).await;
    observer
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"marker".to_string())
        })
        .await
        .unwrap();
    assert_eq!(note_texts(&observer.doc(q)), ["marker"]);
    assert!(
        !note_texts(&bruno.doc(q))
            .iter()
            .any(|t| t.contains("firmata"))
    );

    // After dropping her copy (what Tavolo's client does), Anna converges
    // to the server's state and can write again.
    anna.reset(q).await.unwrap();
    anna.pump_until(WAIT, |c| note_texts(c.doc(q)) == ["marker"])
        .await
        .unwrap();
    let anna_id = a.participant_id.clone().unwrap();
    add_note(&mut anna, q, &anna_id, "n_anna", "onesta").await;
    observer
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 2)
        .await
        .unwrap();
}

/// A fresh reader of the server's state: another participant (a second
/// connection of Bruno's would close his first).
async fn observer(r: &Running, s: &tavolo_tests::Session) -> SyncClient {
    let b = r.api.join(&s.join_code, "Osservatrice").await.unwrap();
    let mut c = connect(&r.server, &b).await;
    let q = first_question(&c, b.session_doc);
    open_question(&mut c, q).await;
    c
}

#[tokio::test]
async fn unknown_and_other_session_documents_are_unavailable() {
    let r = spawn_server().await;
    let (_s, a, _b) = session_and_two(&r.api).await;
    let other = r.api.create_session().await.unwrap();
    let mut anna = connect(&r.server, &a).await;

    let unknown = DocumentId::random();
    anna.open(unknown).await.unwrap();
    anna.pump_until(WAIT, |c| c.unavailable.contains(&unknown))
        .await
        .unwrap();

    anna.open(other.session_doc).await.unwrap();
    anna.pump_until(WAIT, |c| c.unavailable.contains(&other.session_doc))
        .await
        .unwrap();
    assert!(read::get_str(&anna.doc(other.session_doc), &ROOT, "title").is_none());
}

#[tokio::test]
async fn a_missing_or_wrong_ticket_gets_401_and_no_upgrade() {
    let r = spawn_server().await;
    for url in [
        r.server.ws_url("not-a-ticket"),
        r.server.ws_url(""),
        r.server.ws_url("").replace("?ticket=", ""),
    ] {
        match tokio_tungstenite::connect_async(&url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), 401, "{url}");
                let body: serde_json::Value =
                    serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
                assert!(body["error"].as_str().unwrap().contains("ticket"));
            }
            Err(e) => panic!("{url}: unexpected error {e}"),
            Ok(_) => panic!("{url}: upgraded without a valid ticket"),
        }
    }
}
