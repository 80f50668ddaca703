//! What the practice and event pages share: the notice after a write, the
//! audit table of a record (which local user changed it, and when), the
//! delete confirmation and the delete itself.

use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use r2com_protocol::ids::RecordKind;
use r2com_protocol::staff::StaffRole;

use super::local::AuditEntry;
use super::page::{Failure, Page};
use super::session::Staff;
use super::AppState;

/// The message for a `?notice=` after a write, if it is one of ours.
pub fn notice(page: &Page, key: &str) -> Option<String> {
    match key {
        "added" | "saved" | "deleted" | "unchanged" => Some(page.t(&format!("notice-{key}"))),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    pub notice: String,
}

/// One row of a record's audit table, ready to show.
pub struct AuditView {
    pub user: String,
    pub action: String,
    pub when: String,
}

/// The audit table of a document, newest first, times in `zone`.
pub fn audit_views(
    state: &AppState,
    page: &Page,
    doc: &str,
    zone: &str,
) -> Result<Vec<AuditView>, Failure> {
    Ok(state
        .local
        .audit_of_doc(doc)
        .map_err(|e| Failure::local(page, e))?
        .into_iter()
        .take(20)
        .map(|a| AuditView {
            user: a.user,
            action: page.t(&format!("audit-{}", a.action)),
            when: super::local_time(page, a.at_ms, zone),
        })
        .collect())
}

/// Audit entries of a write made now by `staff`.
pub fn audit_entries(
    staff: &Staff,
    kind: RecordKind,
    id: &str,
    action: &str,
    changes: &[String],
) -> Vec<AuditEntry> {
    let at_ms = Utc::now().timestamp_millis();
    changes
        .iter()
        .map(|c| AuditEntry {
            change: c.clone(),
            user: staff.user.name.clone(),
            doc: format!("{kind}/{id}"),
            action: action.to_owned(),
            at_ms,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
pub struct DeletePage {
    pub page: Page,
    pub what: String,
    pub action: String,
    pub cancel: String,
}

/// Delete a practice or an event for an editor, and note it in the local
/// audit table (the delete routes of the library and the calendar).
pub(super) async fn remove_record(
    state: &AppState,
    staff: &Staff,
    page: &Page,
    kind: RecordKind,
    id: &str,
) -> Result<(), Failure> {
    staff.require(StaffRole::Editor, page)?;
    let w = state
        .api
        .remove(kind, id)
        .await
        .map_err(|e| Failure::api(page, e))?;
    state.audit(staff, kind, id, "remove", &w.changes);
    Ok(())
}
