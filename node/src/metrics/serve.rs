//! The `/metrics` listener: the registry as OpenMetrics text over HTTP/1.1
//! (axum), on an address of its own, loopback unless the operator allowed
//! more (see [`crate::config::Config::metrics_listen`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;

use crate::data_dir::METRICS_ADDR_FILE;

/// The path scraped.
pub const METRICS_PATH: &str = "/metrics";
/// OpenMetrics 1.0 (Prometheus negotiates it and reads it natively).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The listener and the sampler, while the node runs.
pub struct Running {
    sampler: Option<tokio::task::JoinHandle<()>>,
    http: Option<crate::web::Running>,
    addr_file: PathBuf,
}

impl Running {
    /// Stop serving (scrapes in flight finish) and remove the address file.
    pub async fn stop(self) {
        if let Some(t) = self.sampler {
            t.abort();
        }
        if let Some(h) = self.http {
            h.stop().await;
        }
        let _ = std::fs::remove_file(&self.addr_file);
    }
}

/// Start the metrics (when `listen` is set): register the node's series
/// next to libp2p's in `registry`, sample the store, serve at `listen` and
/// write the bound address to [`METRICS_ADDR_FILE`] (port 0 picks one).
pub async fn start(
    listen: Option<SocketAddr>,
    data_dir: &Path,
    mut registry: Registry,
    net: &super::NetMetrics,
    node: &crate::open::OpenNode,
    library: crate::library_thread::LibraryHandle,
) -> Result<Running, crate::open::NodeError> {
    use crate::open::NodeError;
    let addr_file = data_dir.join(METRICS_ADDR_FILE);
    let _ = std::fs::remove_file(&addr_file);
    let mut running = Running {
        sampler: None,
        http: None,
        addr_file,
    };
    let Some(listen) = listen else {
        return Ok(running);
    };
    let store = super::StoreMetrics::default();
    super::register(
        &mut registry,
        net,
        &node.library.metrics,
        &node.files.metrics,
        &store,
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| NodeError::Metrics(listen.to_string(), e))?;
    let http = crate::web::Running::spawn(listener, app(Arc::new(registry)))
        .map_err(|e| NodeError::Metrics(listen.to_string(), e))?;
    let addr = http.addr;
    running.http = Some(http);
    std::fs::write(&running.addr_file, format!("{addr}\n"))
        .map_err(|e| NodeError::Metrics(running.addr_file.display().to_string(), e))?;
    if addr.ip().is_loopback() {
        tracing::info!(url = %format!("http://{addr}{METRICS_PATH}"), "metrics");
    } else {
        tracing::warn!(
            url = %format!("http://{addr}{METRICS_PATH}"),
            "metrics served beyond this machine (allow_remote): they name every member; keep the port firewalled"
        );
    }
    running.sampler = Some(tokio::spawn(super::sample::run(
        store,
        library,
        node.files.clone(),
        data_dir.join(crate::data_dir::STORE_DIR),
    )));
    Ok(running)
}

/// The app: `registry` at [`METRICS_PATH`].
pub fn app(registry: Arc<Registry>) -> Router {
    Router::new()
        .route(METRICS_PATH, get(scrape))
        .with_state(registry)
}

async fn scrape(State(registry): State<Arc<Registry>>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &registry) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "encoding the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
