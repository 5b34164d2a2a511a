//! `vexctl` through a real FUSE mount: an image made with the built
//! `mkfs-vexfs`, mounted with the built `vexfs-fuse -f` (beside this
//! crate's binaries in the target directory, or `VEXFS_FUSE_BIN`). Skips
//! when /dev/fuse, fusermount3 or the daemon is missing.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use vexfs_tools::vexctl::vectors::{self, Matrix};

const VEXCTL: &str = env!("CARGO_BIN_EXE_vexctl");
const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-vexfs");

fn fuse_bin() -> PathBuf {
    match std::env::var_os("VEXFS_FUSE_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(VEXCTL).with_file_name("vexfs-fuse"),
    }
}

fn which(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

/// Whether a mount can be made here; says why not.
fn available() -> bool {
    let why = if !Path::new("/dev/fuse").exists() {
        "/dev/fuse is missing".to_string()
    } else if !which("fusermount3") {
        "fusermount3 is not installed (apt-get install fuse3)".to_string()
    } else if !fuse_bin().is_file() {
        format!(
            "{} is not built (cargo build --release -p vexfs-fuse)",
            fuse_bin().display()
        )
    } else {
        return true;
    };
    eprintln!("SKIP: {why}; vexctl mount tests not run");
    false
}

fn is_mounted(mnt: &Path) -> bool {
    let Ok(canon) = mnt.canonicalize() else {
        return false;
    };
    let want = canon.to_string_lossy().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|s| {
            s.lines()
                .any(|l| l.split(' ').nth(4) == Some(want.as_str()) && l.contains(" - fuse.vexfs "))
        })
        .unwrap_or(false)
}

/// A fresh image mounted on a temporary directory; unmounted on drop.
struct Mount {
    scratch: tempfile::TempDir,
    mnt: PathBuf,
    child: Option<Child>,
}

impl Mount {
    fn new() -> Option<Mount> {
        Self::with_options(&[])
    }

    fn with_options(opts: &[&str]) -> Option<Mount> {
        if !available() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("vexctl-test")
            .tempdir()
            .unwrap();
        let image = dir.path().join("image");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let o = Command::new(MKFS)
            .arg("-q")
            .arg(&image)
            .arg("256M")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "mkfs: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut cmd = Command::new(fuse_bin());
        cmd.arg("-f").arg(&image).arg(&mnt);
        if !opts.is_empty() {
            cmd.arg("-o").arg(opts.join(","));
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !is_mounted(&mnt) {
            if let Ok(Some(st)) = child.try_wait() {
                let mut err = String::new();
                child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                panic!("vexfs-fuse exited with {st}: {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "mount did not appear"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Mount {
            scratch: dir,
            mnt,
            child: Some(child),
        })
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }

    /// Run vexctl in the mount's root directory.
    fn ctl(&self, args: &[&str]) -> Run {
        run_in(&self.mnt, args)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        for _ in 0..100 {
            let ok = Command::new("fusermount3")
                .arg("-u")
                .arg(&self.mnt)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok || !is_mounted(&self.mnt) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
        let _ = child.wait();
    }
}

/// One vexctl run.
struct Run {
    code: i32,
    raw: Vec<u8>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "vexctl failed:\n{}", self.stderr);
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    /// Expect exit `code` and a message containing `text`.
    fn fails(self, code: i32, text: &str) {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stderr:\n{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(text),
            "expected '{text}' in:\n{}",
            self.stderr
        );
    }
}

fn run_in(cwd: &Path, args: &[&str]) -> Run {
    run_cmd(Command::new(VEXCTL).args(args).current_dir(cwd), args)
}

fn run_cmd(cmd: &mut Command, args: &[&str]) -> Run {
    let o: Output = cmd.stdin(Stdio::null()).output().unwrap();
    let r = Run {
        code: o.status.code().unwrap_or(-1),
        raw: o.stdout.clone(),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    };
    assert!(
        !r.stderr.contains("panicked"),
        "vexctl {args:?} panicked:\n{}",
        r.stderr
    );
    r
}

/// Deterministic pseudo-random data (xorshift), values in [-1, 1).
fn data(rows: usize, dim: usize, seed: u64) -> Matrix {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    Matrix {
        rows,
        dim,
        data: (0..rows * dim).map(|_| next()).collect(),
    }
}

fn write_npy(path: &Path, m: &Matrix) {
    let mut b = Vec::new();
    vectors::write_npy(&mut b, m, false).unwrap();
    std::fs::write(path, b).unwrap();
}

fn write_names(path: &Path, names: &[String]) {
    std::fs::write(path, names.join("\n") + "\n").unwrap();
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Brute-force k nearest rows: (row, squared L2).
fn brute(m: &Matrix, q: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut d: Vec<(usize, f32)> = m
        .iter_rows()
        .enumerate()
        .map(|(i, r)| (i, l2(r, q)))
        .collect();
    d.sort_by(|a, b| a.1.total_cmp(&b.1));
    d.truncate(k);
    d
}

fn values(v: &[f32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Paths and distances of a `search --json` run.
fn hits(r: &Run) -> Vec<(String, f32)> {
    r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_string(),
                h["distance"].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

/// `dir` with a flat index and `rows` files w0.. imported from a .npy.
fn imported(m: &Mount, dir: &str, strategy: &str, rows: usize, dim: usize, seed: u64) -> Matrix {
    std::fs::create_dir(m.path(dir)).unwrap();
    m.ctl(&[
        "index",
        "create",
        dir,
        "--strategy",
        strategy,
        "--dim",
        &dim.to_string(),
    ])
    .ok();
    let d = data(rows, dim, seed);
    let npy = m.scratch.path().join(format!("{dir}.npy"));
    write_npy(&npy, &d);
    let names: Vec<String> = (0..rows).map(|i| format!("w{i}")).collect();
    let nf = m.scratch.path().join(format!("{dir}.names"));
    write_names(&nf, &names);
    let r = m
        .ctl(&[
            "--json",
            "import",
            dir,
            "--vectors",
            npy.to_str().unwrap(),
            "--names",
            nf.to_str().unwrap(),
            "--create",
        ])
        .ok();
    let j = r.json();
    assert_eq!(j["rows"], rows);
    assert_eq!(j["dim"], dim);
    assert!(j["requests"].as_u64().unwrap() >= 1);
    assert!(j["rows_per_second"].as_f64().unwrap() > 0.0);
    d
}

#[test]
fn set_get_rm_round_trip() {
    let Some(m) = Mount::new() else { return };
    std::fs::write(m.path("doc"), b"text").unwrap();
    m.ctl(&["set", "doc", "--values", "0.1,-0.2,0.3"]).ok();
    let raw = std::fs::read(m.path("doc")).unwrap();
    assert_eq!(raw, b"text", "the data is untouched");
    assert_eq!(m.ctl(&["get", "doc"]).ok().stdout, "0.1 -0.2 0.3\n");
    let j = m.ctl(&["get", "doc", "--json"]).ok().json();
    assert_eq!(j["dim"], 3);
    assert_eq!(j["path"], "doc");
    assert_eq!(j["vector"].as_array().unwrap().len(), 3);
    let out = m.scratch.path().join("out.npy");
    m.ctl(&[
        "get",
        "doc",
        "--format",
        "npy",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        vectors::parse_npy(&std::fs::read(&out).unwrap())
            .unwrap()
            .data,
        vec![0.1, -0.2, 0.3]
    );
    // The same vector back through a file, then removed.
    m.ctl(&["set", "doc", "--vector", out.to_str().unwrap()])
        .ok();
    assert_eq!(
        m.ctl(&["get", "doc", "--format", "raw"]).ok().raw,
        vectors::to_le_bytes(&[0.1, -0.2, 0.3])
    );
    assert_eq!(m.ctl(&["--json", "rm", "doc"]).ok().json()["removed"], true);
    m.ctl(&["get", "doc"])
        .fails(2, "doc: has no embedding (ENODATA)");
    m.ctl(&["rm", "doc"]).fails(2, "has no embedding");
    assert_eq!(
        m.ctl(&["rm", "-f", "doc", "--json"]).ok().json()["removed"],
        false
    );
    // fvecs and text inputs, with --row.
    let d = data(3, 4, 1);
    let fv = m.scratch.path().join("v.fvecs");
    let mut b = Vec::new();
    vectors::write_fvecs(&mut b, &d).unwrap();
    std::fs::write(&fv, b).unwrap();
    m.ctl(&["set", "doc", "--vector", fv.to_str().unwrap()])
        .fails(1, "holds 3 vectors; pick one with --row N");
    m.ctl(&["set", "doc", "--vector", fv.to_str().unwrap(), "--row", "2"])
        .ok();
    let j = m.ctl(&["get", "doc", "--json"]).ok().json();
    let got: Vec<f32> = j["vector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got, d.row(2).unwrap());
    let txt = m.scratch.path().join("v.txt");
    std::fs::write(&txt, "1 2\n3 4\n").unwrap();
    m.ctl(&[
        "set",
        "doc",
        "--vector",
        txt.to_str().unwrap(),
        "--row",
        "1",
    ])
    .ok();
    assert_eq!(m.ctl(&["get", "doc"]).ok().stdout, "3 4\n");
}

#[test]
fn import_and_flat_search_equal_brute_force() {
    let Some(m) = Mount::new() else { return };
    let d = imported(&m, "words", "flat", 300, 16, 7);
    let st = m.ctl(&["index", "stats", "words", "--json"]).ok().json();
    assert_eq!(
        (
            st["vectors"].as_u64(),
            st["dim"].as_u64(),
            st["strategy"].as_str()
        ),
        (Some(300), Some(16), Some("flat"))
    );
    for qi in [0usize, 17, 150, 299] {
        let q: Vec<f32> = d.row(qi).unwrap().iter().map(|x| x + 0.01).collect();
        let got = hits(
            &m.ctl(&[
                "search",
                "words",
                "--values",
                &values(&q),
                "-k",
                "10",
                "--json",
            ])
            .ok(),
        );
        let want = brute(&d, &q, 10);
        let want_paths: Vec<String> = want.iter().map(|(i, _)| format!("words/w{i}")).collect();
        assert_eq!(
            got.iter().map(|h| h.0.clone()).collect::<Vec<_>>(),
            want_paths,
            "query {qi}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.1 - w.1).abs() <= 1e-4 * w.1.max(1.0),
                "distance {} vs {}",
                g.1,
                w.1
            );
        }
    }
    // Text output: path TAB distance, joined to DIR; --relative drops it.
    let q = values(d.row(5).unwrap());
    let out = m
        .ctl(&["search", "words", "--values", &q, "-k", "3"])
        .ok()
        .stdout;
    let first = out.lines().next().unwrap();
    assert_eq!(first.split('\t').next(), Some("words/w5"));
    assert_eq!(
        first.split('\t').nth(1).unwrap().parse::<f32>().unwrap(),
        0.0
    );
    let out = m
        .ctl(&["search", "words", "--values", &q, "-k", "1", "--relative"])
        .ok()
        .stdout;
    assert!(out.starts_with("w5\t"), "{out}");
    // Generated names: <prefix><row>.
    std::fs::create_dir(m.path("rows")).unwrap();
    let npy = m.scratch.path().join("words.npy");
    m.ctl(&[
        "import",
        "rows",
        "--vectors",
        npy.to_str().unwrap(),
        "--create",
        "--prefix",
        "row-",
    ])
    .ok();
    assert_eq!(
        m.ctl(&["get", "rows/row-42", "--json"]).ok().json()["vector"]
            .as_array()
            .unwrap()
            .len(),
        16
    );
    // Without --create the files must exist.
    std::fs::create_dir(m.path("empty")).unwrap();
    m.ctl(&["import", "empty", "--vectors", npy.to_str().unwrap()])
        .fails(2, "--create creates missing files");
}

#[test]
fn like_leaves_the_file_out() {
    let Some(m) = Mount::new() else { return };
    let d = imported(&m, "words", "flat", 200, 8, 3);
    let got = hits(
        &m.ctl(&["search", "words", "--like", "words/w3", "-k", "5", "--json"])
            .ok(),
    );
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|h| h.0 != "words/w3"));
    let want: Vec<String> = brute(&d, d.row(3).unwrap(), 6)
        .iter()
        .skip(1)
        .map(|(i, _)| format!("words/w{i}"))
        .collect();
    assert_eq!(got.iter().map(|h| h.0.clone()).collect::<Vec<_>>(), want);
    let got = hits(
        &m.ctl(&[
            "search",
            "words",
            "--like",
            "words/w3",
            "-k",
            "5",
            "--include-self",
            "--json",
        ])
        .ok(),
    );
    assert_eq!((got[0].0.as_str(), got[0].1), ("words/w3", 0.0));
    // From inside the directory, with paths relative to it.
    let r = run_in(
        &m.path("words"),
        &["search", ".", "--like", "w3", "-k", "2"],
    )
    .ok();
    assert!(
        r.stdout.lines().all(|l| !l.starts_with("w3\t")) && r.stdout.lines().count() == 2,
        "{}",
        r.stdout
    );
}

#[test]
fn filters_apply_inside_the_search() {
    let Some(m) = Mount::new() else { return };
    std::fs::create_dir_all(m.path("docs/sub")).unwrap();
    let d = data(40, 4, 11);
    for i in 0..40 {
        let p = if i < 20 {
            format!("docs/top{i}")
        } else {
            format!("docs/sub/low{i}")
        };
        std::fs::write(m.path(&p), b"").unwrap();
        m.ctl(&["set", &p, "--values", &values(d.row(i).unwrap())])
            .ok();
    }
    let q = values(d.row(0).unwrap());
    let got = hits(
        &m.ctl(&[
            "search",
            "docs",
            "--values",
            &q,
            "-k",
            "5",
            "--filter",
            "subtree=sub",
            "--json",
        ])
        .ok(),
    );
    assert_eq!(got.len(), 5);
    assert!(
        got.iter().all(|h| h.0.starts_with("docs/sub/low")),
        "{got:?}"
    );
    let got = hits(
        &m.ctl(&[
            "search",
            "docs",
            "--values",
            &q,
            "-k",
            "40",
            "--filter",
            "name=top1*",
            "--json",
        ])
        .ok(),
    );
    assert_eq!(got.len(), 11, "{got:?}");
    assert!(got.iter().all(|h| h.0.starts_with("docs/top1")));
    vexfs_tools::vexctl::sys::set_xattr(&m.path("docs/sub/low30"), "user.lang", b"en").unwrap();
    let got = hits(
        &m.ctl(&[
            "search",
            "docs",
            "--values",
            &q,
            "-k",
            "5",
            "--filter",
            "xattr=user.lang=en",
            "--json",
        ])
        .ok(),
    );
    assert_eq!(
        got.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
        vec!["docs/sub/low30"]
    );
    // Filters combine with AND.
    let got = hits(
        &m.ctl(&[
            "search",
            "docs",
            "--values",
            &q,
            "-k",
            "5",
            "--filter",
            "subtree=sub",
            "--filter",
            "name=top*",
            "--json",
        ])
        .ok(),
    );
    assert!(got.is_empty());
    m.ctl(&["search", "docs", "--values", &q, "--filter", "subtree=nope"])
        .fails(2, "docs/nope");
    m.ctl(&["search", "docs", "--values", &q, "--filter", "size=3"])
        .fails(1, "unknown filter");
}

#[test]
fn paging_beyond_128_and_staged_queries() {
    let Some(m) = Mount::new() else { return };
    let d = imported(&m, "many", "flat", 300, 8, 5);
    let q = d.row(9).unwrap();
    let r = m
        .ctl(&[
            "search",
            "many",
            "--values",
            &values(q),
            "-k",
            "250",
            "--json",
        ])
        .ok();
    let got = hits(&r);
    assert_eq!(got.len(), 250);
    let want: Vec<String> = brute(&d, q, 250)
        .iter()
        .map(|(i, _)| format!("many/w{i}"))
        .collect();
    assert_eq!(got.iter().map(|h| h.0.clone()).collect::<Vec<_>>(), want);
    assert_eq!(r.json()["total"], 250);
    // A query longer than the inline 2048 floats is staged.
    std::fs::create_dir(m.path("long")).unwrap();
    let big = data(4, 2100, 9);
    let npy = m.scratch.path().join("long.npy");
    write_npy(&npy, &big);
    m.ctl(&[
        "import",
        "long",
        "--vectors",
        npy.to_str().unwrap(),
        "--create",
    ])
    .ok();
    let got = hits(
        &m.ctl(&[
            "search",
            "long",
            "--like",
            "long/2",
            "--include-self",
            "-k",
            "2",
            "--json",
        ])
        .ok(),
    );
    assert_eq!(got[0].0, "long/2");
    // Vectors too long for a bulk request go one by one.
    std::fs::create_dir(m.path("huge")).unwrap();
    let huge = data(2, 4096, 10);
    let npy = m.scratch.path().join("huge.npy");
    write_npy(&npy, &huge);
    m.ctl(&[
        "import",
        "huge",
        "--vectors",
        npy.to_str().unwrap(),
        "--create",
    ])
    .ok();
    assert_eq!(m.ctl(&["get", "huge/1", "--json"]).ok().json()["dim"], 4096);
}

#[test]
fn index_lifecycle_and_json_shapes() {
    let Some(m) = Mount::new() else { return };
    imported(&m, "w", "flat", 100, 8, 2);
    let j = m
        .ctl(&[
            "index",
            "config",
            "w",
            "--strategy",
            "hnsw",
            "--params",
            "m=8,ef_construction=40",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["action"], "config");
    assert_eq!(j["stats"]["strategy"], "hnsw");
    assert_eq!(j["stats"]["dim"], 8);
    assert_eq!(j["stats"]["vectors"], 100);
    let j = m.ctl(&["index", "save", "w", "--json"]).ok().json();
    assert_eq!(j["stats"]["state"], "clean");
    m.ctl(&["index", "rebuild", "w"]).ok();
    let st = m.ctl(&["index", "stats", "w", "--json"]).ok().json();
    for key in [
        "dir",
        "root",
        "root_ino",
        "state",
        "strategy",
        "metric",
        "dim",
        "loaded",
        "vectors",
        "unindexed",
        "deleted",
        "memory_bytes",
        "disk_bytes",
        "generation",
        "params",
    ] {
        assert!(st.get(key).is_some(), "index stats lacks {key}: {st}");
    }
    assert_eq!(st["root"], "w");
    let text = m.ctl(&["index", "stats", "w"]).ok().stdout;
    assert!(
        text.contains("strategy:   hnsw") && text.contains("vectors:    100"),
        "{text}"
    );
    let r = m
        .ctl(&[
            "search", "w", "--like", "w/w1", "-k", "3", "--ef", "50", "--json",
        ])
        .ok()
        .json();
    for key in [
        "dir",
        "k",
        "total",
        "indexed",
        "exact_scan",
        "scanned",
        "results",
    ] {
        assert!(r.get(key).is_some(), "search lacks {key}: {r}");
    }
    assert_eq!(r["indexed"], true);
    let hit = &r["results"][0];
    assert!(
        hit["path"].is_string() && hit["distance"].is_number() && hit["ino"].is_u64(),
        "{hit}"
    );
    let ex = m
        .ctl(&[
            "search", "w", "--like", "w/w1", "-k", "3", "--exact", "--json",
        ])
        .ok()
        .json();
    assert_eq!(ex["exact_scan"], true);
    let s = m.ctl(&["stats", "w", "--scan", "--json"]).ok().json();
    assert_eq!(s["mount"]["vexfs"], true);
    assert_eq!(s["index"]["vectors"], 100);
    assert_eq!(s["scan"]["embeddings"], 100);
    assert_eq!(s["scan"]["by_dim"]["8"], 100);
    assert_eq!(s["scan"]["index_roots"][0]["path"], "w");
    let f = m.ctl(&["stats", "w/w3", "--json"]).ok().json();
    assert_eq!(f["embedding"]["dim"], 8);
    m.ctl(&["index", "create", "w", "--dim", "8"]).fails(
        4,
        "w: already has an index; change it with vexctl index config, or drop it first (EEXIST)",
    );
    let j = m.ctl(&["index", "drop", "w", "--json"]).ok().json();
    assert_eq!(j["stats"]["state"], "none");
    m.ctl(&["index", "drop", "w"])
        .fails(2, "has no index (ENODATA)");
    m.ctl(&["index", "config", "w", "--metric", "ip"])
        .fails(2, "has no index to reconfigure");
    // Without an index, search scans exactly.
    let r = m
        .ctl(&["search", "w", "--like", "w/w1", "-k", "3", "--json"])
        .ok()
        .json();
    assert_eq!(
        (
            r["indexed"].as_bool(),
            r["exact_scan"].as_bool(),
            r["results"].as_array().map(Vec::len)
        ),
        (Some(false), Some(true), Some(3))
    );
}

#[test]
fn bad_input_gives_clear_messages_and_exit_codes() {
    let Some(m) = Mount::new() else { return };
    std::fs::create_dir(m.path("words")).unwrap();
    m.ctl(&[
        "index",
        "create",
        "words",
        "--dim",
        "50",
        "--strategy",
        "flat",
    ])
    .ok();
    std::fs::write(m.path("words/king"), b"").unwrap();
    let v49 = vec!["0.5"; 49].join(",");
    m.ctl(&["set", "words/king", "--values", &v49]).fails(1, "vexctl: words/king: embedding has 49 dimensions, the index under words/ expects 50 (EINVAL)");
    m.ctl(&["set", "words/king", "--values", "1,nan,2"])
        .fails(1, "value 1 is NaN");
    m.ctl(&["set", "words/king", "--values", "1,x"])
        .fails(1, "value 1 ('x') is not a number");
    m.ctl(&["set", "words/none", "--values", "1,2"])
        .fails(2, "words/none: No such file or directory (ENOENT)");
    m.ctl(&["set", "words", "--values", "1,2"])
        .fails(1, "only regular files carry embeddings");
    m.ctl(&["set", "words/king", "--vector", "/nonexistent.npy"])
        .fails(1, "/nonexistent.npy");
    let nan = m.scratch.path().join("nan.npy");
    let mut bad = data(3, 50, 1);
    bad.data[70] = f32::INFINITY;
    write_npy(&nan, &bad);
    m.ctl(&[
        "import",
        "words",
        "--vectors",
        nan.to_str().unwrap(),
        "--create",
    ])
    .fails(1, "row 1, column 20 is inf");
    let wrong = m.scratch.path().join("wrong.npy");
    write_npy(&wrong, &data(3, 49, 1));
    m.ctl(&[
        "import",
        "words",
        "--vectors",
        wrong.to_str().unwrap(),
        "--create",
    ])
    .fails(
        1,
        "embeddings have 49 dimensions, the index under words/ expects 50 (EINVAL)",
    );
    let junk = m.scratch.path().join("junk.npy");
    std::fs::write(&junk, b"\x93NUMPY not really").unwrap();
    m.ctl(&["import", "words", "--vectors", junk.to_str().unwrap()])
        .fails(1, "not a valid .npy file");
    let names = m.scratch.path().join("names");
    std::fs::write(&names, "a\nb\n").unwrap();
    let ok = m.scratch.path().join("ok.npy");
    write_npy(&ok, &data(3, 50, 1));
    m.ctl(&[
        "import",
        "words",
        "--vectors",
        ok.to_str().unwrap(),
        "--names",
        names.to_str().unwrap(),
    ])
    .fails(1, "has 2 names for 3 vectors");
    std::fs::write(&names, "a\n../b\nc\n").unwrap();
    m.ctl(&[
        "import",
        "words",
        "--vectors",
        ok.to_str().unwrap(),
        "--names",
        names.to_str().unwrap(),
        "--create",
    ])
    .fails(1, "line 2: name '../b' contains '/'");
    let r = m
        .ctl(&[
            "import",
            "words",
            "--vectors",
            ok.to_str().unwrap(),
            "--names",
            names.to_str().unwrap(),
            "--create",
            "--skip-invalid",
            "--json",
        ])
        .ok();
    assert_eq!(
        (r.json()["rows"].as_u64(), r.json()["skipped"].as_u64()),
        (Some(2), Some(1))
    );
    let q = vec!["0.1"; 50].join(",");
    m.ctl(&["search", "words", "--values", &q, "-k", "0"])
        .fails(1, "k must be from 1 to 4096");
    m.ctl(&["search", "words", "--values", &q, "-k", "4097"])
        .fails(1, "k must be from 1 to 4096");
    m.ctl(&["search", "words", "--values", "1,2"]).fails(
        1,
        "query has 2 dimensions, the index under words/ expects 50 (EINVAL)",
    );
    m.ctl(&["search", "words", "--values", &q, "--metric", "cosine"])
        .fails(1, "metric cosine does not match the index's (l2)");
    m.ctl(&["search", "words", "--values", &q, "--metric", "hamming"])
        .fails(1, "unknown metric 'hamming'");
    m.ctl(&["search", "words/king", "--values", &q])
        .fails(1, "Not a directory (ENOTDIR)");
    m.ctl(&["search", "nowhere", "--values", &q])
        .fails(2, "nowhere: No such file or directory (ENOENT)");
    m.ctl(&["search", "words"])
        .fails(1, "search needs --vector FILE");
    m.ctl(&["search", "words", "--like", "words/king"])
        .fails(2, "words/king: has no embedding (ENODATA)");
    m.ctl(&["index", "create", "x", "--dim", "3", "--strategy", "annoy"])
        .fails(1, "unknown strategy 'annoy'");
    std::fs::create_dir(m.path("other")).unwrap();
    m.ctl(&[
        "index",
        "create",
        "other",
        "--dim",
        "3",
        "--strategy",
        "hnsw",
        "--params",
        "nlist=3",
    ])
    .fails(1, "unknown parameter 'nlist' for hnsw");
    m.ctl(&["index", "create", "other"]).fails(1, "needs --dim");
    m.ctl(&["index", "create", "other", "--dim", "5000"])
        .fails(1, "from 1 to 4096");
    m.ctl(&["frobnicate"]).fails(1, "unrecognized subcommand");
    // Off VexFS the ioctls are refused with a message that says so.
    let t = tempfile::tempdir().unwrap();
    run_in(t.path(), &["index", "stats", "."]).fails(4, "not a VexFS directory");
    run_in(t.path(), &["search", ".", "--values", "1,2"]).fails(4, "not a VexFS directory");
}

#[test]
fn permissions_for_other_users() {
    if !which("setpriv") || !nix_is_root() {
        eprintln!("SKIP: needs root and setpriv to run vexctl as another user");
        return;
    }
    let Some(m) = Mount::with_options(&["allow_other"]) else {
        return;
    };
    // Let the other user reach the mount point.
    std::fs::set_permissions(
        m.scratch.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::create_dir(m.path("d")).unwrap();
    m.ctl(&["index", "create", "d", "--dim", "2", "--strategy", "flat"])
        .ok();
    std::fs::write(m.path("d/mine"), b"").unwrap();
    m.ctl(&["set", "d/mine", "--values", "1,2"]).ok();
    let as_nobody = |args: &[&str]| {
        run_cmd(
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", VEXCTL])
                .args(args)
                .current_dir(&m.mnt),
            args,
        )
    };
    as_nobody(&["set", "d/mine", "--values", "3,4"]).fails(3, "d/mine: Permission denied (EACCES)");
    as_nobody(&["rm", "d/mine"]).fails(3, "(EACCES)");
    as_nobody(&["index", "drop", "d"]).fails(
        3,
        "only the directory's owner (or root) may change its index (EPERM)",
    );
    // Reading is allowed (mode 0644), and so is searching.
    assert_eq!(as_nobody(&["get", "d/mine"]).ok().stdout, "1 2\n");
    assert_eq!(
        as_nobody(&["search", "d", "--values", "1,2", "-k", "1"])
            .ok()
            .stdout,
        "d/mine\t0\n"
    );
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}
