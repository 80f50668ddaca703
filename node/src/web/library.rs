//! The library pages: the list with its filters and full-text search, a
//! practice, and the add, edit and delete forms (editors and admins).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use r2com_protocol::control::{ApiError, ErrorCode, ListFilter};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Practice;
use r2com_protocol::staff::StaffRole;

use super::api::PracticeRow;
use super::local::AuditEntry;
use super::page::{render, see_other, Answer, Failure, Page};
use super::practice_form::{refusal, FieldErrors, PracticeForm};
use super::session::{Posted, Staff};
use super::{markdown, name_of, AppState, Opt};

/// Practices per page of the list.
pub const PAGE_SIZE: usize = 50;
/// Most search hits considered.
const SEARCH_LIMIT: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/practices", get(list))
        .route("/practices/new", get(new_form).post(add))
        .route("/practices/{id}", get(show))
        .route("/practices/{id}/edit", get(edit_form).post(edit))
        .route("/practices/{id}/delete", get(delete_form).post(delete))
}

const EVIDENCE: [&str; 5] = [
    "peer-reviewed",
    "evaluated",
    "promising",
    "anecdotal",
    "not yet evaluated",
];
const STATUS: [&str; 3] = ["draft", "published", "archived"];

fn label_key(prefix: &str, value: &str) -> String {
    format!("{prefix}-{}", value.replace(' ', "-"))
}

/// A filter of the list: its select and what is chosen.
struct FilterView {
    name: &'static str,
    label: String,
    options: Vec<Opt>,
    selected: String,
}

/// One entry of the list or of the search results.
struct Item {
    id: String,
    title: String,
    snippet: String,
    meta: String,
}

#[derive(Template)]
#[template(path = "practices.html")]
struct ListPage {
    page: Page,
    notice: Option<String>,
    q: String,
    filters: Vec<FilterView>,
    items: Vec<Item>,
    count_line: String,
    prev: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    organisation: String,
    theme: String,
    target_group: String,
    country: String,
    language: String,
    status: String,
    evidence: String,
    /// Page number, from 1.
    p: usize,
    notice: String,
}

impl ListQuery {
    fn filter(&self) -> ListFilter {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        ListFilter {
            organisation: opt(&self.organisation),
            theme: opt(&self.theme),
            target_group: opt(&self.target_group),
            status: opt(&self.status),
            language: opt(&self.language),
            country: opt(&self.country),
            evidence: opt(&self.evidence),
            ..Default::default()
        }
    }

    fn filtered(&self) -> bool {
        let f = self.filter();
        [
            f.organisation,
            f.theme,
            f.target_group,
            f.status,
            f.language,
            f.country,
            f.evidence,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// This query on page `p`.
    fn url(&self, p: usize) -> String {
        let pairs = [
            ("q", &self.q),
            ("organisation", &self.organisation),
            ("theme", &self.theme),
            ("target_group", &self.target_group),
            ("country", &self.country),
            ("language", &self.language),
            ("status", &self.status),
            ("evidence", &self.evidence),
        ];
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("p", &p.to_string());
        format!("/practices?{}", s.finish())
    }
}

pub fn notice(page: &Page, key: &str) -> Option<String> {
    match key {
        "added" | "saved" | "deleted" | "unchanged" => Some(page.t(&format!("notice-{key}"))),
        _ => None,
    }
}

fn meta(page: &Page, orgs: &super::OrgNames, row: &PracticeRow) -> String {
    [
        orgs.label(&row.organisation),
        page.t(&label_key("status", &name_of(&row.status))),
        page.t(&label_key("evidence", &name_of(&row.evidence))),
        page.t1("practice-updated", "when", &page.when(&row.updated_at)),
    ]
    .join(" · ")
}

async fn list(State(state): State<AppState>, staff: Staff, Query(q): Query<ListQuery>) -> Answer {
    let page = staff.page("library", staff.lang.t("library-title"));
    let fail = |e: ApiError| Failure::api(&page, e);
    let orgs = state.org_names().await;
    let facets = state.facets.get(&state.api).await;
    let p = q.p.max(1);
    let mut error = None;
    let (items, total) = if q.q.trim().is_empty() {
        let mut rows = state
            .api
            .list(RecordKind::Practice, q.filter())
            .await
            .map_err(fail)?;
        rows.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
        let total = rows.len();
        let items = rows
            .iter()
            .skip((p - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|r| Item {
                id: r.id.clone(),
                title: r.title.clone(),
                snippet: String::new(),
                meta: meta(&page, &orgs, r),
            })
            .collect();
        (items, total)
    } else {
        let mut hits = match state.api.search(&q.q, SEARCH_LIMIT).await {
            Ok(h) => h,
            Err(e) if e.code == ErrorCode::Invalid => {
                error = Some(page.t("search-no-words"));
                Vec::new()
            }
            Err(e) => return Err(fail(e)),
        };
        hits.retain(|h| h.kind == RecordKind::Practice);
        if q.filtered() {
            let allowed: std::collections::HashSet<String> = state
                .api
                .list(RecordKind::Practice, q.filter())
                .await
                .map_err(fail)?
                .into_iter()
                .map(|r| r.id)
                .collect();
            hits.retain(|h| allowed.contains(&h.id));
        }
        let total = hits.len();
        let mut items = Vec::new();
        for h in hits.iter().skip((p - 1) * PAGE_SIZE).take(PAGE_SIZE) {
            let meta = match state.api.practice(&h.id).await {
                Ok(pr) => meta(&page, &orgs, &PracticeRow::from(&pr)),
                Err(_) => String::new(),
            };
            items.push(Item {
                id: h.id.clone(),
                title: h.title.clone(),
                snippet: h.snippet.clone(),
                meta,
            });
        }
        (items, total)
    };
    let opts = |values: &[String]| -> Vec<Opt> { values.iter().map(|v| Opt::same(v)).collect() };
    let fixed = |prefix: &str, values: &[&str]| -> Vec<Opt> {
        values
            .iter()
            .map(|v| Opt::new(v, &page.t(&label_key(prefix, v))))
            .collect()
    };
    let filters = vec![
        FilterView {
            name: "organisation",
            label: page.t("field-organisation"),
            options: facets
                .organisations
                .iter()
                .map(|o| Opt::new(o, &orgs.label(o)))
                .collect(),
            selected: q.organisation.clone(),
        },
        FilterView {
            name: "theme",
            label: page.t("field-themes"),
            options: opts(&facets.themes),
            selected: q.theme.clone(),
        },
        FilterView {
            name: "target_group",
            label: page.t("field-target-groups"),
            options: opts(&facets.target_groups),
            selected: q.target_group.clone(),
        },
        FilterView {
            name: "country",
            label: page.t("field-countries"),
            options: opts(&facets.countries),
            selected: q.country.clone(),
        },
        FilterView {
            name: "language",
            label: page.t("field-languages"),
            options: opts(&facets.languages),
            selected: q.language.clone(),
        },
        FilterView {
            name: "status",
            label: page.t("field-status"),
            options: fixed("status", &STATUS),
            selected: q.status.clone(),
        },
        FilterView {
            name: "evidence",
            label: page.t("field-evidence"),
            options: fixed("evidence", &EVIDENCE),
            selected: q.evidence.clone(),
        },
    ];
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let count_line = if q.q.trim().is_empty() {
        page.t2(
            "library-count",
            ("count", &total.to_string()),
            ("page", &format!("{p}/{pages}")),
        )
    } else {
        page.t2(
            "search-count",
            ("count", &total.to_string()),
            ("page", &format!("{p}/{pages}")),
        )
    };
    Ok(render(&ListPage {
        notice: notice(&page, &q.notice),
        q: q.q.clone(),
        filters,
        items,
        count_line,
        prev: (p > 1).then(|| q.url(p - 1)),
        next: (p < pages).then(|| q.url(p + 1)),
        error,
        page,
    }))
}

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

#[derive(Template)]
#[template(path = "practice.html")]
struct ShowPage {
    page: Page,
    notice: Option<String>,
    p: Practice,
    organisation: String,
    evidence: String,
    status: String,
    body_html: String,
    audit: Vec<AuditView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    pub notice: String,
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(nq): Query<NoticeQuery>,
) -> Answer {
    let page = staff.page("library", String::new());
    let p = state
        .api
        .practice(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let mut page = page;
    page.title = p.title.clone();
    let zone = staff.zone(&state);
    let audit = audit_views(&state, &page, &p.doc_id().to_key(), &zone)?;
    Ok(render(&ShowPage {
        notice: notice(&page, &nq.notice),
        organisation: state.org_names().await.label(&p.organisation),
        evidence: page.t(&label_key("evidence", &name_of(&p.evidence))),
        status: page.t(&label_key("status", &name_of(&p.status))),
        body_html: markdown::to_html(&p.body),
        audit,
        p,
        page,
    }))
}

#[derive(Template)]
#[template(path = "practice_form.html")]
struct FormPage {
    page: Page,
    action: String,
    cancel: String,
    form: PracticeForm,
    errors: FieldErrors,
    error: Option<String>,
    /// Others' current text of a field that conflicts: (label, text).
    theirs: Vec<(String, String)>,
    organisations: Vec<Opt>,
    evidence: Vec<Opt>,
    statuses: Vec<Opt>,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// The comma-separated fields: (name, label key, value).
    fn lists(&self) -> [(&'static str, &'static str, &str); 4] {
        [
            ("themes", "field-themes", &self.form.themes),
            (
                "target_groups",
                "field-target-groups",
                &self.form.target_groups,
            ),
            ("countries", "field-countries", &self.form.countries),
            ("languages", "field-languages", &self.form.languages),
        ]
    }
}

#[allow(clippy::too_many_arguments)] // the form, its errors and the other side of a merge
async fn form_page(
    state: &AppState,
    page: Page,
    action: String,
    cancel: String,
    form: PracticeForm,
    errors: FieldErrors,
    error: Option<String>,
    theirs: Vec<(String, String)>,
) -> Response {
    let orgs = state.org_names().await;
    let mut organisations: Vec<Opt> = orgs.keys().map(|k| Opt::new(k, &orgs.label(k))).collect();
    if !form.organisation.is_empty() && !organisations.iter().any(|o| o.value == form.organisation)
    {
        organisations.push(Opt::same(&form.organisation));
    }
    let fixed = |prefix: &str, values: &[&str]| -> Vec<Opt> {
        values
            .iter()
            .map(|v| Opt::new(v, &page.t(&label_key(prefix, v))))
            .collect()
    };
    let evidence = fixed("evidence", &EVIDENCE);
    let statuses = fixed("status", &STATUS);
    let status = if errors.is_empty() && error.is_none() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut resp = render(&FormPage {
        page,
        action,
        cancel,
        form,
        errors,
        error,
        theirs,
        organisations,
        evidence,
        statuses,
    });
    *resp.status_mut() = status;
    resp
}

async fn new_form(State(state): State<AppState>, staff: Staff) -> Answer {
    let page = staff.page("library", staff.lang.t("practice-add"));
    staff.require(StaffRole::Editor, &page)?;
    let form = PracticeForm {
        organisation: state.my_org().await.unwrap_or_default(),
        status: "draft".into(),
        evidence: "not yet evaluated".into(),
        languages: staff.lang.code(),
        ..Default::default()
    };
    Ok(form_page(
        &state,
        page,
        "/practices/new".into(),
        "/practices".into(),
        form,
        FieldErrors::new(),
        None,
        Vec::new(),
    )
    .await)
}

async fn add(State(state): State<AppState>, posted: Posted<PracticeForm>) -> Answer {
    let Posted { staff, form } = posted;
    let page = staff.page("library", staff.lang.t("practice-add"));
    staff.require(StaffRole::Editor, &page)?;
    match state
        .api
        .add(RecordKind::Practice, form.to_record(), false)
        .await
    {
        Ok(w) => {
            let id = w
                .record
                .as_ref()
                .map(|r| r.id().to_owned())
                .unwrap_or_default();
            state.audit(&staff, RecordKind::Practice, &id, "add", &w.changes);
            Ok(see_other(&format!("/practices/{id}?notice=added")))
        }
        Err(e) => {
            let (errors, error) = refusal(&page, e)?;
            let cancel = "/practices".to_owned();
            Ok(form_page(
                &state,
                page,
                "/practices/new".into(),
                cancel,
                form,
                errors,
                error,
                Vec::new(),
            )
            .await)
        }
    }
}

async fn edit_form(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Answer {
    let page = staff.page("library", staff.lang.t("practice-edit"));
    staff.require(StaffRole::Editor, &page)?;
    let p = state
        .api
        .practice(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    Ok(form_page(
        &state,
        page,
        format!("/practices/{id}/edit"),
        format!("/practices/{id}"),
        PracticeForm::from_practice(&p),
        FieldErrors::new(),
        None,
        Vec::new(),
    )
    .await)
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PracticeForm>,
) -> Answer {
    let Posted { staff, mut form } = posted;
    let page = staff.page("library", staff.lang.t("practice-edit"));
    staff.require(StaffRole::Editor, &page)?;
    let (action, cancel) = (format!("/practices/{id}/edit"), format!("/practices/{id}"));
    let current = state
        .api
        .practice(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let edits = match form.edits(&current) {
        Ok(e) => e,
        Err(conflicts) => {
            let mut errors = FieldErrors::new();
            let mut theirs = Vec::new();
            for field in conflicts {
                errors.insert(field.to_owned(), page.t("form-conflict"));
                let text = if field == "body" {
                    &current.body
                } else {
                    &current.summary
                };
                theirs.push((page.t(&format!("field-{field}")), text.clone()));
            }
            // Saving again applies this text over theirs.
            form.base_body = Some(current.body.clone());
            form.base_summary = Some(current.summary.clone());
            let error = Some(page.t("form-has-errors"));
            return Ok(form_page(&state, page, action, cancel, form, errors, error, theirs).await);
        }
    };
    if edits.is_empty() {
        return Ok(see_other(&format!("/practices/{id}?notice=unchanged")));
    }
    match state
        .api
        .edit(RecordKind::Practice, &id, edits, false)
        .await
    {
        Ok(w) => {
            state.audit(&staff, RecordKind::Practice, &id, "edit", &w.changes);
            Ok(see_other(&format!("/practices/{id}?notice=saved")))
        }
        Err(e) => {
            let (errors, error) = refusal(&page, e)?;
            Ok(form_page(
                &state,
                page,
                action,
                cancel,
                form,
                errors,
                error,
                Vec::new(),
            )
            .await)
        }
    }
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
pub struct DeletePage {
    pub page: Page,
    pub what: String,
    pub action: String,
    pub cancel: String,
}

async fn delete_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Answer {
    let page = staff.page("library", staff.lang.t("practice-delete"));
    staff.require(StaffRole::Editor, &page)?;
    let p = state
        .api
        .practice(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    Ok(render(&DeletePage {
        what: page.t1("practice-delete-question", "title", &p.title),
        action: format!("/practices/{id}/delete"),
        cancel: format!("/practices/{id}"),
        page,
    }))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<super::auth::NoFields>,
) -> Answer {
    let staff = posted.staff;
    let page = staff.page("library", staff.lang.t("practice-delete"));
    remove_record(&state, &staff, &page, RecordKind::Practice, &id).await?;
    Ok(see_other("/practices?notice=deleted"))
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
