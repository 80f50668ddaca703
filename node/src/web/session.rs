//! Who is asking: the session cookie (HttpOnly, SameSite=Strict) resolved
//! to a staff account, and forms checked for the session's CSRF token and
//! for coming from this site.
//!
//! * [`Visitor`]: anyone (logged in or not), with their language.
//! * [`Staff`]: a logged-in account; others are sent to the login page.
//! * [`Posted`]: a form a logged-in account sent, with a valid token.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;

use r2com_protocol::staff::StaffRole;

use super::i18n::Lang;
use super::local::{same_secret, Session, User};
use super::page::{see_other, Failure, Page};
use super::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "r2com_session";
/// The cookie of the login form's token (before there is a session).
pub const PRE_COOKIE: &str = "r2com_pre";
/// Largest form body read.
pub const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The value of cookie `name` in a request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure when the node is
/// reached over https.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

/// Whether a state-changing request comes from a page of this site: a
/// browser says so in `Sec-Fetch-Site` and `Origin`.
pub fn same_origin(parts: &Parts) -> bool {
    let h = &parts.headers;
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
        }
    }
}

fn accept_language(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// A logged-in staff member.
#[derive(Clone, Debug)]
pub struct Staff {
    pub user: User,
    pub session: Session,
    pub lang: Lang,
}

impl Staff {
    /// The frame of a page of `section` titled `title` (translated).
    pub fn page(&self, section: &'static str, title: String) -> Page {
        Page {
            lang: self.lang.clone(),
            user: Some(self.user.name.clone()),
            role: Some(self.user.role),
            csrf: self.session.csrf.clone(),
            section,
            title,
        }
    }

    /// Refuse unless the account has at least `role`.
    pub fn require(&self, role: StaffRole, page: &Page) -> Result<(), Failure> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(Failure::forbidden(page))
        }
    }

    /// The zone the calendar is shown in for this user.
    pub fn zone(&self, state: &AppState) -> String {
        self.user
            .zone
            .clone()
            .unwrap_or_else(|| state.default_zone.clone())
    }
}

/// Anyone: a logged-in staff member or not.
pub struct Visitor {
    pub staff: Option<Staff>,
    pub lang: Lang,
}

impl Visitor {
    pub fn page(&self, title_key: &str) -> Page {
        match &self.staff {
            Some(s) => s.page("", s.lang.t(title_key)),
            None => Page {
                lang: self.lang.clone(),
                user: None,
                role: None,
                csrf: String::new(),
                section: "",
                title: self.lang.t(title_key),
            },
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let lang = || Lang::negotiate(None, accept_language(parts));
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Ok(Visitor {
                staff: None,
                lang: lang(),
            });
        };
        let fail = |e| {
            let v = Visitor {
                staff: None,
                lang: lang(),
            };
            Failure::local(&v.page("error-internal-title"), e)
        };
        let now = Utc::now();
        let Some(session) = state.local.session(&token, now).map_err(fail)? else {
            return Ok(Visitor {
                staff: None,
                lang: lang(),
            });
        };
        let Some(user) = state.local.user(&session.user).map_err(fail)? else {
            return Ok(Visitor {
                staff: None,
                lang: lang(),
            });
        };
        let lang = Lang::negotiate(user.locale.as_deref(), accept_language(parts));
        Ok(Visitor {
            staff: Some(Staff {
                user,
                session,
                lang: lang.clone(),
            }),
            lang,
        })
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let v = Visitor::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(s) = v.staff {
            return Ok(s);
        }
        if parts.method == Method::GET || parts.method == Method::HEAD {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let to = format!("/login?next={}", super::urlencode(next));
            Err(see_other(&to))
        } else {
            let page = v_page_logged_out(&v.lang);
            Err(
                Failure::new(&page, StatusCode::FORBIDDEN, page.t("error-logged-out"))
                    .into_response(),
            )
        }
    }
}

fn v_page_logged_out(lang: &Lang) -> Page {
    Page {
        lang: lang.clone(),
        user: None,
        role: None,
        csrf: String::new(),
        section: "",
        title: lang.t("error-forbidden-title"),
    }
}

/// A form sent by a logged-in staff member, from this site, carrying the
/// session's token in its `csrf` field. Anything else is refused (403)
/// before the handler runs.
pub struct Posted<T> {
    pub staff: Staff,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let page = staff.page("", String::new());
        let refuse = |key: &str| {
            tracing::info!(user = %staff.user.name, path = %parts.uri.path(), reason = key, "refused a form");
            Failure::new(&page, StatusCode::FORBIDDEN, page.t(key)).into_response()
        };
        if !same_origin(&parts) {
            return Err(refuse("error-cross-site"));
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                Failure::new(
                    &page,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    page.t("error-too-large"),
                )
                .into_response()
            })?;
        if !form_token_matches(&bytes, &staff.session.csrf) {
            return Err(refuse("error-csrf"));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            Failure::new(&page, StatusCode::BAD_REQUEST, e.to_string()).into_response()
        })?;
        Ok(Posted { staff, form })
    }
}

/// Whether the urlencoded form `body` has a `csrf` field equal to `want`.
pub fn form_token_matches(body: &Bytes, want: &str) -> bool {
    !want.is_empty()
        && form_urlencoded::parse(body)
            .find(|(k, _)| k == "csrf")
            .is_some_and(|(_, v)| same_secret(&v, want))
}
