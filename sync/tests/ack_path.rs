//! The room takes messages without changes (acknowledgements) through its
//! own `receive_heads`, which must leave the sync state exactly as
//! automerge's `receive_sync_message` would. Peers edit and sync in random
//! order; every message the server receives without changes goes through
//! both, and the states are compared.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use proptest::prelude::*;
use std::sync::Arc;
use tavolo_sync::room::receive_heads;

#[derive(Debug, Clone)]
enum Step {
    /// Peer `i` (or the server, `i == 3`) makes a change.
    Edit(usize),
    /// Peer `i` sends the server a message.
    ToServer(usize),
    /// The server sends peer `i` a message.
    ToPeer(usize),
    /// Peer `i` loses its state and starts over (a reconnect).
    Restart(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..4).prop_map(Step::Edit),
        (0usize..3).prop_map(Step::ToServer),
        (0usize..3).prop_map(Step::ToPeer),
        (0usize..3).prop_map(Step::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn an_acknowledgement_leaves_the_state_automerge_would(steps in prop::collection::vec(step(), 1..80)) {
        let mut server = AutoCommit::new();
        server.put(ROOT, "start", 0).unwrap();
        let base = server.save();
        let mut peers: Vec<AutoCommit> = (0..3).map(|_| AutoCommit::load(&base).unwrap()).collect();
        let mut peer_states: Vec<sync::State> = (0..3).map(|_| sync::State::new()).collect();
        let mut server_states: Vec<sync::State> = (0..3).map(|_| sync::State::new()).collect();
        let mut compared = 0;
        for (n, s) in steps.iter().enumerate() {
            match *s {
                Step::Edit(3) => {
                    server.put(ROOT, format!("s{n}"), n as i64).unwrap();
                    server.commit();
                }
                Step::Edit(i) => {
                    peers[i].put(ROOT, format!("p{i}_{n}"), n as i64).unwrap();
                    peers[i].commit();
                }
                Step::ToServer(i) => {
                    let Some(msg) = peers[i].sync().generate_sync_message(&mut peer_states[i]) else { continue };
                    let msg = sync::Message::decode(&msg.encode()).unwrap();
                    if msg.changes.is_empty() {
                        let mut theirs = server_states[i].clone();
                        server.document().clone().receive_sync_message(&mut theirs, msg.clone()).unwrap();
                        // Every other step the state is shared with another
                        // peer in the same state, which must keep its own.
                        let mut state = Arc::new(server_states[i].clone());
                        let other = (n % 2 == 0).then(|| state.clone());
                        receive_heads(server.document(), &mut state, msg);
                        prop_assert_eq!(&*state, &theirs);
                        if let Some(other) = other {
                            prop_assert_eq!(&*other, &server_states[i]);
                        }
                        server_states[i] = Arc::unwrap_or_clone(state);
                        compared += 1;
                    } else {
                        server.sync().receive_sync_message(&mut server_states[i], msg).unwrap();
                    }
                }
                Step::ToPeer(i) => {
                    let Some(msg) = server.sync().generate_sync_message(&mut server_states[i]) else { continue };
                    let msg = sync::Message::decode(&msg.encode()).unwrap();
                    peers[i].sync().receive_sync_message(&mut peer_states[i], msg).unwrap();
                }
                Step::Restart(i) => {
                    peer_states[i] = sync::State::new();
                }
            }
        }
        let _ = compared;
    }
}
