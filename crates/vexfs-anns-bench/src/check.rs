//! Recall floors for CI: recall at a fixed parameter point is deterministic
//! for a fixed seed, so a drop below the committed floor is a regression.
//! Timings are never asserted.

use crate::results::RunReport;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloorFile {
    #[serde(default)]
    pub note: String,
    pub floors: Vec<Floor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Floor {
    pub dataset: String,
    pub algo: String,
    /// The point's parameter label, e.g. `M=16,ef=40`.
    pub params: String,
    pub min_recall: f64,
    /// Recall measured when the floor was set (for reference only).
    #[serde(default)]
    pub measured: Option<f64>,
}

/// Check every floor; returns human-readable failures (empty = pass).
/// A floor whose index or point is missing from the run fails too, so a
/// strategy cannot silently drop out of CI.
pub fn check(report: &RunReport, floors: &FloorFile) -> Vec<String> {
    let mut failures = Vec::new();
    for f in &floors.floors {
        let Some(d) = report.datasets.iter().find(|d| d.name == f.dataset) else {
            failures.push(format!("{}: dataset not run", f.dataset));
            continue;
        };
        let Some(c) = d.curves.iter().find(|c| c.algo == f.algo) else {
            failures.push(format!(
                "{} {}: index missing from the run",
                f.dataset, f.algo
            ));
            continue;
        };
        match c.points.iter().find(|p| p.params == f.params) {
            None => failures.push(format!(
                "{} {} {}: point missing from the run",
                f.dataset, f.algo, f.params
            )),
            Some(p) if p.recall < f.min_recall => failures.push(format!(
                "{} {} {}: recall {:.4} below floor {:.4}",
                f.dataset, f.algo, f.params, p.recall, f.min_recall
            )),
            Some(_) => {}
        }
    }
    failures
}

pub fn read(path: &Path) -> Result<FloorFile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a recall-floor file", path.display()))
}

/// Floors for every VexFS index at its CI point: the point whose recall
/// is nearest 0.90, mid-curve where a search or build regression shows
/// most, minus `margin`. Flat is exact and gets a tight floor.
pub fn derive(report: &RunReport, margin: f64) -> FloorFile {
    let mut floors = Vec::new();
    for d in &report.datasets {
        for c in d.curves.iter().filter(|c| c.is_vexfs()) {
            let pick = c
                .points
                .iter()
                .min_by(|a, b| (a.recall - 0.9).abs().total_cmp(&(b.recall - 0.9).abs()));
            if let Some(p) = pick {
                let m = if c.strategy == "flat" { 0.001 } else { margin };
                floors.push(Floor {
                    dataset: d.name.clone(),
                    algo: c.algo.clone(),
                    params: p.params.clone(),
                    min_recall: ((p.recall - m) * 1000.0 + 1e-6).floor() / 1000.0,
                    measured: Some((p.recall * 10000.0).round() / 10000.0),
                });
            }
        }
    }
    FloorFile {
        note: "recall@k floors at fixed parameter points; deterministic for the fixed data and build seeds. \
               Regenerate with anns_benchmark --profile ci --peers none --write-floor FILE"
            .into(),
        floors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Curve, DatasetResult, Point};

    fn report(recall: f64) -> RunReport {
        RunReport {
            started_utc: String::new(),
            profile: "ci".into(),
            threads: 1,
            cpu: String::new(),
            vexfs_simd: String::new(),
            engine: None,
            simd: serde_json::Value::Null,
            command: String::new(),
            datasets: vec![DatasetResult {
                name: "d".into(),
                metric: "l2".into(),
                base_rows: 1,
                dim: 1,
                queries: 1,
                k: 10,
                single_queries: 1,
                ground_truth: String::new(),
                curves: vec![Curve {
                    algo: "vexfs-hnsw".into(),
                    library: "vexfs".into(),
                    strategy: "hnsw".into(),
                    train_s: 0.0,
                    build_s: 0.0,
                    inserts_per_s: 0.0,
                    memory_bytes: 0,
                    stats_memory_bytes: None,
                    index_bytes: 0,
                    build_params: serde_json::Value::Null,
                    points: vec![Point {
                        params: "ef=40".into(),
                        recall,
                        qps_1t: 1.0,
                        qps_1t_batch: None,
                        qps_batch: 1.0,
                        p50_us: 0.0,
                        p99_us: 0.0,
                    }],
                }],
                peers: serde_json::Value::Null,
                peer_errors: serde_json::Value::Null,
            }],
        }
    }

    #[test]
    fn floors_pass_fail_and_missing() {
        let floors = derive(&report(0.95), 0.02);
        assert_eq!(floors.floors[0].min_recall, 0.93);
        assert!(check(&report(0.95), &floors).is_empty());
        assert_eq!(check(&report(0.90), &floors).len(), 1);
        let mut missing = floors.clone();
        missing.floors[0].params = "ef=80".into();
        assert!(check(&report(0.95), &missing)[0].contains("point missing"));
    }
}
