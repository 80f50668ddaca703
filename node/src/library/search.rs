//! Ranked full-text search over the search texts (held in the catalog).

use r2com_protocol::control::{ListFilter, PracticeRow, SearchHit};
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::Record;
use r2com_protocol::search::Query;

use super::catalog::Catalog;
use super::read::matches_filter;
use super::{Library, LibraryError};

/// Most search results returned.
pub const MAX_SEARCH_RESULTS: usize = 1000;

/// A page of the practices a search found (see [`Library::search_practices`]).
#[derive(Debug, Default)]
pub struct PracticeHits {
    /// How many practices were found in all.
    pub total: usize,
    /// The page's hits, each with its practice's row.
    pub hits: Vec<(SearchHit, PracticeRow)>,
}

fn parse(query: &str) -> Result<Query, LibraryError> {
    Query::parse(query).ok_or_else(|| LibraryError::BadRequest("the search has no words".into()))
}

/// The best `limit` hits, then their records' translations, best first, at
/// most `limit`; snippets are left empty (see [`Library::add_snippets`]).
/// Equal scores rank in key order.
fn ranked(catalog: &Catalog, q: &Query, limit: usize) -> Vec<SearchHit> {
    let mut scored: Vec<(u32, &str)> = Vec::new();
    catalog.texts().for_each(|key, text| {
        if let Some(score) = q.score(text) {
            scored.push((score, key));
        }
    });
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.truncate(limit);
    let hits = scored
        .into_iter()
        .filter_map(|(score, key)| {
            let record = catalog.outline(key)?;
            Some(SearchHit {
                kind: record.kind(),
                id: record.id().to_owned(),
                title: record.title().to_owned(),
                score,
                snippet: String::new(),
                via: None,
            })
        })
        .collect();
    with_translations(catalog, hits, limit)
}

impl Library {
    /// Ranked full-text search over titles, summaries and bodies.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, LibraryError> {
        let q = parse(query)?;
        let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
        let mut hits = self.catalog.read(&*self.store, |c| ranked(c, &q, limit))?;
        self.add_snippets(&q, &mut hits)?;
        Ok(hits)
    }

    /// The practices among `search(query, limit)`'s hits that pass
    /// `filter`, ranked the same, a page at a time: how many in all, and
    /// those from `skip` on (at most `take`), with their rows. Only the
    /// page's hits are given snippets.
    pub fn search_practices(
        &self,
        query: &str,
        filter: &ListFilter,
        limit: usize,
        skip: usize,
        take: usize,
    ) -> Result<PracticeHits, LibraryError> {
        let q = parse(query)?;
        let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
        let (total, mut page) = self.catalog.read(&*self.store, |c| {
            let found: Vec<(SearchHit, Record)> = ranked(c, &q, limit)
                .into_iter()
                .filter(|h| h.kind == RecordKind::Practice)
                .filter_map(|h| {
                    let record = c.outline(&format!("practice/{}", h.id))?;
                    Some((h, record))
                })
                .filter(|(_, r)| matches_filter(r, filter))
                .collect();
            let total = found.len();
            let groups = c.groups();
            let page: Vec<(SearchHit, PracticeRow)> = found
                .into_iter()
                .skip(skip)
                .take(take)
                .filter_map(|(h, r)| match r {
                    Record::Practice(p) => Some((
                        h,
                        PracticeRow {
                            translations: groups.others(&p.id),
                            ..PracticeRow::from(&p)
                        },
                    )),
                    Record::Event(_) => None,
                })
                .collect();
            (total, page)
        })?;
        self.add_snippets(&q, page.iter_mut().map(|(h, _)| h))?;
        Ok(PracticeHits { total, hits: page })
    }

    /// Each hit's snippet: the first sentence with a query word, from the
    /// summary (else the body) of a practice, the description of an event;
    /// a hit through a translation has the translation's.
    fn add_snippets<'a>(
        &self,
        q: &Query,
        hits: impl IntoIterator<Item = &'a mut SearchHit>,
    ) -> Result<(), LibraryError> {
        for h in hits {
            let from = h.via.as_deref().unwrap_or(&h.id);
            let doc = DocId::new(h.kind, from).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            h.snippet = match self.record(&doc)? {
                Some(Record::Practice(p)) => {
                    let s = q.snippet(&p.summary, 160);
                    if s.is_empty() {
                        q.snippet(&p.body, 160)
                    } else {
                        s
                    }
                }
                Some(Record::Event(e)) => q.snippet(&e.description, 160),
                None => String::new(),
            };
        }
        Ok(())
    }
}

/// Add to `hits` the translations of the practices among them (a hit
/// through a translation scores as the translation did, and has its
/// snippet), best first, at most `limit`.
fn with_translations(catalog: &Catalog, mut hits: Vec<SearchHit>, limit: usize) -> Vec<SearchHit> {
    if !hits.iter().any(|h| h.kind == RecordKind::Practice) {
        return hits;
    }
    let groups = catalog.groups();
    let mut extra = Vec::new();
    for h in hits.iter().filter(|h| h.kind == RecordKind::Practice) {
        for t in groups.others(&h.id) {
            let known = |x: &SearchHit| x.kind == RecordKind::Practice && x.id == t.id;
            if hits.iter().any(known) || extra.iter().any(known) {
                continue;
            }
            let Some(p) = catalog.outline(&format!("practice/{}", t.id)) else {
                continue;
            };
            extra.push(SearchHit {
                kind: RecordKind::Practice,
                id: t.id,
                title: p.title().to_owned(),
                score: h.score,
                snippet: h.snippet.clone(),
                via: Some(h.id.clone()),
            });
        }
    }
    hits.extend(extra);
    // Stable: a record's own match before one through a translation.
    hits.sort_by_key(|h| std::cmp::Reverse(h.score));
    hits.truncate(limit);
    hits
}
