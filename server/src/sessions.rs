//! Creating sessions from templates, joining them, and the tickets that let
//! a WebSocket in.

use crate::registry::{Registry, RegistryError};
use crate::storage::{
    NewDocument, NewTicket, ParticipantRow, SessionRow, Storage, StorageError, TicketFor,
};
use automerge::Automerge;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tavolo_model::ops::{self, SessionInit};
use tavolo_model::{Attendance, Participant, ParticipantId, Role, Sector, Template, Tier};
use tavolo_sync::DocumentId;

/// How long a participant's ticket stays valid: long enough to come back to
/// a session's results the following weeks, short enough not to be a
/// permanent key.
pub const TICKET_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;
/// A facilitator's ticket: a working day. The console keeps the key in the
/// tab and asks for a new one when it expires; a ticket that leaked (a
/// proxy log, a screenshot) is worth a day at most, and rotating the key
/// revokes it at once.
pub const FACILITATOR_TICKET_LIFETIME_MS: i64 = 24 * 3600 * 1000;
/// A projector's read-only ticket: set up the day before, used on the day.
pub const VIEWER_TICKET_LIFETIME_MS: i64 = 3 * 24 * 3600 * 1000;
/// Participants one session takes (ARCHITECTURE.md, "Quotas"): the largest
/// assemblies Tavolo is meant for, with room to spare.
pub const MAX_PARTICIPANTS: i64 = 1_000;

/// Join codes avoid characters that read alike (0/O, 1/I/L).
const JOIN_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const JOIN_CODE_LEN: usize = 6;

pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_ORGANIZATION_CHARS: usize = 120;
pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Invalid(String),
    #[error("no session has this join code")]
    UnknownJoinCode,
    #[error("no such session")]
    UnknownSession,
    #[error("wrong facilitator key")]
    WrongKey,
    #[error("joining is closed for this session; ask the facilitator")]
    JoiningClosed,
    #[error("this session is full")]
    SessionFull,
    /// The session cannot take this now (its stored data is damaged, or
    /// its roster cannot be written); nothing was kept.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Internal(String),
}

/// Refuses control characters (NUL, line breaks, tabs…) in a one-line
/// field: nobody types them in a name or a title, and PostgreSQL's `TEXT`
/// cannot hold NUL, so they would otherwise fail deep in storage.
pub fn refuse_control_characters(field: &str, value: &str) -> Result<(), SessionError> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(SessionError::Invalid(format!(
            "{field} may not contain control characters (found U+{:04X})",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A fresh join code (an import whose code is taken here gets one).
pub fn new_join_code() -> String {
    random_join_code()
}

fn random_join_code() -> String {
    let mut rng = rand::rng();
    (0..JOIN_CODE_LEN)
        .map(|_| JOIN_CODE_ALPHABET[rng.random_range(0..JOIN_CODE_ALPHABET.len())] as char)
        .collect()
}

/// Upper-cases a typed join code and drops spaces and dashes.
pub fn normalize_join_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

#[derive(Debug, Clone)]
pub struct CreatedSession {
    pub session_id: String,
    pub join_code: String,
    pub facilitator_key: String,
    pub session_doc: String,
    pub title: String,
}

fn single_change_doc(
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), ops::OpError>,
) -> Result<Automerge, SessionError> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    f(&mut tx).map_err(|e| SessionError::Internal(e.to_string()))?;
    tx.commit();
    Ok(doc)
}

/// Creates a session and all its documents from a template, durably.
pub async fn create_session(
    storage: &Storage,
    template: &Template,
    title: Option<&str>,
) -> Result<CreatedSession, SessionError> {
    create_session_from(storage, template, title, None).await
}

/// What a session started from a previous one begins with: what it carries
/// (commitments, questions, organizations) and the meeting's data.
#[derive(Debug)]
pub struct FollowUp {
    pub previous: tavolo_model::record::Previous,
    pub meeting: tavolo_model::record::Meeting,
}

/// [`create_session`], carrying `follow` from a previous session when given.
pub async fn create_session_from(
    storage: &Storage,
    template: &Template,
    title: Option<&str>,
    follow: Option<&FollowUp>,
) -> Result<CreatedSession, SessionError> {
    let title = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(&template.title)
        .to_string();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(SessionError::Invalid(format!(
            "title may be at most {MAX_TITLE_CHARS} characters"
        )));
    }
    refuse_control_characters("title", &title)?;
    let roster_id = DocumentId::random();
    let session_doc_id = DocumentId::random();
    let mut question_urls = HashMap::new();
    let mut docs: Vec<(DocumentId, &'static str, Automerge)> = Vec::new();
    for q in template.phases.iter().flat_map(|p| &p.questions) {
        let id = DocumentId::random();
        question_urls.insert(q.id.clone(), id.url());
        docs.push((
            id,
            "question",
            single_change_doc(|tx| ops::init_question_doc(tx))?,
        ));
    }
    docs.push((
        roster_id,
        "roster",
        single_change_doc(|tx| ops::init_roster_doc(tx))?,
    ));
    let roster_url = roster_id.url();
    let session = single_change_doc(|tx| {
        ops::init_session_doc(
            tx,
            &SessionInit {
                template,
                title: &title,
                roster_url: &roster_url,
                question_urls: &question_urls,
            },
        )?;
        if let Some(f) = follow {
            use tavolo_model::record::{self, MeetingField};
            record::init_previous(tx, &f.previous)?;
            for field in MeetingField::ALL {
                let value = match field {
                    MeetingField::Title => &f.meeting.title,
                    MeetingField::Number => &f.meeting.number,
                    MeetingField::Place => &f.meeting.place,
                    MeetingField::Responsible => &f.meeting.responsible,
                    MeetingField::Facilitators => &f.meeting.facilitators,
                    MeetingField::Date | MeetingField::Start | MeetingField::End => continue,
                };
                if !value.is_empty() {
                    record::set_meeting_field(tx, field, value)?;
                }
            }
        }
        Ok(())
    })?;
    docs.push((session_doc_id, "session", session));

    let session_id = uuid::Uuid::new_v4().simple().to_string();
    let facilitator_key = random_hex(24);
    let now = crate::now_ms();
    let documents: Vec<NewDocument> = docs
        .iter()
        .map(|(id, kind, doc)| NewDocument {
            id: id.to_string(),
            kind: (*kind).to_string(),
            snapshot: doc.save(),
        })
        .collect();

    // A join code may collide with an existing one: try a few.
    for _ in 0..8 {
        let row = SessionRow {
            id: session_id.clone(),
            title: title.clone(),
            template: template.id.clone(),
            join_code: random_join_code(),
            facilitator_key_hash: hash_secret(&facilitator_key),
            session_doc: session_doc_id.url(),
            roster_doc: roster_url.clone(),
            created_at: now,
            joining_open: true,
        };
        match storage.create_session(row.clone(), documents.clone()).await {
            Ok(()) => {
                return Ok(CreatedSession {
                    session_id,
                    join_code: row.join_code,
                    facilitator_key,
                    session_doc: row.session_doc,
                    title,
                });
            }
            Err(StorageError::JoinCodeTaken) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(SessionError::Internal(
        "could not find a free join code".into(),
    ))
}

/// A join request as received (every field optional so that each missing
/// one gets its own message).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct JoinRequest {
    pub join_code: Option<String>,
    pub name: Option<String>,
    pub organization: Option<String>,
    pub sector: Option<String>,
    pub tier: Option<String>,
    pub attendance: Option<String>,
    /// The resoconto may list their organization among those present
    /// (absent: no).
    pub list_organization: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct ValidJoin {
    pub join_code: String,
    pub name: String,
    pub organization: String,
    pub sector: Sector,
    pub tier: Tier,
    pub attendance: Attendance,
    /// Only with an organization: there is nothing to list otherwise.
    pub listed: bool,
}

impl JoinRequest {
    pub fn validate(&self) -> Result<ValidJoin, SessionError> {
        let invalid = |m: String| SessionError::Invalid(m);
        let join_code = normalize_join_code(self.join_code.as_deref().unwrap_or_default());
        if join_code.is_empty() {
            return Err(invalid("join_code is required".into()));
        }
        let name = self.name.as_deref().unwrap_or_default().trim().to_string();
        if name.is_empty() {
            return Err(invalid("name is required".into()));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(format!(
                "name may be at most {MAX_NAME_CHARS} characters"
            )));
        }
        refuse_control_characters("name", &name)?;
        let organization = self
            .organization
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string();
        if organization.chars().count() > MAX_ORGANIZATION_CHARS {
            return Err(invalid(format!(
                "organization may be at most {MAX_ORGANIZATION_CHARS} characters"
            )));
        }
        refuse_control_characters("organization", &organization)?;
        let sector = parse_choice(
            self.sector.as_deref(),
            "sector",
            Sector::parse,
            Sector::expected,
        )?;
        let tier = parse_choice(self.tier.as_deref(), "tier", Tier::parse, Tier::expected)?;
        let attendance = parse_choice(
            self.attendance.as_deref(),
            "attendance",
            Attendance::parse,
            Attendance::expected,
        )?;
        let listed = self.list_organization.unwrap_or(false) && !organization.is_empty();
        Ok(ValidJoin {
            join_code,
            name,
            organization,
            sector,
            tier,
            attendance,
            listed,
        })
    }
}

fn parse_choice<T>(
    value: Option<&str>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<T, SessionError> {
    match value {
        None => Err(SessionError::Invalid(format!(
            "{field} is required (one of {})",
            expected()
        ))),
        Some(v) => parse(v).ok_or_else(|| {
            SessionError::Invalid(format!(
                "{field} must be one of {}, not \"{v}\"",
                expected()
            ))
        }),
    }
}

#[derive(Debug, Clone)]
pub struct Joined {
    pub participant_id: ParticipantId,
    pub ticket: String,
    pub session_id: String,
    pub session_doc: String,
    pub expires_at: i64,
}

/// Adds a participant: a roster entry (through the roster's actor, so every
/// connected screen sees them) and a ticket, both durable before returning.
pub async fn join(
    storage: &Storage,
    registry: &Registry,
    req: ValidJoin,
) -> Result<Joined, SessionError> {
    let session = storage
        .session_by_join_code(req.join_code.clone())
        .await?
        .ok_or(SessionError::UnknownJoinCode)?;
    // A session whose data is damaged cannot show a newcomer anything:
    // refuse before writing them down.
    if !session.joining_open {
        return Err(SessionError::JoiningClosed);
    }
    if storage.participant_count(session.id.clone()).await? >= MAX_PARTICIPANTS {
        return Err(SessionError::SessionFull);
    }
    let shared = registry.session(&session.id).await?;
    if shared.damaged.get().is_some() {
        return Err(SessionError::Unavailable(
            "this session's stored data is damaged; the facilitator has been told in the server log".into(),
        ));
    }
    let roster = registry.doc(&shared, shared.roster_doc).await?;
    let participant_id = ParticipantId::random();
    let ticket = random_hex(32);
    let now = crate::now_ms();
    let expires_at = now + TICKET_LIFETIME_MS;
    let row = ParticipantRow {
        id: participant_id.to_string(),
        session_id: session.id.clone(),
        name: req.name.clone(),
        organization: req.organization.clone(),
        sector: req.sector.as_str().into(),
        tier: req.tier.as_str().into(),
        attendance: req.attendance.as_str().into(),
        created_at: now,
    };
    storage
        .add_participant(row, hash_secret(&ticket), expires_at)
        .await?;

    let entry = Participant {
        name: req.name,
        organization: req.organization,
        sector: req.sector.as_str().into(),
        tier: req.tier.as_str().into(),
        attendance: req.attendance.as_str().into(),
        joined_at: now,
        removed: false,
        listed: req.listed,
    };
    let id_for_roster = participant_id.clone();
    let written = roster
        .change(move |tx| {
            ops::put_participant(tx, &id_for_roster, &entry).map_err(|e| e.to_string())
        })
        .await;
    if let Err(reason) = written {
        // Nobody got the ticket: take the half-made participant back, so
        // no one exists in the database who is not in the roster.
        tracing::error!(session = %session.id, %reason, "a join could not write the roster");
        if let Err(e) = storage.remove_participant(participant_id.to_string()).await {
            tracing::error!(error = %e, "the half-made participant could not be taken back");
        }
        return Err(SessionError::Unavailable(
            "this session cannot take new participants right now; try again in a moment".into(),
        ));
    }
    Ok(Joined {
        participant_id,
        ticket,
        session_id: session.id,
        session_doc: session.session_doc,
        expires_at,
    })
}

/// Issues a facilitator ticket to whoever holds the session's facilitator key.
pub async fn facilitator_ticket(
    storage: &Storage,
    session_id: &str,
    key: &str,
) -> Result<(String, SessionRow, i64), SessionError> {
    let session = storage
        .session(session_id.to_string())
        .await?
        .ok_or(SessionError::UnknownSession)?;
    if hash_secret(key) != session.facilitator_key_hash {
        return Err(SessionError::WrongKey);
    }
    let (ticket, expires_at) = issue_ticket(storage, &session.id, TicketFor::Facilitator).await?;
    Ok((ticket, session, expires_at))
}

/// A new facilitator key: the old one stops working and every facilitator
/// and viewer ticket (every ticket, with `revoke_participants`) is revoked;
/// the caller closes their sockets. Returns the key and a ticket for the
/// console that asked.
pub async fn rotate_key(
    storage: &Storage,
    session: &SessionRow,
    revoke_participants: bool,
) -> Result<(String, String, i64), SessionError> {
    let key = random_hex(32);
    storage
        .rotate_key(session.id.clone(), hash_secret(&key), revoke_participants)
        .await?;
    let (ticket, expires_at) = issue_ticket(storage, &session.id, TicketFor::Facilitator).await?;
    Ok((key, ticket, expires_at))
}

/// How the projector proves it was sent by the facilitator.
#[derive(Debug)]
pub enum FacilitatorProof<'a> {
    Key(&'a str),
    /// A facilitator ticket of the session (the console's own).
    Ticket(&'a str),
}

/// A read-only ticket for a screen the facilitator puts up (the projector).
pub async fn viewer_ticket(
    storage: &Storage,
    session_id: &str,
    proof: FacilitatorProof<'_>,
) -> Result<(String, SessionRow, i64), SessionError> {
    let session = check_facilitator(storage, session_id, proof).await?;
    let (ticket, expires_at) = issue_ticket(storage, &session.id, TicketFor::Viewer).await?;
    Ok((ticket, session, expires_at))
}

/// The session, if `proof` shows its facilitator is asking.
pub async fn check_facilitator(
    storage: &Storage,
    session_id: &str,
    proof: FacilitatorProof<'_>,
) -> Result<SessionRow, SessionError> {
    let session = storage
        .session(session_id.to_string())
        .await?
        .ok_or(SessionError::UnknownSession)?;
    let allowed = match proof {
        FacilitatorProof::Key(key) => hash_secret(key) == session.facilitator_key_hash,
        FacilitatorProof::Ticket(t) => check_ticket(storage, t)
            .await?
            .is_some_and(|g| g.session_id == session.id && g.role == Role::Facilitator),
    };
    if allowed {
        Ok(session)
    } else {
        Err(SessionError::WrongKey)
    }
}

async fn issue_ticket(
    storage: &Storage,
    session_id: &str,
    holder: TicketFor,
) -> Result<(String, i64), SessionError> {
    let ticket = random_hex(32);
    let lifetime = match holder {
        TicketFor::Participant(_) => TICKET_LIFETIME_MS,
        TicketFor::Facilitator => FACILITATOR_TICKET_LIFETIME_MS,
        TicketFor::Viewer => VIEWER_TICKET_LIFETIME_MS,
    };
    let expires_at = crate::now_ms() + lifetime;
    storage
        .add_ticket(NewTicket {
            hash: hash_secret(&ticket),
            session_id: session_id.to_string(),
            holder,
            expires_at,
        })
        .await?;
    Ok((ticket, expires_at))
}

/// What a valid ticket grants.
#[derive(Debug, Clone)]
pub struct Grant {
    pub session_id: String,
    pub role: Role,
    /// A participant's `in_room`/`remote`, for presence.
    pub attendance: Option<String>,
}

/// Checks a ticket: it must exist, be unexpired and not revoked.
pub async fn check_ticket(storage: &Storage, ticket: &str) -> Result<Option<Grant>, StorageError> {
    if ticket.is_empty() || ticket.len() > 128 {
        return Ok(None);
    }
    let Some(row) = storage.ticket(hash_secret(ticket)).await? else {
        return Ok(None);
    };
    if row.revoked || row.expires_at < crate::now_ms() {
        return Ok(None);
    }
    let role = match row.participant_id {
        Some(p) => Role::Participant(ParticipantId(p)),
        None if row.viewer => Role::Viewer,
        None => Role::Facilitator,
    };
    Ok(Some(Grant {
        session_id: row.session_id,
        role,
        attendance: row.attendance,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_codes_are_normalized_and_unambiguous() {
        assert_eq!(normalize_join_code(" ab-c 23x "), "ABC23X");
        let code = random_join_code();
        assert_eq!(code.len(), JOIN_CODE_LEN);
        assert!(code.bytes().all(|b| JOIN_CODE_ALPHABET.contains(&b)));
    }

    #[test]
    fn join_validation_names_the_problem() {
        let ok = JoinRequest {
            join_code: Some("abc234".into()),
            name: Some(" Maria ".into()),
            organization: Some("".into()),
            sector: Some("community".into()),
            tier: Some("strategic_extension".into()),
            attendance: Some("remote".into()),
            list_organization: Some(true),
        };
        let v = ok.validate().unwrap();
        assert!(!v.listed, "no organization, nothing to list");
        assert_eq!((v.join_code.as_str(), v.name.as_str()), ("ABC234", "Maria"));
        let bad_sector = JoinRequest {
            sector: Some("private".into()),
            ..ok.clone()
        };
        assert_eq!(
            bad_sector.validate().unwrap_err().to_string(),
            "sector must be one of public, social_private, community, not \"private\""
        );
        let no_name = JoinRequest {
            name: Some("  ".into()),
            ..ok
        };
        assert_eq!(
            no_name.validate().unwrap_err().to_string(),
            "name is required"
        );
    }
}
