//! Staff accounts and their one-time links. A link goes alone on standard
//! output (so `$(r2com web login-url)` is the URL); what it is for goes to
//! standard error.

use std::io::{self, Write};

use r2com_protocol::control::{OneTimeLink, StaffAccount, StaffAdded, StaffRemoved};

use crate::output::{table, Human};

impl Human for StaffAdded {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.url)?;
        eprintln!(
            "added {} ({}): give them this link to set a password; it works once, until {}",
            self.user.name, self.user.role, self.expires_at
        );
        Ok(())
    }
}

impl Human for OneTimeLink {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.url)?;
        eprintln!(
            "for {}; the link works once, until {}",
            self.user, self.expires_at
        );
        Ok(())
    }
}

impl Human for Vec<StaffAccount> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows = self
            .iter()
            .map(|u| {
                vec![
                    u.name.clone(),
                    u.role.to_string(),
                    if u.password_set { "yes" } else { "no" }.to_owned(),
                    if u.feed { "yes" } else { "no" }.to_owned(),
                    u.created_at.clone(),
                ]
            })
            .collect();
        table(
            out,
            &["NAME", "ROLE", "PASSWORD", "CALENDAR ADDRESS", "CREATED"],
            rows,
            40,
        )
    }
}

impl Human for StaffAccount {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{} is now {}", self.name, self.role)
    }
}

impl Human for StaffRemoved {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "removed {}", self.removed)
    }
}
