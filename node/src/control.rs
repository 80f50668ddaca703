//! The local control API: a Unix socket in the data directory (the
//! directory is 0700 and the socket 0600, so only the node's user reaches
//! it). One request per connection, answered by zero or more progress
//! frames and one final frame.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, info, warn, Instrument};

use r2com_protocol::control::{ApiError, ErrorCode, Frame, Request, MAX_REQUEST_LEN};
use r2com_protocol::roster::Role;

use crate::frame;
use crate::library_thread::LibraryHandle;
use crate::net::NetHandle;
use crate::open::OpenNode;

/// Control connections served at once; more wait.
const MAX_CONNECTIONS: usize = 16;
/// Progress frames buffered per request; more are dropped (progress is a hint).
const PROGRESS_CAPACITY: usize = 16;

/// Answer one request. Shared by the socket server and by the CLI when it
/// works on the store directly (node not running).
pub fn dispatch(
    node: &OpenNode,
    request: Request,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Value, ApiError> {
    let lib = &node.library;
    let now = Utc::now();
    let to_value = |v: &dyn erased::Ser| v.to_json();
    Ok(match request {
        Request::Status => {
            let counts = lib.counts()?;
            let me = lib.key().public().to_hex();
            let consortium = match lib.roster() {
                None => Value::Null,
                Some(r) => json!({
                    "id": r.consortium,
                    "name": r.name,
                    "members": r.orgs.iter().filter(|o| o.revoked.is_none()).count(),
                    "this_node": match r.find_key(&me) {
                        None => "not admitted yet",
                        Some(_) if !r.is_live_member(&me) => "revoked",
                        Some(_) if r.is_admin(&me) => "admin",
                        Some(_) => "member",
                    },
                }),
            };
            json!({
                "public_key": me,
                "peer_id": crate::identity::peer_id(lib.key()),
                "data_dir": node.data_dir.display().to_string(),
                "consortium": consortium,
                "running": node.running,
                "counts": counts,
                // Equal on two nodes exactly when they hold the same changes.
                "sync_digest": hex::encode(lib.summary()?.digest),
            })
        }
        Request::Import { data } => to_value(&lib.import(data, now, progress)?),
        Request::Export => to_value(&lib.export()?),
        Request::List { kind, filter } => Value::Array(lib.list(kind, &filter)?),
        Request::Show { kind, id } => lib.show(kind, &id)?.to_value(),
        Request::Add {
            kind,
            record,
            accept_ambiguous,
        } => lib.add(kind, record, accept_ambiguous, now)?.to_value(),
        Request::Edit {
            kind,
            id,
            edits,
            accept_ambiguous,
        } => lib
            .edit(kind, &id, &edits, accept_ambiguous, now)?
            .to_value(),
        Request::CalendarAgenda {
            from,
            to,
            zone,
            filter,
        } => to_value(&lib.agenda(&from, &to, &zone, &filter)?),
        Request::CalendarIcs { filter } => Value::String(lib.calendar_ics(&filter, now)?),
        Request::Remove { kind, id } => {
            lib.remove(kind, &id, now)?;
            json!({"removed": format!("{kind}/{id}")})
        }
        Request::Search { query, limit } => to_value(&lib.search(&query, limit)?),
        Request::Verify => {
            let report = lib.verify()?;
            if report.invalid > 0 {
                return Err(ApiError::new(
                    ErrorCode::VerifyFailed,
                    format!(
                        "{} of {} changes failed verification: {}",
                        report.invalid,
                        report.changes,
                        report.failures.join("; ")
                    ),
                ));
            }
            to_value(&report)
        }
        Request::ConsortiumCreate { name, org } => lib.consortium_create(&name, org, now)?,
        Request::Invite {
            org,
            key,
            admin,
            expires_secs,
            addrs,
        } => {
            if expires_secs <= 0 {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    "an invite must expire in the future",
                ));
            }
            let role = if admin { Role::Admin } else { Role::Member };
            lib.invite(
                org,
                &key,
                role,
                chrono::Duration::seconds(expires_secs),
                addrs,
                now,
            )?
        }
        Request::Join { token } => lib.join(&token, now)?,
        Request::Members => lib.members()?,
        Request::Revoke { target, reason } => lib.revoke(&target, &reason, now)?,
        Request::SetRole { org, role } => lib.set_role(&org, role, now)?,
        Request::RosterExport => lib.roster_export()?,
        Request::RosterImport { data } => lib.roster_import(data)?,
        Request::ChangesExport => lib.changes_export()?,
        Request::Peers | Request::Sync { .. } => {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "the node is not running: start it with `r2com run`",
            ))
        }
        Request::PeerAdd { addr } => {
            lib.add_peer_addr(&addr)?;
            json!({"added": addr, "dialing": false})
        }
        Request::ChangesImport { data } => {
            let report = lib.changes_import(data)?;
            if report.refused > 0 {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    format!(
                        "{} of {} changes refused ({} applied): {}",
                        report.refused,
                        report.received,
                        report.applied,
                        report.refusals.join("; ")
                    ),
                ));
            }
            to_value(&report)
        }
    })
}

mod erased {
    pub trait Ser {
        fn to_json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("responses serialize")
        }
    }
}

/// Bind the control socket (replacing a stale one: the store lock already
/// proves no other node runs on this directory).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => debug!(path = %path.display(), "removed stale control socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serve control connections until the listener fails.
pub async fn serve(listener: UnixListener, library: LibraryHandle, net: Option<NetHandle>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut next_id: u64 = 0;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        next_id += 1;
        let library = library.clone();
        let net = net.clone();
        let span = tracing::info_span!("control", conn = next_id);
        tokio::spawn(
            async move {
                if let Err(e) = handle(stream, library, net).await {
                    debug!(error = %e, "control connection ended with an error");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
}

/// Requests the network answers (when the node runs).
async fn network_request(
    net: &NetHandle,
    library: &LibraryHandle,
    request: &Request,
) -> Option<Result<Value, ApiError>> {
    let unavailable = |e: String| ApiError::new(ErrorCode::Unavailable, e);
    Some(match request {
        Request::Peers => net.peers().await.map_err(unavailable),
        Request::Sync { peer } => net.sync(peer.clone()).await.map_err(unavailable),
        Request::PeerAdd { addr } => {
            let parsed: libp2p::Multiaddr = match addr.parse() {
                Ok(a) => a,
                Err(e) => {
                    return Some(Err(ApiError::new(
                        ErrorCode::Invalid,
                        format!("{addr:?} is not a multiaddr: {e}"),
                    )))
                }
            };
            net.add_peer(parsed)
                .await
                .map(|_| json!({"added": addr, "dialing": true}))
                .map_err(unavailable)
        }
        Request::Status => {
            let (tx, _rx) = mpsc::channel(1);
            let mut v = match library.call(Request::Status, tx).await {
                Ok(v) => v,
                Err(e) => return Some(Err(e)),
            };
            v["listen"] = json!(net.listen_addrs().await.unwrap_or_default());
            Ok(v)
        }
        _ => return None,
    })
}

async fn handle(
    mut stream: UnixStream,
    library: LibraryHandle,
    net: Option<NetHandle>,
) -> std::io::Result<()> {
    let Some(bytes) = frame::read_async(&mut stream, MAX_REQUEST_LEN).await? else {
        return Ok(());
    };
    let request: Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let f = Frame::Error(ApiError::new(
                ErrorCode::Invalid,
                format!("bad request: {e}"),
            ));
            return frame::write_async(&mut stream, &serde_json::to_vec(&f)?).await;
        }
    };
    drop(bytes);
    let op = op_name(&request);
    debug!(op, "request");
    let (tx, mut rx) = mpsc::channel::<(u64, u64)>(PROGRESS_CAPACITY);
    if let Some(net) = &net {
        if let Some(result) = network_request(net, &library, &request).await {
            match &result {
                Ok(_) => info!(op, "done"),
                Err(e) => info!(op, error = %e, "refused"),
            }
            let f = match result {
                Ok(v) => Frame::Ok(v),
                Err(e) => Frame::Error(e),
            };
            return frame::write_async(&mut stream, &serde_json::to_vec(&f)?).await;
        }
    }
    let work = library.call(request, tx);
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            Some((done, total)) = rx.recv() => {
                let f = Frame::Progress { done, total };
                frame::write_async(&mut stream, &serde_json::to_vec(&f)?).await?;
            }
        }
    };
    match &result {
        Ok(_) => info!(op, "done"),
        Err(e) => info!(op, error = %e, "refused"),
    }
    let f = match result {
        Ok(v) => Frame::Ok(v),
        Err(e) => Frame::Error(e),
    };
    frame::write_async(&mut stream, &serde_json::to_vec(&f)?).await
}

fn op_name(r: &Request) -> &'static str {
    match r {
        Request::Status => "status",
        Request::Import { .. } => "import",
        Request::Export => "export",
        Request::List { .. } => "list",
        Request::Show { .. } => "show",
        Request::Add { .. } => "add",
        Request::Edit { .. } => "edit",
        Request::Remove { .. } => "remove",
        Request::Search { .. } => "search",
        Request::Verify => "verify",
        Request::ConsortiumCreate { .. } => "consortium_create",
        Request::Invite { .. } => "invite",
        Request::Join { .. } => "join",
        Request::Members => "members",
        Request::Revoke { .. } => "revoke",
        Request::SetRole { .. } => "set_role",
        Request::RosterExport => "roster_export",
        Request::RosterImport { .. } => "roster_import",
        Request::ChangesExport => "changes_export",
        Request::Peers => "peers",
        Request::Sync { .. } => "sync",
        Request::PeerAdd { .. } => "peer_add",
        Request::ChangesImport { .. } => "changes_import",
        Request::CalendarAgenda { .. } => "calendar_agenda",
        Request::CalendarIcs { .. } => "calendar_ics",
    }
}
