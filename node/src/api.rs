//! Answering control requests on an opened node: one typed
//! [`Response`] per [`Request`]. Used by the library thread (for the
//! socket server and the web app) and by the CLI when it works on a
//! stopped node's store directly. Requests about the network (`peers`,
//! `sync`) are answered by the running node's network instead; here they
//! say the node is not running.

use chrono::Utc;

use r2com_protocol::calendar;
use r2com_protocol::control::{
    ApiError, ConsortiumStatus, ErrorCode, EventRow, Ics, PeerAdded, PracticeRow, Removed, Request,
    Response, Standing, Status,
};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;
use r2com_protocol::roster::Role;

use crate::library::LibraryError;
use crate::open::OpenNode;

/// Answer one request. `progress` hears of long work (an import's records).
pub fn dispatch(
    node: &OpenNode,
    request: Request,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Response, ApiError> {
    let lib = &node.library;
    let now = Utc::now();
    Ok(match request {
        Request::Status => Response::Status(status(node)?),
        Request::Import { data } => Response::Imported(lib.import(data, now, progress)?),
        Request::Export => Response::Dataset(lib.export()?),
        Request::List { kind, filter } => {
            let records = lib.list(kind, &filter)?;
            if filter.full {
                Response::Records(records)
            } else {
                rows(kind, &records)
            }
        }
        Request::Show { kind, id } => Response::Record(lib.show(kind, &id)?),
        Request::Add {
            kind,
            record,
            accept_ambiguous,
        } => Response::Record(lib.add(kind, record, accept_ambiguous, now)?),
        Request::Edit {
            kind,
            id,
            edits,
            accept_ambiguous,
        } => Response::Record(lib.edit(kind, &id, &edits, accept_ambiguous, now)?),
        Request::Remove { kind, id } => {
            lib.remove(kind, &id, now)?;
            Response::Removed(Removed {
                removed: format!("{kind}/{id}"),
            })
        }
        Request::Search { query, limit } => Response::Hits(lib.search(&query, limit)?),
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
            Response::Verified(report)
        }
        Request::Backup { out } => Response::BackedUp(crate::backup::write(
            &crate::backup::Source::of(lib)?,
            std::path::Path::new(&out),
        )?),
        Request::CalendarAgenda {
            from,
            to,
            zone,
            filter,
        } => Response::Agenda(lib.agenda(&from, &to, &zone, &filter)?),
        Request::CalendarIcs { filter } => {
            let events = lib.calendar_events(&filter)?;
            let ics = calendar::ics::render(&events, now).map_err(LibraryError::from)?;
            Response::Ics(Ics {
                events: events.len() as u64,
                ics,
            })
        }
        Request::ConsortiumCreate { name, org } => {
            Response::Founded(lib.consortium_create(&name, org, now)?)
        }
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
            let expires = chrono::Duration::seconds(expires_secs);
            Response::Invite(lib.invite(org, &key, role, expires, addrs, now)?)
        }
        Request::Join { token } => Response::Joined(lib.join(&token, now)?),
        Request::Members => Response::Members(lib.members()?),
        Request::Revoke { target, reason } => Response::Revoked(lib.revoke(&target, &reason, now)?),
        Request::SetRole { org, role } => Response::RoleSet(lib.set_role(&org, role, now)?),
        Request::RosterExport => Response::RosterFile(lib.roster_export()?),
        Request::RosterImport { data } => Response::RosterImported(lib.roster_import(data)?),
        Request::ChangesExport => Response::ChangesFile(lib.changes_export()?),
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
            Response::ChangesImported(report)
        }
        Request::PeerAdd { addr } => {
            lib.add_peer_addr(&addr)?;
            Response::PeerAdded(PeerAdded {
                added: addr,
                dialing: false,
            })
        }
        Request::Peers | Request::Sync { .. } => return Err(not_running()),
    })
}

/// The answer to network requests when no node runs.
pub fn not_running() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "the node is not running: start it with `r2com run`",
    )
}

/// This node's identity, consortium and counts (without listen addresses:
/// the network adds those).
fn status(node: &OpenNode) -> Result<Status, ApiError> {
    let lib = &node.library;
    let me = lib.key().public().to_hex();
    let consortium = lib.roster().map(|r| ConsortiumStatus {
        id: r.consortium.clone(),
        name: r.name.clone(),
        members: r.orgs.iter().filter(|o| o.revoked.is_none()).count() as u64,
        this_node: match r.find_key(&me) {
            None => Standing::NotAdmitted,
            Some(_) if !r.is_live_member(&me) => Standing::Revoked,
            Some(_) if r.is_admin(&me) => Standing::Admin,
            Some(_) => Standing::Member,
        },
    });
    Ok(Status {
        peer_id: crate::identity::peer_id(lib.key()),
        public_key: me,
        data_dir: node.data_dir.display().to_string(),
        consortium,
        running: node.running,
        counts: lib.counts()?,
        sync_digest: hex::encode(lib.summary()?.digest),
        listen: None,
        peers: None,
    })
}

/// The summary rows `list` shows for records of `kind`.
fn rows(kind: RecordKind, records: &[Record]) -> Response {
    match kind {
        RecordKind::Practice => Response::Practices(
            records
                .iter()
                .filter_map(|r| match r {
                    Record::Practice(p) => Some(PracticeRow::from(p)),
                    Record::Event(_) => None,
                })
                .collect(),
        ),
        RecordKind::Event => Response::Events(
            records
                .iter()
                .filter_map(|r| match r {
                    Record::Event(e) => Some(EventRow::from(e)),
                    Record::Practice(_) => None,
                })
                .collect(),
        ),
    }
}
