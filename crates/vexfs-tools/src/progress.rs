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
