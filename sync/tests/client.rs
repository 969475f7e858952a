//! The client core against the real room, through an in-memory server.

use tavolo_model::ops::{self, NewNote};
use tavolo_model::policy::Role;
use tavolo_model::{ParticipantId, QuestionDoc};
use tavolo_sync::loopback::Loopback;
use tavolo_sync::{ClientCore, DocumentId, PeerId};

fn setup() -> (Loopback, DocumentId) {
    Loopback::question(vec![])
}

/// Moves frames until nobody has anything to say.
fn run(server: &mut Loopback, clients: &mut [&mut ClientCore]) {
    for _ in 0..100 {
        let mut moved = false;
        for i in 0..clients.len() {
            let from = clients[i].peer().clone();
            for frame in clients[i].take_outgoing() {
                moved = true;
                for (to, reply) in server.deliver(&from, &frame) {
                    if let Some(c) = clients.iter_mut().find(|c| *c.peer() == to) {
                        c.receive(&reply).unwrap();
                    }
                }
            }
        }
        if !moved {
            return;
        }
    }
    panic!("never quiet");
}

fn note(text: &str) -> NewNote {
    NewNote {
        text: text.into(),
        category: None,
        anonymous: false,
        created_at: 1,
    }
}

fn texts(c: &ClientCore, id: DocumentId) -> Vec<String> {
    QuestionDoc::load(c.doc(id).unwrap())
        .notes_in_order()
        .into_iter()
        .map(|(_, n)| n.text.clone())
        .collect()
}

/// Anna and Bruno, participants, connected and synced on `id`.
fn two_synced_clients(server: &mut Loopback, id: DocumentId) -> (ClientCore, ClientCore) {
    let mut anna = ClientCore::new(PeerId("anna".into()));
    let mut bruno = ClientCore::new(PeerId("bruno".into()));
    for (c, p) in [(&mut anna, "p_anna"), (&mut bruno, "p_bruno")] {
        server.admit(c.peer().clone(), Role::Participant(ParticipantId(p.into())));
        c.open(id);
        c.connected();
    }
    run(server, &mut [&mut anna, &mut bruno]);
    (anna, bruno)
}

#[test]
fn clients_handshake_open_and_see_each_others_notes() {
    let (mut server, id) = setup();
    let (mut anna, mut bruno) = two_synced_clients(&mut server, id);
    assert!(anna.ready() && anna.is_loaded(id));
    anna.change(id, |d| {
        ops::add_note(
            d,
            "n_1",
            &ParticipantId("p_anna".into()),
            &note("Il forno sociale"),
        )
        .unwrap()
    })
    .unwrap();
    run(&mut server, &mut [&mut anna, &mut bruno]);
    assert_eq!(texts(&bruno, id), ["Il forno sociale"]);
}

#[test]
fn a_reconnect_resyncs_with_fresh_states_and_sends_what_was_written_offline() {
    let (mut server, id) = setup();
    let (mut anna, mut bruno) = two_synced_clients(&mut server, id);
    anna.disconnected();
    anna.change(id, |d| {
        ops::add_note(
            d,
            "n_off",
            &ParticipantId("p_anna".into()),
            &note("scritta offline"),
        )
        .unwrap()
    })
    .unwrap();
    assert!(
        anna.take_outgoing().is_empty(),
        "nothing is sent while disconnected"
    );
    anna.connected();
    run(&mut server, &mut [&mut anna, &mut bruno]);
    assert_eq!(texts(&bruno, id), ["scritta offline"]);
}

#[test]
fn a_refused_client_resets_and_converges() {
    let (mut server, id) = setup();
    let mut anna = ClientCore::new(PeerId("anna".into()));
    server.admit(
        anna.peer().clone(),
        Role::Participant(ParticipantId("p_anna".into())),
    );
    anna.open(id);
    anna.connected();
    run(&mut server, &mut [&mut anna]);
    anna.change(id, |d| {
        ops::add_note(d, "n_x", &ParticipantId("p_other".into()), &note("falsa")).unwrap()
    })
    .unwrap();
    run(&mut server, &mut [&mut anna]);
    let refusals = anna.take_refusals();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].code, "not_yours");
    anna.reset(id);
    run(&mut server, &mut [&mut anna]);
    assert!(texts(&anna, id).is_empty());
    assert!(anna.take_unavailable().is_empty());
}

#[test]
fn documents_the_server_does_not_have_are_reported_unavailable() {
    let (mut server, _id) = setup();
    let mut anna = ClientCore::new(PeerId("anna".into()));
    server.admit(
        anna.peer().clone(),
        Role::Participant(ParticipantId("p_anna".into())),
    );
    let other = DocumentId::random();
    anna.open(other);
    anna.connected();
    run(&mut server, &mut [&mut anna]);
    assert_eq!(anna.take_unavailable(), [other]);
}

/// A tab closed with notes never sent: the copy it kept (bytes and the
/// heads the server had confirmed) is opened by a new client — a new peer
/// on a new connection — which counts what is still to send, sends it,
/// and, for an anonymous note written meanwhile, still builds only on what
/// the server had.
#[test]
fn a_kept_copy_reopened_by_a_new_client_sends_what_was_never_sent() {
    let (mut server, id) = setup();
    let (mut anna, mut bruno) = two_synced_clients(&mut server, id);
    let me = ParticipantId("p_anna".into());
    anna.change(id, |d| {
        ops::add_note(d, "n_on", &me, &note("inviata")).unwrap()
    })
    .unwrap();
    run(&mut server, &mut [&mut anna, &mut bruno]);
    assert_eq!(anna.unconfirmed(id), 0, "everything confirmed");
    anna.disconnected();
    for (i, text) in ["prima", "seconda"].iter().enumerate() {
        anna.change(id, |d| {
            ops::add_note(d, &format!("n_off{i}"), &me, &note(text)).unwrap()
        })
        .unwrap();
    }
    assert_eq!(anna.unconfirmed(id), 2);
    let confirmed = anna.confirmed(id);
    let bytes = anna.save(id).unwrap();
    drop(anna);

    // The tab again: a new client (a new peer id) from the kept copy.
    let mut again = ClientCore::new(PeerId("anna-again".into()));
    server.admit(again.peer().clone(), Role::Participant(me.clone()));
    again.restore_kept(
        id,
        automerge::AutoCommit::load(&bytes).unwrap(),
        confirmed.clone(),
    );
    assert_eq!(again.unconfirmed(id), 2);
    let anonymous = NewNote {
        anonymous: true,
        ..note("anonima")
    };
    let before = again.doc(id).unwrap().clone().get_heads();
    again
        .change_unlinked(id, |d| ops::add_note(d, "n_anon", &me, &anonymous))
        .unwrap()
        .unwrap();
    assert_eq!(again.unconfirmed(id), 3);
    // The anonymous change depends only on what the server had confirmed,
    // never on this phone's unsent notes (which would name their writer).
    let mut doc = again.doc(id).unwrap().clone();
    let added = doc.get_changes(&before);
    assert_eq!(added.len(), 1, "one change for the anonymous note");
    assert_eq!(added[0].deps(), confirmed.as_slice());

    again.connected();
    run(&mut server, &mut [&mut again, &mut bruno]);
    let mut seen = texts(&bruno, id);
    seen.sort();
    assert_eq!(seen, ["anonima", "inviata", "prima", "seconda"]);
    assert_eq!(again.unconfirmed(id), 0, "all confirmed by the server");
}
