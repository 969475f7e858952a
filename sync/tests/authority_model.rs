//! Model-based test of the server's authority (issue 12): random sequences
//! of moves by several participants, hostile ones included — delete and
//! re-create, writing under another's actor id, conflicting writes from
//! stale copies, changes delivered out of order — plus the facilitator's
//! moderation and locks, all judged by the real [`Room`] and policy. After
//! every step the server's document (what the facilitator's replica
//! converges to) must keep the invariants:
//!
//! - each participant's dots on a question are within the budget (dots are
//!   the server's, judged by `ballot`; none is ever in the board);
//! - a note the facilitator hid is hidden or gone, never visible again;
//! - a note id keeps its first author, and once gone never comes back;
//! - nothing changes while the phase is locked.

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, AutoCommit, Automerge, Change, ReadDoc};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tavolo_model::ops::{self, NewNote};
use tavolo_model::policy::{DocKind, PolicyContext, Role};
use tavolo_model::{ParticipantId, QuestionDoc};
use tavolo_sync::{ActorBook, DocumentId, PeerId, Received, Room, SyncKind};

const BUDGET: i64 = 3;
const PARTICIPANTS: usize = 3;
const NOTE_IDS: &[&str] = &["n0", "n1", "n2", "n3"];

#[derive(Debug, Clone)]
enum Move {
    /// Participant pulls the server's state into their copy.
    Sync(usize),
    Add(usize, usize),
    Delete(usize, usize),
    Edit(usize, usize),
    Vote(usize, usize, i64),
    /// Writes a note under another participant's actor id.
    Squat(usize, usize, usize),
    /// Two changes, delivered second first.
    OutOfOrder(usize, usize, usize),
    /// The facilitator hides a note.
    Hide(usize),
    Lock(bool),
}

fn moves() -> impl Strategy<Value = Move> {
    let p = 0..PARTICIPANTS;
    let n = 0..NOTE_IDS.len();
    prop_oneof![
        3 => p.clone().prop_map(Move::Sync),
        3 => (p.clone(), n.clone()).prop_map(|(p, n)| Move::Add(p, n)),
        2 => (p.clone(), n.clone()).prop_map(|(p, n)| Move::Delete(p, n)),
        1 => (p.clone(), n.clone()).prop_map(|(p, n)| Move::Edit(p, n)),
        3 => (p.clone(), n.clone(), 0..5_i64).prop_map(|(p, n, k)| Move::Vote(p, n, k)),
        1 => (p.clone(), p.clone(), n.clone()).prop_map(|(p, q, n)| Move::Squat(p, q, n)),
        1 => (p.clone(), n.clone(), n.clone()).prop_map(|(p, a, b)| Move::OutOfOrder(p, a, b)),
        1 => n.prop_map(Move::Hide),
        1 => any::<bool>().prop_map(Move::Lock),
    ]
}

struct Client {
    peer: PeerId,
    who: ParticipantId,
    doc: AutoCommit,
    /// Changes made locally and not yet delivered.
    unsent: Vec<Change>,
}

struct World {
    room: Room,
    ctx: PolicyContext,
    clients: Vec<Client>,
    fac: AutoCommit,
    /// Every author a note id was ever seen with, and whether it is gone.
    authors: BTreeMap<String, String>,
    gone: BTreeSet<String>,
    hidden: BTreeSet<String>,
    /// The server's record of dots (contract v2).
    ballots: tavolo_model::ballot::Ballots,
}

fn note(text: &str) -> NewNote {
    NewNote {
        text: text.into(),
        category: None,
        anonymous: false,
        created_at: 1,
    }
}

fn message(changes: &[Change]) -> Vec<u8> {
    sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: changes
            .iter()
            .map(|c| c.clone().bytes().into_owned())
            .collect::<Vec<_>>()
            .into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
    .encode()
}

impl World {
    fn new() -> Self {
        let mut doc = AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        ops::set_voting(&mut doc, true, Some(BUDGET)).unwrap();
        doc.commit();
        let id = DocumentId::from_bytes([9; 16]);
        let mut room = Room::new(id, PeerId("server".into()), doc.document().clone())
            .with_actors(ActorBook::default());
        room.add_peer(PeerId("fac".into()), Role::Facilitator);
        let clients = (0..PARTICIPANTS)
            .map(|i| {
                let peer = PeerId(format!("peer{i}"));
                let who = ParticipantId(format!("p{i}"));
                room.add_peer(peer.clone(), Role::Participant(who.clone()));
                let mut d = doc.fork();
                d.set_actor(ActorId::random());
                Client {
                    peer,
                    who,
                    doc: d,
                    unsent: Vec::new(),
                }
            })
            .collect();
        let ctx = PolicyContext {
            kind: DocKind::Question {
                phase_id: "p".into(),
                categories: Vec::new(),
            },
            phase_locked: false,
            vote_budget: BUDGET,
        };
        let fac = doc.fork();
        World {
            room,
            ctx,
            clients,
            fac,
            authors: BTreeMap::new(),
            gone: BTreeSet::new(),
            hidden: BTreeSet::new(),
            ballots: Default::default(),
        }
    }

    fn server(&self) -> &Automerge {
        self.room.doc()
    }

    /// Delivers changes as one sync message; a refused client drops its
    /// copy and loads the server's, like the real client.
    fn deliver(&mut self, i: usize, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let peer = self.clients[i].peer.clone();
        let heads = self.server().get_heads();
        let got = self
            .room
            .receive(&peer, SyncKind::Sync, &message(&changes), &self.ctx)
            .expect("a well-formed message");
        if self.ctx.phase_locked {
            assert_eq!(
                self.server().get_heads(),
                heads,
                "a change landed in a locked phase"
            );
        }
        if matches!(got, Received::Refused(_) | Received::Ignored) {
            self.reset(i);
        }
        let _ = self.room.take_unsaved();
        self.room.saved();
    }

    fn reset(&mut self, i: usize) {
        let peer = self.clients[i].peer.clone();
        let empty = Automerge::new().generate_sync_message(&mut sync::State::new());
        let data = empty.map(|m| m.encode()).unwrap_or_default();
        let _ = self
            .room
            .receive(&peer, SyncKind::Request, &data, &self.ctx);
        self.pull(i);
    }

    fn pull(&mut self, i: usize) {
        let actor = self.clients[i].doc.get_actor().clone();
        let mut d = AutoCommit::load(&self.room.save()).unwrap();
        d.set_actor(actor);
        self.clients[i].doc = d;
        self.clients[i].unsent.clear();
    }

    /// Runs `edit` on participant `i`'s copy; returns the new changes.
    fn local(
        &mut self,
        i: usize,
        edit: impl FnOnce(&mut AutoCommit, &ParticipantId),
    ) -> Vec<Change> {
        let c = &mut self.clients[i];
        let heads = c.doc.get_heads();
        let who = c.who.clone();
        edit(&mut c.doc, &who);
        c.doc.commit();
        c.doc.get_changes(&heads)
    }

    fn facilitator(&mut self, edit: impl FnOnce(&mut AutoCommit)) {
        let mut d = AutoCommit::load(&self.room.save()).unwrap();
        d.set_actor(self.fac.get_actor().clone());
        let heads = d.get_heads();
        edit(&mut d);
        d.commit();
        let changes: Vec<Change> = d.get_changes(&heads);
        if !changes.is_empty() {
            let got = self
                .room
                .receive(
                    &PeerId("fac".into()),
                    SyncKind::Sync,
                    &message(&changes),
                    &self.ctx,
                )
                .unwrap();
            assert!(matches!(got, Received::Accepted(_)), "{got:?}");
            let _ = self.room.take_unsaved();
            self.room.saved();
        }
        self.fac = d;
    }

    fn play(&mut self, m: &Move) {
        match *m {
            Move::Sync(i) => self.pull(i),
            Move::Add(i, n) => {
                let id = NOTE_IDS[n];
                let ch = self.local(i, |d, who| {
                    let _ = ops::add_note(d, id, who, &note("idea"));
                });
                self.deliver(i, ch);
            }
            Move::Delete(i, n) => {
                let ch = self.local(i, |d, _| {
                    let _ = ops::delete_note(d, NOTE_IDS[n]);
                });
                self.deliver(i, ch);
            }
            Move::Edit(i, n) => {
                let ch = self.local(i, |d, _| {
                    let _ = ops::edit_note_text(d, NOTE_IDS[n], "cambiata");
                });
                self.deliver(i, ch);
            }
            Move::Vote(i, n, k) => {
                // Written into the board: never lands (checked below).
                let ch = self.local(i, |d, who| {
                    let _ = ops::set_vote(d, NOTE_IDS[n], who, k);
                });
                self.deliver(i, ch);
                // Asked of the server: judged as the server judges it.
                let doc = self.room.doc();
                let voting = tavolo_model::schema::Voting::load(doc);
                let exists = tavolo_model::ballot::exists_in(doc);
                let rules = tavolo_model::ballot::Rules {
                    voting: &voting,
                    exists: &exists,
                    session_budget: BUDGET,
                    phase_locked: self.ctx.phase_locked,
                };
                let who = self.clients[i].who.as_str().to_string();
                if tavolo_model::ballot::judge(rules, &self.ballots, &who, NOTE_IDS[n], k).is_ok() {
                    tavolo_model::ballot::set(&mut self.ballots, &who, NOTE_IDS[n], k);
                }
            }
            Move::Squat(i, victim, n) => {
                let actor = self.clients[victim].doc.get_actor().clone();
                // Only an actor id the victim has used is visible to others.
                let visible = self
                    .server()
                    .get_changes(&[])
                    .iter()
                    .any(|c| c.actor_id() == &actor);
                if !visible {
                    return;
                }
                let mine = self.clients[i].doc.get_actor().clone();
                let ch = self.local(i, |d, who| {
                    d.set_actor(actor);
                    let _ = ops::add_note(d, NOTE_IDS[n], who, &note("abusiva"));
                });
                self.clients[i].doc.set_actor(mine);
                let sent: Vec<_> = ch.iter().map(Change::hash).collect();
                self.deliver(i, ch);
                if i != victim {
                    for h in sent {
                        assert!(
                            self.server().get_change_by_hash(&h).is_none(),
                            "a change under another participant's actor id was accepted"
                        );
                    }
                }
            }
            Move::OutOfOrder(i, a, b) => {
                let first = self.local(i, |d, who| {
                    let _ = ops::add_note(d, NOTE_IDS[a], who, &note("prima"));
                });
                let second = self.local(i, |d, _| {
                    let _ = ops::edit_note_text(d, NOTE_IDS[b], "seconda");
                });
                self.clients[i].unsent.extend(first.iter().cloned());
                self.deliver(i, second);
                let first = std::mem::take(&mut self.clients[i].unsent);
                self.deliver(i, first);
            }
            Move::Hide(n) => {
                let id = NOTE_IDS[n];
                if QuestionDoc::load(self.server()).notes.contains_key(id) {
                    self.facilitator(|d| {
                        ops::set_note_hidden(d, id, true, None, 1).unwrap();
                    });
                    self.hidden.insert(id.to_string());
                }
            }
            Move::Lock(locked) => self.ctx.phase_locked = locked,
        }
    }

    fn check(&mut self) {
        let q = QuestionDoc::load(self.server());
        assert!(
            q.votes.values().all(BTreeMap::is_empty),
            "a dot was written into the board: {:?}",
            q.votes
        );
        {
            let exists = tavolo_model::ballot::exists_in(self.room.doc());
            for c in &self.clients {
                let used = tavolo_model::ballot::used_by(&exists, &self.ballots, c.who.as_str());
                assert!(used <= BUDGET, "{} has {used} dots", c.who.as_str());
            }
        }
        for id in &self.hidden {
            if let Some(n) = q.notes.get(id) {
                assert!(n.hidden, "hidden note {id} is visible again");
            }
        }
        for (id, n) in &q.notes {
            assert!(!self.gone.contains(id), "note {id} came back");
            let first = self.authors.entry(id.clone()).or_insert(n.author.clone());
            assert_eq!(*first, n.author, "note {id} changed author");
        }
        for id in self.authors.keys() {
            if !q.notes.contains_key(id) {
                self.gone.insert(id.clone());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn the_rules_hold_whatever_participants_try(plan in proptest::collection::vec(moves(), 1..40)) {
        let mut w = World::new();
        for m in &plan {
            w.play(m);
            w.check();
        }
    }
}
