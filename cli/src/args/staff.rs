//! `r2com user ...` and `r2com web ...`: the web app's staff accounts.

use clap::Subcommand;

use r2com_protocol::staff::{StaffRole, UserName};

fn user_name(s: &str) -> Result<UserName, String> {
    UserName::parse(s)
}

fn staff_role(s: &str) -> Result<StaffRole, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Make an account; prints a one-time link (valid 7 days) with which
    /// its owner sets a password.
    Add {
        /// Account name: lower-case letters, digits, '.', '_' and '-'.
        #[arg(value_parser = user_name)]
        name: UserName,
        /// reader (reads), editor (also adds and edits records) or admin
        /// (also manages accounts and sees the consortium).
        #[arg(long, value_parser = staff_role)]
        role: StaffRole,
    },
    /// The accounts, their roles and whether they have set a password.
    List,
    /// Change an account's role.
    Role {
        #[arg(value_parser = user_name)]
        name: UserName,
        #[arg(value_parser = staff_role)]
        role: StaffRole,
    },
    /// Print a new one-time link (valid 7 days) to set the account's password.
    Link {
        #[arg(value_parser = user_name)]
        name: UserName,
    },
    /// Delete an account; its sessions and calendar address stop working.
    Rm {
        #[arg(value_parser = user_name)]
        name: UserName,
    },
}

#[derive(Subcommand, Debug)]
pub enum WebCmd {
    /// Print a one-time URL (valid 15 minutes) that logs into the web app:
    /// as the operator account (an admin without a password, made on first
    /// use), or as --user.
    LoginUrl {
        #[arg(long, value_parser = user_name)]
        user: Option<UserName>,
    },
}
