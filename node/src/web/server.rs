//! The HTTP/1.1 server under the web app and the calendar feeds: an accept
//! loop over hyper with bounded connections, a deadline for request heads,
//! and a graceful stop. Model: axum's `serve-with-hyper` example.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;
use tracing::{debug, warn, Instrument};

/// Connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 64;
/// Time a client has to send a request head (also bounds idle keep-alive).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest buffered request head.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// How long a stop waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The address of the client of a request (set by [`serve`] on every request).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// Serve `app` on `listener` until `stop` turns true, then let requests in
/// flight finish (at most [`SHUTDOWN_GRACE`]).
pub async fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut next_id: u64 = 0;
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        next_id += 1;
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ClientAddr(peer));
            let app = app.clone();
            async move {
                let resp = app
                    .oneshot(req.map(axum::body::Body::new))
                    .await
                    .unwrap_or_else(|e: Infallible| match e {});
                Ok::<_, Infallible>(resp)
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(MAX_HEAD_BYTES)
            // `Content-Type`, not `content-type`: some calendar programs
            // read header names case-sensitively.
            .title_case_headers(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        let span = tracing::debug_span!("http", conn = next_id, %peer);
        tokio::spawn(
            async move {
                if let Err(e) = conn.await {
                    debug!(error = %e, "http connection ended with an error");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        debug!("http connections still open at shutdown");
    }
}
