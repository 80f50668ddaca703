//! `r2com run`: serve a node until SIGINT or SIGTERM.

use std::path::Path;
use std::sync::Arc;

use tracing::info;

use crate::data_dir::{socket_path, FEED_ADDR_FILE, WEB_ADDR_FILE};
use crate::identity;
use crate::open::{NodeError, OpenNode};

/// How long control requests in flight at shutdown may take to finish.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Network options of `r2com run`.
#[derive(Debug, Default, Clone)]
pub struct NetOptions {
    /// `--listen` multiaddrs (replace the configured ones).
    pub listen: Vec<String>,
    /// `--no-mdns`.
    pub no_mdns: bool,
    /// `--web-listen` (an address or `off`; overrides `config.toml`).
    pub web_listen: Option<String>,
    /// `--metrics-listen` (an address or `off`; overrides `config.toml`).
    pub metrics_listen: Option<String>,
}

/// Why `run` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT or SIGTERM.
    Signal,
    /// A key rotation switched keys: start again under the new key,
    /// listening on `listen` (the configured addresses with the ports
    /// bound now in place of port 0, so partners find the node where it
    /// was).
    Restart { listen: Vec<String> },
}

/// Run the node until SIGINT or SIGTERM, or until a key rotation asks for a
/// restart: open the store, serve the control API, the web app and the
/// anonymous calendar feed.
/// Creates the key on first run; finishes a key rotation a restart or a
/// crash interrupted ([`crate::rotation`]). `feed_listen` (an address or
/// `off`) overrides `config.toml`.
pub async fn run(
    data_dir: &Path,
    feed_listen: Option<&str>,
    net: NetOptions,
) -> Result<Stopped, NodeError> {
    let started = std::time::Instant::now();
    crate::library_thread::tune_malloc();
    // Catch SIGINT and SIGTERM from the start: one that arrives while the
    // node starts stops it cleanly once it has started, rather than killing
    // it with requests in flight.
    let shutdown = ShutdownSignal::install().map_err(NodeError::Signal)?;
    let config = crate::config::Config::load(data_dir)?;
    let feed_listen = config.feed_listen(data_dir, feed_listen)?;
    let web_listen = config.web_listen(data_dir, net.web_listen.as_deref())?;
    let public_url = config.web_public_url(data_dir)?;
    let listen = config.net_listen(data_dir, &net.listen)?;
    let mdns = !net.no_mdns && config.net.mdns.unwrap_or(true);
    let sync_interval = config.sync_interval(data_dir)?;
    let old_key = crate::rotation::recover(data_dir)?;
    let announce = config.net_announce(data_dir)?;
    let relay = config.net_relay(data_dir)?;
    let metrics_listen = config.metrics_listen(data_dir, net.metrics_listen.as_deref())?;
    let (key, created) = identity::init(data_dir)?;
    if created {
        info!(public_key = %key.public(), "created a new node key");
    }
    drop(key);
    let node = Arc::new(OpenNode::open_for_run(data_dir)?);
    let local = node.local()?;
    // Counting the documents and changes walks two tables of the store
    // (0.2-0.3 s at ten times the demo data): on a thread of its own, while
    // the node starts and serves.
    {
        let node = node.clone();
        let spawned = std::thread::Builder::new()
            .name("tally".into())
            .spawn(move || {
                if let Err(e) = node.library.build_tally() {
                    tracing::warn!(error = %e, "cannot count the documents and changes");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start counting the documents and changes");
        }
    }
    if let Some(old) = old_key {
        crate::rotation::revoke_old(data_dir, &node.library, old);
    }
    let span = tracing::info_span!("node", key = %&node.library.key().public().to_hex()[..12]);
    let _enter = span.enter();
    let sock = socket_path(data_dir);
    let listener = crate::control::bind(&sock).map_err(|e| NodeError::Socket(sock.clone(), e))?;
    info!(
        peer_id = %identity::peer_id(node.library.key()),
        control = %sock.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ready"
    );
    let library = crate::library_thread::LibraryHandle::spawn(node.clone());
    let mut registry = prometheus_client::registry::Registry::default();
    let net_metrics = crate::metrics::NetMetrics::default();
    let net = crate::net::start(
        crate::net::NetConfig {
            listen: listen.clone(),
            mdns,
            data_dir: data_dir.to_owned(),
            sync_interval,
            files: node.files.clone(),
            announce,
            relay,
            use_relays: config.net.use_relays.unwrap_or(true),
            upnp: config.net.upnp.unwrap_or(false),
            metrics: net_metrics.clone(),
        },
        library.clone(),
        &mut registry,
    )
    .await
    .map_err(NodeError::Net)?;
    let metrics = crate::metrics::serve::start(
        metrics_listen,
        data_dir,
        registry,
        &net_metrics,
        &node,
        library.clone(),
    )
    .await?;
    let prefetch = tokio::spawn(crate::files::prefetch::run(
        config.attachments.prefetch,
        library.clone(),
        net.clone(),
        node.files.clone(),
    ));
    let web_state = crate::web::state(crate::web::WebSetup {
        library: library.clone(),
        net: Some(net.clone()),
        local,
        files: node.files.clone(),
        public_url: public_url.clone(),
    })
    .await;
    let hosts = Arc::new(crate::web::AllowedHosts::new(
        public_url
            .iter()
            .filter_map(|u| u.host_str().map(str::to_owned))
            .chain(config.web.hosts.iter().cloned()),
    ));
    let web_file = data_dir.join(WEB_ADDR_FILE);
    let feed_file = data_dir.join(FEED_ADDR_FILE);
    let web = match bind_http(web_listen, NodeError::Web, "web app", "[web] listen").await? {
        Some(l) => {
            let app = crate::web::app(web_state.clone(), hosts.clone());
            let running = crate::web::Running::spawn(l, app)
                .map_err(|e| NodeError::Socket(web_file.clone(), e))?;
            write_addr(&web_file, running.addr)?;
            info!(
                url = %crate::web::links::base_url(web_state.public_url.as_deref(), running.addr),
                "web app"
            );
            Some(running)
        }
        None => None,
    };
    let feed = match bind_http(
        feed_listen,
        NodeError::Feed,
        "calendar feed",
        "[feed] listen",
    )
    .await?
    {
        Some(l) => {
            let app = crate::web::feed_app(web_state.clone(), hosts);
            let running = crate::web::Running::spawn(l, app)
                .map_err(|e| NodeError::Socket(feed_file.clone(), e))?;
            write_addr(&feed_file, running.addr)?;
            info!(url = %format!("http://{}{}", running.addr, crate::web::feed::FEED_PATH), "calendar feed");
            Some(running)
        }
        None => None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let rotator = crate::rotation::Rotator::new(data_dir);
    let server = tokio::spawn(crate::control::serve(
        listener,
        library,
        Some(net.clone()),
        node.files.clone(),
        Some(rotator.clone()),
        stopped,
    ));
    let end = tokio::select! {
        _ = shutdown.wait() => Stopped::Signal,
        _ = rotator.restart_requested() => {
            let bound = net.listen_addrs().await.unwrap_or_default();
            Stopped::Restart { listen: pin_ports(&listen, &bound) }
        }
    };
    info!(?end, "shutting down");
    prefetch.abort();
    for http in [web, feed].into_iter().flatten() {
        http.stop().await;
    }
    // No new control connections (commands wait for the store lock, which
    // is released when this process ends); those in flight are answered.
    let _ = std::fs::remove_file(&sock);
    let _ = stop.send(());
    if tokio::time::timeout(SHUTDOWN_WAIT, server).await.is_err() {
        tracing::warn!("control requests still running at shutdown were cut off");
    }
    let _ = std::fs::remove_file(&web_file);
    let _ = std::fs::remove_file(&feed_file);
    metrics.stop().await;
    let _ = std::fs::remove_file(&sock);
    // For the next start to answer `status` at once (see
    // `library::tally`); a node that never counted stores nothing.
    if let Err(e) = node.library.save_tally() {
        tracing::warn!(error = %e, "cannot store the counts for the next start");
    }
    node.library.store().flush()?;
    Ok(end)
}

/// The configured listen addresses with each port 0 replaced by the port
/// bound for it (an address of the same shape among `bound`).
fn pin_ports(configured: &[libp2p::Multiaddr], bound: &[String]) -> Vec<String> {
    use libp2p::multiaddr::Protocol;
    let bound: Vec<libp2p::Multiaddr> = bound.iter().filter_map(|b| b.parse().ok()).collect();
    let zero = |p: &Protocol| matches!(p, Protocol::Tcp(0) | Protocol::Udp(0));
    let fits = |c: &libp2p::Multiaddr, b: &libp2p::Multiaddr| {
        c.len() <= b.len()
            && c.iter().zip(b.iter()).all(|(x, y)| match (&x, &y) {
                (Protocol::Ip4(a), Protocol::Ip4(_)) if a.is_unspecified() => true,
                (Protocol::Ip6(a), Protocol::Ip6(_)) if a.is_unspecified() => true,
                (Protocol::Tcp(0), Protocol::Tcp(_)) | (Protocol::Udp(0), Protocol::Udp(_)) => true,
                _ => x == y,
            })
    };
    configured
        .iter()
        .map(|c| {
            if !c.iter().any(|p| zero(&p)) {
                return c.to_string();
            }
            let Some(b) = bound.iter().find(|b| fits(c, b)) else {
                return c.to_string();
            };
            c.iter()
                .zip(b.iter())
                .map(|(x, y)| if zero(&x) { y } else { x })
                .collect::<libp2p::Multiaddr>()
                .to_string()
        })
        .collect()
}

/// Record where an HTTP listener is bound (for tests and the CLI).
fn write_addr(file: &Path, addr: std::net::SocketAddr) -> Result<(), NodeError> {
    let _ = std::fs::remove_file(file);
    std::fs::write(file, format!("{addr}\n")).map_err(|e| NodeError::Socket(file.to_owned(), e))
}

/// Bind an HTTP listener: `None` when it is off, or when the default
/// address is taken (another node on this machine has it; logged).
async fn bind_http(
    listen: crate::config::FeedListen,
    error: fn(std::net::SocketAddr, std::io::Error) -> NodeError,
    what: &str,
    setting: &str,
) -> Result<Option<tokio::net::TcpListener>, NodeError> {
    use crate::config::FeedListen;
    match listen {
        FeedListen::Off => Ok(None),
        FeedListen::Explicit(addr) => tokio::net::TcpListener::bind(addr)
            .await
            .map(Some)
            .map_err(|e| error(addr, e)),
        FeedListen::Default(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => Ok(Some(l)),
            Err(e) => {
                tracing::warn!(%addr, error = %e, "{what} not started (set {setting} in config.toml)");
                Ok(None)
            }
        },
    }
}

/// SIGINT and SIGTERM, caught from [`ShutdownSignal::install`] on.
struct ShutdownSignal {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn install() -> std::io::Result<ShutdownSignal> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(ShutdownSignal {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Until one of them arrives (at once if one already has).
    async fn wait(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_is_pinned_to_the_bound_port() {
        let configured: Vec<libp2p::Multiaddr> = [
            "/ip4/127.0.0.1/tcp/0",
            "/ip4/0.0.0.0/udp/0/quic-v1",
            "/ip4/127.0.0.1/tcp/7820",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        let bound = [
            "/ip4/127.0.0.1/udp/40001/quic-v1".to_owned(),
            "/ip4/127.0.0.1/tcp/40000".to_owned(),
            "/ip4/127.0.0.1/tcp/7820".to_owned(),
        ];
        assert_eq!(
            pin_ports(&configured, &bound),
            [
                "/ip4/127.0.0.1/tcp/40000",
                "/ip4/0.0.0.0/udp/40001/quic-v1",
                "/ip4/127.0.0.1/tcp/7820"
            ]
        );
    }
}
