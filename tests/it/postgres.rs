//! The server on PostgreSQL (`--database-url`), end to end: real server
//! processes, real WebSockets, a real PostgreSQL cluster. The storage
//! contract suite (`storage.rs`) checks the backend call by call; these
//! check that the server's paths (joining, sync, authority, compaction,
//! restarts) hold on it, and the crash loop (`crash.rs`) runs on it too.

use crate::helpers::*;
use tavolo_model::ParticipantId;
use tavolo_model::{QuestionDoc, ops};
use tavolo_tests::{PostgresCluster, note_texts};

fn database_of(r: &Running) -> String {
    r.server.database_url.clone().expect("a PostgreSQL server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_seen_by_another_participant_survive_a_sigkill_on_postgres() {
    let r = spawn_server_on_postgres().await;
    let url = database_of(&r);
    let (s, a, b) = session_and_two(&r.api).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&anna, a.session_doc);
    open_question(&mut anna, q).await;
    open_question(&mut bruno, q).await;
    let pid = a.participant_id.clone().unwrap();
    for i in 0..30 {
        add_note(&mut anna, q, &pid, &format!("n_{i}"), &format!("nota {i}")).await;
    }
    // Bruno sees a note only once it is committed.
    bruno
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 30)
        .await
        .expect("bruno sees anna's notes");

    let cluster = PostgresCluster::shared();
    assert_eq!(
        cluster
            .psql(&url, "SELECT count(*) FROM participants")
            .unwrap(),
        "2"
    );
    assert!(
        !r.server.data_dir.join("tavolo.sqlite3").exists(),
        "the server opened SQLite although it was given a database url"
    );

    // A new server on the same database, with a data directory of its own.
    r.server.kill().await.unwrap();
    drop(anna);
    drop(bruno);
    let other_dir = tempfile::tempdir().unwrap();
    let server = tavolo_tests::ServerProcess::start_postgres(other_dir.path(), &url)
        .await
        .unwrap();
    // Tickets and join codes are in the database too.
    let mut again = connect(&server, &b).await;
    open_question(&mut again, q).await;
    again
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 30)
        .await
        .expect("every note bruno saw is there after the restart");
    let carla = server.api().join(&s.join_code, "Carla").await.unwrap();
    connect(&server, &carla).await;
    assert_eq!(
        cluster
            .psql(&url, "SELECT count(*) FROM participants")
            .unwrap(),
        "3"
    );
    assert!(!other_dir.path().join("tavolo.sqlite3").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_compacted_on_postgres_loads_whole_after_a_restart() {
    let r = spawn_server_on_postgres().await;
    let url = database_of(&r);
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
    // Anna sees Bruno's notes only once they are committed.
    anna.pump_until(WAIT * 3, |c| note_texts(c.doc(q)).len() == 520)
        .await
        .unwrap();
    let server = r.server.kill_and_restart().await.unwrap();

    let cluster = PostgresCluster::shared();
    let loose: i64 = cluster
        .psql(
            &url,
            &format!("SELECT count(*) FROM changes WHERE doc_id = '{q}'"),
        )
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        loose < 500,
        "{loose} loose changes: the log was never compacted"
    );
    let snapshots: i64 = cluster
        .psql(
            &url,
            &format!("SELECT count(*) FROM snapshots WHERE doc_id = '{q}'"),
        )
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(snapshots, 1);

    let mut again = connect(&server, &b).await;
    open_question(&mut again, q).await;
    again
        .pump_until(WAIT, |c| note_texts(c.doc(q)).len() == 520)
        .await
        .expect("the compacted board loads whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_holds_on_postgres_and_an_actor_id_stays_claimed_after_a_restart() {
    let r = spawn_server_on_postgres().await;
    let (s, a, b) = session_and_two(&r.api).await;
    let f = r.api.facilitator(&s).await.unwrap();
    let mut fac = connect(&r.server, &f).await;
    let mut anna = connect(&r.server, &a).await;
    let mut bruno = connect(&r.server, &b).await;
    let q = first_question(&fac, f.session_doc);
    for c in [&mut fac, &mut anna, &mut bruno] {
        open_question(c, q).await;
    }
    let anna_id = a.participant_id.clone().unwrap();
    add_note(&mut anna, q, &anna_id, "n_anna", "di Anna").await;
    fac.pump_until(WAIT, |c| {
        QuestionDoc::load(c.doc(q)).notes.contains_key("n_anna")
    })
    .await
    .unwrap();

    // Bruno writes as if he were Anna: refused, and nobody sees it.
    let bruno_id = b.participant_id.clone().unwrap();
    let as_anna = ParticipantId(anna_id.clone());
    bruno
        .change(q, move |d| {
            ops::add_note(d, "n_forged", &as_anna, &note("firmata Anna")).unwrap()
        })
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .expect("bruno is told");
    let anna_actor = anna.doc(q).get_actor().clone();

    let server = r.server.kill_and_restart().await.unwrap();
    drop((fac, anna, bruno));
    let mut fac = connect(&server, &f).await;
    open_question(&mut fac, q).await;
    fac.pump_until(WAIT, |c| {
        QuestionDoc::load(c.doc(q)).notes.contains_key("n_anna")
    })
    .await
    .unwrap();
    assert!(
        !QuestionDoc::load(&fac.doc(q))
            .notes
            .contains_key("n_forged"),
        "a refused change reached storage"
    );

    // Anna's actor id was claimed in PostgreSQL: after the restart it is
    // still refused to anyone else.
    let mut bruno = connect(&server, &b).await;
    open_question(&mut bruno, q).await;
    let me = ParticipantId(bruno_id);
    bruno
        .change(q, move |d| {
            d.set_actor(anna_actor);
            ops::add_note(d, "n_squat", &me, &note("sotto il nome di Anna")).unwrap()
        })
        .await
        .unwrap();
    bruno
        .pump_until(WAIT, |c| !c.refusals.is_empty())
        .await
        .unwrap();
    assert_eq!(bruno.refusals()[0].code, "not_yours");
}

/// A NUL (or any control character) in a name, an organization or a title
/// is refused with 422 on both backends — on PostgreSQL it used to reach
/// storage, whose `TEXT` cannot hold NUL, and fail with 503.
#[tokio::test]
async fn control_characters_in_names_and_titles_are_refused_on_both_backends() {
    for r in [spawn_server().await, spawn_server_on_postgres().await] {
        for title in ["Tavolo\u{0}", "Riga\nnuova"] {
            let (status, body) = r
                .api
                .post(
                    "/api/sessions",
                    &serde_json::json!({"template": "tavolo-prima-sessione", "title": title}),
                )
                .await
                .unwrap();
            assert_eq!(status, 422, "{title:?}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains("control"),
                "{body}"
            );
        }
        let s = r.api.create_session().await.unwrap();
        for (name, org) in [
            ("Ada\u{0}", "Pro Loco"),
            ("Ada", "Pro\u{0}Loco"),
            ("Ada\tB", ""),
        ] {
            let person = serde_json::json!({"join_code": s.join_code, "name": name,
                "organization": org, "sector": "community", "tier": "founding_core",
                "attendance": "remote"});
            let (status, body) = r.api.post("/api/join", &person).await.unwrap();
            assert_eq!(status, 422, "{name:?} {org:?}: {body}");
        }
        // Nobody was added, and a plain join still works.
        r.api
            .join(&s.join_code, "Ada")
            .await
            .expect("a plain name joins");
        assert_eq!(r.api.get("/healthz").await.unwrap().0, 200);
    }
}
