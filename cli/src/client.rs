//! Talking to the node: over its control socket when it runs, or directly
//! on its store when it does not. Answers come back typed.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use r2com_node::api::dispatch;
use r2com_node::data_dir::socket_path;
use r2com_node::dir_lock::{DirLock, Role};
use r2com_node::frame;
use r2com_node::open::{NodeError, OpenNode};
use r2com_node::store::StoreError;
use r2com_protocol::control::{
    ApiError, ErrorCode, Frame, Request, Response, MAX_REQUEST_LEN, MAX_RESPONSE_LEN,
};

use crate::error::CliError;

/// Send one request and take its answer as the type it has.
pub fn ask<T>(data_dir: &Path, request: Request) -> Result<T, CliError>
where
    T: TryFrom<Response, Error = Response>,
{
    ask_with_progress(data_dir, request, &mut |_, _| {})
}

/// As [`ask`]; `progress` sees progress frames.
pub fn ask_with_progress<T>(
    data_dir: &Path,
    request: Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<T, CliError>
where
    T: TryFrom<Response, Error = Response>,
{
    let name = request.name();
    call(data_dir, request, progress)?
        .try_into()
        .map_err(|r: Response| {
            CliError(ApiError::new(
                ErrorCode::Internal,
                format!("the node answered {name} with {}", r.name()),
            ))
        })
}

/// How long a command waits for a node that holds the data directory
/// (starting, stopping) to answer on its control socket, or for another
/// command working on the store directly to finish.
const BUSY_WAIT: Duration = Duration::from_secs(10);
/// Between two looks at the socket and the lock.
const POLL: Duration = Duration::from_millis(10);

/// Send one request; `progress` sees progress frames.
///
/// Over the control socket when a node answers on it; otherwise on the
/// store directly, but only under the data directory's lock
/// ([`r2com_node::dir_lock`]): while a node holds it (starting or
/// stopping) the command waits for the socket instead, so it never takes
/// the store from a node that is starting.
pub fn call(
    data_dir: &Path,
    request: Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Response, CliError> {
    let sock = socket_path(data_dir);
    let started = Instant::now();
    loop {
        match UnixStream::connect(&sock) {
            Ok(stream) => return over_socket(stream, &request, progress),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot reach the node at {}", sock.display()))
                    .into())
            }
        }
        if !r2com_node::identity::key_path(data_dir).exists() {
            let e = r2com_node::identity::IdentityError::Missing(data_dir.to_owned());
            return Err(anyhow::Error::new(e).into());
        }
        match DirLock::try_acquire(data_dir, Role::Cli).map_err(anyhow::Error::new)? {
            Some(lock) => return in_process(data_dir, lock, request, progress),
            None if started.elapsed() < BUSY_WAIT => std::thread::sleep(POLL),
            None => {
                return Err(ApiError::new(
                    ErrorCode::Unavailable,
                    format!(
                        "the store in {} is held by {}, which does not answer on {} (waited {} s)",
                        data_dir.display(),
                        r2com_node::dir_lock::holder(data_dir),
                        sock.display(),
                        BUSY_WAIT.as_secs()
                    ),
                )
                .into())
            }
        }
    }
}

fn over_socket(
    mut stream: UnixStream,
    request: &Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Response, CliError> {
    let bytes = serde_json::to_vec(request).context("encoding the request")?;
    if bytes.len() > MAX_REQUEST_LEN {
        return Err(anyhow::anyhow!(
            "request of {} bytes is larger than the node accepts ({MAX_REQUEST_LEN})",
            bytes.len()
        )
        .into());
    }
    frame::write_sync(&mut stream, &bytes).context("sending to the node")?;
    loop {
        let f = frame::read_sync(&mut stream, MAX_RESPONSE_LEN)
            .context("reading the node's answer")?
            .ok_or_else(|| anyhow::anyhow!("the node closed the connection without answering"))?;
        let f: Frame = serde_json::from_slice(&f).context("decoding the node's answer")?;
        match f {
            Frame::Progress { done, total } => progress(done, total),
            Frame::Ok(v) => return Ok(v),
            Frame::Error(e) => return Err(e.into()),
        }
    }
}

fn in_process(
    data_dir: &Path,
    lock: DirLock,
    request: Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Response, CliError> {
    let node = match OpenNode::open_locked(data_dir, lock, false) {
        Ok(n) => n,
        Err(NodeError::Store(StoreError::Locked)) => {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "the node's store in {} is locked by another process, but no node answers on its control socket",
                    data_dir.display()
                ),
            )
            .into())
        }
        Err(e) => return Err(anyhow::Error::new(e).into()),
    };
    let progress = std::sync::Mutex::new(progress);
    let report = |done, total| {
        if let Ok(mut p) = progress.lock() {
            p(done, total)
        }
    };
    Ok(dispatch(&node, request, &report)?)
}
