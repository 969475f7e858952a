//! Sans-IO sync core for Tavolo.
//!
//! Speaks the automerge-repo WebSocket protocol (v1) and runs the per-document
//! logic — peers, one `sync::State` per peer, fan-out with dirty-peer
//! catch-up, and the server's authority over incoming changes — without any
//! IO or async runtime. The server drives it from tokio actors; tests step it
//! by hand until the simulated network goes quiet.
//!
//! # Layout
//!
//! - [`doc_id`]: automerge-repo document ids (bs58check) and `automerge:` URLs.
//! - [`guard`]: inspection of incoming sync messages before automerge
//!   sees them (sizes, inflation, operation counts, nesting, actors).
//! - [`wire`]: the CBOR message codec (`join`, `peer`, `request`, `sync`,
//!   `doc-unavailable`, `ephemeral`, `error`, `leave`, and Tavolo's
//!   `tavolo/refused`).
//! - [`presence`]: the server's `ephemeral` payload saying who is connected.
//! - [`room`]: one document and its peers (the server side).
//! - [`client`]: the documents one peer holds (the client side).
//! - [`loopback`]: an in-memory server for one document (simulations, tests).

pub mod client;
pub mod doc_id;
pub mod dots;
pub mod guard;
pub mod host;
pub mod loopback;
pub mod presence;
pub mod reroot;
pub mod room;
pub mod shape;
pub mod wire;

pub use client::ClientCore;
pub use doc_id::DocumentId;
pub use presence::{DotRequest, HiddenTexts, MyDots, MyNotes, Presence, PresenceDelta, Totals};
pub use room::{ActorBook, Owner, Received, Room, RoomError, SyncKind};
pub use wire::{Message, PROTOCOL_V1, PeerId};
