//! What every page shares: the frame's context (language, who is logged
//! in, the form token, the current section), rendering a template into an
//! answer, and the error page.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, NaiveDate};

use r2com_protocol::control::{ApiError, ErrorCode};
use r2com_protocol::staff::StaffRole;

use super::assets;
use super::i18n::Lang;

/// The context of the page frame (`base.html`).
#[derive(Clone, Debug)]
pub struct Page {
    pub lang: Lang,
    /// The logged-in account, if any.
    pub user: Option<String>,
    pub role: Option<StaffRole>,
    /// The session's form token (empty when logged out).
    pub csrf: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    /// The page title (already translated).
    pub title: String,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn ta(&self, key: &str, args: &[(&'static str, String)]) -> String {
        self.lang.ta(key, args)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &'static str, value: &str) -> String {
        self.lang.ta(key, &[(name, value.to_owned())])
    }

    /// The message `key` with two arguments.
    pub fn t2(
        &self,
        key: &str,
        (n1, v1): (&'static str, &str),
        (n2, v2): (&'static str, &str),
    ) -> String {
        self.lang
            .ta(key, &[(n1, v1.to_owned()), (n2, v2.to_owned())])
    }

    pub fn tn(&self, key: &str, name: &'static str, n: &usize) -> String {
        self.lang.tn(key, name, *n)
    }

    pub fn may_edit(&self) -> bool {
        self.role.is_some_and(StaffRole::may_edit)
    }

    pub fn is_admin(&self) -> bool {
        self.role.is_some_and(StaffRole::is_admin)
    }

    /// `aria-current` for the navigation entry of `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }

    pub fn css(&self) -> &'static str {
        assets::STYLE_URL.as_str()
    }

    pub fn js(&self) -> &'static str {
        assets::SCRIPT_URL.as_str()
    }

    pub fn icon(&self) -> &'static str {
        assets::ICON_URL.as_str()
    }

    /// A stored RFC 3339 time in the reader's language (`10 mars 2026, 14:30`),
    /// or the text as it is when it does not parse.
    pub fn when(&self, rfc3339: &str) -> String {
        DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| self.lang.date_time(&t))
            .unwrap_or_else(|_| rfc3339.to_owned())
    }

    pub fn date(&self, d: &NaiveDate) -> String {
        self.lang.date_long(*d)
    }

    pub fn time(&self, t: &DateTime<FixedOffset>) -> String {
        self.lang.time(t)
    }
}

/// An HTML answer of a rendered template.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: &'a Page,
    status: u16,
    heading: String,
    message: &'a str,
}

/// A request that failed: shown as an error page in the reader's language.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    /// Boxed: a failure travels in every handler's `Result`.
    pub page: Box<Page>,
}

impl Failure {
    pub fn new(page: &Page, status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            page: Box::new(page.clone()),
        }
    }

    pub fn forbidden(page: &Page) -> Failure {
        Failure::new(page, StatusCode::FORBIDDEN, page.t("error-forbidden"))
    }

    pub fn not_found(page: &Page) -> Failure {
        Failure::new(page, StatusCode::NOT_FOUND, page.t("error-not-found"))
    }

    /// A library error as a page.
    pub fn api(page: &Page, e: ApiError) -> Failure {
        let status = match e.code {
            ErrorCode::Invalid | ErrorCode::Usage => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Exists => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::VerifyFailed | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "web request failed");
        }
        Failure::new(page, status, e.message)
    }

    /// A local store error as a page.
    pub fn local(page: &Page, e: super::local::LocalError) -> Failure {
        tracing::error!(error = %e, "local store failed");
        Failure::new(page, StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let heading = match self.status {
            StatusCode::FORBIDDEN => self.page.t("error-forbidden-title"),
            StatusCode::NOT_FOUND => self.page.t("error-not-found-title"),
            s if s.is_client_error() => self.page.t("error-bad-request-title"),
            _ => self.page.t("error-internal-title"),
        };
        let mut page = *self.page;
        page.title = heading.clone();
        let mut resp = render(&ErrorPage {
            page: &page,
            status: self.status.as_u16(),
            heading,
            message: &self.message,
        });
        *resp.status_mut() = self.status;
        resp
    }
}

/// What a page handler returns.
pub type Answer = Result<Response, Failure>;

/// A redirect after a successful form (303: the browser then GETs `to`).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}
