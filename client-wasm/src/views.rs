//! What the UI reads: documents turned into plain objects (camelCase), with
//! the derived facts the UI needs (is this note mine, who wrote it, how many
//! dots) computed here rather than in TypeScript.

use serde::Serialize;
use std::collections::BTreeMap;
use tavolo_model::{ParticipantId, QuestionDoc, RosterDoc, SessionDoc};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub title: String,
    pub template: String,
    pub current_phase: String,
    pub roster_doc: String,
    pub vote_budget: i64,
    pub phases: Vec<PhaseView>,
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

pub fn session(s: &SessionDoc) -> SessionView {
    SessionView {
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
