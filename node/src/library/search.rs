//! Ranked full-text search over the stored search texts.

use r2com_protocol::control::SearchHit;
use r2com_protocol::ids::DocId;
use r2com_protocol::record::Record;
use r2com_protocol::search::Query;

use super::{Library, LibraryError};
use crate::store::keys;

/// Most search results returned.
pub const MAX_SEARCH_RESULTS: usize = 1000;

impl Library {
    /// Ranked full-text search over titles, summaries and bodies.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, LibraryError> {
        let q = Query::parse(query)
            .ok_or_else(|| LibraryError::BadRequest("the search has no words".into()))?;
        let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
        let mut scored: Vec<(u32, Vec<u8>)> = Vec::new();
        for entry in self.store.scan_prefix(&[keys::SEARCH, 0]) {
            let (k, v) = entry?;
            let text =
                std::str::from_utf8(&v).map_err(|_| LibraryError::Corrupt("search text".into()))?;
            if let Some(score) = q.score(text) {
                scored.push((score, keys::rest(&k).to_vec()));
            }
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.truncate(limit);
        let mut hits = Vec::with_capacity(scored.len());
        for (score, key) in scored {
            let key =
                String::from_utf8(key).map_err(|_| LibraryError::Corrupt("search key".into()))?;
            let doc_id = DocId::parse(&key).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            let Some(record) = self.record(&doc_id)? else {
                continue;
            };
            let snippet = match &record {
                Record::Practice(p) => {
                    let s = q.snippet(&p.summary, 160);
                    if s.is_empty() {
                        q.snippet(&p.body, 160)
                    } else {
                        s
                    }
                }
                Record::Event(e) => q.snippet(&e.description, 160),
            };
            hits.push(SearchHit {
                kind: doc_id.kind(),
                id: doc_id.record_id().to_owned(),
                title: record.title().to_owned(),
                score,
                snippet,
                via: None,
            });
        }
        self.with_translations(hits, limit)
    }
}
