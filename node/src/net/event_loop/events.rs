//! What the swarm reports: connections and listeners, identify, mDNS, the
//! relay (server and client), hole punching, AutoNAT and UPnP, and the two
//! request-response protocols.

use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{autonat, dcutr, identify, mdns, upnp, Multiaddr, PeerId};
use tracing::{debug, info, warn};

use r2com_protocol::sync::Input;

use super::{Conn, Loop};
use crate::net::behaviour::{BehaviourEvent, IDENTIFY_PROTOCOL};
use crate::net::reach::is_unspecified;
use crate::net::relay::{is_relayed, relay_of};

/// Addresses kept per peer for display.
const MAX_SEEN: usize = 16;
/// Peers whose addresses are kept for display.
const MAX_SEEN_PEERS: usize = 1024;
/// Peers found by mDNS that are kept.
const MAX_DISCOVERED: usize = 256;

impl Loop {
    pub(in crate::net) async fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        self.record(&event);
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                if !self.listen.contains(&address) {
                    self.listen.push(address);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen.retain(|a| a != &address);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                self.listen.retain(|a| !addresses.contains(a));
                let reason = match reason {
                    Ok(()) => "closed".to_owned(),
                    Err(e) => e.to_string(),
                };
                self.reservation_closed(listener_id, &reason);
            }
            SwarmEvent::ListenerError { error, .. } => warn!(%error, "listener error"),
            SwarmEvent::ExternalAddrConfirmed { address } => {
                if !is_relayed(&address) {
                    info!(%address, "external address confirmed");
                }
                self.reach.confirm(address);
                self.apply_relay_mode();
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                self.reach.expire(&address);
                self.apply_relay_mode();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                if endpoint.is_dialer() {
                    self.dial_succeeded(connection_id, peer_id);
                }
                let relayed = endpoint.is_relayed();
                // A relayed connection we accepted has no remote address
                // but the peer: name it by our circuit address.
                let addr = match &endpoint {
                    ConnectedPoint::Listener { local_addr, .. } if relayed => {
                        local_addr.clone().with(Protocol::P2p(peer_id))
                    }
                    other => other.get_remote_address().clone(),
                };
                let how = match relay_of(&addr) {
                    Some(relay) if relayed => format!("relayed via {relay}"),
                    _ => "direct".to_owned(),
                };
                info!(peer = %peer_id, %addr, how, "connected");
                self.conns.entry(peer_id).or_default().insert(
                    connection_id,
                    Conn {
                        addr: addr.clone(),
                        dialer: endpoint.is_dialer(),
                        relayed,
                    },
                );
                if !relayed {
                    self.remember(peer_id, addr);
                    self.close_relayed(peer_id);
                }
                if num_established.get() == 1 {
                    self.drive(Input::Connected {
                        peer: peer_id,
                        dialer: endpoint.is_dialer(),
                    })
                    .await;
                    if self.members.contains(&peer_id) && self.swarm.is_connected(&peer_id) {
                        self.send_book(peer_id);
                    }
                } else {
                    self.member_changed(peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if let Some(c) = self.conns.get_mut(&peer_id) {
                    c.remove(&connection_id);
                    if c.is_empty() {
                        self.conns.remove(&peer_id);
                    }
                }
                if num_established == 0 {
                    debug!(peer = %peer_id, "disconnected");
                    self.relays.available.remove(&peer_id);
                    self.drive(Input::Disconnected { peer: peer_id }).await;
                } else {
                    self.member_changed(peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => self.dial_failed(connection_id, &error),
            SwarmEvent::IncomingConnectionError { error, .. } => {
                debug!(%error, "incoming connection failed")
            }
            SwarmEvent::Behaviour(ev) => self.on_behaviour(ev).await,
            _ => {}
        }
    }

    async fn on_behaviour(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Mdns(mdns::Event::Discovered(list)) => {
                for (peer, addr) in list {
                    // Kept for when the peer is (or becomes) a member; only
                    // then dialed: a stranger's address never is.
                    if self.discovered.len() < MAX_DISCOVERED || self.discovered.contains_key(&peer)
                    {
                        let addrs = self.discovered.entry(peer).or_default();
                        if addrs.len() < MAX_SEEN {
                            addrs.insert(addr.clone());
                        }
                    }
                    if self.members.contains(&peer) && !self.swarm.is_connected(&peer) {
                        info!(%peer, %addr, "mDNS found a member");
                        self.dial_discovered(peer, addr);
                    }
                }
                if !self.inviters.is_empty() {
                    self.dial_discovered_inviters();
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Expired(list)) => {
                for (peer, addr) in list {
                    if let Some(addrs) = self.discovered.get_mut(&peer) {
                        addrs.remove(&addr);
                        if addrs.is_empty() {
                            self.discovered.remove(&peer);
                        }
                    }
                }
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                self.identified(peer_id, info)
            }
            BehaviourEvent::Sync(ev) => self.on_sync(ev).await,
            BehaviourEvent::Addrs(ev) => self.on_addrs(ev).await,
            BehaviourEvent::Files(ev) => self.on_files(ev),
            BehaviourEvent::RelayClient(ev) => self.on_relay_client(ev),
            BehaviourEvent::Relay(ev) => self.on_relay_server(ev),
            BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            }) => match result {
                Ok(_) => info!(peer = %remote_peer_id, "hole punched: direct connection"),
                Err(e) => debug!(peer = %remote_peer_id, error = %e, "hole punching failed"),
            },
            BehaviourEvent::Autonat(autonat::v2::client::Event {
                tested_addr,
                server,
                result,
                ..
            }) => {
                let result = result.map_err(|e| e.to_string());
                match &result {
                    Ok(()) => info!(addr = %tested_addr, %server, "AutoNAT: reachable"),
                    Err(e) => {
                        info!(addr = %tested_addr, %server, error = %e, "AutoNAT: not reachable")
                    }
                }
                self.reach.tested(tested_addr, result);
            }
            BehaviourEvent::Upnp(ev) => {
                let note = match ev {
                    upnp::Event::NewExternalAddr { external_addr, .. } => {
                        info!(addr = %external_addr, "UPnP: port mapped");
                        format!("mapped {external_addr}")
                    }
                    upnp::Event::ExpiredExternalAddr { external_addr, .. } => {
                        warn!(addr = %external_addr, "UPnP: mapping expired");
                        format!("mapping of {external_addr} expired")
                    }
                    upnp::Event::GatewayNotFound => {
                        info!("UPnP: no gateway found");
                        "no gateway found".to_owned()
                    }
                    upnp::Event::NonRoutableGateway => {
                        info!("UPnP: the gateway has no public address");
                        "the gateway has no public address".to_owned()
                    }
                };
                self.reach.upnp = Some(note);
            }
            BehaviourEvent::Gate(never) => match never {},
            BehaviourEvent::AutonatServer(_)
            | BehaviourEvent::Ping(_)
            | BehaviourEvent::Limits(_)
            | BehaviourEvent::Identify(_) => {}
        }
    }

    /// Keep an address for display.
    fn remember(&mut self, peer: PeerId, addr: Multiaddr) {
        if self.seen.len() >= MAX_SEEN_PEERS && !self.seen.contains_key(&peer) {
            return;
        }
        let seen = self.seen.entry(peer).or_default();
        if seen.len() < MAX_SEEN {
            seen.insert(addr);
        }
    }

    /// A peer told who it is. From members only: where it listens (shown),
    /// and whether it relays (then it may carry our reservation).
    fn identified(&mut self, peer: PeerId, info: identify::Info) {
        if !self.members.contains(&peer) || info.protocol_version != IDENTIFY_PROTOCOL {
            return;
        }
        let listen: Vec<Multiaddr> = info.listen_addrs.into_iter().take(MAX_SEEN).collect();
        for a in &listen {
            if !is_unspecified(a) {
                self.remember(peer, a.clone());
            }
        }
        let relays = info
            .protocols
            .iter()
            .any(|p| p.as_ref() == libp2p::relay::HOP_PROTOCOL_NAME.as_ref());
        if !relays {
            self.relays.available.remove(&peer);
            return;
        }
        // The relay's address: the one we dialed it at, else one from its
        // signed record, else one it listens on.
        let dialed = self
            .conns
            .get(&peer)
            .into_iter()
            .flat_map(|c| c.values())
            .find(|c| c.dialer && !c.relayed)
            .map(|c| c.addr.clone());
        let direct = |a: &&Multiaddr| !is_relayed(a) && !is_unspecified(a);
        let recorded = self.book.addrs(&peer).iter().find(direct).cloned();
        let listening = listen.iter().find(direct).cloned();
        if let Some(mut addr) = dialed.or(recorded).or(listening) {
            if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
                addr.pop();
            }
            self.relays.available.insert(peer, addr);
        }
    }

    /// Close relayed connections to `peer` (a direct one is up).
    fn close_relayed(&mut self, peer: PeerId) {
        let relayed: Vec<_> = self
            .conns
            .get(&peer)
            .into_iter()
            .flat_map(|c| c.iter())
            .filter(|(_, c)| c.relayed)
            .map(|(id, _)| *id)
            .collect();
        for id in relayed {
            debug!(%peer, "direct connection up: closing the relayed one");
            self.swarm.close_connection(id);
        }
    }
}
