//! Answering the control API's commands: peers, sync rounds on demand,
//! adding a peer address, a join on the running node, network status.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use r2com_protocol::control::{
    AddressRow, Connection, DialFailure, NetworkStatus, PeerRow, Peers, RelayReservation,
    RelayStatus, SyncOutcome, SyncResult,
};
use r2com_protocol::sync::{Event, Input, PeerState, SyncMachine};

use super::{JoinWaiter, Loop};
use crate::identity::peer_id_of;
use crate::net::dial::peer_in;
use crate::net::handle::{Command, JoinOutcome, NetStatus};
use crate::net::relay::relay_of;

/// How long `r2com join` on a running node waits for its admission.
const JOIN_WAIT: Duration = Duration::from_secs(20);

impl Loop {
    pub(in crate::net) async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Peers { reply } => {
                let _ = reply.send(self.peers().await);
            }
            Command::Sync {
                peer,
                progress,
                reply,
            } => {
                let targets: Vec<PeerId> = match &peer {
                    Some(s) => match s.parse::<PeerId>().ok().or_else(|| peer_id_of(s)) {
                        Some(p) => vec![p],
                        None => {
                            let _ = reply.send(Err(format!("{s:?} is not a PeerId or node key")));
                            return;
                        }
                    },
                    None => {
                        let m = self.machine.lock().unwrap_or_else(|e| e.into_inner());
                        m.connected().copied().collect()
                    }
                };
                let mut waits = Vec::new();
                for t in targets {
                    for answer in self.drive(Input::Sync { peer: t }).await {
                        match answer {
                            Event::RoundQueued { peer, round } => {
                                let (tx, rx) = oneshot::channel();
                                self.waiters.entry((peer, round)).or_default().push(tx);
                                waits.push((peer, rx));
                            }
                            Event::NotSyncable { peer, .. } => {
                                let _ = reply
                                    .send(Err(format!("peer {peer} is not a connected member")));
                                return;
                            }
                            _ => {}
                        }
                    }
                }
                let reporter = progress.map(|tx| {
                    let peers = waits.iter().map(|(p, _)| *p).collect();
                    tokio::spawn(report_progress(self.machine.clone(), peers, tx))
                });
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for (t, rx) in waits {
                        let r = rx.await.unwrap_or(Err("network stopped".into()));
                        out.push(SyncResult {
                            peer: t.to_base58(),
                            result: match r {
                                Ok(o) => SyncOutcome::Done(o.into()),
                                Err(error) => SyncOutcome::Failed { error },
                            },
                        });
                    }
                    if let Some(r) = reporter {
                        r.abort();
                    }
                    let _ = reply.send(Ok(out));
                });
            }
            Command::AddPeer { addr, reply } => {
                let a = addr.to_string();
                let stored = self.library.with(move |l| l.add_peer_addr(&a)).await;
                if let Ok(Err(e)) = stored {
                    let _ = reply.send(Err(e.to_string()));
                    return;
                }
                self.dials.add(addr.clone());
                self.dial_configured(addr);
                let _ = reply.send(Ok(()));
            }
            Command::Joined { addrs, reply } => {
                self.refresh_members().await;
                for a in &addrs {
                    self.dials.add(a.clone());
                    self.dial_configured(a.clone());
                }
                if addrs.is_empty() && self.conns.is_empty() {
                    // Nothing to wait for: a member must dial us, or mDNS
                    // find one.
                    let _ = reply.send(self.join_outcome(None, &addrs));
                    return;
                }
                self.joins.push(JoinWaiter {
                    until: Instant::now() + JOIN_WAIT,
                    addrs,
                    reply,
                });
            }
            Command::Status { reply } => {
                let _ = reply.send(self.net_status());
            }
            Command::FileSources { reply } => {
                let _ = reply.send(self.file_sources().await);
            }
            Command::FileAsk {
                peer,
                request,
                reply,
            } => self.file_ask(peer, request, reply),
            Command::Punish { peer, reason } => self.punish(peer, reason),
        }
    }

    /// What the network adds to `status`.
    fn net_status(&self) -> NetStatus {
        let strings = |a: &[Multiaddr]| a.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        NetStatus {
            listen: strings(&self.listen),
            status: NetworkStatus {
                reachability: self.reach.verdict(),
                external_addrs: self.reach.confirmed.iter().map(|a| a.to_string()).collect(),
                tested: self.reach.tests(),
                upnp: self.reach.upnp.clone(),
                relay: RelayStatus {
                    serving: self.serving_relay,
                    mode: self.relay_mode.to_string(),
                    reservations: self
                        .relays
                        .reservations
                        .iter()
                        .map(|(relay, r)| RelayReservation {
                            relay: relay.to_base58(),
                            addr: r.addr.to_string(),
                            accepted: r.accepted,
                        })
                        .collect(),
                },
                addresses_given: self
                    .book
                    .own()
                    .map(|r| strings(r.addresses()))
                    .unwrap_or_default(),
            },
        }
    }

    /// What `join` answers: admitted (by whom), and the dial errors so far.
    fn join_outcome(&self, by: Option<PeerId>, addrs: &[Multiaddr]) -> JoinOutcome {
        let dial_errors = addrs
            .iter()
            .filter_map(|a| {
                let d = self.dials.configured.get(a)?;
                d.last_error.as_ref().map(|e| DialFailure {
                    addr: a.to_string(),
                    error: e.clone(),
                })
            })
            .collect();
        JoinOutcome {
            admitted_by: by.map(|p| p.to_base58()),
            dial_errors,
        }
    }

    /// A member admitted us: answer the operators waiting in `join`.
    pub(in crate::net) fn admitted(&mut self, by: PeerId) {
        // It takes our addresses now (it ignored them while we were not a
        // member).
        self.send_book(by);
        for w in std::mem::take(&mut self.joins) {
            let v = self.join_outcome(Some(by), &w.addrs);
            let _ = w.reply.send(v);
        }
    }

    /// Answer the `join`s that waited long enough.
    pub(in crate::net) fn expire_joins(&mut self) {
        let now = Instant::now();
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.joins)
            .into_iter()
            .partition(|w| w.until <= now);
        self.joins = keep;
        for w in due {
            let v = self.join_outcome(None, &w.addrs);
            let _ = w.reply.send(v);
        }
    }

    async fn peers(&mut self) -> Peers {
        let roster = self
            .library
            .with(|l| (l.roster(), l.key().public().to_hex()))
            .await
            .ok();
        let states: HashMap<PeerId, PeerState> = {
            let m = self.machine.lock().unwrap_or_else(|e| e.into_inner());
            m.states().map(|(p, s)| (*p, s.clone())).collect()
        };
        let mut members = Vec::new();
        let mut known = BTreeSet::new();
        if let Some((Some(roster), me)) = &roster {
            for org in &roster.orgs {
                for k in &org.keys {
                    let Some(pid) = peer_id_of(&k.key) else {
                        continue;
                    };
                    known.insert(pid);
                    if &k.key == me {
                        continue;
                    }
                    let st = states.get(&pid).cloned().unwrap_or_default();
                    let addrs: BTreeSet<String> = self
                        .seen
                        .get(&pid)
                        .into_iter()
                        .flatten()
                        .chain(self.book.addrs(&pid))
                        .map(|a| a.to_string())
                        .collect();
                    let (connection, via) = self.connection_kind(&pid);
                    members.push(PeerRow {
                        org: org.info.key.clone(),
                        key: k.key.clone(),
                        peer_id: pid.to_base58(),
                        revoked: org.revoked.is_some() || k.revoked.is_some(),
                        connected: self.swarm.is_connected(&pid),
                        connection,
                        via,
                        addrs: addrs.into_iter().collect(),
                        dial_error: self.dial_error(&pid),
                        last_sync: st.last_sync,
                        we_lack: st.we_lack,
                        they_lack: st.they_lack,
                        bytes_sent: st.bytes_sent,
                        bytes_received: st.bytes_received,
                    });
                }
            }
        }
        // Configured addresses that reached no member (yet): a typo, a
        // host that does not resolve, a partner not up.
        let addresses = self
            .dials
            .configured
            .iter()
            .filter_map(|(addr, d)| {
                let peer = peer_in(addr).or(d.peer);
                if peer.is_some_and(|p| known.contains(&p)) {
                    return None;
                }
                Some(AddressRow {
                    addr: addr.to_string(),
                    peer_id: peer.map(|p| p.to_base58()),
                    connected: peer.is_some_and(|p| self.swarm.is_connected(&p)),
                    dial_error: d.last_error.clone(),
                })
            })
            .collect();
        Peers { members, addresses }
    }

    /// How `peer` is connected, and through which relay; `(None, None)`
    /// when it is not.
    fn connection_kind(&self, peer: &PeerId) -> (Option<Connection>, Option<String>) {
        let Some(conns) = self.conns.get(peer) else {
            return (None, None);
        };
        if conns.values().any(|c| !c.relayed) {
            return (Some(Connection::Direct), None);
        }
        let via = conns.values().find_map(|c| relay_of(&c.addr));
        (Some(Connection::Relayed), via.map(|p| p.to_base58()))
    }
}

/// How often a waiting `sync` hears how far its rounds are.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Tell `tx` the changes fetched of those known missing, summed over the
/// rounds with `peers` (a finished round keeps its last figures), until
/// aborted.
async fn report_progress(
    machine: Arc<Mutex<SyncMachine<PeerId>>>,
    peers: Vec<PeerId>,
    tx: mpsc::Sender<(u64, u64)>,
) {
    let mut seen: HashMap<PeerId, (u64, u64)> = HashMap::new();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    loop {
        tick.tick().await;
        {
            let m = machine.lock().unwrap_or_else(|e| e.into_inner());
            for p in &peers {
                if let Some(now) = m.round_progress(p) {
                    seen.insert(*p, now);
                }
            }
        }
        let (done, total) = seen
            .values()
            .fold((0, 0), |(d, t), (pd, pt)| (d + pd, t + pt));
        if total > 0 {
            // A hint: dropped when the client reads slowly.
            let _ = tx.try_send((done, total));
        }
    }
}
