//! Profiles and the parameter sweeps shared by VexFS and the peers.

use serde::Serialize;

/// Build and search parameters for one dataset. The same values go to the
/// peer harness so both sides sweep identical points.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub hnsw: HnswSweep,
    pub ivf: IvfSweep,
    pub ivfpq: IvfPqSweep,
    pub lsh: LshSweep,
    /// Queries timed one at a time (latency percentiles, 1-thread QPS).
    pub single_queries: usize,
    /// Rows used to train IVF / PQ / LSH (a strided sample of the base).
    pub train_rows: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct HnswSweep {
    /// Graph degrees; the first is the like-for-like configuration.
    #[serde(rename = "M")]
    pub m: Vec<usize>,
    pub ef_construction: usize,
    pub ef: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IvfSweep {
    pub nlist: usize,
    /// k-means iterations for the coarse quantiser, the same on both sides
    /// (FAISS's own default is 10 for IVF and 25 for PQ codebooks).
    pub train_iters: usize,
    pub nprobe: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IvfPqSweep {
    pub nlist: usize,
    /// k-means iterations for the coarse quantiser and every PQ codebook,
    /// the same on both sides.
    pub train_iters: usize,
    /// Sub-quantisers (must divide the dimension).
    pub m: usize,
    pub nbits: usize,
    pub nprobe: Vec<usize>,
    /// Candidates re-ranked with exact distances.
    pub rerank: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LshSweep {
    /// VexFS: hash tables (one build each; in code-scan mode, code words
    /// of `bits` bits) and bits per table.
    pub tables: Vec<usize>,
    pub bits: usize,
    /// VexFS: scan every packed code (`tables * bits` bits) instead of
    /// probing buckets.
    pub scan: bool,
    /// VexFS: multi-probe count.
    pub probes: Vec<usize>,
    /// Candidates re-ranked with exact distances (both sides). 0 means
    /// every candidate found for VexFS and no re-ranking (Hamming order)
    /// for FAISS.
    pub rerank: Vec<usize>,
    /// FAISS IndexLSH code lengths (it has no tables or probes: it scans
    /// every code, so its knob is the code length).
    pub faiss_nbits: Vec<usize>,
}

/// k-means iterations for IVF and PQ training: the VexFS default, passed
/// to FAISS explicitly so both sides train for the same count.
pub const KMEANS_ITERS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Two small synthetic sets, a few points per strategy: well under
    /// 3 min on 2 cores.
    Ci,
    /// GloVe-50 and synthetic 100k x 128, 1k queries, a medium sweep.
    Quick,
    /// GloVe-50 (10k held-out queries) and synthetic 100k x 128, full sweep.
    Full,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Ci => "ci",
            Profile::Quick => "quick",
            Profile::Full => "full",
        }
    }

    /// Datasets run when `--dataset` is not given.
    pub fn datasets(self) -> Vec<&'static str> {
        match self {
            Profile::Ci => vec!["synthetic:20000x32", "synthetic:20000x128"],
            Profile::Quick | Profile::Full => vec!["glove50", "synthetic:100000x128"],
        }
    }

    pub fn queries(self) -> usize {
        match self {
            Profile::Ci => 500,
            Profile::Quick => 1000,
            Profile::Full => 10_000,
        }
    }

    /// IVF list count: about 4 * sqrt(n), the usual FAISS rule of thumb.
    pub fn nlist(n: usize) -> usize {
        ((4.0 * (n as f64).sqrt()).round() as usize).clamp(1, n.max(1))
    }

    /// PQ sub-quantisers: 4 dimensions each when the dimension allows,
    /// else 2, else 1 (GloVe's 50 dimensions give 25).
    pub fn pq_m(dim: usize) -> usize {
        if dim.is_multiple_of(4) {
            dim / 4
        } else if dim.is_multiple_of(2) {
            dim / 2
        } else {
            dim
        }
    }

    pub fn sweep(self, n: usize, dim: usize) -> Sweep {
        let nlist = Self::nlist(n);
        let capped = |v: Vec<usize>| -> Vec<usize> {
            let mut v: Vec<usize> = v.into_iter().map(|x| x.min(nlist)).collect();
            v.dedup();
            v
        };
        let train_rows = n.min((nlist * 64).max(10_000));
        let lsh_bits = if dim >= 64 { 16 } else { 12 };
        // Quick / full: VexFS LSH scans packed codes of about as many sign
        // bits as FAISS's 4 * dim (and 8 * dim in `full`), in 64-bit words.
        let lsh_code_words = |bits: usize| bits.div_ceil(64);
        match self {
            Profile::Ci => Sweep {
                hnsw: HnswSweep {
                    m: vec![16],
                    ef_construction: 200,
                    ef: vec![10, 20, 40, 80],
                },
                ivf: IvfSweep {
                    nlist,
                    train_iters: KMEANS_ITERS,
                    nprobe: capped(vec![1, 4, 16, 64]),
                },
                ivfpq: IvfPqSweep {
                    nlist,
                    train_iters: KMEANS_ITERS,
                    m: Self::pq_m(dim),
                    nbits: 8,
                    nprobe: capped(vec![8, 32]),
                    rerank: vec![10, 100],
                },
                lsh: LshSweep {
                    tables: vec![8],
                    bits: lsh_bits,
                    scan: false,
                    probes: vec![1, 8, 32],
                    rerank: vec![100, 400],
                    faiss_nbits: vec![dim * 4],
                },
                single_queries: 500,
                train_rows,
            },
            Profile::Quick => Sweep {
                hnsw: HnswSweep {
                    m: vec![16],
                    ef_construction: 200,
                    ef: vec![10, 16, 32, 64, 128, 256],
                },
                ivf: IvfSweep {
                    nlist,
                    train_iters: KMEANS_ITERS,
                    nprobe: capped(vec![1, 2, 4, 8, 16, 32, 64, 128]),
                },
                ivfpq: IvfPqSweep {
                    nlist,
                    train_iters: KMEANS_ITERS,
                    m: Self::pq_m(dim),
                    nbits: 8,
                    nprobe: capped(vec![4, 16, 64]),
                    rerank: vec![10, 50, 200],
                },
                lsh: LshSweep {
                    tables: vec![lsh_code_words(dim * 4)],
                    bits: 64,
                    scan: true,
                    probes: vec![1],
                    rerank: vec![50, 100, 200, 400, 800, 1600],
                    faiss_nbits: vec![dim * 4],
                },
                single_queries: 1000,
                train_rows,
            },
            Profile::Full => Sweep {
                // One degree (M=16) keeps a full run of both datasets with
                // all peers near an hour on 2 cores; add 32 here for a
                // second build point when time allows.
                hnsw: HnswSweep {
                    m: vec![16],
                    ef_construction: 200,
                    ef: vec![10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768],
                },
                ivf: IvfSweep {
                    nlist,
                    train_iters: KMEANS_ITERS,
                    nprobe: capped(vec![
                        1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512,
                    ]),
                },
                ivfpq: IvfPqSweep {
                    nlist,
                    train_iters: KMEANS_ITERS,
                    m: Self::pq_m(dim),
                    nbits: 8,
                    nprobe: capped(vec![8, 16, 32, 64, 128, 256]),
                    rerank: vec![10, 100, 300, 1000],
                },
                lsh: LshSweep {
                    tables: vec![lsh_code_words(dim * 4), lsh_code_words(dim * 8)],
                    bits: 64,
                    scan: true,
                    probes: vec![1],
                    rerank: vec![50, 100, 200, 400, 800, 1600, 3200],
                    faiss_nbits: vec![dim * 4, dim * 8],
                },
                single_queries: 2000,
                train_rows,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pq_m_divides_dimension() {
        for d in [32, 50, 96, 100, 128, 7] {
            assert_eq!(d % Profile::pq_m(d), 0, "d={d}");
        }
        assert_eq!(Profile::pq_m(50), 25);
        assert_eq!(Profile::pq_m(128), 32);
        assert_eq!(Profile::nlist(400_000), 2530);
    }

    #[test]
    fn nprobe_never_exceeds_nlist() {
        let s = Profile::Full.sweep(100, 8);
        assert!(s.ivf.nprobe.iter().all(|&p| p <= s.ivf.nlist));
    }
}
