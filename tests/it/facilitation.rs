//! The facilitator leads: phases, locks enforced by the server, the timer,
//! presence and the read-only projector ticket — against the real binary.

use crate::helpers::*;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use tavolo_model::facilitation::{self, TimerStatus};
use tavolo_model::ops;
use tavolo_model::{QuestionDoc, SessionDoc};
use tavolo_tests::{ServerProcess, note_texts};

fn current_phase(c: &tavolo_tests::ClientView, sd: tavolo_sync::DocumentId) -> Option<String> {
    SessionDoc::load(c.doc(sd)).ok().map(|s| s.current_phase)
}

#[tokio::test]
async fn the_facilitator_advances_everyone_and_a_participant_cannot() {
    let r = spawn_server().await;
    let (s, a, _b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut anna = connect(&r.server, &a).await;
    let sd = s.session_doc;

    // A participant tries to move the session on: refused, never seen.
    anna.change(sd, |d| ops::set_current_phase(d, "bisogni").unwrap())
        .await
        .unwrap();
    anna.pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(anna.refusals()[0].code, "read_only_document");

    fac.change(sd, |d| {
        ops::set_current_phase(d, "materia-prima").unwrap();
        facilitation::start_timer(d, 10 * 60_000, 1_000).unwrap();
    })
    .await
    .unwrap();
    anna.reset(sd).await.unwrap();
    anna.pump_until(WAIT, |c| {
        current_phase(c, sd).as_deref() == Some("materia-prima")
    })
    .await
    .unwrap();
    // Anna's own attempt is gone from her copy too, and the timer reads the
    // same for her as for the facilitator.
    let t = facilitation::timer_state(&anna.doc(sd), 61_000);
    assert_eq!(
        (t.status, t.remaining_ms),
        (TimerStatus::Running, 9 * 60_000)
    );
    assert!(fac.refusals().is_empty());
}

#[tokio::test]
async fn a_locked_phase_keeps_participants_out_but_not_the_facilitator_until_unlocked() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let sd = s.session_doc;
    let q = first_question(&anna, sd);
    for c in [&mut fac, &mut anna, &mut bruno] {
        open_question(c, q).await;
    }
    let anna_id = a.participant_id.clone().unwrap();
    let bruno_id = b.participant_id.clone().unwrap();

    set_locked(&mut fac, &mut anna, sd, "legittimazione", true).await;

    // Anna's note in the locked phase is refused…
    add_note(&mut anna, q, &anna_id, "n_late", "scritta dopo la chiusura").await;
    anna.pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(anna.refusals()[0].code, "phase_locked");

    // …while the facilitator's edit in the same phase lands; Bruno seeing it
    // is the fence after which Anna's note would have arrived too.
    add_note(
        &mut fac,
        q,
        &bruno_id,
        "n_fac",
        "trascritta dal facilitatore",
    )
    .await;
    bruno
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"trascritta dal facilitatore".to_string())
        })
        .await
        .unwrap();
    assert_eq!(note_texts(&bruno.doc(q)), ["trascritta dal facilitatore"]);
    assert!(fac.refusals().is_empty());

    // A restart: the locked-out note never reached storage.
    let dir = r.server.data_dir.clone();
    r.server.terminate().await.unwrap();
    let server = ServerProcess::start(&dir).await.unwrap();
    let mut again = connect(&server, &b).await;
    open_question(&mut again, q).await;
    again
        .pump_until(WAIT, |c| !note_texts(c.doc(q)).is_empty())
        .await
        .unwrap();
    assert_eq!(note_texts(&again.doc(q)), ["trascritta dal facilitatore"]);

    // Unlocking gives participants their pen back.
    let mut fac = connect(&server, &f).await;
    let mut anna = connect(&server, &a).await;
    set_locked(&mut fac, &mut anna, sd, "legittimazione", false).await;
    open_question(&mut anna, q).await;
    add_note(&mut anna, q, &anna_id, "n_open", "di nuovo aperta").await;
    again
        .pump_until(WAIT, |c| {
            note_texts(c.doc(q)).contains(&"di nuovo aperta".to_string())
        })
        .await
        .unwrap();
    assert!(anna.refusals().is_empty());
}

#[tokio::test]
async fn a_note_written_offline_before_the_lock_is_refused_and_the_client_converges_in_few_messages()
 {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let sd = s.session_doc;
    let anna_id = a.participant_id.clone().unwrap();

    // Anna has the board, then her Wi-Fi drops; she keeps writing.
    let mut anna = connect(&r.server, &a).await;
    let q = first_question(&anna, sd);
    open_question(&mut anna, q).await;
    add_note(&mut anna, q, &anna_id, "n_before", "prima del blackout").await;
    let mut bruno = connect(&r.server, &b).await;
    open_question(&mut bruno, q).await;
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 1)
        .await
        .unwrap();
    let mut offline_q: AutoCommit = anna.doc(q);
    let offline_session: AutoCommit = anna.doc(sd);
    anna.close().await.unwrap();
    ops::add_note(
        &mut offline_q,
        "n_offline",
        &tavolo_model::ParticipantId(anna_id.clone()),
        &note("scritta senza rete"),
    )
    .unwrap();
    offline_q.commit();

    // Meanwhile the facilitator locks the phase.
    let mut fac = connect(&r.server, &f).await;
    set_locked(&mut fac, &mut bruno, sd, "legittimazione", true).await;

    // Anna comes back with her offline copy.
    let mut anna = tavolo_tests::SyncClient::connect_with(
        &r.server.ws_url(&a.ticket),
        vec![(sd, offline_session), (q, offline_q)],
    )
    .await
    .unwrap();
    anna.pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    let refusal = anna.refusals()[0].clone();
    assert_eq!(
        (refusal.code.as_str(), refusal.document_id),
        ("phase_locked", q)
    );
    // What Tavolo's client does on a refusal: note what did not land (the
    // "not saved" notice lists it) and take the server's copy.
    let mine: Vec<String> = QuestionDoc::load(&anna.doc(q))
        .notes
        .values()
        .map(|n| n.text.clone())
        .collect();
    assert!(mine.contains(&"scritta senza rete".to_string()));
    anna.reset(q).await.unwrap();
    anna.pump_until(WAIT, |c| note_texts(c.doc(q)) == ["prima del blackout"])
        .await
        .unwrap();

    // A fence: the facilitator's next note reaches Anna, so anything the
    // exchange still had in flight has arrived.
    open_question(&mut fac, q).await;
    add_note(&mut fac, q, &anna_id, "n_fence", "recinto").await;
    anna.pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 2)
        .await
        .unwrap();
    let (received, sent) = anna.lock_view(|v| {
        (
            v.sync_received.get(&q).copied().unwrap_or(0),
            v.sync_sent.get(&q).copied().unwrap_or(0),
        )
    });
    eprintln!(
        "offline-before-lock convergence on {q}: {received} sync messages received, {sent} sent"
    );
    // Connect, refusal, reset, reload, fence: a handful each way, not a loop.
    assert!(
        received <= 8 && sent <= 8,
        "{received} sync messages received, {sent} sent"
    );
    assert_eq!(
        note_texts(&bruno.doc(q))
            .into_iter()
            .filter(|t| t == "scritta senza rete")
            .count(),
        0
    );
}

#[tokio::test]
async fn presence_counts_people_by_attendance_and_drops_those_who_leave() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let a = r
        .api
        .join_as(&s.join_code, "Anna", "in_room")
        .await
        .unwrap();
    let b = r
        .api
        .join_as(&s.join_code, "Bruno", "remote")
        .await
        .unwrap();
    let f = r.api.facilitator(&s).await.unwrap();
    let v = r.api.projector(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let _projector = connect(&r.server, &v).await;
    let mut anna = connect(&r.server, &a).await;
    // Anna opens the board again (another tab, or her phone after the
    // laptop): the first connection is told so and closed.
    let _anna_again = connect(&r.server, &a).await;
    assert_eq!(
        anna.closed(WAIT).await.unwrap(),
        (4015, "opened in another window or device".to_string())
    );
    let bruno = connect(&r.server, &b).await;
    let anna_id = a.participant_id.clone().unwrap();
    fac.pump_until(WAIT, |c| {
        c.presence().is_some_and(|p| {
            p.counts() == (1, 1)
                && p.viewers == 1
                && p.facilitators == 1
                && p.participants
                    .get(&anna_id)
                    .is_some_and(|e| e.connections == 1)
        })
    })
    .await
    .unwrap();
    bruno.close().await.unwrap();
    fac.pump_until(WAIT, |c| c.presence().is_some_and(|p| p.counts() == (1, 0)))
        .await
        .unwrap();
}

#[tokio::test]
async fn presence_from_a_participant_is_relayed_as_theirs_not_the_servers() {
    let r = spawn_server().await;
    let (_s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    bruno
        .pump_until(WAIT, |c| {
            c.presence().is_some_and(|p| p.participants.len() == 2)
        })
        .await
        .unwrap();
    // Anna forges a presence payload claiming a crowd.
    let mut fake = tavolo_sync::Presence::default();
    for i in 0..50 {
        fake.participants.insert(
            format!("p_fake{i}"),
            tavolo_sync::presence::PresentParticipant {
                attendance: "in_room".into(),
                connections: 1,
            },
        );
    }
    let forged = tavolo_sync::wire::EphemeralMessage {
        sender_id: anna.peer.clone(),
        target_id: tavolo_sync::PeerId("server".into()),
        count: 1,
        session_id: "forged".into(),
        document_id: a.session_doc,
        data: fake.encode(),
    };
    anna.send_message(&tavolo_sync::Message::Ephemeral(forged))
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| {
            c.ephemeral.iter().any(|e| e.session_id == "forged")
        })
        .await
        .unwrap();
    // The relayed copy carries Anna's peer id, so clients that believe only
    // the server (as Tavolo's do) still count two people.
    let p = bruno.lock_view(|c| c.presence()).unwrap();
    assert_eq!(p.participants.len(), 2);
}

#[tokio::test]
async fn the_projector_ticket_reads_the_board_and_changes_nothing() {
    let r = spawn_server().await;
    let (s, a, _b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let q = first_question(&anna, s.session_doc);
    open_question(&mut anna, q).await;
    add_note(
        &mut anna,
        q,
        a.participant_id.as_deref().unwrap(),
        "n_1",
        "visibile",
    )
    .await;

    let v = r.api.projector(&s).await.unwrap();
    let mut projector = connect(&r.server, &v).await;
    open_question(&mut projector, q).await;
    projector
        .pump_until(WAIT, |c| note_texts(c.doc(q)) == ["visibile"])
        .await
        .unwrap();
    projector
        .change(s.session_doc, |d| {
            d.put(ROOT, "title", "dal proiettore").unwrap()
        })
        .await
        .unwrap();
    projector
        .pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(projector.refusals()[0].code, "read_only_document");
}

#[tokio::test]
async fn projector_tickets_need_the_facilitators_key_or_ticket() {
    let r = spawn_server().await;
    let (s, a, _b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let post = |body: serde_json::Value| {
        let api = &r.api;
        async move { api.post("/api/projector", &body).await.unwrap() }
    };
    let sid = s.session_id.clone();
    let (status, body) = post(serde_json::json!({"session_id": sid, "ticket": f.ticket})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["session_doc"], s.session_doc.url());
    for (bad, want) in [
        (
            serde_json::json!({"session_id": sid, "ticket": a.ticket}),
            403,
        ),
        (
            serde_json::json!({"session_id": sid, "facilitator_key": "nope"}),
            403,
        ),
        (serde_json::json!({"session_id": sid}), 422),
        (
            serde_json::json!({"session_id": "nope", "facilitator_key": "x"}),
            404,
        ),
    ] {
        let (status, body) = post(bad.clone()).await;
        assert_eq!(status, want, "{bad} → {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    // A viewer ticket does not mint more viewer tickets.
    let (_, body) = post(serde_json::json!({"session_id": sid, "ticket": f.ticket})).await;
    let viewer = body["ticket"].as_str().unwrap().to_string();
    let (status, _) = post(serde_json::json!({"session_id": sid, "ticket": viewer})).await;
    assert_eq!(status, 403);

    let (status, body) = r.api.get("/api/time").await.unwrap();
    assert_eq!(status, 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let server_now = body["now"].as_i64().unwrap();
    assert!((server_now - now).abs() < 60_000, "{server_now} vs {now}");
}

#[tokio::test]
async fn the_facilitator_removes_a_participant_whose_ticket_then_stops_working() {
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut anna = connect(&r.server, &a).await;
    let _bruno = connect(&r.server, &b).await;
    let anna_id = a.participant_id.clone().unwrap();
    // Only the facilitator may.
    let (status, _) = r
        .api
        .post(
            "/api/revoke",
            &serde_json::json!({"session_id": s.session_id, "ticket": b.ticket,
                "participant_id": anna_id}),
        )
        .await
        .unwrap();
    assert_eq!(status, 403);
    let (status, body) = r
        .api
        .post(
            "/api/revoke",
            &serde_json::json!({"session_id": s.session_id, "ticket": f.ticket,
                "participant_id": anna_id}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        anna.closed(WAIT).await.unwrap(),
        (4016, "the facilitator removed this participant".to_string())
    );
    // Her ticket no longer opens a socket.
    let again = tavolo_tests::SyncClient::connect(&r.server.ws_url(&a.ticket)).await;
    assert!(again.is_err(), "a revoked ticket gets 401");
}

#[tokio::test]
async fn the_record_is_the_facilitators_a_participant_cannot_forge_a_commitment_or_a_synthesis() {
    use tavolo_model::record::{self, CommitmentInput, MeetingField, Record, SynthesisField};
    let r = spawn_server().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let sd = s.session_doc;

    // Anna, with a modified client, writes a commitment in someone else's
    // name and rewrites the synthesis: refused, and Bruno never sees it.
    anna.change(sd, |d| {
        let forged = CommitmentInput {
            organization: "Comune".into(),
            what: "Il Comune paga tutto".into(),
            ..CommitmentInput::default()
        };
        record::put_commitment(d, "falso", &forged, 1).unwrap();
        record::set_synthesis_field(
            d,
            "legittimazione",
            SynthesisField::Synthesis,
            "Deciso da Anna",
        )
        .unwrap();
    })
    .await
    .unwrap();
    anna.pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(anna.refusals()[0].code, "read_only_document");

    // The facilitator's record reaches both phones.
    let real = CommitmentInput {
        organization: "Cooperativa Il Millepiedi".into(),
        what: "Una sala due sere a settimana".into(),
        by_when: "entro gennaio".into(),
        contact_role: "Coordinamento".into(),
        ..CommitmentInput::default()
    };
    fac.change(sd, |d| {
        record::set_meeting_field(d, MeetingField::Place, "Sala del Consiglio").unwrap();
        record::put_commitment(d, "c1", &real, 2).unwrap();
    })
    .await
    .unwrap();
    anna.reset(sd).await.unwrap();
    for phone in [&mut anna, &mut bruno] {
        phone
            .pump_until(WAIT, |c| Record::load(c.doc(sd)).commitments.len() == 1)
            .await
            .unwrap();
        let rec = Record::load(&phone.doc(sd));
        assert_eq!(rec.commitments[0].what, "Una sala due sere a settimana");
        assert_eq!(rec.meeting.place, "Sala del Consiglio");
        assert!(
            rec.syntheses.is_empty(),
            "the forged synthesis landed: {:?}",
            rec.syntheses
        );
    }
    assert!(bruno.refusals().is_empty() && fac.refusals().is_empty());
}
