//! The VexFS on-disk format: every structure that reaches the disk, as
//! constants, plain structs and checked encoders/decoders.
//!
//! This crate is `no_std` without `alloc`: it only turns bytes into values and
//! back. Decoders never panic; a bad structure yields [`FormatError`] naming
//! what is wrong. docs/FORMAT.md is the byte-level specification and must be
//! kept in step with the `*_OFFSET` constants here.
#![no_std]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod bytes;
pub mod checksum;
pub mod dirent;
pub mod error;
pub mod extent;
pub mod features;
pub mod header;
pub mod inode;
pub mod journal;
pub mod node;
pub mod superblock;
pub mod vector;
pub mod xattr;
pub mod xattr_pack;
pub mod xattr_tree;

pub use error::{Corruption, FormatError};

/// Current format version written by mkfs.
pub const FORMAT_VERSION: u32 = 1;
/// Smallest and largest supported block sizes (powers of two).
pub const MIN_BLOCK_SIZE: u32 = 1024;
pub const MAX_BLOCK_SIZE: u32 = 65536;
pub const DEFAULT_BLOCK_SIZE: u32 = 4096;

/// Inode numbers start at 1; 0 means "no inode".
pub const ROOT_INO: u64 = 1;
/// `lost+found`, created by mkfs, used by fsck to reattach orphans.
pub const LOST_FOUND_INO: u64 = 2;
/// Reserved for the filesystem-wide vector index catalogue.
pub const VECTOR_CATALOG_INO: u64 = 3;
/// Reserved for the metadata journal.
pub const JOURNAL_INO: u64 = 4;
/// First inode number handed out to users; 1..FIRST_USER_INO are reserved.
pub const FIRST_USER_INO: u64 = 16;

/// Longest file name, in bytes.
pub const NAME_MAX: usize = 255;
/// Longest symlink target, in bytes.
pub const SYMLINK_MAX: usize = 4095;
