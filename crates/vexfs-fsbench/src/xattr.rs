//! `fs_xattrbench`: how fast a mounted filesystem sets, gets and lists
//! extended attributes when one file carries N of them. Runs the same
//! workload on any directory so VexFS and ext4 are compared in one
//! invocation of `scripts/bench-fs.sh --xattr-only`.

use clap::Parser;
use std::ffi::CString;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "setxattr/getxattr/listxattr rates with N names on one file")]
struct Args {
    /// Directory to work in (a fresh file is created inside).
    dir: PathBuf,
    /// Names per file.
    #[arg(long, default_value_t = 100)]
    names: u64,
    /// Value bytes per name.
    #[arg(long, default_value_t = 8)]
    value: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn name(i: u64) -> CString {
    // Never contains a NUL.
    CString::new(format!("user.k{i:05}")).unwrap_or_default()
}

fn errno(what: &str) -> std::io::Error {
    let e = std::io::Error::last_os_error();
    std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// (sets/s, gets/s, names listed/s). The list rate is `None` when the
/// listing is longer than the kernel passes (XATTR_LIST_MAX, 64 KiB).
fn run(a: &Args) -> std::io::Result<(f64, f64, Option<f64>)> {
    let path = a.dir.join(format!("xattrbench-{}", std::process::id()));
    let f = File::create(&path)?;
    let fd = f.as_raw_fd();
    let value = vec![0x5au8; a.value];
    let n = a.names.max(1);
    // Below 10,000 names the names are replaced in turn up to 10,000 sets
    // (and gets), so every count is timed over the same number of calls.
    let ops = n.max(10_000);
    let t = Instant::now();
    for i in 0..ops {
        let k = name(i % n);
        // SAFETY: fd is open for the whole loop; k and value outlive the call
        // and the lengths passed are theirs.
        let r = unsafe { libc::fsetxattr(fd, k.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
        if r != 0 {
            fs::remove_file(&path)?;
            return Err(errno(&format!("setxattr of name {i}")));
        }
    }
    let set = ops as f64 / t.elapsed().as_secs_f64();
    // A fixed permutation: i * step mod n with gcd(step, n) = 1.
    let step = (0..)
        .map(|k| 7919 + 2 * k)
        .find(|s| gcd(*s, n) == 1)
        .unwrap_or(1);
    let mut buf = vec![0u8; a.value.max(1)];
    let t = Instant::now();
    for i in 0..ops {
        let k = name((i * step) % n);
        // SAFETY: as above; buf is writable for buf.len() bytes.
        let r = unsafe { libc::fgetxattr(fd, k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if r < 0 {
            return Err(errno("getxattr"));
        }
    }
    let get = ops as f64 / t.elapsed().as_secs_f64();
    let reps = (100_000 / n).clamp(1, 1000);
    let mut list = vec![0u8; (n as usize) * 16 + 64];
    let t = Instant::now();
    let mut listed = None;
    for _ in 0..reps {
        // SAFETY: list is writable for list.len() bytes.
        let r = unsafe { libc::flistxattr(fd, list.as_mut_ptr().cast(), list.len()) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::E2BIG) || e.raw_os_error() == Some(libc::ERANGE) {
                break;
            }
            return Err(errno("listxattr"));
        }
        listed = Some((n * reps) as f64);
    }
    let listed = listed.map(|x| x / t.elapsed().as_secs_f64());
    drop(f);
    fs::remove_file(&path)?;
    Ok((set, get, listed))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn main() -> ExitCode {
    let a = Args::parse();
    match run(&a) {
        Ok((s, g, l)) => {
            // JSON null where the kernel refused the listing's length.
            let l = l.map_or_else(|| String::from("null"), |l| format!("{l:.0}"));
            if a.json {
                println!(
                    "{{\"names\":{},\"set_per_s\":{s:.0},\"get_per_s\":{g:.0},\"list_names_per_s\":{l}}}",
                    a.names
                );
            } else {
                println!(
                    "names {}  set/s {s:.0}  get/s {g:.0}  listed names/s {l}",
                    a.names
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if a.json {
                println!("{{\"names\":{},\"refused\":\"{}\"}}", a.names, e.kind());
            }
            eprintln!("fs_xattrbench: {e}");
            ExitCode::FAILURE
        }
    }
}
