//! Consistency checking and repair (the engine behind `fsck.vexfs`).
//!
//! The checker lives in the core so every front end (fsck, the FUSE daemon,
//! the kernel module) shares one reading of the format. It works in rounds:
//!
//! 1. **Scan** ([`scan`]): read every structure straight from the device,
//!    never trusting the allocator, and build a model: which inodes are
//!    sound, what each owns, every directory entry. Damage is recorded as a
//!    [`Problem`], not returned as an error; only I/O failures and an
//!    unusable superblock end the check early.
//! 2. **Plan** ([`plan`], then the bitmap comparison in [`scan`]): decide,
//!    from the model alone, what the filesystem should look like: inodes to
//!    release, entries to drop, directories to reconnect, the link counts,
//!    sizes and bitmaps that follow. The model's types are in [`model`].
//! 3. **Repair** ([`repair`]): apply the plan through the normal
//!    transaction API. Releases and bitmaps come first, so every later step
//!    (which may allocate tree blocks) runs against a correct allocator.
//!
//! A second scan then verifies the result; consequences of a repair that
//! only show after it (a directory's block count after a tree edit) are
//! fixed by a further round, up to a small bound.
//!
//! Every loop is bounded by a count taken from the superblock or by a
//! visited set, and all arithmetic on on-disk values is checked, so a
//! damaged image can make the checker report problems but never hang or
//! panic.

mod bits;
mod model;
mod plan;
mod repair;
mod salvage;
mod scan;
mod vectors;

use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use vexfs_format::inode::Timestamp;
use vexfs_format::superblock::{STATE_CLEAN, STATE_DIRTY, STATE_ERRORS};

/// How far the checker may go in changing the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairMode {
    /// Read-only: report, change nothing (`fsck -n`).
    No,
    /// Fix only what is safe without a human (`fsck -p`); if anything
    /// unsafe is found, change nothing at all.
    Preen,
    /// Fix everything fixable (`fsck -y`).
    Yes,
}

/// What the caller asks of [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    pub mode: RepairMode,
    /// Check even if the superblock says the filesystem is clean.
    pub force: bool,
    /// Time stamped on anything the checker creates (lost+found).
    pub now: Timestamp,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            mode: RepairMode::No,
            force: true,
            now: Timestamp::default(),
        }
    }
}

/// The checker's passes, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pass {
    /// Inodes, their trees, extents, attribute blobs and attribute trees.
    Inodes,
    /// Directory entries.
    Directories,
    /// Reachability from the root.
    Connectivity,
    /// Link counts, sizes, orphans.
    Counts,
    /// Block and inode bitmaps, free counts.
    Bitmaps,
    /// Applying repairs.
    Repair,
}

impl Pass {
    /// e2fsck-style pass number (repairs are "pass 6").
    pub fn number(self) -> u32 {
        match self {
            Self::Inodes => 1,
            Self::Directories => 2,
            Self::Connectivity => 3,
            Self::Counts => 4,
            Self::Bitmaps => 5,
            Self::Repair => 6,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Inodes => "Checking inodes, blocks, and sizes",
            Self::Directories => "Checking directory structure",
            Self::Connectivity => "Checking directory connectivity",
            Self::Counts => "Checking reference counts",
            Self::Bitmaps => "Checking block and inode bitmaps",
            Self::Repair => "Repairing",
        }
    }
}

/// How a problem may be fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fixable without loss or judgement (bitmaps, counts): preen fixes it.
    Safe,
    /// Fixable, but the fix may lose data or needs judgement: `-y` only.
    Unsafe,
    /// This implementation cannot fix it.
    Unfixable,
}

/// Which structure a problem concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// An inode record does not decode (checksum, type, flags).
    Inode,
    /// A file or directory tree node is damaged or misplaced.
    Tree,
    /// A block is claimed by two owners.
    DuplicateBlock,
    /// An extended-attribute blob, or its attribute tree, is damaged.
    Xattr,
    /// An inode field disagrees with what the inode owns (blocks, size).
    InodeField,
    /// A directory entry is damaged or names a bad inode.
    DirEntry,
    /// A directory or file is not reachable from the root, or a directory
    /// is reachable twice, or its parent field is wrong.
    Connectivity,
    /// A link count is wrong.
    LinkCount,
    /// The orphan list, or an inode that should be on it.
    Orphan,
    /// A bitmap block is damaged or disagrees with what is in use.
    Bitmap,
    /// A superblock free count is wrong.
    FreeCount,
    /// A planned repair could not be applied; the text says why.
    RepairFailed,
    /// A vector index, embedding flag or primary link disagrees with the
    /// files (fixed by rebuilding from the files).
    VectorIndex,
    /// The journal superblock or log cannot be read.
    Journal,
}

/// One inconsistency found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub severity: Severity,
    /// The inode concerned, or 0.
    pub ino: u64,
    /// The block concerned, or 0.
    pub block: u64,
    pub text: String,
    /// Whether a repair for it was applied.
    pub fixed: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Everything found, in order, each marked fixed or not.
    pub problems: Vec<Problem>,
    /// What was done, in order, one line each.
    pub repairs: Vec<String>,
    /// The superblock said clean and `force` was not set: nothing checked.
    pub skipped_clean: bool,
    /// The progress callback asked to stop; repairs committed so far stay.
    pub cancelled: bool,
    /// The journal transaction replayed before the check (sequence number,
    /// blocks); with `-n` it was applied in memory only.
    pub replayed: Option<(u64, u64)>,
    /// Inodes on the orphan list (unlinked while open, or being deleted or
    /// truncated in steps, when the filesystem was last in use) that a
    /// writing check deleted before scanning, as a mount does.
    pub orphans_released: u64,
    /// With `-n`: inodes on the orphan list left for the next mount to
    /// delete or finish truncating; not problems.
    pub orphans_pending: u64,
    pub inode_count: u64,
    pub inodes_used: u64,
    pub block_count: u64,
    pub blocks_used: u64,
    pub block_size: u32,
    /// Regular files, directories and other inodes seen (full checks only).
    pub files: u64,
    pub directories: u64,
    pub label: String,
}

impl CheckReport {
    /// Problems still present after the check.
    pub fn uncorrected(&self) -> usize {
        self.problems.iter().filter(|p| !p.fixed).count()
    }
    /// Whether anything was changed.
    pub fn corrected(&self) -> bool {
        !self.repairs.is_empty() || self.problems.iter().any(|p| p.fixed)
    }
}

/// A check result: the report and the device handed back.
pub type CheckResult<D> = Result<(CheckReport, D)>;

/// Most repair rounds before giving up (each round is a full scan).
const MAX_ROUNDS: usize = 4;

/// Open without the mount-time side effects: no orphan reaping, no state
/// change. The checker decides what to do with orphans itself.
fn open_for_check<D: BlockDevice>(dev: D, read_only: bool) -> Result<Fs<D>> {
    let fs = Fs::open_image(dev, read_only, 4096)?;
    if fs.read_only != read_only {
        return Err(FsError::Incompatible(
            "filesystem has read-only-compatible features this checker cannot write; check with -n",
        ));
    }
    Ok(fs)
}

/// Replay the journal (in memory for `-n`) before anything is checked. A
/// journal that cannot be read is a problem of its own: with repairs
/// allowed it is reset to empty (a committed transaction in it, if any, is
/// lost; the scan then repairs what that leaves).
fn open_journal<D: BlockDevice>(
    fs: &mut Fs<D>,
    opts: &CheckOptions,
    report: &mut CheckReport,
) -> Result<()> {
    match fs.journal_open() {
        Ok(()) => {
            if let Some((seq, blocks)) = fs.journal_stats.replayed {
                report.replayed = Some((seq, blocks));
            }
            Ok(())
        }
        Err(FsError::Io(e)) => Err(FsError::Io(e)),
        Err(e) => {
            let mut p = scan::problem(
                ProblemKind::Journal,
                Severity::Unsafe,
                0,
                fs.sb.journal_start,
                alloc::format!("journal unreadable: {e}"),
            );
            if opts.mode == RepairMode::Yes {
                fs.journal_reset()?;
                p.fixed = true;
                report
                    .repairs
                    .push(String::from("reset the journal to empty"));
            }
            report.problems.push(p);
            Ok(())
        }
    }
}

/// Delete the inodes on the orphan list the way a mount does, before the
/// scan, when the check may write. A list the mount code cannot walk is
/// left as it is: the scan reports what is wrong with it.
fn reap_orphans<D: BlockDevice>(fs: &mut Fs<D>, report: &mut CheckReport) -> Result<()> {
    if fs.read_only || fs.sb.orphan_head == 0 {
        return Ok(());
    }
    match fs.transact(|fs| fs.reap_orphans()) {
        Ok(n) => {
            report.orphans_released = n;
            fs.sync()
        }
        Err(FsError::Corrupt(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn fill_stats<D: BlockDevice>(report: &mut CheckReport, fs: &Fs<D>) {
    let sb = &fs.sb;
    report.inode_count = sb.inode_count;
    report.inodes_used = sb.inode_count.saturating_sub(sb.free_inodes);
    report.block_count = sb.block_count;
    report.blocks_used = sb.block_count.saturating_sub(sb.free_blocks);
    report.block_size = sb.block_size;
    report.label = String::from(sb.label_str());
}

/// Check the filesystem on `dev` and, as `opts.mode` allows, repair it.
///
/// Returns `Err` only for operational failures: the device cannot be read
/// or written, the superblock is not a usable VexFS superblock, or the
/// image needs features this code does not have. Everything wrong *inside*
/// the filesystem is in the report. `progress(pass, done, total)` is called
/// as work proceeds; returning `false` cancels between steps.
pub fn check<D: BlockDevice>(
    dev: D,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(Pass, u64, u64) -> bool,
) -> CheckResult<D> {
    let read_only = opts.mode == RepairMode::No;
    let mut fs = open_for_check(dev, read_only)?;
    let mut report = CheckReport::default();
    open_journal(&mut fs, opts, &mut report)?;
    reap_orphans(&mut fs, &mut report)?;
    fill_stats(&mut report, &fs);

    let state = fs.sb.state;
    let clean = state & STATE_CLEAN != 0
        && state & (STATE_DIRTY | STATE_ERRORS) == 0
        && fs.sb.orphan_head == 0;
    if clean && !opts.force {
        report.skipped_clean = true;
        return Ok((report, fs.dev));
    }

    let mut finished_clean = false;
    for round in 0..MAX_ROUNDS {
        let Some(model) = scan::scan(&mut fs, read_only, progress)? else {
            report.cancelled = true;
            return Ok((report, fs.dev));
        };
        report.files = model.files;
        report.directories = model.directories;
        if round == 0 && read_only {
            report.orphans_pending = model.pending_orphans.len() as u64 + model.pending_truncations;
        }
        if model.problems.is_empty() {
            finished_clean = true;
            break;
        }
        let fixable = model
            .problems
            .iter()
            .any(|p| p.severity != Severity::Unfixable);
        let allowed = match opts.mode {
            RepairMode::No => false,
            RepairMode::Preen => model.problems.iter().all(|p| p.severity == Severity::Safe),
            RepairMode::Yes => true,
        };
        let last = round + 1 == MAX_ROUNDS;
        if !allowed || !fixable || last {
            push_new(&mut report, model.problems);
            break;
        }
        let (problems, repairs, cancelled) = repair::apply(&mut fs, model, opts, progress)?;
        // The next scan reads home blocks: the repairs must be there.
        fs.sync()?;
        push_new(&mut report, problems);
        report.repairs.extend(repairs);
        if cancelled {
            report.cancelled = true;
            fill_stats(&mut report, &fs);
            return Ok((report, fs.dev));
        }
    }

    if finished_clean {
        vectors::check(&mut fs, opts.mode, &mut report)?;
    }

    if !read_only {
        let uncorrected = report.uncorrected() > 0 || !finished_clean;
        let want = if uncorrected {
            STATE_ERRORS
        } else {
            STATE_CLEAN
        };
        if fs.sb.state != want {
            fs.transact(|fs| {
                fs.sb.state = want;
                fs.sb.write_time = opts.now.sec;
                Ok(())
            })?;
        }
        fs.sync()?;
        fs.journal_close()?;
        fs.dev.flush()?;
    }
    fill_stats(&mut report, &fs);
    Ok((report, fs.dev))
}

/// Add problems not already reported by an earlier round (an unfixable
/// problem is seen again by every scan).
fn push_new(report: &mut CheckReport, problems: Vec<Problem>) {
    for p in problems {
        let seen = report
            .problems
            .iter()
            .any(|q| q.kind == p.kind && q.ino == p.ino && q.text == p.text && q.fixed == p.fixed);
        if !seen {
            report.problems.push(p);
        }
    }
}
