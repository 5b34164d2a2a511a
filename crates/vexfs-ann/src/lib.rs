//! VexFS approximate-nearest-neighbour engine.
//!
//! Five index strategies (Flat, HNSW, IVF-Flat, IVF-PQ, LSH) behind one
//! [`VectorIndex`] trait, over one [`Metric`] interface and one set of
//! distance kernels. The crate is `no_std` + `alloc` so the same code runs in
//! userspace tools, the FUSE daemon and the kernel module; the `std` feature
//! adds runtime SIMD dispatch and multi-threaded build / batch search.
//!
//! ```
//! use vexfs_ann::{FlatIndex, Metric, SearchParams, VectorIndex};
//! let mut idx = FlatIndex::new(2, Metric::L2).unwrap();
//! idx.add(7, &[1.0, 0.0]).unwrap();
//! idx.add(9, &[0.0, 1.0]).unwrap();
//! let hits = idx.search(&[0.9, 0.1], &SearchParams::k(1), None).unwrap();
//! assert_eq!(hits[0].id, 7);
//! let mut bytes = Vec::new();
//! idx.save(&mut bytes).unwrap();
//! let back = vexfs_ann::load(&mut &bytes[..]).unwrap();
//! assert_eq!(back.len(), 2);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

// The FPU object's kernels are SSE2 code: a soft-float target cannot build
// them (the kernel module builds them for its own SSE2 target).
#[cfg(all(feature = "fpu-executor", not(target_feature = "sse2")))]
compile_error!("the `fpu-executor` feature needs a target with SSE2 (not soft-float)");

extern crate alloc;

mod common;
pub mod crc;
pub mod distance;
pub mod error;
pub mod factory;
pub mod flat;
mod hamming;
pub mod hnsw;
pub mod id_map;
pub mod index;
pub mod io;
pub mod ivf;
pub mod ivfpq;
pub mod kmeans;
mod kmeans_assign;
pub mod lsh;
mod lsh_project;
mod mem;
pub mod metric;
pub mod parallel;
pub mod persist;
pub mod rng;
pub mod storage;
mod varint;

pub use error::{AnnError, Result};
pub use factory::{build_index, parse_kind, parse_metric};
pub use flat::{search_rows, FlatIndex};
pub use hnsw::{HnswConfig, HnswIndex};
pub use index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
pub use io::{ByteSink, ByteSource};
pub use ivf::{IvfConfig, IvfFlatIndex};
pub use ivfpq::{IvfPqConfig, IvfPqIndex};
pub use lsh::{LshConfig, LshIndex, LshMode};
pub use metric::Metric;
pub use parallel::{num_threads, set_num_threads};
pub use persist::load;
pub use storage::Storage;
