//! Answering the control API's commands: peers, sync rounds on demand,
//! adding a peer address, listen addresses.

use std::collections::HashMap;
use std::time::Instant;

use libp2p::PeerId;
use tokio::sync::oneshot;

use r2com_protocol::control::{PeerRow, SyncOutcome, SyncResult};
use r2com_protocol::sync::{Event, Input, PeerState};

use super::dial::{Dial, REDIAL_MIN};
use super::event_loop::Loop;
use super::handle::Command;
use crate::identity::peer_id_of;

impl Loop {
    pub(super) async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Peers { reply } => {
                let _ = reply.send(self.peers().await);
            }
            Command::Sync { peer, reply } => {
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
                self.dials.insert(
                    addr.clone(),
                    Dial {
                        next: Instant::now(),
                        delay: REDIAL_MIN,
                    },
                );
                let r = self.swarm.dial(addr).map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.listen.iter().map(|a| a.to_string()).collect());
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

    async fn peers(&mut self) -> Vec<PeerRow> {
        let roster = self
            .library
            .with(|l| (l.roster(), l.key().public().to_hex()))
            .await
            .ok();
        let Some((Some(roster), me)) = roster else {
            return Vec::new();
        };
        let states: HashMap<PeerId, PeerState> = {
            let m = self.machine.lock().unwrap_or_else(|e| e.into_inner());
            m.states().map(|(p, s)| (*p, s.clone())).collect()
        };
        let mut out = Vec::new();
        for org in &roster.orgs {
            for k in &org.keys {
                if k.key == me {
                    continue;
                }
                let Some(pid) = peer_id_of(&k.key) else {
                    continue;
                };
                let st = states.get(&pid).cloned().unwrap_or_default();
                out.push(PeerRow {
                    org: org.info.key.clone(),
                    key: k.key.clone(),
                    peer_id: pid.to_base58(),
                    revoked: org.revoked.is_some() || k.revoked.is_some(),
                    connected: self.swarm.is_connected(&pid),
                    relayed: self.relayed_only(&pid),
                    addrs: self
                        .addrs
                        .get(&pid)
                        .map(|a| a.iter().map(|a| a.to_string()).collect())
                        .unwrap_or_default(),
                    last_sync: st.last_sync,
                    we_lack: st.we_lack,
                    they_lack: st.they_lack,
                    bytes_sent: st.bytes_sent,
                    bytes_received: st.bytes_received,
                });
            }
        }
        out
    }
}
