//! Identifiers and the closed vocabularies of the public contract.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifies a participant within a session; also the key of the roster map
/// and the value of a note's `author`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub String);

impl ParticipantId {
    /// A fresh random identifier (`p_` + 22 url-safe characters of a UUIDv4).
    pub fn random() -> Self {
        Self(format!("p_{}", short_uuid()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A random identifier for notes and clusters: short, url-safe, collision-free
/// in practice (122 random bits).
pub fn new_item_id(prefix: &str) -> String {
    format!("{prefix}_{}", short_uuid())
}

fn short_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in JSON and in documents.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire form; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// The accepted values joined for an error message.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// The three sides of the public / social-private / community alliance.
    Sector { Public => "public", SocialPrivate => "social_private", Community => "community" }
}

vocabulary! {
    /// The two tiers of the table: founding core and strategic extension.
    Tier { FoundingCore => "founding_core", StrategicExtension => "strategic_extension" }
}

vocabulary! {
    /// Whether a participant sits in the room or joins remotely.
    Attendance { InRoom => "in_room", Remote => "remote" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip_their_wire_form() {
        for s in Sector::ALL {
            assert_eq!(Sector::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Sector::parse("private"), None);
        assert_eq!(Tier::expected(), "founding_core, strategic_extension");
        assert_eq!(
            serde_json::to_string(&Attendance::InRoom).unwrap(),
            "\"in_room\""
        );
    }

    #[test]
    fn generated_ids_are_distinct_and_prefixed() {
        let a = new_item_id("n");
        let b = new_item_id("n");
        assert_ne!(a, b);
        assert!(a.starts_with("n_"));
        assert!(ParticipantId::random().as_str().starts_with("p_"));
    }
}
