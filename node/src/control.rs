//! The local control socket: a Unix socket in the data directory (the
//! directory is 0700 and the socket 0600, so only the node's user reaches
//! it). One request per connection, answered by zero or more progress
//! frames and one final frame (see [`r2com_protocol::control`]). Requests
//! about the network go to the network loop, all others to the library
//! thread ([`crate::api::dispatch`]).

use std::path::Path;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::codec::{FramedRead, FramedWrite};
use tracing::{debug, info, warn, Instrument};

use r2com_protocol::control::{
    ApiError, ErrorCode, Frame, Joined, PeerAdded, Request, Response, RotationState, Status,
    MAX_REQUEST_LEN, MAX_RESPONSE_LEN,
};

use crate::files::{self, FileStore};
use crate::frame;
use crate::library_thread::LibraryHandle;
use crate::net::NetHandle;
use crate::rotation::Rotator;

/// Control connections served at once; more wait.
const MAX_CONNECTIONS: usize = 16;
/// Progress frames buffered per request; more are dropped (progress is a hint).
const PROGRESS_CAPACITY: usize = 16;

/// Bind the control socket (replacing a stale one: the store lock already
/// proves no other node runs on this directory).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => debug!(path = %path.display(), "removed stale control socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serve control connections until `stop` fires; then stop accepting and
/// wait for the requests in flight to be answered.
pub async fn serve(
    listener: UnixListener,
    library: LibraryHandle,
    net: Option<NetHandle>,
    store: FileStore,
    rotator: Option<Rotator>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut next_id: u64 = 0;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => break,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        next_id += 1;
        let library = library.clone();
        let net = net.clone();
        let store = store.clone();
        let rotator = rotator.clone();
        let span = tracing::info_span!("control", conn = next_id);
        tokio::spawn(
            async move {
                if let Err(e) = handle(stream, library, net, store, rotator).await {
                    debug!(error = %e, "control connection ended with an error");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
    drop(listener);
    let _ = permits.acquire_many(MAX_CONNECTIONS as u32).await;
}

/// Requests the network answers (when the node runs); `None` for the
/// library's.
async fn network_request(
    net: &NetHandle,
    library: &LibraryHandle,
    rotator: Option<&Rotator>,
    request: &Request,
) -> Option<Result<Response, ApiError>> {
    let unavailable = |e: String| ApiError::new(ErrorCode::Unavailable, e);
    Some(match request {
        Request::KeyRotate { token } => match rotator {
            Some(r) => r
                .rotate(library, net, token.clone())
                .await
                .map(Response::KeyRotated),
            None => Err(crate::api::not_running()),
        },
        Request::Peers => net.peers().await.map(Response::Peers).map_err(unavailable),
        Request::PeerAdd { addr } => {
            let parsed: libp2p::Multiaddr = match addr.parse() {
                Ok(a) => a,
                Err(e) => {
                    return Some(Err(ApiError::new(
                        ErrorCode::Invalid,
                        format!("{addr:?} is not a multiaddr: {e}"),
                    )))
                }
            };
            net.add_peer(parsed)
                .await
                .map(|()| {
                    Response::PeerAdded(PeerAdded {
                        added: addr.clone(),
                        dialing: true,
                    })
                })
                .map_err(unavailable)
        }
        Request::Backup { out, without_files } => {
            let with_files = !*without_files;
            let source = match library
                .with(move |lib| crate::backup::Source::of(lib, with_files))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Some(Err(e.into())),
                Err(e) => return Some(Err(e)),
            };
            let out = std::path::PathBuf::from(out);
            let written =
                tokio::task::spawn_blocking(move || crate::backup::write(&source, &out)).await;
            match written {
                Ok(r) => r.map(Response::BackedUp).map_err(ApiError::from),
                Err(e) => Err(ApiError::new(ErrorCode::Internal, e.to_string())),
            }
        }
        Request::Status => {
            let mut status: Status = match library.request(Request::Status).await {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let network = net.status().await.ok();
            status.listen = network.as_ref().map(|n| n.listen.clone());
            status.network = network.map(|n| n.status);
            status.peers = net.peers().await.ok().map(|p| p.members);
            Ok(Response::Status(status))
        }
        Request::Join { .. } => {
            // Take up the invite, then dial its addresses at once and wait
            // (bounded) for a member to admit this node.
            let mut joined: Joined = match library.request(request.clone()).await {
                Ok(j) => j,
                Err(e) => return Some(Err(e)),
            };
            if !joined.admitted {
                let addrs = joined.addrs.iter().filter_map(|a| a.parse().ok()).collect();
                if let Ok(outcome) = net.joined(addrs).await {
                    joined.admitted = outcome.admitted_by.is_some();
                    joined.admitted_by = outcome.admitted_by;
                    joined.dial_errors = outcome.dial_errors;
                }
            }
            Ok(Response::Joined(joined))
        }
        _ => return None,
    })
}

async fn handle(
    stream: UnixStream,
    library: LibraryHandle,
    net: Option<NetHandle>,
    store: FileStore,
    rotator: Option<Rotator>,
) -> std::io::Result<()> {
    let (read, write) = stream.into_split();
    let mut requests = FramedRead::new(read, frame::codec(MAX_REQUEST_LEN));
    let mut frames = FramedWrite::new(write, frame::codec(MAX_RESPONSE_LEN));
    let Some(bytes) = requests.next().await.transpose()? else {
        return Ok(());
    };
    let request: Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::new(ErrorCode::Invalid, format!("bad request: {e}"));
            return send(&mut frames, Frame::Error(e)).await;
        }
    };
    drop(bytes);
    let op = request.name();
    debug!(op, "request");
    let network = match &net {
        Some(net) => network_request(net, &library, rotator.as_ref(), &request).await,
        None => None,
    };
    let result = match network {
        Some(result) => result,
        None => {
            let (tx, mut rx) = mpsc::channel::<(u64, u64)>(PROGRESS_CAPACITY);
            let work = async {
                match (request, &net) {
                    // Disk work and fetches off the library thread.
                    (
                        Request::Attach {
                            id,
                            path,
                            title,
                            language,
                        },
                        _,
                    ) => files::control::attach(&library, &store, id, path, title, language)
                        .await
                        .map(Response::Attached),
                    // Its rounds' progress streams like an import's.
                    (Request::Sync { peer }, Some(net)) => net
                        .sync(peer, Some(tx))
                        .await
                        .map(Response::Synced)
                        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e)),
                    (Request::AttachmentGet { hash, out }, Some(net)) => {
                        files::control::get(&library, &store, net, hash, out, tx)
                            .await
                            .map(Response::FileWritten)
                    }
                    (request, _) => library.call(request, tx).await,
                }
            };
            tokio::pin!(work);
            loop {
                tokio::select! {
                    result = &mut work => break result,
                    Some((done, total)) = rx.recv() => {
                        send(&mut frames, Frame::Progress { done, total }).await?;
                    }
                }
            }
        }
    };
    match &result {
        Ok(_) => info!(op, "done"),
        Err(e) => info!(op, error = %e, "refused"),
    }
    // A switched key: the node restarts under it once the answer is out.
    let restart = matches!(
        &result,
        Ok(Response::KeyRotated(k)) if k.state == RotationState::Switched
    );
    let last = match result {
        Ok(v) => Frame::Ok(v),
        Err(e) => Frame::Error(e),
    };
    let sent = send(&mut frames, last).await;
    if let (true, Some(r)) = (restart, &rotator) {
        r.restart();
    }
    sent
}

async fn send(
    frames: &mut FramedWrite<
        tokio::net::unix::OwnedWriteHalf,
        tokio_util::codec::LengthDelimitedCodec,
    >,
    frame: Frame,
) -> std::io::Result<()> {
    frames
        .send(bytes::Bytes::from(serde_json::to_vec(&frame)?))
        .await
}
