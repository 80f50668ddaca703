//! `[web]`: the staff web app: where it listens, the public URL behind the
//! organisation's reverse proxy, the host names it answers to.

use std::path::Path;

use serde::Deserialize;

use super::http_listen::{listen_setting, FeedListen};
use super::{Config, ConfigError};
use crate::data_dir::CONFIG_FILE;

/// Where the web app listens unless configured: loopback only.
pub const DEFAULT_WEB_LISTEN: &str = "127.0.0.1:8734";

/// `[web]`: the web app for the organisation's staff.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Socket address to listen on, or `off`. Default [`DEFAULT_WEB_LISTEN`].
    pub listen: Option<String>,
    /// The URL staff use (behind a TLS reverse proxy), e.g.
    /// `https://r2com.example.org`.
    pub public_url: Option<String>,
    /// Host names accepted besides IP literals, `localhost` and the host of
    /// `public_url`.
    #[serde(default)]
    pub hosts: Vec<String>,
}

impl Config {
    /// The web app's address: `flag` (from `run --web-listen`) first, then
    /// the file, then the default.
    pub fn web_listen(
        &self,
        data_dir: &Path,
        flag: Option<&str>,
    ) -> Result<FeedListen, ConfigError> {
        listen_setting(
            data_dir,
            "web.listen",
            flag.or(self.web.listen.as_deref()),
            DEFAULT_WEB_LISTEN,
        )
    }

    /// `[web] public_url`, checked: an http(s) URL without path, query or
    /// fragment, given without the trailing slash.
    pub fn web_public_url(&self, data_dir: &Path) -> Result<Option<url::Url>, ConfigError> {
        let Some(text) = &self.web.public_url else {
            return Ok(None);
        };
        let bad = |reason: String| ConfigError::Value {
            path: data_dir.join(CONFIG_FILE),
            setting: "web.public_url",
            reason,
        };
        let u = url::Url::parse(text).map_err(|e| bad(format!("{text:?}: {e}")))?;
        if !matches!(u.scheme(), "http" | "https")
            || u.host_str().is_none()
            || u.path() != "/"
            || u.query().is_some()
            || u.fragment().is_some()
        {
            return Err(bad(format!(
                "{text:?} is not a URL like https://r2com.example.org"
            )));
        }
        Ok(Some(u))
    }
}
