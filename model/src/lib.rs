//! Tavolo's domain model: what a session is, independent of any IO.
//!
//! Every board is a set of Automerge documents — one *session* document, one
//! *roster* document and one document per guiding question. This crate knows
//! their shape, how to build them from a [`Template`], the operations people
//! perform on them, and the [`policy`] that decides who may change what.
//! It never touches the network, the disk or a clock it was not handed, so the
//! server and the browser (through `client-wasm`) share exactly one definition.
//!
//! # Layout
//!
//! - [`ids`]: newtypes for identifiers and the closed vocabularies of the
//!   contract (sector, tier, attendance).
//! - [`template`]: templates as data (TOML), validation, and the built-in ones.
//! - [`schema`]: typed views of the three document kinds (hydrated with
//!   `autosurgeon`), tolerant of strings stored as Automerge `Text`.
//! - [`ops`]: building the initial documents and every edit a person makes.
//! - [`board`]: where each note is (clusters merged and dissolved
//!   concurrently) and the ranking of dots.
//! - [`facilitation`]: the phase timer and the spotlight in the session document.
//! - [`policy`]: inspection of incoming changes against the sender's role.
//! - [`read`]: small lenient readers shared by schema and policy.
//! - [`record`]: the meeting's data and the table's conclusions (the
//!   facilitator's, in the session document).
//! - [`report`]: the session report (Markdown, CSV, JSON, printable HTML),
//!   public or for the facilitator, and its privacy rules.

pub mod ballot;
pub mod board;
pub mod facilitation;
pub mod ids;
pub mod ops;
pub mod policy;
pub mod read;
pub mod record;
pub mod report;
pub mod schema;
pub mod template;

pub use ids::{Attendance, ParticipantId, Sector, Tier};
pub use policy::{DocKind, PolicyContext, Refusal, Role};
pub use schema::{Cluster, Note, Participant, QuestionDoc, RosterDoc, SessionDoc};
pub use template::Template;
