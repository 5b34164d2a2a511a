//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, MemDevice, MountOptions, Timestamp};

pub const T0: Timestamp = Timestamp::new(1_700_000_000, 0);

pub fn fresh(bytes: usize, block_size: u32) -> Fs<MemDevice> {
    let opts = MkfsOptions {
        block_size,
        ..Default::default()
    };
    let dev = format(MemDevice::new(bytes), &opts, T0, &mut |_, _| {}).expect("mkfs");
    Fs::mount(dev, MountOptions::default(), T0).expect("mount")
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
