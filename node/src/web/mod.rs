//! The web app each node serves its organisation's staff, the way Syncthing
//! serves its GUI: server-rendered pages (askama templates in
//! `node/web/templates`), forms that work without JavaScript, every asset
//! served by the node, a strict Content-Security-Policy, session cookies
//! that are HttpOnly and SameSite=Strict, a CSRF token on every form, and
//! the `Host` header checked. Model: miniflux's `internal/ui` (one handler
//! file per page group, templates beside them) and axum's examples.
//!
//! Reads and writes go through [`api::Api`]: the control requests the CLI
//! sends, on the library thread, so the web app validates and writes
//! exactly like the CLI. Accounts, sessions and the audit table live in
//! [`local::LocalStore`], which is never replicated.
//!
//! Page groups: [`auth`] (login, one-time links; [`password`] hashes and
//! checks), [`accounts`] (own settings), [`staff_list`] (accounts, admins
//! only), [`library`] (the list of practices) and [`practices`] (one
//! practice and its forms), [`calendar`] (month and agenda) and [`events`]
//! (one event and its forms), [`consortium`] (members and sync, admins
//! only); [`record_page`] holds what practice and event pages share. The
//! calendar feeds are [`feed`].

mod accounts;
pub mod api;
mod assets;
mod auth;
mod calendar;
mod consortium;
mod event_form;
mod events;
mod facets;
pub mod feed;
mod files;
mod guard;
pub mod i18n;
mod library;
pub mod links;
pub mod local;
mod markdown;
mod page;
mod password;
mod practice_form;
mod practice_history;
mod practices;
mod ratelimit;
mod record_page;
mod server;
mod session;
pub mod staff;
mod staff_list;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::library_thread::LibraryHandle;
use crate::net::NetHandle;

pub use guard::AllowedHosts;
pub use local::LocalStore;

/// Password hashes computed at once (each takes about 20 MiB and 50 ms).
const HASHING_AT_ONCE: usize = 2;

/// Everything the handlers share.
pub struct WebState {
    pub api: api::Api,
    /// The network (sync state for admins); `None` in tests without one.
    pub net: Option<NetHandle>,
    pub local: LocalStore,
    /// Files attached to records (downloads from the practice page).
    pub files: crate::files::FileStore,
    /// Cookies get `Secure` when staff reach the node over https.
    pub secure_cookies: bool,
    /// `[web] public_url`, when set: the base of links shown to staff.
    pub public_url: Option<String>,
    /// The zone the calendar is shown in for users who chose none.
    pub default_zone: String,
    pub limiter: ratelimit::RateLimiter,
    /// Bounds concurrent password hashing.
    pub hashing: Semaphore,
    /// Checked against when a login names no account, so that a failure
    /// takes as long either way.
    pub dummy_hash: String,
    /// The library filters' choices.
    pub facets: Arc<facets::FacetCache>,
}

pub type AppState = Arc<WebState>;

/// What the web app is built from.
pub struct WebSetup {
    pub library: LibraryHandle,
    pub net: Option<NetHandle>,
    pub local: LocalStore,
    pub files: crate::files::FileStore,
    pub public_url: Option<url::Url>,
}

/// Build the shared state (hashes the dummy password once).
pub async fn state(setup: WebSetup) -> AppState {
    let secure_cookies = setup
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https");
    let mut state = WebState {
        api: api::Api::new(setup.library),
        net: setup.net,
        local: setup.local,
        files: setup.files,
        secure_cookies,
        public_url: setup
            .public_url
            .map(|u| u.as_str().trim_end_matches('/').to_owned()),
        default_zone: system_zone(),
        limiter: Default::default(),
        hashing: Semaphore::new(HASHING_AT_ONCE),
        dummy_hash: String::new(),
        facets: Default::default(),
    };
    let dummy = password::hash_password(&state.hashing, local::random_token()).await;
    state.dummy_hash = dummy.unwrap_or_default();
    Arc::new(state)
}

/// Organisation names by short key, from the roster.
#[derive(Default)]
pub struct OrgNames(std::collections::BTreeMap<String, String>);

impl OrgNames {
    /// `Name (key)`, or the key alone when the roster does not know it.
    pub fn label(&self, key: &str) -> String {
        match self.0.get(key) {
            Some(name) => format!("{name} ({key})"),
            None => key.to_owned(),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

impl WebState {
    /// Organisation names from the roster (none outside a consortium).
    pub async fn org_names(&self) -> OrgNames {
        let Ok(Some(roster)) = self.api.members().await else {
            return OrgNames::default();
        };
        OrgNames(
            roster
                .orgs
                .into_iter()
                .filter(|o| o.revoked.is_none())
                .map(|o| (o.key, o.name))
                .collect(),
        )
    }

    /// This node's organisation (its short key), if it is a member.
    pub async fn my_org(&self) -> Option<String> {
        let me = self.api.status().await.ok()?.public_key;
        let roster = self.api.members().await.ok()??;
        roster
            .orgs
            .into_iter()
            .find(|o| o.keys.iter().any(|k| k.key == me))
            .map(|o| o.key)
    }

    /// Record in the local audit table that `staff` made `changes` (logged,
    /// not fatal, when the local store fails: the change itself is stored).
    pub fn audit(
        &self,
        staff: &session::Staff,
        kind: r2com_protocol::ids::RecordKind,
        id: &str,
        action: &str,
        changes: &[String],
    ) {
        self.facets.invalidate();
        let entries = record_page::audit_entries(staff, kind, id, action, changes);
        if let Err(e) = self.local.audit(&entries) {
            tracing::error!(error = %e, user = %staff.user.name, "could not record who made a change");
        }
        tracing::info!(user = %staff.user.name, record = %format!("{kind}/{id}"), action, changes = changes.len(), "web change");
    }
}

/// A choice of a select: its value and what it shows.
#[derive(Clone, Debug)]
pub struct Opt {
    pub value: String,
    pub label: String,
}

impl Opt {
    pub fn new(value: &str, label: &str) -> Opt {
        Opt {
            value: value.to_owned(),
            label: label.to_owned(),
        }
    }

    /// A choice that shows its value.
    pub fn same(value: &str) -> Opt {
        Opt::new(value, value)
    }
}

/// The serialized name of an enum value (`peer-reviewed`).
pub fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A time (ms since the epoch) in `zone`, in the page's language.
pub fn local_time(page: &page::Page, at_ms: i64, zone: &str) -> String {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    match chrono::Utc.timestamp_millis_opt(at_ms).single() {
        Some(t) => page.lang.date_time(&t.with_timezone(&tz).fixed_offset()),
        None => String::new(),
    }
}

/// The web app's routes (pages, assets, per-user feeds).
pub fn app(state: AppState, hosts: Arc<AllowedHosts>) -> Router {
    Router::new()
        .merge(auth::routes())
        .merge(accounts::routes())
        .merge(staff_list::routes())
        .merge(library::routes())
        .merge(practices::routes())
        .merge(files::routes())
        .merge(calendar::routes())
        .merge(events::routes())
        .merge(consortium::routes())
        .merge(feed::secret_routes())
        .route("/", get(|| async { page::see_other("/practices") }))
        .route("/static/{version}/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(session::MAX_FORM_BYTES))
        .with_state(state)
        .layer(middleware::from_fn_with_state(hosts, guard::guard))
}

/// The anonymous feed's listener (`[feed] listen`).
pub fn feed_app(state: AppState, hosts: Arc<AllowedHosts>) -> Router {
    feed::anonymous_routes()
        .with_state(state)
        .layer(middleware::from_fn_with_state(hosts, guard::guard))
}

async fn not_found(v: session::Visitor) -> Response {
    page::Failure::not_found(&v.page("error-not-found-title")).into_response()
}

/// A running listener.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Serve `app` on `listener` in a task.
    pub fn spawn(listener: TcpListener, app: Router) -> std::io::Result<Running> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, app, stopped));
        Ok(Running { addr, stop, task })
    }

    /// Stop accepting and let requests in flight finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Percent-encode for a query string value.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// This machine's zone: `TZ`, `/etc/timezone`, or where `/etc/localtime`
/// points; UTC if none names a known zone.
fn system_zone() -> String {
    let known = |z: &str| {
        z.trim()
            .parse::<chrono_tz::Tz>()
            .ok()
            .map(|t| t.name().to_owned())
    };
    std::env::var("TZ")
        .ok()
        .and_then(|z| known(z.trim_start_matches(':')))
        .or_else(|| {
            std::fs::read_to_string("/etc/timezone")
                .ok()
                .and_then(|z| known(&z))
        })
        .or_else(|| {
            std::fs::read_link("/etc/localtime").ok().and_then(|p| {
                let s = p.to_string_lossy().into_owned();
                s.split_once("zoneinfo/").and_then(|(_, z)| known(z))
            })
        })
        .unwrap_or_else(|| "UTC".to_owned())
}
