//! `r2com verify`: re-check every stored change offline.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{AutoCommit, ChangeHash};

use r2com_protocol::control::VerifyReport;
use r2com_protocol::envelope::{signing_message, EnvelopeError, Scope, SignedChange};
use r2com_protocol::identity::{PublicKey, Signature};
use r2com_protocol::ids::DocId;

use super::changes::Meta;
use super::changes_read::split_key;
use super::{Library, LibraryError, Stored};
use crate::store::{keys, Entry};

impl Library {
    /// Re-check every stored change: it decodes, sits under its own
    /// document and hash, and its signature verifies strictly (a detached
    /// change's over the hash its document's snapshot gives it). Re-hash
    /// every attachment file held whole (BLAKE3).
    pub fn verify(&self) -> Result<VerifyReport, LibraryError> {
        let mut r = VerifyReport::default();
        let scope = self.scope();
        let mut group: Vec<Entry> = Vec::new();
        let mut group_doc: Option<Vec<u8>> = None;
        for entry in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (k, v) = entry?;
            let doc = split_key(&k).map(|(d, _)| d.to_vec()).unwrap_or_default();
            if group_doc.as_ref() != Some(&doc) {
                if let Some(d) = group_doc.take() {
                    self.verify_doc(&scope, &d, std::mem::take(&mut group), &mut r)?;
                }
                r.documents += 1;
                group_doc = Some(doc);
            }
            group.push((k, v));
        }
        if let Some(d) = group_doc {
            self.verify_doc(&scope, &d, group, &mut r)?;
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

    /// Check the changes of one document: a whole envelope as it is, a
    /// detached change over the hash of the change in the document's
    /// snapshot (loaded once; loading it recomputes every change's hash).
    fn verify_doc(
        &self,
        scope: &Scope,
        doc_part: &[u8],
        entries: Vec<Entry>,
        r: &mut VerifyReport,
    ) -> Result<(), LibraryError> {
        let doc_name = String::from_utf8_lossy(doc_part).into_owned();
        let doc_id = DocId::parse(&doc_name).ok();
        let mut in_snapshot = None;
        for (k, v) in entries {
            r.changes += 1;
            let hash = split_key(&k).map(|(_, h)| h);
            let outcome = match (hash, Stored::decode(&v)) {
                (None, _) => Err("stored under a malformed key".to_owned()),
                (_, Err(e)) => Err(e),
                (Some(hash), Ok(Stored::Whole(sc))) => check_whole(scope, doc_part, &hash, &sc),
                (Some(hash), Ok(Stored::Detached { signature, meta })) => {
                    if in_snapshot.is_none() {
                        in_snapshot = Some(self.snapshot_changes(&doc_name)?);
                    }
                    let held = in_snapshot.as_ref().expect("loaded");
                    check_detached(scope, doc_id.as_ref(), &hash, &signature, &meta, held)
                }
            };
            match outcome {
                Ok(()) => r.valid += 1,
                Err(e) => {
                    r.invalid += 1;
                    if r.failures.len() < 50 {
                        let h = hash.map(hex::encode).unwrap_or_default();
                        r.failures.push(format!("{doc_name} {h}: {e}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The changes of a document's stored snapshot (hash, what it says),
    /// or why it does not load.
    fn snapshot_changes(&self, key: &str) -> Result<Result<InSnapshot, String>, LibraryError> {
        let Some(bytes) = self.store.get(&keys::doc(keys::SNAPSHOT, key))? else {
            return Ok(Err(
                "stored detached but its document has no snapshot".into()
            ));
        };
        let loaded = catch_unwind(AssertUnwindSafe(|| {
            AutoCommit::load(&bytes).map(|mut d| {
                d.get_changes_meta(&[])
                    .into_iter()
                    .map(|m| {
                        let meta = Some(Meta {
                            author: m.actor.to_bytes().try_into().ok()?,
                            seq: m.seq,
                            time: m.timestamp,
                            deps: m.deps.iter().map(|h| h.0).collect(),
                        });
                        Some((m.hash.0, meta?))
                    })
                    .collect::<Option<InSnapshot>>()
            })
        }));
        Ok(match loaded {
            Ok(Ok(Some(held))) => Ok(held),
            Ok(Ok(None)) => Err("its document's snapshot holds a change by no key".into()),
            Ok(Err(e)) => Err(format!("its document's snapshot does not load: {e}")),
            Err(_) => Err("its document's snapshot does not load: automerge panicked".into()),
        })
    }
}

/// What a document's snapshot holds: each change's hash and what it says.
type InSnapshot = HashMap<[u8; 32], Meta>;

/// A whole envelope decodes, verifies, and sits under its own document
/// and hash.
fn check_whole(
    scope: &Scope,
    doc_part: &[u8],
    hash: &[u8; 32],
    sc: &SignedChange,
) -> Result<(), String> {
    let vc = sc.verify(scope).map_err(|e| e.to_string())?;
    if vc.doc.to_key().as_bytes() != doc_part {
        Err(format!(
            "stored under {} but signed for {}",
            String::from_utf8_lossy(doc_part),
            vc.doc
        ))
    } else if vc.hash.0 != *hash {
        Err("stored under another change hash".to_owned())
    } else {
        Ok(())
    }
}

/// A detached change is in the document's snapshot, as its entry says,
/// and its signature verifies over the hash the snapshot gives it.
fn check_detached(
    scope: &Scope,
    doc: Option<&DocId>,
    hash: &[u8; 32],
    signature: &Signature,
    meta: &Meta,
    held: &Result<InSnapshot, String>,
) -> Result<(), String> {
    let held = held.as_ref().map_err(Clone::clone)?;
    let doc = doc.ok_or("stored under a key that is no document id")?;
    match held.get(hash) {
        None => return Err("stored detached but not in its document's snapshot".into()),
        Some(m) if m != meta => {
            return Err("its entry does not match the change in its document's snapshot".into())
        }
        Some(_) => {}
    }
    let author = PublicKey::from_bytes(&meta.author).map_err(|e| format!("change author: {e}"))?;
    author
        .verify(&signing_message(scope, doc, &ChangeHash(*hash)), signature)
        .map_err(|_| EnvelopeError::BadSignature.to_string())
}
