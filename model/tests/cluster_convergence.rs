//! Clustering together, concurrently: 3–5 replicas create, rename, merge and
//! dissolve clusters and move notes, syncing with each other at random
//! moments; at the end everyone merges everyone else in a random order. All
//! replicas must then agree on the whole board, and every note must sit in
//! exactly one place: a live cluster or loose.

use automerge::AutoCommit;
use proptest::prelude::*;
use std::collections::BTreeMap;
use tavolo_model::QuestionDoc;
use tavolo_model::board;
use tavolo_model::ids::ParticipantId;
use tavolo_model::ops::{self, NewNote};

const NOTES: usize = 6;

#[derive(Debug, Clone)]
enum Step {
    /// Replica `r` creates a cluster (and drops note `n` in it).
    Create { r: usize, n: usize },
    /// Replica `r` renames the `c`-th cluster it knows.
    Rename { r: usize, c: usize, title: u8 },
    /// Replica `r` moves note `n` into the `c`-th cluster it knows, or out.
    Move {
        r: usize,
        n: usize,
        c: Option<usize>,
    },
    /// Replica `r` merges its `a`-th cluster into its `b`-th.
    Merge { r: usize, a: usize, b: usize },
    /// Replica `r` dissolves its `c`-th cluster.
    Dissolve { r: usize, c: usize },
    /// Replica `to` receives everything replica `from` has.
    Sync { from: usize, to: usize },
}

fn step(replicas: usize) -> impl Strategy<Value = Step> {
    let r = 0..replicas;
    prop_oneof![
        (r.clone(), 0..NOTES).prop_map(|(r, n)| Step::Create { r, n }),
        (r.clone(), 0..8usize, 0..4u8).prop_map(|(r, c, title)| Step::Rename { r, c, title }),
        (r.clone(), 0..NOTES, proptest::option::of(0..8usize)).prop_map(|(r, n, c)| Step::Move {
            r,
            n,
            c
        }),
        (r.clone(), 0..8usize, 0..8usize).prop_map(|(r, a, b)| Step::Merge { r, a, b }),
        (r.clone(), 0..8usize).prop_map(|(r, c)| Step::Dissolve { r, c }),
        (r.clone(), r).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Step>, Vec<usize>)> {
    (3usize..=5).prop_flat_map(|replicas| {
        (
            Just(replicas),
            proptest::collection::vec(step(replicas), 1..60),
            // The order in which the final merges happen.
            Just((0..replicas).collect::<Vec<_>>()).prop_shuffle(),
        )
    })
}

fn note_id(n: usize) -> String {
    format!("n_{n}")
}

fn base() -> AutoCommit {
    let mut doc = AutoCommit::new();
    ops::init_question_doc(&mut doc).unwrap();
    doc.commit();
    for n in 0..NOTES {
        let new = NewNote {
            text: format!("nota {n}"),
            category: None,
            anonymous: false,
            created_at: n as i64,
        };
        ops::add_note(&mut doc, &note_id(n), &ParticipantId("p_a".into()), &new).unwrap();
    }
    doc.commit();
    doc
}

/// The clusters a replica can see, in a stable order.
fn known(doc: &AutoCommit) -> Vec<String> {
    QuestionDoc::load(doc).clusters.keys().cloned().collect()
}

fn apply(replicas: &mut [AutoCommit], created: &mut [usize], s: &Step) {
    edit(replicas, created, s);
    // Each person's edit is one change, as in the browser client.
    for r in replicas.iter_mut() {
        r.commit();
    }
}

fn edit(replicas: &mut [AutoCommit], created: &mut [usize], s: &Step) {
    match *s {
        Step::Create { r, n } => {
            created[r] += 1;
            let id = format!("c_r{r}_{}", created[r]);
            ops::create_cluster_with(&mut replicas[r], &id, "Gruppo", &[&note_id(n)]).unwrap();
        }
        Step::Rename { r, c, title } => {
            if let Some(id) = known(&replicas[r]).get(c) {
                ops::rename_cluster(&mut replicas[r], id, &format!("Titolo {title}")).unwrap();
            }
        }
        Step::Move { r, n, c } => {
            let ids = known(&replicas[r]);
            let target = c.and_then(|c| ids.get(c).cloned());
            if c.is_none() || target.is_some() {
                ops::set_note_cluster(&mut replicas[r], &note_id(n), target.as_deref()).unwrap();
            }
        }
        Step::Merge { r, a, b } => {
            let ids = known(&replicas[r]);
            if let (Some(a), Some(b)) = (ids.get(a), ids.get(b))
                && a != b
            {
                ops::merge_clusters(&mut replicas[r], a, b).unwrap();
            }
        }
        Step::Dissolve { r, c } => {
            if let Some(id) = known(&replicas[r]).get(c) {
                ops::dissolve_cluster(&mut replicas[r], id).unwrap();
            }
        }
        Step::Sync { from, to } => {
            if from != to {
                let mut src = replicas[from].clone();
                replicas[to].merge(&mut src).unwrap();
            }
        }
    }
}

/// What a person sees: each live cluster with its notes, the loose notes,
/// and every cluster's title.
type Board = (
    BTreeMap<String, Vec<String>>,
    Vec<String>,
    BTreeMap<String, String>,
);

fn board_of(doc: &AutoCommit) -> Board {
    let q = QuestionDoc::load(doc);
    let mut clusters: BTreeMap<String, Vec<String>> = board::live_clusters(&q)
        .into_iter()
        .map(|c| (c, Vec::new()))
        .collect();
    let mut loose = Vec::new();
    for (note, place) in board::placement(&q) {
        match place {
            Some(c) => clusters
                .get_mut(&c)
                .unwrap_or_else(|| panic!("{note} is in {c}, which is not a live cluster"))
                .push(note),
            None => loose.push(note),
        }
    }
    let titles = q
        .clusters
        .iter()
        .map(|(id, c)| (id.clone(), c.title.clone()))
        .collect();
    (clusters, loose, titles)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_clustering_converges_with_every_note_in_one_place(
        (n, steps, order) in scenario()
    ) {
        let mut origin = base();
        let mut replicas: Vec<AutoCommit> = (0..n).map(|_| origin.fork()).collect();
        let mut created = vec![0; n];
        for s in &steps {
            apply(&mut replicas, &mut created, s);
            // Mid-way, every replica's own board is consistent too.
            board_of(&replicas[match *s {
                Step::Sync { to, .. } => to,
                Step::Create { r, .. } | Step::Rename { r, .. } | Step::Move { r, .. }
                | Step::Merge { r, .. } | Step::Dissolve { r, .. } => r,
            }]);
        }
        // Everyone receives everyone, each in its own order.
        let snapshot: Vec<AutoCommit> = replicas.clone();
        for (i, replica) in replicas.iter_mut().enumerate() {
            for &j in order.iter().cycle().skip(i).take(n) {
                let mut other = snapshot[j].clone();
                replica.merge(&mut other).unwrap();
            }
        }
        let first = board_of(&replicas[0]);
        let total: usize = first.0.values().map(Vec::len).sum::<usize>() + first.1.len();
        prop_assert_eq!(total, NOTES, "every note is somewhere, once");
        for r in &mut replicas[1..] {
            prop_assert_eq!(&board_of(r), &first);
        }
        let heads: Vec<_> = replicas.iter_mut().map(|r| { let mut h = r.get_heads(); h.sort(); h }).collect();
        prop_assert!(heads.windows(2).all(|w| w[0] == w[1]));
    }
}
