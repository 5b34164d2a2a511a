//! The index insertion worker.
//!
//! With it, a stored embedding joins its index's pending rows (searched
//! exactly) and the request returns; this thread moves pending rows into
//! the strategy (the HNSW graph, say) in batches, once writes to the
//! indexes have paused for one poll interval, each batch under the core's
//! lock and sized to hold it for about `STEP` so requests interleave. The
//! ANN engine spreads each batch over the machine's cores.

use crate::shared::Shared;
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How often the worker looks, and how long writes must pause first.
const POLL: Duration = Duration::from_millis(20);
/// Target time under the core's lock per batch.
const STEP: Duration = Duration::from_millis(40);
/// Batch bounds: HNSW inserts in waves of up to 256 rows, so a batch of
/// that size loses nothing to the split.
const MIN_ROWS: usize = 256;
const MAX_ROWS: usize = 1 << 16;

/// Start the worker over the daemon's core (whose indexes should then be
/// set to background inserts). The thread ends when the core is taken out
/// (unmount) or dropped.
pub fn spawn(core: Weak<Shared>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("vexfs-index".into())
        .spawn(move || {
            let mut seen = None;
            let mut rows = MIN_ROWS;
            loop {
                std::thread::sleep(POLL);
                let Some(shared) = core.upgrade() else {
                    return;
                };
                // Batches while nobody writes to an index; a write, or a
                // batch that took nothing in, sends the worker back to
                // polling.
                loop {
                    let Ok(mut slot) = shared.fs.lock() else {
                        return;
                    };
                    let Some(fs) = slot.as_mut() else {
                        return;
                    };
                    let changes = fs.vectors_changes();
                    if seen != Some(changes) || fs.vectors_backlog() == 0 {
                        seen = Some(changes);
                        break;
                    }
                    let t = Instant::now();
                    let done = match fs.vectors_absorb(rows) {
                        Ok(a) => a,
                        Err(e) => {
                            crate::logger::report(&format!(
                                "index insertion failed ({e}); the index is rebuilt from the files on next use"
                            ));
                            break;
                        }
                    };
                    drop(slot);
                    rows = next_batch(rows, done.rows, t.elapsed());
                    if done.rows == 0 || done.left == 0 {
                        break;
                    }
                    // Let a waiting request have the lock.
                    std::thread::yield_now();
                }
            }
        })?;
    Ok(())
}

/// The next batch size: the rows that took `took` scaled to `STEP`.
fn next_batch(asked: usize, done: u64, took: Duration) -> usize {
    if done == 0 || (done as usize) < asked {
        return asked;
    }
    let per_row = took.as_secs_f64() / done as f64;
    if per_row <= 0.0 {
        return MAX_ROWS;
    }
    ((STEP.as_secs_f64() / per_row).round() as usize).clamp(MIN_ROWS, MAX_ROWS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_the_measured_rate() {
        // 1,000 rows in 80 ms: 500 rows make 40 ms.
        assert_eq!(next_batch(1000, 1000, Duration::from_millis(80)), 500);
        assert_eq!(next_batch(1000, 10, Duration::from_millis(80)), 1000, "a short batch says nothing");
        assert_eq!(next_batch(300, 300, Duration::from_secs(10)), MIN_ROWS);
        assert_eq!(next_batch(300, 300, Duration::from_nanos(1)), MAX_ROWS);
    }
}
