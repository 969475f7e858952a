//! What the UI reads: documents turned into plain objects (camelCase), with
//! the derived facts the UI needs (is this note mine, who wrote it, how many
//! dots) computed here rather than in TypeScript.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use tavolo_model::board::{self, RankedKind};
use tavolo_model::facilitation::{Spotlight, Timer, TimerState};
use tavolo_model::read::IntoMap;
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
    /// The public report names organizations (the facilitator's choice).
    pub organizations_public: bool,
    pub phases: Vec<PhaseView>,
    pub timer: Option<TimerFields>,
    pub spotlight: Option<SpotlightView>,
    /// The meeting's data and the table's conclusions (the facilitator's).
    pub record: tavolo_model::record::Record,
    /// The view of the results the projector shows instead of the board.
    pub restitution: Option<&'static str>,
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
            .into_map(),
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
    /// Planned minutes (the agenda), if any.
    pub minutes: Option<i64>,
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
        record: tavolo_model::record::Record::load(doc),
        restitution: tavolo_model::facilitation::RestitutionStep::load(doc).map(|s| s.as_str()),
        title: s.title.clone(),
        template: s.template.clone(),
        current_phase: s.current_phase.clone(),
        roster_doc: s.roster_doc.clone(),
        vote_budget: s.vote_budget,
        organizations_public: s.organizations_public,
        phases: s
            .phases
            .iter()
            .map(|p| PhaseView {
                id: p.id.clone(),
                title: p.title.clone(),
                goal: p.goal.clone(),
                locked: p.locked,
                minutes: p.minutes,
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
        .into_map()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    pub id: String,
    pub text: String,
    pub category: Option<String>,
    /// The author's participant id; empty for someone else's anonymous note.
    pub author: String,
    pub mine: bool,
    pub anonymous: bool,
    /// `None` when the note is anonymous (or its author is unknown).
    pub organization: Option<String>,
    pub sector: Option<String>,
    /// The live cluster it is in (merges and dissolutions resolved).
    pub cluster: Option<String>,
    pub created_at: i64,
    /// Total dots; `None` while the facilitator keeps totals hidden.
    pub votes: Option<i64>,
    /// My dots on it.
    pub my_dots: i64,
    /// Hidden by the facilitator (only its author and the facilitator see it).
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    /// A contribution's timing (`now`, `soon`, `later`) and condition.
    pub when: Option<String>,
    pub condition: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    pub id: String,
    pub title: String,
    /// Titles given concurrently that lost the conflict: shown so that
    /// someone can pick, never silently dropped.
    pub title_conflicts: Vec<String>,
    /// Dots on it, on its notes and on clusters merged into it; `None`
    /// while hidden.
    pub votes: Option<i64>,
    pub my_dots: i64,
    /// Its notes' ids, in board order.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VotingView {
    pub open: bool,
    pub revealed: bool,
    pub budget: i64,
    /// My dots placed on this question (and how many are left).
    pub used: i64,
    pub remaining: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedView {
    /// `note` or `cluster`.
    pub kind: &'static str,
    pub id: String,
    pub votes: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionView {
    /// Every visible note in board order (`cluster` says where it sits).
    pub notes: Vec<NoteView>,
    /// The live clusters, oldest first by id.
    pub clusters: Vec<ClusterView>,
    /// Ids of the notes in no cluster, in board order.
    pub loose: Vec<String>,
    pub voting: VotingView,
    /// Most dots first; empty while totals are hidden from this screen.
    pub ranking: Vec<RankedView>,
}

/// Who is looking: what they may see differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    Participant(&'a ParticipantId),
    Facilitator,
    /// The projector: what the room may see.
    Projector,
}

/// Who is looking at a question, and what only this screen knows.
#[derive(Debug, Clone, Copy)]
pub struct Looking<'a> {
    pub audience: Audience<'a>,
    pub session_budget: i64,
    /// My anonymous notes (they carry no author, contract v2).
    pub my_anonymous: &'a BTreeSet<String>,
    /// My dots, as the server told me.
    pub my_dots: &'a BTreeMap<String, i64>,
    /// The session lets the projector show organizations.
    pub organizations_public: bool,
}

pub fn question(
    doc: &automerge::AutoCommit,
    q: &QuestionDoc,
    roster: &RosterDoc,
    looking: Looking<'_>,
) -> QuestionView {
    let Looking {
        audience,
        session_budget,
        my_anonymous,
        my_dots,
        organizations_public,
    } = looking;
    // The projector is public: organizations only if the session says so.
    let show_organizations = audience != Audience::Projector || organizations_public;
    let me = match audience {
        Audience::Participant(p) => Some(p.as_str()),
        _ => None,
    };
    // An anonymous note carries no author (contract v2): mine if the
    // server or this client said so.
    let is_mine = |id: &str, n: &tavolo_model::Note| {
        me.is_some_and(|m| (!n.author.is_empty() && n.author == m) || my_anonymous.contains(id))
    };
    let totals_shown = q.voting.revealed || audience == Audience::Facilitator;
    // My dots are the server's word to me alone (contract v2); on a board
    // from before, they are in its `votes`.
    let dots_of = |target: &str| -> i64 {
        my_dots.get(target).copied().unwrap_or_else(|| {
            me.and_then(|m| q.votes.get(target).and_then(|v| v.get(m)).copied())
                .unwrap_or(0)
        })
    };
    let visible = |id: &str, n: &tavolo_model::Note| {
        !n.hidden || audience == Audience::Facilitator || is_mine(id, n)
    };
    let placement = board::placement(q);
    let notes: Vec<NoteView> = q
        .notes_in_order()
        .into_iter()
        .filter(|(id, n)| visible(id, n))
        .map(|(id, n)| {
            let mine = is_mine(id, n);
            let author = (!n.anonymous)
                .then(|| roster.participants.get(&n.author))
                .flatten();
            NoteView {
                id: id.clone(),
                text: n.text.clone(),
                category: n.category.clone(),
                author: match (n.anonymous, mine) {
                    (true, true) => me.unwrap_or_default().to_string(),
                    (true, false) => String::new(),
                    (false, _) => n.author.clone(),
                },
                mine,
                anonymous: n.anonymous,
                organization: author
                    .filter(|_| show_organizations)
                    .map(|p| p.organization.clone()),
                sector: author.map(|p| p.sector.clone()),
                cluster: placement.get(id).cloned().flatten(),
                created_at: n.created_at,
                votes: totals_shown.then(|| q.vote_total(id)),
                my_dots: dots_of(id),
                hidden: n.hidden,
                hidden_reason: n.hidden_reason.clone(),
                when: n.when.clone(),
                condition: n.condition.clone(),
            }
        })
        .collect();
    let ranking_all = board::ranking(q);
    let cluster_total = |id: &str| {
        ranking_all
            .iter()
            .find(|r| r.kind == RankedKind::Cluster && r.id == id)
            .map_or(0, |r| r.votes)
    };
    let conflicts = q.title_conflicts(doc);
    let clusters = board::live_clusters(q)
        .into_iter()
        .map(|id| ClusterView {
            title: q.clusters[&id].title.clone(),
            title_conflicts: conflicts.get(&id).cloned().unwrap_or_default(),
            votes: totals_shown.then(|| cluster_total(&id)),
            my_dots: dots_of(&id),
            notes: notes
                .iter()
                .filter(|n| n.cluster.as_deref() == Some(id.as_str()))
                .map(|n| n.id.clone())
                .collect(),
            id,
        })
        .collect();
    let loose = notes
        .iter()
        .filter(|n| n.cluster.is_none())
        .map(|n| n.id.clone())
        .collect();
    let budget = q.voting.budget.unwrap_or(session_budget);
    let used = me.map_or(0, |m| {
        let exists = |t: &str| q.notes.contains_key(t) || q.clusters.contains_key(t);
        q.votes_used_by(m)
            + my_dots
                .iter()
                .filter(|(t, _)| exists(t))
                .map(|(_, n)| (*n).max(0))
                .sum::<i64>()
    });
    let ranking = if totals_shown {
        ranking_all
            .into_iter()
            .filter(|r| r.kind == RankedKind::Cluster || notes.iter().any(|n| n.id == r.id))
            .map(|r| RankedView {
                kind: match r.kind {
                    RankedKind::Note => "note",
                    RankedKind::Cluster => "cluster",
                },
                id: r.id,
                votes: r.votes,
            })
            .collect()
    } else {
        Vec::new()
    };
    QuestionView {
        notes,
        clusters,
        loose,
        voting: VotingView {
            open: q.voting.open,
            revealed: q.voting.revealed,
            budget,
            used,
            remaining: (budget - used).max(0),
        },
        ranking,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tavolo_model::ops::{self, NewNote};

    fn board() -> (automerge::AutoCommit, RosterDoc) {
        let mut doc = automerge::AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        let anna = ParticipantId("p_anna".into());
        let signed = NewNote {
            text: "Firmata".into(),
            category: None,
            anonymous: false,
            created_at: 1,
        };
        ops::add_note(&mut doc, "n_1", &anna, &signed).unwrap();
        let mut roster = automerge::AutoCommit::new();
        ops::init_roster_doc(&mut roster).unwrap();
        let p = tavolo_model::Participant {
            name: "Anna".into(),
            organization: "Cooperativa Il Mosaico".into(),
            sector: "social_private".into(),
            tier: "founding_core".into(),
            attendance: "in_room".into(),
            joined_at: 0,
            removed: false,
            listed: false,
        };
        ops::put_participant(&mut roster, &anna, &p).unwrap();
        (doc, RosterDoc::load(&roster))
    }

    fn organization(audience: Audience<'_>, organizations_public: bool) -> Option<String> {
        let (doc, roster) = board();
        let (notes, dots) = (BTreeSet::new(), BTreeMap::new());
        let view = question(
            &doc,
            &QuestionDoc::load(&doc),
            &roster,
            Looking {
                audience,
                session_budget: 3,
                my_anonymous: &notes,
                my_dots: &dots,
                organizations_public,
            },
        );
        view.notes[0].organization.clone()
    }

    #[test]
    fn the_projector_shows_organizations_only_when_the_session_allows() {
        let me = ParticipantId("p_bruno".into());
        let coop = Some("Cooperativa Il Mosaico".to_string());
        assert_eq!(organization(Audience::Projector, false), None);
        assert_eq!(organization(Audience::Projector, true), coop);
        // Phones and the console: the table knows who is there (said at join).
        assert_eq!(organization(Audience::Participant(&me), false), coop);
        assert_eq!(organization(Audience::Facilitator, false), coop);
    }
}
