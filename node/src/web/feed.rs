//! The calendar feeds, as routes of the node's HTTP server
//! ([`crate::web`]): RFC 5545 text computed on the library thread like
//! every control request.
//!
//! * `GET /calendar/<secret>.ics` on the web app's listener: a staff
//!   member's own subscribe address, for calendar programs on any machine
//!   that reaches the web app; revocable from the account page.
//! * `GET /calendar.ics` on the `[feed]` listener (`run --feed-listen`,
//!   default `127.0.0.1:8733`): the anonymous feed of earlier versions,
//!   kept for local subscribers; turn it off with `listen = "off"`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tracing::{info, warn};

use r2com_protocol::control::ListFilter;

use crate::web::AppState;

/// The anonymous feed's path.
pub const FEED_PATH: &str = "/calendar.ics";

/// The anonymous feed's listener: `/calendar.ics` and nothing else.
pub fn anonymous_routes() -> Router<AppState> {
    Router::new()
        .route(FEED_PATH, get(anonymous))
        .fallback(not_found)
}

/// The per-user feeds, on the web app's listener.
pub fn secret_routes() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(secret))
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn anonymous(State(state): State<AppState>) -> Response {
    calendar(&state, "anonymous").await
}

async fn secret(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(secret) = file.strip_suffix(".ics") else {
        return not_found().await;
    };
    match state.local.feed_owner(secret) {
        Ok(Some(user)) => calendar(&state, &user.name).await,
        Ok(None) => not_found().await,
        Err(e) => {
            warn!(error = %e, "calendar feed failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error\n").into_response()
        }
    }
}

async fn calendar(state: &AppState, who: &str) -> Response {
    match state.api.ics(ListFilter::default()).await {
        Ok(ics) => {
            info!(bytes = ics.len(), subscriber = who, "served calendar feed");
            (
                [
                    (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                ics,
            )
                .into_response()
        }
        Err(e) => {
            warn!(error = %e, "calendar feed failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error\n").into_response()
        }
    }
}
