//! The checker's model of a filesystem: what the scan found and what the
//! plan decided, which the repair step applies.

use super::bits::Bits;
use super::salvage::Attr;
use super::Problem;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use vexfs_format::inode::{FileType, Inode};
use vexfs_format::superblock::Superblock;

/// A sound inode and what it owns.
pub(crate) struct Node {
    pub inode: Inode,
    pub ft: FileType,
    /// Tree node blocks and extents, as (first, count) runs.
    pub runs: Vec<(u64, u64)>,
    /// The attribute blob and, for a tree inode, the attribute tree's
    /// node blocks and value runs, when they all verified.
    pub xattr_runs: Vec<(u64, u64)>,
    /// A sound packed blob: its pack block, first unit and unit count.
    pub pack: Option<(u64, u32, u32)>,
    /// The blob or tree is damaged: drop it (what verifies of it is in
    /// `Model::salvaged`).
    pub drop_xattr: bool,
    /// Bytes used by a sound blob.
    pub xattr_used: Option<u32>,
}

impl Node {
    /// Blocks the inode should be charged for.
    pub fn owned(&self) -> u64 {
        let runs: u64 = self.runs.iter().map(|r| r.1).sum();
        let xattr: u64 = self.xattr_runs.iter().map(|r| r.1).sum();
        runs.saturating_add(xattr)
    }
}

/// One directory entry as found.
pub(crate) struct Entry {
    pub dir: u64,
    pub key: u64,
    /// 0 when the entry does not decode.
    pub ino: u64,
    pub ft: Option<FileType>,
    pub name: Vec<u8>,
    /// The key lies in the name's hash range.
    pub key_ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Keep,
    Remove,
    Retype(FileType),
    Rekey,
}

/// Field values an inode must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fix {
    pub nlink: Option<u32>,
    pub size: Option<u64>,
    pub parent: Option<u64>,
    pub blocks: Option<u64>,
    pub xattr_len: Option<u32>,
    pub drop_xattr: bool,
    pub clear_orphan: bool,
}

impl Fix {
    pub fn is_empty(&self) -> bool {
        *self == Fix::default()
    }
}

/// An entry the repair adds (reconnection, a recreated lost+found).
pub(crate) struct Added {
    pub dir: u64,
    pub name: Vec<u8>,
    pub ino: u64,
    pub ft: FileType,
}

/// Everything the repair step needs.
pub(crate) struct Model {
    pub sb: Superblock,
    pub nodes: BTreeMap<u64, Node>,
    /// Inodes whose slots are to be zeroed.
    pub release: BTreeSet<u64>,
    pub entries: Vec<Entry>,
    pub actions: Vec<Action>,
    pub added: Vec<Added>,
    pub recreate_lost_found: bool,
    pub recreate_root: bool,
    pub fixes: BTreeMap<u64, Fix>,
    /// Expected bitmaps, padding bits included.
    pub block_bitmap: Bits,
    pub inode_bitmap: Bits,
    /// Bitmap blocks (index within each bitmap) to rewrite.
    pub rewrite_block_bitmap: Vec<u64>,
    /// Pack blocks whose map must become this (units nobody owns freed).
    pub rewrite_packs: Vec<(u64, u64)>,
    pub rewrite_inode_bitmap: Vec<u64>,
    pub free_blocks: u64,
    pub free_inodes: u64,
    pub reset_orphan_head: bool,
    /// Leave well-formed orphans to the mount (a read-only check): they
    /// are not problems, and their blocks and inode stay marked in use.
    pub defer_orphans: bool,
    /// The orphans so left: off the plan, still owning what they own.
    pub pending_orphans: Vec<(u64, Node)>,
    /// Linked files on that list: truncations the mount will finish.
    pub pending_truncations: u64,
    pub problems: Vec<Problem>,
    /// What verified of each damaged attribute set (`Node::drop_xattr`):
    /// written back after the drop.
    pub salvaged: BTreeMap<u64, Vec<Attr>>,
    pub files: u64,
    pub directories: u64,
}
