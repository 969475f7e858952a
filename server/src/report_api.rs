//! The session's outcome as documents: the report (facilitator key), its
//! attendance annex (facilitator key) and a participant's own notes (their
//! ticket). Everything is computed by `tavolo_model::report` from the live
//! documents, so the report can be taken at any moment, not only at the end.
//!
//! Secrets travel in the `Authorization: Bearer …` header, never in the
//! address, so they stay out of logs and browser history. Responses are
//! `Cache-Control: no-store`: a private report must not linger in a cache.

use crate::AppState;
use crate::api::ApiError;
use crate::registry::{DocRole, RegistryError, SessionShared};
use crate::sessions::{self, FacilitatorProof};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tavolo_model::record::Record;
use tavolo_model::report::{self, Format, Lang, ReportOptions, Sources};
use tavolo_model::{QuestionDoc, Role, RosterDoc, SessionDoc};

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    format: Option<String>,
    public: Option<String>,
    lang: Option<String>,
}

/// `GET /api/sessions/{id}/report?format=md|csv|json|html|odt[&public=true][&lang=it|en]`
///
/// `odt` is the editable OpenDocument Text file (LibreOffice Writer, Word),
/// a binary download; the others are text.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let odt = q.format.as_deref() == Some("odt");
    let format = if odt {
        // Not a text `Format`; only checked here, never rendered as one.
        Format::Html
    } else {
        parse_format(q.format.as_deref(), &["md", "csv", "json", "html", "odt"])?
    };
    let public = parse_bool("public", q.public.as_deref())?;
    let lang = parse_lang(q.lang.as_deref())?;
    facilitator(&state, &session_id, &headers).await?;
    let docs = load(&state, &session_id).await?;
    let now = crate::now_ms();
    // The facilitator's version names people: its file says so.
    let what = if public {
        "report-pubblico"
    } else {
        "report-riservato"
    };
    if odt {
        let name = report::download_name_with_extension(
            what,
            &docs.session.title,
            now,
            report::ODT_EXTENSION,
        );
        let body = render(move || {
            let opts = ReportOptions {
                public,
                lang,
                generated_at_ms: now,
            };
            report::build(&docs.sources(), &opts).render_odt()
        })
        .await?;
        return Ok(file(
            body.into_response(),
            report::ODT_CONTENT_TYPE,
            "attachment",
            &name,
        ));
    }
    let name = report::download_name(what, &docs.session.title, now, format);
    let body = render(move || {
        let opts = ReportOptions {
            public,
            lang,
            generated_at_ms: now,
        };
        report::build(&docs.sources(), &opts).render(format)
    })
    .await?;
    Ok(document(body, format, &name))
}

#[derive(Debug, Deserialize)]
pub struct ResultsQuery {
    lang: Option<String>,
}

/// `GET /api/sessions/{id}/results[?lang=it|en]` with the projector's viewer
/// ticket (or the console's): the public report as JSON, for the results
/// view the facilitator steps the projector through. Only the public
/// version, whatever the ticket: what is on the wall names no one.
pub async fn results(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    Query(q): Query<ResultsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = parse_lang(q.lang.as_deref())?;
    let ticket = bearer(&headers)?;
    let grant = sessions::check_ticket(&state.storage, ticket)
        .await
        .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?
        .ok_or_else(|| ApiError::Unauthorized("the ticket is not valid".into()))?;
    if grant.session_id != session_id || matches!(grant.role, Role::Participant(_)) {
        return Err(ApiError::Forbidden(
            "the results view needs the projector's or the console's ticket for this session"
                .into(),
        ));
    }
    let docs = load(&state, &session_id).await?;
    let now = crate::now_ms();
    let body = render(move || {
        let opts = ReportOptions {
            public: true,
            lang,
            generated_at_ms: now,
        };
        report::build(&docs.sources(), &opts).render(Format::Json)
    })
    .await?;
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /api/sessions/{id}/follow-up` with the facilitator's key or
/// console ticket: a new session for the next meeting, with the same
/// phases and questions (read back from this session, so an uploaded
/// template works too), carrying this meeting's commitments (to follow up),
/// the questions it left, the organizations that took part (invited; no
/// names), and the meeting's data but its date and times. Answers like
/// `POST /api/sessions`.
pub async fn follow_up(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    facilitator(&state, &session_id, &headers).await?;
    let docs = load(&state, &session_id).await?;
    let template = tavolo_model::Template::from_session(&docs.session);
    let follow = sessions::FollowUp {
        previous: tavolo_model::record::follow_up_of(
            &docs.record,
            &docs.session.title,
            &docs.roster,
        ),
        meeting: tavolo_model::record::follow_up_meeting(&docs.record.meeting),
    };
    let created = sessions::create_session_from(
        &state.storage,
        &template,
        Some(&docs.session.title),
        Some(&follow),
    )
    .await?;
    tracing::info!(session = %created.session_id, from = %session_id, "follow-up session created");
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "session_id": created.session_id,
            "join_code": created.join_code,
            "facilitator_key": created.facilitator_key,
            "session_doc": created.session_doc,
            "title": created.title,
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct AnnexQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// `GET /api/sessions/{id}/report/attendance?format=md|csv|html` — the
/// attendance list, for the facilitator only (names and organizations).
pub async fn attendance(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    Query(q): Query<AnnexQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = parse_format(q.format.as_deref(), &["md", "csv", "json", "html"])?;
    let lang = parse_lang(q.lang.as_deref())?;
    facilitator(&state, &session_id, &headers).await?;
    let docs = load(&state, &session_id).await?;
    let now = crate::now_ms();
    let name = report::download_name("presenze-riservato", &docs.session.title, now, format);
    let body = render(move || report::attendance_annex(&docs.sources(), lang, now, format)).await?;
    Ok(document(body, format, &name))
}

/// `GET /api/sessions/{id}/my-notes?format=md|csv` with the participant's
/// ticket: what they wrote, in every phase, to keep.
pub async fn my_notes(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    Query(q): Query<AnnexQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = parse_format(q.format.as_deref(), &["md", "csv"])?;
    let lang = parse_lang(q.lang.as_deref())?;
    let ticket = bearer(&headers)?;
    let grant = sessions::check_ticket(&state.storage, ticket)
        .await
        .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?
        .ok_or_else(|| ApiError::Unauthorized("the ticket is not valid".into()))?;
    let Role::Participant(participant) = grant.role else {
        return Err(ApiError::Forbidden(
            "only a participant has notes of their own".into(),
        ));
    };
    if grant.session_id != session_id {
        return Err(ApiError::Forbidden(
            "the ticket is for another session".into(),
        ));
    }
    let mut docs = load(&state, &session_id).await?;
    claim_anonymous_notes(&state, &session_id, &participant.0, &mut docs).await?;
    let now = crate::now_ms();
    let name = report::download_name("le-mie-note", &docs.session.title, now, format);
    let body = render(move || {
        report::participant_notes(&docs.sources(), &participant.0, lang, now, format)
    })
    .await?;
    Ok(document(body, format, &name))
}

/// Marks `who`'s anonymous notes as theirs in a copy made for their own
/// download: the documents do not say who wrote an anonymous note
/// (contract v2); the server knows it from the actor id that created it.
async fn claim_anonymous_notes(
    state: &AppState,
    session_id: &str,
    who: &str,
    docs: &mut Loaded,
) -> Result<(), ApiError> {
    let shared = state
        .registry
        .session(session_id)
        .await
        .map_err(registry_error)?;
    for (&id, &role) in &shared.docs {
        if role != DocRole::Question {
            continue;
        }
        let (actors, me) = (shared.actors.clone(), who.to_string());
        let mine: Vec<String> = read_doc(state, &shared, id, move |d| {
            let owner = actors.participant_of();
            let notes = tavolo_model::read::map_at_path(d, &["notes"]);
            notes
                .map(|n| tavolo_model::read::keys(d, &n))
                .unwrap_or_default()
                .into_iter()
                .filter(|n| tavolo_model::policy::note_author(d, n, &owner).as_deref() == Some(&me))
                .collect()
        })
        .await?;
        if let Some(q) = docs.questions.get_mut(&id.url()) {
            for note_id in mine {
                if let Some(n) = q.notes.get_mut(&note_id) {
                    n.author = who.to_string();
                }
            }
        }
    }
    Ok(())
}

/// The bearer is the session's facilitator: the key (the contract), or the
/// console's own facilitator ticket, so a console reopened without the key
/// in its address can still take the report.
async fn facilitator(
    state: &AppState,
    session_id: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let secret = bearer(headers)?;
    let by_key =
        sessions::check_facilitator(&state.storage, session_id, FacilitatorProof::Key(secret))
            .await;
    match by_key {
        Err(sessions::SessionError::WrongKey) => {
            sessions::check_facilitator(
                &state.storage,
                session_id,
                FacilitatorProof::Ticket(secret),
            )
            .await?;
            Ok(())
        }
        other => other.map(|_| ()).map_err(ApiError::from),
    }
}

/// Every document of a session, read as of now.
struct Loaded {
    session: SessionDoc,
    /// The record of the meeting, from the session document.
    record: Record,
    roster: RosterDoc,
    questions: BTreeMap<String, QuestionDoc>,
}

impl Loaded {
    fn sources(&self) -> Sources<'_> {
        Sources {
            session: &self.session,
            roster: &self.roster,
            questions: &self.questions,
            record: &self.record,
        }
    }
}

async fn load(state: &AppState, session_id: &str) -> Result<Loaded, ApiError> {
    let shared = state
        .registry
        .session(session_id)
        .await
        .map_err(registry_error)?;
    let (session, record) = read_doc(state, &shared, shared.session_doc, |d| {
        (
            SessionDoc::load(d).map_err(|e| e.to_string()),
            Record::load(d),
        )
    })
    .await?;
    let session = session
        .map_err(|e| ApiError::Internal(format!("the session document does not read: {e}")))?;
    let roster = read_doc(state, &shared, shared.roster_doc, RosterDoc::load).await?;
    let mut questions = BTreeMap::new();
    for (&id, &role) in &shared.docs {
        if role != DocRole::Question {
            continue;
        }
        let q = read_doc(state, &shared, id, QuestionDoc::load).await?;
        // Dots are the server's (contract v2): the report counts them from
        // its own record, not from the board's public totals.
        let mut ballots = tavolo_model::ballot::Ballots::new();
        let stored = state
            .storage
            .load_dots(id.to_string())
            .await
            .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?;
        for (who, target, count) in stored {
            tavolo_model::ballot::set(&mut ballots, &who, &target, count);
        }
        let q = if ballots.is_empty() {
            q
        } else {
            tavolo_model::ballot::with_ballots(q, &ballots)
        };
        questions.insert(id.url(), q);
    }
    Ok(Loaded {
        session,
        record,
        roster,
        questions,
    })
}

async fn read_doc<T: Send + 'static>(
    state: &AppState,
    shared: &Arc<SessionShared>,
    id: tavolo_sync::DocumentId,
    f: impl FnOnce(&automerge::Automerge) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let handle = state
        .registry
        .doc(shared, id)
        .await
        .map_err(registry_error)?;
    handle.read(f).await.map_err(|e| {
        tracing::error!(doc = %id, error = %e, "a document could not be read for a report");
        ApiError::Unavailable(
            "part of this session cannot be read right now; the report would be incomplete".into(),
        )
    })
}

fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::NoSuchSession(_) => ApiError::NotFound("unknown session".into()),
        RegistryError::Elsewhere(owner) => ApiError::Elsewhere(owner),
        RegistryError::Storage(_) => {
            ApiError::Unavailable("storage is unavailable, try again".into())
        }
        other => ApiError::Internal(other.to_string()),
    }
}

/// Rendering a large board takes milliseconds of CPU: off the async workers.
async fn render<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("report rendering failed: {e}")))
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::Unauthorized("send the key as an \"Authorization: Bearer <key>\" header".into())
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

fn parse_format(value: Option<&str>, allowed: &[&str]) -> Result<Format, ApiError> {
    let v = value.unwrap_or("html");
    allowed
        .contains(&v)
        .then(|| Format::parse(v))
        .flatten()
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown format \"{v}\"; use one of: {}",
                allowed.join(", ")
            ))
        })
}

fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false, not \"{other}\""
        ))),
    }
}

fn parse_lang(value: Option<&str>) -> Result<Lang, ApiError> {
    match value {
        None => Ok(Lang::It),
        Some(v) => Lang::parse(v)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown language \"{v}\"; use it or en"))),
    }
}

fn document(body: String, format: Format, filename: &str) -> Response {
    // HTML opens in the browser (to read and print); the rest downloads.
    let disposition = if matches!(format, Format::Html) {
        "inline"
    } else {
        "attachment"
    };
    file(
        body.into_response(),
        format.content_type(),
        disposition,
        filename,
    )
}

/// `r` as a file: its type, its name, never cached, never sniffed.
fn file(
    mut r: Response,
    content_type: &'static str,
    disposition: &str,
    filename: &str,
) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Note texts are escaped when rendered; this makes sure that even a
    // mistake there could not run anything.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(report::CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /api/sessions/{id}/export` with the facilitator's key or console
/// ticket: the whole session in one file, for another server
/// ([`crate::transfer`]). Personal data: the facilitator's only.
pub async fn export(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    facilitator(&state, &session_id, &headers).await?;
    let bundle = crate::transfer::export(&state.storage, &session_id).await?;
    let name = report::download_name_with_extension(
        "sessione",
        &bundle.session.title,
        crate::now_ms(),
        "json",
    );
    let body = serde_json::to_vec(&bundle)
        .map_err(|e| ApiError::Internal(format!("export failed: {e}")))?;
    tracing::info!(session = %session_id, bytes = body.len(), "session exported");
    Ok(file(
        Response::new(axum::body::Body::from(body)),
        "application/json",
        "attachment",
        &name,
    ))
}
