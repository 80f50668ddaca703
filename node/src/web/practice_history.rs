//! What a practice's page shows around the practice: the same practice in
//! other languages (linked by `translation_of`, as `practice show` lists
//! them) and its history (every signed change to it: when, by which
//! organisation's node, what it changed; as `r2com history ID` shows it,
//! through the same typed request).

use r2com_protocol::control::{ChangeAction, History, Request, SignatureCheck, Translation};

use super::page::{Failure, Page};
use super::AppState;

/// Most changes the page lists (newest first); the rest are counted.
pub const MAX_CHANGES: usize = 50;

/// The practice in another language, as its page links it.
pub struct TranslationView {
    pub href: String,
    pub title: String,
    /// The language code it is written in (empty if it does not say).
    pub language: String,
}

/// One change of the history, ready to show.
pub struct ChangeView {
    pub when: String,
    pub organisation: String,
    pub what: String,
}

/// The history as the page shows it.
pub struct HistoryView {
    /// Newest first, at most [`MAX_CHANGES`].
    pub changes: Vec<ChangeView>,
    /// The line saying how many older changes are left out, if any.
    pub more: Option<String>,
}

/// Practice `id` in the other languages, with their titles.
pub async fn translations(
    state: &AppState,
    page: &Page,
    id: &str,
) -> Result<Vec<TranslationView>, Failure> {
    let others: Vec<Translation> = state
        .api
        .request(Request::Translations { id: id.to_owned() })
        .await
        .map_err(|e| Failure::api(page, e))?;
    let mut out = Vec::with_capacity(others.len());
    for t in others {
        // One deleted meanwhile is left out.
        let Ok(p) = state.api.practice(&t.id).await else {
            continue;
        };
        out.push(TranslationView {
            href: format!("/practices/{}", t.id),
            title: p.title,
            language: t.language.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The history of practice `id`, times in `zone`.
pub async fn history(
    state: &AppState,
    page: &Page,
    id: &str,
    zone: &str,
) -> Result<HistoryView, Failure> {
    let history: History = state
        .api
        .request(Request::History {
            record: format!("practice/{id}"),
            diff: false,
        })
        .await
        .map_err(|e| Failure::api(page, e))?;
    let orgs = state.org_names().await;
    let total = history.changes.len();
    let changes = history
        .changes
        .iter()
        .rev()
        .take(MAX_CHANGES)
        .map(|c| {
            let when = chrono::DateTime::parse_from_rfc3339(&c.at)
                .map(|t| super::local_time(page, t.timestamp_millis(), zone))
                .unwrap_or_else(|_| c.at.clone());
            let organisation = match &c.author.organisation {
                Some(o) => orgs.label(o),
                None => page.t1(
                    "history-unknown",
                    "key",
                    &c.author.key[..12.min(c.author.key.len())],
                ),
            };
            let action = match c.action {
                ChangeAction::Created => "history-created",
                ChangeAction::Edited => "history-edited",
                ChangeAction::Deleted => "history-deleted",
                ChangeAction::Restored => "history-restored",
            };
            let mut what = page.t(action);
            let fields: Vec<&str> = c.fields.iter().map(|f| f.field()).collect();
            if !fields.is_empty() && c.action == ChangeAction::Edited {
                what = format!("{what}: {}", fields.join(", "));
            }
            if let SignatureCheck::Invalid(_) = c.signature {
                what = format!("{what} ({})", page.t("history-bad-signature"));
            }
            ChangeView {
                when,
                organisation,
                what,
            }
        })
        .collect();
    let more = (total > MAX_CHANGES).then(|| {
        page.t2(
            "history-more",
            ("count", &(total - MAX_CHANGES).to_string()),
            ("id", id),
        )
    });
    Ok(HistoryView { changes, more })
}
