//! Per-operation cost of the core alone (no FUSE), on an image file:
//! `cargo run --release -p vexfs-core --features std --example core_ops -- /tmp/img`.

use std::time::Instant;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{FileDevice, Fs, MountOptions, Timestamp};

const T: Timestamp = Timestamp::new(1_700_000_000, 0);

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/vexfs-core-ops.img".into());
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let dev = FileDevice::open(path.as_ref(), false).unwrap();
    let dev = format(dev, &MkfsOptions::default(), T, &mut |_, _| {}).unwrap();
    let mut fs = Fs::mount(dev, MountOptions::default(), T).unwrap();
    let d = fs.mkdir(1, b"d", 0o755, 0, 0, T).unwrap().ino;
    let n = 20000;
    let t = Instant::now();
    for i in 0..n {
        fs.create(d, format!("f{i:08}").as_bytes(), 0o644, 0, 0, T)
            .unwrap();
    }
    println!(
        "create: {:.1} us/op",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for i in 0..n {
        fs.lookup(d, format!("f{i:08}").as_bytes()).unwrap();
    }
    println!(
        "lookup: {:.1} us/op",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let file = fs.create(1, b"big", 0o644, 0, 0, T).unwrap().ino;
    let chunk = vec![7u8; 1 << 20];
    for i in 0..512u64 {
        fs.write(file, i << 20, &chunk, T).unwrap();
    }
    let mut x = 12345u64;
    let buf = vec![1u8; 4096];
    let t = Instant::now();
    for _ in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let off = ((x >> 33) % (512 * 256)) * 4096;
        fs.write(file, off, &buf, T).unwrap();
    }
    println!(
        "4k overwrite: {:.1} us/op",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let off = ((x >> 33) % (512 * 256)) * 4096;
        fs.read(file, off, 4096).unwrap();
    }
    println!(
        "4k read: {:.1} us/op",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for i in 0..n {
        fs.unlink(d, format!("f{i:08}").as_bytes(), T).unwrap();
    }
    println!(
        "unlink: {:.1} us/op",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
