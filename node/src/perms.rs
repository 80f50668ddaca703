//! Files at rest are the owner's only: the data directory and every
//! directory under it 0700, every file 0600, enforced each time a node's
//! store is opened (sled creates its files 0644, attachments and older
//! versions may have other modes) and for files created afterwards by the
//! process's umask (see [`private_umask`]).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of the data directory and the directories under it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file under the data directory.
pub const FILE_MODE: u32 = 0o600;

/// Give `dir` and everything under it the owner-only modes; symlinks are
/// neither followed nor changed. Returns how many modes were changed (the
/// caller logs it: something loosened them since the last start).
pub fn restrict(dir: &Path) -> io::Result<u64> {
    let mut changed = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        changed += u64::from(set_mode(&d, DIR_MODE)?);
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                changed += u64::from(set_mode(&entry.path(), FILE_MODE)?);
            }
        }
    }
    Ok(changed)
}

/// Set `path`'s permission bits to `mode` if they differ; whether it did.
fn set_mode(path: &Path, mode: u32) -> io::Result<bool> {
    let meta = fs::symlink_metadata(path)?;
    if meta.permissions().mode() & 0o7777 == mode {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(true)
}

/// Make files and directories this process creates owner-only (umask
/// 077): sled's new files, attachments, exports.
pub fn private_umask() {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// A data directory loosened since the last start (and sled's 0644
    /// files) is owner-only again when the node opens it (issue 13, point
    /// 11).
    #[test]
    fn opening_a_node_makes_its_data_directory_owner_only_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        crate::identity::init(&data).unwrap();
        drop(crate::open::OpenNode::open_for_run(&data).unwrap());
        let store = data.join(crate::data_dir::STORE_DIR);
        let outside = dir.path().join("outside");
        fs::write(&outside, b"not ours").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, data.join("link")).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&store, fs::Permissions::from_mode(0o755)).unwrap();
        let mut files = 0;
        for e in fs::read_dir(&store).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
                files += 1;
            }
        }
        assert!(files > 0, "sled made no files");
        drop(crate::open::OpenNode::open_for_run(&data).unwrap());
        assert_eq!(mode(&data), DIR_MODE);
        assert_eq!(mode(&store), DIR_MODE);
        for e in fs::read_dir(&store).unwrap() {
            let p = e.unwrap().path();
            let want = if p.is_dir() { DIR_MODE } else { FILE_MODE };
            assert_eq!(mode(&p), want, "{}", p.display());
        }
        assert_eq!(mode(&outside), 0o644, "a symlink is not followed");
    }
}
