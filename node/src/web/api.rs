//! The web app's way into the library: the same control requests the CLI
//! sends, run on the library thread through its handle, so that a change
//! made in a browser is validated and written exactly as one made with the
//! CLI (and pushed to peers as fast). Writes also return the hashes of the
//! changes they made, read in the same turn of the library thread, for the
//! local audit table.

use serde_json::Value;

use r2com_protocol::control::{
    ApiError, Edit, ErrorCode, Ics, ListFilter, Members, Request, Response, Status,
};
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::{Event, Practice, Record};

pub use r2com_protocol::control::{AgendaRow, PracticeRow, SearchHit};

use crate::library::{DocState, Library, PracticeHits};
use crate::library_thread::LibraryHandle;
use crate::store::keys;

/// What a write did: the record (none for a removal) and the hashes of
/// the changes it made (none when nothing changed).
pub struct Written {
    pub record: Option<Record>,
    pub changes: Vec<String>,
}

/// The library, as the web app calls it.
#[derive(Clone)]
pub struct Api {
    library: LibraryHandle,
}

/// Current heads of a document (empty when it does not exist).
fn heads(lib: &Library, doc: &DocId) -> Vec<String> {
    lib.store()
        .get(&keys::doc(keys::DOC, &doc.to_key()))
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_slice::<DocState>(&v).ok())
        .map(|s| s.heads)
        .unwrap_or_default()
}

impl Api {
    pub fn new(library: LibraryHandle) -> Api {
        Api { library }
    }

    pub fn handle(&self) -> &LibraryHandle {
        &self.library
    }

    /// One control request, its answer as the type it has.
    pub async fn request<T>(&self, request: Request) -> Result<T, ApiError>
    where
        T: TryFrom<Response, Error = Response>,
    {
        self.library.request(request).await
    }

    pub async fn practice(&self, id: &str) -> Result<Practice, ApiError> {
        match self.show(RecordKind::Practice, id).await? {
            Record::Practice(p) => Ok(p),
            Record::Event(_) => Err(ApiError::new(ErrorCode::Internal, "not a practice")),
        }
    }

    pub async fn event(&self, id: &str) -> Result<Event, ApiError> {
        match self.show(RecordKind::Event, id).await? {
            Record::Event(e) => Ok(e),
            Record::Practice(_) => Err(ApiError::new(ErrorCode::Internal, "not an event")),
        }
    }

    async fn show(&self, kind: RecordKind, id: &str) -> Result<Record, ApiError> {
        self.request(Request::Show {
            kind,
            id: id.to_owned(),
        })
        .await
    }

    /// The practices passing `filter`, as rows.
    pub async fn list(
        &self,
        kind: RecordKind,
        filter: ListFilter,
    ) -> Result<Vec<PracticeRow>, ApiError> {
        debug_assert_eq!(kind, RecordKind::Practice);
        self.request(Request::List { kind, filter }).await
    }

    /// The roster (`None` outside a consortium).
    pub async fn members(&self) -> Result<Option<Members>, ApiError> {
        match self.request(Request::Members).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code == ErrorCode::Invalid => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// This node's status (its key, the consortium, counts).
    pub async fn status(&self) -> Result<Status, ApiError> {
        self.request(Request::Status).await
    }

    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, ApiError> {
        self.request(Request::Search {
            query: query.to_owned(),
            limit,
        })
        .await
    }

    /// A page of the practices `search(query, limit)` finds that pass
    /// `filter`: how many in all, and those from `skip` on (at most
    /// `take`) with their rows, ranked as `r2com search` ranks them.
    pub async fn search_practices(
        &self,
        query: &str,
        filter: ListFilter,
        limit: usize,
        skip: usize,
        take: usize,
    ) -> Result<PracticeHits, ApiError> {
        let query = query.to_owned();
        self.library
            .with(move |lib| lib.search_practices(&query, &filter, limit, skip, take))
            .await?
            .map_err(ApiError::from)
    }

    /// Sessions between two dates (inclusive, `YYYY-MM-DD`) shown in `zone`.
    pub async fn agenda(
        &self,
        from: &str,
        to: &str,
        zone: &str,
        filter: ListFilter,
    ) -> Result<Vec<AgendaRow>, ApiError> {
        self.request(Request::CalendarAgenda {
            from: from.to_owned(),
            to: to.to_owned(),
            zone: zone.to_owned(),
            filter,
        })
        .await
    }

    /// The calendar as RFC 5545 text.
    pub async fn ics(&self, filter: ListFilter) -> Result<String, ApiError> {
        let ics: Ics = self.request(Request::CalendarIcs { filter }).await?;
        Ok(ics.ics)
    }

    /// Run a write request and report the changes it made to its
    /// document, read on the library thread right after it (nothing runs
    /// in between). `doc` is `None` for an add without an id: the library
    /// names the record, and the new document's heads are all this write's.
    async fn write(
        &self,
        kind: RecordKind,
        doc: Option<DocId>,
        request: Request,
    ) -> Result<Written, ApiError> {
        let (result, changes) = self
            .library
            .with_node(move |node| {
                let before = doc
                    .as_ref()
                    .map(|d| heads(&node.library, d))
                    .unwrap_or_default();
                let result = crate::api::dispatch(node, request, &|_, _| {});
                let doc = doc.or_else(|| match &result {
                    Ok(Response::Record(r)) => DocId::new(kind, r.id()).ok(),
                    _ => None,
                });
                let after = doc.map(|d| heads(&node.library, &d)).unwrap_or_default();
                let made: Vec<String> = after.into_iter().filter(|h| !before.contains(h)).collect();
                (result, made)
            })
            .await?;
        Ok(Written {
            // A removal answers `Removed`, not a record.
            record: Record::try_from(result?).ok(),
            changes,
        })
    }

    pub async fn add(
        &self,
        kind: RecordKind,
        record: Value,
        accept_ambiguous: bool,
    ) -> Result<Written, ApiError> {
        let doc = match record.get("id").and_then(Value::as_str) {
            Some(id) => Some(
                DocId::new(kind, id)
                    .map_err(|e| ApiError::new(ErrorCode::Invalid, e.to_string()))?,
            ),
            None => None,
        };
        let request = Request::Add {
            kind,
            record,
            accept_ambiguous,
            reuse: false,
        };
        self.write(kind, doc, request).await
    }

    pub async fn edit(
        &self,
        kind: RecordKind,
        id: &str,
        edits: Vec<Edit>,
        accept_ambiguous: bool,
    ) -> Result<Written, ApiError> {
        let doc =
            DocId::new(kind, id).map_err(|e| ApiError::new(ErrorCode::Invalid, e.to_string()))?;
        self.write(
            kind,
            Some(doc),
            Request::Edit {
                kind,
                id: id.to_owned(),
                edits,
                accept_ambiguous,
            },
        )
        .await
    }

    pub async fn remove(&self, kind: RecordKind, id: &str) -> Result<Written, ApiError> {
        let doc =
            DocId::new(kind, id).map_err(|e| ApiError::new(ErrorCode::Invalid, e.to_string()))?;
        self.write(
            kind,
            Some(doc),
            Request::Remove {
                kind,
                id: id.to_owned(),
            },
        )
        .await
    }
}
