//! `config.toml` in the data directory. Every setting is optional:
//!
//! ```toml
//! [web]
//! # Where the web app (and the per-user calendar feeds) listen ("off" to disable).
//! listen = "127.0.0.1:8734"
//! # The address staff reach it at through the organisation's own TLS
//! # reverse proxy: links printed by the CLI use it, and its host name is
//! # accepted in the Host header.
//! public_url = "https://r2com.example.org"
//! # Further host names accepted in the Host header.
//! hosts = ["r2com.lan"]
//!
//! [feed]
//! # Where the anonymous read-only iCalendar feed listens ("off" to disable).
//! listen = "127.0.0.1:8733"
//!
//! [sync]
//! # Check each connected member after this many idle seconds (a summary
//! # round; default 60).
//! interval_secs = 60
//!
//! [attachments]
//! # Largest file `attach` accepts, in MB (default 100).
//! max_size_mb = 100
//! # Files fetched without being asked: "none" (default), "all" (a backup
//! # node), or "organisation" (those of this node's organisation's records).
//! prefetch = "none"
//!
//! [net]
//! listen = ["/ip4/0.0.0.0/tcp/7820", "/ip4/0.0.0.0/udp/7820/quic-v1"]
//! mdns = true
//! # What members are told to dial (default: what was found).
//! announce = ["/dns4/partner.example.org/tcp/7820"]
//! relay = "auto"       # relay for members: auto, on, off
//! use_relays = true    # reserve on a member relay while behind NAT
//! upnp = false         # map the ports on the router
//!
//! [store]
//! # Compact the store (in the background) once it is past this size in
//! # MB and past twice its size after its last compaction (default 16 MiB).
//! compact_above_mb = 17
//!
//! [metrics]
//! # Where /metrics (Prometheus/OpenMetrics) listens; off unless set. A
//! # non-loopback address also needs allow_remote = true.
//! listen = "127.0.0.1:9464"
//! allow_remote = false
//! ```
//!
//! One file per section (`net.rs`, `web.rs`, `feed.rs`, `sync.rs`,
//! `attachments.rs`, `store.rs`, `metrics.rs`): its struct, its defaults, and the
//! `Config` methods that check its values. `http_listen.rs` is how the feed
//! and the web app read a listen address.

mod attachments;
mod feed;
mod http_listen;
mod metrics;
mod net;
mod store;
mod sync;
mod web;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use attachments::AttachmentsSection;
pub use feed::{FeedConfig, DEFAULT_FEED_LISTEN};
pub use http_listen::FeedListen;
pub use metrics::MetricsSection;
pub use net::{NetSection, DEFAULT_NET_LISTEN};
pub use store::StoreSection;
pub use sync::{SyncSection, DEFAULT_SYNC_INTERVAL};
pub use web::{WebSection, DEFAULT_WEB_LISTEN};

use crate::data_dir::CONFIG_FILE;

/// Largest configuration file read.
const MAX_CONFIG_LEN: u64 = 64 * 1024;

/// Why the configuration could not be read. The node does not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("reading {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML or has unknown settings.
    #[error("{0}: {1}")]
    Parse(PathBuf, String),
    /// A setting has a bad value.
    #[error("{path}: {setting}: {reason}")]
    Value {
        path: PathBuf,
        setting: &'static str,
        reason: String,
    },
}

/// The node's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The calendar feed.
    #[serde(default)]
    pub feed: FeedConfig,
    /// Peer-to-peer networking.
    #[serde(default)]
    pub net: NetSection,
    /// The web app.
    #[serde(default)]
    pub web: WebSection,
    /// Sync with the members.
    #[serde(default)]
    pub sync: SyncSection,
    /// Files attached to records.
    #[serde(default)]
    pub attachments: AttachmentsSection,
    /// The store on disk.
    #[serde(default)]
    pub store: StoreSection,
    /// The Prometheus/OpenMetrics listener.
    #[serde(default)]
    pub metrics: MetricsSection,
}

impl Config {
    /// Read `config.toml` from `data_dir`; a missing file is the default.
    pub fn load(data_dir: &Path) -> Result<Config, ConfigError> {
        use std::io::Read;
        let path = data_dir.join(CONFIG_FILE);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(ConfigError::Read(path, e)),
        };
        let mut text = String::new();
        file.take(MAX_CONFIG_LEN)
            .read_to_string(&mut text)
            .map_err(|e| ConfigError::Read(path.clone(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse(path, e.to_string()))
    }
}

#[cfg(test)]
mod tests;
