//! An event's page and its add, edit and delete forms.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{NaiveDateTime, TimeZone};

use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Event;
use r2com_protocol::staff::StaffRole;

use super::calendar::{next_sessions, today, SessionView};
use super::event_form::{EventForm, WEEKDAYS};
use super::page::{render, see_other, Answer, Failure, Page};
use super::practice_form::{refusal, FieldErrors};
use super::record_page::{audit_views, notice, remove_record, AuditView, DeletePage, NoticeQuery};
use super::session::{Posted, Staff};
use super::{markdown, name_of, AppState, Opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events/new", get(new_form).post(add))
        .route("/events/{id}", get(show))
        .route("/events/{id}/edit", get(edit_form).post(edit))
        .route("/events/{id}/delete", get(delete_form).post(delete))
}

const FORMATS: [&str; 6] = [
    "workshop",
    "webinar",
    "course",
    "study visit",
    "conference",
    "peer exchange",
];
const STATUSES: [&str; 3] = ["scheduled", "postponed", "cancelled"];

/// How an event repeats, in words.
fn describe_repeat(page: &Page, f: &EventForm) -> Option<String> {
    let every = match f.freq.as_str() {
        "" => return None,
        "KEEP" => return Some(page.t1("repeat-custom", "rule", &f.rule)),
        freq => {
            let n: usize = f.interval.parse().unwrap_or(1).max(1);
            page.lang
                .tn(&format!("repeat-{}", freq.to_ascii_lowercase()), "n", n)
        }
    };
    let days: Vec<String> = (0..7)
        .filter(|i| f.day(*i))
        .map(|i| page.lang.weekday_short(i as u32))
        .collect();
    let mut parts = vec![every];
    if !days.is_empty() {
        parts.push(page.t1("repeat-on", "days", &days.join(", ")));
    }
    match f.ends.as_str() {
        "count" => parts.push(
            page.lang
                .tn("repeat-count", "n", f.count.parse().unwrap_or(1)),
        ),
        "until" => {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&f.until, "%Y-%m-%d") {
                parts.push(page.t1("repeat-until", "date", &page.date(&d)));
            }
        }
        _ => {}
    }
    Some(parts.join(", "))
}

#[derive(Template)]
#[template(path = "event.html")]
struct ShowPage {
    page: Page,
    notice: Option<String>,
    e: Event,
    when: String,
    organiser_when: Option<String>,
    organiser: String,
    format: String,
    status: String,
    cancelled: bool,
    repeat: Option<String>,
    sessions: Vec<SessionView>,
    description_html: String,
    audit: Vec<AuditView>,
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(nq): Query<NoticeQuery>,
) -> Answer {
    let mut page = staff.page("calendar", String::new());
    let e = state
        .api
        .event(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    page.title = e.title.clone();
    let zone = staff.zone(&state);
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let etz: chrono_tz::Tz = e.timezone.parse().unwrap_or(chrono_tz::UTC);
    let local = |s: &str| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
            .ok()
            .and_then(|t| etz.from_local_datetime(&t).earliest())
    };
    let when = match (local(&e.starts_at), local(&e.ends_at)) {
        (Some(s), Some(t)) => {
            let (s, t) = (
                s.with_timezone(&tz).fixed_offset(),
                t.with_timezone(&tz).fixed_offset(),
            );
            format!(
                "{} – {} ({zone})",
                page.lang.date_time(&s),
                page.lang.date_time(&t)
            )
        }
        _ => e.starts_at.clone(),
    };
    let organiser_when = (e.timezone != zone).then(|| {
        let s = local(&e.starts_at).map(|s| page.lang.date_time(&s.fixed_offset()));
        format!("{} ({})", s.unwrap_or_default(), e.timezone)
    });
    let orgs = state.org_names().await;
    let sessions = if e.recurrence.is_some() {
        next_sessions(&state, &e, &zone, 10)
            .await
            .map_err(|er| Failure::api(&page, er))?
            .iter()
            .map(|r| {
                let mut v = SessionView::of(&page, &orgs, r);
                if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&r.starts) {
                    v.time = format!("{}, {}", page.date(&t.date_naive()), v.time);
                }
                v
            })
            .collect()
    } else {
        Vec::new()
    };
    let audit = audit_views(&state, &page, &e.doc_id().to_key(), &zone)?;
    let status = name_of(&e.status);
    Ok(render(&ShowPage {
        notice: notice(&page, &nq.notice),
        when,
        organiser_when,
        organiser: orgs.label(&e.organiser),
        format: page.t(&format!("format-{}", name_of(&e.format).replace(' ', "-"))),
        cancelled: status == "cancelled",
        status: page.t(&format!("event-status-{status}")),
        repeat: describe_repeat(&page, &EventForm::from_event(&e)),
        sessions,
        description_html: markdown::to_html(&e.description),
        audit,
        e,
        page,
    }))
}

#[derive(Template)]
#[template(path = "event_form.html")]
struct FormPage {
    page: Page,
    action: String,
    cancel: String,
    form: EventForm,
    errors: FieldErrors,
    error: Option<String>,
    zones: Vec<&'static str>,
    formats: Vec<Opt>,
    statuses: Vec<Opt>,
    organisations: Vec<Opt>,
    weekdays: Vec<(&'static str, String, bool)>,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

async fn form_page(
    state: &AppState,
    page: Page,
    (action, cancel): (String, String),
    form: EventForm,
    errors: FieldErrors,
    error: Option<String>,
) -> Response {
    let orgs = state.org_names().await;
    let mut organisations: Vec<Opt> = orgs.keys().map(|k| Opt::new(k, &orgs.label(k))).collect();
    if !form.organiser.is_empty() && !organisations.iter().any(|o| o.value == form.organiser) {
        organisations.push(Opt::same(&form.organiser));
    }
    let fixed = |prefix: &str, values: &[&str]| -> Vec<Opt> {
        values
            .iter()
            .map(|v| Opt::new(v, &page.t(&format!("{prefix}-{}", v.replace(' ', "-")))))
            .collect()
    };
    let status = if errors.is_empty() && error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let weekdays = WEEKDAYS
        .iter()
        .enumerate()
        .map(|(i, code)| (*code, page.lang.weekday_short(i as u32), form.day(i)))
        .collect();
    let mut resp = render(&FormPage {
        action,
        cancel,
        errors,
        error,
        zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
        formats: fixed("format", &FORMATS),
        statuses: fixed("event-status", &STATUSES),
        organisations,
        weekdays,
        form,
        page,
    });
    *resp.status_mut() = status;
    resp
}

async fn new_form(State(state): State<AppState>, staff: Staff) -> Answer {
    let page = staff.page("calendar", staff.lang.t("event-add"));
    staff.require(StaffRole::Editor, &page)?;
    let zone = staff.zone(&state);
    let form = EventForm {
        date: today(&zone).to_string(),
        time: "10:00".into(),
        hours: "2".into(),
        minutes: "0".into(),
        timezone: zone,
        format: "workshop".into(),
        organiser: state.my_org().await.unwrap_or_default(),
        language: staff.lang.code(),
        status: "scheduled".into(),
        interval: "1".into(),
        ends: "never".into(),
        ..Default::default()
    };
    let urls = ("/events/new".to_owned(), "/calendar".to_owned());
    Ok(form_page(&state, page, urls, form, FieldErrors::new(), None).await)
}

async fn add(State(state): State<AppState>, posted: Posted<EventForm>) -> Answer {
    let Posted { staff, form } = posted;
    let page = staff.page("calendar", staff.lang.t("event-add"));
    staff.require(StaffRole::Editor, &page)?;
    let urls = ("/events/new".to_owned(), "/calendar".to_owned());
    let msg = |k: &str| page.t(k);
    let record = match form.to_record(&msg) {
        Ok(r) => r,
        Err(errors) => {
            let error = Some(page.t("form-has-errors"));
            return Ok(form_page(&state, page, urls, form, errors, error).await);
        }
    };
    match state
        .api
        .add(RecordKind::Event, record, form.accept_ambiguous())
        .await
    {
        Ok(w) => {
            let id = w
                .record
                .as_ref()
                .map(|r| r.id().to_owned())
                .unwrap_or_default();
            state.audit(&staff, RecordKind::Event, &id, "add", &w.changes);
            Ok(see_other(&format!("/events/{id}?notice=added")))
        }
        Err(e) => {
            let (errors, error) = refusal(&page, e)?;
            Ok(form_page(&state, page, urls, form, errors, error).await)
        }
    }
}

async fn edit_form(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Answer {
    let page = staff.page("calendar", staff.lang.t("event-edit"));
    staff.require(StaffRole::Editor, &page)?;
    let e = state
        .api
        .event(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let urls = (format!("/events/{id}/edit"), format!("/events/{id}"));
    let form = EventForm::from_event(&e);
    Ok(form_page(&state, page, urls, form, FieldErrors::new(), None).await)
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<EventForm>,
) -> Answer {
    let Posted { staff, mut form } = posted;
    let page = staff.page("calendar", staff.lang.t("event-edit"));
    staff.require(StaffRole::Editor, &page)?;
    let urls = (format!("/events/{id}/edit"), format!("/events/{id}"));
    let current = state
        .api
        .event(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let msg = |k: &str| page.t(k);
    let edits = match form.edits(&current, &msg) {
        Ok(e) => e,
        Err(errors) => {
            if errors.contains_key("description") {
                form.base_description = Some(current.description.clone());
            }
            let error = Some(page.t("form-has-errors"));
            return Ok(form_page(&state, page, urls, form, errors, error).await);
        }
    };
    if edits.is_empty() {
        return Ok(see_other(&format!("/events/{id}?notice=unchanged")));
    }
    match state
        .api
        .edit(RecordKind::Event, &id, edits, form.accept_ambiguous())
        .await
    {
        Ok(w) => {
            state.audit(&staff, RecordKind::Event, &id, "edit", &w.changes);
            Ok(see_other(&format!("/events/{id}?notice=saved")))
        }
        Err(e) => {
            let (errors, error) = refusal(&page, e)?;
            Ok(form_page(&state, page, urls, form, errors, error).await)
        }
    }
}

async fn delete_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Answer {
    let page = staff.page("calendar", staff.lang.t("event-delete"));
    staff.require(StaffRole::Editor, &page)?;
    let e = state
        .api
        .event(&id)
        .await
        .map_err(|e| Failure::api(&page, e))?;
    Ok(render(&DeletePage {
        what: page.t1("event-delete-question", "title", &e.title),
        action: format!("/events/{id}/delete"),
        cancel: format!("/events/{id}"),
        page,
    }))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<super::auth::NoFields>,
) -> Answer {
    let staff = posted.staff;
    let page = staff.page("calendar", staff.lang.t("event-delete"));
    remove_record(&state, &staff, &page, RecordKind::Event, &id).await?;
    let first = today(&staff.zone(&state));
    Ok(see_other(&format!(
        "/calendar?month={}",
        first.format("%Y-%m")
    )))
}
