//! The check every received change passes before it is applied (see
//! [`r2com_protocol::sync::check_change`]), spread over the cores.

use std::collections::BTreeMap;

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::DocId;
use r2com_protocol::sync::{check_change, ChangeRefusal};

use super::{ApplyReport, Verified};
use crate::library::{Library, LibraryError};
use crate::store::keys;

/// A received change after its checks.
enum Checked {
    Ok(Box<Verified>),
    Duplicate,
    Refused(String),
    NotAllowed(String),
}

impl Library {
    /// Check received changes: refused ones (invalid) and those whose author
    /// may not write are counted in `report`; duplicates are skipped; the
    /// rest come back grouped by document.
    pub(super) fn check(
        &self,
        changes: Vec<SignedChange>,
        report: &mut ApplyReport,
    ) -> Result<BTreeMap<DocId, Vec<Verified>>, LibraryError> {
        let scope = self.scope();
        let roster = self.roster();
        let mut by_doc: BTreeMap<DocId, Vec<Verified>> = BTreeMap::new();
        // Signature checks are independent: spread them over the cores.
        let threads = if changes.len() >= 64 {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        let check = |sc: SignedChange| -> Result<Checked, LibraryError> {
            let key = sc.doc.to_key();
            let verified = match check_change(&scope, roster.as_deref(), &sc) {
                Ok(v) => v,
                Err(ChangeRefusal::Invalid(why)) => return Ok(Checked::Refused(why)),
                Err(ChangeRefusal::NotAllowed(why)) => return Ok(Checked::NotAllowed(why)),
            };
            if self
                .store
                .get(&keys::change(&key, &verified.hash.0))?
                .is_some()
            {
                return Ok(Checked::Duplicate);
            }
            Ok(Checked::Ok(Box::new((sc, verified))))
        };
        let checked: Vec<Result<Checked, LibraryError>> = if threads == 1 {
            changes.into_iter().map(check).collect()
        } else {
            let per = changes.len().div_ceil(threads);
            let mut parts: Vec<Vec<SignedChange>> = Vec::new();
            let mut it = changes.into_iter().peekable();
            while it.peek().is_some() {
                parts.push(it.by_ref().take(per).collect());
            }
            std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .into_iter()
                    .map(|part| {
                        let check = &check;
                        s.spawn(move || part.into_iter().map(check).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("verify worker panicked"))
                    .collect()
            })
        };
        for c in checked {
            match c? {
                Checked::Ok(item) => {
                    let (sc, verified) = *item;
                    by_doc
                        .entry(sc.doc.clone())
                        .or_default()
                        .push((sc, verified));
                }
                Checked::Duplicate => report.duplicates += 1,
                Checked::Refused(why) => report.refuse(why),
                Checked::NotAllowed(why) => report.not_allowed.push(why),
            }
        }
        Ok(by_doc)
    }
}
