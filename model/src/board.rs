//! Where every note is, and what the dots say: the board as people see it,
//! computed the same way by every replica from the question document.
//!
//! Clusters are never deleted. Merging sets `merged_into` (and moves the
//! notes); dissolving sets `dissolved` (and frees them). A note keeps one
//! `cluster` field — a last-writer-wins register — so it is always in
//! exactly one place; that place is resolved here:
//!
//! - a note whose cluster was merged follows the `merged_into` chain (a note
//!   moved into the old cluster while someone merged it lands in the new
//!   one);
//! - a note whose cluster was dissolved, or does not exist, is loose;
//! - two clusters merged into each other concurrently form a cycle: the one
//!   with the smallest id survives, deterministically on every replica.

use crate::read::IntoMap;
use crate::schema::QuestionDoc;
use std::collections::{BTreeMap, BTreeSet};

/// The live cluster a cluster id stands for now, if any.
pub fn resolve_cluster(q: &QuestionDoc, cluster_id: &str) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut id = cluster_id;
    loop {
        let c = q.clusters.get(id)?;
        if c.dissolved {
            return None;
        }
        if seen.contains(&id) {
            // A cycle of merges: its smallest id is the survivor.
            let start = seen.iter().position(|s| *s == id).unwrap_or(0);
            let survivor = seen[start..].iter().min().copied().unwrap_or(id);
            // The survivor may itself be dissolved only if checked above;
            // every member of the cycle was checked on the way.
            return Some(survivor.to_string());
        }
        seen.push(id);
        match c.merged_into.as_deref() {
            Some(next) if q.clusters.contains_key(next) => id = next,
            // Merged into something that does not exist: treat as live.
            _ => return Some(id.to_string()),
        }
    }
}

/// The clusters people see: not dissolved and not merged away.
pub fn live_clusters(q: &QuestionDoc) -> BTreeSet<String> {
    q.clusters
        .keys()
        .filter(|id| resolve_cluster(q, id).as_deref() == Some(id.as_str()))
        .cloned()
        .collect()
}

/// The cluster a note is in, resolved (`None`: loose).
pub fn note_place(q: &QuestionDoc, note_id: &str) -> Option<String> {
    let n = q.notes.get(note_id)?;
    n.cluster.as_deref().and_then(|c| resolve_cluster(q, c))
}

/// Every note's place: note id → live cluster id or `None`.
pub fn placement(q: &QuestionDoc) -> BTreeMap<String, Option<String>> {
    q.notes
        .keys()
        .map(|id| (id.clone(), note_place(q, id)))
        .into_map()
}

/// One line of the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub kind: RankedKind,
    pub id: String,
    /// Dots on it, plus (for a cluster) on its notes and on the clusters
    /// merged into it.
    pub votes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankedKind {
    Note,
    Cluster,
}

/// Live clusters and loose notes, most dots first (ties: clusters before
/// notes, then by id, so every replica lists them in the same order).
/// Hidden notes are left out.
pub fn ranking(q: &QuestionDoc) -> Vec<Ranked> {
    let mut cluster_votes: BTreeMap<String, i64> =
        live_clusters(q).into_iter().map(|c| (c, 0)).into_map();
    let mut out = Vec::new();
    for id in q.clusters.keys() {
        if let Some(live) = resolve_cluster(q, id) {
            *cluster_votes.entry(live).or_default() += q.vote_total(id);
        }
    }
    for (id, note) in &q.notes {
        if note.hidden {
            continue;
        }
        match note_place(q, id) {
            Some(c) => *cluster_votes.entry(c).or_default() += q.vote_total(id),
            None => out.push(Ranked {
                kind: RankedKind::Note,
                id: id.clone(),
                votes: q.vote_total(id),
            }),
        }
    }
    out.extend(cluster_votes.into_iter().map(|(id, votes)| Ranked {
        kind: RankedKind::Cluster,
        id,
        votes,
    }));
    out.sort_by(|a, b| {
        b.votes
            .cmp(&a.votes)
            .then_with(|| (a.kind == RankedKind::Note).cmp(&(b.kind == RankedKind::Note)))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ParticipantId;
    use crate::ops::{self, NewNote};
    use automerge::AutoCommit;

    fn board(notes: &[&str]) -> AutoCommit {
        let mut doc = AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        for n in notes {
            let new = NewNote {
                text: format!("testo {n}"),
                category: None,
                anonymous: false,
                created_at: 0,
            };
            ops::add_note(&mut doc, n, &ParticipantId("p_a".into()), &new).unwrap();
        }
        doc
    }

    #[test]
    fn a_note_moved_into_a_cluster_merged_concurrently_follows_the_merge() {
        let mut doc = board(&["n1", "n2"]);
        ops::create_cluster(&mut doc, "c_a", "A").unwrap();
        ops::create_cluster(&mut doc, "c_b", "B").unwrap();
        let mut other = doc.fork();
        ops::set_note_cluster(&mut doc, "n1", Some("c_a")).unwrap();
        ops::merge_clusters(&mut other, "c_a", "c_b").unwrap();
        doc.merge(&mut other).unwrap();
        let q = QuestionDoc::load(&doc);
        assert_eq!(note_place(&q, "n1").as_deref(), Some("c_b"));
        assert_eq!(live_clusters(&q), BTreeSet::from(["c_b".to_string()]));
    }

    #[test]
    fn clusters_merged_into_each_other_keep_the_smallest_id() {
        let mut doc = board(&["n1", "n2"]);
        ops::create_cluster_with(&mut doc, "c_a", "A", &["n1"]).unwrap();
        ops::create_cluster_with(&mut doc, "c_b", "B", &["n2"]).unwrap();
        let mut other = doc.fork();
        ops::merge_clusters(&mut doc, "c_a", "c_b").unwrap();
        ops::merge_clusters(&mut other, "c_b", "c_a").unwrap();
        doc.merge(&mut other).unwrap();
        let q = QuestionDoc::load(&doc);
        assert_eq!(live_clusters(&q), BTreeSet::from(["c_a".to_string()]));
        assert_eq!(note_place(&q, "n1").as_deref(), Some("c_a"));
        assert_eq!(note_place(&q, "n2").as_deref(), Some("c_a"));
    }

    #[test]
    fn a_dissolved_cluster_frees_notes_moved_into_it_meanwhile() {
        let mut doc = board(&["n1"]);
        ops::create_cluster(&mut doc, "c_a", "A").unwrap();
        let mut other = doc.fork();
        ops::set_note_cluster(&mut doc, "n1", Some("c_a")).unwrap();
        ops::dissolve_cluster(&mut other, "c_a").unwrap();
        doc.merge(&mut other).unwrap();
        let q = QuestionDoc::load(&doc);
        assert_eq!(note_place(&q, "n1"), None);
        assert!(live_clusters(&q).is_empty());
    }

    #[test]
    fn ranking_sums_a_clusters_notes_and_puts_the_most_dots_first() {
        let mut doc = board(&["n1", "n2", "n3"]);
        ops::create_cluster_with(&mut doc, "c_a", "A", &["n1", "n2"]).unwrap();
        ops::set_voting(&mut doc, true, Some(5)).unwrap();
        let (a, b) = (ParticipantId("p_a".into()), ParticipantId("p_b".into()));
        ops::add_dot(&mut doc, "n1", &a, 1, 3).unwrap();
        ops::add_dot(&mut doc, "c_a", &b, 1, 3).unwrap();
        ops::add_dot(&mut doc, "n3", &a, 1, 3).unwrap();
        ops::add_dot(&mut doc, "n3", &a, 1, 3).unwrap();
        ops::add_dot(&mut doc, "n3", &b, 1, 3).unwrap();
        let q = QuestionDoc::load(&doc);
        let r: Vec<(String, i64)> = ranking(&q).into_iter().map(|r| (r.id, r.votes)).collect();
        assert_eq!(r, [("n3".to_string(), 3), ("c_a".to_string(), 2)]);
    }

    #[test]
    fn concurrent_renames_keep_every_title_visible() {
        let mut doc = board(&[]);
        ops::create_cluster(&mut doc, "c_a", "Spazi").unwrap();
        let mut other = doc.fork();
        ops::rename_cluster(&mut doc, "c_a", "Luoghi").unwrap();
        ops::rename_cluster(&mut other, "c_a", "Sedi").unwrap();
        doc.merge(&mut other).unwrap();
        let q = QuestionDoc::load(&doc);
        let winner = q.clusters["c_a"].title.clone();
        let losers = q.title_conflicts(&doc)["c_a"].clone();
        let mut all = losers.clone();
        all.push(winner.clone());
        all.sort();
        assert_eq!(all, ["Luoghi", "Sedi"]);
        // Choosing a title settles it.
        ops::rename_cluster(&mut doc, "c_a", &losers[0]).unwrap();
        let q = QuestionDoc::load(&doc);
        assert!(q.title_conflicts(&doc).is_empty());
    }
}
