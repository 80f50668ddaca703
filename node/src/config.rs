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
//! [metrics]
//! # Where /metrics (Prometheus/OpenMetrics) listens; off unless set. A
//! # non-loopback address also needs allow_remote = true.
//! listen = "127.0.0.1:9464"
//! allow_remote = false
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::data_dir::CONFIG_FILE;
/// Where the feed listens unless configured: loopback only.
pub const DEFAULT_FEED_LISTEN: &str = "127.0.0.1:8733";
/// Where the web app listens unless configured: loopback only.
pub const DEFAULT_WEB_LISTEN: &str = "127.0.0.1:8734";
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
    /// The Prometheus/OpenMetrics listener.
    #[serde(default)]
    pub metrics: MetricsSection,
}

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

/// `[attachments]`: files attached to records.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsSection {
    /// Largest file accepted, in MB (10^6 bytes); default 100.
    pub max_size_mb: Option<u64>,
    /// Which files to fetch without being asked.
    #[serde(default)]
    pub prefetch: crate::files::Prefetch,
}

impl AttachmentsSection {
    /// The largest file accepted, in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size_mb
            .map(|mb| mb.saturating_mul(1000 * 1000))
            .unwrap_or(crate::files::DEFAULT_MAX_SIZE)
    }
}

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

/// Where the node listens for peers unless configured: a fixed TCP and QUIC
/// port on all interfaces.
pub const DEFAULT_NET_LISTEN: [&str; 2] =
    ["/ip4/0.0.0.0/tcp/7820", "/ip4/0.0.0.0/udp/7820/quic-v1"];

/// `[net]`: peer-to-peer networking.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSection {
    /// Multiaddrs to listen on (default [`DEFAULT_NET_LISTEN`]).
    pub listen: Option<Vec<String>>,
    /// Discover members on the local network with mDNS (default true).
    pub mdns: Option<bool>,
    /// Multiaddrs to tell the members instead of the addresses found (the
    /// listen addresses and the external ones AutoNAT confirmed), e.g. a
    /// host name behind port forwarding; `[]` tells them none.
    pub announce: Option<Vec<String>>,
    /// Relay for the other members: `auto` (default: once this node is
    /// confirmed publicly reachable), `on`, `off`.
    pub relay: Option<String>,
    /// Reserve a slot on a member relay while this node is not publicly
    /// reachable (default true).
    pub use_relays: Option<bool>,
    /// Map the listen ports on the router by UPnP (default false).
    pub upnp: Option<bool>,
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

    /// The listen addresses: `run --listen` options win over `config.toml`.
    pub fn net_listen(
        &self,
        data_dir: &Path,
        cli: &[String],
    ) -> Result<Vec<libp2p::Multiaddr>, ConfigError> {
        let list: Vec<String> = if !cli.is_empty() {
            cli.to_vec()
        } else if let Some(l) = &self.net.listen {
            l.clone()
        } else {
            DEFAULT_NET_LISTEN.iter().map(|s| s.to_string()).collect()
        };
        list.iter()
            .map(|a| {
                a.parse().map_err(|e| ConfigError::Value {
                    path: data_dir.join(CONFIG_FILE),
                    setting: "net.listen",
                    reason: format!("{a:?} is not a multiaddr: {e}"),
                })
            })
            .collect()
    }
}

impl Config {
    /// `[net] announce`, parsed.
    pub fn net_announce(
        &self,
        data_dir: &Path,
    ) -> Result<Option<Vec<libp2p::Multiaddr>>, ConfigError> {
        let Some(list) = &self.net.announce else {
            return Ok(None);
        };
        list.iter()
            .map(|a| {
                a.parse().map_err(|e| ConfigError::Value {
                    path: data_dir.join(CONFIG_FILE),
                    setting: "net.announce",
                    reason: format!("{a:?} is not a multiaddr: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `[net] relay`, parsed.
    pub fn net_relay(
        &self,
        data_dir: &Path,
    ) -> Result<crate::net::relay_mode::RelayMode, ConfigError> {
        match &self.net.relay {
            None => Ok(Default::default()),
            Some(s) => s.parse().map_err(|reason| ConfigError::Value {
                path: data_dir.join(CONFIG_FILE),
                setting: "net.relay",
                reason,
            }),
        }
    }
}

/// `[feed]`: the read-only `/calendar.ics` HTTP feed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Socket address to listen on, or `off`. Default
    /// [`DEFAULT_FEED_LISTEN`].
    pub listen: Option<String>,
}

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

fn listen_setting(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_feed_address() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert!(matches!(
            c.feed_listen(dir.path(), None).unwrap(),
            FeedListen::Default(_)
        ));
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[feed]\nlisten = \"127.0.0.1:9999\"\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(
            c.feed_listen(dir.path(), None).unwrap(),
            FeedListen::Explicit("127.0.0.1:9999".parse().unwrap())
        );
        assert_eq!(
            c.feed_listen(dir.path(), Some("off")).unwrap(),
            FeedListen::Off
        );
        assert!(c.feed_listen(dir.path(), Some("nowhere")).is_err());
        std::fs::write(dir.path().join(CONFIG_FILE), "[feed]\nport = 1\n").unwrap();
        assert!(Config::load(dir.path()).is_err());
    }

    #[test]
    fn reads_the_sync_interval() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.sync_interval(dir.path()).unwrap(), DEFAULT_SYNC_INTERVAL);
        std::fs::write(dir.path().join(CONFIG_FILE), "[sync]\ninterval_secs = 5\n").unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.sync_interval(dir.path()).unwrap(), Duration::from_secs(5));
        std::fs::write(dir.path().join(CONFIG_FILE), "[sync]\ninterval_secs = 0\n").unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert!(c.sync_interval(dir.path()).is_err());
    }

    #[test]
    fn reads_the_web_settings() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(
            c.web_listen(dir.path(), None).unwrap(),
            FeedListen::Default(DEFAULT_WEB_LISTEN.parse().unwrap())
        );
        assert_eq!(
            c.web_listen(dir.path(), Some("OFF")).unwrap(),
            FeedListen::Off
        );
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[web]\nlisten = \"0.0.0.0:80\"\npublic_url = \"https://r2com.example.org/\"\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(
            c.web_listen(dir.path(), None).unwrap(),
            FeedListen::Explicit("0.0.0.0:80".parse().unwrap())
        );
        let u = c.web_public_url(dir.path()).unwrap().unwrap();
        assert_eq!(u.host_str(), Some("r2com.example.org"));
        for bad in ["ftp://x", "https://x.org/app", "not a url"] {
            let c = Config {
                web: WebSection {
                    public_url: Some(bad.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            assert!(c.web_public_url(dir.path()).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_metrics_address() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.metrics_listen(dir.path(), None).unwrap(), None);
        let local: SocketAddr = "127.0.0.1:9464".parse().unwrap();
        assert_eq!(
            c.metrics_listen(dir.path(), Some("127.0.0.1:9464"))
                .unwrap(),
            Some(local)
        );
        assert_eq!(c.metrics_listen(dir.path(), Some("off")).unwrap(), None);
        assert!(c.metrics_listen(dir.path(), Some("9464")).is_err());
        let e = c
            .metrics_listen(dir.path(), Some("0.0.0.0:9464"))
            .unwrap_err();
        assert!(e.to_string().contains("allow_remote"), "{e}");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[metrics]\nlisten = \"0.0.0.0:9464\"\nallow_remote = true\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(
            c.metrics_listen(dir.path(), None).unwrap(),
            Some("0.0.0.0:9464".parse().unwrap())
        );
    }
}
