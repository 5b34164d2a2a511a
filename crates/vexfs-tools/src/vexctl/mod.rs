//! `vexctl`: the client of the vector interface of a mounted VexFS
//! (docs/VECTORS.md). Embeddings go through the `user.vexfs.embedding`
//! attribute, everything else through the ioctls of `include/uapi/vexfs.h`
//! on a directory descriptor; both mounts (kernel module and FUSE) answer
//! them alike.
//!
//! The parts that need no mount (vector files, name mapping, bulk request
//! packing, query building and result paging, argument checks) are plain
//! functions with unit tests; `sys` holds the system calls.

pub mod bulk;
pub mod cli;
pub mod cmd;
pub mod error;
pub mod fsinfo;
pub mod names;
pub mod output;
pub mod params;
pub mod search;
pub mod sys;
pub mod vectors;
