//! `[sync]`: how often a connected member is checked.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigError};
use crate::data_dir::CONFIG_FILE;

/// How long a link to a member may stay idle before a check, unless
/// configured.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(60);

/// `[sync]`: sync with the members.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Seconds a link to a connected member may stay idle before a check
    /// round (default [`DEFAULT_SYNC_INTERVAL`]; at least 1).
    pub interval_secs: Option<u64>,
}

impl Config {
    /// How long a link may stay idle before a check round.
    pub fn sync_interval(&self, data_dir: &Path) -> Result<Duration, ConfigError> {
        match self.sync.interval_secs {
            None => Ok(DEFAULT_SYNC_INTERVAL),
            Some(0) => Err(ConfigError::Value {
                path: data_dir.join(CONFIG_FILE),
                setting: "sync.interval_secs",
                reason: "must be at least 1".into(),
            }),
            Some(s) => Ok(Duration::from_secs(s)),
        }
    }
}
