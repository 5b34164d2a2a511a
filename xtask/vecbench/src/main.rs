//! `vexfs-vecbench DIR STRATEGY N DIM QUERIES K [PARAMS]`: the vector
//! workload of the VM run (xtask/guest/steps/75-ann-bench.sh and
//! 72-index-worker.sh), the same through the kernel module and through
//! vexfs-fuse. It makes DIR an index root (with the strategy's PARAMS, or
//! ones sized for a few thousand vectors), stores N seeded random DIM-d
//! embeddings as files with bulk ioctls (inserts/s; how many still wait
//! for the strategy when the last call returns: pending_after_insert),
//! then builds: one search, and a wait until no vector is pending (a mount
//! without an insertion worker folds them in on that search, one with a
//! worker in the background). Then QUERIES k-NN searches on the strategy
//! alone (searches/s), checked against an exact scan done here
//! (recall@K). The digest of every result list lets two runs of the same
//! workload be compared.
//!
//! One line on stdout: `strategy=.. n=.. inserts_per_s=..
//! pending_after_insert=.. build_ms=.. searches_per_s=.. recall=..
//! digest=..`.
//!
//! `vexfs-vecbench --query DIR STRATEGY N DIM QUERIES K` searches a DIR
//! that an earlier run filled (on this mount or the other one: the same
//! image), with the same queries, and prints `strategy=.. queries=..
//! searches_per_s=.. recall=.. digest=..`: equal digests mean the two
//! mounts answered every query alike from the same saved index.

mod sys;

use std::fs::File;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use vexfs_uapi as u;
use vexfs_uapi::Request;

const USAGE: &str = "usage: vexfs-vecbench [--query] DIR hnsw|flat|ivf|ivfpq|lsh N DIM QUERIES K [PARAMS]";

/// How long the build may wait for an insertion worker, and how often it
/// looks.
const BUILD_LIMIT: Duration = Duration::from_secs(900);
const BUILD_POLL: Duration = Duration::from_millis(10);

/// xorshift64*: the same vectors on every run and machine.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }

    fn rows(&mut self, n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim).map(|_| self.unit()).collect()
    }
}

/// Strategy code and parameters sized for a few thousand vectors.
fn strategy(name: &str) -> Option<(u32, &'static str)> {
    Some(match name {
        "hnsw" => (u::STRATEGY_HNSW, ""),
        "flat" => (u::STRATEGY_FLAT, ""),
        "ivf" => (u::STRATEGY_IVF, "nlist=32,nprobe=8"),
        "ivfpq" => (u::STRATEGY_IVFPQ, "nlist=32,nprobe=8,m=8"),
        "lsh" => (u::STRATEGY_LSH, ""),
        _ => return None,
    })
}

/// Names of the `k` rows nearest to `q` by squared L2, nearest first.
fn exact(rows: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<String> {
    let mut d: Vec<(f32, usize)> = rows
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, r)| (r.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum(), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.iter().take(k).map(|(_, i)| format!("v{i}")).collect()
}

/// FNV-1a over the result names, in order.
fn fnv(h: &mut u64, names: &[String]) {
    for n in names {
        for &b in n.as_bytes().iter().chain(b"\n") {
            *h ^= u64::from(b);
            *h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn arg(args: &[String], i: usize) -> Result<usize, String> {
    let v = args.get(i).ok_or(USAGE)?;
    v.parse()
        .map_err(|_| format!("not a number: {v:?}\n{USAGE}"))
}

/// The workload's arguments.
struct Work<'a> {
    dir: &'a str,
    sname: &'a str,
    code: u32,
    params: &'a str,
    n: usize,
    dim: usize,
    queries: usize,
    k: usize,
}

fn parse(args: &[String]) -> Result<Work<'_>, String> {
    let dir = args.first().ok_or(USAGE)?;
    let sname = args.get(1).ok_or(USAGE)?;
    let (code, default_params) = strategy(sname).ok_or(USAGE)?;
    let params = args.get(6).map_or(default_params, String::as_str);
    let (n, dim, queries, k) = (arg(args, 2)?, arg(args, 3)?, arg(args, 4)?, arg(args, 5)?);
    if n == 0 || dim == 0 || dim > u::INLINE_DIM || k == 0 || k > u::HITS_MAX {
        return Err(USAGE.into());
    }
    Ok(Work {
        dir,
        sname,
        code,
        params,
        n,
        dim,
        queries,
        k,
    })
}

/// Wait until no vector of `d` is pending (an insertion worker may still
/// be at work).
fn wait_built(d: &File, dir: &str) -> Result<(), String> {
    let t = Instant::now();
    while sys::pending(d).map_err(|e| format!("{dir}: VEXFS_IOC_INDEX_STATS: {e}"))? > 0 {
        if t.elapsed() > BUILD_LIMIT {
            return Err(format!(
                "{dir}: vectors still pending after {} s",
                BUILD_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(BUILD_POLL);
    }
    Ok(())
}

/// The timed searches: searches/s, recall@k against an exact scan, digest.
fn search_all(
    w: &Work<'_>,
    d: &File,
    req: &mut u::Search,
    rows: &[f32],
    qs: &[f32],
) -> Result<(f64, f64, u64), String> {
    let mut found = Vec::with_capacity(w.queries);
    let t = Instant::now();
    for q in qs.chunks_exact(w.dim) {
        found.push(
            sys::search(d, req, q, w.k).map_err(|e| format!("{}: VEXFS_IOC_SEARCH: {e}", w.dir))?,
        );
    }
    let search_s = t.elapsed().as_secs_f64();
    let (mut hit, mut digest) = (0usize, 0xcbf2_9ce4_8422_2325u64);
    for (q, got) in qs.chunks_exact(w.dim).zip(&found) {
        let want = exact(rows, w.dim, q, w.k);
        hit += got.iter().filter(|g| want.contains(g)).count();
        fnv(&mut digest, got);
    }
    let recall = hit as f64 / (w.queries.max(1) * w.k) as f64;
    Ok((w.queries as f64 / search_s.max(1e-9), recall, digest))
}

/// The seeded rows and queries (the same on every run and machine).
fn data(w: &Work<'_>) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng(0x5eed_0000_0000_0001);
    let rows = rng.rows(w.n, w.dim);
    let qs = rng.rows(w.queries, w.dim);
    (rows, qs)
}

fn run(w: &Work<'_>) -> Result<String, String> {
    let dir = w.dir;
    let io = |what: &'static str| move |e: std::io::Error| format!("{dir}: {what}: {e}");
    std::fs::create_dir(dir).map_err(io("mkdir"))?;
    let d = File::open(dir).map_err(io("open"))?;
    sys::index_create(&d, w.code, w.dim, w.params).map_err(io("VEXFS_IOC_INDEX_CREATE"))?;
    let (rows, qs) = data(w);

    let t = Instant::now();
    let calls = sys::bulk_set(&d, &rows, w.dim, 0).map_err(io("VEXFS_IOC_BULK_SET"))?;
    let insert_s = t.elapsed().as_secs_f64();
    let pending_after = sys::pending(&d).map_err(io("VEXFS_IOC_INDEX_STATS"))?;

    let mut req = Box::new(u::Search::new_request());
    let t = Instant::now();
    sys::search(&d, &mut req, &qs[..w.dim], w.k).map_err(io("VEXFS_IOC_SEARCH"))?;
    wait_built(&d, dir)?;
    let build_s = t.elapsed().as_secs_f64();

    let (per_s, recall, digest) = search_all(w, &d, &mut req, &rows, &qs)?;
    Ok(format!(
        "strategy={} n={} dim={} queries={} k={} bulk_calls={calls} \
         inserts_per_s={:.0} pending_after_insert={pending_after} build_ms={:.0} searches_per_s={per_s:.1} \
         recall={recall:.3} digest={digest:016x}",
        w.sname,
        w.n,
        w.dim,
        w.queries,
        w.k,
        w.n as f64 / insert_s.max(1e-9),
        build_s * 1e3,
    ))
}

/// `--query`: search a directory an earlier run filled.
fn query(w: &Work<'_>) -> Result<String, String> {
    let d = File::open(w.dir).map_err(|e| format!("{}: open: {e}", w.dir))?;
    let (rows, qs) = data(w);
    wait_built(&d, w.dir)?;
    let mut req = Box::new(u::Search::new_request());
    let (per_s, recall, digest) = search_all(w, &d, &mut req, &rows, &qs)?;
    Ok(format!(
        "strategy={} queries={} searches_per_s={per_s:.1} recall={recall:.3} digest={digest:016x}",
        w.sname, w.queries
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--query") => parse(&args[1..]).and_then(|w| query(&w)),
        _ => parse(&args).and_then(|w| run(&w)),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vexfs-vecbench: {e}");
            ExitCode::FAILURE
        }
    }
}
