//! Progress bars on stderr, only when a person is watching.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether progress bars should be drawn: stderr is a terminal and the
/// user did not ask for quiet.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// Steps below which a bar is not worth drawing: small filesystems finish
/// before a bar could say anything.
pub const MIN_STEPS: u64 = 2048;

/// A bar for one step of `total` units; hidden (draws nothing) unless
/// `show` and the step is long enough to watch.
pub fn bar(show: bool, message: &str, total: u64) -> ProgressBar {
    let visible = show && total >= MIN_STEPS;
    let pb = ProgressBar::with_draw_target(Some(total), if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    if let Ok(style) = ProgressStyle::with_template("{msg:40} [{bar:30}] {percent:>3}%") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message.to_string());
    pb
}

/// e2fsck's `-C fd` protocol: lines of "pass done total device", read by
/// fsck(8) and systemd-fsck to draw their own progress.
pub struct MachineProgress {
    out: std::fs::File,
    device: String,
    last: Option<(u32, u64)>,
}

impl MachineProgress {
    /// Write to descriptor `fd` (inherited from the caller); `None` if it
    /// is not open for writing.
    pub fn open(fd: i32, device: &str) -> Option<Self> {
        // Reopening through /proc gives a File for an inherited descriptor
        // without taking ownership of it.
        let out = std::fs::OpenOptions::new().write(true).open(format!("/proc/self/fd/{fd}")).ok()?;
        Some(Self { out, device: device.to_string(), last: None })
    }

    /// Report progress; writes only when the pass or the whole percent
    /// changes, so a fast pass does not flood the reader.
    pub fn update(&mut self, pass: u32, done: u64, total: u64) {
        use std::io::Write;
        let pct = done.saturating_mul(100) / total.max(1);
        if self.last == Some((pass, pct)) {
            return;
        }
        self.last = Some((pass, pct));
        let _ = writeln!(self.out, "{pass} {done} {} {}", total.max(1), self.device);
    }
}
