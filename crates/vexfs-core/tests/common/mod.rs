//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use vexfs_core::check::{check, CheckOptions, RepairMode};
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, IndexKind, IndexSpec, MemDevice, Metric, MountOptions, Timestamp};

pub const T0: Timestamp = Timestamp::new(1_700_000_000, 0);

pub fn fresh(bytes: usize, block_size: u32) -> Fs<MemDevice> {
    let opts = MkfsOptions {
        block_size,
        ..Default::default()
    };
    let dev = format(MemDevice::new(bytes), &opts, T0, &mut |_, _| {}).expect("mkfs");
    Fs::mount(dev, MountOptions::default(), T0).expect("mount")
}

/// An L2 index of `kind` over `dim`-wide vectors, with `params` as
/// `vexctl index create` takes them.
pub fn l2_spec(kind: IndexKind, dim: usize, params: &str) -> IndexSpec {
    IndexSpec {
        kind,
        metric: Metric::L2,
        dim,
        params: params.as_bytes().to_vec(),
    }
}

/// A deterministic pseudo-random vector of `dim` values in [-0.5, 0.5).
pub fn vecf(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

pub fn remount(fs: Fs<MemDevice>) -> Fs<MemDevice> {
    let dev = fs.unmount(T0).expect("unmount");
    Fs::mount(dev, MountOptions::default(), T0).expect("remount")
}
pub mod recording;

/// Attributes in the attribute-tree golden image.
pub const TREE_ATTRS: u32 = 300;

/// Attribute `i` of the attribute-tree golden image: every 40th value is
/// large enough for a value run at 1 KiB blocks.
pub fn tree_attr(i: u32) -> (Vec<u8>, Vec<u8>) {
    let name = format!("user.golden-{i:04}").into_bytes();
    let len = if i.is_multiple_of(40) {
        2500
    } else {
        (i % 30) as usize
    };
    let value = (0..len).map(|j| (i as usize + j) as u8).collect();
    (name, value)
}

/// A read-only forced check of `dev` must find nothing; `what` names the
/// case in the failure message.
pub fn fsck_clean(dev: MemDevice, what: &str) -> MemDevice {
    let opts = CheckOptions {
        mode: RepairMode::No,
        force: true,
        now: T0,
    };
    let (r, dev) = check(dev, &opts, &mut |_, _, _| true).expect("fsck runs");
    assert!(r.problems.is_empty(), "{what}: {:#?}", r.problems);
    dev
}

/// xorshift64*: a small deterministic generator, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` (`0` for `n` = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
