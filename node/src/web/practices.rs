//! A practice's page (with its other languages, its history and its audit
//! table) and its add, edit and delete forms (editors and admins); the
//! list is [`super::library`].

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Practice;
use r2com_protocol::staff::StaffRole;

use super::page::{render, see_other, Answer, Failure, Page};
use super::practice_form::{refusal, FieldErrors, PracticeForm};
use super::practice_history::{self, HistoryView, TranslationView};
use super::record_page::{audit_views, notice, remove_record, AuditView, DeletePage, NoticeQuery};
use super::session::{Posted, Staff};
use super::{markdown, name_of, AppState, Opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/practices/new", get(new_form).post(add))
        .route("/practices/{id}", get(show))
        .route("/practices/{id}/edit", get(edit_form).post(edit))
        .route("/practices/{id}/delete", get(delete_form).post(delete))
}

/// The evidence levels and statuses a practice can have (form choices and
/// list filters), and the message key of one.
pub(super) const EVIDENCE: [&str; 5] = [
    "peer-reviewed",
    "evaluated",
    "promising",
    "anecdotal",
    "not yet evaluated",
];
pub(super) const STATUS: [&str; 3] = ["draft", "published", "archived"];

pub(super) fn label_key(prefix: &str, value: &str) -> String {
    format!("{prefix}-{}", value.replace(' ', "-"))
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
    files: Vec<super::files::FileView>,
    translations: Vec<TranslationView>,
    history: HistoryView,
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
    let translations = practice_history::translations(&state, &page, &p.id).await?;
    let history = practice_history::history(&state, &page, &p.id, &zone).await?;
    Ok(render(&ShowPage {
        notice: notice(&page, &nq.notice),
        organisation: state.org_names().await.label(&p.organisation),
        evidence: page.t(&label_key("evidence", &name_of(&p.evidence))),
        status: page.t(&label_key("status", &name_of(&p.status))),
        body_html: markdown::to_html(&p.body),
        audit,
        files: super::files::views(&state.files, &p),
        translations,
        history,
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
