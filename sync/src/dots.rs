//! The server's side of dots (contract v2), sans-IO: a question's ballots,
//! the requests judged against them, what to tell whom, and what the
//! board's `totals` map should say. The server's document actor and the
//! in-memory [`crate::loopback::Loopback`] both drive it.

use crate::presence::{DotRequest, MyDots, Totals};
use automerge::Automerge;
use std::collections::BTreeMap;
use tavolo_model::ballot::{self, Ballots};
use tavolo_model::policy::{PolicyContext, RefusalCode, Role};
use tavolo_model::read::IntoMap;

/// One question's dots.
#[derive(Debug, Clone, Default)]
pub struct DotBox {
    ballots: Ballots,
}

/// A request the box accepted: to be stored, then told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub participant: String,
    pub target: String,
    pub count: i64,
}

impl DotBox {
    pub fn new(ballots: Ballots) -> Self {
        Self { ballots }
    }

    pub fn ballots(&self) -> &Ballots {
        &self.ballots
    }

    /// Judges a `tavolo/dot` payload from a peer with `role` against the
    /// board `doc`: the accepted change (already applied here; the caller
    /// stores it and then tells [`DotBox::my_dots`] and
    /// [`DotBox::live_totals`]), or the answer to send the peer at once.
    pub fn request(
        &mut self,
        doc: &Automerge,
        role: &Role,
        data: &[u8],
        ctx: &PolicyContext,
    ) -> Result<Placed, MyDots> {
        let refused = |who: &str, code: RefusalCode, detail: String, target: String| {
            Err(self.my_dots(who, Some((code.as_str().to_string(), detail, target))))
        };
        let Role::Participant(p) = role else {
            return refused(
                "",
                RefusalCode::NotYours,
                "only participants place dots".into(),
                String::new(),
            );
        };
        let req = match DotRequest::decode(data) {
            Ok(Some(r)) => r,
            _ => {
                return refused(
                    p.as_str(),
                    RefusalCode::Malformed,
                    "a dot request is {type: \"tavolo/dot\", target, count}".into(),
                    String::new(),
                );
            }
        };
        let voting = tavolo_model::schema::Voting::load(doc);
        let exists = ballot::exists_in(doc);
        let rules = ballot::Rules {
            voting: &voting,
            exists: &exists,
            session_budget: ctx.vote_budget,
            phase_locked: ctx.phase_locked,
        };
        let count = i64::try_from(req.count).unwrap_or(i64::MAX);
        match ballot::judge(rules, &self.ballots, p.as_str(), &req.target, count) {
            Ok(()) => {
                ballot::set(&mut self.ballots, p.as_str(), &req.target, count);
                Ok(Placed {
                    participant: p.as_str().to_string(),
                    target: req.target,
                    count,
                })
            }
            Err(r) => refused(p.as_str(), r.code, r.detail, req.target),
        }
    }

    /// A participant's dots, as the server keeps them.
    pub fn my_dots(&self, participant: &str, refused: Option<(String, String, String)>) -> MyDots {
        let dots = self
            .ballots
            .get(participant)
            .map(|m| {
                m.iter()
                    .map(|(t, n)| (t.clone(), u64::try_from(*n).unwrap_or(0)))
                    .into_map()
            })
            .unwrap_or_default();
        MyDots { dots, refused }
    }

    /// The live totals, for the facilitator's screens.
    pub fn live_totals(&self, doc: &Automerge) -> Totals {
        let exists = ballot::exists_in(doc);
        Totals {
            totals: ballot::totals(&exists, &self.ballots)
                .into_iter()
                .map(|(t, n)| (t, u64::try_from(n).unwrap_or(0)))
                .into_map(),
        }
    }

    /// What the board's `totals` map must become, when it differs from
    /// what it says: the totals while revealed, nothing otherwise.
    pub fn board_totals(&self, doc: &Automerge) -> Option<BTreeMap<String, i64>> {
        let revealed = tavolo_model::schema::Voting::load(doc).revealed;
        let has_map = tavolo_model::read::get_map(doc, &automerge::ROOT, "totals").is_some();
        if !revealed && !has_map {
            return None;
        }
        let desired = if revealed {
            ballot::totals(&ballot::exists_in(doc), &self.ballots)
        } else {
            BTreeMap::new()
        };
        let current: BTreeMap<String, i64> =
            tavolo_model::read::get_map(doc, &automerge::ROOT, "totals")
                .map(|t| {
                    tavolo_model::read::keys(doc, &t)
                        .into_iter()
                        .filter_map(|k| {
                            tavolo_model::read::get_int(doc, &t, k.as_str()).map(|n| (k, n))
                        })
                        .into_map()
                })
                .unwrap_or_default();
        (desired != current).then_some(desired)
    }
}
