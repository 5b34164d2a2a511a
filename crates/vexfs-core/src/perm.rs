//! Unix permission checks for the operations the core answers on behalf of
//! a caller without the VFS in between: vector searches walk directories
//! and report files, bulk embedding updates touch many files in one call.
//!
//! Everything else is checked by the front end (the kernel VFS, or FUSE's
//! `default_permissions`), which also knows about ACLs; these checks follow
//! the same mode-bit rules (`generic_permission` without ACLs).

use alloc::vec::Vec;
use vexfs_format::inode::Inode;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

pub const MAY_READ: u16 = 4;
pub const MAY_WRITE: u16 = 2;
pub const MAY_EXEC: u16 = 1;

impl Caller {
    /// The superuser (every check passes, as with CAP_DAC_OVERRIDE).
    pub fn root() -> Self {
        Self::default()
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Whether the mode bits of `inode` grant every bit of `mask`
    /// (`MAY_READ | MAY_WRITE | MAY_EXEC`).
    pub fn may(&self, inode: &Inode, mask: u16) -> bool {
        if self.is_root() {
            // Root may execute only what someone may execute, unless it
            // is a directory (search), as in the kernel.
            return mask & MAY_EXEC == 0 || inode.is_dir() || inode.mode & 0o111 != 0;
        }
        let bits = if self.uid == inode.uid {
            (inode.mode >> 6) & 7
        } else if self.in_group(inode.gid) {
            (inode.mode >> 3) & 7
        } else {
            inode.mode & 7
        };
        bits & mask == mask
    }

    /// Owner or root: who may change an index on a directory.
    pub fn owns(&self, inode: &Inode) -> bool {
        self.is_root() || self.uid == inode.uid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexfs_format::inode::{Timestamp, S_IFDIR, S_IFREG};

    #[test]
    fn owner_group_other_and_root() {
        let f = Inode::new(S_IFREG | 0o640, 10, 20, Timestamp::default());
        let owner = Caller {
            uid: 10,
            gid: 99,
            groups: Vec::new(),
        };
        let member = Caller {
            uid: 11,
            gid: 99,
            groups: alloc::vec![20],
        };
        let other = Caller {
            uid: 12,
            gid: 99,
            groups: Vec::new(),
        };
        assert!(owner.may(&f, MAY_READ | MAY_WRITE));
        assert!(member.may(&f, MAY_READ) && !member.may(&f, MAY_WRITE));
        assert!(!other.may(&f, MAY_READ));
        assert!(Caller::root().may(&f, MAY_READ | MAY_WRITE));
        assert!(!Caller::root().may(&f, MAY_EXEC));
        let d = Inode::new(S_IFDIR | 0o700, 10, 20, Timestamp::default());
        assert!(Caller::root().may(&d, MAY_EXEC));
        assert!(!member.may(&d, MAY_EXEC));
    }
}
