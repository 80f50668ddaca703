//! The consortium: founding, invites, members, roster and change hand-over.

use std::io::{self, Write};

use r2com_protocol::control::{
    ChangesFile, ChangesImported, Founded, InviteIssued, InviteWithdrawn, Joined, KeyRotated,
    Members, Revoked, RoleSet, RosterFile, RosterImported, RotationState,
};

use super::library::name;
use crate::output::{table, Human};

impl Human for Founded {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "founded consortium {} ({})",
            self.name, self.consortium
        )
    }
}

/// The token alone on standard output (to pipe or copy), the note on
/// standard error.
impl Human for InviteIssued {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        eprintln!(
            "invite {} for {} valid until {}; give this token to that node (r2com join TOKEN):",
            self.invite, self.key, self.expires_at
        );
        writeln!(out, "{}", self.token)
    }
}

impl Human for Joined {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        match (self.admitted, &self.admitted_by) {
            (true, Some(by)) => writeln!(
                out,
                "joined consortium {} as {}; admitted by {by}",
                self.consortium, self.org
            )?,
            (true, None) => writeln!(out, "joined consortium {} as {}", self.consortium, self.org)?,
            (false, _) => {
                let addrs = if self.addrs.is_empty() {
                    "-".to_owned()
                } else {
                    self.addrs.join(", ")
                };
                writeln!(
                    out,
                    "invite accepted for consortium {} as {}; admission completes when a member \
                     receives it (addresses: {addrs})",
                    self.consortium, self.org
                )?
            }
        }
        for e in &self.dial_errors {
            writeln!(out, "  cannot reach {}: {}", e.addr, e.error)?;
        }
        Ok(())
    }
}

impl Human for Members {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let short = |s: &str| s.chars().take(16).collect::<String>();
        let mut rows = Vec::new();
        for o in &self.orgs {
            for k in &o.keys {
                let revoked = match (&o.revoked, &k.revoked) {
                    (Some(r), _) => format!("org revoked {}", r.at),
                    (None, Some(r)) => format!("key revoked {}", r.at),
                    (None, None) => "-".into(),
                };
                rows.push(vec![
                    o.key.clone(),
                    o.name.clone(),
                    o.country.clone(),
                    name(&o.role),
                    short(&k.key),
                    short(&k.added_by),
                    k.added_at.clone(),
                    revoked,
                ]);
            }
        }
        let headers = [
            "ORG", "NAME", "CC", "ROLE", "NODE KEY", "ADDED BY", "ADDED AT", "REVOKED",
        ];
        table(out, &headers, rows, 40)
    }
}

impl Human for KeyRotated {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        match self.state {
            RotationState::NeedsInvite => {
                writeln!(out, "new key:  {}", self.new_key)?;
                writeln!(out, "PeerId:   {}", self.new_peer_id)?;
                writeln!(
                    out,
                    "This node's organisation is not an admin. Ask an admin to run:"
                )?;
                writeln!(out, "    {}", self.invite_command.as_deref().unwrap_or(""))?;
                writeln!(out, "then run here: r2com key rotate --token TOKEN")
            }
            RotationState::Switched => {
                writeln!(
                    out,
                    "old key:  {} (revoked as the node restarts)",
                    self.old_key
                )?;
                writeln!(out, "new key:  {}", self.new_key)?;
                writeln!(out, "PeerId:   {}", self.new_peer_id)?;
                writeln!(
                    out,
                    "confirmed by {}; the node restarts under the new key",
                    self.confirmed_by.as_deref().unwrap_or("a member")
                )
            }
        }
    }
}

impl Human for Revoked {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "revoked {}", self.revoked.join(", "))
    }
}

impl Human for InviteWithdrawn {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "withdrew invite {} for {}", self.invite, self.key)
    }
}

impl Human for RoleSet {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{} is now {}", self.org, name(&self.role))
    }
}

/// The hand-over file itself (compact JSON, one line).
impl Human for RosterFile {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        writeln!(out)
    }
}

/// The hand-over file itself (compact JSON, one line).
impl Human for ChangesFile {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        writeln!(out)
    }
}

impl Human for RosterImported {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "added {} roster entries ({} admissions witnessed); {} refused, {} refused by the \
             roster rules, {} pending; this node is {}",
            self.added,
            self.witnessed,
            self.refused.len(),
            self.rejected_by_rules.len(),
            self.pending.len(),
            if self.admitted {
                "admitted"
            } else {
                "not admitted yet"
            }
        )?;
        for r in &self.refused {
            writeln!(out, "refused: {r}")?;
        }
        for r in &self.rejected_by_rules {
            writeln!(out, "refused by the rules: {}: {}", r.id, r.reason)?;
        }
        Ok(())
    }
}

impl Human for ChangesImported {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "received {} changes: {} applied, {} already here, {} refused",
            self.received, self.applied, self.duplicates, self.refused
        )
    }
}
