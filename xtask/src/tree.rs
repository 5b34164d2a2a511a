//! The tree the guest copies onto the kernel mount: deterministic
//! pseudo-random files of awkward sizes (empty, one byte, around block
//! and chunk boundaries, multi-extent), nested directories, a directory
//! big enough to split its B+tree, and symlinks.

use crate::Result;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Sizes that sit on and around the edges the code cares about.
const SIZES: &[usize] = &[
    0, 1, 511, 512, 4095, 4096, 4097, 8191, 65535, 65536, 65537, 200_000, 1_048_576,
];

/// xorshift64*: reproducible content without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            let n = chunk.len();
            chunk.copy_from_slice(&v[..n]);
        }
    }
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))
}

fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write `files` regular files (plus directories and symlinks) under `dst`.
pub fn generate(dst: &Path, files: u32) -> Result<()> {
    let _ = fs::remove_dir_all(dst);
    mkdir(dst)?;
    let mut rng = Rng(0x5eed_0f7e_5700);
    let mut buf = Vec::new();
    // A directory with many small entries: its B+tree splits.
    let wide = dst.join("wide");
    mkdir(&wide)?;
    let wide_files = files / 2;
    for i in 0..wide_files {
        let name = format!("entry-{i:05}-{:x}", rng.next() & 0xffff);
        buf.resize((rng.next() % 300) as usize, 0);
        rng.fill(&mut buf);
        write(&wide.join(name), &buf)?;
    }
    // Nested directories with files of every interesting size.
    let mut made = wide_files;
    let mut k = 0usize;
    while made < files {
        let depth = k % 4;
        let mut dir = dst.join(format!("d{:02}", k % 8));
        for level in 0..depth {
            dir = dir.join(format!("level{level}"));
        }
        mkdir(&dir)?;
        let size = SIZES[k % SIZES.len()];
        buf.resize(size, 0);
        rng.fill(&mut buf);
        write(&dir.join(format!("file-{k:04}.bin")), &buf)?;
        made += 1;
        k += 1;
    }
    let links = dst.join("links");
    mkdir(&links)?;
    for (name, target) in [
        ("to-d00", "../d00"),
        ("to-file", "../d00/file-0000.bin"),
        ("dangling", "no/such/target"),
        ("long", &"x/".repeat(100)[..199]),
    ] {
        symlink(target, links.join(name)).map_err(|e| format!("symlink {name}: {e}"))?;
    }
    Ok(())
}
