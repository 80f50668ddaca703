//! The consortium page, for the organisation's admins: the members and
//! their nodes, each node connected or not (directly or through a relay),
//! in sync or how far behind, and when it last synced. Invites and
//! revocations stay with the CLI; they are shown here read-only.

use askama::Template;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use r2com_protocol::control::{Connection, PeerRow};
use r2com_protocol::roster::Role;
use r2com_protocol::staff::StaffRole;

use super::files::size;
use super::page::{render, Answer, Failure, Page};
use super::session::Staff;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/consortium", get(consortium))
}

struct OrgView {
    key: String,
    name: String,
    country: String,
    role: String,
    added: String,
    revoked: Option<String>,
    keys: usize,
}

struct NodeView {
    org: String,
    peer_id: String,
    revoked: bool,
    connected: bool,
    link: String,
    sync: String,
    in_sync: bool,
    last_sync: String,
    traffic: String,
}

#[derive(Template)]
#[template(path = "consortium.html")]
struct ConsortiumPage {
    page: Page,
    name: Option<String>,
    id: String,
    this_node: String,
    orgs: Vec<OrgView>,
    nodes: Vec<NodeView>,
    network: bool,
}

/// How a node is reached, as the network reports it: a relayed
/// connection carries sync but not files (the relay's circuit limits).
fn link_key(p: &PeerRow) -> &'static str {
    match (p.connected, p.connection) {
        (false, _) => "consortium-not-connected",
        (true, Some(Connection::Relayed)) => "consortium-relayed",
        (true, _) => "consortium-direct",
    }
}

async fn consortium(State(state): State<AppState>, staff: Staff) -> Answer {
    let page = staff.page("consortium", staff.lang.t("consortium-title"));
    staff.require(StaffRole::Admin, &page)?;
    let status = state
        .api
        .status()
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let roster = state
        .api
        .members()
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let Some(roster) = roster else {
        return Ok(render(&ConsortiumPage {
            name: None,
            id: String::new(),
            this_node: status.peer_id,
            orgs: Vec::new(),
            nodes: Vec::new(),
            network: state.net.is_some(),
            page,
        }));
    };
    let orgs = roster
        .orgs
        .iter()
        .map(|o| OrgView {
            key: o.key.clone(),
            name: o.name.clone(),
            country: o.country.clone(),
            role: page.t(match o.role {
                Role::Admin => "consortium-role-admin",
                Role::Member => "consortium-role-member",
            }),
            added: page.when(&o.added_at),
            revoked: o.revoked.as_ref().map(|r| {
                page.t2(
                    "consortium-revoked",
                    ("when", &page.when(&r.at)),
                    ("reason", &r.reason),
                )
            }),
            keys: o.keys.len(),
        })
        .collect();
    let peers: Vec<PeerRow> = match &state.net {
        Some(net) => net.peers().await.map(|p| p.members).unwrap_or_default(),
        None => Vec::new(),
    };
    let nodes = peers
        .iter()
        .map(|p| {
            let in_sync = p.last_sync.is_some() && p.we_lack == 0 && p.they_lack == 0;
            NodeView {
                org: p.org.clone(),
                peer_id: p.peer_id.clone(),
                revoked: p.revoked,
                connected: p.connected,
                link: page.t(link_key(p)),
                sync: if p.last_sync.is_none() {
                    page.t("consortium-never-synced")
                } else if in_sync {
                    page.t("consortium-in-sync")
                } else {
                    page.t2(
                        "consortium-behind",
                        ("we", &p.we_lack.to_string()),
                        ("they", &p.they_lack.to_string()),
                    )
                },
                in_sync,
                last_sync: p
                    .last_sync
                    .as_deref()
                    .map(|t| page.when(t))
                    .unwrap_or_default(),
                traffic: format!("↑ {} / ↓ {}", size(p.bytes_sent), size(p.bytes_received)),
            }
        })
        .collect();
    Ok(render(&ConsortiumPage {
        name: Some(roster.name),
        id: roster.consortium,
        this_node: status.peer_id,
        orgs,
        nodes,
        network: state.net.is_some(),
        page,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(connected: bool, relayed: bool) -> PeerRow {
        PeerRow {
            org: "ips".into(),
            key: "k".into(),
            peer_id: "p".into(),
            revoked: false,
            connected,
            connection: connected.then_some(if relayed {
                Connection::Relayed
            } else {
                Connection::Direct
            }),
            via: None,
            // A relayed address is known even for a direct connection.
            addrs: vec!["/ip4/1.2.3.4/tcp/1/p2p/r/p2p-circuit/p2p/p".into()],
            dial_error: None,
            last_sync: None,
            we_lack: 0,
            they_lack: 0,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    #[test]
    fn the_link_is_what_the_network_reports() {
        assert_eq!(link_key(&row(false, true)), "consortium-not-connected");
        assert_eq!(link_key(&row(true, true)), "consortium-relayed");
        assert_eq!(link_key(&row(true, false)), "consortium-direct");
    }
}
