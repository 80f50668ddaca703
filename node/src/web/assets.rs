//! The stylesheet, the small enhancement script and the icon, compiled into
//! the binary and served by the node itself (no CDN, no external fonts).
//! Their URLs carry a digest of their content, so browsers may keep them
//! for a year and still get a new version at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../web/static/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/static/app.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../web/static/icon.svg"),
    },
];

fn versioned(name: &str) -> String {
    let a = ASSETS.iter().find(|a| a.name == name).expect("asset");
    let digest = Sha256::digest(a.bytes);
    format!("/static/{}/{}", hex::encode(&digest[..6]), a.name)
}

pub static STYLE_URL: LazyLock<String> = LazyLock::new(|| versioned("style.css"));
pub static SCRIPT_URL: LazyLock<String> = LazyLock::new(|| versioned("app.js"));
pub static ICON_URL: LazyLock<String> = LazyLock::new(|| versioned("icon.svg"));

/// `GET /static/{version}/{name}`.
pub async fn serve(Path((_version, name)): Path<(String, String)>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// `GET /favicon.ico`: browsers ask for it whatever the page says.
pub async fn favicon() -> Response {
    let a = &ASSETS[2];
    (
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        a.bytes,
    )
        .into_response()
}
