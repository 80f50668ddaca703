//! Talking to the node: over its control socket when it runs, or directly
//! on its store when it does not.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use r2com_node::control::dispatch;
use r2com_node::frame;
use r2com_node::open::{socket_path, NodeError, OpenNode};
use r2com_node::store::StoreError;
use r2com_protocol::control::{ApiError, Frame, Request, MAX_REQUEST_LEN, MAX_RESPONSE_LEN};

/// An error from the node, or one on the way to it.
pub enum CallError {
    Api(ApiError),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for CallError {
    fn from(e: anyhow::Error) -> Self {
        CallError::Other(e)
    }
}

/// Send one request; `progress` sees progress frames.
pub fn call(
    data_dir: &Path,
    request: &Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Value, CallError> {
    let sock = socket_path(data_dir);
    match UnixStream::connect(&sock) {
        Ok(stream) => over_socket(stream, request, progress),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            in_process(data_dir, request.clone(), progress)
        }
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("cannot reach the node at {}", sock.display()))
            .into()),
    }
}

fn over_socket(
    mut stream: UnixStream,
    request: &Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Value, CallError> {
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
            Frame::Error(e) => return Err(CallError::Api(e)),
        }
    }
}

fn in_process(
    data_dir: &Path,
    request: Request,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Value, CallError> {
    let node = match OpenNode::open(data_dir, false) {
        Ok(n) => n,
        Err(NodeError::Store(StoreError::Locked)) => {
            return Err(anyhow::anyhow!(
                "the node's store in {} is locked by a running node, but its control socket does not answer",
                data_dir.display()
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
    dispatch(&node, request, &report).map_err(CallError::Api)
}
