//! A practice's attached files on its page, and their download: a file
//! this node does not hold yet is fetched from the members that do (the
//! same verified, resumable fetch as `r2com attachment get`) when someone
//! asks for it, then sent. Files are always sent as downloads
//! (`Content-Disposition: attachment`, `nosniff`), never shown inside the
//! app, whatever their type.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio_util::io::ReaderStream;

use r2com_protocol::control::{ApiError, ErrorCode};
use r2com_protocol::record::{Attachment, Practice};

use super::page::{Failure, Page};
use super::session::Staff;
use super::AppState;
use crate::files::{parse_hash, FileStore};

pub fn routes() -> Router<AppState> {
    Router::new().route("/practices/{id}/files/{hash}", get(download))
}

/// One attached file as the practice page lists it.
pub struct FileView {
    pub href: String,
    pub title: String,
    pub file_name: String,
    pub size: String,
    pub media_type: String,
    pub language: String,
    /// Whether this node holds it (else the download fetches it first).
    pub held: bool,
}

/// A size as people read it.
pub fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The files of a practice, each with its download link.
pub fn views(store: &FileStore, p: &Practice) -> Vec<FileView> {
    p.attachments
        .iter()
        .map(|a| FileView {
            href: format!("/practices/{}/files/{}", p.id, a.hash),
            title: a.title.clone(),
            file_name: a.file_name.clone(),
            size: size(a.size),
            media_type: a.media_type.clone(),
            language: a.language.clone().unwrap_or_default(),
            held: parse_hash(&a.hash).is_some_and(|h| store.holds(&h) == Some(a.size)),
        })
        .collect()
}

/// `filename*` of RFC 6266 / RFC 8187 (UTF-8, percent-encoded), with a
/// plain ASCII `filename` for old clients.
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The reference `hash` of practice `id` (only files a practice refers to
/// are served, and only to staff who may read it).
async fn reference(
    state: &AppState,
    page: &Page,
    id: &str,
    hash: &str,
) -> Result<Attachment, Failure> {
    let p = state
        .api
        .practice(id)
        .await
        .map_err(|e| Failure::api(page, e))?;
    p.attachments
        .into_iter()
        .find(|a| a.hash == hash)
        .ok_or_else(|| Failure::not_found(page))
}

async fn download(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, hash)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let page = staff.page("library", staff.lang.t("practice-files"));
    let a = reference(&state, &page, &id, &hash).await?;
    let h = parse_hash(&a.hash).ok_or_else(|| Failure::not_found(&page))?;
    if state.files.holds(&h) != Some(a.size) {
        let Some(net) = &state.net else {
            return Err(Failure::new(
                &page,
                StatusCode::SERVICE_UNAVAILABLE,
                page.t("practice-file-unavailable"),
            ));
        };
        net.fetch(&state.files, h, a.size, None)
            .await
            .map_err(|e| Failure::api(&page, ApiError::from(e)))?;
    }
    let path = state.files.path(&h);
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        Failure::api(
            &page,
            ApiError::new(ErrorCode::Internal, format!("{}: {e}", path.display())),
        )
    })?;
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let h = response.headers_mut();
    // Always a download: the sniffed type names the content, but the
    // browser is never asked to render a file from another organisation.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.media_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.size));
    h.insert(header::CONTENT_DISPOSITION, disposition(&a.file_name));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_quoted_safely() {
        let d = disposition("Formação \"v2\".pdf");
        assert_eq!(
            d.to_str().unwrap(),
            "attachment; filename=\"Forma__o _v2_.pdf\"; \
             filename*=UTF-8''Forma%C3%A7%C3%A3o%20%22v2%22.pdf"
        );
        assert_eq!(size(1536), "1.5 KiB");
    }
}
