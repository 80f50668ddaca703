//! Accounts: one's own settings (language, time zone, password, the secret
//! calendar subscribe address), and for admins the staff list (add an
//! account and hand over its link, change roles, remove).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use r2com_protocol::staff::{StaffRole, UserName};

use super::auth::{hash_password, password_problem, NoFields, MIN_PASSWORD_CHARS};
use super::local::{LocalError, User};
use super::page::{render, see_other, Answer, Failure, Page};
use super::session::{Posted, Staff};
use super::{i18n, staff, AppState, Opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/settings", post(save_settings))
        .route("/account/password", post(change_password))
        .route("/account/feed", post(feed))
        .route("/staff", get(staff_list).post(add_staff))
        .route("/staff/{name}/role", post(set_role))
        .route("/staff/{name}/link", post(new_link))
        .route("/staff/{name}/remove", get(remove_form).post(remove))
}

/// The base of links shown to staff: the public URL, or the address this
/// browser reached the node at (its `Host`, already checked).
fn base_of(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.public_url {
        return u.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    notice: Option<String>,
    error: Option<String>,
    languages: Vec<Opt>,
    locale: String,
    zones: Vec<&'static str>,
    zone: String,
    has_password: bool,
    feed_url: Option<String>,
}

fn account_page(
    state: &AppState,
    staff: &Staff,
    headers: &HeaderMap,
    notice: Option<String>,
    error: Option<String>,
) -> Answer {
    let page = staff.page("account", staff.lang.t("account-title"));
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let user = state
        .local
        .user(&staff.user.name)
        .map_err(|e| Failure::local(&page, e))?
        .unwrap_or_else(|| staff.user.clone());
    let mut resp = render(&AccountPage {
        notice,
        error,
        languages: i18n::available()
            .into_iter()
            .map(|(code, name)| Opt::new(&code, &name))
            .collect(),
        locale: user.locale.clone().unwrap_or_default(),
        zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
        zone: staff.zone(state),
        has_password: user.password.is_some(),
        feed_url: user
            .feed
            .as_ref()
            .map(|s| format!("{}/calendar/{s}.ics", base_of(state, headers))),
        page,
    });
    *resp.status_mut() = status;
    Ok(resp)
}

async fn account(State(state): State<AppState>, headers: HeaderMap, staff: Staff) -> Answer {
    account_page(&state, &staff, &headers, None, None)
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    locale: String,
    zone: String,
}

async fn save_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<SettingsForm>,
) -> Answer {
    let Posted { mut staff, form } = posted;
    let page = staff.page("account", String::new());
    if form.zone.parse::<chrono_tz::Tz>().is_err() {
        let error = Some(page.t1("account-bad-zone", "zone", &form.zone));
        return account_page(&state, &staff, &headers, None, error);
    }
    let locale = form.locale.trim().to_owned();
    let locale = (!locale.is_empty() && i18n::available().iter().any(|(c, _)| *c == locale))
        .then_some(locale);
    let user = state
        .local
        .update_user(&staff.user.name, |u| {
            u.locale = locale.clone();
            u.zone = Some(form.zone.clone());
        })
        .map_err(|e| Failure::local(&page, e))?;
    // Answer in the language just chosen.
    staff.lang = i18n::Lang::negotiate(
        user.locale.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    staff.user = user;
    let notice = Some(staff.lang.t("notice-saved"));
    account_page(&state, &staff, &headers, notice, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    password: String,
    again: String,
}

async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<PasswordForm>,
) -> Answer {
    let Posted { staff, form } = posted;
    let page = staff.page("account", String::new());
    if let Some(hash) = &staff.user.password {
        if !super::auth::check_password(&state, &staff.user.name, form.current, hash.clone()).await
        {
            let error = Some(page.t("account-wrong-password"));
            return account_page(&state, &staff, &headers, None, error);
        }
    }
    if let Some(problem) = password_problem(&form.password, &form.again) {
        let error = Some(page.t1(problem, "min", &MIN_PASSWORD_CHARS.to_string()));
        return account_page(&state, &staff, &headers, None, error);
    }
    let hash = hash_password(&state.hashing, form.password)
        .await
        .map_err(|e| Failure::new(&page, StatusCode::INTERNAL_SERVER_ERROR, e))?;
    state
        .local
        .update_user(&staff.user.name, |u| u.password = Some(hash))
        .map_err(|e| Failure::local(&page, e))?;
    tracing::info!(user = %staff.user.name, "changed password");
    let notice = Some(page.t("account-password-changed"));
    account_page(&state, &staff, &headers, notice, None)
}

#[derive(Deserialize)]
struct FeedForm {
    action: String,
}

async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<FeedForm>,
) -> Answer {
    let Posted { staff, form } = posted;
    let page = staff.page("account", String::new());
    let local = |e| Failure::local(&page, e);
    let notice = match form.action.as_str() {
        "renew" => {
            state.local.renew_feed(&staff.user.name).map_err(local)?;
            page.t("account-feed-made")
        }
        "revoke" => {
            state.local.revoke_feed(&staff.user.name).map_err(local)?;
            page.t("account-feed-revoked")
        }
        _ => {
            return Err(Failure::new(
                &page,
                StatusCode::BAD_REQUEST,
                page.t("error-bad-form"),
            ))
        }
    };
    tracing::info!(user = %staff.user.name, action = %form.action, "calendar feed address");
    account_page(&state, &staff, &headers, Some(notice), None)
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
    Ok(render(&super::library::DeletePage {
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
