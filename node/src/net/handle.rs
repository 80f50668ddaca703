//! The network loop's handle: what the control API may ask of it.

use libp2p::Multiaddr;
use r2com_protocol::control::{PeerRow, SyncResult};
use tokio::sync::{mpsc, oneshot};

/// Commands waiting for the network loop.
pub(super) const COMMAND_CAPACITY: usize = 256;

pub(super) enum Command {
    Peers {
        reply: oneshot::Sender<Vec<PeerRow>>,
    },
    Sync {
        peer: Option<String>,
        reply: oneshot::Sender<Result<Vec<SyncResult>, String>>,
    },
    AddPeer {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), String>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<String>>,
    },
}

/// A handle to the network loop, for the control API.
#[derive(Clone)]
pub struct NetHandle {
    pub(super) tx: mpsc::Sender<Command>,
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
    pub async fn peers(&self) -> Result<Vec<PeerRow>, String> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// A round with `peer` (PeerId or node key) or every connected member,
    /// answered when the rounds end.
    pub async fn sync(&self, peer: Option<String>) -> Result<Vec<SyncResult>, String> {
        self.ask(|reply| Command::Sync { peer, reply }).await?
    }

    pub async fn add_peer(&self, addr: Multiaddr) -> Result<(), String> {
        self.ask(|reply| Command::AddPeer { addr, reply }).await?
    }

    pub async fn listen_addrs(&self) -> Result<Vec<String>, String> {
        self.ask(|reply| Command::ListenAddrs { reply }).await
    }
}
