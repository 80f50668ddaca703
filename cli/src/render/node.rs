//! This node's identity, and files written.

use std::io::{self, Write};

use serde::Serialize;

use r2com_protocol::control::{PeerRow, Standing, Status};

use crate::output::Human;

/// `id`.
#[derive(Serialize)]
pub struct Identity {
    pub public_key: String,
    pub peer_id: String,
}

/// `init`.
#[derive(Serialize)]
pub struct Initialised {
    pub public_key: String,
    pub peer_id: String,
    pub data_dir: String,
    /// False when the data directory had a key already (kept).
    pub created: bool,
}

/// An export written with `--out`: where, and how many bytes.
#[derive(Serialize)]
pub struct Written {
    pub written: String,
    pub bytes: u64,
}

impl Human for Identity {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "public key  {}", self.public_key)?;
        writeln!(out, "peer id     {}", self.peer_id)
    }
}

impl Human for Initialised {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if !self.created {
            eprintln!("r2com: {} has a key already; keeping it", self.data_dir);
        }
        writeln!(out, "public key  {}", self.public_key)?;
        writeln!(out, "peer id     {}", self.peer_id)?;
        writeln!(out, "data dir    {}", self.data_dir)
    }
}

/// Files are written silently, as `cp` would.
impl Human for Written {
    fn human(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

impl Human for Status {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "public key  {}", self.public_key)?;
        writeln!(out, "peer id     {}", self.peer_id)?;
        writeln!(out, "data dir    {}", self.data_dir)?;
        let node = if self.running {
            "running"
        } else {
            "stopped (store opened directly)"
        };
        writeln!(out, "node        {node}")?;
        if let Some(listen) = &self.listen {
            let listen = if listen.is_empty() {
                "-".to_owned()
            } else {
                listen.join(", ")
            };
            writeln!(out, "listening   {listen}")?;
        }
        if let Some(n) = &self.network {
            let relays: Vec<&str> = n
                .relay
                .reservations
                .iter()
                .filter(|r| r.accepted)
                .map(|r| r.relay.as_str())
                .collect();
            let through = if relays.is_empty() {
                String::new()
            } else {
                format!("; through relays {}", relays.join(", "))
            };
            let serving = if n.relay.serving {
                "; relaying for members"
            } else {
                ""
            };
            writeln!(out, "reachable   {}{through}{serving}", n.reachability)?;
        }
        match &self.consortium {
            None => writeln!(
                out,
                "consortium  none (r2com consortium create, or r2com join TOKEN)"
            )?,
            Some(c) => {
                let this: Standing = c.this_node;
                writeln!(
                    out,
                    "consortium  {} ({}), {} members; this node: {this}",
                    c.name, c.id, c.members
                )?
            }
        }
        let n = &self.counts;
        writeln!(
            out,
            "records     {} practices, {} events ({} documents, {} signed changes)",
            n.practices, n.events, n.documents, n.changes
        )?;
        for (i, p) in self.peers.iter().flatten().enumerate() {
            let label = if i == 0 { "members" } else { "" };
            writeln!(out, "{label:<11} {}", member_line(p))?;
        }
        Ok(())
    }
}

/// One member node in `status`: connected or not, in sync or how far
/// apart, and when it last synced.
fn member_line(p: &PeerRow) -> String {
    let link = if p.revoked {
        "revoked"
    } else if p.connected {
        "connected"
    } else {
        "not connected"
    };
    let sync = match (&p.last_sync, p.we_lack, p.they_lack) {
        (None, ..) => "never synced".to_owned(),
        (Some(_), 0, 0) => "in sync".to_owned(),
        (Some(_), we, they) => format!("this node lacks {we} changes, it lacks {they}"),
    };
    let last = match &p.last_sync {
        None => String::new(),
        Some(t) => format!(", last sync {t}{}", ago(t)),
    };
    format!("{} {}: {link}, {sync}{last}", p.org, p.peer_id)
}

/// " (5m ago)" for an RFC 3339 time in the past.
fn ago(t: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(t) else {
        return String::new();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
    if secs < 0 {
        return String::new();
    }
    let d = std::time::Duration::from_secs(secs as u64);
    format!(" ({} ago)", humantime::format_duration(d))
}
