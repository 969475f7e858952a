//! The report endpoints against the real binary: who may read what, the
//! notes written over real sockets in every format, the public version
//! naming nobody, and the report surviving a SIGKILL.

use crate::helpers::*;
use serde_json::{Value, json};
use tavolo_model::ops::{self, NewNote};
use tavolo_model::{ParticipantId, QuestionDoc, SessionDoc};
use tavolo_sync::DocumentId;
use tavolo_tests::{Api, Fetched, ServerProcess, Session, SyncClient, Ticket};

const FORMATS: [&str; 4] = ["md", "csv", "json", "html"];

/// Two people nobody else is called, from organizations nobody else is.
const ZENOBIA: (&str, &str, &str) = (
    "Zenobia Farfallini",
    "Cooperativa Airone Cenerino",
    "social_private",
);
const ILDEBRANDO: (&str, &str, &str) = ("Ildebrando Quercioli", "Circolo Lontra Bianca", "public");

async fn join(api: &Api, s: &Session, (name, org, sector): (&str, &str, &str)) -> Ticket {
    api.join_with(
        &s.join_code,
        &json!({"name": name, "organization": org, "sector": sector,
                "tier": "founding_core", "attendance": "remote"}),
    )
    .await
    .expect("joins")
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

async fn report(api: &Api, s: &Session, query: &str) -> Fetched {
    api.get_authorized(
        &format!("/api/sessions/{}/report?{query}", s.session_id),
        Some(&bearer(&s.facilitator_key)),
    )
    .await
    .expect("request")
}

fn question_doc(c: &SyncClient, sd: DocumentId, question_id: &str) -> DocumentId {
    let s = SessionDoc::load(&c.doc(sd)).expect("session doc");
    let url = s
        .phases
        .iter()
        .flat_map(|p| &p.questions)
        .find(|q| q.id == question_id)
        .map(|q| q.doc_url.clone())
        .expect("question exists");
    DocumentId::from_url(&url).expect("url")
}

async fn write(c: &mut SyncClient, q: DocumentId, author: &str, id: &str, note: NewNote) {
    let author = ParticipantId(author.into());
    c.change(q, |d| {
        ops::add_note(d, id, &author, &note).expect("add note")
    })
    .await
    .expect("send");
}

fn pledge(text: &str, category: &str, anonymous: bool) -> NewNote {
    NewNote {
        text: text.into(),
        category: Some(category.into()),
        anonymous,
        created_at: 1_700_000_000_000,
    }
}

#[tokio::test]
async fn the_report_asks_for_the_facilitator_key_and_says_what_is_wrong() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let path = format!("/api/sessions/{}/report?format=md", s.session_id);
    let cases: [(Option<String>, &str, u16); 5] = [
        (None, &path, 401),
        (Some(format!("Basic {}", s.facilitator_key)), &path, 401),
        (Some(bearer("not-the-key")), &path, 403),
        (
            Some(bearer(&s.facilitator_key)),
            "/api/sessions/no-such-session/report?format=md",
            404,
        ),
        (
            Some(bearer(&s.facilitator_key)),
            &format!("/api/sessions/{}/report?format=pdf", s.session_id),
            400,
        ),
    ];
    for (auth, path, want) in cases {
        let got = r.api.get_authorized(path, auth.as_deref()).await.unwrap();
        assert_eq!(got.status, want, "{path} with {auth:?}: {}", got.body);
        assert!(!got.error().is_empty(), "a refusal says why: {}", got.body);
    }
    for bad in ["public=maybe", "lang=fr"] {
        let got = report(&r.api, &s, &format!("format=md&{bad}")).await;
        assert_eq!(got.status, 400, "{bad}");
        assert!(!got.error().is_empty());
    }
    // A participant's ticket is not the key; the console's facilitator
    // ticket stands for it, but only for its own session.
    let a = join(&r.api, &s, ZENOBIA).await;
    let got = r
        .api
        .get_authorized(&path, Some(&bearer(&a.ticket)))
        .await
        .unwrap();
    assert_eq!(got.status, 403);
    let f = r.api.facilitator(&s).await.unwrap();
    let got = r
        .api
        .get_authorized(&path, Some(&bearer(&f.ticket)))
        .await
        .unwrap();
    assert_eq!(got.status, 200, "{}", got.body);
    let other = r.api.create_session().await.unwrap();
    let other_path = format!("/api/sessions/{}/report?format=md", other.session_id);
    let got = r
        .api
        .get_authorized(&other_path, Some(&bearer(&f.ticket)))
        .await
        .unwrap();
    assert_eq!(got.status, 403);

    for (format, content_type) in [
        ("md", "text/markdown"),
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("html", "text/html"),
    ] {
        let got = report(&r.api, &s, &format!("format={format}")).await;
        assert_eq!(got.status, 200, "{format}: {}", got.body);
        assert!(
            got.header("content-type").starts_with(content_type),
            "{format}: {}",
            got.header("content-type")
        );
        // Saved under the session's title and the day, ASCII only.
        let disposition = got.header("content-disposition");
        assert!(
            disposition.contains("filename=\"tavolo-report-riservato-prova-20")
                && disposition.ends_with(&format!(".{format}\"")),
            "{disposition}"
        );
        assert_eq!(got.header("cache-control"), "no-store");
        if format != "csv" {
            assert!(got.body.contains("Prova"), "{format} names the session");
        }
    }
}

#[tokio::test]
async fn notes_written_over_sockets_are_reported_and_the_public_version_names_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let s = api.create_session().await.unwrap();
    let zenobia = join(&api, &s, ZENOBIA).await;
    let ildebrando = join(&api, &s, ILDEBRANDO).await;
    let fac_ticket = api.facilitator(&s).await.unwrap();
    let mut fac = connect(&server, &fac_ticket).await;
    let mut z = connect(&server, &zenobia).await;
    let mut i = connect(&server, &ildebrando).await;
    let sd = s.session_doc;
    let q = question_doc(&z, sd, "sul-tavolo");
    for c in [&mut fac, &mut z, &mut i] {
        open_question(c, q).await;
    }
    let zid = zenobia.participant_id.clone().unwrap();
    let iid = ildebrando.participant_id.clone().unwrap();
    let spaces = "La sala grande di via Saffi, il giovedì sera";
    let time = "Due volontari per l’accoglienza, è già deciso";
    let anonymous = "Un furgone per i trasporti";
    write(
        &mut z,
        q,
        &zid,
        "n_z1",
        pledge(spaces, "risorsa-spazio", false),
    )
    .await;
    write(
        &mut z,
        q,
        &zid,
        "n_z2",
        pledge(anonymous, "risorsa-attrezzature", true),
    )
    .await;
    write(
        &mut i,
        q,
        &iid,
        "n_i1",
        pledge(time, "risorsa-tempo", false),
    )
    .await;
    // The server has applied all three once the facilitator sees them.
    fac.pump_until(WAIT, |c| QuestionDoc::load(c.doc(q)).notes.len() == 3)
        .await
        .expect("the notes reach the facilitator");

    // The facilitator's report has the notes and who wrote them, except the
    // anonymous one's author.
    let full = report(&api, &s, "format=md").await;
    assert_eq!(full.status, 200);
    for text in [spaces, time, anonymous, ZENOBIA.0, ZENOBIA.1, ILDEBRANDO.0] {
        assert!(full.body.contains(text), "private report lacks {text}");
    }

    // Public, every format: the notes, and nobody.
    let personal = [ZENOBIA.0, ZENOBIA.1, ILDEBRANDO.0, ILDEBRANDO.1, &zid, &iid];
    for format in FORMATS {
        let public = report(&api, &s, &format!("format={format}&public=true")).await;
        assert_eq!(public.status, 200);
        assert!(
            public.body.contains("Due volontari"),
            "{format} keeps the notes"
        );
        let lower = public.body.to_lowercase();
        for p in personal {
            assert!(
                !lower.contains(&p.to_lowercase()),
                "public {format} contains {p}"
            );
        }
    }

    // Organizations made public by the facilitator appear, names still not;
    // the anonymous note's organization stays hidden.
    fac.change(sd, |d| {
        ops::set_organizations_public(d, true).expect("flag")
    })
    .await
    .unwrap();
    z.pump_until(WAIT, |c| {
        SessionDoc::load(c.doc(sd)).is_ok_and(|s| s.organizations_public)
    })
    .await
    .expect("the flag reaches the room");
    let public = report(&api, &s, "format=csv&public=true").await;
    assert!(public.body.contains(ILDEBRANDO.1), "{}", public.body);
    let anonymous_row = public
        .body
        .lines()
        .find(|l| l.contains(anonymous))
        .expect("the anonymous pledge is reported");
    assert!(!anonymous_row.contains(ZENOBIA.1), "{anonymous_row}");
    for name in [ZENOBIA.0, ILDEBRANDO.0] {
        assert!(!public.body.contains(name));
    }

    // Killed and restarted: the report is made from what was stored.
    drop((fac, z, i));
    server.kill().await.unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let again = report(&api, &s, "format=json").await;
    assert_eq!(again.status, 200);
    let json: Value = serde_json::from_str(&again.body).expect("json report");
    let text = json.to_string();
    for t in [spaces, time, anonymous] {
        assert!(text.contains(t), "after the restart the report lacks {t}");
    }
}

#[tokio::test]
async fn a_participant_downloads_their_own_notes_and_nobody_elses() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let zenobia = join(&r.api, &s, ZENOBIA).await;
    let ildebrando = join(&r.api, &s, ILDEBRANDO).await;
    let mut z = connect(&r.server, &zenobia).await;
    let mut i = connect(&r.server, &ildebrando).await;
    let sd = s.session_doc;
    let q = question_doc(&z, sd, "perche-noi");
    open_question(&mut z, q).await;
    open_question(&mut i, q).await;
    let zid = zenobia.participant_id.clone().unwrap();
    let iid = ildebrando.participant_id.clone().unwrap();
    write(
        &mut z,
        q,
        &zid,
        "n_z",
        note("Perché conosciamo ogni via del borgo"),
    )
    .await;
    write(&mut i, q, &iid, "n_i", note("Perché il Comune ci crede")).await;
    z.pump_until(WAIT, |c| QuestionDoc::load(c.doc(q)).notes.len() == 2)
        .await
        .unwrap();

    let path = format!("/api/sessions/{}/my-notes?format=csv", s.session_id);
    let mine = r
        .api
        .get_authorized(&path, Some(&bearer(&zenobia.ticket)))
        .await
        .unwrap();
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(mine.body.contains("Perché conosciamo ogni via del borgo"));
    assert!(!mine.body.contains("Perché il Comune ci crede"));
    assert!(mine.header("content-disposition").starts_with("attachment"));

    // Not without a ticket, not with the facilitator's, not for another session.
    let f = r.api.facilitator(&s).await.unwrap();
    let other = r.api.create_session().await.unwrap();
    let other_path = format!("/api/sessions/{}/my-notes?format=md", other.session_id);
    for (auth, path, want) in [
        (None, path.as_str(), 401),
        (Some(bearer("nope")), path.as_str(), 401),
        (Some(bearer(&f.ticket)), path.as_str(), 403),
        (Some(bearer(&zenobia.ticket)), other_path.as_str(), 403),
    ] {
        let got = r.api.get_authorized(path, auth.as_deref()).await.unwrap();
        assert_eq!(got.status, want, "{path} {auth:?}: {}", got.body);
        assert!(!got.error().is_empty());
    }
}

#[tokio::test]
async fn the_attendance_annex_lists_who_came_for_the_facilitator_only() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    join(&r.api, &s, ZENOBIA).await;
    join(&r.api, &s, ILDEBRANDO).await;
    let path = format!(
        "/api/sessions/{}/report/attendance?format=csv",
        s.session_id
    );
    let annex = r
        .api
        .get_authorized(&path, Some(&bearer(&s.facilitator_key)))
        .await
        .unwrap();
    assert_eq!(annex.status, 200, "{}", annex.body);
    for t in [ZENOBIA.0, ZENOBIA.1, ILDEBRANDO.0, ILDEBRANDO.1] {
        assert!(annex.body.contains(t), "the annex lacks {t}");
    }
    let refused = r.api.get_authorized(&path, None).await.unwrap();
    assert_eq!(refused.status, 401);
}

/// Issue 17: the resoconto lists organizations present only when one of
/// their people agreed at join (`list_organization`), in both versions; a
/// join that sends something else than a boolean is refused and adds nobody.
#[tokio::test]
async fn organizations_present_are_listed_only_with_their_consent() {
    let r = spawn_server().await;
    let s = r.api.create_session().await.unwrap();
    let person = |name: &str, org: &str, consent: Value| {
        json!({"name": name, "organization": org, "sector": "community",
               "tier": "founding_core", "attendance": "remote", "list_organization": consent})
    };
    let (status, body) = r
        .api
        .post(
            "/api/join",
            &json!({"join_code": s.join_code, "name": "Ugo", "organization": "Coro Alpino",
                    "sector": "community", "tier": "founding_core", "attendance": "remote",
                    "list_organization": "sì"}),
        )
        .await
        .unwrap();
    // The body's shape is wrong: 422, as for any other field of the wrong type.
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("list_organization"),
        "{body}"
    );
    r.api
        .join_with(
            &s.join_code,
            &person("Zenobia", "Cooperativa Airone Cenerino", json!(true)),
        )
        .await
        .unwrap();
    r.api
        .join_with(
            &s.join_code,
            &person("Ildebrando", "Circolo Lontra Bianca", json!(false)),
        )
        .await
        .unwrap();
    // A stock client that knows nothing of the field: not listed.
    join(&r.api, &s, ("Ottavio", "Gruppo Scout Tasso", "public")).await;
    for public in ["false", "true"] {
        let f = report(&r.api, &s, &format!("format=json&public={public}")).await;
        assert_eq!(f.status, 200, "{}", f.body);
        let data: Value = serde_json::from_str(&f.body).unwrap();
        let listed: Vec<&str> = data["attendance"]["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["organizations"].as_array().unwrap())
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(listed, ["Cooperativa Airone Cenerino"], "public={public}");
        assert_eq!(data["attendance"]["unlisted"], 2, "public={public}");
        assert_eq!(
            data["attendance"]["total"], 3,
            "the refused join added someone"
        );
        let md = report(&r.api, &s, &format!("format=md&public={public}")).await;
        assert!(md.body.contains("Cooperativa Airone Cenerino"));
        // They wrote nothing and did not agree: named nowhere, not even
        // in the facilitator's version.
        assert!(
            !md.body.contains("Circolo Lontra Bianca"),
            "public={public}"
        );
        assert!(!md.body.contains("Gruppo Scout Tasso"), "public={public}");
    }
}

#[tokio::test]
async fn the_results_view_is_the_public_report_for_the_projector_and_nobody_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let s = api.create_session().await.unwrap();
    let other = api.create_session().await.unwrap();
    let zenobia = join(&api, &s, ZENOBIA).await;
    let mut z = connect(&server, &zenobia).await;
    let sd = s.session_doc;
    let q = question_doc(&z, sd, "sul-tavolo");
    open_question(&mut z, q).await;
    let zid = zenobia.participant_id.clone().unwrap();
    let text = "La sala grande di via Saffi, il giovedì sera";
    write(
        &mut z,
        q,
        &zid,
        "n_z1",
        pledge(text, "risorsa-spazio", false),
    )
    .await;
    let path = |s: &Session| format!("/api/sessions/{}/results?lang=it", s.session_id);

    // The projector's viewer ticket reads the public report, as JSON, with
    // the note once the server has applied it (asked again until then).
    let viewer = api.projector(&s).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let got = loop {
        let got = api
            .get_authorized(&path(&s), Some(&bearer(&viewer.ticket)))
            .await
            .unwrap();
        assert_eq!(got.status, 200, "{}", got.body);
        if got.body.contains(text) || std::time::Instant::now() > deadline {
            break got;
        }
        z.pump_until(std::time::Duration::from_millis(100), |_| false)
            .await
            .ok();
    };
    assert_eq!(got.header("cache-control"), "no-store");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["public"], json!(true));
    assert!(got.body.contains(text), "the pledge is not in the results");
    for name in [ZENOBIA.0, ZENOBIA.1] {
        assert!(!got.body.contains(name), "the results name {name}");
    }

    // Nobody else: a participant, another session's projector, no ticket, a made-up one.
    let other_viewer = api.projector(&other).await.unwrap();
    for (who, auth, status) in [
        ("a participant", Some(bearer(&zenobia.ticket)), 403),
        (
            "another session's projector",
            Some(bearer(&other_viewer.ticket)),
            403,
        ),
        ("no ticket", None, 401),
        ("a made-up ticket", Some(bearer("inventato")), 401),
    ] {
        let got = api
            .get_authorized(&path(&s), auth.as_deref())
            .await
            .unwrap();
        assert_eq!(got.status, status, "{who}: {}", got.body);
        let e: Value = serde_json::from_str(&got.body).unwrap();
        assert!(e["error"].is_string(), "{who}: no error message");
    }
}

#[tokio::test]
async fn the_next_meeting_starts_from_this_one_with_its_commitments_questions_and_organizations() {
    use tavolo_model::record::{self, CarriedStatus, CommitmentInput, MeetingField, Record};
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await.unwrap();
    let api = server.api();
    let s = api.create_session().await.unwrap();
    let zenobia = join(&api, &s, ZENOBIA).await;
    let ildebrando = join(&api, &s, ILDEBRANDO).await;
    let mut fac = connect(&server, &api.facilitator(&s).await.unwrap()).await;
    let sd = s.session_doc;
    fac.change(sd, |d| {
        record::set_meeting_field(d, MeetingField::Title, "Primo incontro del Tavolo").unwrap();
        record::set_meeting_field(d, MeetingField::Number, "1").unwrap();
        record::set_meeting_field(d, MeetingField::Date, "2026-03-14").unwrap();
        record::set_meeting_field(d, MeetingField::Place, "Sala del Consiglio").unwrap();
        let c = CommitmentInput {
            organization: ZENOBIA.1.into(),
            what: "Due educatori il giovedì".into(),
            by_when: "entro aprile".into(),
            contact_role: "Coordinamento".into(),
            ..CommitmentInput::default()
        };
        record::put_commitment(d, "c1", &c, 1).unwrap();
        record::set_closing(
            d,
            record::ClosingField::OpenQuestions,
            "Chi coordina tra un incontro e l'altro?",
        )
        .unwrap();
    })
    .await
    .unwrap();
    let path = format!("/api/sessions/{}/follow-up", s.session_id);
    // The server has the record once another client sees it.
    let mut z = connect(&server, &zenobia).await;
    z.pump_until(WAIT, |c| {
        !Record::load(c.doc(sd)).commitments.is_empty()
            && !Record::load(c.doc(sd)).open_questions.is_empty()
    })
    .await
    .expect("the record reaches the server");

    // Only the facilitator starts the next meeting.
    for (who, auth, status) in [
        ("no key", None, 401),
        ("a participant", Some(bearer(&zenobia.ticket)), 403),
        (
            "a wrong key",
            Some(bearer("0123456789abcdef0123456789abcdef0123456789abcdef")),
            403,
        ),
    ] {
        let (got, body) = match &auth {
            Some(a) => api.post_raw_auth(&path, a, &json!({})).await.unwrap(),
            None => api.post(&path, &json!({})).await.unwrap(),
        };
        assert_eq!(got, status, "{who}: {body}");
        assert!(body["error"].is_string(), "{who}: no error message");
    }
    let (status, body) = api
        .post_raw_auth(&path, &bearer(&s.facilitator_key), &json!({}))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let next = Session {
        session_id: body["session_id"].as_str().unwrap().into(),
        join_code: body["join_code"].as_str().unwrap().into(),
        facilitator_key: body["facilitator_key"].as_str().unwrap().into(),
        session_doc: DocumentId::from_url(body["session_doc"].as_str().unwrap()).unwrap(),
    };
    assert_ne!(next.session_id, s.session_id);
    assert_ne!(next.join_code, s.join_code);

    // The new session: same questions, the commitments to follow up, the
    // questions left, the organizations invited — and no person's name.
    let mut fac2 = connect(&server, &api.facilitator(&next).await.unwrap()).await;
    let sd2 = next.session_doc;
    let rec = Record::load(&fac2.doc(sd2));
    let prev = rec.previous.clone().expect("carries the previous meeting");
    assert_eq!(prev.title, "Primo incontro del Tavolo");
    assert_eq!(prev.date, "2026-03-14");
    assert_eq!(prev.commitments.len(), 1);
    assert_eq!(prev.commitments[0].what, "Due educatori il giovedì");
    assert_eq!(prev.commitments[0].status, CarriedStatus::Open);
    assert_eq!(
        prev.open_questions,
        "Chi coordina tra un incontro e l'altro?"
    );
    let orgs: Vec<_> = prev
        .invited
        .iter()
        .map(|i| i.organization.as_str())
        .collect();
    assert_eq!(
        orgs,
        [ILDEBRANDO.1, ZENOBIA.1],
        "invited in alphabetical order"
    );
    assert_eq!(
        (
            rec.meeting.number.as_str(),
            rec.meeting.place.as_str(),
            rec.meeting.date.as_str()
        ),
        ("2", "Sala del Consiglio", "")
    );
    assert!(
        rec.commitments.is_empty(),
        "the new meeting starts with no commitments of its own"
    );
    let first = SessionDoc::load(&fac.doc(sd)).unwrap();
    let second = SessionDoc::load(&fac2.doc(sd2)).unwrap();
    let questions = |d: &SessionDoc| {
        d.phases
            .iter()
            .flat_map(|p| p.questions.iter().map(|q| q.text.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(questions(&first), questions(&second));
    let bytes = fac2.doc(sd2).save();
    for name in [ZENOBIA.0, ILDEBRANDO.0] {
        assert!(
            !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "the new session holds {name}"
        );
    }
    // The facilitator follows it up; a participant's client cannot.
    fac2.change(sd2, |d| {
        record::set_carried_progress(
            d,
            "c000",
            CarriedStatus::InProgress,
            "Il primo giovedì è fissato",
        )
        .unwrap()
    })
    .await
    .unwrap();
    drop(ildebrando);
}
