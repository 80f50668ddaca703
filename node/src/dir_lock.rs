//! Who works on a data directory's store: `DATA_DIR/node.lock`.
//!
//! `r2com run` holds an exclusive `flock` on it for as long as it runs; a
//! CLI command that works on the store directly (no node answers on the
//! control socket) holds it only while it works. The store itself (sled)
//! has a lock of its own that fails at once when taken; this one is taken
//! *first* and can be waited for, so that:
//!
//! * `run` waits (bounded, with a log line) for a CLI command that has the
//!   store open, instead of failing with "could not acquire lock";
//! * a CLI command never opens the store while a node holds this lock (it
//!   is starting, running or stopping): it waits for the node's control
//!   socket instead, so it cannot take the store away from a starting node.
//!
//! The file holds the holder's pid and role, for messages only.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::data_dir::LOCK_FILE;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file cannot be opened or locked.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// Another process kept the lock for the whole wait.
    #[error(
        "the data directory {dir} is in use by {holder} (waited {waited:?}); stop it or try again"
    )]
    Busy {
        dir: PathBuf,
        holder: String,
        waited: Duration,
    },
}

/// Who holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `r2com run`.
    Node,
    /// A CLI command working on the store directly.
    Cli,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Cli => "cli",
        }
    }
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

fn open(dir: &Path) -> Result<File, LockError> {
    let path = dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| LockError::Io(path, e))
}

/// `flock` on `file`; `Ok(false)` when `nonblocking` and someone else holds it.
fn flock(file: &File, nonblocking: bool) -> std::io::Result<bool> {
    let op = libc::LOCK_EX | if nonblocking { libc::LOCK_NB } else { 0 };
    loop {
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if nonblocking => return Ok(false),
            _ => return Err(e),
        }
    }
}

fn mark(mut file: File, role: Role) -> DirLock {
    // For messages only: a failure to write it changes nothing.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = writeln!(file, "{} {}", std::process::id(), role.name());
    let _ = file.flush();
    DirLock { _file: file }
}

/// Who holds the lock, as a phrase ("a running node (pid 42)").
pub fn holder(dir: &Path) -> String {
    let mut text = String::new();
    let _ = File::open(dir.join(LOCK_FILE)).and_then(|mut f| f.read_to_string(&mut text));
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(pid), Some("node")) => format!("a node (`r2com run`, pid {pid})"),
        (Some(pid), Some("cli")) => format!("another r2com command (pid {pid})"),
        _ => "another r2com process".to_owned(),
    }
}

impl DirLock {
    /// Take the lock if nobody holds it; `None` if someone does.
    pub fn try_acquire(dir: &Path, role: Role) -> Result<Option<DirLock>, LockError> {
        let file = open(dir)?;
        match flock(&file, true) {
            Ok(true) => Ok(Some(mark(file, role))),
            Ok(false) => Ok(None),
            Err(e) => Err(LockError::Io(dir.join(LOCK_FILE), e)),
        }
    }

    /// Take the lock, waiting up to `wait` for its holder to let go;
    /// `waiting` is called once if the lock is held when we start.
    ///
    /// The wait blocks in the kernel, so the lock passes to this process
    /// the moment its holder releases it (a CLI command polling in a loop
    /// cannot starve it).
    pub fn acquire(
        dir: &Path,
        role: Role,
        wait: Duration,
        waiting: impl FnOnce(&str),
    ) -> Result<DirLock, LockError> {
        if let Some(l) = Self::try_acquire(dir, role)? {
            return Ok(l);
        }
        waiting(&holder(dir));
        let file = open(dir)?;
        let (tx, rx) = mpsc::sync_channel(1);
        let path = dir.join(LOCK_FILE);
        // A thread blocked in flock cannot be cancelled: on timeout it is
        // left behind (the caller gives up and exits). If it gets the lock
        // after we stopped listening, the file (and lock) is dropped with
        // the failed send.
        std::thread::Builder::new()
            .name("dir-lock".into())
            .spawn(move || {
                let r = flock(&file, false).map(|_| file);
                let _ = tx.send(r);
            })
            .map_err(|e| LockError::Io(path.clone(), e))?;
        match rx.recv_timeout(wait) {
            Ok(Ok(file)) => Ok(mark(file, role)),
            Ok(Err(e)) => Err(LockError::Io(path, e)),
            Err(_) => Err(LockError::Busy {
                dir: dir.to_owned(),
                holder: holder(dir),
                waited: wait,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_and_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        let cli = DirLock::try_acquire(dir.path(), Role::Cli)
            .unwrap()
            .unwrap();
        assert!(DirLock::try_acquire(dir.path(), Role::Node)
            .unwrap()
            .is_none());
        assert!(holder(dir.path()).contains("another r2com command"));
        let e = DirLock::acquire(dir.path(), Role::Node, Duration::from_millis(50), |_| {})
            .unwrap_err();
        assert!(matches!(e, LockError::Busy { .. }), "{e}");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(cli);
        });
        let mut told = String::new();
        let node = DirLock::acquire(dir.path(), Role::Node, Duration::from_secs(10), |h| {
            told = h.to_owned()
        })
        .unwrap();
        release.join().unwrap();
        assert!(told.contains("another r2com command"), "{told}");
        assert!(holder(dir.path()).contains("r2com run"));
        drop(node);
        assert!(DirLock::try_acquire(dir.path(), Role::Cli)
            .unwrap()
            .is_some());
    }
}
