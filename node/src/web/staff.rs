//! Managing staff accounts, shared by the admin pages and the CLI
//! (`r2com user ...`, `r2com web login-url`, through the control API):
//! accounts are made without a password and get a one-time link to choose
//! one; `web login-url` gives a one-time login link.

use chrono::{DateTime, Duration, Utc};

use r2com_protocol::control::{
    ApiError, ErrorCode, OneTimeLink, Request, Response, StaffAccount, StaffAdded, StaffRemoved,
};
use r2com_protocol::staff::{StaffRole, UserName};

use super::local::{LocalError, LocalStore, Purpose, User};
use crate::open::OpenNode;

/// How long a link to set a password works.
pub const SET_PASSWORD_VALID: Duration = Duration::days(7);
/// How long a one-time login link works.
pub const LOGIN_VALID: Duration = Duration::minutes(15);
/// The account `r2com web login-url` logs in as when no account is named:
/// an administrator without a password (only one-time links log it in).
pub const OPERATOR: &str = "operator";

/// The path of a one-time link.
pub fn link_path(purpose: Purpose, token: &str) -> String {
    match purpose {
        Purpose::Login => format!("/login/{token}"),
        Purpose::SetPassword => format!("/welcome/{token}"),
    }
}

/// Make an account and the path of the link that sets its password.
pub fn add(
    local: &LocalStore,
    name: &UserName,
    role: StaffRole,
    now: DateTime<Utc>,
) -> Result<(User, String), LocalError> {
    let user = local.add_user(name, role, now)?;
    let token = local.create_one_time(&user.name, Purpose::SetPassword, SET_PASSWORD_VALID, now)?;
    Ok((user, link_path(Purpose::SetPassword, &token)))
}

/// A new link for an account to (re)set its password.
pub fn password_link(
    local: &LocalStore,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, LocalError> {
    let token = local.create_one_time(name, Purpose::SetPassword, SET_PASSWORD_VALID, now)?;
    Ok(link_path(Purpose::SetPassword, &token))
}

/// A one-time login link for `name`, or for the operator account (made,
/// as an administrator, if missing).
pub fn login_link(
    local: &LocalStore,
    name: Option<&UserName>,
    now: DateTime<Utc>,
) -> Result<(String, String), LocalError> {
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            if local.user(OPERATOR)?.is_none() {
                let op = UserName::parse(OPERATOR).expect("a valid name");
                local.add_user(&op, StaffRole::Admin, now)?;
            }
            OPERATOR.to_owned()
        }
    };
    let token = local.create_one_time(&name, Purpose::Login, LOGIN_VALID, now)?;
    Ok((name, link_path(Purpose::Login, &token)))
}

/// Change an account's role.
pub fn set_role(local: &LocalStore, name: &str, role: StaffRole) -> Result<User, LocalError> {
    local.update_user(name, |u| u.role = role)
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> Self {
        let code = match &e {
            LocalError::NoSuchUser(_) => ErrorCode::NotFound,
            LocalError::UserExists(_) => ErrorCode::Exists,
            LocalError::Locked | LocalError::Sled(_) | LocalError::Corrupt(_) => {
                ErrorCode::Internal
            }
        };
        ApiError::new(code, e.to_string())
    }
}

/// An account as the CLI shows it (never its password hash or feed secret).
pub fn account(u: &User) -> StaffAccount {
    StaffAccount {
        name: u.name.clone(),
        role: u.role,
        password_set: u.password.is_some(),
        feed: u.feed.is_some(),
        created_at: u.created_at.clone(),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Answer the control requests about staff accounts.
pub fn dispatch(
    node: &OpenNode,
    request: Request,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let local = node.local()?;
    let url = |path: &str| format!("{}{path}", super::links::link_base(&node.data_dir));
    Ok(match request {
        Request::UserAdd { name, role } => {
            let (user, path) = add(&local, &name, role, now)?;
            Response::StaffAdded(StaffAdded {
                user: account(&user),
                url: url(&path),
                expires_at: rfc3339(now + SET_PASSWORD_VALID),
            })
        }
        Request::UserList => Response::Staff(local.users()?.iter().map(account).collect()),
        Request::UserRole { name, role } => {
            Response::StaffAccount(account(&set_role(&local, name.as_str(), role)?))
        }
        Request::UserLink { name } => {
            let path = password_link(&local, name.as_str(), now)?;
            Response::OneTimeLink(OneTimeLink {
                user: name.to_string(),
                url: url(&path),
                expires_at: rfc3339(now + SET_PASSWORD_VALID),
            })
        }
        Request::UserRemove { name } => {
            local.remove_user(name.as_str())?;
            Response::StaffRemoved(StaffRemoved {
                removed: name.to_string(),
            })
        }
        Request::WebLoginUrl { user } => {
            let (name, path) = login_link(&local, user.as_ref(), now)?;
            Response::OneTimeLink(OneTimeLink {
                user: name,
                url: url(&path),
                expires_at: rfc3339(now + LOGIN_VALID),
            })
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::Internal,
                format!("not a staff request: {}", other.name()),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_link_makes_the_operator_once() {
        let local = LocalStore::temporary();
        let now = Utc::now();
        let (name, path) = login_link(&local, None, now).unwrap();
        assert_eq!(name, OPERATOR);
        assert!(path.starts_with("/login/"));
        assert_eq!(
            local.user(OPERATOR).unwrap().unwrap().role,
            StaffRole::Admin
        );
        login_link(&local, None, now).unwrap();
        assert_eq!(local.users().unwrap().len(), 1);
        let nobody = UserName::parse("nobody").unwrap();
        assert!(matches!(
            login_link(&local, Some(&nobody), now),
            Err(LocalError::NoSuchUser(_))
        ));
        let ana = UserName::parse("ana").unwrap();
        let (user, path) = add(&local, &ana, StaffRole::Reader, now).unwrap();
        assert!(user.password.is_none());
        let token = path.strip_prefix("/welcome/").unwrap();
        assert_eq!(
            local.peek_one_time(token, now).unwrap().unwrap().purpose,
            Purpose::SetPassword
        );
        assert_eq!(
            set_role(&local, "ana", StaffRole::Editor).unwrap().role,
            StaffRole::Editor
        );
    }
}
