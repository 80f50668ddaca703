//! Logging in and out: the password form (rate-limited per account and per
//! client), one-time login links (`r2com web login-url`), and the link a
//! new account sets its password with (`r2com user add`).
//!
//! A one-time link opens a page with a button: following the link alone
//! (a preview, a mail scanner) does not use it up.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use super::local::{random_token, same_secret, OneTime, Purpose, SESSION_MAX_MS};
use super::page::{render, see_other, Answer, Failure, Page};
use super::password::{hash_password, password_problem, verify_password, MIN_PASSWORD_CHARS};
use super::ratelimit::{MAX_PER_ACCOUNT, MAX_PER_CLIENT};
use super::server::ClientAddr;
use super::session::{
    cookie, same_origin, set_cookie, Posted, Visitor, PRE_COOKIE, SESSION_COOKIE,
};
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/login/{token}", get(one_time_form).post(one_time))
        .route("/welcome/{token}", get(one_time_form).post(one_time))
}

/// A local path to go to after login (never another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn with_session(state: &AppState, token: &str, to: &str) -> Response {
    let mut resp = see_other(to);
    let c = set_cookie(state, SESSION_COOKIE, token, SESSION_MAX_MS / 1000);
    resp.headers_mut()
        .append(header::SET_COOKIE, c.parse().expect("cookie header"));
    resp
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    next: String,
    name: String,
    pre: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if v.staff.is_some() {
        return see_other(&next);
    }
    login_page(&state, &v, next, String::new(), None, StatusCode::OK)
}

fn login_page(
    state: &AppState,
    v: &Visitor,
    next: String,
    name: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let pre = random_token();
    let mut resp = render(&LoginPage {
        page: v.page("login-title"),
        next,
        name,
        pre: pre.clone(),
        error,
    });
    *resp.status_mut() = status;
    let c = set_cookie(state, PRE_COOKIE, &pre, 3600);
    resp.headers_mut()
        .append(header::SET_COOKIE, c.parse().expect("cookie header"));
    resp
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    pre: String,
}

async fn login(
    State(state): State<AppState>,
    axum::Extension(ClientAddr(client)): axum::Extension<ClientAddr>,
    req: axum::extract::Request,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let v = match <Visitor as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(v) => v,
        Err(f) => return f.into_response(),
    };
    let page = v.page("login-title");
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Failure::new(
            &page,
            StatusCode::PAYLOAD_TOO_LARGE,
            page.t("error-too-large"),
        )
        .into_response();
    };
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&bytes) else {
        return Failure::new(&page, StatusCode::BAD_REQUEST, page.t("error-bad-form"))
            .into_response();
    };
    let pre_ok = cookie(&parts, PRE_COOKIE).is_some_and(|c| same_secret(&c, &form.pre));
    if !same_origin(&parts) || !pre_ok {
        return Failure::new(&page, StatusCode::FORBIDDEN, page.t("error-csrf")).into_response();
    }
    let next = safe_next(form.next.as_deref());
    let name = form.name.trim().to_ascii_lowercase();
    let (user_key, client_key) = (format!("user:{name}"), format!("client:{}", client.ip()));
    let now = Instant::now();
    if state
        .limiter
        .check(&user_key, MAX_PER_ACCOUNT, now)
        .is_err()
        || state
            .limiter
            .check(&client_key, MAX_PER_CLIENT, now)
            .is_err()
    {
        tracing::warn!(user = %name, %client, "login refused: too many failed attempts");
        let msg = page.t("login-too-many");
        return login_page(
            &state,
            &v,
            next,
            name,
            Some(msg),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = state.local.user(&name).ok().flatten();
    let ok = match user.as_ref().and_then(|u| u.password.clone()) {
        Some(hash) => verify_password(&state, form.password, hash).await,
        None => {
            // Same work whether or not the account exists.
            let _ = verify_password(&state, form.password, state.dummy_hash.clone()).await;
            false
        }
    };
    if !ok {
        state.limiter.fail(&user_key, now);
        state.limiter.fail(&client_key, now);
        tracing::info!(user = %name, %client, "failed login");
        let msg = page.t("login-failed");
        return login_page(&state, &v, next, name, Some(msg), StatusCode::UNAUTHORIZED);
    }
    state.limiter.clear(&user_key);
    match state.local.create_session(&name, Utc::now()) {
        Ok(token) => {
            tracing::info!(user = %name, "logged in");
            with_session(&state, &token, &next)
        }
        Err(e) => Failure::local(&page, e).into_response(),
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    p: Posted<NoFields>,
) -> Response {
    let _ = p.form;
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned());
    if let Some(t) = token {
        let _ = state.local.end_session(&t);
    }
    let mut resp = see_other("/login");
    let c = set_cookie(&state, SESSION_COOKIE, "", 0);
    resp.headers_mut()
        .append(header::SET_COOKIE, c.parse().expect("cookie header"));
    resp
}

/// A form with no fields besides its token.
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Template)]
#[template(path = "one_time.html")]
struct OneTimePage {
    page: Page,
    user: String,
    set_password: bool,
    error: Option<String>,
}

fn one_time_page(v: &Visitor, t: &OneTime, error: Option<String>, status: StatusCode) -> Response {
    let set_password = t.purpose == Purpose::SetPassword;
    let key = if set_password {
        "welcome-title"
    } else {
        "one-time-title"
    };
    let mut resp = render(&OneTimePage {
        page: v.page(key),
        user: t.user.clone(),
        set_password,
        error,
    });
    *resp.status_mut() = status;
    resp
}

fn link_unusable(v: &Visitor) -> Response {
    let page = v.page("one-time-title");
    Failure::new(&page, StatusCode::NOT_FOUND, page.t("one-time-invalid")).into_response()
}

async fn one_time_form(
    State(state): State<AppState>,
    v: Visitor,
    Path(token): Path<String>,
) -> Response {
    match state.local.peek_one_time(&token, Utc::now()) {
        Ok(Some(t)) => one_time_page(&v, &t, None, StatusCode::OK),
        Ok(None) => link_unusable(&v),
        Err(e) => Failure::local(&v.page("one-time-title"), e).into_response(),
    }
}

#[derive(Deserialize)]
struct OneTimeForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
}

async fn one_time(
    State(state): State<AppState>,
    axum::Extension(ClientAddr(client)): axum::Extension<ClientAddr>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Answer {
    let (mut parts, body) = req.into_parts();
    let v = <Visitor as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await?;
    let page = v.page("one-time-title");
    if !same_origin(&parts) {
        return Err(Failure::new(
            &page,
            StatusCode::FORBIDDEN,
            page.t("error-cross-site"),
        ));
    }
    let client_key = format!("client:{}", client.ip());
    let now = Instant::now();
    if state
        .limiter
        .check(&client_key, MAX_PER_CLIENT, now)
        .is_err()
    {
        return Err(Failure::new(
            &page,
            StatusCode::TOO_MANY_REQUESTS,
            page.t("login-too-many"),
        ));
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
        Failure::new(
            &page,
            StatusCode::PAYLOAD_TOO_LARGE,
            page.t("error-too-large"),
        )
    })?;
    let form: OneTimeForm = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| Failure::new(&page, StatusCode::BAD_REQUEST, page.t("error-bad-form")))?;
    let local = |e| Failure::local(&page, e);
    let Some(t) = state
        .local
        .peek_one_time(&token, Utc::now())
        .map_err(local)?
    else {
        state.limiter.fail(&client_key, now);
        return Ok(link_unusable(&v));
    };
    let mut new_hash = None;
    if t.purpose == Purpose::SetPassword {
        if let Some(problem) = password_problem(&form.password, &form.again) {
            let msg = page.ta(problem, &[("min", MIN_PASSWORD_CHARS.to_string())]);
            return Ok(one_time_page(
                &v,
                &t,
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        new_hash = Some(
            hash_password(&state.hashing, form.password)
                .await
                .map_err(|e| Failure::new(&page, StatusCode::INTERNAL_SERVER_ERROR, e))?,
        );
    }
    // Used up now, before anything it grants.
    let Some(t) = state
        .local
        .take_one_time(&token, Utc::now())
        .map_err(local)?
    else {
        return Ok(link_unusable(&v));
    };
    if let Some(hash) = new_hash {
        state
            .local
            .update_user(&t.user, |u| u.password = Some(hash))
            .map_err(local)?;
    }
    let session = state
        .local
        .create_session(&t.user, Utc::now())
        .map_err(local)?;
    tracing::info!(user = %t.user, purpose = ?t.purpose, "logged in by a one-time link");
    Ok(with_session(&state, &session, "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/practices?q=x")), "/practices?q=x");
        for bad in [
            "//evil.example.com",
            "https://evil.example.com",
            "/\\evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
