//! Every rule of the board, both ways, through the real server: what is
//! allowed lands and reaches the others; what is forbidden is refused with
//! its code, never reaches another peer, and the sender converges back.

use crate::helpers::*;
use automerge::AutoCommit;
use automerge::transaction::Transactable;
use tavolo_model::ops;
use tavolo_model::{ParticipantId, QuestionDoc, board};
use tavolo_sync::{DocumentId, MyDots, Totals};
use tavolo_tests::{SyncClient, note_texts};

/// Anna and Bruno (participants), the facilitator, all on one question of
/// phase 2 (which offers categories), each with a note; voting is open.
struct Table {
    anna: SyncClient,
    bruno: SyncClient,
    fac: SyncClient,
    anna_id: ParticipantId,
    bruno_id: ParticipantId,
    session_doc: DocumentId,
    q: DocumentId,
    markers: usize,
    _r: Running,
}

type Edit = Box<dyn FnOnce(&mut AutoCommit)>;
type Seen = Box<dyn Fn(&QuestionDoc) -> bool>;

enum Who {
    Anna,
    Fac,
}

impl Table {
    async fn new() -> Table {
        let r = spawn_server().await;
        let (s, a, b) = session_and_two(&r.api).await;
        let f = r.api.facilitator(&s).await.unwrap();
        let mut anna = connect(&r.server, &a).await;
        let mut bruno = connect(&r.server, &b).await;
        let mut fac = connect(&r.server, &f).await;
        let sd = s.session_doc;
        let session = tavolo_model::SessionDoc::load(&anna.doc(sd)).unwrap();
        let q = DocumentId::from_url(&session.phases[1].questions[0].doc_url).unwrap();
        for c in [&mut anna, &mut bruno, &mut fac] {
            open_question(c, q).await;
        }
        let anna_id = ParticipantId(a.participant_id.clone().unwrap());
        let bruno_id = ParticipantId(b.participant_id.clone().unwrap());
        add_note(&mut anna, q, anna_id.as_str(), "n_a", "di Anna").await;
        add_note(&mut bruno, q, bruno_id.as_str(), "n_b", "di Bruno").await;
        fac.change(q, |d| {
            ops::create_cluster(d, "c_1", "Spazi").unwrap();
            ops::set_voting(d, true, Some(3)).unwrap();
        })
        .await
        .unwrap();
        for c in [&mut anna, &mut bruno, &mut fac] {
            c.pump_until(WAIT, |v| {
                let qd = QuestionDoc::load(v.doc(q));
                qd.notes.len() == 2 && qd.voting.open
            })
            .await
            .unwrap();
        }
        Table {
            anna,
            bruno,
            fac,
            anna_id,
            bruno_id,
            session_doc: sd,
            q,
            markers: 0,
            _r: r,
        }
    }

    fn actor(&mut self, who: &Who) -> &mut SyncClient {
        match who {
            Who::Anna => &mut self.anna,
            Who::Fac => &mut self.fac,
        }
    }

    /// `who` makes `edit`; it must land: Bruno sees `seen`, nobody is refused.
    async fn allowed(&mut self, what: &str, who: Who, edit: Edit, seen: Seen) {
        self.lands(what, who, edit, seen, false).await;
    }

    /// [`Table::allowed`] for an edit that hides or removes a note: the
    /// server then rewrites the board (a purge) and every copy reloads.
    async fn allowed_purging(&mut self, what: &str, who: Who, edit: Edit, seen: Seen) {
        self.lands(what, who, edit, seen, true).await;
    }

    async fn lands(&mut self, what: &str, who: Who, edit: Edit, seen: Seen, purges: bool) {
        let q = self.q;
        let before = self.actor(&who).refusals().len();
        let told = [self.anna.rewrites(q), self.fac.rewrites(q)];
        self.actor(&who).change(q, edit).await.unwrap();
        self.bruno
            .pump_until(WAIT, |v| seen(&QuestionDoc::load(v.doc(q))))
            .await
            .unwrap_or_else(|e| panic!("{what}: not seen by Bruno: {e}"));
        // After a purge every copy reloads before the next step. How many
        // times a copy is told to varies (a frame from its old copy still on
        // its way is answered "load it again" too), so each is waited for
        // until it was told once more and shows the change on the reloaded
        // board — not until its count matches another copy's.
        for (c, n) in [&mut self.anna, &mut self.fac].into_iter().zip(told) {
            c.await_rewrites(q, n + usize::from(purges))
                .await
                .unwrap_or_else(|e| panic!("{what}: the rewrite did not reach everyone: {e}"));
            c.pump_until(WAIT, |v| seen(&QuestionDoc::load(v.doc(q))))
                .await
                .unwrap_or_else(|e| panic!("{what}: not on every board: {e}"));
        }
        assert_eq!(
            self.actor(&who).refusals().len(),
            before,
            "{what}: refused: {:?}",
            self.actor(&who).refusals()
        );
    }

    /// Anna makes `edit`; it must be refused with `code`, never reach Bruno
    /// (checked after a later marker of the facilitator reached him), and
    /// Anna converges to the server's copy after dropping hers.
    async fn refused(&mut self, what: &str, code: &str, edit: Edit, seen: Seen) {
        let q = self.q;
        let before = self.anna.refusals().len();
        self.anna.change(q, edit).await.unwrap();
        self.anna
            .pump_until(WAIT, |v| v.refusals.len() > before)
            .await
            .unwrap_or_else(|e| panic!("{what}: no refusal: {e}"));
        assert_eq!(self.anna.refusals()[before].code, code, "{what}");
        self.markers += 1;
        let marker = format!("marcatore {}", self.markers);
        let bruno_id = self.bruno_id.clone();
        let id = format!("n_marker_{}", self.markers);
        add_note(&mut self.fac, q, bruno_id.as_str(), &id, &marker).await;
        self.bruno
            .pump_until(WAIT, |v| note_texts(v.doc(q)).contains(&marker))
            .await
            .unwrap();
        assert!(
            !seen(&QuestionDoc::load(&self.bruno.doc(q))),
            "{what}: reached Bruno"
        );
        self.anna.reset(q).await.unwrap();
        self.anna
            .pump_until(WAIT, |v| note_texts(v.doc(q)).contains(&marker))
            .await
            .unwrap();
        assert!(
            !seen(&QuestionDoc::load(&self.anna.doc(q))),
            "{what}: still in Anna's copy"
        );
    }
}

fn text_is(id: &'static str, text: &'static str) -> Seen {
    Box::new(move |q| q.notes.get(id).is_some_and(|n| n.text == text))
}

#[tokio::test]
async fn notes_are_changed_only_by_their_authors_and_hidden_only_by_the_facilitator() {
    let mut t = Table::new().await;
    t.allowed(
        "own text",
        Who::Anna,
        Box::new(|d| ops::edit_note_text(d, "n_a", "di Anna, corretta").unwrap()),
        text_is("n_a", "di Anna, corretta"),
    )
    .await;
    t.refused(
        "another's text",
        "not_yours",
        Box::new(|d| ops::edit_note_text(d, "n_b", "riscritta da Anna").unwrap()),
        text_is("n_b", "riscritta da Anna"),
    )
    .await;
    t.allowed(
        "own category",
        Who::Anna,
        Box::new(|d| ops::set_note_category(d, "n_a", Some("spazi")).unwrap()),
        Box::new(|q| q.notes["n_a"].category.as_deref() == Some("spazi")),
    )
    .await;
    t.refused(
        "another's category",
        "not_yours",
        Box::new(|d| ops::set_note_category(d, "n_b", Some("spazi")).unwrap()),
        Box::new(|q| q.notes["n_b"].category.as_deref() == Some("spazi")),
    )
    .await;
    t.refused(
        "a category the question does not offer",
        "malformed",
        Box::new(|d| ops::set_note_category(d, "n_a", Some("inventata")).unwrap()),
        Box::new(|q| q.notes["n_a"].category.as_deref() == Some("inventata")),
    )
    .await;
    // Contract v2: whether a note is anonymous is chosen when it is
    // written (a named note turned anonymous would keep its author in the
    // history), so not even its author can change it.
    t.refused(
        "own anonymity",
        "not_yours",
        Box::new(|d| ops::set_note_anonymous(d, "n_a", true).unwrap()),
        Box::new(|q| q.notes["n_a"].anonymous),
    )
    .await;
    t.refused(
        "another's anonymity",
        "not_yours",
        Box::new(|d| ops::set_note_anonymous(d, "n_b", true).unwrap()),
        Box::new(|q| q.notes["n_b"].anonymous),
    )
    .await;
    t.refused(
        "hiding a note",
        "not_yours",
        Box::new(|d| ops::set_note_hidden(d, "n_b", true, None, 1).unwrap()),
        Box::new(|q| q.notes["n_b"].hidden),
    )
    .await;
    t.allowed_purging(
        "the facilitator hides a note",
        Who::Fac,
        Box::new(|d| ops::set_note_hidden(d, "n_b", true, Some("fuori tema"), 1).unwrap()),
        Box::new(|q| {
            q.notes.get("n_b").is_some_and(|n| {
                n.hidden && n.text.is_empty() && n.hidden_reason.as_deref() == Some("fuori tema")
            })
        }),
    )
    .await;
    // A hidden note is under moderation: its writer may not put text back
    // into it (it would reach every phone before the purge took it out).
    t.allowed_purging(
        "the facilitator hides Anna's note",
        Who::Fac,
        Box::new(|d| ops::set_note_hidden(d, "n_a", true, Some("dati personali"), 2).unwrap()),
        Box::new(|q| {
            q.notes
                .get("n_a")
                .is_some_and(|n| n.hidden && n.text.is_empty())
        }),
    )
    .await;
    t.refused(
        "rewriting one's own hidden note",
        "not_yours",
        Box::new(|d| ops::edit_note_text(d, "n_a", "Mario Rossi, via Roma 3").unwrap()),
        text_is("n_a", "Mario Rossi, via Roma 3"),
    )
    .await;
    t.refused(
        "recategorising one's own hidden note",
        "not_yours",
        Box::new(|d| ops::set_note_category(d, "n_a", None).unwrap()),
        Box::new(|q| q.notes["n_a"].category.is_none()),
    )
    .await;
    t.refused(
        "deleting another's note",
        "not_yours",
        Box::new(|d| ops::delete_note(d, "n_b").unwrap()),
        Box::new(|q| !q.notes.contains_key("n_b")),
    )
    .await;
    t.allowed_purging(
        "the facilitator removes a note",
        Who::Fac,
        Box::new(|d| ops::remove_note(d, "n_b", Some("dati personali"), 2).unwrap()),
        // (Not an empty copy reloading: the other notes are there.)
        Box::new(|q| q.notes.contains_key("n_a") && !q.notes.contains_key("n_b")),
    )
    .await;
    t.allowed_purging(
        "deleting one's own note",
        Who::Anna,
        Box::new(|d| ops::delete_note(d, "n_a").unwrap()),
        Box::new(|q| !q.notes.is_empty() && !q.notes.contains_key("n_a")),
    )
    .await;
    // The removal is on record, with its reason and not the text.
    let doc = t.bruno.doc(t.q);
    let log = tavolo_model::read::map_at_path(&doc, &["moderation"]).unwrap();
    let entries: Vec<(String, String)> = tavolo_model::read::keys(&doc, &log)
        .into_iter()
        .filter_map(|k| {
            let e = tavolo_model::read::get_map(&doc, &log, &k)?;
            Some((
                tavolo_model::read::get_str(&doc, &e, "action")?,
                tavolo_model::read::get_str(&doc, &e, "reason").unwrap_or_default(),
            ))
        })
        .collect();
    assert!(
        entries.contains(&("removed".into(), "dati personali".into())),
        "{entries:?}"
    );
    assert!(
        entries.contains(&("hidden".into(), "fuori tema".into())),
        "{entries:?}"
    );
}

#[tokio::test]
async fn anyone_clusters_while_the_phase_is_open() {
    let mut t = Table::new().await;
    t.allowed(
        "moving another's note into a cluster",
        Who::Anna,
        Box::new(|d| ops::set_note_cluster(d, "n_b", Some("c_1")).unwrap()),
        Box::new(|q| board::note_place(q, "n_b").as_deref() == Some("c_1")),
    )
    .await;
    t.allowed(
        "creating a cluster with a note",
        Who::Anna,
        Box::new(|d| ops::create_cluster_with(d, "c_2", "Persone", &["n_a"]).unwrap()),
        Box::new(|q| board::note_place(q, "n_a").as_deref() == Some("c_2")),
    )
    .await;
    t.allowed(
        "renaming a cluster someone else made",
        Who::Anna,
        Box::new(|d| ops::rename_cluster(d, "c_1", "Luoghi").unwrap()),
        Box::new(|q| q.clusters["c_1"].title == "Luoghi"),
    )
    .await;
    t.allowed(
        "merging two clusters",
        Who::Anna,
        Box::new(|d| ops::merge_clusters(d, "c_2", "c_1").unwrap()),
        Box::new(|q| board::note_place(q, "n_a").as_deref() == Some("c_1")),
    )
    .await;
    t.refused(
        "moving a note into a cluster that does not exist",
        "malformed",
        Box::new(|d| {
            let n = tavolo_model::read::map_at_path(&*d, &["notes", "n_a"]).unwrap();
            d.put(&n, "cluster", "c_404").unwrap();
        }),
        Box::new(|q| q.notes["n_a"].cluster.as_deref() == Some("c_404")),
    )
    .await;
    t.allowed(
        "dissolving a cluster",
        Who::Anna,
        Box::new(|d| ops::dissolve_cluster(d, "c_1").unwrap()),
        Box::new(|q| board::live_clusters(q).is_empty()),
    )
    .await;

    // Locked: even clustering stops.
    let sd = t.session_doc;
    set_locked(&mut t.fac, &mut t.anna, sd, "materia-prima", true).await;
    t.refused(
        "clustering in a locked phase",
        "phase_locked",
        Box::new(|d| ops::create_cluster_with(d, "c_3", "Tardi", &["n_a"]).unwrap()),
        Box::new(|q| q.clusters.contains_key("c_3")),
    )
    .await;
}

/// Anna asks for `count` dots on `target`; returns once the server answered
/// (the refusal code, if any).
async fn dot(t: &mut Table, target: &str, count: u64) -> Option<String> {
    let q = t.q;
    let before = t.anna.lock_view(|v| v.count_of(q, my_dots));
    t.anna.send_dot(q, target, count).await.unwrap();
    t.anna
        .pump_until(WAIT, |v| v.count_of(q, my_dots) > before)
        .await
        .expect("the server answers a dot");
    let answer = t.anna.lock_view(|v| v.latest(q, my_dots)).unwrap();
    answer.refused.map(|(code, _, _)| code)
}

fn my_dots(b: &[u8]) -> Option<MyDots> {
    MyDots::decode(b).ok().flatten()
}

fn totals(b: &[u8]) -> Option<Totals> {
    Totals::decode(b).ok().flatten()
}

#[tokio::test]
async fn dots_are_ones_own_within_the_budget_and_only_while_voting_is_open() {
    let mut t = Table::new().await;
    let q = t.q;
    assert_eq!(dot(&mut t, "n_b", 2).await, None, "two dots on a note");
    assert_eq!(
        dot(&mut t, "c_1", 2).await.as_deref(),
        Some("over_budget"),
        "more dots than the budget"
    );
    assert_eq!(
        dot(&mut t, "c_1", 1).await,
        None,
        "the last dot, on a cluster"
    );
    assert_eq!(
        dot(&mut t, "n_nope", 1).await.as_deref(),
        Some("malformed"),
        "a target that does not exist"
    );
    let mine = t.anna.lock_view(|v| v.latest(q, my_dots)).unwrap();
    assert_eq!(
        mine.dots,
        [("c_1".to_string(), 1), ("n_b".to_string(), 2)].into()
    );
    // Writing dots into the board, in anyone's name, lands nowhere.
    let a = t.anna_id.clone();
    t.refused(
        "a dot written into the board",
        "not_yours",
        Box::new(move |d| ops::set_vote(d, "n_a", &a, 1).unwrap()),
        Box::new(|q| q.vote_total("n_a") > 0),
    )
    .await;
    // The facilitator sees the totals live; the board holds none yet.
    t.fac
        .pump_until(WAIT, |v| {
            v.latest(q, totals).is_some_and(|t| {
                t.totals == [("c_1".to_string(), 1), ("n_b".to_string(), 2)].into()
            })
        })
        .await
        .expect("the facilitator hears the totals");
    assert!(QuestionDoc::load(&t.bruno.doc(q)).totals.is_empty());
    assert!(t.bruno.lock_view(|v| v.latest(q, totals)).is_none());
    t.allowed(
        "the facilitator reveals the totals",
        Who::Fac,
        Box::new(|d| ops::set_votes_revealed(d, true).unwrap()),
        Box::new(|q| q.vote_total("n_b") == 2 && q.vote_total("c_1") == 1),
    )
    .await;
    t.allowed(
        "the facilitator closes voting",
        Who::Fac,
        Box::new(|d| ops::set_voting(d, false, None).unwrap()),
        Box::new(|q| !q.voting.open),
    )
    .await;
    assert_eq!(
        dot(&mut t, "n_b", 1).await.as_deref(),
        Some("voting_closed"),
        "taking a dot back after voting closed"
    );
    t.refused(
        "opening the vote oneself",
        "not_yours",
        Box::new(|d| ops::set_voting(d, true, Some(99)).unwrap()),
        Box::new(|q| q.voting.open),
    )
    .await;
    let ranking = board::ranking(&QuestionDoc::load(&t.bruno.doc(t.q)));
    assert_eq!(
        ranking
            .iter()
            .filter(|r| !r.id.starts_with("n_marker"))
            .map(|r| (r.id.as_str(), r.votes))
            .collect::<Vec<_>>(),
        [("n_b", 2), ("c_1", 1), ("n_a", 0)]
    );
}
