//! The network loop's handle: what the control API may ask of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use libp2p::{Multiaddr, PeerId};
use r2com_protocol::control::{DialFailure, NetworkStatus, Peers, SyncResult};
use r2com_protocol::files::{FileRequest, FileResponse, Hash32};
use tokio::sync::{mpsc, oneshot};

use super::FileSource;
use crate::files::{fetch, Fetched};
use crate::files::{FileError, FileStore};

/// Commands waiting for the network loop.
pub(super) const COMMAND_CAPACITY: usize = 256;

pub(super) enum Command {
    Peers {
        reply: oneshot::Sender<Peers>,
    },
    Sync {
        peer: Option<String>,
        progress: Option<mpsc::Sender<(u64, u64)>>,
        reply: oneshot::Sender<Result<Vec<SyncResult>, String>>,
    },
    AddPeer {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// This node took up an invite: dial its addresses and hand in the
    /// admission; answered when a member admitted us or after a while.
    Joined {
        addrs: Vec<Multiaddr>,
        reply: oneshot::Sender<JoinOutcome>,
    },
    FileSources {
        reply: oneshot::Sender<Vec<FileSource>>,
    },
    FileAsk {
        peer: PeerId,
        request: FileRequest,
        reply: oneshot::Sender<Result<FileResponse, String>>,
    },
    Punish {
        peer: PeerId,
        reason: String,
    },
    Status {
        reply: oneshot::Sender<NetStatus>,
    },
}

/// How a `join` on the running node ended.
#[derive(Debug, Default)]
pub struct JoinOutcome {
    /// The member that admitted this node (PeerId), if one did in time.
    pub admitted_by: Option<String>,
    /// The invite's addresses that could not be dialed so far.
    pub dial_errors: Vec<DialFailure>,
}

/// What the network adds to `status`.
#[derive(Debug)]
pub struct NetStatus {
    pub listen: Vec<String>,
    pub status: NetworkStatus,
}

/// One fetch per file at a time: a second asker waits for the first.
type FetchLocks = Arc<Mutex<HashMap<Hash32, Arc<tokio::sync::Mutex<()>>>>>;

/// A handle to the network loop, for the control API.
#[derive(Clone)]
pub struct NetHandle {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) fetching: FetchLocks,
}

impl NetHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| "the network has stopped".to_owned())?;
        rx.await.map_err(|_| "the network has stopped".to_owned())
    }

    /// Every member node but this one, with what the sync machine knows.
    pub async fn peers(&self) -> Result<Peers, String> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// A round with `peer` (PeerId or node key) or every connected member,
    /// answered when the rounds end; `progress` hears of the changes
    /// fetched of those known missing while they run.
    pub async fn sync(
        &self,
        peer: Option<String>,
        progress: Option<mpsc::Sender<(u64, u64)>>,
    ) -> Result<Vec<SyncResult>, String> {
        self.ask(|reply| Command::Sync {
            peer,
            progress,
            reply,
        })
        .await?
    }

    pub async fn add_peer(&self, addr: Multiaddr) -> Result<(), String> {
        self.ask(|reply| Command::AddPeer { addr, reply }).await?
    }

    /// After `r2com join` on the running node: dial the invite's
    /// addresses; answered once a member admitted us or the wait ended.
    pub async fn joined(&self, addrs: Vec<Multiaddr>) -> Result<JoinOutcome, String> {
        self.ask(|reply| Command::Joined { addrs, reply }).await
    }

    /// Listen addresses, reachability, relays.
    pub async fn status(&self) -> Result<NetStatus, String> {
        self.ask(|reply| Command::Status { reply }).await
    }

    /// The addresses this node listens on itself (not circuits through a
    /// relay).
    pub async fn listen_addrs(&self) -> Result<Vec<String>, String> {
        let status = self.status().await?;
        Ok(status
            .listen
            .into_iter()
            .filter(|a| !a.contains("/p2p-circuit"))
            .collect())
    }

    /// Connected members (with whether only through a relay).
    pub async fn file_sources(&self) -> Result<Vec<FileSource>, String> {
        self.ask(|reply| Command::FileSources { reply }).await
    }

    /// Send one file request to a connected peer and wait for its answer.
    pub async fn file_ask(
        &self,
        peer: PeerId,
        request: FileRequest,
    ) -> Result<FileResponse, String> {
        self.ask(|reply| Command::FileAsk {
            peer,
            request,
            reply,
        })
        .await?
    }

    /// Disconnect a peer that sent file data that does not verify.
    pub async fn punish(&self, peer: PeerId, reason: String) {
        let _ = self.tx.send(Command::Punish { peer, reason }).await;
    }

    /// Fetch a file into `store` from the members that hold it (see
    /// [`fetch::fetch`]); a second fetch of the same file waits for the
    /// first and then finds it held.
    pub async fn fetch(
        &self,
        store: &FileStore,
        hash: Hash32,
        size: u64,
        progress: Option<mpsc::Sender<(u64, u64)>>,
    ) -> Result<Fetched, FileError> {
        let lock = self
            .fetching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(hash)
            .or_default()
            .clone();
        let result = {
            let _one = lock.lock().await;
            fetch::fetch(self, store, hash, size, progress).await
        };
        let mut locks = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&hash);
        }
        result
    }
}
