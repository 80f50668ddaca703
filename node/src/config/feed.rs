//! `[feed]`: the anonymous read-only `/calendar.ics` feed.

use std::path::Path;

use serde::Deserialize;

use super::http_listen::{listen_setting, FeedListen};
use super::{Config, ConfigError};

/// Where the feed listens unless configured: loopback only.
pub const DEFAULT_FEED_LISTEN: &str = "127.0.0.1:8733";

/// `[feed]`: the read-only `/calendar.ics` HTTP feed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Socket address to listen on, or `off`. Default
    /// [`DEFAULT_FEED_LISTEN`].
    pub listen: Option<String>,
}

impl Config {
    /// The feed address: `flag` (from `run --feed-listen`) first, then the
    /// file, then the default.
    pub fn feed_listen(
        &self,
        data_dir: &Path,
        flag: Option<&str>,
    ) -> Result<FeedListen, ConfigError> {
        listen_setting(
            data_dir,
            "feed.listen",
            flag.or(self.feed.listen.as_deref()),
            DEFAULT_FEED_LISTEN,
        )
    }
}
