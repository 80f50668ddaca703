//! Identifiers of records and of the automerge documents that hold them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest record id accepted (ids are keys in the store and on the wire).
pub const MAX_RECORD_ID_LEN: usize = 128;

/// Which collection a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// The library of practices.
    Practice,
    /// The training calendar.
    Event,
}

impl RecordKind {
    pub const ALL: [RecordKind; 2] = [RecordKind::Practice, RecordKind::Event];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Practice => "practice",
            RecordKind::Event => "event",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `id` is acceptable as a record id: 1..=128 URL-safe characters
/// (RFC 3986 unreserved: `A-Z a-z 0-9 - . _ ~`).
pub fn is_valid_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RECORD_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The id of one record's automerge document: its kind and record id,
/// written `practice/p-000001`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId {
    kind: RecordKind,
    id: String,
}

/// Why a string is not a [`DocId`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocIdError {
    /// The part before `/` is not `practice` or `event`.
    #[error("unknown record kind in document id {0:?}")]
    UnknownKind(String),
    /// The record id is empty, too long or not URL-safe.
    #[error("invalid record id {0:?}: use 1..=128 characters from A-Z a-z 0-9 - . _ ~")]
    InvalidId(String),
}

impl DocId {
    pub fn new(kind: RecordKind, id: &str) -> Result<Self, DocIdError> {
        if !is_valid_record_id(id) {
            return Err(DocIdError::InvalidId(id.to_owned()));
        }
        Ok(DocId {
            kind,
            id: id.to_owned(),
        })
    }

    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    pub fn record_id(&self) -> &str {
        &self.id
    }

    /// `kind/id`, the form used in store keys and on the wire.
    pub fn to_key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }

    pub fn parse(s: &str) -> Result<Self, DocIdError> {
        let (kind, id) = s
            .split_once('/')
            .ok_or_else(|| DocIdError::UnknownKind(s.to_owned()))?;
        let kind = match kind {
            "practice" => RecordKind::Practice,
            "event" => RecordKind::Event,
            _ => return Err(DocIdError::UnknownKind(s.to_owned())),
        };
        DocId::new(kind, id)
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip_and_reject_bad_ids() {
        let d = DocId::parse("practice/p-000001").unwrap();
        assert_eq!(d.kind(), RecordKind::Practice);
        assert_eq!(d.to_key(), "practice/p-000001");
        assert!(DocId::parse("event/e 1").is_err());
        assert!(DocId::parse("event/").is_err());
        assert!(DocId::parse("roster/x").is_err());
        assert!(DocId::parse(&format!("event/{}", "a".repeat(129))).is_err());
        assert!(DocId::parse("event/a/b").is_err());
    }
}
