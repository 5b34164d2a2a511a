//! Create a fresh VexFS image file for manual testing:
//! `cargo run -p vexfs-fuse --example mkimage -- PATH SIZE_MIB [BLOCK_SIZE]`.
use std::process::ExitCode;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::FileDevice;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(size)) = (args.first(), args.get(1).and_then(|s| s.parse::<u64>().ok())) else {
        eprintln!("usage: mkimage PATH SIZE_MIB [BLOCK_SIZE]");
        return ExitCode::from(2);
    };
    let bs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4096);
    let made = std::fs::File::create(path).and_then(|f| f.set_len(size << 20)).and_then(|()| FileDevice::open(path.as_ref(), false));
    let dev = match made {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mkimage: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = MkfsOptions { block_size: bs, ..MkfsOptions::default() };
    match format(dev, &opts, vexfs_fuse::ops::now(), &mut |_, _| {}) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkimage: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
