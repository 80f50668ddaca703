//! `/r2com/files/1` in the event loop: inbound requests are checked (members
//! only, as for sync) and answered from the file store off the loop's
//! thread; outbound requests are sent for a fetch (`files::fetch`) and
//! their answers handed back to it.

use std::sync::Arc;

use libp2p::request_response::{self, ResponseChannel};
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot, Semaphore};

use r2com_protocol::files::{FileRequest, FileResponse};

use super::codec::Wire;
use crate::files::{serve, FileStore};
use crate::identity::key_of;
use crate::library_thread::LibraryHandle;

/// Inbound file requests answered at once (disk reads of 1 MiB); more wait.
pub(super) const MAX_SERVING: usize = 4;
/// Answers waiting for the loop to send them.
pub(super) const SERVED_CAPACITY: usize = 32;

/// An inbound request, checked and answered off the loop.
pub(super) struct Served {
    pub(super) peer: PeerId,
    pub(super) channel: ResponseChannel<Wire<FileResponse>>,
    pub(super) answer: Result<FileResponse, Refusal>,
}

pub(super) enum Refusal {
    /// Not a live member: nothing is answered, the connection is closed.
    NotMember,
    /// A request no honest member sends.
    Misbehaved(String),
}

pub(super) type FileReply = oneshot::Sender<Result<FileResponse, String>>;

/// What the file side of the loop owns.
pub(super) struct FilesState {
    pub(super) store: FileStore,
    pub(super) served_tx: mpsc::Sender<Served>,
    pub(super) served_rx: mpsc::Receiver<Served>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) asks: std::collections::HashMap<request_response::OutboundRequestId, FileReply>,
}

impl FilesState {
    pub(super) fn new(store: FileStore) -> FilesState {
        let (served_tx, served_rx) = mpsc::channel(SERVED_CAPACITY);
        FilesState {
            store,
            served_tx,
            served_rx,
            permits: Arc::new(Semaphore::new(MAX_SERVING)),
            asks: Default::default(),
        }
    }
}

/// Check who asks and answer from the store.
pub(super) async fn answer(
    library: LibraryHandle,
    store: FileStore,
    permits: Arc<Semaphore>,
    peer: PeerId,
    request: Wire<FileRequest>,
) -> Result<FileResponse, Refusal> {
    let member = match key_of(&peer) {
        Some(key) => library
            .with(move |l| l.roster().is_some_and(|r| r.is_live_member(&key)))
            .await
            .unwrap_or(false),
        None => false,
    };
    if !member {
        return Err(Refusal::NotMember);
    }
    let request = request.map_err(Refusal::Misbehaved)?;
    let _permit = permits.acquire_owned().await;
    tokio::task::spawn_blocking(move || serve::answer(&store, request))
        .await
        .map_err(|e| Refusal::Misbehaved(format!("serving failed: {e}")))?
        .map_err(Refusal::Misbehaved)
}
