//! `r2com verify`: re-check every stored change offline.

use r2com_protocol::control::VerifyReport;
use r2com_protocol::envelope::SignedChange;

use super::{Library, LibraryError};
use crate::store::keys;

impl Library {
    /// Re-check every stored change: it decodes, sits under its own
    /// document and hash, and its signature verifies strictly.
    pub fn verify(&self) -> Result<VerifyReport, LibraryError> {
        let mut r = VerifyReport::default();
        let mut last_doc: Option<Vec<u8>> = None;
        for entry in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (k, v) = entry?;
            r.changes += 1;
            let rest = keys::rest(&k);
            let (doc_part, hash_part) = match rest.len().checked_sub(33) {
                Some(i) if rest[i] == 0 => (&rest[..i], &rest[i + 1..]),
                _ => (&rest[..0], &rest[..0]),
            };
            if last_doc.as_deref() != Some(doc_part) {
                r.documents += 1;
                last_doc = Some(doc_part.to_vec());
            }
            let doc_name = String::from_utf8_lossy(doc_part).into_owned();
            let outcome = SignedChange::decode(&v)
                .map_err(|e| e.to_string())
                .and_then(|sc| sc.verify(&self.scope()).map_err(|e| e.to_string()))
                .and_then(|vc| {
                    if vc.doc.to_key().as_bytes() != doc_part {
                        Err(format!("stored under {doc_name} but signed for {}", vc.doc))
                    } else if vc.hash.0[..] != *hash_part {
                        Err("stored under another change hash".to_owned())
                    } else {
                        Ok(())
                    }
                });
            match outcome {
                Ok(()) => r.valid += 1,
                Err(e) => {
                    r.invalid += 1;
                    if r.failures.len() < 50 {
                        r.failures
                            .push(format!("{doc_name} {}: {e}", hex::encode(hash_part)));
                    }
                }
            }
        }
        Ok(r)
    }
}
