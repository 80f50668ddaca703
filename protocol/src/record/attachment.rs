//! A file attached to a practice or an event: a reference by content
//! (BLAKE3 hash) to bytes held outside the record's document, in each
//! node's file store. The reference is all the document holds.

use serde::{Deserialize, Serialize};

use super::validate as v;

/// Most attachments one record may carry.
pub const MAX_ATTACHMENTS: usize = 64;
/// Longest file name kept (bytes).
pub const MAX_FILE_NAME: usize = 255;
/// Longest media type (RFC 6838 allows 127 + 1 + 127).
pub const MAX_MEDIA_TYPE: usize = 255;
/// Largest size a reference may name (the node's own limit is lower and
/// configurable; this bounds what a peer may claim).
pub const MAX_SIZE: u64 = 1 << 40;

/// A file attached to a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// BLAKE3 of the file's bytes, 64 lowercase hex digits.
    pub hash: String,
    /// Bytes.
    pub size: u64,
    /// Sniffed from the content (`application/pdf`, ...).
    pub media_type: String,
    /// The name the file had when it was attached (no directories).
    pub file_name: String,
    pub title: String,
    /// ISO 639-1, when the material is in one language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Attachment {
    /// Why the reference is not valid (`None` if it is).
    pub fn check(&self) -> Result<(), String> {
        hash(&self.hash)?;
        let at = |r: String| format!("{}: {r}", short(&self.hash));
        if self.size > MAX_SIZE {
            return Err(at(format!("size {} above {MAX_SIZE}", self.size)));
        }
        media_type(&self.media_type).map_err(at)?;
        file_name(&self.file_name).map_err(at)?;
        v::title(&self.title).map_err(|r| at(format!("title {r}")))?;
        if let Some(l) = &self.language {
            v::language(l).map_err(at)?;
        }
        Ok(())
    }
}

/// The first 12 hex digits of a hash, for messages.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A file hash: 64 lowercase hex digits.
pub fn hash(h: &str) -> Result<(), String> {
    if h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(format!(
            "{h:?} is not a file hash (64 lowercase hex digits)"
        ))
    }
}

fn media_type(m: &str) -> Result<(), String> {
    let ok = m.len() <= MAX_MEDIA_TYPE
        && m.split_once('/').is_some_and(|(t, s)| {
            let token = |x: &str| {
                !x.is_empty()
                    && x.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
            };
            token(t) && token(s)
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{m:?} is not a media type"))
    }
}

/// A bare file name: no directories, no control characters, not `.`/`..`.
pub fn file_name(n: &str) -> Result<(), String> {
    if n.is_empty()
        || n.len() > MAX_FILE_NAME
        || n == "."
        || n == ".."
        || n.contains(['/', '\\'])
        || n.chars().any(char::is_control)
    {
        return Err(format!(
            "{n:?} is not a file name (1..={MAX_FILE_NAME} bytes, no slashes or control characters)"
        ));
    }
    Ok(())
}

/// Sort by hash, one reference per hash (the first kept).
pub(crate) fn normalize(list: &mut Vec<Attachment>) {
    list.sort_by(|a, b| a.hash.cmp(&b.hash));
    list.dedup_by(|a, b| a.hash == b.hash);
}

/// Check a record's list.
pub(crate) fn check_all(list: &[Attachment]) -> Result<(), String> {
    if list.len() > MAX_ATTACHMENTS {
        return Err(format!(
            "{} attachments, at most {MAX_ATTACHMENTS} allowed",
            list.len()
        ));
    }
    list.iter().try_for_each(Attachment::check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Attachment {
        Attachment {
            hash: "ab".repeat(32),
            size: 10,
            media_type: "application/pdf".into(),
            file_name: "guide.pdf".into(),
            title: "Screening guide".into(),
            language: Some("fr".into()),
        }
    }

    #[test]
    fn a_good_reference_passes_and_bad_fields_are_named() {
        assert!(sample().check().is_ok());
        for (bad, what) in [
            (
                Attachment {
                    hash: "AB".repeat(32),
                    ..sample()
                },
                "file hash",
            ),
            (
                Attachment {
                    file_name: "../etc/passwd".into(),
                    ..sample()
                },
                "file name",
            ),
            (
                Attachment {
                    media_type: "pdf".into(),
                    ..sample()
                },
                "media type",
            ),
            (
                Attachment {
                    language: Some("xx".into()),
                    ..sample()
                },
                "language",
            ),
            (
                Attachment {
                    title: " ".into(),
                    ..sample()
                },
                "title",
            ),
        ] {
            let e = bad.check().unwrap_err();
            assert!(e.contains(what), "{e}");
        }
    }

    #[test]
    fn normalize_keeps_one_per_hash_in_hash_order() {
        let mut b = sample();
        b.hash = "01".repeat(32);
        let mut list = vec![sample(), b.clone(), sample()];
        normalize(&mut list);
        assert_eq!(list, vec![b, sample()]);
    }
}
