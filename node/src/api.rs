//! Answering control requests on an opened node: one typed
//! [`Response`] per [`Request`]. Used by the library thread (for the
//! socket server and the web app) and by the CLI when it works on a
//! stopped node's store directly. Requests about the network (`peers`,
//! `sync`) are answered by the running node's network instead; here they
//! say the node is not running.

use std::path::Path;

use chrono::Utc;

use r2com_protocol::control::{
    ApiError, Attached, AttachmentRow, ConsortiumStatus, Detached, ErrorCode, FileWritten, Ics,
    PeerAdded, Removed, Request, Response, Standing, Status,
};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Attachment;
use r2com_protocol::roster::Role;

use crate::files::{parse_hash, Fetched};
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
        Request::ExportPage { after, limit } => {
            Response::RecordPage(lib.export_page(after.as_deref(), limit)?)
        }
        Request::List { kind, filter } if filter.full => {
            Response::Records(lib.list(kind, &filter)?)
        }
        Request::List {
            kind: RecordKind::Practice,
            filter,
        } => Response::Practices(lib.practice_rows(&filter)?),
        Request::List {
            kind: RecordKind::Event,
            filter,
        } => Response::Events(lib.event_rows(&filter)?),
        Request::Show { kind, id } => Response::Record(lib.show(kind, &id)?),
        Request::Translations { id } => Response::Translations(lib.translations(&id)?),
        Request::Add {
            kind,
            record,
            accept_ambiguous,
            reuse,
        } => {
            if reuse {
                if let Some(id) = record.get("id").and_then(|v| v.as_str()) {
                    lib.reuse_erased(kind, id, now)?;
                }
            }
            Response::Record(lib.add(kind, record, accept_ambiguous, now)?)
        }
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
            if report.invalid > 0 || report.files_invalid > 0 {
                return Err(ApiError::new(
                    ErrorCode::VerifyFailed,
                    format!(
                        "{} of {} changes and {} of {} files failed verification: {}",
                        report.invalid,
                        report.changes,
                        report.files_invalid,
                        report.files,
                        report.failures.join("; ")
                    ),
                ));
            }
            Response::Verified(report)
        }
        Request::Backup { out, without_files } => Response::BackedUp(crate::backup::write(
            &crate::backup::Source::of(lib, !without_files)?,
            std::path::Path::new(&out),
        )?),
        Request::History { record, diff } => Response::History(lib.history(&record, diff)?),
        Request::Log { since, org, limit } => {
            Response::Log(lib.log(since.as_deref(), org.as_deref(), limit)?)
        }
        Request::Conflicts => Response::Conflicts(lib.conflicts()?),
        Request::Erase { record, reason } => Response::Erased(lib.erase(&record, &reason, now)?),
        Request::Resolve {
            record,
            field,
            resolution,
        } => Response::Resolved(lib.resolve(&record, &field, &resolution, now)?),
        Request::CalendarAgenda {
            from,
            to,
            zone,
            filter,
        } => Response::Agenda(lib.agenda(&from, &to, &zone, &filter)?),
        Request::CalendarIcs { filter } => {
            let rendered = lib.calendar_ics(&filter, now)?;
            Response::Ics(Ics {
                events: rendered.events,
                ics: rendered.ics,
                skipped: rendered.skipped.iter().map(|e| e.to_string()).collect(),
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
            // Out of chrono's range means far more than any invite may
            // last: the library refuses it with the limit.
            let expires =
                chrono::Duration::try_seconds(expires_secs).unwrap_or(chrono::Duration::MAX);
            Response::Invite(lib.invite(org, &key, role, expires, addrs, now)?)
        }
        Request::Join { token } => Response::Joined(lib.join(&token, now)?),
        Request::Members => Response::Members(lib.members()?),
        Request::Revoke { target, reason } => Response::Revoked(lib.revoke(&target, &reason, now)?),
        Request::InviteWithdraw { invite } => {
            Response::InviteWithdrawn(lib.withdraw_invite(&invite, now)?)
        }
        Request::SetRole { org, role } => Response::RoleSet(lib.set_role(&org, role, now)?),
        Request::RosterExport => Response::RosterFile(lib.roster_export()?),
        Request::RosterImport { data } => Response::RosterImported(lib.roster_import(data, now)?),
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
        Request::Attach {
            id,
            path,
            title,
            language,
        } => Response::Attached(attach(node, &id, &path, title, language)?),
        Request::Detach { id, hash } => Response::Detached(detach(node, &id, &hash)?),
        Request::Attachments { missing } => Response::Attachments(attachments(node, missing)?),
        Request::AttachmentGet { hash, out } => {
            Response::FileWritten(export_held(node, &hash, &out, None)?)
        }
        Request::UserAdd { .. }
        | Request::UserList
        | Request::UserRole { .. }
        | Request::UserLink { .. }
        | Request::UserRemove { .. }
        | Request::WebLoginUrl { .. } => crate::web::staff::dispatch(node, request, now)?,
        Request::Peers | Request::Sync { .. } => return Err(not_running()),
        Request::KeyRotate { .. } => {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "key rotate needs the running node, connected to a member: the new key's \
                 admission must reach a member before this node switches to it. Start it \
                 with `r2com run`",
            ))
        }
    })
}

/// Copy a file into the store and add its reference to a record.
fn attach(
    node: &OpenNode,
    id: &str,
    path: &str,
    title: Option<String>,
    language: Option<String>,
) -> Result<Attached, ApiError> {
    let path = Path::new(path);
    if !path.is_absolute() {
        return Err(ApiError::new(
            ErrorCode::Invalid,
            format!("{} is not an absolute path", path.display()),
        ));
    }
    // Refuse before copying a file to a record that does not exist.
    node.library.find_record(id)?;
    let attachment = node.files.ingest(path)?.attachment(path, title, language);
    let (record, attachment) = node.library.attach(id, attachment, Utc::now())?;
    Ok(Attached {
        record: format!("{}/{}", record.kind(), record.id()),
        attachment,
    })
}

/// Remove a reference; delete this node's copy if no record refers to the
/// file any more.
fn detach(node: &OpenNode, id: &str, hash: &str) -> Result<Detached, ApiError> {
    let record = node.library.detach(id, hash, Utc::now())?;
    let mut file_removed = false;
    if node.library.reference(hash)?.is_none() {
        if let Some(h) = parse_hash(hash) {
            file_removed = node.files.remove(&h)?;
        }
    }
    Ok(Detached {
        record: format!("{}/{}", record.kind(), record.id()),
        hash: hash.to_owned(),
        file_removed,
    })
}

fn attachments(node: &OpenNode, missing: bool) -> Result<Vec<AttachmentRow>, ApiError> {
    let held =
        |a: &Attachment| parse_hash(&a.hash).and_then(|h| node.files.holds(&h)) == Some(a.size);
    let mut rows = node.library.attachment_rows(&held)?;
    if missing {
        rows.retain(|r| !r.held);
    }
    Ok(rows)
}

/// The hash of a file some record refers to, and its size.
pub fn referenced(node: &OpenNode, hash: &str) -> Result<([u8; 32], u64), ApiError> {
    let h = parse_hash(hash).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Invalid,
            format!("{hash:?} is not a file hash (64 lowercase hex digits)"),
        )
    })?;
    match node.library.reference(hash)? {
        Some(a) => Ok((h, a.size)),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no practice or event refers to file {hash}"),
        )),
    }
}

/// Write a file this node holds to `out` (`fetched`: what a fetch just did).
pub fn export_held(
    node: &OpenNode,
    hash: &str,
    out: &str,
    fetched: Option<Fetched>,
) -> Result<FileWritten, ApiError> {
    let (h, size) = referenced(node, hash)?;
    let out_path = Path::new(out);
    if !out_path.is_absolute() {
        return Err(ApiError::new(
            ErrorCode::Invalid,
            format!("{out} is not an absolute path"),
        ));
    }
    if node.files.holds(&h) != Some(size) {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "file {hash} is not held here; start the node (`r2com run`) to fetch it from members"
            ),
        ));
    }
    let bytes = node.files.export(&h, out_path)?;
    let fetched = fetched.unwrap_or_default();
    Ok(FileWritten {
        hash: hash.to_owned(),
        written: out.to_owned(),
        bytes,
        fetched: fetched.fetched,
        resumed: fetched.resumed,
        from: fetched.from,
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
        network: None,
    })
}
