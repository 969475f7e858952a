//! automerge-repo document identifiers: 16 random bytes, written as
//! bs58check (base58 with a 4-byte double-SHA-256 checksum), and as
//! `automerge:<id>` URLs.

use std::fmt;
use std::str::FromStr;

/// A document's identity, as automerge-repo spells it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentIdError {
    #[error("document id is not valid bs58check")]
    Encoding,
    #[error("document id must be 16 bytes, found {0}")]
    Length(usize),
    #[error("not an automerge: URL")]
    NotAUrl,
}

impl DocumentId {
    pub fn random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The `automerge:<id>` URL of this document.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }

    /// Parses `automerge:<id>`, ignoring a `#heads` suffix as automerge-repo does.
    pub fn from_url(url: &str) -> Result<Self, DocumentIdError> {
        let rest = url
            .strip_prefix("automerge:")
            .ok_or(DocumentIdError::NotAUrl)?;
        let id = rest.split('#').next().unwrap_or_default();
        id.parse()
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // 16 bytes + 4 checksum bytes never need more than 28 base58 digits.
        if s.is_empty() || s.len() > 40 {
            return Err(DocumentIdError::Encoding);
        }
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| DocumentIdError::Encoding)?;
        let arr: [u8; 16] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DocumentIdError::Length(bytes.len()))?;
        Ok(Self(arr))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings_and_urls() {
        let id = DocumentId::random();
        let s = id.to_string();
        assert!((26..=28).contains(&s.len()), "{s}");
        assert_eq!(s.parse::<DocumentId>().unwrap(), id);
        assert_eq!(DocumentId::from_url(&id.url()).unwrap(), id);
        assert_eq!(
            DocumentId::from_url(&format!("{}#abc|def", id.url())).unwrap(),
            id
        );
    }

    #[test]
    fn a_javascript_generated_id_parses() {
        // From automerge-repo's own documentation.
        let id: DocumentId = "2Gidb1aFfXbKNgdA8LxQgJfUZqEq".parse().unwrap();
        assert_eq!(id.to_string(), "2Gidb1aFfXbKNgdA8LxQgJfUZqEq");
    }

    #[test]
    fn corrupted_ids_are_refused() {
        let s = DocumentId::random().to_string();
        let mut broken = s.clone().into_bytes();
        broken[3] = if broken[3] == b'a' { b'b' } else { b'a' };
        let broken = String::from_utf8(broken).unwrap();
        assert_eq!(broken.parse::<DocumentId>(), Err(DocumentIdError::Encoding));
        assert_eq!("0OIl".parse::<DocumentId>(), Err(DocumentIdError::Encoding));
        assert_eq!(DocumentId::from_url(&s), Err(DocumentIdError::NotAUrl));
        let short = bs58::encode([1_u8; 8]).with_check().into_string();
        assert_eq!(short.parse::<DocumentId>(), Err(DocumentIdError::Length(8)));
    }
}
