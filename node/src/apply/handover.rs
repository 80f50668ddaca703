//! Changes handed over as a file: `changes export` and `changes import`.

use serde_json::Value;

use r2com_protocol::control::{ChangesFile, ChangesImported};

use super::ApplyReport;
use crate::library::{corrupt, for_each_change, Library, LibraryError};

/// Most changes one `changes import` may carry.
pub const MAX_IMPORT_CHANGES: usize = 200_000;

impl Library {
    /// Every stored signed change (hex envelopes, whole), for hand-over.
    pub fn changes_export(&self) -> Result<ChangesFile, LibraryError> {
        let mut changes = Vec::new();
        for_each_change(&*self.store, |k, read| {
            let c = read.map_err(|e| corrupt(k, &e))?;
            changes.push(hex::encode(c.signed.encode()));
            Ok::<(), LibraryError>(())
        })?;
        let consortium = self.consortium_id()?.map(|c| c.to_hex());
        Ok(ChangesFile {
            consortium,
            changes,
        })
    }

    /// Accept changes from another member: each must decode, verify for
    /// this consortium, and be by an author the roster lets write. Accepted
    /// changes are applied and stored with their signatures; refused ones
    /// change nothing and are reported.
    pub fn changes_import(&self, data: Value) -> Result<ChangesImported, LibraryError> {
        let items = data
            .get("changes")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                LibraryError::BadRequest(
                    "not a changes file: expected {\"changes\": [hex, ...]}".into(),
                )
            })?;
        if items.len() > MAX_IMPORT_CHANGES {
            return Err(LibraryError::BadRequest(format!(
                "more than {MAX_IMPORT_CHANGES} changes in one file"
            )));
        }
        let mut envelopes = Vec::with_capacity(items.len());
        let mut not_hex = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str().and_then(|s| hex::decode(s).ok()) {
                Some(b) => envelopes.push(b),
                None => not_hex.push(format!("change #{i}: not hex")),
            }
        }
        if !not_hex.is_empty() {
            // All or nothing, as for a change that does not verify.
            let mut report = ApplyReport {
                received: items.len() as u64,
                ..ApplyReport::default()
            };
            not_hex.into_iter().for_each(|why| report.refuse(why));
            return Ok(report.into());
        }
        let (mut report, _) = self.apply(None, Vec::new(), envelopes)?;
        // For the operator, a change whose author may not write is refused.
        for why in std::mem::take(&mut report.not_allowed) {
            report.refuse(why);
        }
        Ok(report.into())
    }
}

impl From<ApplyReport> for ChangesImported {
    fn from(r: ApplyReport) -> Self {
        ChangesImported {
            received: r.received,
            applied: r.applied,
            duplicates: r.duplicates,
            refused: r.refused,
            refusals: r.refusals,
            not_allowed: r.not_allowed,
        }
    }
}
