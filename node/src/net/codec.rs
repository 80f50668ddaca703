//! The codec of `/r2com/sync/1` and `/r2com/files/1`: CBOR (as libp2p's `cbor` codec writes it,
//! so the two interoperate), one message per stream, bounded reads.
//!
//! Unlike libp2p's codec it does not turn undecodable or oversized bytes
//! into an I/O error: request-response drops such a stream silently, and
//! the sender would go on unpunished. Here they decode to `Err(reason)`
//! and reach the sync machine, which disconnects the peer.

use std::io;
use std::marker::PhantomData;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Future};
use libp2p::request_response;
use libp2p::StreamProtocol;
use serde::{de::DeserializeOwned, Serialize};

use r2com_protocol::wire::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};

/// A message as read: decoded, or why not.
pub type Wire<T> = Result<T, String>;

/// A codec with the largest request and response it reads.
pub struct Codec<Req, Resp> {
    max_request: u64,
    max_response: u64,
    _types: PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> Codec<Req, Resp> {
    pub fn with_limits(max_request: u64, max_response: u64) -> Self {
        Codec {
            max_request,
            max_response,
            _types: PhantomData,
        }
    }
}

/// The sync protocol's limits.
impl<Req, Resp> Default for Codec<Req, Resp> {
    fn default() -> Self {
        Codec::with_limits(MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES)
    }
}

impl<Req, Resp> Clone for Codec<Req, Resp> {
    fn clone(&self) -> Self {
        Codec::with_limits(self.max_request, self.max_response)
    }
}

/// Read one whole message of at most `limit` bytes and decode it.
async fn read<T, M>(io: &mut T, limit: u64) -> io::Result<Wire<M>>
where
    T: AsyncRead + Unpin + Send,
    M: DeserializeOwned,
{
    let mut buf = Vec::new();
    io.take(limit + 1).read_to_end(&mut buf).await?;
    if buf.is_empty() {
        // The stream closed with nothing on it: a peer that did not answer
        // (request-response closes the stream of a dropped request). A
        // failure, not misbehaviour.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "empty message",
        ));
    }
    if buf.len() as u64 > limit {
        return Ok(Err(format!("message larger than {limit} bytes")));
    }
    Ok(cbor4ii::serde::from_slice(&buf).map_err(|e| format!("undecodable message: {e}")))
}

async fn write<T, M>(io: &mut T, message: Wire<M>) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
    M: Serialize,
{
    // Only messages this node built are written.
    let message = message.map_err(io::Error::other)?;
    let data = cbor4ii::serde::to_vec(Vec::new(), &message).map_err(io::Error::other)?;
    io.write_all(&data).await
}

#[allow(clippy::manual_async_fn)] // the trait spells out `+ Send`
impl<Req, Resp> request_response::Codec for Codec<Req, Resp>
where
    Req: Send + Serialize + DeserializeOwned,
    Resp: Send + Serialize + DeserializeOwned,
{
    type Protocol = StreamProtocol;
    type Request = Wire<Req>;
    type Response = Wire<Resp>;

    fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Wire<Req>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read(io, self.max_request)
    }

    fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Wire<Resp>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read(io, self.max_response)
    }

    fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Wire<Req>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write(io, req)
    }

    fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        resp: Wire<Resp>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write(io, resp)
    }
}
