//! `r2com verify`: re-check every stored change offline.

use r2com_protocol::control::VerifyReport;
use r2com_protocol::envelope::SignedChange;

use super::{Library, LibraryError};
use crate::store::keys;

impl Library {
    /// Re-check every stored change: it decodes, sits under its own
    /// document and hash, and its signature verifies strictly. Re-hash
    /// every attachment file held whole (BLAKE3).
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
        if let Some(files) = self.files.get() {
            let held = files.held().unwrap_or_else(|e| {
                r.failures.push(format!("files: {e}"));
                r.files_invalid += 1;
                Vec::new()
            });
            for (hash, _) in held {
                r.files += 1;
                let why = match files.check(&hash) {
                    Ok(true) => continue,
                    Ok(false) => "its bytes do not have its BLAKE3 hash (delete it: the node \
                                  fetches it again when asked)"
                        .to_owned(),
                    Err(e) => e.to_string(),
                };
                r.files_invalid += 1;
                if r.failures.len() < 50 {
                    r.failures
                        .push(format!("file {}: {why}", hex::encode(hash)));
                }
            }
        }
        Ok(r)
    }
}
