//! The browser client compiled to wasm and run by wasm-bindgen's test runner
//! (in node), against the real room through the in-memory server.
#![cfg(target_arch = "wasm32")]

use tavolo_client_wasm::TavoloClient;
use tavolo_model::ParticipantId;
use tavolo_model::policy::Role;
use tavolo_sync::loopback::Loopback;
use tavolo_sync::{DocumentId, PeerId};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn server() -> (Loopback, DocumentId) {
    Loopback::question(vec![])
}

/// A browser client with the identity the server knows it by.
struct Page {
    client: TavoloClient,
    peer: PeerId,
}

fn page(server: &mut Loopback, participant: &str) -> Page {
    let client = TavoloClient::new(Some(participant.to_string()), None);
    let (mut p, join) = connect(server, client, participant);
    deliver(server, &mut [&mut p], vec![join]);
    p
}

/// Opens `client`'s socket as `participant`: the server admits its peer;
/// returns the page and its `join` frame, not yet delivered.
fn connect(server: &mut Loopback, mut client: TavoloClient, participant: &str) -> (Page, Vec<u8>) {
    let join = client.connected();
    let peer = match tavolo_sync::Message::decode(&join).unwrap() {
        tavolo_sync::Message::Join { sender_id, .. } => sender_id,
        other => panic!("{other:?}"),
    };
    server.admit(
        peer.clone(),
        Role::Participant(ParticipantId(participant.into())),
    );
    (Page { client, peer }, join)
}

fn deliver(server: &mut Loopback, pages: &mut [&mut Page], first: Vec<Vec<u8>>) {
    let mut queue: Vec<(usize, Vec<u8>)> =
        first.into_iter().map(|f| (pages.len() - 1, f)).collect();
    for _ in 0..200 {
        for (i, p) in pages.iter_mut().enumerate() {
            queue.extend(
                p.client
                    .take_outgoing()
                    .into_iter()
                    .map(|f| (i, f.to_vec())),
            );
        }
        if queue.is_empty() {
            return;
        }
        for (i, frame) in std::mem::take(&mut queue) {
            let from = pages[i].peer.clone();
            for (to, reply) in server.deliver(&from, &frame) {
                if let Some(p) = pages.iter_mut().find(|p| p.peer == to) {
                    p.client.receive(&reply).unwrap();
                }
            }
        }
    }
    panic!("never quiet");
}

fn error_message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    js_sys::Error::from(v).message().into()
}

#[wasm_bindgen_test]
fn a_note_added_on_one_page_appears_on_the_other() {
    let (mut server, id) = server();
    let mut anna = page(&mut server, "p_anna");
    let mut bruno = page(&mut server, "p_bruno");
    let url = id.url();
    anna.client.open(&url).unwrap();
    bruno.client.open(&url).unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    let note = anna
        .client
        .add_note(&url, "Orti condivisi", None, true, None, None)
        .unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    let view = bruno.client.question(&url).unwrap();
    let notes = js_sys::Reflect::get(&view, &"notes".into()).unwrap();
    let first = js_sys::Array::from(&notes).get(0);
    let get = |k: &str| js_sys::Reflect::get(&first, &k.into()).unwrap();
    assert_eq!(get("id").as_string().unwrap(), note);
    assert_eq!(get("text").as_string().unwrap(), "Orti condivisi");
    assert_eq!(get("mine").as_bool(), Some(false));
    assert_eq!(get("anonymous").as_bool(), Some(true));
    assert!(get("organization").is_null());
}

#[wasm_bindgen_test]
fn a_contributions_timing_and_condition_reach_the_other_page() {
    let (mut server, id) = server();
    let mut anna = page(&mut server, "p_anna");
    let mut bruno = page(&mut server, "p_bruno");
    let url = id.url();
    anna.client.open(&url).unwrap();
    bruno.client.open(&url).unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    anna.client
        .add_note(
            &url,
            "Un furgone",
            None,
            false,
            Some("now".into()),
            Some("se serve".into()),
        )
        .unwrap();
    assert!(
        error_message(
            anna.client
                .add_note(&url, "x", None, false, Some("domani".into()), None)
                .unwrap_err()
        )
        .contains("when"),
        "an unknown timing is refused on the page"
    );
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    let view = bruno.client.question(&url).unwrap();
    let notes = js_sys::Array::from(&js_sys::Reflect::get(&view, &"notes".into()).unwrap());
    assert_eq!(notes.length(), 1, "the refused note was kept");
    let first = notes.get(0);
    let get = |k: &str| js_sys::Reflect::get(&first, &k.into()).unwrap();
    assert_eq!(get("when").as_string().as_deref(), Some("now"));
    assert_eq!(get("condition").as_string().as_deref(), Some("se serve"));
}

#[wasm_bindgen_test]
fn invalid_edits_throw_errors_with_a_message() {
    let (mut server, id) = server();
    let mut anna = page(&mut server, "p_anna");
    let url = id.url();
    anna.client.open(&url).unwrap();
    deliver(&mut server, &mut [&mut anna], vec![]);
    assert_eq!(
        error_message(
            anna.client
                .add_note(&url, "   ", None, false, None, None)
                .unwrap_err()
        ),
        "a note needs some text"
    );
    assert!(
        error_message(
            anna.client
                .add_note(&url, "x", Some("nope".into()), false, None, None)
                .unwrap_err()
        )
        .contains("unknown category")
    );
    assert!(
        error_message(anna.client.open("automerge:nope").unwrap_err())
            .contains("invalid document URL")
    );
    assert_eq!(
        error_message(anna.client.edit_note(&url, "n_missing", "x").unwrap_err()),
        "no such note"
    );
    assert!(
        error_message(anna.client.receive(&[0xff, 0x00]).unwrap_err())
            .contains("not a protocol message")
    );
}

#[wasm_bindgen_test]
fn a_participant_cannot_drive_the_session_and_an_empty_timer_is_idle() {
    let (mut server, id) = server();
    let mut anna = page(&mut server, "p_anna");
    let url = id.url();
    anna.client.open(&url).unwrap();
    deliver(&mut server, &mut [&mut anna], vec![]);
    for err in [
        anna.client
            .set_current_phase(&url, "contributi")
            .unwrap_err(),
        anna.client.start_timer(&url, 60_000.0, 0.0).unwrap_err(),
        anna.client
            .set_spotlight(&url, &url, "n_1", "note", 0.0)
            .unwrap_err(),
        anna.client
            .set_organizations_public(&url, true)
            .unwrap_err(),
    ] {
        assert_eq!(
            error_message(err),
            "only the facilitator can change the session"
        );
    }
    let timer = anna.client.timer(&url, 1_000.0).unwrap();
    let status = js_sys::Reflect::get(&timer, &"status".into()).unwrap();
    assert_eq!(status.as_string().as_deref(), Some("idle"));
    assert!(anna.client.presence().unwrap().is_undefined());
}

fn facilitator_page(server: &mut Loopback) -> Page {
    let mut client = TavoloClient::new(None, None);
    let join = client.connected();
    let peer = match tavolo_sync::Message::decode(&join).unwrap() {
        tavolo_sync::Message::Join { sender_id, .. } => sender_id,
        other => panic!("{other:?}"),
    };
    server.admit(peer.clone(), Role::Facilitator);
    let mut p = Page { client, peer };
    deliver(server, &mut [&mut p], vec![join]);
    p
}

fn field(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(v.clone(), |v, k| {
        js_sys::Reflect::get(&v, &(*k).into()).unwrap()
    })
}

#[wasm_bindgen_test]
fn clusters_and_dots_show_on_every_page_with_totals_hidden_until_revealed() {
    let (mut server, id) = server();
    let mut anna = page(&mut server, "p_anna");
    let mut bruno = page(&mut server, "p_bruno");
    let mut fac = facilitator_page(&mut server);
    let url = id.url();
    for p in [&mut anna, &mut bruno, &mut fac] {
        p.client.open(&url).unwrap();
    }
    deliver(&mut server, &mut [&mut anna, &mut bruno, &mut fac], vec![]);
    let note = anna
        .client
        .add_note(&url, "La piazza", None, false, None, None)
        .unwrap();
    let cluster = anna
        .client
        .create_cluster_with(&url, "Luoghi", vec![note.clone()])
        .unwrap();
    fac.client.set_voting(&url, true, Some(2.0)).unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno, &mut fac], vec![]);

    let view = bruno.client.question(&url).unwrap();
    assert_eq!(
        field(&view, &["clusters", "0", "title"])
            .as_string()
            .as_deref(),
        Some("Luoghi")
    );
    assert_eq!(
        field(&view, &["clusters", "0", "notes", "0"]).as_string(),
        Some(note.clone())
    );
    assert!(field(&view, &["voting", "open"]).as_bool().unwrap());

    anna.client.add_dot(&url, &cluster).unwrap();
    anna.client.add_dot(&url, &cluster).unwrap();
    assert_eq!(
        error_message(anna.client.add_dot(&url, &cluster).unwrap_err()),
        "no dots left: the budget is 2"
    );
    deliver(&mut server, &mut [&mut anna, &mut bruno, &mut fac], vec![]);
    let mine = anna.client.question(&url).unwrap();
    assert_eq!(field(&mine, &["voting", "remaining"]).as_f64(), Some(0.0));
    assert_eq!(
        field(&mine, &["clusters", "0", "myDots"]).as_f64(),
        Some(2.0)
    );
    // Totals: the facilitator sees them, participants only once revealed.
    let hidden = bruno.client.question(&url).unwrap();
    assert!(field(&hidden, &["clusters", "0", "votes"]).is_null());
    let fac_view = fac.client.question(&url).unwrap();
    assert_eq!(
        field(&fac_view, &["clusters", "0", "votes"]).as_f64(),
        Some(2.0)
    );
    fac.client.reveal_votes(&url, true).unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno, &mut fac], vec![]);
    let shown = bruno.client.question(&url).unwrap();
    assert_eq!(
        field(&shown, &["ranking", "0", "id"]).as_string(),
        Some(cluster)
    );
    assert_eq!(
        field(&shown, &["ranking", "0", "votes"]).as_f64(),
        Some(2.0)
    );
}

fn texts(p: &Page, url: &str) -> Vec<String> {
    let view = p.client.question(url).unwrap();
    let notes = field(&view, &["notes"]);
    js_sys::Array::from(&notes)
        .iter()
        .map(|n| field(&n, &["text"]).as_string().unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
fn a_note_overtaken_by_a_purge_is_made_again_on_the_rewritten_board() {
    let (mut server, id) = server();
    let mut anna = page(&mut server, "p_anna");
    let mut bruno = page(&mut server, "p_bruno");
    let url = id.url();
    for p in [&mut anna, &mut bruno] {
        p.client.open(&url).unwrap();
    }
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    bruno
        .client
        .add_note(&url, "Da togliere", None, false, None, None)
        .unwrap();
    let mine = anna
        .client
        .add_note(&url, "Anonima di Anna", None, true, None, None)
        .unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    // Anna writes just as the server rewrites the board: her frames reach
    // it after the rewrite, from a copy from before, and do not land.
    anna.client
        .add_note(
            &url,
            "Scritta durante la riscrittura",
            None,
            false,
            None,
            None,
        )
        .unwrap();
    let held: Vec<Vec<u8>> = anna
        .client
        .take_outgoing()
        .iter()
        .map(|f| f.to_vec())
        .collect();
    let gone = texts(&bruno, &url);
    assert!(gone.contains(&"Da togliere".to_string()));
    let bruno_note = {
        let view = bruno.client.question(&url).unwrap();
        let notes = js_sys::Array::from(&field(&view, &["notes"]));
        notes
            .iter()
            .find(|n| field(n, &["text"]).as_string().as_deref() == Some("Da togliere"))
            .map(|n| field(&n, &["id"]).as_string().unwrap())
            .unwrap()
    };
    bruno.client.delete_note(&url, &bruno_note).unwrap();
    deliver(&mut server, &mut [&mut bruno], vec![]);
    let frames = server.purge();
    assert!(!frames.is_empty(), "the deletion calls for a purge");
    for (to, frame) in frames {
        for p in [&mut anna, &mut bruno] {
            if p.peer == to {
                p.client.receive(&frame).unwrap();
            }
        }
    }
    deliver(&mut server, &mut [&mut bruno, &mut anna], held);
    // Anna's note made again on the rewritten board, reaching Bruno; the
    // removed one nowhere; nobody is told of a loss.
    let seen = texts(&bruno, &url);
    assert!(
        seen.contains(&"Scritta durante la riscrittura".to_string()),
        "{seen:?}"
    );
    assert!(!seen.contains(&"Da togliere".to_string()));
    assert!(texts(&anna, &url).contains(&"Anonima di Anna".to_string()));
    let refusals = anna.client.take_refusals().unwrap();
    assert_eq!(
        js_sys::Array::from(&refusals).length(),
        0,
        "a loss was reported"
    );
    // Her anonymous note is still hers on the rewritten board.
    anna.client
        .edit_note(&url, &mine, "Anonima, corretta")
        .unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    assert!(texts(&bruno, &url).contains(&"Anonima, corretta".to_string()));
}

/// A page closed with a note never sent: what `keepLocal` gave is opened by
/// a new page with `restoreLocal`, which shows the note, counts it as
/// unsent, and sends it once connected.
#[wasm_bindgen_test]
fn a_copy_kept_on_the_device_reopens_and_sends_what_was_unsent() {
    let (mut server, id) = server();
    let url = id.url();
    let mut anna = page(&mut server, "p_anna");
    let mut bruno = page(&mut server, "p_bruno");
    anna.client.open(&url).unwrap();
    bruno.client.open(&url).unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    anna.client
        .add_note(&url, "Sentita", None, false, None, None)
        .unwrap();
    deliver(&mut server, &mut [&mut anna, &mut bruno], vec![]);
    assert_eq!(anna.client.unconfirmed(&url).unwrap(), 0);
    anna.client.disconnected();
    anna.client
        .add_note(&url, "Mai partita", None, false, None, None)
        .unwrap();
    assert_eq!(anna.client.unconfirmed(&url).unwrap(), 1);
    let kept = anna.client.keep_local(&url).unwrap();
    let bytes = js_sys::Uint8Array::from(field(&kept, &["bytes"])).to_vec();
    let confirmed: Vec<String> = js_sys::Array::from(&field(&kept, &["confirmed"]))
        .iter()
        .map(|h| h.as_string().unwrap())
        .collect();
    assert_eq!(
        confirmed.len(),
        1,
        "the heads after the note the server had"
    );
    drop(anna);

    // Without the confirmed heads, everything would count as unsent: the
    // board's first change and both notes.
    let mut blind = TavoloClient::new(Some("p_anna".into()), None);
    blind.restore_local(&url, &bytes, vec![]).unwrap();
    assert_eq!(blind.unconfirmed(&url).unwrap(), 3);

    // The tab again: a new client, the copy opened before the socket.
    let mut again = TavoloClient::new(Some("p_anna".into()), None);
    again.restore_local(&url, &bytes, confirmed).unwrap();
    assert_eq!(again.unconfirmed(&url).unwrap(), 1);
    let (mut again, join) = connect(&mut server, again, "p_anna");
    // On screen before anything came from the server.
    let mut shown = texts(&again, &url);
    shown.sort();
    assert_eq!(shown, ["Mai partita", "Sentita"]);
    deliver(&mut server, &mut [&mut bruno, &mut again], vec![join]);
    let mut seen = texts(&bruno, &url);
    seen.sort();
    assert_eq!(seen, ["Mai partita", "Sentita"]);
    assert_eq!(again.client.unconfirmed(&url).unwrap(), 0);
}
