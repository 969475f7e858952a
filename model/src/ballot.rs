//! Dots, kept by the server (contract v2).
//!
//! Who placed which dot is in no document a participant or the projector can
//! fetch: a participant asks the server to set its dots on a target (an
//! `ephemeral` message `tavolo/dot` on the question document), the server
//! judges the request here, keeps the answer privately (its `dots` table),
//! tells the participant its own dots, tells the facilitator the live
//! totals, and writes the totals into the question document's `totals` map
//! only while the facilitator has them revealed.

use crate::policy::{Refusal, RefusalCode};
use crate::read;
use crate::schema::{QuestionDoc, Voting};
use autosurgeon::ReadDoc;
use std::collections::BTreeMap;

/// Dots on one question: participant id → target (note or cluster id) →
/// dots.
pub type Ballots = BTreeMap<String, BTreeMap<String, i64>>;

/// More dots than any budget on one target (a bound on what is stored).
pub const MAX_DOTS_ON_A_TARGET: i64 = 100;

fn refused(code: RefusalCode, detail: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal {
        code,
        detail: detail.into(),
    })
}

/// Whether a target still exists in a question document: a note or a
/// cluster of it (read from the document without hydrating the board).
pub fn exists_in<D: ReadDoc>(doc: &D) -> impl Fn(&str) -> bool + '_ {
    move |t| {
        read::map_at_path(doc, &["notes", t]).is_some()
            || read::map_at_path(doc, &["clusters", t]).is_some()
    }
}

/// The dots `who` has on targets that still exist (dots on a removed note
/// are given back).
pub fn used_by(exists: &dyn Fn(&str) -> bool, ballots: &Ballots, who: &str) -> i64 {
    ballots.get(who).map_or(0, |mine| {
        mine.iter()
            .filter(|(t, _)| exists(t))
            .map(|(_, n)| (*n).max(0))
            .sum()
    })
}

/// What a request is judged against, besides the ballots.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub voting: &'a Voting,
    pub exists: &'a dyn Fn(&str) -> bool,
    /// Dots per participant unless the question sets its own.
    pub session_budget: i64,
    pub phase_locked: bool,
}

/// Judges `who` setting its dots on `target` to `count`: only while voting
/// is open and the phase unlocked, on something that exists (taking dots
/// back is always possible), within the budget. A budget lowered below
/// what is placed stops new dots only.
pub fn judge(
    rules: Rules<'_>,
    ballots: &Ballots,
    who: &str,
    target: &str,
    count: i64,
) -> Result<(), Refusal> {
    if rules.phase_locked {
        return refused(RefusalCode::PhaseLocked, "this phase is locked");
    }
    if !rules.voting.open {
        return refused(
            RefusalCode::VotingClosed,
            "voting is closed on this question",
        );
    }
    if !(0..=MAX_DOTS_ON_A_TARGET).contains(&count) {
        return refused(
            RefusalCode::Malformed,
            format!("dots on one target are between 0 and {MAX_DOTS_ON_A_TARGET}"),
        );
    }
    let before = ballots
        .get(who)
        .and_then(|m| m.get(target))
        .copied()
        .unwrap_or(0);
    if count <= before {
        return Ok(());
    }
    if !(rules.exists)(target) {
        return refused(
            RefusalCode::Malformed,
            format!("{target} is neither a note nor a group of this question"),
        );
    }
    let budget = rules.voting.budget.unwrap_or(rules.session_budget);
    let used = used_by(rules.exists, ballots, who) - before + count;
    if used > budget {
        return refused(
            RefusalCode::OverBudget,
            format!("{used} dots placed, the budget is {budget}"),
        );
    }
    Ok(())
}

impl std::fmt::Debug for Rules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("voting", self.voting)
            .field("session_budget", &self.session_budget)
            .field("phase_locked", &self.phase_locked)
            .finish_non_exhaustive()
    }
}

/// Sets `who`'s dots on `target` (after [`judge`] accepted them).
pub fn set(ballots: &mut Ballots, who: &str, target: &str, count: i64) {
    let mine = ballots.entry(who.to_string()).or_default();
    if count == 0 {
        mine.remove(target);
    } else {
        mine.insert(target.to_string(), count);
    }
    if mine.is_empty() {
        ballots.remove(who);
    }
}

/// Total dots per target that still exists (targets with none left out).
pub fn totals(exists: &dyn Fn(&str) -> bool, ballots: &Ballots) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for mine in ballots.values() {
        for (target, n) in mine {
            if *n > 0 && exists(target) {
                *out.entry(target.clone()).or_default() += n;
            }
        }
    }
    out
}

/// The question as a report sees it: votes per participant from the
/// ballots (the server's private knowledge), not the public totals.
pub fn with_ballots(mut q: QuestionDoc, ballots: &Ballots) -> QuestionDoc {
    let mut votes: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (who, mine) in ballots {
        for (target, n) in mine {
            votes
                .entry(target.clone())
                .or_default()
                .insert(who.clone(), *n);
        }
    }
    q.votes = votes;
    q.totals.clear();
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ParticipantId;
    use crate::ops::{self, NewNote};
    use automerge::AutoCommit;

    fn board(open: bool, budget: Option<i64>) -> AutoCommit {
        let mut doc = AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        for id in ["n_1", "n_2"] {
            let new = NewNote {
                text: "nota".into(),
                category: None,
                anonymous: false,
                created_at: 1,
            };
            ops::add_note(&mut doc, id, &ParticipantId("p_a".into()), &new).unwrap();
        }
        ops::create_cluster(&mut doc, "c_1", "Gruppo").unwrap();
        ops::set_voting(&mut doc, open, budget).unwrap();
        doc
    }

    /// Judges on `doc` with a session budget of 3.
    fn on(
        doc: &AutoCommit,
        b: &Ballots,
        who: &str,
        target: &str,
        count: i64,
    ) -> Result<(), Refusal> {
        on_locked(doc, b, who, target, count, false)
    }

    fn on_locked(
        doc: &AutoCommit,
        b: &Ballots,
        who: &str,
        target: &str,
        count: i64,
        phase_locked: bool,
    ) -> Result<(), Refusal> {
        let voting = Voting::load(doc);
        let exists = exists_in(doc);
        let rules = Rules {
            voting: &voting,
            exists: &exists,
            session_budget: 3,
            phase_locked,
        };
        judge(rules, b, who, target, count)
    }

    fn code(r: Result<(), Refusal>) -> RefusalCode {
        r.expect_err("should be refused").code
    }

    #[test]
    fn dots_stay_within_the_budget_and_are_given_back_with_their_target() {
        let q = board(true, None);
        let mut b = Ballots::new();
        on(&q, &b, "p_me", "n_1", 2).unwrap();
        set(&mut b, "p_me", "n_1", 2);
        on(&q, &b, "p_me", "c_1", 1).unwrap();
        set(&mut b, "p_me", "c_1", 1);
        assert_eq!(code(on(&q, &b, "p_me", "n_2", 1)), RefusalCode::OverBudget);
        // Moving a dot is taking it back, then placing it.
        on(&q, &b, "p_me", "n_1", 1).unwrap();
        set(&mut b, "p_me", "n_1", 1);
        on(&q, &b, "p_me", "n_2", 1).unwrap();
        set(&mut b, "p_me", "n_2", 1);
        // Others' dots are theirs.
        on(&q, &b, "p_other", "n_2", 3).unwrap();
        set(&mut b, "p_other", "n_2", 3);
        assert_eq!(
            totals(&exists_in(&q), &b),
            BTreeMap::from([
                ("c_1".to_string(), 1),
                ("n_1".to_string(), 1),
                ("n_2".to_string(), 4)
            ])
        );
        // A removed note gives its dots back and counts in no total.
        let mut gone = q.clone();
        ops::remove_note(&mut gone, "n_2", None, 1).unwrap();
        assert_eq!(used_by(&exists_in(&gone), &b, "p_me"), 2);
        assert!(!totals(&exists_in(&gone), &b).contains_key("n_2"));
        assert_eq!(
            code(on(&gone, &b, "p_me", "n_2", 2)),
            RefusalCode::Malformed
        );
        on(&gone, &b, "p_me", "n_2", 0).unwrap();
        // The report's view: per participant, from the ballots.
        let seen = with_ballots(QuestionDoc::load(&q), &b);
        assert_eq!(seen.vote_total("n_2"), 4);
        assert_eq!(seen.votes["n_2"]["p_other"], 3);
    }

    #[test]
    fn no_dots_while_voting_is_closed_or_the_phase_locked_or_beyond_reason() {
        let b = Ballots::new();
        let closed = board(false, None);
        assert_eq!(
            code(on(&closed, &b, "p_me", "n_1", 1)),
            RefusalCode::VotingClosed
        );
        let open = board(true, Some(1));
        assert_eq!(
            code(on_locked(&open, &b, "p_me", "n_1", 1, true)),
            RefusalCode::PhaseLocked
        );
        // The question's own budget wins over the session's.
        assert_eq!(
            code(on(&open, &b, "p_me", "n_1", 2)),
            RefusalCode::OverBudget
        );
        assert_eq!(
            code(on(&open, &b, "p_me", "n_1", -1)),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(on(&open, &b, "p_me", "nope", 1)),
            RefusalCode::Malformed
        );
        assert_eq!(
            code(on(&open, &b, "p_me", "n_1", MAX_DOTS_ON_A_TARGET + 1)),
            RefusalCode::Malformed
        );
    }

    #[test]
    fn a_lowered_budget_stops_new_dots_only() {
        let mut b = Ballots::new();
        set(&mut b, "p_me", "n_1", 3);
        let lowered = board(true, Some(1));
        assert_eq!(
            code(on(&lowered, &b, "p_me", "n_2", 1)),
            RefusalCode::OverBudget
        );
        on(&lowered, &b, "p_me", "n_1", 2).unwrap();
    }
}
