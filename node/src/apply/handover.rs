//! Changes handed over as a file: `changes export` and `changes import`.

use serde_json::{json, Value};

use super::ApplyReport;
use crate::library::{Library, LibraryError};
use crate::store::keys;

/// Most changes one `changes import` may carry.
pub const MAX_IMPORT_CHANGES: usize = 200_000;

impl Library {
    /// Every stored signed change (hex envelopes), for hand-over.
    pub fn changes_export(&self) -> Result<Value, LibraryError> {
        let mut out = Vec::new();
        for e in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (_, v) = e?;
            out.push(Value::String(hex::encode(v)));
        }
        let cid = self.consortium_id()?.map(|c| c.to_hex());
        Ok(json!({"consortium": cid, "changes": out}))
    }

    /// Accept changes from another member: each must decode, verify for
    /// this consortium, and be by an author the roster lets write. Accepted
    /// changes are applied and stored with their signatures; refused ones
    /// change nothing and are reported.
    pub fn changes_import(&self, data: Value) -> Result<ApplyReport, LibraryError> {
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
            return Ok(report);
        }
        let (mut report, _) = self.apply(None, Vec::new(), envelopes)?;
        // For the operator, a change whose author may not write is refused.
        for why in std::mem::take(&mut report.not_allowed) {
            report.refuse(why);
        }
        Ok(report)
    }
}
