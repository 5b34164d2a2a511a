//! Where a path lives: its mount (is it VexFS?), the directory of an index
//! root given its inode number, and the index that covers a directory.

use super::error::{CtlError, Result};
use super::sys;
use crate::mounts::{parse_mountinfo, split_dev, Mount};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use vexfs_uapi::{IndexStats, Request};

/// The mount holding `path`, from /proc/self/mountinfo by device number.
pub fn mount_of(path: &Path) -> Option<Mount> {
    let dev = std::fs::metadata(path).ok()?.dev();
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    // The last match wins: later lines are mounted over earlier ones.
    parse_mountinfo(&text)
        .into_iter()
        .rfind(|m| m.dev == split_dev(dev))
}

/// Whether a filesystem type is VexFS (the kernel module or FUSE).
pub fn is_vexfs_type(fs_type: &str) -> bool {
    fs_type == "vexfs" || fs_type == "fuse.vexfs" || fs_type == "fuseblk.vexfs"
}

/// A message for an ioctl the filesystem did not understand.
pub fn not_vexfs(path: &Path, errno: i32) -> CtlError {
    let on = match mount_of(path) {
        Some(m) if !is_vexfs_type(&m.fs_type) => {
            format!(" ({} is mounted as {})", m.mount_point, m.fs_type)
        }
        _ => String::new(),
    };
    CtlError::errno(
        path.display(),
        errno,
        &format!("not a VexFS directory, or the filesystem has no vector support{on}"),
    )
}

/// The index stats of the index covering directory `dir`.
pub fn index_stats(dir_file: &std::fs::File, dir: &Path) -> Result<Box<IndexStats>> {
    let mut st = Box::new(IndexStats::new_request());
    match sys::ioctl_struct(dir_file, vexfs_uapi::IOC_INDEX_STATS, st.as_mut()) {
        Ok(()) => Ok(st),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::ENOSYS)
            ) =>
        {
            Err(not_vexfs(dir, e.raw_os_error().unwrap_or(0)))
        }
        Err(e) => Err(CtlError::os(format!("{}: index stats", dir.display()), &e)),
    }
}

/// If the index covering directory `dir` has a dimension other than
/// `dim`: "the index under words/ expects 50". `None` when it matches,
/// when no index covers `dir`, or when that cannot be asked.
pub fn dim_mismatch(dir: &Path, dim: usize) -> Option<String> {
    let f = sys::open_dir(dir).ok()?;
    let st = index_stats(&f, dir).ok()?;
    if st.state == vexfs_uapi::STATE_NONE || st.dim as usize == dim {
        return None;
    }
    let root = ancestor_with_ino(dir, st.root_ino).unwrap_or_else(|| dir.to_path_buf());
    Some(format!(
        "the index under {} expects {}",
        show_dir(&root),
        st.dim
    ))
}

/// The directory whose inode is `ino`, among `dir` and its ancestors on
/// the same filesystem; shown as the user would write it (lexical
/// ancestors of `dir` first, then absolute paths above them).
pub fn ancestor_with_ino(dir: &Path, ino: u64) -> Option<PathBuf> {
    let dev = std::fs::metadata(dir).ok()?.dev();
    let same = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .filter(|m| m.dev() == dev)
            .map(|m| m.ino())
    };
    let mut cur = Some(dir.to_path_buf());
    while let Some(p) = cur {
        let shown = if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.clone()
        };
        match same(&shown) {
            Some(i) if i == ino => return Some(shown),
            Some(_) => {}
            None => return None,
        }
        cur = p.parent().map(Path::to_path_buf);
    }
    // Lexical parents ran out (a relative path): go on from the absolute one.
    let abs = std::fs::canonicalize(dir).ok()?;
    let mut cur = abs.parent();
    while let Some(p) = cur {
        match same(p) {
            Some(i) if i == ino => return Some(p.to_path_buf()),
            Some(_) => {}
            None => return None,
        }
        cur = p.parent();
    }
    None
}

/// The directory a path's embedding is checked against: the path itself
/// if it is a directory, else its parent (`.` for a bare name).
pub fn dir_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A directory for messages, with a trailing slash ("words/").
pub fn show_dir(p: &Path) -> String {
    let s = p.display().to_string();
    if s.ends_with('/') {
        s
    } else {
        format!("{s}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = a.join("b");
        std::fs::create_dir_all(&b).unwrap();
        let ino = std::fs::metadata(&a).unwrap().ino();
        assert_eq!(ancestor_with_ino(&b, ino), Some(a.clone()));
        assert_eq!(ancestor_with_ino(&a, ino), Some(a.clone()));
        assert_eq!(ancestor_with_ino(&b, u64::MAX), None);
        assert_eq!(dir_of(&b), b);
        std::fs::write(b.join("f"), b"").unwrap();
        assert_eq!(dir_of(&b.join("f")), b);
        assert_eq!(dir_of(Path::new("no-such-file")), PathBuf::from("."));
        assert_eq!(show_dir(Path::new("words")), "words/");
        assert!(is_vexfs_type("fuse.vexfs") && !is_vexfs_type("ext4"));
    }

    #[test]
    fn mount_of_root() {
        // Wherever the tests run, / is some mount.
        assert!(mount_of(Path::new("/")).is_some());
    }
}
