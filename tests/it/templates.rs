//! Sessions from templates beyond the built-in one: the built-in source,
//! the check that says where a template is wrong, and uploading one.

use crate::helpers::{connect, spawn_server};
use serde_json::{Value, json};
use tavolo_model::SessionDoc;
use tavolo_model::template::MAX_SOURCE_BYTES;
use tavolo_sync::DocumentId;
use tavolo_tests::{Api, Session};

/// A facilitator's own two-phase template. Line numbers below refer to it.
const OWN: &str = r#"id = "quartiere"
title = "Assemblea di quartiere"
vote_budget = 5

[[categories]]
id = "spazi"
label = "Spazi"

[[categories]]
id = "persone"
label = "Persone"

[[phases]]
id = "ascolto"
title = "Ascolto"

[[phases.questions]]
id = "cosa-manca"
text = "Cosa manca nel quartiere?"
note_kind = "need"
categories = ["spazi", "persone"]

[[phases]]
id = "proposte"
title = "Proposte"

[[phases.questions]]
id = "cosa-facciamo"
text = "Cosa possiamo fare insieme?"
"#;

fn own_with(from: &str, to: &str) -> String {
    assert!(OWN.contains(from), "{from}");
    OWN.replacen(from, to, 1)
}

async fn create_from_source(api: &Api, source: &str) -> (u16, Value) {
    api.post(
        "/api/sessions",
        &json!({"template_source": source, "title": "Assemblea di marzo"}),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_session_starts_from_an_uploaded_template_and_shows_its_phases() {
    let r = spawn_server().await;
    let (status, body) = create_from_source(&r.api, OWN).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["title"], "Assemblea di marzo");
    let session = Session {
        session_id: body["session_id"].as_str().unwrap().into(),
        join_code: body["join_code"].as_str().unwrap().into(),
        facilitator_key: body["facilitator_key"].as_str().unwrap().into(),
        session_doc: DocumentId::from_url(body["session_doc"].as_str().unwrap()).unwrap(),
    };

    let ticket = r.api.join(&session.join_code, "Lucia").await.unwrap();
    let client = connect(&r.server, &ticket).await;
    let doc = SessionDoc::load(&client.doc(ticket.session_doc)).unwrap();
    assert_eq!(doc.template, "quartiere");
    assert_eq!(doc.current_phase, "ascolto");
    assert_eq!(doc.vote_budget, 5);
    let phases: Vec<_> = doc.phases.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(phases, ["Ascolto", "Proposte"]);
    let first = &doc.phases[0].questions[0];
    assert_eq!(first.text, "Cosa manca nel quartiere?");
    let labels: Vec<_> = first.categories.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["Spazi", "Persone"]);
    assert!(first.doc_url.starts_with("automerge:"));

    // The facilitator of an uploaded template's session is like any other.
    r.api.facilitator(&session).await.unwrap();
}

#[tokio::test]
async fn each_invalid_template_is_refused_with_the_line_of_its_problem() {
    let r = spawn_server().await;
    let long = "x".repeat(501);
    let cases: Vec<(String, &str, u64)> = vec![
        ("id = ".into(), "syntax", 1),
        (
            own_with("title = \"Ascolto\"", "titolo = \"Ascolto\""),
            "unknown_field",
            15,
        ),
        (
            own_with("text = \"Cosa manca nel quartiere?\"\n", ""),
            "missing_field",
            17,
        ),
        (
            "id = \"t\"\ntitle = \"T\"\nphases = []\n".into(),
            "no_phases",
            3,
        ),
        ("id = \"t\"\ntitle = \"T\"\n".into(), "no_phases", 1),
        (
            "id = \"t\"\ntitle = \"T\"\n[[phases]]\nid = \"p\"\ntitle = \"P\"\n".into(),
            "no_questions",
            3,
        ),
        (
            own_with("id = \"proposte\"", "id = \"ascolto\""),
            "duplicate_phase_id",
            24,
        ),
        (
            own_with("id = \"cosa-facciamo\"", "id = \"cosa-manca\""),
            "duplicate_question_id",
            28,
        ),
        (
            own_with("id = \"persone\"", "id = \"spazi\""),
            "duplicate_category_id",
            10,
        ),
        (
            own_with("[\"spazi\", \"persone\"]", "[\"spazi\", \"b\"]"),
            "unknown_category",
            21,
        ),
        (
            own_with("id = \"ascolto\"", "id = \"Ascolto!\""),
            "invalid_id",
            14,
        ),
        (
            own_with("title = \"Proposte\"", "title = \"\""),
            "empty_phase_title",
            25,
        ),
        (
            own_with("text = \"Cosa possiamo fare insieme?\"", "text = \" \""),
            "empty_question_text",
            29,
        ),
        (
            own_with("vote_budget = 5", "vote_budget = 0"),
            "vote_budget_out_of_range",
            3,
        ),
        (
            own_with("note_kind = \"need\"", "note_kind = \"wish\""),
            "unknown_note_kind",
            20,
        ),
        (
            own_with(
                "text = \"Cosa possiamo fare insieme?\"",
                &format!("text = \"{long}\""),
            ),
            "text_too_long",
            29,
        ),
    ];
    for (source, code, line) in cases {
        for (path, body) in [
            ("/api/templates/check", json!({"source": source})),
            ("/api/sessions", json!({"template_source": source})),
        ] {
            let (status, body) = r.api.post(path, &body).await.unwrap();
            assert_eq!(status, 422, "{path} {code}: {body}");
            let problem = &body["problems"][0];
            assert_eq!(problem["code"], code, "{path}: {body}");
            assert_eq!(problem["line"], line, "{path} {code}: {body}");
            assert!(problem["column"].as_u64().unwrap() >= 1);
            assert!(problem["params"].is_object(), "{body}");
            assert!(problem["message"].is_string(), "{body}");
            let error = body["error"].as_str().unwrap();
            assert!(
                error.starts_with(&format!("line {line}, column ")),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn the_problem_names_its_path_and_parameters() {
    let r = spawn_server().await;
    let source = own_with("[\"spazi\", \"persone\"]", "[\"spazi\", \"b\"]");
    let (status, body) = r
        .api
        .post("/api/templates/check", &json!({ "source": source }))
        .await
        .unwrap();
    assert_eq!(status, 422);
    assert_eq!(
        body["problems"][0],
        json!({
            "code": "unknown_category",
            "line": 21,
            "column": 24,
            "path": "phases[0].questions[0].categories[1]",
            "params": {"question": "cosa-manca", "category": "b"},
            "message": "question \"cosa-manca\" names unknown category \"b\"",
        })
    );
    assert_eq!(
        body["error"],
        "line 21, column 24: question \"cosa-manca\" names unknown category \"b\""
    );
}

#[tokio::test]
async fn a_template_and_a_template_source_together_are_a_bad_request() {
    let r = spawn_server().await;
    let (status, body) = r
        .api
        .post(
            "/api/sessions",
            &json!({"template": "tavolo-prima-sessione", "template_source": OWN}),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not both"),
        "{body}"
    );
}

#[tokio::test]
async fn a_builtin_source_round_trips_through_the_check() {
    let r = spawn_server().await;
    let resp = reqwest::get(format!(
        "{}/api/templates/tavolo-prima-sessione/source",
        r.server.base
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    let source = resp.text().await.unwrap();
    assert!(source.contains("Legittimazione reciproca"));

    let (status, body) = r
        .api
        .post("/api/templates/check", &json!({ "source": source }))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let t = &body["template"];
    assert_eq!(t["id"], "tavolo-prima-sessione");
    assert_eq!(t["title"], "Prima sessione del Tavolo di Negoziazione");
    let phases = t["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 5);
    assert_eq!(
        phases[0],
        json!({"id": "legittimazione", "title": "Legittimazione reciproca", "questions": 2})
    );

    // The edited copy starts a session like an upload.
    let edited = source.replace("Legittimazione reciproca", "Chi siamo");
    let (status, body) = create_from_source(&r.api, &edited).await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = r.api.get("/api/templates/nope/source").await.unwrap();
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nope"), "{body}");
}

#[tokio::test]
async fn a_template_at_the_size_cap_fits_in_the_request_and_a_larger_one_is_a_problem() {
    let r = spawn_server().await;
    // Quotes and newlines double in JSON: the request is well over 64 KiB.
    let padding_line = "# \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\n";
    let mut source = OWN.to_string();
    while source.len() + padding_line.len() <= MAX_SOURCE_BYTES {
        source.push_str(padding_line);
    }
    assert!(
        serde_json::to_string(&json!({ "source": source }))
            .unwrap()
            .len()
            > 100_000
    );
    let (status, body) = r
        .api
        .post("/api/templates/check", &json!({ "source": source }))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = create_from_source(&r.api, &source).await;
    assert_eq!(status, 201, "{body}");

    source.push_str(padding_line);
    let (status, body) = r
        .api
        .post("/api/templates/check", &json!({ "source": source }))
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["code"], "too_large");
}

#[tokio::test]
async fn a_check_without_a_source_is_422() {
    let r = spawn_server().await;
    let (status, body) = r
        .api
        .post("/api/templates/check", &json!({}))
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("source"), "{body}");
}
