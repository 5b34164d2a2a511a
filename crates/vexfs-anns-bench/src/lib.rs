//! ANN benchmark for the VexFS index strategies: data loading, ground truth,
//! measurement, peer comparison and reports. The `anns_benchmark` binary
//! drives it; see docs/BENCHMARKS.md.

pub mod analysis;
pub mod check;
pub mod data;
pub mod dataset;
pub mod mount;
pub mod mountbench;
pub mod peers;
pub mod provenance;
pub mod report;
pub mod results;
pub mod runner;
pub mod simd_levels;
pub mod sweep;
pub mod truth;

/// The distance kernel set vexfs-ann dispatched to at run time.
pub fn vexfs_kernels() -> String {
    vexfs_ann::distance::kernels().name().to_string()
}
