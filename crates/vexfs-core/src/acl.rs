//! POSIX ACLs, stored as the `system.posix_acl_access` and
//! `system.posix_acl_default` attributes in the Linux xattr encoding
//! (`posix_acl_xattr_header` + entries), so the bytes pass unchanged
//! between the VFS, the image and `getfacl`.
//!
//! The front end enforces them (the kernel reads the access ACL for its
//! permission checks); the core keeps them consistent with the mode, as
//! ext4 does: setting an access ACL sets the mode's permission bits and is
//! not stored when the mode says it all; chmod rewrites the owner, mask
//! (or group) and other entries; a new node in a directory with a default
//! ACL gets it as its access ACL, masked by the requested mode (and a new
//! directory also inherits the default ACL), and ignores the umask.
//!
//! | off | size | field     | meaning                                  |
//! |-----|------|-----------|------------------------------------------|
//! | 0   | 4    | version   | 2                                        |
//! | 4+8k| 2    | tag       | USER_OBJ 1, USER 2, GROUP_OBJ 4, GROUP 8, MASK 16, OTHER 32 |
//! | 6+8k| 2    | perm      | rwx bits (4, 2, 1)                       |
//! | 8+8k| 4    | id        | uid or gid for USER / GROUP              |

use crate::device::BlockDevice;
use crate::error::{corrupt_at, FsError, Location, Result};
use crate::fs::{Fs, Stat};
use crate::xattr::XattrFlags;
use alloc::vec::Vec;
use vexfs_format::inode::Timestamp;
use vexfs_format::xattr::Namespace;

const VERSION: u32 = 2;
const HEADER: usize = 4;
const ENTRY: usize = 8;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
const RWX: u16 = 0o7;
const PERM_BITS: u16 = 0o777;

/// Which of the two ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AclKind {
    Access,
    Default,
}

impl AclKind {
    /// The kind named by an attribute name in the system namespace.
    pub(crate) fn of(short: &[u8]) -> Option<Self> {
        match short {
            b"posix_acl_access" => Some(Self::Access),
            b"posix_acl_default" => Some(Self::Default),
            _ => None,
        }
    }

    pub(crate) fn in_namespace(ns: Namespace, short: &[u8]) -> Option<Self> {
        if ns == Namespace::System {
            Self::of(short)
        } else {
            None
        }
    }

    fn short(self) -> &'static [u8] {
        match self {
            Self::Access => b"posix_acl_access",
            Self::Default => b"posix_acl_default",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tag: u16,
    perm: u16,
    id: u32,
}

/// A decoded, valid ACL (the rules of the kernel's `posix_acl_valid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acl {
    entries: Vec<Entry>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Acl {
    /// Decode and validate; `Invalid` (EINVAL) for anything malformed.
    pub(crate) fn decode(v: &[u8]) -> Result<Self> {
        let bad = FsError::Invalid;
        if le32(v, 0) != Some(VERSION) {
            return Err(bad);
        }
        let body = v.get(HEADER..).ok_or(bad)?;
        if body.is_empty() || body.len() % ENTRY != 0 {
            return Err(bad);
        }
        let mut entries = Vec::new();
        entries
            .try_reserve(body.len() / ENTRY)
            .map_err(|_| FsError::NoMemory)?;
        for raw in body.chunks_exact(ENTRY) {
            let (tag, perm, id) = (
                le16(raw, 0).ok_or(bad)?,
                le16(raw, 2).ok_or(bad)?,
                le32(raw, 4).ok_or(bad)?,
            );
            if perm & !RWX != 0 {
                return Err(bad);
            }
            entries.push(Entry { tag, perm, id });
        }
        let acl = Self { entries };
        acl.validate()?;
        Ok(acl)
    }

    /// Entries in tag order, one each of owner, group and other, named
    /// entries with increasing ids and a mask whenever there are any.
    fn validate(&self) -> Result<()> {
        let (mut prev_tag, mut prev_id) = (0u16, None::<u32>);
        let (mut obj, mut named, mut mask) = (0u32, false, false);
        for e in &self.entries {
            if e.tag < prev_tag {
                return Err(FsError::Invalid);
            }
            match e.tag {
                USER_OBJ | GROUP_OBJ | OTHER | MASK => {
                    if e.tag == prev_tag {
                        return Err(FsError::Invalid);
                    }
                    if e.tag == MASK {
                        mask = true;
                    } else {
                        obj += 1;
                    }
                }
                USER | GROUP => {
                    if e.tag == prev_tag && prev_id.is_some_and(|p| e.id <= p) {
                        return Err(FsError::Invalid);
                    }
                    prev_id = Some(e.id);
                    named = true;
                }
                _ => return Err(FsError::Invalid),
            }
            if e.tag != prev_tag && !matches!(e.tag, USER | GROUP) {
                prev_id = None;
            }
            prev_tag = e.tag;
        }
        if obj != 3 || (named && !mask) {
            return Err(FsError::Invalid);
        }
        Ok(())
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + ENTRY * self.entries.len());
        out.extend_from_slice(&VERSION.to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.perm.to_le_bytes());
            out.extend_from_slice(&e.id.to_le_bytes());
        }
        out
    }

    /// The permission bits the ACL gives the mode, and whether the mode
    /// alone expresses it (no named entries, no mask).
    pub(crate) fn mode_bits(&self) -> (u16, bool) {
        let (mut mode, mut equiv) = (0u16, true);
        for e in &self.entries {
            match e.tag {
                USER_OBJ => mode |= e.perm << 6,
                GROUP_OBJ => mode |= e.perm << 3,
                OTHER => mode |= e.perm,
                _ => equiv = false,
            }
        }
        // With a mask, the mode's group bits show the mask.
        if let Some(m) = self.entries.iter().find(|e| e.tag == MASK) {
            mode = (mode & !0o070) | (m.perm << 3);
        }
        (mode, equiv)
    }

    /// chmod: owner, other, and the mask (or the owning group without
    /// one) follow the new mode.
    pub(crate) fn chmod(&mut self, mode: u16) {
        let has_mask = self.entries.iter().any(|e| e.tag == MASK);
        for e in &mut self.entries {
            match e.tag {
                USER_OBJ => e.perm = (mode >> 6) & RWX,
                OTHER => e.perm = mode & RWX,
                MASK => e.perm = (mode >> 3) & RWX,
                GROUP_OBJ if !has_mask => e.perm = (mode >> 3) & RWX,
                _ => {}
            }
        }
    }

    /// A new node's access ACL from its parent's default ACL: each class
    /// is limited by the requested mode; returns the resulting permission
    /// bits (the kernel's `posix_acl_create_masq`).
    pub(crate) fn create_masq(&mut self, mode: u16) -> u16 {
        let mut m = mode & PERM_BITS;
        let has_mask = self.entries.iter().any(|e| e.tag == MASK);
        for e in &mut self.entries {
            match e.tag {
                USER_OBJ => {
                    e.perm &= (m >> 6) & RWX;
                    m = (m & !0o700) | (e.perm << 6);
                }
                OTHER => {
                    e.perm &= m & RWX;
                    m = (m & !0o007) | e.perm;
                }
                MASK => {
                    e.perm &= (m >> 3) & RWX;
                }
                GROUP_OBJ if !has_mask => {
                    e.perm &= (m >> 3) & RWX;
                }
                _ => {}
            }
        }
        let group_class = self
            .entries
            .iter()
            .find(|e| e.tag == if has_mask { MASK } else { GROUP_OBJ })
            .map_or(0, |e| e.perm);
        (m & !0o070) | (group_class << 3)
    }
}

impl<D: BlockDevice> Fs<D> {
    /// setxattr of an ACL (see the module documentation).
    pub(crate) fn acl_set(
        &mut self,
        ino: u64,
        kind: AclKind,
        value: &[u8],
        flags: XattrFlags,
        now: Timestamp,
    ) -> Result<()> {
        let acl = Acl::decode(value)?;
        self.transact(|fs| {
            let mut inode = fs.read_inode(ino)?;
            if inode.is_symlink() {
                return Err(FsError::NotSupported);
            }
            let exists = fs
                .xattr_find(ino, &inode, Namespace::System, kind.short())?
                .is_some();
            if flags.create && exists {
                return Err(FsError::Exists);
            }
            if flags.replace && !exists {
                return Err(FsError::NoData);
            }
            match kind {
                AclKind::Access => {
                    let (bits, equiv) = acl.mode_bits();
                    inode.mode = (inode.mode & !PERM_BITS) | bits;
                    let stored = if equiv { None } else { Some(acl.encode()) };
                    fs.xattr_put(
                        ino,
                        &mut inode,
                        Namespace::System,
                        kind.short(),
                        stored.as_deref(),
                    )?;
                }
                AclKind::Default => {
                    // Only directories have one (EACCES, as in the VFS).
                    if !inode.is_dir() {
                        return Err(FsError::AccessDenied);
                    }
                    fs.xattr_put(
                        ino,
                        &mut inode,
                        Namespace::System,
                        kind.short(),
                        Some(&acl.encode()),
                    )?;
                }
            }
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }

    /// After a mode change in `inode` (inside the caller's transaction):
    /// bring its access ACL in step.
    pub(crate) fn acl_chmod(
        &mut self,
        ino: u64,
        inode: &mut vexfs_format::inode::Inode,
    ) -> Result<()> {
        let short = AclKind::Access.short();
        let Some(raw) = self.xattr_find(ino, inode, Namespace::System, short)? else {
            return Ok(());
        };
        let mut acl =
            Acl::decode(&raw).map_err(|_| corrupt_at("stored access ACL", Location::Inode(ino)))?;
        acl.chmod(inode.mode);
        self.xattr_put(ino, inode, Namespace::System, short, Some(&acl.encode()))?;
        Ok(())
    }

    /// Create a node in `parent` with POSIX ACL inheritance: `make` gets
    /// the permission bits to create it with (`perm` masked by the parent's
    /// default ACL, or by `umask` when there is none) and creates it; the
    /// node then gets its inherited ACLs, all in one transaction. `perm`'s
    /// setuid, setgid and sticky bits pass through unchanged.
    pub fn create_inheriting(
        &mut self,
        parent: u64,
        perm: u16,
        umask: u16,
        mut make: impl FnMut(&mut Self, u16) -> Result<Stat>,
    ) -> Result<Stat> {
        self.transact(|fs| {
            let p = fs.read_inode(parent)?;
            let short = AclKind::Default.short();
            let Some(raw) = fs.xattr_find(parent, &p, Namespace::System, short)? else {
                return make(fs, perm & !(umask & PERM_BITS));
            };
            let default = Acl::decode(&raw)
                .map_err(|_| corrupt_at("stored default ACL", Location::Inode(parent)))?;
            let mut access = default.clone();
            let bits = access.create_masq(perm);
            let st = make(fs, (perm & !PERM_BITS) | bits)?;
            let mut inode = fs.read_inode(st.ino)?;
            if !access.mode_bits().1 {
                fs.xattr_put(
                    st.ino,
                    &mut inode,
                    Namespace::System,
                    AclKind::Access.short(),
                    Some(&access.encode()),
                )?;
            }
            if inode.is_dir() {
                fs.xattr_put(st.ino, &mut inode, Namespace::System, short, Some(&raw))?;
            }
            fs.write_inode(st.ino, &inode)?;
            fs.stat_of(st.ino, &inode)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let a = Acl {
            entries: entries
                .iter()
                .map(|&(tag, perm, id)| Entry { tag, perm, id })
                .collect(),
        };
        a.encode()
    }
    const U: u32 = u32::MAX;

    #[test]
    fn validation_follows_the_kernel_rules() {
        let minimal = acl(&[(USER_OBJ, 6, U), (GROUP_OBJ, 4, U), (OTHER, 0, U)]);
        assert!(Acl::decode(&minimal).is_ok());
        let named = acl(&[
            (USER_OBJ, 7, U),
            (USER, 5, 1000),
            (USER, 4, 1001),
            (GROUP_OBJ, 5, U),
            (MASK, 7, U),
            (OTHER, 0, U),
        ]);
        assert!(Acl::decode(&named).is_ok());
        for bad in [
            acl(&[
                (USER_OBJ, 7, U),
                (USER, 5, 1000),
                (GROUP_OBJ, 5, U),
                (OTHER, 0, U),
            ]), // no mask
            acl(&[
                (USER_OBJ, 7, U),
                (USER, 5, 9),
                (USER, 5, 9),
                (GROUP_OBJ, 5, U),
                (MASK, 7, U),
                (OTHER, 0, U),
            ]), // dup id
            acl(&[(GROUP_OBJ, 5, U), (USER_OBJ, 7, U), (OTHER, 0, U)]), // order
            acl(&[(USER_OBJ, 7, U), (GROUP_OBJ, 5, U)]),                // no other
            acl(&[(USER_OBJ, 8, U), (GROUP_OBJ, 5, U), (OTHER, 0, U)]), // perm bits
            acl(&[
                (USER_OBJ, 7, U),
                (0x40, 5, U),
                (GROUP_OBJ, 5, U),
                (OTHER, 0, U),
            ]), // tag
        ] {
            assert_eq!(Acl::decode(&bad), Err(FsError::Invalid), "{bad:?}");
        }
        assert_eq!(
            Acl::decode(&minimal[..minimal.len() - 1]),
            Err(FsError::Invalid)
        );
        assert_eq!(Acl::decode(&[]), Err(FsError::Invalid));
        let mut v1 = minimal.clone();
        v1[0] = 1;
        assert_eq!(Acl::decode(&v1), Err(FsError::Invalid));
    }

    #[test]
    fn mode_chmod_and_inheritance() {
        let named = acl(&[
            (USER_OBJ, 7, U),
            (USER, 6, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 7, U),
            (OTHER, 1, U),
        ]);
        let mut a = Acl::decode(&named).unwrap();
        assert_eq!(a.mode_bits(), (0o771, false));
        a.chmod(0o640);
        assert_eq!(a.mode_bits(), (0o640, false));
        assert_eq!(a.entries[1].perm, 6, "named entries are kept");
        assert_eq!(
            a.entries[2].perm, 5,
            "the group entry is kept; the mask moved"
        );
        let mut d = Acl::decode(&named).unwrap();
        assert_eq!(d.create_masq(0o666), 0o660);
        assert_eq!(d.entries[0].perm, 6);
        let mut plain =
            Acl::decode(&acl(&[(USER_OBJ, 7, U), (GROUP_OBJ, 5, U), (OTHER, 0, U)])).unwrap();
        assert_eq!(plain.create_masq(0o777), 0o750);
        assert!(plain.mode_bits().1);
    }
}
