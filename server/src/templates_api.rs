//! Templates beyond the built-in ones: the TOML of a built-in template to
//! start a copy from, a check that says where a facilitator's own TOML is
//! wrong, and which template a new session starts from.
//!
//! An uploaded template is not stored as a template: it is checked by the
//! same rules as the built-in ones ([`Template::parse`]) and becomes the
//! session's documents, which carry everything a board needs.

use crate::api::{ApiError, ApiJson};
use axum::Json;
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use tavolo_model::Template;
use tavolo_model::template::{DEFAULT_TEMPLATE_ID, MAX_SOURCE_BYTES};

/// Largest body of a request that carries a template source: the source's
/// own cap, twice over for JSON escaping (quotes and newlines), plus room
/// for the other fields. A larger source within it is refused by the
/// template's own check, with a problem the editor can show.
pub const MAX_TEMPLATE_BODY: usize = 4 * MAX_SOURCE_BYTES;

/// `GET /api/templates/{id}/source`: a built-in template's TOML, comments
/// and all, as `text/plain`.
pub async fn source(Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let source = Template::builtin_source(&id)
        .ok_or_else(|| ApiError::NotFound(format!("unknown template \"{id}\"")))?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        source,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CheckRequest {
    pub source: Option<String>,
}

/// `POST /api/templates/check {"source"}`: 200 with an outline of the
/// template, or 422 with its problems.
pub async fn check(ApiJson(body): ApiJson<CheckRequest>) -> Result<impl IntoResponse, ApiError> {
    let source = body
        .source
        .ok_or_else(|| ApiError::Unprocessable("source is required".into()))?;
    let template = Template::parse(&source).map_err(ApiError::InvalidTemplate)?;
    Ok(Json(json!({ "template": outline(&template) })))
}

/// What the start page shows of a template before a session is created.
pub fn outline(t: &Template) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "vote_budget": t.vote_budget,
        "categories": t.categories.len(),
        "phases": t.phases.iter().map(|p| json!({
            "id": p.id,
            "title": p.title,
            "questions": p.questions.len(),
        })).collect::<Vec<_>>(),
    })
}

/// The template a new session starts from: a built-in one by id
/// (`template`, the default when both are absent) or the caller's own TOML
/// (`template_source`), never both.
pub fn session_template(id: Option<&str>, source: Option<&str>) -> Result<Template, ApiError> {
    match (id, source) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "give either template or template_source, not both".into(),
        )),
        (None, Some(source)) => Template::parse(source).map_err(ApiError::InvalidTemplate),
        (id, None) => {
            let id = id.unwrap_or(DEFAULT_TEMPLATE_ID);
            Template::builtin(id).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "unknown template \"{id}\"; available: {}",
                    Template::builtins()
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        }
    }
}

/// The body limit for routes that carry a template source; it replaces the
/// router's smaller default for them.
pub fn body_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_TEMPLATE_BODY)
}
