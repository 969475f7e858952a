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
//!
//! After the first picture a connection is sent only what changed, as a
//! delta on the version it has (`version` is in both payloads; a screen
//! whose version is not the delta's `base` ignores it and is sent a whole
//! picture again). With five hundred people in a session, someone arriving
//! costs each peer a few dozen bytes instead of the whole room:
//!
//! ```text
//! { "type": "tavolo/presence-delta", "base": v, "version": v + n,
//!   "participants": { <participant id>: { "attendance": …, "connections": n } },
//!   "gone": [ <participant id>, … ], "facilitators": n, "viewers": n }
//! ```

use crate::wire::{DecodeError, each_entry, number, take_absent, text};
use minicbor::{Decoder, Encoder};
use std::collections::BTreeMap;
use tavolo_model::read::IntoMap;

/// The `type` of a presence payload.
pub const PRESENCE_TYPE: &str = "tavolo/presence";
/// The `type` of a presence delta.
pub const PRESENCE_DELTA_TYPE: &str = "tavolo/presence-delta";

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
    /// Numbers the pictures of one server process (deltas name the one
    /// they apply to); 0 from a server that sends no deltas.
    pub version: u64,
}

/// What changed in the picture from version `base` to `version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceDelta {
    pub base: u64,
    pub version: u64,
    /// Participants who arrived or whose connections changed.
    pub set: BTreeMap<String, PresentParticipant>,
    /// Participants no longer connected.
    pub gone: Vec<String>,
    pub facilitators: u64,
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
        crate::wire::cbor(|e| self.encode_into(e))
    }

    fn encode_into(
        &self,
        e: &mut Encoder<&mut Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        e.map(5)?;
        e.str("type")?.str(PRESENCE_TYPE)?;
        encode_participants(e, &self.participants)?;
        e.str("facilitators")?.u64(self.facilitators)?;
        e.str("viewers")?.u64(self.viewers)?;
        e.str("version")?.u64(self.version)?;
        Ok(())
    }

    /// What changed from `self` to `next` (which carries its version).
    pub fn delta_to(&self, next: &Presence) -> PresenceDelta {
        PresenceDelta {
            base: self.version,
            version: next.version,
            set: next
                .participants
                .iter()
                .filter(|(id, p)| self.participants.get(*id) != Some(p))
                .map(|(id, p)| (id.clone(), p.clone()))
                .into_map(),
            gone: self
                .participants
                .keys()
                .filter(|id| !next.participants.contains_key(*id))
                .cloned()
                .collect(),
            facilitators: next.facilitators,
            viewers: next.viewers,
        }
    }

    /// Applies a delta made on this version; false (and nothing changed)
    /// when it was made on another one.
    pub fn apply(&mut self, delta: &PresenceDelta) -> bool {
        if delta.base != self.version {
            return false;
        }
        for id in &delta.gone {
            self.participants.remove(id);
        }
        for (id, p) in &delta.set {
            self.participants.insert(id.clone(), p.clone());
        }
        self.facilitators = delta.facilitators;
        self.viewers = delta.viewers;
        self.version = delta.version;
        true
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
                "version" => p.version = number(d, "version")?.unwrap_or(0),
                "participants" => decode_participants(d, &mut p.participants)?,
                _ => Decoder::skip(d)?,
            }
            Ok(())
        })?;
        Ok((kind.as_deref() == Some(PRESENCE_TYPE)).then_some(p))
    }
}

impl PresenceDelta {
    pub fn encode(&self) -> Vec<u8> {
        crate::wire::cbor(|e| self.encode_into(e))
    }

    fn encode_into(
        &self,
        e: &mut Encoder<&mut Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        e.map(7)?;
        e.str("type")?.str(PRESENCE_DELTA_TYPE)?;
        e.str("base")?.u64(self.base)?;
        e.str("version")?.u64(self.version)?;
        encode_participants(e, &self.set)?;
        e.str("gone")?.array(self.gone.len() as u64)?;
        for id in &self.gone {
            e.str(id)?;
        }
        e.str("facilitators")?.u64(self.facilitators)?;
        e.str("viewers")?.u64(self.viewers)?;
        Ok(())
    }

    /// Decodes a payload; `Ok(None)` when it is some other ephemeral payload.
    pub fn decode(bytes: &[u8]) -> Result<Option<PresenceDelta>, DecodeError> {
        let mut d = Decoder::new(bytes);
        let mut kind = None;
        let mut p = PresenceDelta::default();
        each_entry(&mut d, |key, d| {
            match key {
                "type" => kind = text(d, "type", MAX_FIELD)?,
                "base" => p.base = number(d, "base")?.unwrap_or(0),
                "version" => p.version = number(d, "version")?.unwrap_or(0),
                "facilitators" => p.facilitators = number(d, "facilitators")?.unwrap_or(0),
                "viewers" => p.viewers = number(d, "viewers")?.unwrap_or(0),
                "participants" => decode_participants(d, &mut p.set)?,
                "gone" => {
                    if take_absent(d)? {
                        return Ok(());
                    }
                    let n = d.array()?.ok_or(DecodeError::WrongType("gone"))?;
                    if n > MAX_ENTRIES as u64 {
                        return Err(DecodeError::TooLong("gone"));
                    }
                    for _ in 0..n {
                        if let Some(id) = text(d, "gone", MAX_FIELD)? {
                            p.gone.push(id);
                        }
                    }
                }
                _ => Decoder::skip(d)?,
            }
            Ok(())
        })?;
        Ok((kind.as_deref() == Some(PRESENCE_DELTA_TYPE)).then_some(p))
    }
}

fn encode_participants(
    e: &mut Encoder<&mut Vec<u8>>,
    participants: &BTreeMap<String, PresentParticipant>,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.str("participants")?.map(participants.len() as u64)?;
    for (id, p) in participants {
        e.str(id)?.map(2)?;
        e.str("attendance")?.str(&p.attendance)?;
        e.str("connections")?.u64(p.connections)?;
    }
    Ok(())
}

fn decode_participants(
    d: &mut Decoder<'_>,
    into: &mut BTreeMap<String, PresentParticipant>,
) -> Result<(), DecodeError> {
    if take_absent(d)? {
        return Ok(());
    }
    each_entry(d, |id, d| {
        if into.len() >= MAX_ENTRIES {
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
            into.insert(
                id.to_string(),
                PresentParticipant {
                    attendance: attendance.unwrap_or_default(),
                    connections,
                },
            );
        }
        Ok(())
    })
}

/// Decodes `{ "type": kind, field: { <id>: <value>, … } }`, each value read
/// by `value`; `Ok(None)` for another type of payload.
fn typed_map<T>(
    bytes: &[u8],
    kind: &str,
    field: &'static str,
    mut value: impl FnMut(&mut Decoder<'_>) -> Result<T, DecodeError>,
) -> Result<Option<BTreeMap<String, T>>, DecodeError> {
    let mut d = Decoder::new(bytes);
    let mut found = None;
    let mut out = BTreeMap::new();
    each_entry(&mut d, |key, d| {
        match key {
            "type" => found = text(d, "type", MAX_FIELD)?,
            k if k == field => {
                if take_absent(d)? {
                    return Ok(());
                }
                each_entry(d, |id, d| {
                    let v = value(d)?;
                    if out.len() >= MAX_ENTRIES {
                        return Err(DecodeError::TooLong(field));
                    }
                    if id.len() <= MAX_FIELD {
                        out.insert(id.to_string(), v);
                    }
                    Ok(())
                })?;
            }
            _ => Decoder::skip(d)?,
        }
        Ok(())
    })?;
    Ok((found.as_deref() == Some(kind)).then_some(out))
}

/// The `type` of a [`MyNotes`] payload.
pub const MY_NOTES_TYPE: &str = "tavolo/mine";

/// Which notes of a question document are the receiver's, anonymous ones
/// included: an anonymous note carries no author (contract v2), so only
/// the server can tell its writer "this is yours". Sent privately to that
/// participant's connection, on the question document, when it attaches:
///
/// ```text
/// { "type": "tavolo/mine", "notes": { <note id>: true, … } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MyNotes {
    pub notes: std::collections::BTreeSet<String>,
}

impl MyNotes {
    pub fn encode(&self) -> Vec<u8> {
        crate::wire::cbor(|e| {
            e.map(2)?;
            e.str("type")?.str(MY_NOTES_TYPE)?;
            e.str("notes")?.map(self.notes.len() as u64)?;
            for id in &self.notes {
                e.str(id)?.bool(true)?;
            }
            Ok(())
        })
    }

    /// Decodes a payload; `Ok(None)` when it is some other ephemeral payload.
    pub fn decode(bytes: &[u8]) -> Result<Option<MyNotes>, DecodeError> {
        let notes = typed_map(bytes, MY_NOTES_TYPE, "notes", |d| Ok(Decoder::skip(d)?))?;
        Ok(notes.map(|n| MyNotes {
            notes: n.into_keys().collect(),
        }))
    }
}

/// The `type` field of an ephemeral payload that is a CBOR map with one
/// (anything else: `None`).
pub fn payload_type(bytes: &[u8]) -> Option<String> {
    let mut d = Decoder::new(bytes);
    let mut kind = None;
    each_entry(&mut d, |key, d| {
        match key {
            "type" if kind.is_none() => kind = text(d, "type", MAX_FIELD).ok().flatten(),
            _ => Decoder::skip(d)?,
        }
        Ok(())
    })
    .ok()?;
    kind
}

/// The `type` of a [`HiddenTexts`] payload.
pub const HIDDEN_TYPE: &str = "tavolo/hidden";

/// The texts of hidden notes, which the board no longer holds (a purge):
/// told privately to their writer (theirs) and to the facilitator (all),
/// on the question document, when they attach and after a purge.
///
/// ```text
/// { "type": "tavolo/hidden", "notes": { <note id>: <text>, … } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HiddenTexts {
    pub notes: BTreeMap<String, String>,
}

impl HiddenTexts {
    pub fn encode(&self) -> Vec<u8> {
        crate::wire::cbor(|e| {
            e.map(2)?;
            e.str("type")?.str(HIDDEN_TYPE)?;
            e.str("notes")?.map(self.notes.len() as u64)?;
            for (id, text) in &self.notes {
                e.str(id)?.str(text)?;
            }
            Ok(())
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Option<HiddenTexts>, DecodeError> {
        let notes = typed_map(bytes, HIDDEN_TYPE, "notes", |d| {
            Ok(text(d, "text", 16 * 1024)?.unwrap_or_default())
        })?;
        Ok(notes.map(|notes| HiddenTexts { notes }))
    }
}

/// The `type` of a [`DotRequest`].
pub const DOT_TYPE: &str = "tavolo/dot";
/// The `type` of a [`MyDots`] payload.
pub const MY_DOTS_TYPE: &str = "tavolo/dots";
/// The `type` of a [`Totals`] payload.
pub const TOTALS_TYPE: &str = "tavolo/totals";

/// A map of target id → count, bounded like the others.
fn counts<'b>(d: &mut Decoder<'b>, into: &mut BTreeMap<String, u64>) -> Result<(), DecodeError> {
    if take_absent(d)? {
        return Ok(());
    }
    each_entry(d, |id, d| {
        let n = number(d, "count")?.unwrap_or(0);
        if into.len() >= MAX_ENTRIES {
            return Err(DecodeError::TooLong("counts"));
        }
        if id.len() <= MAX_FIELD {
            into.insert(id.to_string(), n);
        }
        Ok(())
    })
}

fn encode_counts(
    e: &mut Encoder<&mut Vec<u8>>,
    counts: &BTreeMap<String, u64>,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(counts.len() as u64)?;
    for (id, n) in counts {
        e.str(id)?.u64(*n)?;
    }
    Ok(())
}

/// A participant asks the server to set its dots on a note or group of the
/// question document the message is on (contract v2: nobody writes dots in
/// the board). Sent to the server's peer; never relayed.
///
/// ```text
/// { "type": "tavolo/dot", "target": <note or group id>, "count": n }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotRequest {
    pub target: String,
    pub count: u64,
}

impl DotRequest {
    pub fn encode(&self) -> Vec<u8> {
        crate::wire::cbor(|e| {
            e.map(3)?;
            e.str("type")?.str(DOT_TYPE)?;
            e.str("target")?.str(&self.target)?;
            e.str("count")?.u64(self.count)?;
            Ok(())
        })
    }

    /// `Ok(None)` for another payload, or a dot request without a target.
    pub fn decode(bytes: &[u8]) -> Result<Option<DotRequest>, DecodeError> {
        let mut d = Decoder::new(bytes);
        let (mut kind, mut target, mut count) = (None, None, None);
        each_entry(&mut d, |key, d| {
            match key {
                "type" => kind = text(d, "type", MAX_FIELD)?,
                "target" => target = text(d, "target", MAX_FIELD)?,
                "count" => count = number(d, "count")?,
                _ => Decoder::skip(d)?,
            }
            Ok(())
        })?;
        if kind.as_deref() != Some(DOT_TYPE) {
            return Ok(None);
        }
        match (target, count) {
            (Some(target), Some(count)) => Ok(Some(DotRequest { target, count })),
            _ => Err(DecodeError::WrongType(
                "tavolo/dot needs a target and a count",
            )),
        }
    }
}

/// The server tells a participant its own dots on a question (after each
/// request, and when it attaches); `refused` says why the last request did
/// not land.
///
/// ```text
/// { "type": "tavolo/dots", "dots": { <target>: n },
///   "refused"?: { "code": …, "message": …, "target": … } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MyDots {
    pub dots: BTreeMap<String, u64>,
    /// (code, message, target)
    pub refused: Option<(String, String, String)>,
}

impl MyDots {
    pub fn encode(&self) -> Vec<u8> {
        crate::wire::cbor(|e| {
            e.map(2 + u64::from(self.refused.is_some()))?;
            e.str("type")?.str(MY_DOTS_TYPE)?;
            e.str("dots")?;
            encode_counts(e, &self.dots)?;
            if let Some((code, message, target)) = &self.refused {
                e.str("refused")?.map(3)?;
                e.str("code")?.str(code)?;
                e.str("message")?.str(message)?;
                e.str("target")?.str(target)?;
            }
            Ok(())
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Option<MyDots>, DecodeError> {
        let mut d = Decoder::new(bytes);
        let mut kind = None;
        let mut out = MyDots::default();
        each_entry(&mut d, |key, d| {
            match key {
                "type" => kind = text(d, "type", MAX_FIELD)?,
                "dots" => counts(d, &mut out.dots)?,
                "refused" => {
                    if take_absent(d)? {
                        return Ok(());
                    }
                    let (mut code, mut message, mut target) = (None, None, None);
                    each_entry(d, |k, d| {
                        match k {
                            "code" => code = text(d, "code", MAX_FIELD)?,
                            "message" => message = text(d, "message", 4 * MAX_FIELD)?,
                            "target" => target = text(d, "target", MAX_FIELD)?,
                            _ => Decoder::skip(d)?,
                        }
                        Ok(())
                    })?;
                    out.refused = Some((
                        code.unwrap_or_default(),
                        message.unwrap_or_default(),
                        target.unwrap_or_default(),
                    ));
                }
                _ => Decoder::skip(d)?,
            }
            Ok(())
        })?;
        Ok((kind.as_deref() == Some(MY_DOTS_TYPE)).then_some(out))
    }
}

/// The live totals of a question, for the facilitator's connections only
/// (the board's `totals` map holds them only while revealed).
///
/// ```text
/// { "type": "tavolo/totals", "totals": { <target>: n } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub totals: BTreeMap<String, u64>,
}

impl Totals {
    pub fn encode(&self) -> Vec<u8> {
        crate::wire::cbor(|e| {
            e.map(2)?;
            e.str("type")?.str(TOTALS_TYPE)?;
            e.str("totals")?;
            encode_counts(e, &self.totals)
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Option<Totals>, DecodeError> {
        let totals = typed_map(bytes, TOTALS_TYPE, "totals", |d| {
            Ok(number(d, "count")?.unwrap_or(0))
        })?;
        Ok(totals.map(|totals| Totals { totals }))
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
    fn a_delta_carries_a_picture_to_the_next_and_only_from_its_base() {
        let mut before = sample();
        before.version = 7;
        let mut after = before.clone();
        after.version = 9;
        after.participants.remove("p_a");
        after.participants.get_mut("p_b").unwrap().connections = 1;
        after.participants.insert(
            "p_d".into(),
            PresentParticipant {
                attendance: "remote".into(),
                connections: 1,
            },
        );
        after.viewers = 0;
        let delta = before.delta_to(&after);
        assert_eq!(delta.gone, ["p_a"]);
        assert_eq!(delta.set.keys().collect::<Vec<_>>(), ["p_b", "p_d"]);
        let bytes = delta.encode();
        assert!(bytes.len() < after.encode().len());
        let decoded = PresenceDelta::decode(&bytes).unwrap().unwrap();
        assert_eq!(decoded, delta);
        assert_eq!(
            Presence::decode(&bytes).unwrap(),
            None,
            "not a whole picture"
        );
        assert_eq!(PresenceDelta::decode(&after.encode()).unwrap(), None);
        let mut screen = Presence::decode(&before.encode()).unwrap().unwrap();
        assert_eq!(screen.version, 7);
        let mut stale = screen.clone();
        stale.version = 6;
        assert!(!stale.apply(&decoded), "made on another version");
        assert_eq!(stale.participants, before.participants);
        assert!(screen.apply(&decoded));
        assert_eq!(screen, after);
    }

    #[test]
    fn dot_payloads_round_trip_and_are_told_apart() {
        let req = DotRequest {
            target: "n_1".into(),
            count: 2,
        };
        assert_eq!(
            DotRequest::decode(&req.encode()).unwrap(),
            Some(req.clone())
        );
        let mine = MyDots {
            dots: [("n_1".to_string(), 2)].into(),
            refused: Some(("over_budget".into(), "troppi".into(), "c_1".into())),
        };
        assert_eq!(MyDots::decode(&mine.encode()).unwrap(), Some(mine.clone()));
        let totals = Totals {
            totals: [("n_1".to_string(), 7)].into(),
        };
        assert_eq!(
            Totals::decode(&totals.encode()).unwrap(),
            Some(totals.clone())
        );
        for other in [
            req.encode(),
            mine.encode(),
            totals.encode(),
            sample().encode(),
        ] {
            let kinds = [
                DotRequest::decode(&other).unwrap().is_some(),
                MyDots::decode(&other).unwrap().is_some(),
                Totals::decode(&other).unwrap().is_some(),
                Presence::decode(&other).unwrap().is_some(),
            ];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1);
        }
        // A dot request without a count is an error, not silence.
        let bad = MyNotes::default().encode();
        assert_eq!(DotRequest::decode(&bad).unwrap(), None);
    }

    #[test]
    fn my_notes_round_trip_and_are_not_presence() {
        let mine = MyNotes {
            notes: ["n_1".to_string(), "n_2".to_string()].into(),
        };
        let bytes = mine.encode();
        assert_eq!(MyNotes::decode(&bytes).unwrap(), Some(mine));
        assert_eq!(Presence::decode(&bytes).unwrap(), None);
        assert_eq!(MyNotes::decode(&sample().encode()).unwrap(), None);
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
