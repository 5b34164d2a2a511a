//! Build any strategy from text parameters (`vexctl`, the benchmark).
//!
//! Parameters are `key=value` pairs separated by commas or whitespace, e.g.
//! `"m=16,ef_construction=200,ef_search=64"`. Keys per strategy:
//!
//! | strategy | keys |
//! |----------|------|
//! | flat     | `storage` |
//! | hnsw     | `m`, `ef_construction` (`efc`), `ef_search` (`ef`), `seed`, `max_elements`, `storage` |
//! | ivf      | `nlist`, `nprobe`, `seed`, `train_iters` (`iters`) |
//! | ivfpq    | `nlist`, `m` (`m_subquantizers`, `pq_m`), `nbits`, `nprobe`, `rerank`, `seed`, `train_iters` |
//! | lsh      | `tables`, `bits`, `scan` (1 = code scan), `probes` (`nprobe`), `rerank`, `seed` |
//!
//! Values are integers, except `storage`: `f32` (default), `f16` or
//! `sq8` (see [`Storage`]; an SQ8 index must be trained before vectors are
//! added). Unknown keys and unparsable values are errors.

use crate::error::{AnnError, Result};
use crate::flat::FlatIndex;
use crate::hnsw::{HnswConfig, HnswIndex};
use crate::index::{IndexKind, VectorIndex};
use crate::ivf::{IvfConfig, IvfFlatIndex};
use crate::ivfpq::{IvfPqConfig, IvfPqIndex};
use crate::lsh::{LshConfig, LshIndex};
use crate::metric::Metric;
use crate::storage::Storage;
use alloc::boxed::Box;

/// Parse a strategy name: `flat`, `hnsw`, `ivf` / `ivf_flat` / `ivfflat`,
/// `ivfpq` / `ivf_pq`, `lsh` (case-insensitive).
pub fn parse_kind(s: &str) -> Option<IndexKind> {
    let s = s.trim();
    let eq = |x: &str| s.eq_ignore_ascii_case(x);
    if eq("flat") || eq("bruteforce") {
        Some(IndexKind::Flat)
    } else if eq("hnsw") {
        Some(IndexKind::Hnsw)
    } else if eq("ivf") || eq("ivf_flat") || eq("ivfflat") || eq("ivf-flat") {
        Some(IndexKind::IvfFlat)
    } else if eq("ivfpq") || eq("ivf_pq") || eq("ivf-pq") {
        Some(IndexKind::IvfPq)
    } else if eq("lsh") {
        Some(IndexKind::Lsh)
    } else {
        None
    }
}

/// Parse a metric name: `l2` / `euclidean`, `ip` / `dot` /
/// `inner_product`, `cosine` / `angular` (case-insensitive).
pub fn parse_metric(s: &str) -> Option<Metric> {
    let s = s.trim();
    let eq = |x: &str| s.eq_ignore_ascii_case(x);
    if eq("l2") || eq("euclidean") {
        Some(Metric::L2)
    } else if eq("ip") || eq("dot") || eq("inner_product") || eq("innerproduct") {
        Some(Metric::InnerProduct)
    } else if eq("cosine") || eq("angular") {
        Some(Metric::Cosine)
    } else {
        None
    }
}

/// A parameter value: an integer, or (for `storage`) a name.
#[derive(Clone, Copy)]
struct Value<'a>(&'a str);

impl Value<'_> {
    fn int(self) -> Result<u64> {
        self.0
            .trim()
            .parse::<u64>()
            .map_err(|_| AnnError::InvalidParameter("value is not an integer"))
    }
    fn storage(self) -> Result<Storage> {
        Storage::parse(self.0).ok_or(AnnError::InvalidParameter(
            "storage must be f32, f16 or sq8",
        ))
    }
}

fn pairs(params: &str) -> impl Iterator<Item = Result<(&str, Value<'_>)>> {
    params
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or(AnnError::InvalidParameter("expected key=value"))?;
            Ok((k.trim(), Value(v)))
        })
}

fn us(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Create an empty index of `kind` configured from `params`.
pub fn build_index(
    kind: IndexKind,
    dim: usize,
    metric: Metric,
    params: &str,
) -> Result<Box<dyn VectorIndex>> {
    const UNKNOWN: AnnError = AnnError::InvalidParameter("unknown parameter for this index kind");
    Ok(match kind {
        IndexKind::Flat => {
            let mut storage = Storage::F32;
            for p in pairs(params) {
                match p? {
                    ("storage", v) => storage = v.storage()?,
                    _ => return Err(UNKNOWN),
                }
            }
            crate::mem::try_box(FlatIndex::with_storage(dim, metric, storage)?)?
        }
        IndexKind::Hnsw => {
            let mut c = HnswConfig::default();
            let mut storage = Storage::F32;
            for p in pairs(params) {
                let (k, v) = p?;
                if k == "storage" {
                    storage = v.storage()?;
                    continue;
                }
                let v = v.int()?;
                match k {
                    "m" | "M" => c.m = us(v),
                    "ef_construction" | "efc" => c.ef_construction = us(v),
                    "ef_search" | "ef" => c.ef_search = us(v),
                    "seed" => c.seed = v,
                    "max_elements" => c.max_elements = us(v),
                    _ => return Err(UNKNOWN),
                }
            }
            crate::mem::try_box(HnswIndex::with_storage(dim, metric, c, storage)?)?
        }
        IndexKind::IvfFlat => {
            let mut c = IvfConfig::default();
            for p in pairs(params) {
                let (k, v) = p?;
                let v = v.int()?;
                match k {
                    "nlist" => c.nlist = us(v),
                    "nprobe" => c.nprobe = us(v),
                    "seed" => c.seed = v,
                    "train_iters" | "iters" => c.train_iters = us(v),
                    _ => return Err(UNKNOWN),
                }
            }
            crate::mem::try_box(IvfFlatIndex::new(dim, metric, c)?)?
        }
        IndexKind::IvfPq => {
            let mut c = IvfPqConfig::default();
            for p in pairs(params) {
                let (k, v) = p?;
                let v = v.int()?;
                match k {
                    "nlist" => c.nlist = us(v),
                    "m" | "M" | "m_subquantizers" | "pq_m" => c.m_subquantizers = us(v),
                    "nbits" => c.nbits = us(v),
                    "nprobe" => c.nprobe = us(v),
                    "rerank" => c.rerank = us(v),
                    "seed" => c.seed = v,
                    "train_iters" | "iters" => c.train_iters = us(v),
                    _ => return Err(UNKNOWN),
                }
            }
            crate::mem::try_box(IvfPqIndex::new(dim, metric, c)?)?
        }
        IndexKind::Lsh => {
            let mut c = LshConfig::default();
            for p in pairs(params) {
                let (k, v) = p?;
                let v = v.int()?;
                match k {
                    "tables" => c.tables = us(v),
                    "bits" => c.bits = us(v),
                    "scan" => {
                        c.mode = if v != 0 {
                            crate::lsh::LshMode::CodeScan
                        } else {
                            crate::lsh::LshMode::Buckets
                        }
                    }
                    "probes" | "nprobe" => c.probes = us(v),
                    "rerank" => c.rerank = us(v),
                    "seed" => c.seed = v,
                    _ => return Err(UNKNOWN),
                }
            }
            crate::mem::try_box(LshIndex::new(dim, metric, c)?)?
        }
    })
}
