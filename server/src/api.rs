//! The HTTP API of the public contract. Every error is `{"error": "…"}` with
//! a 4xx status; 5xx details go to the log, never to the client.

use crate::AppState;
use crate::sessions::{self, JoinRequest, SessionError};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tavolo_model::Template;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    /// A template that does not pass its checks: 422 with the problems.
    #[error("{0}")]
    InvalidTemplate(tavolo_model::template::TemplateError),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Unavailable(String),
    /// Another node serves the session (its base URL): the request is
    /// passed on there (`forward::route`), never answered as is.
    #[error("this session is served by another node")]
    Elsewhere(String),
    /// A refusal a page translates: `{"error", "code"}`.
    #[error("{message}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) | ApiError::InvalidTemplate(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Elsewhere(_) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::Coded { status, .. } => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Elsewhere(owner) = &self {
            let mut r = (status, Json(json!({ "error": self.to_string() }))).into_response();
            r.extensions_mut()
                .insert(crate::forward::Misdirected(owner.clone()));
            return r;
        }
        if let ApiError::Coded { code, message, .. } = &self {
            return (status, Json(json!({ "error": message, "code": code }))).into_response();
        }
        if let ApiError::InvalidTemplate(e) = &self {
            let body = json!({ "error": e.to_string(), "problems": e.problems() });
            return (status, Json(body)).into_response();
        }
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            match self {
                ApiError::Unavailable(m) => m,
                _ => "internal error".to_string(),
            }
        } else {
            self.to_string()
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl From<crate::transfer::TransferError> for ApiError {
    fn from(e: crate::transfer::TransferError) -> Self {
        use crate::transfer::TransferError as T;
        match e {
            T::UnknownSession => ApiError::NotFound("unknown session".into()),
            T::Invalid(m) => ApiError::Unprocessable(m),
            T::Conflict(m) => ApiError::Coded {
                status: StatusCode::CONFLICT,
                code: "already_exists",
                message: m,
            },
            T::Storage(_) => ApiError::Unavailable("storage is unavailable, try again".into()),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Invalid(m) => ApiError::Unprocessable(m),
            SessionError::UnknownJoinCode | SessionError::UnknownSession => {
                ApiError::NotFound(e.to_string())
            }
            SessionError::WrongKey => ApiError::Forbidden(e.to_string()),
            SessionError::JoiningClosed => ApiError::Coded {
                status: StatusCode::FORBIDDEN,
                code: "joining_closed",
                message: e.to_string(),
            },
            SessionError::SessionFull => ApiError::Coded {
                status: StatusCode::CONFLICT,
                code: "session_full",
                message: e.to_string(),
            },
            SessionError::Unavailable(m) => ApiError::Unavailable(m),
            SessionError::Storage(_) => {
                ApiError::Unavailable("storage is unavailable, try again".into())
            }
            SessionError::Registry(crate::registry::RegistryError::Elsewhere(owner)) => {
                ApiError::Elsewhere(owner)
            }
            SessionError::Registry(_) | SessionError::Internal(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

/// `Json<T>` whose rejections are `{"error": …}` like every other error.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "expected a JSON body (Content-Type: application/json)".into(),
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::Unprocessable(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest(format!(
                "request body is not valid JSON: {}",
                e.body_text()
            ))),
            Err(JsonRejection::BytesRejection(e)) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Err(ApiError::PayloadTooLarge(
                        "request body is too large".into(),
                    ))
                } else {
                    Err(ApiError::BadRequest(e.body_text()))
                }
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateSession {
    pub template: Option<String>,
    /// A template's TOML, instead of a built-in template's id.
    pub template_source: Option<String>,
    pub title: Option<String>,
}

pub async fn create_session(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<impl IntoResponse, ApiError> {
    let template = crate::templates_api::session_template(
        body.template.as_deref(),
        body.template_source.as_deref(),
    )?;
    let template_id = template.id.as_str();
    let created =
        sessions::create_session(&state.storage, &template, body.title.as_deref()).await?;
    tracing::info!(
        session = %created.session_id,
        template = template_id,
        uploaded = body.template_source.is_some(),
        "session created"
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "session_id": created.session_id,
            "join_code": created.join_code,
            "facilitator_key": created.facilitator_key,
            "session_doc": created.session_doc,
            "title": created.title,
        })),
    ))
}

pub async fn join(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<JoinRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let valid = body.validate()?;
    let joined = sessions::join(&state.storage, &state.registry, valid).await?;
    tracing::info!(session = %joined.session_id, participant = %joined.participant_id, "participant joined");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "participant_id": joined.participant_id,
            "ticket": joined.ticket,
            "session_doc": joined.session_doc,
            "session_id": joined.session_id,
            "expires_at": joined.expires_at,
        })),
    ))
}

/// `GET /api/join/{code}`: what the join page shows before anyone sends
/// anything (the privacy notice's who and whom to ask). Nothing personal.
pub async fn join_info(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let code = sessions::normalize_join_code(&code);
    let session = state
        .storage
        .session_by_join_code(code)
        .await
        .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?
        .ok_or_else(|| ApiError::from(SessionError::UnknownJoinCode))?;
    let shared = state
        .registry
        .session(&session.id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let handle = state
        .registry
        .doc(&shared, shared.session_doc)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let (controller, contact) = handle
        .read(|d| {
            tavolo_model::SessionDoc::load(d)
                .map(|s| (s.privacy_controller, s.privacy_contact))
                .unwrap_or_default()
        })
        .await
        .map_err(ApiError::Unavailable)?;
    Ok(Json(json!({
        "title": session.title,
        "joining_open": session.joining_open,
        "privacy": { "controller": controller, "contact": contact },
    })))
}

/// `DELETE /api/sessions/{id}` by the facilitator: closes every connection
/// and deletes everything the session stored.
pub async fn delete_session(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(session_id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let session = facilitator_bearer(&state, &session_id, &headers).await?;
    state
        .registry
        .delete_session(&session.id)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the session could not be deleted: {e}")))?;
    tracing::info!(session = %session.id, "session deleted by its facilitator");
    Ok(Json(json!({ "deleted": true })))
}

#[derive(Debug, Deserialize)]
pub struct FacilitatorRequest {
    pub session_id: Option<String>,
    pub facilitator_key: Option<String>,
}

pub async fn facilitator(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<FacilitatorRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session_id = body
        .session_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Unprocessable("session_id is required".into()))?;
    let key = body
        .facilitator_key
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Unprocessable("facilitator_key is required".into()))?;
    let (ticket, session, expires_at) =
        sessions::facilitator_ticket(&state.storage, &session_id, &key).await?;
    Ok(grant_response(&ticket, &session, expires_at))
}

/// A ticket for the facilitator or the projector, with what their page shows.
fn grant_response(
    ticket: &str,
    session: &crate::storage::SessionRow,
    expires_at: i64,
) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::CREATED,
        Json(json!({
            "ticket": ticket,
            "session_doc": session.session_doc,
            "join_code": session.join_code,
            "title": session.title,
            "expires_at": expires_at,
            "joining_open": session.joining_open,
        })),
    )
}

/// `Authorization: Bearer <secret>`.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The session, if the bearer is its facilitator key or a facilitator ticket.
async fn facilitator_bearer(
    state: &AppState,
    session_id: &str,
    headers: &axum::http::HeaderMap,
) -> Result<crate::storage::SessionRow, ApiError> {
    let secret = bearer(headers).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the facilitator key or ticket as \"Authorization: Bearer …\"".into(),
        )
    })?;
    match sessions::check_facilitator(
        &state.storage,
        session_id,
        sessions::FacilitatorProof::Key(secret),
    )
    .await
    {
        Err(SessionError::WrongKey) => Ok(sessions::check_facilitator(
            &state.storage,
            session_id,
            sessions::FacilitatorProof::Ticket(secret),
        )
        .await?),
        other => Ok(other?),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RotateRequest {
    #[serde(default)]
    pub revoke_participants: bool,
}

/// `POST /api/sessions/{id}/rotate-key`: a new facilitator key; every other
/// console and projector is disconnected (their tickets revoked), and with
/// `revoke_participants` every participant too.
pub async fn rotate_key(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(session_id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let session = facilitator_bearer(&state, &session_id, &headers).await?;
    let body: RotateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("request body is not valid JSON: {e}")))?
    };
    let revoke_participants = body.revoke_participants;
    let (key, ticket, expires_at) =
        sessions::rotate_key(&state.storage, &session, revoke_participants).await?;
    if let Ok(shared) = state.registry.session(&session.id).await {
        shared.presence.revoke_where(|r| {
            revoke_participants
                || matches!(
                    r,
                    tavolo_model::Role::Facilitator | tavolo_model::Role::Viewer
                )
        });
    }
    tracing::info!(session = %session.id, revoke_participants, "facilitator key rotated");
    let (_, Json(mut body)) = grant_response(&ticket, &session, expires_at);
    body["facilitator_key"] = json!(key);
    Ok((StatusCode::OK, Json(body)))
}

#[derive(Debug, Deserialize)]
pub struct JoiningRequest {
    pub open: bool,
}

/// `POST /api/sessions/{id}/joining`: the facilitator opens or closes joining.
pub async fn joining(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(session_id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<JoiningRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = facilitator_bearer(&state, &session_id, &headers).await?;
    state
        .storage
        .set_joining_open(session.id.clone(), body.open)
        .await
        .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?;
    tracing::info!(session = %session.id, open = body.open, "joining set");
    Ok(Json(json!({ "joining_open": body.open })))
}

/// `GET /api/grant` with `Authorization: Bearer <ticket>`: what the ticket
/// grants (a projector opened with its own link learns its session).
pub async fn grant(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let ticket = bearer(&headers).ok_or_else(|| {
        ApiError::Unauthorized("send the ticket as \"Authorization: Bearer …\"".into())
    })?;
    let hash = sessions::hash_secret(ticket);
    let grant = sessions::check_ticket(&state.storage, ticket)
        .await
        .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?
        .ok_or_else(|| ApiError::Unauthorized("the ticket is not valid".into()))?;
    let session = state
        .storage
        .session(grant.session_id.clone())
        .await
        .map_err(|_| ApiError::Unavailable("storage is unavailable, try again".into()))?
        .ok_or_else(|| ApiError::Unauthorized("the ticket is not valid".into()))?;
    let expires_at = state
        .storage
        .ticket(hash)
        .await
        .ok()
        .flatten()
        .map(|t| t.expires_at);
    let role = match grant.role {
        tavolo_model::Role::Facilitator => "facilitator",
        tavolo_model::Role::Viewer => "viewer",
        tavolo_model::Role::Participant(_) => "participant",
    };
    let mut body = json!({
        "role": role,
        "session_id": session.id,
        "session_doc": session.session_doc,
        "title": session.title,
        "joining_open": session.joining_open,
        "expires_at": expires_at,
    });
    if role != "participant" {
        body["join_code"] = json!(session.join_code);
    }
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ProjectorRequest {
    pub session_id: Option<String>,
    pub facilitator_key: Option<String>,
    /// The facilitator's own ticket, instead of the key.
    pub ticket: Option<String>,
}

/// A read-only ticket for the projector screen, granted to whoever holds
/// the facilitator key or a facilitator ticket of the session.
pub async fn projector(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<ProjectorRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session_id = body
        .session_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Unprocessable("session_id is required".into()))?;
    let key = body.facilitator_key.filter(|s| !s.is_empty());
    let ticket = body.ticket.filter(|s| !s.is_empty());
    let proof = match (&key, &ticket) {
        (Some(k), _) => sessions::FacilitatorProof::Key(k),
        (None, Some(t)) => sessions::FacilitatorProof::Ticket(t),
        (None, None) => {
            return Err(ApiError::Unprocessable(
                "facilitator_key or ticket is required".into(),
            ));
        }
    };
    let (ticket, session, expires_at) =
        sessions::viewer_ticket(&state.storage, &session_id, proof).await?;
    Ok(grant_response(&ticket, &session, expires_at))
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    pub session_id: Option<String>,
    pub facilitator_key: Option<String>,
    /// The facilitator's own ticket, instead of the key.
    pub ticket: Option<String>,
    pub participant_id: Option<String>,
}

/// Removes a participant: their tickets stop working and their open
/// connections close with 4016. Their notes stay (the facilitator can hide
/// or remove them).
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session_id = body
        .session_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Unprocessable("session_id is required".into()))?;
    let participant = body
        .participant_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Unprocessable("participant_id is required".into()))?;
    let proof = match (&body.facilitator_key, &body.ticket) {
        (Some(k), _) if !k.is_empty() => sessions::FacilitatorProof::Key(k),
        (_, Some(t)) if !t.is_empty() => sessions::FacilitatorProof::Ticket(t),
        _ => {
            return Err(ApiError::Unprocessable(
                "facilitator_key or ticket is required".into(),
            ));
        }
    };
    sessions::check_facilitator(&state.storage, &session_id, proof).await?;
    state
        .storage
        .revoke_participant(session_id.clone(), participant.clone())
        .await
        .map_err(|e| ApiError::Unavailable(format!("storage is unavailable: {e}")))?;
    if let Ok(shared) = state.registry.session(&session_id).await {
        shared.presence.revoke(&participant);
        // Not counted as attending any more (their notes stay).
        let pid = participant.clone();
        let marked = match state.registry.doc(&shared, shared.roster_doc).await {
            Ok(roster) => {
                roster
                    .change(move |tx| {
                        tavolo_model::ops::mark_participant_removed(tx, &pid)
                            .map_err(|e| e.to_string())
                    })
                    .await
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = marked {
            tracing::error!(error = %e, "a removed participant could not be marked in the roster");
        }
    }
    tracing::info!(session = %session_id, %participant, "participant removed");
    Ok(Json(json!({ "revoked": participant })))
}

/// The server's clock, so that screens agree on a timer's remaining time
/// even when their own clocks are off.
pub async fn time() -> impl IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(json!({ "now": crate::now_ms() })),
    )
}

/// The templates a session can start from.
pub async fn templates() -> impl IntoResponse {
    let list: Vec<_> = Template::builtins()
        .into_iter()
        .map(|t| json!({ "id": t.id, "title": t.title, "description": t.description }))
        .collect();
    Json(list)
}

/// `GET /healthz`: 200 `ok`, or 200 `degraded` when stored chunks were set
/// aside in quarantine (damaged boards answer their peers with an error);
/// 503 with `{"error": …}` while the database cannot be read or saving
/// fails.
/// `GET /metrics`: counts and latencies in Prometheus' text format
/// ([`crate::metrics`]); no names, texts or session ids.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let (sessions, documents) = state.registry.open_counts();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::render_with(sessions, documents),
    )
        .into_response()
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let health = match state.storage.health().await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "health check: storage unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": "storage is unavailable" })),
            )
                .into_response();
        }
    };
    let quarantine = json!({
        "chunks": health.quarantined_chunks,
        "documents": health.quarantined_docs,
    });
    if health.write_failing {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "failing",
                "error": "the server cannot save right now; changes are held and retried",
                "quarantine": quarantine,
            })),
        )
            .into_response();
    }
    let status = if health.quarantined_chunks > 0 {
        "degraded"
    } else {
        "ok"
    };
    Json(json!({ "status": status, "quarantine": quarantine })).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// `POST /api/sessions/import`: a session exported from another server
/// ([`crate::transfer`]), created here under the same ids.
pub async fn import_session(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
) -> Result<impl IntoResponse, ApiError> {
    let headers = request.headers();
    // Only the operator imports: a bundle is a whole session, tickets
    // included, and its documents are loaded whole to check them.
    let Some(expected) = &state.import_token else {
        return Err(ApiError::Forbidden(
            "importing sessions is off on this server: its operator turns it on with --import-token".into(),
        ));
    };
    let given = bearer(headers).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the server's import token as \"Authorization: Bearer …\"".into(),
        )
    })?;
    if sessions::hash_secret(given) != *expected {
        return Err(ApiError::Unauthorized(
            "the import token is not valid".into(),
        ));
    }
    // Read only once the token is checked.
    let body = axum::body::to_bytes(request.into_body(), crate::MAX_IMPORT_BODY)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!(
                "a session export is at most {} MB",
                crate::MAX_IMPORT_BODY >> 20
            ))
        })?;
    let bundle: crate::transfer::Bundle = serde_json::from_slice(&body).map_err(|e| {
        ApiError::Unprocessable(format!("this is not a Tavolo session export: {e}"))
    })?;
    let imported = crate::transfer::import(&state.storage, bundle).await?;
    tracing::info!(session = %imported.session_id, "session imported");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "session_id": imported.session_id,
            "join_code": imported.join_code,
            "session_doc": imported.session_doc,
        })),
    ))
}
