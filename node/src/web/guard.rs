//! What every request passes through: the `Host` check (against DNS
//! rebinding), a deadline, and the security headers every answer carries
//! (a strict Content-Security-Policy: only the node's own scripts, styles
//! and images; no frames; forms post only to the node).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest a request may take before it gets a 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The Content-Security-Policy of every answer.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// Which `Host` headers a listener accepts. A page on another site that
/// points its own name at this machine (DNS rebinding) sends its own name,
/// which is refused; IP literals and `localhost` cannot be rebound.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    /// Names (lower case, without port) accepted besides IP literals and
    /// `localhost`: the host of `[web] public_url` and `[web] hosts`.
    pub names: Vec<String>,
}

impl AllowedHosts {
    pub fn new(names: impl IntoIterator<Item = String>) -> AllowedHosts {
        AllowedHosts {
            names: names.into_iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether a `Host` header value is acceptable.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        let name = if let Some(rest) = host.strip_prefix('[') {
            // [v6]:port
            match rest.split_once(']') {
                Some((v6, port)) if port.is_empty() || port.starts_with(':') => {
                    return v6.parse::<std::net::Ipv6Addr>().is_ok() && valid_port(port);
                }
                _ => return false,
            }
        } else {
            match host.rsplit_once(':') {
                Some((name, port)) if valid_port(&format!(":{port}")) => name,
                Some(_) => return false,
                None => host,
            }
        };
        if name.is_empty() {
            return false;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.parse::<std::net::Ipv4Addr>().is_ok()
            || name == "localhost"
            || self.names.contains(&name)
    }
}

fn valid_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(p) => !p.is_empty() && p.parse::<u16>().is_ok(),
    }
}

/// Refuse a request whose `Host` is not ours, time it out, and add the
/// security headers to the answer.
pub async fn guard(State(hosts): State<Arc<AllowedHosts>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let mut resp = if !hosts.allows(host) {
        tracing::info!(host, path = %req.uri().path(), "refused a request for another host");
        (
            StatusCode::MISDIRECTED_REQUEST,
            "this server does not answer for that host name\n",
        )
            .into_response()
    } else {
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "timed out\n").into_response(),
        }
    };
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Not `no-referrer`: browsers then send `Origin: null` with forms, and
    // the origin check needs the real one. Links leave no address behind.
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages hold the organisation's data: never kept by caches.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let h = AllowedHosts::new(["r2com.example.org".to_owned()]);
        for ok in [
            "127.0.0.1:8734",
            "localhost:8734",
            "LOCALHOST",
            "[::1]:8734",
            "192.168.1.20",
            "r2com.example.org",
            "R2COM.example.org.:443",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example.com:8734",
            "127.0.0.1.evil.example.com",
            "localhost.evil.example.com",
            "[::1",
            "127.0.0.1:notaport",
            "r2com.example.org.evil.com",
            ":8734",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
    }
}
