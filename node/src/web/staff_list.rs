//! The staff list, for admins: add an account and hand over its link,
//! change roles, remove.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use r2com_protocol::staff::{StaffRole, UserName};

use super::accounts::base_of;
use super::auth::NoFields;
use super::local::{LocalError, User};
use super::page::{render, see_other, Answer, Failure, Page};
use super::session::{Posted, Staff};
use super::{staff, AppState, Opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(staff_list).post(add_staff))
        .route("/staff/{name}/role", post(set_role))
        .route("/staff/{name}/link", post(new_link))
        .route("/staff/{name}/remove", get(remove_form).post(remove))
}

struct StaffRow {
    name: String,
    role: String,
    roles: Vec<Opt>,
    has_password: bool,
    created: String,
    me: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    page: Page,
    notice: Option<String>,
    error: Option<String>,
    rows: Vec<StaffRow>,
    roles: Vec<Opt>,
    /// A link just made: (account, URL).
    link: Option<(String, String)>,
    name: String,
}

fn role_opts(page: &Page) -> Vec<Opt> {
    StaffRole::ALL
        .iter()
        .map(|r| Opt::new(r.as_str(), &page.t(&format!("role-{r}"))))
        .collect()
}

fn staff_page(
    state: &AppState,
    staff: &Staff,
    notice: Option<String>,
    error: Option<String>,
    link: Option<(String, String)>,
) -> Answer {
    let page = staff.page("staff", staff.lang.t("staff-title"));
    staff.require(StaffRole::Admin, &page)?;
    let users: Vec<User> = state.local.users().map_err(|e| Failure::local(&page, e))?;
    let rows = users
        .into_iter()
        .map(|u| StaffRow {
            role: u.role.as_str().to_owned(),
            roles: role_opts(&page),
            has_password: u.password.is_some(),
            created: page.when(&u.created_at),
            me: u.name == staff.user.name,
            name: u.name,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut resp = render(&StaffPage {
        notice,
        error,
        rows,
        roles: role_opts(&page),
        link,
        name: String::new(),
        page,
    });
    *resp.status_mut() = status;
    Ok(resp)
}

async fn staff_list(State(state): State<AppState>, staff: Staff) -> Answer {
    staff_page(&state, &staff, None, None, None)
}

#[derive(Deserialize)]
struct AddForm {
    name: String,
    role: String,
}

fn local_message(page: &Page, e: LocalError) -> Result<String, Failure> {
    match e {
        LocalError::UserExists(n) => Ok(page.t1("staff-exists", "name", &n)),
        LocalError::NoSuchUser(n) => Ok(page.t1("staff-no-such", "name", &n)),
        other => Err(Failure::local(page, other)),
    }
}

async fn add_staff(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<AddForm>,
) -> Answer {
    let Posted { staff, form } = posted;
    let page = staff.page("staff", String::new());
    staff.require(StaffRole::Admin, &page)?;
    let name = match UserName::parse(form.name.trim()) {
        Ok(n) => n,
        Err(e) => return staff_page(&state, &staff, None, Some(e), None),
    };
    let Ok(role) = form.role.parse::<StaffRole>() else {
        return Err(Failure::new(
            &page,
            StatusCode::BAD_REQUEST,
            page.t("error-bad-form"),
        ));
    };
    match staff::add(&state.local, &name, role, Utc::now()) {
        Ok((user, path)) => {
            tracing::info!(admin = %staff.user.name, user = %user.name, role = %role, "added a staff account");
            let link = (user.name, format!("{}{path}", base_of(&state, &headers)));
            staff_page(&state, &staff, None, None, Some(link))
        }
        Err(e) => {
            let msg = local_message(&page, e)?;
            staff_page(&state, &staff, None, Some(msg), None)
        }
    }
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted<RoleForm>,
) -> Answer {
    let Posted { staff, form } = posted;
    let page = staff.page("staff", String::new());
    staff.require(StaffRole::Admin, &page)?;
    let Ok(role) = form.role.parse::<StaffRole>() else {
        return Err(Failure::new(
            &page,
            StatusCode::BAD_REQUEST,
            page.t("error-bad-form"),
        ));
    };
    if name == staff.user.name && role != StaffRole::Admin {
        let error = Some(page.t("staff-not-yourself"));
        return staff_page(&state, &staff, None, error, None);
    }
    match staff::set_role(&state.local, &name, role) {
        Ok(_) => {
            tracing::info!(admin = %staff.user.name, user = %name, role = %role, "changed a role");
            staff_page(&state, &staff, Some(page.t("notice-saved")), None, None)
        }
        Err(e) => {
            let msg = local_message(&page, e)?;
            staff_page(&state, &staff, None, Some(msg), None)
        }
    }
}

async fn new_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    posted: Posted<NoFields>,
) -> Answer {
    let staff = posted.staff;
    let page = staff.page("staff", String::new());
    staff.require(StaffRole::Admin, &page)?;
    match staff::password_link(&state.local, &name, Utc::now()) {
        Ok(path) => {
            let link = (name, format!("{}{path}", base_of(&state, &headers)));
            staff_page(&state, &staff, None, None, Some(link))
        }
        Err(e) => {
            let msg = local_message(&page, e)?;
            staff_page(&state, &staff, None, Some(msg), None)
        }
    }
}

async fn remove_form(
    State(_state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Answer {
    let page = staff.page("staff", staff.lang.t("staff-remove"));
    staff.require(StaffRole::Admin, &page)?;
    Ok(render(&super::record_page::DeletePage {
        what: page.t1("staff-remove-question", "name", &name),
        action: format!("/staff/{name}/remove"),
        cancel: "/staff".into(),
        page,
    }))
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted<NoFields>,
) -> Answer {
    let staff = posted.staff;
    let page = staff.page("staff", String::new());
    staff.require(StaffRole::Admin, &page)?;
    if name == staff.user.name {
        let error = Some(page.t("staff-not-yourself"));
        return staff_page(&state, &staff, None, error, None);
    }
    match state.local.remove_user(&name) {
        Ok(()) => {
            tracing::info!(admin = %staff.user.name, user = %name, "removed a staff account");
            Ok(see_other("/staff"))
        }
        Err(e) => {
            let msg = local_message(&page, e)?;
            staff_page(&state, &staff, None, Some(msg), None)
        }
    }
}
