//! Is a device or image in use by a mounted filesystem?
//!
//! Checked three ways: the mount table's device numbers (block devices),
//! the mount source path (FUSE mounts name their image there), and loop
//! devices whose backing file is the image and which are mounted.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// One line of /proc/self/mountinfo, the parts we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dev: (u32, u32),
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
}

/// Undo the octal escapes (`\040` for a space) of the mount table.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse mountinfo text; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else { continue };
        let (Some(majmin), Some(mp), Some(fs_type), Some(source)) = (fields.get(2), fields.get(4), fields.get(sep + 1), fields.get(sep + 2)) else {
            continue;
        };
        let mut mm = majmin.split(':').map(|x| x.parse::<u32>());
        let (Some(Ok(ma)), Some(Ok(mi))) = (mm.next(), mm.next()) else { continue };
        out.push(Mount { dev: (ma, mi), mount_point: unescape(mp), fs_type: unescape(fs_type), source: unescape(source) });
    }
    out
}

/// Linux's encoding of a device number.
pub fn split_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Loop devices backed by `image`: (name, device number).
fn loop_devices_of(image: &Path) -> Vec<(String, (u32, u32))> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/sys/block") else { return out };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("loop") {
            continue;
        }
        let Ok(backing) = std::fs::read_to_string(e.path().join("loop/backing_file")) else { continue };
        let backing = backing.trim_end_matches('\n');
        let backing = backing.strip_suffix(" (deleted)").unwrap_or(backing);
        if Path::new(backing) != image {
            continue;
        }
        let Ok(dev) = std::fs::read_to_string(e.path().join("dev")) else { continue };
        let mut mm = dev.trim().split(':').map(|x| x.parse::<u32>());
        if let (Some(Ok(a)), Some(Ok(b))) = (mm.next(), mm.next()) {
            out.push((name, (a, b)));
        }
    }
    out
}

/// Human-readable reasons `path` is in use by a mount; empty if none.
pub fn mounted_uses(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    uses_in(path, &parse_mountinfo(&text))
}

/// As [`mounted_uses`], against a given mount table.
pub fn uses_in(path: &Path, mounts: &[Mount]) -> Vec<String> {
    let mut out = Vec::new();
    let canon = canonical(path);
    let meta = std::fs::metadata(path).ok();
    let rdev = meta.as_ref().filter(|m| m.file_type().is_block_device()).map(|m| split_dev(m.rdev()));
    for m in mounts {
        let by_dev = rdev.is_some_and(|d| d == m.dev);
        let by_source = m.source.starts_with('/') && canonical(Path::new(&m.source)) == canon;
        if by_dev || by_source {
            out.push(format!("{} is mounted on {} ({})", path.display(), m.mount_point, m.fs_type));
        }
    }
    if rdev.is_none() {
        for (name, dev) in loop_devices_of(&canon) {
            for m in mounts.iter().filter(|m| m.dev == dev) {
                out.push(format!("{} is attached to /dev/{name}, mounted on {}", path.display(), m.mount_point));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo() {
        let t = "36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                 40 35 0:52 / /mnt/v rw - fuse.vexfs /tmp/img rw\nbroken line\n";
        let m = parse_mountinfo(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].dev, (98, 0));
        assert_eq!(m[0].mount_point, "/mnt/my disk");
        assert_eq!(m[1].fs_type, "fuse.vexfs");
        assert_eq!(m[1].source, "/tmp/img");
    }

    #[test]
    fn finds_a_fuse_mount_by_source() {
        let dir = std::env::temp_dir();
        let img = dir.join(format!("vexfs-mounts-test-{}", std::process::id()));
        std::fs::write(&img, b"x").unwrap();
        let m = vec![Mount { dev: (0, 52), mount_point: "/mnt/v".into(), fs_type: "fuse.vexfs".into(), source: img.display().to_string() }];
        assert_eq!(uses_in(&img, &m).len(), 1);
        assert!(uses_in(Path::new("/nonexistent/other"), &m).is_empty());
        std::fs::remove_file(&img).unwrap();
    }

    #[test]
    fn device_numbers() {
        assert_eq!(split_dev(0x0801), (8, 1));
        assert_eq!(split_dev((259 << 8) | 3), (259, 3));
    }
}
