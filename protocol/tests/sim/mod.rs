//! The simulation's parts: who is who (here), the stores (`store`) and
//! what the sync machine asks of them (`replica`), the network (`net`),
//! the honest admins' roster moves (`roster_moves`), the adversaries'
//! moves (`adversary`), and the checks at the end of a run (`verdict`).

pub mod adversary;
pub mod net;
pub mod replica;
pub mod roster_moves;
pub mod store;
pub mod verdict;

use r2com_protocol::identity::NodeKey;
use r2com_protocol::roster::OrgInfo;

/// Honest nodes 0..HONEST: 0 founds the consortium, 1 is an admin it
/// invited first (senior to every other admin), JOINER joins mid-run.
pub const HONEST: usize = 8;
pub const JOINER: usize = 7;
/// A member revoked mid-run that keeps writing.
pub const REVOKED: usize = 8;
/// Never admitted; signs changes of its own.
pub const STRANGER: usize = 9;
/// An admin (junior to 1) that 1 revokes mid-run, and that then fights
/// back: backdated entries, re-cased copies, ground ids, a revocation of
/// its revoker and of the founder, sock-puppet admissions.
pub const ROGUE_ADMIN: usize = 10;
/// Invited with a short expiry; hands in its admission too late.
pub const LATE: usize = 11;
pub const NODES: usize = 12;
/// Keys of the rogue admin's sock puppets (never nodes).
pub const SOCKS: std::ops::Range<usize> = 20..24;

pub fn key(i: usize) -> NodeKey {
    NodeKey::from_seed([i as u8 + 11; 32])
}

pub fn hex_key(i: usize) -> String {
    key(i).public().to_hex()
}

pub fn org(i: usize) -> OrgInfo {
    OrgInfo {
        key: format!("org{i}"),
        name: format!("Organisation {i}"),
        country: "FR".into(),
    }
}
