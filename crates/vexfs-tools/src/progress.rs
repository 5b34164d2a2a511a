//! Progress bars on stderr, only when a person is watching.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether progress bars should be drawn: stderr is a terminal and the
/// user did not ask for quiet.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A bar for one step; hidden (draws nothing) unless `show`.
pub fn bar(show: bool, message: &str, total: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    if let Ok(style) = ProgressStyle::with_template("{msg:40} [{bar:30}] {percent:>3}%") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message.to_string());
    pb
}
