//! Accounts: one's own settings (language, time zone, password, the secret
//! calendar subscribe address). The staff list for admins is in
//! [`super::staff_list`].

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::page::{render, Answer, Failure, Page};
use super::password::{check_password, hash_password, password_problem, MIN_PASSWORD_CHARS};
use super::session::{Posted, Staff};
use super::{i18n, AppState, Opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/settings", post(save_settings))
        .route("/account/password", post(change_password))
        .route("/account/feed", post(feed))
}

/// The base of links shown to staff: the public URL, or the address this
/// browser reached the node at (its `Host`, already checked).
pub(super) fn base_of(state: &AppState, headers: &HeaderMap) -> String {
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
        if !check_password(&state, &staff.user.name, form.current, hash.clone()).await {
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
