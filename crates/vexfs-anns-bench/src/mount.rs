//! A VexFS image mounted with `vexfs-fuse -f` for `vexfs_mount_bench`:
//! mkfs, mount, unmount (also on drop), the daemon's RSS, and the vector
//! calls of include/uapi/vexfs.h (setxattr, bulk set, index create/stats,
//! search) on directory descriptors.

use anyhow::{anyhow, bail, Context, Result};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vexfs_uapi as u;
use vexfs_uapi::Request as _;

/// `target/release/<name>` of this workspace.
pub fn release_bin(name: &str) -> PathBuf {
    crate::peers::repo_root().join("target/release").join(name)
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Whether `mnt` is a mounted fuse.vexfs file system.
/// utime + stime of a `/proc/PID/stat` file, in seconds (0 if unreadable).
/// They count every thread of the process, ended ones included, so a
/// build's CPU time can be compared with another's when the wall times
/// of a shared machine cannot.
pub fn cpu_seconds_of(stat: &str) -> f64 {
    let s = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, so
    // utime (14) and stime (15) are the 12th and 13th after it.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    f.iter().sum::<u64>() as f64 / tick
}

pub fn is_mounted(mnt: &Path) -> bool {
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

/// Whether an executable named `name` is on the PATH.
fn in_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// A running `vexfs-fuse -f`; unmounted (fusermount3 -u) on drop.
pub struct Mount {
    child: Option<Child>,
    pub mnt: PathBuf,
    pub image: PathBuf,
}

impl Mount {
    /// Make a fresh image of `size` bytes with `inodes` inodes under
    /// `work` and mount it.
    pub fn fresh(work: &Path, size: u64, inodes: u64) -> Result<Mount> {
        // Checked first: without it the run would end, after all its work,
        // in a mount it cannot take down.
        if !in_path("fusermount3") {
            bail!("fusermount3 not found in PATH: install the fuse3 package (apt-get install fuse3)");
        }
        let image = work.join("vexfs.img");
        let mnt = work.join("mnt");
        let _ = std::fs::remove_file(&image);
        std::fs::create_dir_all(&mnt)?;
        run(Command::new(release_bin("mkfs-vexfs"))
            .arg("-q")
            .arg("-N")
            .arg(inodes.to_string())
            .arg(&image)
            .arg(size.to_string()))?;
        let mut child = Command::new(release_bin("vexfs-fuse"))
            .arg("-f")
            .arg(&image)
            .arg(&mnt)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start vexfs-fuse")?;
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if is_mounted(&mnt) {
                return Ok(Mount {
                    child: Some(child),
                    mnt,
                    image,
                });
            }
            if let Ok(Some(st)) = child.try_wait() {
                bail!("vexfs-fuse exited with {st} before mounting");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("mount did not appear within 30 s")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// CPU seconds (user + system, all threads) the daemon has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&format!("/proc/{}/stat", self.pid()))
    }

    /// The daemon's VmRSS and VmHWM in bytes.
    pub fn rss(&self) -> (u64, u64) {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Unmount and wait for the daemon (it saves the indexes on the way).
    pub fn unmount(mut self) -> Result<f64> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<f64> {
        let Some(mut child) = self.child.take() else {
            return Ok(0.0);
        };
        let t = Instant::now();
        let mut ok = false;
        for _ in 0..50 {
            let st = Command::new("fusermount3")
                .arg("-u")
                .arg(&self.mnt)
                .stderr(Stdio::null())
                .status();
            if st.is_ok_and(|s| s.success()) {
                ok = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if !ok {
            let _ = Command::new("fusermount3")
                .arg("-uz")
                .arg(&self.mnt)
                .status();
            let _ = child.kill();
        }
        let st = child.wait()?;
        if !ok || !st.success() {
            bail!("unmount failed (daemon exit {st})");
        }
        Ok(t.elapsed().as_secs_f64())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("warning: {e:#}");
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// ioctl with a struct argument (or none).
pub fn ioctl<T: u::Request>(f: &File, cmd: u32, arg: Option<&mut T>) -> Result<()> {
    let ptr: *mut T = arg.map_or(std::ptr::null_mut(), |a| a as *mut T);
    // SAFETY: `ptr` is null (commands without an argument) or points to a
    // live value of the struct whose size the command number encodes.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), cmd as _, ptr) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(anyhow!("ioctl {cmd:#x}: {e}"));
    }
    Ok(())
}

pub fn metric_code(m: vexfs_ann::Metric) -> u32 {
    match m {
        vexfs_ann::Metric::L2 => u::METRIC_L2,
        vexfs_ann::Metric::InnerProduct => u::METRIC_IP,
        vexfs_ann::Metric::Cosine => u::METRIC_COSINE,
    }
}

/// Make `dir` an HNSW index root.
pub fn create_hnsw(dir: &Path, metric: vexfs_ann::Metric, dim: usize, params: &str) -> Result<()> {
    let f = File::open(dir)?;
    let mut c = u::IndexConfig::new_request();
    c.strategy = u::STRATEGY_HNSW;
    c.metric = metric_code(metric);
    c.dim = dim as u32;
    if !u::set_c_str(&mut c.params, params.as_bytes()) {
        bail!("index parameters too long");
    }
    ioctl(&f, u::IOC_INDEX_CREATE, Some(&mut c)).context("VEXFS_IOC_INDEX_CREATE")
}

pub fn index_stats(dir: &Path) -> Result<u::IndexStats> {
    let f = File::open(dir)?;
    let mut s = u::IndexStats::new_request();
    ioctl(&f, u::IOC_INDEX_STATS, Some(&mut s)).context("VEXFS_IOC_INDEX_STATS")?;
    Ok(s)
}

/// Wait until the index of `dir` holds every stored vector in its strategy
/// (no pending rows left for the daemon's insertion worker); the seconds
/// waited.
pub fn wait_indexed(dir: &Path) -> Result<f64> {
    let t = std::time::Instant::now();
    loop {
        let st = index_stats(dir)?;
        if st.pending == 0 {
            return Ok(t.elapsed().as_secs_f64());
        }
        if t.elapsed() > std::time::Duration::from_secs(3600) {
            bail!("{} vectors still pending after an hour", st.pending);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

pub fn save_index(dir: &Path) -> Result<()> {
    let f = File::open(dir)?;
    ioctl::<u::IndexStats>(&f, u::IOC_INDEX_SAVE, None).context("VEXFS_IOC_INDEX_SAVE")
}

/// setxattr(user.vexfs.embedding) by path, as setfattr does.
pub fn set_embedding(path: &Path, v: &[f32]) -> Result<()> {
    let p = CString::new(path.as_os_str().as_bytes())?;
    let n = CString::new(u::EMBEDDING_XATTR)?;
    // SAFETY: valid C strings; the value buffer is `v`, 4 * len bytes.
    let r = unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), v.as_ptr().cast(), v.len() * 4, 0) };
    if r < 0 {
        bail!("setxattr {}: errno {}", path.display(), errno());
    }
    Ok(())
}

/// Bulk-set rows `rows` of `data` (dim floats each) as files
/// `<prefix><row>` in the directory `f`, creating them, packing as many
/// as fit each request. Returns the number of ioctl calls.
pub fn bulk_set(
    f: &File,
    prefix: &str,
    data: &[f32],
    dim: usize,
    rows: std::ops::Range<usize>,
    progress: &dyn Fn(u64),
) -> Result<usize> {
    let mut b = Box::new(u::Bulk::new_request());
    let mut calls = 0;
    let mut row = rows.start;
    while row < rows.end {
        b.flags = u::BULK_CREATE;
        b.dim = dim as u32;
        let mut names: Vec<u8> = Vec::with_capacity(2048);
        let first = row;
        while row < rows.end {
            let name = format!("{prefix}{row}");
            let need = (names.len() + name.len() + 1).next_multiple_of(4);
            if need + (row - first + 1) * dim * 4 > u::BULK_DATA {
                break;
            }
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            row += 1;
        }
        if row == first {
            bail!("a {dim}-float vector does not fit a bulk request");
        }
        let count = row - first;
        b.count = count as u32;
        b.names_len = names.len() as u32;
        b.data[..names.len()].copy_from_slice(&names);
        let off = names.len().next_multiple_of(4);
        let vals = &data[first * dim..row * dim];
        for (i, x) in vals.iter().enumerate() {
            b.data[off + 4 * i..off + 4 * i + 4].copy_from_slice(&x.to_le_bytes());
        }
        ioctl(f, u::IOC_BULK_SET, Some(&mut *b)).context("VEXFS_IOC_BULK_SET")?;
        if b.error != 0 || b.done as usize != count {
            bail!(
                "bulk set: error {} at item {}, {} of {count} done",
                b.error,
                b.error_index,
                b.done
            );
        }
        calls += 1;
        progress(count as u64);
    }
    Ok(calls)
}

/// One client's search state: its own directory descriptor and request.
pub struct Searcher {
    f: File,
    req: Box<u::Search>,
}

impl Searcher {
    pub fn open(dir: &Path, k: usize, ef: usize, paths: bool) -> Result<Searcher> {
        let f = File::open(dir).with_context(|| format!("open {}", dir.display()))?;
        let mut req = Box::new(u::Search::new_request());
        req.k = k as u32;
        req.ef = ef as u32;
        req.flags = if paths { 0 } else { u::SEARCH_NO_PATHS };
        Ok(Searcher { f, req })
    }

    /// Inode numbers of the hits, nearest first.
    pub fn search(&mut self, q: &[f32]) -> Result<impl Iterator<Item = u64> + '_> {
        let r = &mut *self.req;
        (r.count, r.total, r.out_flags, r.names_used, r.scanned) = (0, 0, 0, 0, 0);
        r.dim = q.len() as u32;
        r.vector[..q.len()].copy_from_slice(q);
        ioctl(&self.f, u::IOC_SEARCH, Some(&mut *self.req))?;
        let n = self.req.count as usize;
        Ok(self.req.hits[..n].iter().map(|h| h.ino))
    }
}

/// One client's batched search state (`VEXFS_IOC_SEARCH_BATCH`).
pub struct BatchSearcher {
    f: File,
    req: Box<u::SearchBatch>,
}

impl BatchSearcher {
    pub fn open(dir: &Path, k: usize, ef: usize) -> Result<BatchSearcher> {
        let f = File::open(dir).with_context(|| format!("open {}", dir.display()))?;
        let mut req = Box::new(u::SearchBatch::new_request());
        req.k = k as u32;
        req.ef = ef as u32;
        Ok(BatchSearcher { f, req })
    }

    /// Queries one request holds for this dimension (and the k given).
    pub fn rows(&self, dim: usize) -> usize {
        u::batch_rows(dim, self.req.k as usize)
    }

    /// Inode numbers of each query's hits, nearest first, appended to `out`.
    pub fn search<'a>(&mut self, queries: impl ExactSizeIterator<Item = &'a [f32]>, out: &mut Vec<Vec<u64>>) -> Result<()> {
        let r = &mut *self.req;
        r.count = queries.len() as u32;
        (r.out_flags, r.scanned) = (0, 0);
        for (i, q) in queries.enumerate() {
            r.dim = q.len() as u32;
            if !r.set_query(i, q) {
                bail!("query {i} does not fit a batch request");
            }
        }
        ioctl(&self.f, u::IOC_SEARCH_BATCH, Some(&mut *self.req))?;
        let r = &*self.req;
        for i in 0..r.count as usize {
            out.push(r.hits(i).map(|h| h.ino).collect());
        }
        Ok(())
    }
}
