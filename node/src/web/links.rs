//! Where links to the web app point (one-time links the CLI prints, the
//! address `r2com run` logs): `[web] public_url` when set, else the web
//! app's address.

use std::net::SocketAddr;
use std::path::Path;

use crate::config::{Config, FeedListen, DEFAULT_WEB_LISTEN};
use crate::data_dir::WEB_ADDR_FILE;

/// The base of links for staff when the node is bound to `addr`: the
/// public URL if configured, else `http://ADDR` (loopback for a wildcard
/// address).
pub fn base_url(public_url: Option<&str>, addr: SocketAddr) -> String {
    if let Some(u) = public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// The running web app's base URL, from its address file; `None` when the
/// node or its web app is not running.
pub fn running_base_url(data_dir: &Path, public_url: Option<&str>) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(WEB_ADDR_FILE)).ok()?;
    let addr: SocketAddr = text.trim().parse().ok()?;
    Some(base_url(public_url, addr))
}

/// Where links printed for staff point: `[web] public_url`, else the
/// running web app's address, else where it is configured to listen.
pub fn link_base(data_dir: &Path) -> String {
    let config = Config::load(data_dir).unwrap_or_default();
    let public = config.web_public_url(data_dir).ok().flatten();
    let public = public
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned());
    if let Some(u) = running_base_url(data_dir, public.as_deref()) {
        return u;
    }
    match config.web_listen(data_dir, None) {
        Ok(FeedListen::Explicit(a) | FeedListen::Default(a)) => base_url(public.as_deref(), a),
        _ => public.unwrap_or_else(|| format!("http://{}", DEFAULT_WEB_LISTEN)),
    }
}
