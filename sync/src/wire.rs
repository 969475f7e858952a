//! The automerge-repo WebSocket protocol, version "1": one CBOR map per
//! binary frame, told apart by its `type` field.
//!
//! Decoding is tolerant where stock clients are loose (unknown keys are
//! skipped, `undefined` reads as absent, lengths need not be minimal,
//! `count` may be a float) and strict where it matters (the `type`, ids and
//! the fields each type needs). Unknown message types decode to
//! [`Message::Unknown`] so a newer client does not get disconnected for
//! speaking a dialect we do not use.

use crate::doc_id::DocumentId;
use minicbor::data::Type;
use minicbor::{Decoder, Encoder};
use std::fmt;

/// The only protocol version there is.
pub const PROTOCOL_V1: &str = "1";

/// Longest peer id or session id accepted, in bytes.
const MAX_ID_LEN: usize = 256;

/// A peer's self-chosen identity for the duration of a connection.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub String);

impl PeerId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0)
    }
}

/// What a peer says about itself in `join` / `peer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    pub storage_id: Option<String>,
    pub is_ephemeral: bool,
    /// `tavoloExtensions: true`: the peer understands Tavolo's own message
    /// types (`tavolo/refused`) and takes `error` as a notice. Stock
    /// automerge-repo clients do not send it; they get refusals and notices
    /// as `ephemeral` messages instead (see [`notice_payload`]), because an
    /// unknown type or an `error` makes them drop the connection.
    pub tavolo_extensions: bool,
}

/// The `data` of an `ephemeral` message carrying a notice from the server
/// to a stock client: a CBOR map `{type, code?, message, documentId?}` with
/// `type` `tavolo/refused` (a change was refused; `code` says why) or
/// `tavolo/notice` (the document is damaged, saving fails, …).
pub fn notice_payload(
    kind: &str,
    code: Option<&str>,
    message: &str,
    document_id: Option<DocumentId>,
) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut e = Encoder::new(&mut buf);
    let n = 2 + u64::from(code.is_some()) + u64::from(document_id.is_some());
    let _ = e
        .map(n)
        .and_then(|e| e.str("type"))
        .and_then(|e| e.str(kind));
    if let Some(c) = code {
        let _ = e.str("code").and_then(|e| e.str(c));
    }
    let _ = e.str("message").and_then(|e| e.str(message));
    if let Some(d) = document_id {
        let _ = e.str("documentId").and_then(|e| e.str(&d.to_string()));
    }
    buf
}

/// `request` and `sync` carry the same fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMessage {
    pub sender_id: PeerId,
    pub target_id: PeerId,
    pub document_id: DocumentId,
    /// An automerge sync message.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralMessage {
    pub sender_id: PeerId,
    pub target_id: PeerId,
    pub count: u64,
    pub session_id: String,
    pub document_id: DocumentId,
    pub data: Vec<u8>,
}

/// Tavolo's own message (type `tavolo/refused`): the server did not apply a
/// peer's changes to a document, and why. Stock clients ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedMessage {
    pub sender_id: PeerId,
    pub target_id: PeerId,
    pub document_id: DocumentId,
    /// A stable code (see `tavolo_model::policy::RefusalCode`).
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Join {
        sender_id: PeerId,
        peer_metadata: PeerMetadata,
        supported_protocol_versions: Vec<String>,
    },
    Peer {
        sender_id: PeerId,
        target_id: PeerId,
        peer_metadata: PeerMetadata,
        selected_protocol_version: String,
    },
    Leave {
        sender_id: PeerId,
    },
    Error {
        message: String,
    },
    Request(DocMessage),
    Sync(DocMessage),
    DocUnavailable {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
    },
    Ephemeral(EphemeralMessage),
    Refused(RefusedMessage),
    /// A well-formed message of a type this server does not act on
    /// (`remote-heads-changed`, `remote-subscription-change`, …).
    Unknown {
        type_name: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message is not valid CBOR: {0}")]
    Cbor(String),
    #[error("message is not a CBOR map")]
    NotAMap,
    #[error("message has no type")]
    MissingType,
    #[error("{type_name} message lacks {field}")]
    MissingField {
        type_name: String,
        field: &'static str,
    },
    #[error("field {0} has the wrong type")]
    WrongType(&'static str),
    #[error("invalid document id: {0}")]
    DocumentId(#[from] crate::doc_id::DocumentIdError),
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("trailing bytes after the message")]
    Trailing,
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> Self {
        DecodeError::Cbor(e.to_string())
    }
}

/// Every field any message may carry, collected in one pass over the map.
#[derive(Default)]
struct Fields {
    type_name: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<String>,
    data: Option<Vec<u8>>,
    count: Option<u64>,
    session_id: Option<String>,
    message: Option<String>,
    code: Option<String>,
    selected_protocol_version: Option<String>,
    supported_protocol_versions: Option<Vec<String>>,
    peer_metadata: Option<PeerMetadata>,
}

/// True when the next item is CBOR `undefined` or `null` (consumed).
pub(crate) fn take_absent(d: &mut Decoder<'_>) -> Result<bool, DecodeError> {
    match d.datatype()? {
        Type::Undefined | Type::Null => {
            Decoder::skip(d)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub(crate) fn text(
    d: &mut Decoder<'_>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, DecodeError> {
    if take_absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::String => {
            let s = d.str()?;
            if s.len() > max {
                return Err(DecodeError::TooLong(field));
            }
            Ok(Some(s.to_string()))
        }
        Type::StringIndef => {
            let mut out = String::new();
            for part in d.str_iter()? {
                out.push_str(part?);
                if out.len() > max {
                    return Err(DecodeError::TooLong(field));
                }
            }
            Ok(Some(out))
        }
        _ => Err(DecodeError::WrongType(field)),
    }
}

fn bytes(d: &mut Decoder<'_>, field: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
    if take_absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::Bytes => Ok(Some(d.bytes()?.to_vec())),
        Type::BytesIndef => {
            let mut out = Vec::new();
            for part in d.bytes_iter()? {
                out.extend_from_slice(part?);
            }
            Ok(Some(out))
        }
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// JavaScript numbers arrive as unsigned integers or, above 2^32, as floats.
pub(crate) fn number(d: &mut Decoder<'_>, field: &'static str) -> Result<Option<u64>, DecodeError> {
    if take_absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Ok(Some(d.u64()?)),
        Type::F16 | Type::F32 | Type::F64 => {
            let f = d.f64()?;
            if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 {
                Ok(Some(f as u64))
            } else {
                Err(DecodeError::WrongType(field))
            }
        }
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// Iterates a map (definite or indefinite), calling `f` with each text key;
/// `f` must consume the value. Non-text keys are skipped with their values.
pub(crate) fn each_entry<'b>(
    d: &mut Decoder<'b>,
    mut f: impl FnMut(&str, &mut Decoder<'b>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = match d.datatype()? {
        Type::Map | Type::MapIndef => d.map()?,
        _ => return Err(DecodeError::NotAMap),
    };
    let mut remaining = len;
    loop {
        match remaining {
            Some(0) => break,
            Some(ref mut n) => *n -= 1,
            None => {
                if d.datatype()? == Type::Break {
                    Decoder::skip(d)?;
                    break;
                }
            }
        }
        if d.datatype()? == Type::String {
            let key = d.str()?.to_string();
            f(&key, d)?;
        } else {
            Decoder::skip(d)?;
            Decoder::skip(d)?;
        }
    }
    Ok(())
}

fn decode_metadata(d: &mut Decoder<'_>) -> Result<Option<PeerMetadata>, DecodeError> {
    if take_absent(d)? {
        return Ok(None);
    }
    let mut meta = PeerMetadata::default();
    each_entry(d, |key, d| {
        match key {
            "storageId" => meta.storage_id = text(d, "storageId", MAX_ID_LEN)?,
            "isEphemeral" => {
                meta.is_ephemeral = match d.datatype()? {
                    Type::Bool => d.bool()?,
                    _ => {
                        Decoder::skip(d)?;
                        false
                    }
                }
            }
            "tavoloExtensions" => {
                meta.tavolo_extensions = match d.datatype()? {
                    Type::Bool => d.bool()?,
                    _ => {
                        Decoder::skip(d)?;
                        false
                    }
                }
            }
            _ => Decoder::skip(d)?,
        }
        Ok(())
    })?;
    Ok(Some(meta))
}

fn decode_fields(input: &[u8]) -> Result<Fields, DecodeError> {
    let mut d = Decoder::new(input);
    let mut f = Fields::default();
    each_entry(&mut d, |key, d| {
        match key {
            "type" => f.type_name = text(d, "type", 64)?,
            "senderId" => f.sender_id = text(d, "senderId", MAX_ID_LEN)?,
            "targetId" => f.target_id = text(d, "targetId", MAX_ID_LEN)?,
            "documentId" => {
                // samod sends the id as bytes, JavaScript as a string.
                f.document_id = match d.datatype()? {
                    Type::Bytes => {
                        let b = d.bytes()?;
                        let arr: [u8; 16] = b
                            .try_into()
                            .map_err(|_| crate::doc_id::DocumentIdError::Length(b.len()))?;
                        Some(DocumentId::from_bytes(arr).to_string())
                    }
                    _ => text(d, "documentId", 64)?,
                }
            }
            "data" => f.data = bytes(d, "data")?,
            "count" => f.count = number(d, "count")?,
            "sessionId" => f.session_id = text(d, "sessionId", MAX_ID_LEN)?,
            "message" => f.message = text(d, "message", 4096)?,
            "code" => f.code = text(d, "code", 64)?,
            "selectedProtocolVersion" => {
                f.selected_protocol_version = text(d, "selectedProtocolVersion", 16)?
            }
            "supportedProtocolVersions" => {
                if !take_absent(d)? {
                    let mut versions = Vec::new();
                    let n = d.array()?;
                    let mut i = 0_u64;
                    loop {
                        match n {
                            Some(n) if i >= n => break,
                            None if d.datatype()? == Type::Break => {
                                Decoder::skip(d)?;
                                break;
                            }
                            _ => {}
                        }
                        i += 1;
                        if versions.len() >= 16 {
                            return Err(DecodeError::TooLong("supportedProtocolVersions"));
                        }
                        if let Some(v) = text(d, "supportedProtocolVersions", 16)? {
                            versions.push(v);
                        }
                    }
                    f.supported_protocol_versions = Some(versions);
                }
            }
            // automerge-repo's code sends `peerMetadata`, its README says `metadata`.
            "peerMetadata" | "metadata" => f.peer_metadata = decode_metadata(d)?,
            _ => Decoder::skip(d)?,
        }
        Ok(())
    })?;
    if d.position() != input.len() {
        return Err(DecodeError::Trailing);
    }
    Ok(f)
}

impl Message {
    /// Decodes one frame.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let f = decode_fields(bytes)?;
        let type_name = f.type_name.clone().ok_or(DecodeError::MissingType)?;
        let need = |v: Option<String>, field: &'static str| {
            v.ok_or_else(|| DecodeError::MissingField {
                type_name: type_name.clone(),
                field,
            })
        };
        let peer = |v: Option<String>, field| need(v, field).map(PeerId);
        let doc = |v: Option<String>| -> Result<DocumentId, DecodeError> {
            Ok(need(v, "documentId")?.parse()?)
        };
        Ok(match type_name.as_str() {
            "join" => Message::Join {
                sender_id: peer(f.sender_id, "senderId")?,
                peer_metadata: f.peer_metadata.unwrap_or_default(),
                supported_protocol_versions: f.supported_protocol_versions.ok_or_else(|| {
                    DecodeError::MissingField {
                        type_name: type_name.clone(),
                        field: "supportedProtocolVersions",
                    }
                })?,
            },
            "peer" => Message::Peer {
                sender_id: peer(f.sender_id, "senderId")?,
                target_id: peer(f.target_id, "targetId")?,
                peer_metadata: f.peer_metadata.unwrap_or_default(),
                selected_protocol_version: need(
                    f.selected_protocol_version,
                    "selectedProtocolVersion",
                )?,
            },
            "leave" => Message::Leave {
                sender_id: peer(f.sender_id, "senderId")?,
            },
            "error" => Message::Error {
                message: f.message.unwrap_or_default(),
            },
            "request" | "sync" => {
                let m = DocMessage {
                    sender_id: peer(f.sender_id, "senderId")?,
                    target_id: peer(f.target_id, "targetId")?,
                    document_id: doc(f.document_id)?,
                    data: f.data.ok_or_else(|| DecodeError::MissingField {
                        type_name: type_name.clone(),
                        field: "data",
                    })?,
                };
                if type_name == "request" {
                    Message::Request(m)
                } else {
                    Message::Sync(m)
                }
            }
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: peer(f.sender_id, "senderId")?,
                target_id: peer(f.target_id, "targetId")?,
                document_id: doc(f.document_id)?,
            },
            "ephemeral" => Message::Ephemeral(EphemeralMessage {
                sender_id: peer(f.sender_id, "senderId")?,
                target_id: peer(f.target_id, "targetId")?,
                count: f.count.ok_or_else(|| DecodeError::MissingField {
                    type_name: type_name.clone(),
                    field: "count",
                })?,
                session_id: need(f.session_id, "sessionId")?,
                document_id: doc(f.document_id)?,
                data: f.data.ok_or_else(|| DecodeError::MissingField {
                    type_name: type_name.clone(),
                    field: "data",
                })?,
            }),
            "tavolo/refused" => Message::Refused(RefusedMessage {
                sender_id: peer(f.sender_id, "senderId")?,
                target_id: peer(f.target_id, "targetId")?,
                document_id: doc(f.document_id)?,
                code: need(f.code, "code")?,
                message: f.message.unwrap_or_default(),
            }),
            _ => Message::Unknown { type_name },
        })
    }

    /// Encodes one frame.
    pub fn encode(&self) -> Vec<u8> {
        cbor(|e| self.encode_into(e))
    }

    fn encode_into(
        &self,
        e: &mut Encoder<&mut Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        match self {
            Message::Join {
                sender_id,
                peer_metadata,
                supported_protocol_versions,
            } => {
                e.map(4)?.str("type")?.str("join")?;
                e.str("senderId")?.str(sender_id.as_str())?;
                e.str("peerMetadata")?;
                encode_metadata(e, peer_metadata)?;
                e.str("supportedProtocolVersions")?
                    .array(supported_protocol_versions.len() as u64)?;
                for v in supported_protocol_versions {
                    e.str(v)?;
                }
            }
            Message::Peer {
                sender_id,
                target_id,
                peer_metadata,
                selected_protocol_version,
            } => {
                e.map(5)?.str("type")?.str("peer")?;
                e.str("senderId")?.str(sender_id.as_str())?;
                e.str("targetId")?.str(target_id.as_str())?;
                e.str("peerMetadata")?;
                encode_metadata(e, peer_metadata)?;
                e.str("selectedProtocolVersion")?
                    .str(selected_protocol_version)?;
            }
            Message::Leave { sender_id } => {
                e.map(2)?.str("type")?.str("leave")?;
                e.str("senderId")?.str(sender_id.as_str())?;
            }
            Message::Error { message } => {
                e.map(2)?.str("type")?.str("error")?;
                e.str("message")?.str(message)?;
            }
            Message::Request(m) | Message::Sync(m) => {
                let t = if matches!(self, Message::Request(_)) {
                    "request"
                } else {
                    "sync"
                };
                e.map(5)?.str("type")?.str(t)?;
                e.str("senderId")?.str(m.sender_id.as_str())?;
                e.str("targetId")?.str(m.target_id.as_str())?;
                e.str("documentId")?.str(&m.document_id.to_string())?;
                e.str("data")?.bytes(&m.data)?;
            }
            Message::DocUnavailable {
                sender_id,
                target_id,
                document_id,
            } => {
                e.map(4)?.str("type")?.str("doc-unavailable")?;
                e.str("senderId")?.str(sender_id.as_str())?;
                e.str("targetId")?.str(target_id.as_str())?;
                e.str("documentId")?.str(&document_id.to_string())?;
            }
            Message::Ephemeral(m) => {
                e.map(7)?.str("type")?.str("ephemeral")?;
                e.str("senderId")?.str(m.sender_id.as_str())?;
                e.str("targetId")?.str(m.target_id.as_str())?;
                e.str("count")?.u64(m.count)?;
                e.str("sessionId")?.str(&m.session_id)?;
                e.str("documentId")?.str(&m.document_id.to_string())?;
                e.str("data")?.bytes(&m.data)?;
            }
            Message::Refused(m) => {
                e.map(6)?.str("type")?.str("tavolo/refused")?;
                e.str("senderId")?.str(m.sender_id.as_str())?;
                e.str("targetId")?.str(m.target_id.as_str())?;
                e.str("documentId")?.str(&m.document_id.to_string())?;
                e.str("code")?.str(&m.code)?;
                e.str("message")?.str(&m.message)?;
            }
            Message::Unknown { type_name } => {
                e.map(1)?.str("type")?.str(type_name)?;
            }
        }
        Ok(())
    }

    /// The message's `type`, for logs and errors.
    pub fn type_name(&self) -> &str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Leave { .. } => "leave",
            Message::Error { .. } => "error",
            Message::Request(_) => "request",
            Message::Sync(_) => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral(_) => "ephemeral",
            Message::Refused(_) => "tavolo/refused",
            Message::Unknown { type_name } => type_name,
        }
    }
}

fn encode_metadata(
    e: &mut Encoder<&mut Vec<u8>>,
    meta: &PeerMetadata,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    let n = 1 + u64::from(meta.storage_id.is_some()) + u64::from(meta.tavolo_extensions);
    e.map(n)?;
    if let Some(id) = &meta.storage_id {
        e.str("storageId")?.str(id)?;
    }
    e.str("isEphemeral")?.bool(meta.is_ephemeral)?;
    if meta.tavolo_extensions {
        e.str("tavoloExtensions")?.bool(true)?;
    }
    Ok(())
}

/// CBOR written by `f` into a new buffer (writing into a Vec cannot fail).
pub(crate) fn cbor(
    f: impl FnOnce(
        &mut Encoder<&mut Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>>,
) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = f(&mut Encoder::new(&mut buf));
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> PeerId {
        PeerId(s.to_string())
    }

    #[test]
    fn every_message_round_trips() {
        let doc = DocumentId::random();
        let messages = vec![
            Message::Join {
                sender_id: peer("a"),
                peer_metadata: PeerMetadata {
                    storage_id: Some("s".into()),
                    is_ephemeral: false,
                    tavolo_extensions: false,
                },
                supported_protocol_versions: vec!["1".into()],
            },
            Message::Peer {
                sender_id: peer("srv"),
                target_id: peer("a"),
                peer_metadata: PeerMetadata::default(),
                selected_protocol_version: "1".into(),
            },
            Message::Leave {
                sender_id: peer("a"),
            },
            Message::Error {
                message: "no".into(),
            },
            Message::Request(DocMessage {
                sender_id: peer("a"),
                target_id: peer("b"),
                document_id: doc,
                data: vec![1, 2],
            }),
            Message::Sync(DocMessage {
                sender_id: peer("a"),
                target_id: peer("b"),
                document_id: doc,
                data: vec![],
            }),
            Message::DocUnavailable {
                sender_id: peer("a"),
                target_id: peer("b"),
                document_id: doc,
            },
            Message::Ephemeral(EphemeralMessage {
                sender_id: peer("a"),
                target_id: peer("b"),
                count: 7,
                session_id: "sess".into(),
                document_id: doc,
                data: vec![0xa0],
            }),
            Message::Refused(RefusedMessage {
                sender_id: peer("srv"),
                target_id: peer("a"),
                document_id: doc,
                code: "not_yours".into(),
                message: "note belongs to someone else".into(),
            }),
        ];
        for m in messages {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    /// A `join` as the stock JavaScript client (cbor-x) writes it: non-minimal
    /// map lengths and `storageId: undefined`.
    #[test]
    fn a_stock_javascript_join_decodes() {
        let mut b = vec![0xb9, 0x00, 0x04];
        for (k, v) in [("type", "join"), ("senderId", "peer-xyz")] {
            b.push(0x60 + k.len() as u8);
            b.extend(k.as_bytes());
            b.push(0x60 + v.len() as u8);
            b.extend(v.as_bytes());
        }
        b.push(0x6c);
        b.extend(b"peerMetadata");
        b.extend([0xb9, 0x00, 0x02, 0x69]);
        b.extend(b"storageId");
        b.push(0xf7);
        b.push(0x6b);
        b.extend(b"isEphemeral");
        b.push(0xf5);
        b.push(0x78);
        b.push(25);
        b.extend(b"supportedProtocolVersions");
        b.extend([0x81, 0x61, b'1']);
        let m = Message::decode(&b).unwrap();
        assert_eq!(
            m,
            Message::Join {
                sender_id: peer("peer-xyz"),
                peer_metadata: PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                    tavolo_extensions: false,
                },
                supported_protocol_versions: vec!["1".into()],
            }
        );
    }

    #[test]
    fn tavolo_extensions_round_trip_and_notices_are_cbor_maps() {
        let join = Message::Join {
            sender_id: peer("tavolo-web"),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
                tavolo_extensions: true,
            },
            supported_protocol_versions: vec!["1".into()],
        };
        assert_eq!(Message::decode(&join.encode()).unwrap(), join);
        let doc = DocumentId::random();
        let data = notice_payload("tavolo/refused", Some("not_yours"), "nope", Some(doc));
        let mut d = Decoder::new(&data);
        assert_eq!(d.map().unwrap(), Some(4));
        assert_eq!(d.str().unwrap(), "type");
        assert_eq!(d.str().unwrap(), "tavolo/refused");
        assert_eq!(d.str().unwrap(), "code");
        assert_eq!(d.str().unwrap(), "not_yours");
    }

    #[test]
    fn float_counts_from_javascript_are_accepted() {
        let doc = DocumentId::random();
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf);
        e.map(7)
            .unwrap()
            .str("type")
            .unwrap()
            .str("ephemeral")
            .unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("count").unwrap().f64(8_589_934_592.0).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap();
        e.str("documentId").unwrap().str(&doc.to_string()).unwrap();
        e.str("data").unwrap().bytes(&[0xa0]).unwrap();
        match Message::decode(&buf).unwrap() {
            Message::Ephemeral(m) => assert_eq!(m.count, 8_589_934_592),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_types_are_recognised_not_fatal() {
        let mut buf = Vec::new();
        Encoder::new(&mut buf)
            .map(2)
            .unwrap()
            .str("type")
            .unwrap()
            .str("remote-heads-changed")
            .unwrap()
            .str("newHeads")
            .unwrap()
            .map(0)
            .unwrap();
        assert_eq!(
            Message::decode(&buf).unwrap(),
            Message::Unknown {
                type_name: "remote-heads-changed".into()
            }
        );
    }

    #[test]
    fn malformed_frames_get_precise_errors() {
        assert!(matches!(
            Message::decode(&[0xff]),
            Err(DecodeError::Cbor(_) | DecodeError::NotAMap)
        ));
        assert_eq!(Message::decode(&[0x01]), Err(DecodeError::NotAMap));
        assert_eq!(Message::decode(&[0xa0]), Err(DecodeError::MissingType));
        let sync_without_doc = {
            let mut buf = Vec::new();
            Encoder::new(&mut buf)
                .map(3)
                .unwrap()
                .str("type")
                .unwrap()
                .str("sync")
                .unwrap()
                .str("senderId")
                .unwrap()
                .str("a")
                .unwrap()
                .str("targetId")
                .unwrap()
                .str("b")
                .unwrap();
            buf
        };
        assert_eq!(
            Message::decode(&sync_without_doc),
            Err(DecodeError::MissingField {
                type_name: "sync".into(),
                field: "documentId"
            })
        );
        let mut truncated = Message::Leave {
            sender_id: peer("abc"),
        }
        .encode();
        truncated.pop();
        assert!(Message::decode(&truncated).is_err());
        let mut trailing = Message::Leave {
            sender_id: peer("abc"),
        }
        .encode();
        trailing.push(0);
        assert_eq!(Message::decode(&trailing), Err(DecodeError::Trailing));
    }

    #[test]
    fn deep_nesting_in_unknown_fields_does_not_recurse() {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf);
        e.map(2).unwrap().str("type").unwrap().str("leave").unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        // Replace with a message whose extra field nests 100k arrays.
        let mut deep = vec![0xa3];
        deep.extend(&buf[1..]);
        deep.extend([0x61, b'x']);
        deep.extend(std::iter::repeat_n(0x81, 100_000));
        deep.push(0x00);
        assert_eq!(
            Message::decode(&deep).unwrap(),
            Message::Leave {
                sender_id: peer("a")
            }
        );
    }
}
