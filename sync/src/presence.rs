//! Who is connected to a session right now, as the server tells it.
//!
//! Presence travels in automerge-repo `ephemeral` messages on the session
//! document: the server (which knows every connection's ticket, so nobody
//! can claim to be someone else) sends each peer the current picture
//! whenever someone connects or leaves. Nothing of it is stored. The payload
//! (the message's `data`) is a CBOR map:
//!
//! ```text
//! { "type": "tavolo/presence",
//!   "participants": { <participant id>: { "attendance": "in_room" | "remote",
//!                                         "connections": n } },
//!   "facilitators": n, "viewers": n }
//! ```
//!
//! Clients accept presence only from the server's peer id.

use crate::wire::{DecodeError, each_entry, number, take_absent, text};
use minicbor::{Decoder, Encoder};
use std::collections::BTreeMap;

/// The `type` of a presence payload.
pub const PRESENCE_TYPE: &str = "tavolo/presence";

/// More entries than any session has; a bigger payload is refused.
const MAX_ENTRIES: usize = 10_000;
const MAX_FIELD: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    pub participants: BTreeMap<String, PresentParticipant>,
    /// Facilitator connections (tabs).
    pub facilitators: u64,
    /// Read-only screens (projectors).
    pub viewers: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentParticipant {
    /// `in_room` or `remote`, as they said when joining.
    pub attendance: String,
    /// Open connections (a person may have two tabs open).
    pub connections: u64,
}

impl Presence {
    /// Participants connected in the room and remotely.
    pub fn counts(&self) -> (usize, usize) {
        let in_room = self
            .participants
            .values()
            .filter(|p| p.attendance == "in_room")
            .count();
        (in_room, self.participants.len() - in_room)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf);
        // Writing into a Vec cannot fail.
        let _ = self.encode_into(&mut e);
        buf
    }

    fn encode_into(
        &self,
        e: &mut Encoder<&mut Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        e.map(4)?;
        e.str("type")?.str(PRESENCE_TYPE)?;
        e.str("participants")?.map(self.participants.len() as u64)?;
        for (id, p) in &self.participants {
            e.str(id)?.map(2)?;
            e.str("attendance")?.str(&p.attendance)?;
            e.str("connections")?.u64(p.connections)?;
        }
        e.str("facilitators")?.u64(self.facilitators)?;
        e.str("viewers")?.u64(self.viewers)?;
        Ok(())
    }

    /// Decodes a payload; `Ok(None)` when it is some other ephemeral payload.
    pub fn decode(bytes: &[u8]) -> Result<Option<Presence>, DecodeError> {
        let mut d = Decoder::new(bytes);
        let mut kind = None;
        let mut p = Presence::default();
        each_entry(&mut d, |key, d| {
            match key {
                "type" => kind = text(d, "type", MAX_FIELD)?,
                "facilitators" => p.facilitators = number(d, "facilitators")?.unwrap_or(0),
                "viewers" => p.viewers = number(d, "viewers")?.unwrap_or(0),
                "participants" => {
                    if take_absent(d)? {
                        return Ok(());
                    }
                    each_entry(d, |id, d| {
                        if p.participants.len() >= MAX_ENTRIES {
                            return Err(DecodeError::TooLong("participants"));
                        }
                        let mut attendance = None;
                        let mut connections = 1;
                        each_entry(d, |k, d| {
                            match k {
                                "attendance" => attendance = text(d, "attendance", MAX_FIELD)?,
                                "connections" => {
                                    connections = number(d, "connections")?.unwrap_or(1);
                                }
                                _ => Decoder::skip(d)?,
                            }
                            Ok(())
                        })?;
                        if id.len() <= MAX_FIELD {
                            p.participants.insert(
                                id.to_string(),
                                PresentParticipant {
                                    attendance: attendance.unwrap_or_default(),
                                    connections,
                                },
                            );
                        }
                        Ok(())
                    })?;
                }
                _ => Decoder::skip(d)?,
            }
            Ok(())
        })?;
        Ok((kind.as_deref() == Some(PRESENCE_TYPE)).then_some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Presence {
        let mut p = Presence {
            facilitators: 1,
            viewers: 2,
            ..Presence::default()
        };
        for (id, att, n) in [
            ("p_a", "in_room", 1),
            ("p_b", "remote", 2),
            ("p_c", "in_room", 1),
        ] {
            p.participants.insert(
                id.into(),
                PresentParticipant {
                    attendance: att.into(),
                    connections: n,
                },
            );
        }
        p
    }

    #[test]
    fn presence_round_trips_and_counts_people_not_tabs() {
        let p = sample();
        assert_eq!(Presence::decode(&p.encode()).unwrap(), Some(p.clone()));
        assert_eq!(p.counts(), (2, 1));
    }

    #[test]
    fn other_ephemeral_payloads_are_not_presence() {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf);
        e.map(2).unwrap();
        e.str("type").unwrap().str("cursor").unwrap();
        e.str("participants").unwrap().map(0).unwrap();
        assert_eq!(Presence::decode(&buf).unwrap(), None);
        assert!(Presence::decode(&[0xff, 0x00]).is_err());
        assert!(Presence::decode(b"\x01").is_err());
    }
}
