//! Attribute rates of the core alone (no FUSE, an in-memory device so the
//! figures are the core's own work): set, get and list of N names on one
//! file, for each N given, the median of RUNS runs.
//!
//! `cargo run --release -p vexfs-core --example xattr_ops -- [RUNS] [N...]`
//!
//! Names are `user.k00000`..., values 8 bytes: small enough that the
//! single-blob layout (capped at 256 KiB per inode) holds 10,000 of them,
//! so the same program measures that layout too. Prints one JSON object
//! per N.

use std::time::Instant;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, MemDevice, MountOptions, Timestamp, XattrFlags};

const T: Timestamp = Timestamp::new(1_700_000_000, 0);

fn name(i: u64) -> Vec<u8> {
    format!("user.k{i:05}").into_bytes()
}

/// Per-second rates of one run: set N names (then, below 10,000 names,
/// replace them in turn up to 10,000 sets), get at least 10,000 times in a
/// shuffled order, list the file's names (names listed per second).
/// `None` where the layout refused N names.
fn one_run(n: u64) -> Option<[f64; 3]> {
    let dev = format(
        MemDevice::new(256 << 20),
        &MkfsOptions::default(),
        T,
        &mut |_, _| {},
    )
    .ok()?;
    let mut fs = Fs::mount(dev, MountOptions::default(), T).ok()?;
    let ino = fs.create(1, b"f", 0o644, 0, 0, T).ok()?.ino;
    let ops = n.max(10_000);
    let t = Instant::now();
    for i in 0..ops {
        fs.setxattr(
            ino,
            &name(i % n),
            &i.to_le_bytes(),
            XattrFlags::default(),
            T,
        )
        .ok()?;
    }
    let set = ops as f64 / t.elapsed().as_secs_f64();
    // A fixed permutation: i * odd constant mod n visits every index once
    // when gcd(constant, n) = 1.
    let step = (0..).map(|k| 7919 + 2 * k).find(|s| gcd(*s, n) == 1)?;
    let t = Instant::now();
    for i in 0..ops {
        let j = (i * step) % n;
        fs.getxattr(ino, &name(j)).ok()?;
    }
    let get = ops as f64 / t.elapsed().as_secs_f64();
    let reps = (100_000 / n).clamp(1, 1000);
    let t = Instant::now();
    for _ in 0..reps {
        fs.listxattr(ino).ok()?;
    }
    let list = (n * reps) as f64 / t.elapsed().as_secs_f64();
    Some([set, get, list])
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let ns: Vec<u64> = args.filter_map(|a| a.parse().ok()).collect();
    let ns = if ns.is_empty() {
        vec![1, 100, 10_000, 100_000]
    } else {
        ns
    };
    for n in ns {
        let rows: Option<Vec<[f64; 3]>> = (0..runs).map(|_| one_run(n)).collect();
        match rows {
            Some(rows) => {
                let col = |k: usize| median(rows.iter().map(|r| r[k]).collect());
                println!(
                    "{{\"names\":{n},\"runs\":{runs},\"set_per_s\":{:.0},\"get_per_s\":{:.0},\"list_names_per_s\":{:.0}}}",
                    col(0),
                    col(1),
                    col(2)
                );
            }
            None => println!("{{\"names\":{n},\"runs\":{runs},\"refused\":true}}"),
        }
    }
}
