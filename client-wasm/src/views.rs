//! What the UI reads: documents turned into plain objects (camelCase), with
//! the derived facts the UI needs (is this note mine, who wrote it, how many
//! dots) computed here rather than in TypeScript.

use serde::Serialize;
use std::collections::BTreeMap;
use tavolo_model::facilitation::{Spotlight, Timer, TimerState};
use tavolo_model::{ParticipantId, QuestionDoc, RosterDoc, SessionDoc};
use tavolo_sync::Presence;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub title: String,
    pub template: String,
    pub current_phase: String,
    pub roster_doc: String,
    pub vote_budget: i64,
    pub phases: Vec<PhaseView>,
    pub timer: Option<TimerFields>,
    pub spotlight: Option<SpotlightView>,
}

/// The timer as stored; `TavoloClient.timer(url, now)` says what to draw.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerFields {
    pub duration_ms: i64,
    pub remaining_ms: i64,
    pub running_since: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct SpotlightView {
    pub doc: String,
    pub target: String,
    pub kind: &'static str,
    pub at: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerView {
    pub status: &'static str,
    pub remaining_ms: i64,
    pub duration_ms: i64,
}

impl From<TimerState> for TimerView {
    fn from(t: TimerState) -> Self {
        TimerView {
            status: t.status.as_str(),
            remaining_ms: t.remaining_ms,
            duration_ms: t.duration_ms,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceView {
    pub participants: BTreeMap<String, PresentView>,
    pub in_room: usize,
    pub remote: usize,
    pub facilitators: u64,
    pub viewers: u64,
}

#[derive(Debug, Serialize)]
pub struct PresentView {
    pub attendance: String,
    pub connections: u64,
}

pub fn presence(p: &Presence) -> PresenceView {
    let (in_room, remote) = p.counts();
    PresenceView {
        participants: p
            .participants
            .iter()
            .map(|(id, e)| {
                (
                    id.clone(),
                    PresentView {
                        attendance: e.attendance.clone(),
                        connections: e.connections,
                    },
                )
            })
            .collect(),
        in_room,
        remote,
        facilitators: p.facilitators,
        viewers: p.viewers,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseView {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub locked: bool,
    pub questions: Vec<QuestionMeta>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionMeta {
    pub id: String,
    pub text: String,
    pub note_kind: String,
    pub doc: String,
    pub categories: Vec<CategoryView>,
}

#[derive(Debug, Serialize)]
pub struct CategoryView {
    pub id: String,
    pub label: String,
}

pub fn session(s: &SessionDoc, doc: &automerge::AutoCommit) -> SessionView {
    SessionView {
        timer: Timer::load(doc).map(|t| TimerFields {
            duration_ms: t.duration_ms,
            remaining_ms: t.remaining_ms,
            running_since: t.running_since,
        }),
        spotlight: Spotlight::load(doc).map(|s| SpotlightView {
            doc: s.doc,
            target: s.target,
            kind: s.kind.as_str(),
            at: s.at,
        }),
        title: s.title.clone(),
        template: s.template.clone(),
        current_phase: s.current_phase.clone(),
        roster_doc: s.roster_doc.clone(),
        vote_budget: s.vote_budget,
        phases: s
            .phases
            .iter()
            .map(|p| PhaseView {
                id: p.id.clone(),
                title: p.title.clone(),
                goal: p.goal.clone(),
                locked: p.locked,
                questions: p
                    .questions
                    .iter()
                    .map(|q| QuestionMeta {
                        id: q.id.clone(),
                        text: q.text.clone(),
                        note_kind: q.note_kind.clone(),
                        doc: q.doc_url.clone(),
                        categories: q
                            .categories
                            .iter()
                            .map(|c| CategoryView {
                                id: c.id.clone(),
                                label: c.label.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantView {
    pub name: String,
    pub organization: String,
    pub sector: String,
    pub tier: String,
    pub attendance: String,
}

pub fn roster(r: &RosterDoc) -> BTreeMap<String, ParticipantView> {
    r.participants
        .iter()
        .map(|(id, p)| {
            (
                id.clone(),
                ParticipantView {
                    name: p.name.clone(),
                    organization: p.organization.clone(),
                    sector: p.sector.clone(),
                    tier: p.tier.clone(),
                    attendance: p.attendance.clone(),
                },
            )
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    pub id: String,
    pub text: String,
    pub category: Option<String>,
    pub author: String,
    pub mine: bool,
    pub anonymous: bool,
    /// `None` when the note is anonymous (or its author is unknown).
    pub organization: Option<String>,
    pub sector: Option<String>,
    pub cluster: Option<String>,
    pub created_at: i64,
    pub votes: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    pub id: String,
    pub title: String,
    pub votes: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionView {
    pub notes: Vec<NoteView>,
    pub clusters: Vec<ClusterView>,
}

pub fn question(q: &QuestionDoc, roster: &RosterDoc, me: Option<&ParticipantId>) -> QuestionView {
    let notes = q
        .notes_in_order()
        .into_iter()
        .map(|(id, n)| {
            let author = (!n.anonymous)
                .then(|| roster.participants.get(&n.author))
                .flatten();
            NoteView {
                id: id.clone(),
                text: n.text.clone(),
                category: n.category.clone(),
                author: n.author.clone(),
                mine: me.is_some_and(|m| m.as_str() == n.author),
                anonymous: n.anonymous,
                organization: author.map(|p| p.organization.clone()),
                sector: author.map(|p| p.sector.clone()),
                cluster: n.cluster.clone(),
                created_at: n.created_at,
                votes: q.vote_total(id),
            }
        })
        .collect();
    let clusters = q
        .clusters
        .iter()
        .map(|(id, c)| ClusterView {
            id: id.clone(),
            title: c.title.clone(),
            votes: q.vote_total(id),
        })
        .collect();
    QuestionView { notes, clusters }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LostNote {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusalView {
    pub doc: String,
    pub code: String,
    pub message: String,
    pub lost_notes: Vec<LostNote>,
}
