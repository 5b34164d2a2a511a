//! VexFS approximate-nearest-neighbour engine.
//!
//! Five index strategies (Flat, HNSW, IVF-Flat, IVF-PQ, LSH) behind one
//! [`VectorIndex`] trait, over one [`Metric`] interface and one set of
//! distance kernels. The crate is `no_std` + `alloc` so the same code runs in
//! userspace tools, the FUSE daemon and the kernel module; the `std` feature
//! adds runtime SIMD dispatch and multi-threaded build / batch search.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod error;
pub mod index;
pub mod io;
pub mod metric;

pub use error::{AnnError, Result};
pub use index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
pub use io::{ByteSink, ByteSource};
pub use metric::Metric;
