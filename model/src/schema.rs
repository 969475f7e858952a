//! Typed views of Tavolo's three document kinds (the contract's shapes).
//!
//! Hydration goes through `autosurgeon`, with the lenient field readers of
//! [`crate::read`]: strings may be scalars or `Text`, numbers may come from
//! JavaScript as floats. Collections of notes and clusters are hydrated item
//! by item, so one malformed entry written by a foreign client hides that
//! entry, not the whole board. Writers in [`crate::ops`] store scalar strings.

use crate::ids::{Attendance, Sector, Tier};
use crate::read;
use crate::read::IntoMap;
use automerge::{ObjId, ROOT};
use autosurgeon::{Hydrate, ReadDoc, Reconcile};
use std::collections::BTreeMap;

/// The session document: title, phases and where everything else lives.
#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct SessionDoc {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub title: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub template: String,
    /// The `id` of the phase everyone is on.
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub current_phase: String,
    /// `automerge:` URL of the roster document.
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub roster_doc: String,
    /// Dots each participant may place per question.
    #[autosurgeon(hydrate = "read::hydrate_int")]
    pub vote_budget: i64,
    pub phases: Vec<Phase>,
    /// Whether the public report may name the organizations behind
    /// non-anonymous notes (the facilitator's choice, agreed with the room).
    /// Sessions created before the key existed read as `false`.
    #[autosurgeon(hydrate = "hydrate_flag")]
    pub organizations_public: bool,
    /// Who holds the participants' data, for the privacy notice at join
    /// (from the template; empty in sessions from before it existed).
    #[autosurgeon(hydrate = "read::hydrate_string_or_empty")]
    pub privacy_controller: String,
    /// Whom to ask about one's data.
    #[autosurgeon(hydrate = "read::hydrate_string_or_empty")]
    pub privacy_contact: String,
}

/// A boolean setting that must never make the whole document unreadable:
/// absent, null or anything that is not a boolean reads as `false`.
fn hydrate_flag<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: autosurgeon::Prop<'_>,
) -> Result<bool, autosurgeon::HydrateError> {
    Ok(read::hydrate_bool(doc, obj, prop).unwrap_or(false))
}

#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct Phase {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub id: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub title: String,
    #[autosurgeon(hydrate = "read::hydrate_string_or_empty")]
    pub goal: String,
    #[autosurgeon(hydrate = "read::hydrate_bool")]
    pub locked: bool,
    /// How long it is planned to last, in minutes (the agenda; presets the
    /// phase timer); from the template, changed by the facilitator.
    #[autosurgeon(hydrate = "read::hydrate_opt_int")]
    pub minutes: Option<i64>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct Question {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub id: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub text: String,
    /// See [`crate::template::NoteKind`].
    #[autosurgeon(hydrate = "read::hydrate_string_or_empty")]
    pub note_kind: String,
    /// `automerge:` URL of the question document.
    // (`doc` would clash with the derive's own variable names)
    #[autosurgeon(rename = "doc", hydrate = "read::hydrate_string")]
    pub doc_url: String,
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct Category {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub id: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub label: String,
}

impl SessionDoc {
    pub fn load<D: ReadDoc>(doc: &D) -> Result<Self, autosurgeon::HydrateError> {
        autosurgeon::hydrate(doc)
    }

    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// The phase and question whose document has this URL.
    pub fn question_by_doc(&self, url: &str) -> Option<(&Phase, &Question)> {
        self.phases
            .iter()
            .flat_map(|p| p.questions.iter().map(move |q| (p, q)))
            .find(|(_, q)| q.doc_url == url)
    }
}

/// One participant as the roster stores it.
#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct Participant {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub name: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub organization: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub sector: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub tier: String,
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub attendance: String,
    /// Milliseconds since the Unix epoch.
    #[autosurgeon(hydrate = "read::hydrate_int")]
    pub joined_at: i64,
    /// Removed by the facilitator: their notes stay, but they are not
    /// counted as attending.
    #[autosurgeon(hydrate = "read::hydrate_bool")]
    pub removed: bool,
    /// Agreed, when joining, that the resoconto may list their organization
    /// among those present (missing in rosters written before: false).
    #[autosurgeon(hydrate = "read::hydrate_bool")]
    pub listed: bool,
}

impl Participant {
    pub fn sector(&self) -> Option<Sector> {
        Sector::parse(&self.sector)
    }
    pub fn tier(&self) -> Option<Tier> {
        Tier::parse(&self.tier)
    }
    pub fn attendance(&self) -> Option<Attendance> {
        Attendance::parse(&self.attendance)
    }
}

/// The roster document: everyone who joined, keyed by participant id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosterDoc {
    pub participants: BTreeMap<String, Participant>,
}

impl RosterDoc {
    pub fn load<D: ReadDoc>(doc: &D) -> Self {
        Self {
            participants: hydrate_entries(doc, &["participants"]),
        }
    }
}

/// A sticky note on a guiding question.
#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct Note {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub text: String,
    /// One of the question's category ids, or `None` where it has none.
    #[autosurgeon(hydrate = "read::hydrate_opt_string")]
    pub category: Option<String>,
    /// The participant id of whoever wrote it; empty for an anonymous note
    /// (contract v2: it carries no author).
    #[autosurgeon(hydrate = "read::hydrate_string_or_empty")]
    pub author: String,
    /// Written anonymously: only the server knows the author (see
    /// [`crate::policy::note_author`]).
    #[autosurgeon(hydrate = "read::hydrate_bool")]
    pub anonymous: bool,
    #[autosurgeon(hydrate = "read::hydrate_opt_string")]
    pub cluster: Option<String>,
    /// Milliseconds since the Unix epoch.
    #[autosurgeon(hydrate = "read::hydrate_int")]
    pub created_at: i64,
    /// Hidden by the facilitator: only its author and the facilitator see it.
    #[autosurgeon(hydrate = "read::hydrate_bool")]
    pub hidden: bool,
    /// Why it was hidden, when the facilitator said.
    #[autosurgeon(hydrate = "read::hydrate_opt_string")]
    pub hidden_reason: Option<String>,
    /// For a contribution: when it can be activated (`now`, `soon`: within
    /// three months, `later`), if its author said.
    #[autosurgeon(hydrate = "read::hydrate_opt_string")]
    pub when: Option<String>,
    /// For a contribution: on what condition, if any.
    #[autosurgeon(hydrate = "read::hydrate_opt_string")]
    pub condition: Option<String>,
}

/// A group of notes. Clusters are never deleted: a merged one points at the
/// cluster it went into, a dissolved one is marked, so a note moved into it
/// concurrently still ends up in exactly one place (see [`crate::board`]).
#[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
pub struct Cluster {
    #[autosurgeon(hydrate = "read::hydrate_string")]
    pub title: String,
    #[autosurgeon(hydrate = "read::hydrate_opt_string")]
    pub merged_into: Option<String>,
    #[autosurgeon(hydrate = "read::hydrate_bool")]
    pub dissolved: bool,
}

/// Dot voting on a question, set by the facilitator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Voting {
    /// Participants may place and remove dots.
    pub open: bool,
    /// Totals are shown to everyone (otherwise only to the facilitator).
    pub revealed: bool,
    /// Dots per participant on this question; the session's default if unset.
    pub budget: Option<i64>,
}

impl Voting {
    pub fn load<D: ReadDoc>(doc: &D) -> Self {
        let Some(v) = read::get_map(doc, &ROOT, "voting") else {
            return Self::default();
        };
        Self {
            open: read::get_bool(doc, &v, "open").unwrap_or(false),
            revealed: read::get_bool(doc, &v, "revealed").unwrap_or(false),
            budget: read::get_int(doc, &v, "budget").filter(|b| *b >= 0),
        }
    }
}

/// A question document: its notes, clusters and votes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuestionDoc {
    pub notes: BTreeMap<String, Note>,
    pub clusters: BTreeMap<String, Cluster>,
    /// target (note or cluster id) → participant id → dots: boards written
    /// before contract v2 only (dots are the server's since, see
    /// [`crate::ballot`]), and the server's own copy for reports.
    pub votes: BTreeMap<String, BTreeMap<String, i64>>,
    /// target → total dots, written by the server while the totals are
    /// revealed (contract v2).
    pub totals: BTreeMap<String, i64>,
    pub voting: Voting,
}

impl QuestionDoc {
    pub fn load<D: ReadDoc>(doc: &D) -> Self {
        let mut votes = BTreeMap::new();
        if let Some(votes_obj) = read::get_map(doc, &ROOT, "votes") {
            for target in read::keys(doc, &votes_obj) {
                let Some(per) = read::get_map(doc, &votes_obj, &target) else {
                    continue;
                };
                let counts: BTreeMap<String, i64> = read::keys(doc, &per)
                    .into_iter()
                    .filter_map(|p| read::get_int(doc, &per, p.as_str()).map(|c| (p, c)))
                    .into_map();
                votes.insert(target, counts);
            }
        }
        let clusters: BTreeMap<String, Cluster> = hydrate_entries(doc, &["clusters"]);
        let totals = read::get_map(doc, &ROOT, "totals")
            .map(|t| {
                read::keys(doc, &t)
                    .into_iter()
                    .filter_map(|k| read::get_int(doc, &t, k.as_str()).map(|n| (k, n.max(0))))
                    .into_map()
            })
            .unwrap_or_default();
        Self {
            notes: hydrate_entries(doc, &["notes"]),
            clusters,
            votes,
            totals,
            voting: Voting::load(doc),
        }
    }

    /// Clusters renamed concurrently: for each, the titles that lost the
    /// conflict (the winner is its `title`), so nobody's words vanish.
    pub fn title_conflicts<D: automerge::ReadDoc>(&self, doc: &D) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let Some(cobj) = read::map_at_path_am(doc, &["clusters"]) else {
            return out;
        };
        for (id, cluster) in &self.clusters {
            let Ok(Some((_, c))) = doc.get(&cobj, id.as_str()) else {
                continue;
            };
            let mut losers: Vec<String> = read::get_all_str(doc, &c, "title")
                .into_iter()
                .filter(|t| *t != cluster.title)
                .collect();
            losers.sort();
            losers.dedup();
            if !losers.is_empty() {
                out.insert(id.clone(), losers);
            }
        }
        out
    }

    /// Notes ordered by creation time (then id), as boards show them.
    pub fn notes_in_order(&self) -> Vec<(&String, &Note)> {
        let mut notes: Vec<_> = self.notes.iter().collect();
        notes.sort_by(|a, b| a.1.created_at.cmp(&b.1.created_at).then(a.0.cmp(b.0)));
        notes
    }

    /// Total dots on a target (per-participant dots of an old board plus
    /// the revealed totals).
    pub fn vote_total(&self, target: &str) -> i64 {
        self.votes
            .get(target)
            .map_or(0, |m| m.values().sum::<i64>())
            + self.totals.get(target).copied().unwrap_or(0)
    }

    /// Dots a participant has placed across the question, on notes and
    /// clusters that still exist (dots on a removed note are given back).
    pub fn votes_used_by(&self, participant: &str) -> i64 {
        self.votes
            .iter()
            .filter(|(target, _)| {
                self.notes.contains_key(*target) || self.clusters.contains_key(*target)
            })
            .filter_map(|(_, m)| m.get(participant))
            .sum()
    }
}

/// Hydrates every entry of the map at `path`, skipping those that do not fit.
fn hydrate_entries<D: ReadDoc, T: Hydrate>(doc: &D, path: &[&str]) -> BTreeMap<String, T> {
    let Some(obj): Option<ObjId> = read::map_at_path(doc, path) else {
        return BTreeMap::new();
    };
    read::keys(doc, &obj)
        .into_iter()
        .filter_map(|k| {
            let v = autosurgeon::hydrate_prop::<_, T, _, _>(doc, &obj, k.as_str()).ok()?;
            Some((k, v))
        })
        .into_map()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{self, SessionInit};
    use crate::template::{DEFAULT_TEMPLATE_ID, Template};
    use automerge::AutoCommit;
    use automerge::transaction::Transactable;
    use std::collections::HashMap;

    fn session() -> AutoCommit {
        let t = Template::builtin(DEFAULT_TEMPLATE_ID).unwrap();
        let mut doc = AutoCommit::new();
        let urls = HashMap::new();
        let init = SessionInit {
            template: &t,
            title: "Prova",
            roster_url: "automerge:r",
            question_urls: &urls,
        };
        ops::init_session_doc(&mut doc, &init).unwrap();
        doc
    }

    #[test]
    fn a_session_from_before_organizations_public_still_hydrates_as_private() {
        let mut doc = session();
        doc.delete(ROOT, "organizations_public").unwrap();
        let s = SessionDoc::load(&doc).expect("an old session hydrates");
        assert!(!s.organizations_public);
    }

    #[test]
    fn a_malformed_organizations_public_reads_as_false_not_as_an_error() {
        let mut doc = session();
        doc.put(ROOT, "organizations_public", "sì").unwrap();
        let s = SessionDoc::load(&doc).expect("the session still hydrates");
        assert!(!s.organizations_public);
    }
}
