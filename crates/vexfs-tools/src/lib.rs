//! Shared code of the VexFS command-line tools (`mkfs.vexfs`,
//! `fsck.vexfs`, `vexctl`): opening images and block devices, detecting
//! mounts and existing filesystems, parsing sizes and UUIDs, progress bars;
//! and in [`vexctl`] the vector client over the mount's xattr and ioctls.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod device;
pub mod mounts;
pub mod progress;
pub mod signals;
pub mod signatures;
pub mod units;
pub mod vexctl;

use std::time::{SystemTime, UNIX_EPOCH};
use vexfs_core::Timestamp;

/// Errors the tools report with a clear message.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid size '{0}' (use a number with an optional K, M, G or T suffix)")]
    BadSize(String),
    #[error("invalid UUID '{0}' (use 'random', 'time', 'clear' or xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
    BadUuid(String),
    #[error("{0}")]
    Usage(String),
}

/// The current time as a filesystem timestamp.
pub fn now() -> Timestamp {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp::new(i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()),
        Err(_) => Timestamp::new(0, 0),
    }
}

/// The name this program was started as (`mkfs.vexfs` when installed
/// under that name), for messages; `default` if unknown.
pub fn program_name(default: &str) -> String {
    std::env::args_os()
        .next()
        .and_then(|a| std::path::Path::new(&a).file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default.to_string())
}
