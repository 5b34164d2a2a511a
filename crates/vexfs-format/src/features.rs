//! Feature flags, ext2-style.
//!
//! * `compat`: old code may mount read-write and ignore the feature.
//! * `ro_compat`: old code may mount read-only only.
//! * `incompat`: old code must refuse to mount.

/// No compat features are defined yet.
pub const COMPAT_KNOWN: u64 = 0;

/// Per-directory vector indexes are maintained on disk; code that does not
/// update them on writes would leave them stale, so it may only read.
pub const RO_COMPAT_VECTOR_INDEX: u64 = 1 << 0;
pub const RO_COMPAT_KNOWN: u64 = RO_COMPAT_VECTOR_INDEX;

/// A metadata journal exists and may need replay before the image is
/// consistent; code without replay must not touch the image at all.
pub const INCOMPAT_JOURNAL: u64 = 1 << 0;
/// Some inode keeps its extended attributes in an attribute tree
/// (`FLAG_XATTR_TREE`); older code would read the tree-mode blob header as
/// entries. Set by the first inode that crosses the threshold, never cleared.
pub const INCOMPAT_XATTR_TREE: u64 = 1 << 1;
/// Some inode's attribute blob shares a pack block (`FLAG_XATTR_PACKED`);
/// older code would take the pack block for the blob. Set by the first
/// packed blob, never cleared.
pub const INCOMPAT_XATTR_PACKED: u64 = 1 << 2;
pub const INCOMPAT_KNOWN: u64 = INCOMPAT_JOURNAL | INCOMPAT_XATTR_TREE | INCOMPAT_XATTR_PACKED;

/// Features this implementation can mount read-write.
pub const RO_COMPAT_SUPPORTED: u64 = RO_COMPAT_VECTOR_INDEX;
pub const INCOMPAT_SUPPORTED: u64 = INCOMPAT_JOURNAL | INCOMPAT_XATTR_TREE | INCOMPAT_XATTR_PACKED;
