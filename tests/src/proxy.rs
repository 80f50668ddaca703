//! A TCP forwarder on loopback between two nodes, for tests and benches:
//! counts the bytes each way, and can delay, drop (close a connection at
//! random), cut and heal the link.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct LinkState {
    cut: AtomicBool,
    delay_ms: AtomicU64,
    /// Chance per forwarded chunk, in 1/1000, that the connection is
    /// dropped (closed both ways).
    drop_permille: AtomicU64,
    rng: AtomicU64,
    conns: Mutex<Vec<TcpStream>>,
    /// Bytes from the dialing side to the target.
    up: AtomicU64,
    /// Bytes from the target back to the dialing side.
    down: AtomicU64,
}

impl LinkState {
    fn roll(&self) -> u64 {
        // xorshift over a shared seed; races only reorder the sequence.
        let mut x = self.rng.load(Ordering::Relaxed).max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x % 1000
    }

    fn close_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// One link: a TCP forwarder from a local port to a node's port.
pub struct Proxy {
    pub port: u16,
    state: Arc<LinkState>,
}

impl Proxy {
    /// Forward a new loopback port to `target`; `seed` seeds the random
    /// drops.
    pub fn to(target: SocketAddr, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(LinkState::default());
        state.rng.store(seed, Ordering::Relaxed);
        let st = state.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { continue };
                if st.cut.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                {
                    let mut conns = st.conns.lock().unwrap();
                    conns.push(inbound.try_clone().unwrap());
                    conns.push(outbound.try_clone().unwrap());
                }
                let up = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                let down = (outbound, inbound);
                for (i, (from, to)) in [up, down].into_iter().enumerate() {
                    let st = st.clone();
                    std::thread::spawn(move || {
                        let count = if i == 0 { &st.up } else { &st.down };
                        pump(from, to, &st, count)
                    });
                }
            }
        });
        Proxy { port, state }
    }

    /// The proxy's multiaddr, for `--addr` and `peer add`.
    pub fn addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.port)
    }

    /// Refuse new connections and close the open ones.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        self.state.close_all();
    }

    /// Back to a clean link.
    pub fn heal(&self) {
        self.state.delay_ms.store(0, Ordering::SeqCst);
        self.state.drop_permille.store(0, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// Delay every chunk by `delay_ms`, and drop the connection at a chunk
    /// with a chance of `drop_permille`/1000.
    pub fn degrade(&self, delay_ms: u64, drop_permille: u64) {
        self.state.delay_ms.store(delay_ms, Ordering::SeqCst);
        self.state
            .drop_permille
            .store(drop_permille, Ordering::SeqCst);
    }

    /// Bytes forwarded so far: (target to dialer, dialer to target).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.state.down.load(Ordering::Relaxed),
            self.state.up.load(Ordering::Relaxed),
        )
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, st: &LinkState, count: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delay = st.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if st.cut.load(Ordering::SeqCst) || st.roll() < st.drop_permille.load(Ordering::SeqCst) {
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// The socket address of a `/ip4/A.B.C.D/tcp/PORT` multiaddr.
pub fn socket_addr(multiaddr: &str) -> SocketAddr {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    assert!(
        parts.len() >= 5 && parts[1] == "ip4" && parts[3] == "tcp",
        "not an ip4/tcp multiaddr: {multiaddr}"
    );
    format!("{}:{}", parts[2], parts[4])
        .parse()
        .unwrap_or_else(|e| panic!("{multiaddr}: {e}"))
}
