//! Result records shared by the VexFS runner, the peer harness (same JSON
//! field names) and the reports.

use serde::{Deserialize, Serialize};

/// One parameter point of one index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// Search parameters, e.g. `ef=64` or `nprobe=8,rerank=100`.
    pub params: String,
    pub recall: f64,
    /// One query per call, one thread.
    pub qps_1t: f64,
    /// Peers only: all queries in one call on one thread (no Python
    /// per-call overhead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qps_1t_batch: Option<f64>,
    /// All queries spread over all threads.
    pub qps_batch: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

impl Point {
    /// The best single-thread throughput measured for this point.
    pub fn qps_single(&self) -> f64 {
        self.qps_1t.max(self.qps_1t_batch.unwrap_or(0.0))
    }
}

/// One built index (one library, one strategy, one build configuration)
/// and its sweep of search parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curve {
    /// Legend name: `vexfs-hnsw`, `faiss-ivf`, `hnswlib`, ...
    pub algo: String,
    /// `vexfs`, `faiss`, `hnswlib` or `usearch`.
    pub library: String,
    /// `flat`, `hnsw`, `ivf`, `ivfpq` or `lsh`.
    pub strategy: String,
    pub train_s: f64,
    /// Training plus insertion.
    pub build_s: f64,
    pub inserts_per_s: f64,
    /// Resident-set growth over the build.
    pub memory_bytes: u64,
    /// Heap bytes the index reports (VexFS `IndexStats::memory_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_memory_bytes: Option<u64>,
    /// Serialised size.
    pub index_bytes: u64,
    #[serde(default)]
    pub build_params: serde_json::Value,
    pub points: Vec<Point>,
}

impl Curve {
    pub fn is_vexfs(&self) -> bool {
        self.library == "vexfs"
    }
}

/// Everything measured on one dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetResult {
    /// As given on the command line (`glove50`, `synthetic:100000x128`, ...).
    pub name: String,
    pub metric: String,
    pub base_rows: usize,
    pub dim: usize,
    pub queries: usize,
    pub k: usize,
    /// Queries timed one by one (latency, 1-thread QPS).
    pub single_queries: usize,
    pub ground_truth: String,
    pub curves: Vec<Curve>,
    /// Peer name -> version / SIMD information, or an error.
    pub peers: serde_json::Value,
    pub peer_errors: serde_json::Value,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub started_utc: String,
    pub profile: String,
    pub threads: usize,
    /// CPU model name (`/proc/cpuinfo`).
    #[serde(default)]
    pub cpu: String,
    /// CPU features and the VexFS kernel set in use.
    #[serde(default)]
    pub vexfs_simd: String,
    /// Git commit the benchmark binary (engine included) was built from
    /// and whether its tree was dirty then (absent in files written before
    /// it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::provenance::EngineCommit>,
    /// Side -> SIMD level: `vexfs` (kernel table) and each peer.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub simd: serde_json::Value,
    #[serde(default)]
    pub command: String,
    pub datasets: Vec<DatasetResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results files committed before provenance was recorded still load
    /// (for `--replot`), without the new fields; new ones round-trip them.
    #[test]
    fn old_results_files_load_and_new_fields_round_trip() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/results");
        let old = std::fs::read(dir.join("anns-simd-glove50-native.json")).unwrap();
        let mut r: RunReport = serde_json::from_slice(&old).unwrap();
        assert!(r.engine.is_none() && r.simd.is_null());
        assert!(!r.datasets.is_empty());
        r.engine = Some(crate::provenance::EngineCommit {
            commit: "ab".repeat(20),
            dirty: true,
        });
        r.simd = serde_json::json!({"vexfs": "avx2"});
        let back: RunReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.engine, r.engine);
        assert_eq!(back.simd, r.simd);
    }
}
