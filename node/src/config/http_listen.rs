//! Where an HTTP listener (the calendar feed, the web app) listens: a flag
//! of `run`, else the file, else a loopback default.

use std::net::SocketAddr;
use std::path::Path;

use super::ConfigError;
use crate::data_dir::CONFIG_FILE;

/// Where an HTTP listener (the feed, the web app) should listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedListen {
    /// Not at all.
    Off,
    /// Listen here; failing to bind stops the node (the user asked for it).
    Explicit(SocketAddr),
    /// The default address; failing to bind only logs a warning.
    Default(SocketAddr),
}

/// The listener `setting` asks for: `text` (flag or file) when given, else
/// `default`.
pub(super) fn listen_setting(
    data_dir: &Path,
    setting: &'static str,
    text: Option<&str>,
    default: &str,
) -> Result<FeedListen, ConfigError> {
    let Some(text) = text else {
        let addr = default.parse().expect("default address");
        return Ok(FeedListen::Default(addr));
    };
    if text.eq_ignore_ascii_case("off") {
        return Ok(FeedListen::Off);
    }
    text.parse()
        .map(FeedListen::Explicit)
        .map_err(|_| ConfigError::Value {
            path: data_dir.join(CONFIG_FILE),
            setting,
            reason: format!("{text:?} is not an address like {default} (or off)"),
        })
}
