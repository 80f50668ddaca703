//! Staff accounts of a node's web app: their names and roles. The accounts
//! themselves stay on their node (never replicated); these types are here
//! because the control API carries them (`r2com user add NAME --role ROLE`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a staff account may do in the web app. Ordered: each role may do
/// what the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Reads the library and the calendar, subscribes to the calendar.
    Reader,
    /// Also adds, edits and deletes practices and events.
    Editor,
    /// Also manages staff accounts and sees the consortium and sync state.
    Admin,
}

impl StaffRole {
    pub const ALL: [StaffRole; 3] = [StaffRole::Reader, StaffRole::Editor, StaffRole::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Reader => "reader",
            StaffRole::Editor => "editor",
            StaffRole::Admin => "admin",
        }
    }

    /// May change records.
    pub fn may_edit(self) -> bool {
        self >= StaffRole::Editor
    }

    /// May manage accounts and see the consortium.
    pub fn is_admin(self) -> bool {
        self == StaffRole::Admin
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StaffRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("{s:?} is not a role: write reader, editor or admin"))
    }
}

/// Longest account name.
pub const MAX_USER_NAME: usize = 64;

/// A valid account name: 1 to [`MAX_USER_NAME`] characters of lower-case
/// ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit
/// (safe in URLs, logs and file names; e-mail-like names fit with `.`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub fn parse(s: &str) -> Result<UserName, String> {
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if s.is_empty() || s.len() > MAX_USER_NAME {
            return Err(format!(
                "an account name has 1 to {MAX_USER_NAME} characters"
            ));
        }
        if !s.chars().all(ok_char) || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "{s:?} is not an account name: use lower-case letters, digits, '.', '_' \
                 and '-', starting with a letter or digit"
            ));
        }
        Ok(UserName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UserName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_names() {
        assert_eq!("Editor".parse::<StaffRole>(), Ok(StaffRole::Editor));
        assert!("boss".parse::<StaffRole>().is_err());
        assert!(StaffRole::Admin.may_edit() && !StaffRole::Reader.may_edit());
        assert!(!StaffRole::Editor.is_admin());
        for ok in ["ana", "ana.silva", "j_doe-2", "0x"] {
            assert!(UserName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Ana",
            "ana silva",
            ".ana",
            "ana/..",
            &"a".repeat(65),
            "é",
        ] {
            assert!(UserName::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<UserName>("\"Bad Name\"").is_err());
    }
}
