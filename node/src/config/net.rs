//! `[net]`: peer-to-peer networking: listen and announced addresses, mDNS,
//! relaying, UPnP.

use std::path::Path;

use serde::Deserialize;

use super::{Config, ConfigError};
use crate::data_dir::CONFIG_FILE;

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
