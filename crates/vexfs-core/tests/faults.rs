//! Fault injection and space exhaustion.
//!
//! A device that fails reads, writes or flushes after a countdown is put
//! under a workload at every fault point: every operation returns an error
//! (never a panic), a failed metadata write turns the filesystem read-only,
//! and once the fault clears the image checks clean after journal replay.
//! Filling the disk or the inode table gives ENOSPC with nothing
//! half-done, and deleting gives the space back at once.

mod common;
use common::recording::{FaultKind, FaultyDevice};
use common::*;
use vexfs_core::check::{check, CheckOptions, RepairMode};
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, FsError, MemDevice, MountOptions, SetAttr, XattrFlags};

const ROOT: u64 = 1;

fn image(bytes: usize, inodes: Option<u64>) -> MemDevice {
    let opts = MkfsOptions {
        block_size: 1024,
        inode_count: inodes,
        ..Default::default()
    };
    format(MemDevice::new(bytes), &opts, T0, &mut |_, _| {}).expect("mkfs")
}

fn fsck(dev: MemDevice, mode: RepairMode) -> (vexfs_core::check::CheckReport, MemDevice) {
    let opts = CheckOptions {
        mode,
        force: true,
        now: T0,
    };
    check(dev, &opts, &mut |_, _, _| true).expect("fsck runs")
}

/// A mixed workload; every error is returned, none may be a panic.
fn workload(fs: &mut Fs<FaultyDevice>) -> Result<(), FsError> {
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0, T0)?.ino;
    for i in 0..30u32 {
        let f = fs
            .create(d, format!("f{i}").as_bytes(), 0o644, 0, 0, T0)?
            .ino;
        fs.write(f, 0, &vec![i as u8; 1500 + 300 * i as usize], T0)?;
        if i % 4 == 0 {
            fs.setxattr(f, b"user.k", &[7u8; 600], XattrFlags::default(), T0)?;
        }
        if i % 7 == 0 {
            fs.sync()?;
        }
    }
    for i in (0..30u32).step_by(3) {
        fs.unlink(d, format!("f{i}").as_bytes(), T0)?;
    }
    let f = fs.lookup(d, b"f1")?.ino;
    let a = SetAttr {
        size: Some(100),
        ..Default::default()
    };
    fs.setattr(f, &a, T0)?;
    fs.sync()
}

/// Whether an error is one a device failure may cause.
fn io_like(e: FsError) -> bool {
    matches!(e, FsError::Io(_) | FsError::ReadOnly)
}

#[test]
fn every_fault_point_gives_errors_then_a_clean_image() {
    let base = image(4 << 20, None);
    let mut points = 0u64;
    let mut aborted = 0u64;
    for kind in [FaultKind::Writes, FaultKind::Flushes, FaultKind::Reads] {
        // How many operations of this kind the whole workload issues.
        let probe = FaultyDevice::new(base.clone(), kind, u64::MAX);
        let total = {
            let mut fs = Fs::mount(probe.clone(), MountOptions::default(), T0).unwrap();
            workload(&mut fs).unwrap();
            fs.unmount(T0).unwrap();
            u64::MAX - probe_left(&probe)
        };
        let step = (total / 60).max(1);
        let mut after = 0;
        while after < total {
            points += 1;
            let dev = FaultyDevice::new(base.clone(), kind, after);
            match Fs::mount(dev.clone(), MountOptions::default(), T0) {
                Err(e) => assert!(io_like(e), "{kind:?}@{after}: mount: {e}"),
                Ok(mut fs) => {
                    if let Err(e) = workload(&mut fs) {
                        assert!(io_like(e), "{kind:?}@{after}: {e}");
                        // A failed data write fails its operation only; a
                        // failed commit stops all writing.
                        if fs.sync().is_err() && kind != FaultKind::Reads {
                            assert!(
                                fs.aborted().is_some(),
                                "{kind:?}@{after}: commit failed, not aborted"
                            );
                            let r = fs.mkdir(ROOT, b"after", 0o755, 0, 0, T0);
                            assert!(
                                matches!(r, Err(e) if io_like(e)),
                                "{kind:?}@{after}: still writable"
                            );
                            aborted += 1;
                        }
                    }
                    dev.heal();
                    // The daemon goes away without a clean unmount.
                    drop(fs);
                }
            }
            let (r, img) = fsck(dev.contents(), RepairMode::No);
            assert!(r.problems.is_empty(), "{kind:?}@{after}: {:#?}", r.problems);
            // fsck -y clears a recorded error state; then it mounts read-write.
            let (_, img) = fsck(img, RepairMode::Yes);
            let fs = Fs::mount(img, MountOptions::default(), T0).unwrap();
            assert!(!fs.is_read_only(), "{kind:?}@{after}: read-only after fsck");
            fs.unmount(T0).unwrap();
            after += step;
        }
    }
    assert!(aborted > 0, "some fault points hit a commit");
    println!(
        "fault injection: {points} fault points tried ({aborted} aborted the journal), 0 failures"
    );
}

/// Countdown left on a device that never failed.
fn probe_left(d: &FaultyDevice) -> u64 {
    d.remaining()
}

#[test]
fn an_image_with_errors_recorded_mounts_read_only_or_is_refused() {
    // Mount flushes three times (journal open, then the mount's commit);
    // the fourth, the sync below, fails.
    let dev = FaultyDevice::new(image(4 << 20, None), FaultKind::Flushes, 3);
    let mut fs = Fs::mount(dev.clone(), MountOptions::default(), T0).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0, T0).unwrap().ino;
    let _ = fs.create(d, b"f", 0o644, 0, 0, T0);
    assert!(fs.sync().is_err());
    assert!(fs.aborted().is_some());
    assert!(
        fs.unmount(T0).is_err(),
        "an aborted filesystem is not marked clean"
    );
    dev.heal();
    let img = dev.contents();
    let fs = Fs::mount(img.clone(), MountOptions::default(), T0).unwrap();
    assert!(fs.is_read_only(), "errors recorded: read-only by default");
    drop(fs);
    let refuse = MountOptions {
        errors: vexfs_core::ErrorPolicy::Refuse,
        ..Default::default()
    };
    assert!(Fs::mount(img.clone(), refuse, T0).is_err());
    let (_, img) = fsck(img, RepairMode::Yes);
    let fs = Fs::mount(img, refuse, T0).unwrap();
    assert!(!fs.is_read_only());
}

#[test]
fn filling_the_disk_gives_enospc_and_deleting_frees_it() {
    let mut fs = Fs::mount(image(4 << 20, None), MountOptions::default(), T0).unwrap();
    let chunk = vec![0xA5u8; 64 << 10];
    let mut files = Vec::new();
    let mut stopped = None;
    for i in 0..1000u32 {
        let f = match fs.create(ROOT, format!("big{i}").as_bytes(), 0o644, 0, 0, T0) {
            Ok(s) => s.ino,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        files.push((i, f));
        if let Err(e) = fs.write(f, 0, &chunk, T0) {
            stopped = Some(e);
            break;
        }
    }
    assert_eq!(stopped, Some(FsError::NoSpace), "the disk fills up");
    let before = fs.statfs().blocks_free;
    assert!(before < 64, "full: {before} blocks free");
    // Every file holds what the filesystem said it wrote.
    for &(_, f) in &files {
        let st = fs.getattr(f).unwrap();
        let data = fs.read(f, 0, st.size as usize).unwrap();
        assert!(data.iter().all(|&b| b == 0xA5));
    }
    // Deleting frees the space for the very next write, before any sync.
    for &(i, _) in files.iter().take(files.len() / 2) {
        fs.unlink(ROOT, format!("big{i}").as_bytes(), T0).unwrap();
    }
    let f = fs.create(ROOT, b"after", 0o644, 0, 0, T0).unwrap().ino;
    fs.write(f, 0, &vec![1u8; 1 << 20], T0).unwrap();
    let dev = fs.unmount(T0).unwrap();
    let (r, _) = fsck(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
}

#[test]
fn running_out_of_inodes_gives_enospc_and_unlink_frees_one() {
    let mut fs = Fs::mount(image(4 << 20, Some(64)), MountOptions::default(), T0).unwrap();
    let mut n = 0;
    let err = loop {
        match fs.create(ROOT, format!("e{n}").as_bytes(), 0o644, 0, 0, T0) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, FsError::NoSpace);
    assert_eq!(fs.statfs().inodes_free, 0);
    assert!(
        fs.lookup(ROOT, format!("e{n}").as_bytes()).is_err(),
        "no half-created entry"
    );
    fs.unlink(ROOT, b"e0", T0).unwrap();
    fs.create(ROOT, b"again", 0o644, 0, 0, T0).unwrap();
    let dev = fs.unmount(T0).unwrap();
    let (r, _) = fsck(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
}
