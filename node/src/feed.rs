//! The read-only calendar feed: `GET /calendar.ics` over HTTP/1.1 while the
//! node runs, so calendar apps can subscribe. A deliberately small server:
//! one request per connection, request head at most [`MAX_REQUEST_HEAD`]
//! bytes, [`REQUEST_TIMEOUT`] to send it, [`MAX_CONNECTIONS`] at once; only
//! `GET`/`HEAD /calendar.ics` (a query string is ignored), 404 for other
//! paths, 405 for other methods. The calendar is computed on the library
//! thread, like every control request.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn, Instrument};

use r2com_protocol::control::{Ics, ListFilter, Request};

use crate::library_thread::LibraryHandle;

/// Largest request head (request line and headers) read.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for writing the answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Feed connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 16;
/// The one path served.
pub const FEED_PATH: &str = "/calendar.ics";
/// File in the data directory that holds the address the feed is bound to.
pub const FEED_ADDR_FILE: &str = "feed.addr";

/// Serve the feed until the listener fails.
pub async fn serve(listener: TcpListener, library: LibraryHandle) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut next_id: u64 = 0;
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "feed accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        next_id += 1;
        let library = library.clone();
        let span = tracing::info_span!("feed", conn = next_id, %peer);
        tokio::spawn(
            async move {
                if let Err(e) = handle(stream, library).await {
                    debug!(error = %e, "feed connection ended with an error");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
}

/// Read the request head: up to the blank line, bounded in size.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(buf));
        }
        if buf.len() >= MAX_REQUEST_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        if !head_only {
            stream.write_all(body).await?;
        }
        stream.shutdown().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
}

async fn handle(mut stream: TcpStream, library: LibraryHandle) -> std::io::Result<()> {
    let text = "text/plain; charset=utf-8";
    let head = match tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(h))) => h,
        Ok(Ok(None)) => {
            return respond(
                &mut stream,
                "400 Bad Request",
                text,
                b"bad request\n",
                false,
            )
            .await
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return respond(
                &mut stream,
                "408 Request Timeout",
                text,
                b"timeout\n",
                false,
            )
            .await
        }
    };
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            text,
            b"only GET\n",
            false,
        )
        .await;
    }
    if path != FEED_PATH {
        return respond(
            &mut stream,
            "404 Not Found",
            text,
            b"not found\n",
            head_only,
        )
        .await;
    }
    let request = Request::CalendarIcs {
        filter: ListFilter::default(),
    };
    match library.request::<Ics>(request).await {
        Ok(Ics { ics, .. }) => {
            info!(bytes = ics.len(), "served calendar feed");
            respond(
                &mut stream,
                "200 OK",
                "text/calendar; charset=utf-8",
                ics.as_bytes(),
                head_only,
            )
            .await
        }
        Err(e) => {
            warn!(error = %e, "calendar feed failed");
            respond(
                &mut stream,
                "500 Internal Server Error",
                text,
                b"error\n",
                false,
            )
            .await
        }
    }
}
