//! The core's own cost of a bulk embedding load (no FUSE): create files in
//! an HNSW-indexed directory and give each a 128-float embedding, with
//! background inserts as the daemon runs them and commits inline:
//! `cargo run --release -p vexfs-core --features std --example embedding_load -- /tmp/img [rows]`.
//! Prints the rate, the time spent in commits and the journal counters.

use std::time::Instant;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{
    FileDevice, Fs, IndexKind, IndexSpec, Metric, MountOptions, Timestamp, XattrFlags,
};

const T: Timestamp = Timestamp::new(1_700_000_000, 0);
const DIM: usize = 128;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/vexfs-embedding-load.img".into());
    let rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(4 << 30).unwrap();
    drop(f);
    let dev = FileDevice::open(path.as_ref(), false).unwrap();
    let dev = format(dev, &MkfsOptions::default(), T, &mut |_, _| {}).unwrap();
    let mut fs = Fs::mount(dev, MountOptions::default(), T).unwrap();
    fs.set_background_inserts(Some(1 << 20));
    let dir = fs.mkdir(1, b"d", 0o755, 0, 0, T).unwrap().ino;
    let spec = IndexSpec {
        kind: IndexKind::Hnsw,
        metric: Metric::L2,
        dim: DIM,
        params: b"m=16,ef_construction=200".to_vec(),
    };
    fs.index_create(dir, spec, false).unwrap();
    let mut x = 1u32;
    let mut value = vec![0u8; DIM * 4];
    let mut committing = 0.0;
    let t = Instant::now();
    for i in 0..rows {
        for c in value.chunks_mut(4) {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            c.copy_from_slice(&((x >> 8) as f32 / 1e7).to_le_bytes());
        }
        let name = format!("r{i:07}");
        let ino = fs
            .create(dir, name.as_bytes(), 0o100644, 0, 0, T)
            .unwrap()
            .ino;
        fs.setxattr(
            ino,
            b"user.vexfs.embedding",
            &value,
            XattrFlags::default(),
            T,
        )
        .unwrap();
        if fs.commit_due() {
            let c = Instant::now();
            fs.sync().unwrap();
            committing += c.elapsed().as_secs_f64();
        }
    }
    let c = Instant::now();
    fs.sync().unwrap();
    committing += c.elapsed().as_secs_f64();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{rows} rows in {s:.2} s: {:.0} rows/s; commits {committing:.2} s, operations {:.2} s",
        rows as f64 / s,
        s - committing
    );
    println!("{:?}", fs.journal_stats());
}
