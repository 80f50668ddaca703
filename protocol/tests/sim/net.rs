//! The simulated network: a seeded scheduler that delivers requests,
//! responses and timeouts between sync machines, dropping, duplicating,
//! delaying and reordering messages, and cutting and healing links.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::Rng;

use r2com_protocol::identity::PublicKey;
use r2com_protocol::sync::{InboundId, Input, Output, RequestId, SyncMachine};
use r2com_protocol::wire::{SyncRequest, SyncResponse};

use super::store::{sim_time, Store};
use super::HONEST;

/// Simulated milliseconds before an unanswered request fails.
pub const REQUEST_TIMEOUT: u64 = 3_000;

pub enum Msg {
    Request {
        from: usize,
        to: usize,
        id: RequestId,
        request: SyncRequest,
        /// Sent outside any connection (an attacker's injection).
        injected: bool,
    },
    Response {
        from: usize,
        to: usize,
        id: RequestId,
        response: SyncResponse,
    },
    Timeout {
        node: usize,
        peer: usize,
        id: RequestId,
    },
}

pub struct Sim {
    pub seed: u64,
    pub rng: StdRng,
    pub now: u64,
    pub seq: u64,
    pub queue: BinaryHeap<Reverse<(u64, u64)>>,
    pub msgs: BTreeMap<u64, Msg>,
    pub machines: Vec<SyncMachine<usize>>,
    pub stores: Vec<Store>,
    /// Whether each node runs yet.
    pub up: Vec<bool>,
    pub links: BTreeSet<(usize, usize)>,
    pub topology: Vec<(usize, usize)>,
    pub answered: BTreeSet<(usize, RequestId)>,
    pub inbound: Vec<BTreeMap<InboundId, (usize, RequestId)>>,
    pub next_inbound: u64,
    pub lossy: bool,
    /// Changes no honest node may ever apply (the stranger's, forged).
    pub never: BTreeSet<[u8; 32]>,
    /// Changes no honest node may hold at the end (also the revoked
    /// member's changes that its revocation does not keep).
    pub bad: BTreeSet<[u8; 32]>,
    /// Changes honest nodes wrote.
    pub honest_writes: BTreeSet<[u8; 32]>,
    pub stats: BTreeMap<&'static str, u64>,
}

pub fn link(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Sim {
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + self.now)
    }

    pub fn schedule(&mut self, delay: u64, msg: Msg) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq)));
        self.msgs.insert(self.seq, msg);
    }

    pub fn stat(&mut self, what: &'static str) {
        self.add_stat(what, 1);
    }

    pub fn add_stat(&mut self, what: &'static str, n: u64) {
        *self.stats.entry(what).or_default() += n;
    }

    /// Send over the lossy network: maybe dropped, maybe twice, delayed.
    fn transmit(&mut self, make: impl Fn() -> Msg) {
        if self.lossy && self.rng.gen_bool(0.05) {
            self.stat("dropped");
            return;
        }
        let d = self.rng.gen_range(1..60);
        self.schedule(d, make());
        if self.rng.gen_bool(0.05) {
            self.stat("duplicated");
            let d = self.rng.gen_range(1..200);
            self.schedule(d, make());
        }
    }

    pub fn input(&mut self, node: usize, input: Input<usize>) {
        let mut work = vec![(node, input)];
        while let Some((node, input)) = work.pop() {
            let now = self.time();
            self.stores[node].now = sim_time(self.now);
            let trace = std::env::var("SIM_TRACE")
                .ok()
                .and_then(|s| s.parse::<usize>().ok());
            let traced = trace == Some(node);
            if traced {
                eprintln!("{} ms: node {node} <- {input:?}", self.now);
            }
            let outputs = self.machines[node].handle(now, input, &mut self.stores[node]);
            if traced {
                for o in &outputs {
                    eprintln!("{} ms: node {node} -> {o:?}", self.now);
                }
            }
            for out in outputs {
                match out {
                    Output::Send { peer, id, request } => {
                        if self.links.contains(&link(node, peer)) {
                            self.transmit(|| Msg::Request {
                                from: node,
                                to: peer,
                                id,
                                request: request.clone(),
                                injected: false,
                            });
                            self.schedule(REQUEST_TIMEOUT, Msg::Timeout { node, peer, id });
                        } else {
                            work.push((
                                node,
                                Input::Failed {
                                    peer,
                                    id,
                                    error: "not connected".into(),
                                },
                            ));
                        }
                    }
                    Output::Respond { id, response, .. } => {
                        if let Some((to, rid)) = self.inbound[node].remove(&id) {
                            self.transmit(|| Msg::Response {
                                from: node,
                                to,
                                id: rid,
                                response: response.clone(),
                            });
                        }
                    }
                    Output::Disconnect {
                        peer, misbehaved, ..
                    } => {
                        self.stat(if misbehaved {
                            "disconnected (misbehaved)"
                        } else {
                            "disconnected (not a member)"
                        });
                        if self.links.remove(&link(node, peer)) {
                            work.push((node, Input::Disconnected { peer }));
                            work.push((peer, Input::Disconnected { peer: node }));
                        }
                    }
                    Output::Persist { .. } => {}
                    Output::Event(e) => {
                        if let r2com_protocol::sync::Event::NotAllowed { .. } = e {
                            self.stat("batches with not-allowed changes skipped");
                        }
                    }
                }
            }
        }
    }

    pub fn connect(&mut self, a: usize, b: usize) {
        if !self.up[a] || !self.up[b] || !self.links.insert(link(a, b)) {
            return;
        }
        self.input(
            a,
            Input::Connected {
                peer: b,
                dialer: true,
            },
        );
        if self.links.contains(&link(a, b)) {
            self.input(
                b,
                Input::Connected {
                    peer: a,
                    dialer: false,
                },
            );
        }
    }

    pub fn cut(&mut self, a: usize, b: usize) {
        if self.links.remove(&link(a, b)) {
            self.input(a, Input::Disconnected { peer: b });
            self.input(b, Input::Disconnected { peer: a });
        }
    }

    fn deliver(&mut self, msg: Msg) {
        match msg {
            Msg::Request {
                from,
                to,
                id,
                request,
                injected,
            } => {
                if !injected && !self.links.contains(&link(from, to)) {
                    return;
                }
                self.next_inbound += 1;
                let iid = InboundId(self.next_inbound);
                self.inbound[to].insert(iid, (from, id));
                self.input(
                    to,
                    Input::Request {
                        peer: from,
                        id: iid,
                        request: Ok(request),
                    },
                );
                self.inbound[to].remove(&iid);
            }
            Msg::Response {
                from,
                to,
                id,
                response,
            } => {
                if !self.links.contains(&link(from, to)) {
                    return;
                }
                self.answered.insert((to, id));
                self.input(
                    to,
                    Input::Response {
                        peer: from,
                        id,
                        response: Ok(response),
                    },
                );
            }
            Msg::Timeout { node, peer, id } => {
                if !self.answered.contains(&(node, id)) {
                    self.input(
                        node,
                        Input::Failed {
                            peer,
                            id,
                            error: "timeout".into(),
                        },
                    );
                }
            }
        }
    }

    /// No honest node has applied a change it must never have (the
    /// stranger's, forged ones), nor holds one its own roster does not
    /// allow (judged by the protocol's check on the node's own history).
    pub fn check_safety(&self, nodes: impl Iterator<Item = usize>) {
        for i in nodes.filter(|i| *i < HONEST) {
            let s = &self.stores[i];
            let mut cache = r2com_protocol::roster::FrontierCache::default();
            for (h, c) in &s.changes {
                assert!(
                    !self.never.contains(h),
                    "seed {}: honest node {i} holds forbidden change {} at {} ms",
                    self.seed,
                    hex::encode(h),
                    self.now
                );
                let author = PublicKey::from_bytes(&c.author).unwrap();
                let allowed = s
                    .roster
                    .check_change_author_cached(&author, &c.doc, c.seq, h, s, &mut cache);
                assert!(
                    allowed.is_ok(),
                    "seed {}: honest node {i} holds {} which its roster does not allow ({allowed:?}), at {} ms",
                    self.seed,
                    hex::encode(h),
                    self.now
                );
            }
        }
    }

    /// Run the event queue until `until`, with the per-millisecond world
    /// (`world`) acting between events.
    pub fn run_until(&mut self, until: u64, world: &mut dyn FnMut(&mut Sim)) {
        while self.now < until {
            let next = self.queue.peek().map(|Reverse((t, _))| *t).unwrap_or(until);
            if next > self.now {
                // Advance to the next event or 10 ms mark; the world acts
                // on the marks.
                self.now = ((self.now / 10 + 1) * 10).min(next).min(until);
                if self.now.is_multiple_of(10) {
                    world(self);
                }
                continue;
            }
            let Reverse((_, seq)) = self.queue.pop().unwrap();
            let msg = self.msgs.remove(&seq).unwrap();
            // Only the receiver applies anything.
            let receiver = match &msg {
                Msg::Request { to, .. } | Msg::Response { to, .. } => *to,
                Msg::Timeout { node, .. } => *node,
            };
            self.deliver(msg);
            self.check_safety(std::iter::once(receiver));
        }
    }

    /// An attacker's request, delivered whether or not a connection exists.
    pub fn inject(&mut self, from: usize, to: usize, request: SyncRequest) {
        self.stat("hostile requests injected");
        let id = RequestId(u64::MAX - self.seq);
        let d = self.rng.gen_range(1..30);
        self.schedule(
            d,
            Msg::Request {
                from,
                to,
                id,
                request,
                injected: true,
            },
        );
    }
}
