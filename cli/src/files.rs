//! Reading input files (or standard input) and writing output files
//! atomically.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// The bytes of a file, or of standard input for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// A JSON file (or standard input for `-`).
pub fn read_json_file(path: &Path) -> anyhow::Result<Value> {
    let bytes = read_input(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// A UTF-8 text file (or standard input for `-`).
pub fn read_text_file(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_input(path)?)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))
}

/// Replace `path` with `bytes` so that a reader (or a crash) sees the old
/// file or the new one, never a part: write a uniquely named temporary file
/// beside it, fsync it, rename it over `path` (a symlink at `path` is
/// replaced, not followed), then fsync the directory. A new file is
/// readable by its owner only (the data is confidential); an existing
/// file keeps its permissions.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let what = || format!("writing {}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".r2com-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(what)?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_file() {
            tmp.as_file()
                .set_permissions(meta.permissions())
                .with_context(what)?;
        }
    }
    tmp.write_all(bytes).with_context(what)?;
    tmp.as_file().sync_all().with_context(what)?;
    tmp.persist(path).map_err(|e| e.error).with_context(what)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(what)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("out.ics");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
    }

    #[test]
    fn a_new_file_is_private_and_an_existing_one_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        write_atomically(&new, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&new), 0o600);
        let old = dir.path().join("old");
        std::fs::write(&old, b"x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomically(&old, b"y").unwrap();
        assert_eq!(mode(&old), 0o644);
    }
}
