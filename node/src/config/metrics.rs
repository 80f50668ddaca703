//! `[metrics]`: the Prometheus/OpenMetrics listener, off unless set and
//! loopback unless allowed otherwise.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use super::{Config, ConfigError};
use crate::data_dir::CONFIG_FILE;

/// `[metrics]`: the `/metrics` listener (off unless `listen` is set).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Socket address to listen on, or `off` (the default).
    pub listen: Option<String>,
    /// Serve on an address other than loopback: the series name every
    /// member and how its link stands (default false).
    #[serde(default)]
    pub allow_remote: bool,
}

impl Config {
    /// The metrics address: `flag` (from `run --metrics-listen`) first,
    /// then the file; `None` when off (the default). An address that is
    /// not loopback is refused unless `[metrics] allow_remote = true`.
    pub fn metrics_listen(
        &self,
        data_dir: &Path,
        flag: Option<&str>,
    ) -> Result<Option<SocketAddr>, ConfigError> {
        let bad = |reason: String| ConfigError::Value {
            path: data_dir.join(CONFIG_FILE),
            setting: "metrics.listen",
            reason,
        };
        let Some(text) = flag.or(self.metrics.listen.as_deref()) else {
            return Ok(None);
        };
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let addr: SocketAddr = text.parse().map_err(|_| {
            bad(format!(
                "{text:?} is not an address like 127.0.0.1:9464 (or off)"
            ))
        })?;
        if !addr.ip().is_loopback() && !self.metrics.allow_remote {
            return Err(bad(format!(
                "{addr} is not a loopback address; the metrics name every member and the state \
                 of its link: set [metrics] allow_remote = true to serve them beyond this \
                 machine (behind a firewall)"
            )));
        }
        Ok(Some(addr))
    }
}
