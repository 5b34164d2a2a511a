//! Power-cut replay: every write the filesystem issues is recorded, then
//! the device is rebuilt as a crash at each point would have left it:
//!
//! * every prefix of the write log (a crash between two writes);
//! * at each flush, random subsets of the writes issued since, applied in
//!   random order, some torn (only the first sectors of a write landed):
//!   what a volatile disk cache may keep after a power cut.
//!
//! Each crash state is mounted (replaying the journal) and must keep every
//! file that was fsync'd before the crash and not touched after, with its
//! name, contents and attributes; after unmount fsck must find nothing.

mod common;
use common::recording::{apply, Event, RecordingDevice};
use common::*;
use std::collections::BTreeMap;
use vexfs_core::check::{check, CheckOptions, RepairMode};
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{
    FallocMode, Fs, FsError, MemDevice, MountOptions, RenameFlags, SetAttr, XattrFlags,
};

const ROOT: u64 = 1;

/// What a file should hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct FileModel {
    data: Vec<u8>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// The namespace as the workload believes it is: `(dir name, file name)`
/// to an inode number, and each inode's expected contents.
#[derive(Debug, Clone, Default)]
struct Model {
    names: BTreeMap<(String, String), u64>,
    files: BTreeMap<u64, FileModel>,
}

/// A `sync` and what it vouches for.
struct Durable {
    /// Log events up to and including the flush that made it durable.
    events: usize,
    /// The operation count when it returned.
    op: usize,
    model: Model,
}

/// A workload's run: the image it started from, every device event, the
/// syncs, and the last operation that touched each name and inode.
struct Run {
    base: Vec<u8>,
    log: Vec<Event>,
    syncs: Vec<Durable>,
    name_touched: BTreeMap<(String, String), usize>,
    ino_touched: BTreeMap<u64, usize>,
    dirs: BTreeMap<String, u64>,
    /// Every file id that ever lived in each inode number.
    ids: BTreeMap<u64, Vec<u64>>,
    /// Crash states whose pre-mount check found orphans left to the mount.
    with_orphans: std::cell::Cell<usize>,
    stats: vexfs_core::JournalStats,
}

struct Workload {
    fs: Fs<RecordingDevice>,
    model: Model,
    dirs: BTreeMap<String, u64>,
    op: usize,
    syncs: Vec<Durable>,
    name_touched: BTreeMap<(String, String), usize>,
    ino_touched: BTreeMap<u64, usize>,
    log: std::sync::Arc<std::sync::Mutex<Vec<Event>>>,
    base: Vec<u8>,
    ids: BTreeMap<u64, Vec<u64>>,
    file_id: BTreeMap<u64, u64>,
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 7)) as u8)
        .collect()
}

/// File data that names its owner: each 8-byte word at file offset `o`
/// holds the writing file's id, the write's seed and `o / 8`, so a crash
/// state can tell a file's own bytes from anyone else's.
fn tagged(file: u64, seed: u64, off: usize, len: usize) -> Vec<u8> {
    assert!(off.is_multiple_of(8) && len.is_multiple_of(8));
    (0..len / 8)
        .flat_map(|w| {
            ((file << 48) | ((seed & 0xFFFF) << 32) | ((off / 8 + w) as u64)).to_le_bytes()
        })
        .collect()
}

/// Whether `data` holds only zeros and words this file (one of `ids`) wrote
/// at their own offsets.
fn only_own_words(data: &[u8], ids: &[u64]) -> Result<(), String> {
    for (w, chunk) in data.chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        let v = u64::from_le_bytes(b);
        if v == 0 {
            continue;
        }
        let (id, at) = (v >> 48, v & 0xFFFF_FFFF);
        if chunk.len() < 8 || !ids.contains(&id) || at != w as u64 {
            let around: Vec<String> = data
                .chunks(8)
                .skip(w.saturating_sub(3))
                .take(6)
                .map(|c| format!("{:#x}", u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
                .collect();
            return Err(format!(
                "word {w} is {v:#x}: not this file's (ids {ids:?}; len {}; around {around:?})",
                data.len()
            ));
        }
    }
    Ok(())
}

impl Workload {
    fn new(bytes: usize, block_size: u32) -> Self {
        Self::with_options(bytes, block_size, None, MountOptions::default())
    }

    fn with_options(
        bytes: usize,
        block_size: u32,
        journal_blocks: Option<u64>,
        mount: MountOptions,
    ) -> Self {
        let opts = MkfsOptions {
            block_size,
            journal_blocks,
            ..Default::default()
        };
        let base = format(MemDevice::new(bytes), &opts, T0, &mut |_, _| {}).expect("mkfs");
        let rec = RecordingDevice::new(base.clone());
        let log = rec.log.clone();
        let mut fs = Fs::mount(rec, mount, T0).expect("mount");
        let mut dirs = BTreeMap::new();
        for d in ["a", "b"] {
            let ino = fs.mkdir(ROOT, d.as_bytes(), 0o755, 0, 0, T0).unwrap().ino;
            dirs.insert(d.to_string(), ino);
        }
        Self {
            fs,
            model: Model::default(),
            dirs,
            op: 0,
            syncs: Vec::new(),
            name_touched: BTreeMap::new(),
            ino_touched: BTreeMap::new(),
            log,
            base: base.data,
            ids: BTreeMap::new(),
            file_id: BTreeMap::new(),
        }
    }

    fn touch(&mut self, key: &(String, String), ino: Option<u64>) {
        self.name_touched.insert(key.clone(), self.op);
        if let Some(i) = ino {
            self.ino_touched.insert(i, self.op);
        }
    }

    fn key(d: &str, n: &str) -> (String, String) {
        (d.to_string(), n.to_string())
    }

    /// Record that the state at operation `op` is durable once the log's
    /// last flush so far has landed.
    fn vouch(&mut self, op: usize, model: Model) {
        let log = self.log.lock().unwrap();
        let events = log
            .iter()
            .rposition(|e| matches!(e, Event::Flush))
            .map_or(0, |i| i + 1);
        drop(log);
        self.syncs.push(Durable { events, op, model });
    }

    fn sync(&mut self) {
        self.op += 1;
        self.fs.sync().expect("sync");
        self.vouch(self.op, self.model.clone());
    }

    /// A commit whose device writes happen while `during` runs more
    /// operations (as the FUSE daemon's commit timer does without the
    /// lock). It vouches for the state when it began.
    fn commit_around(&mut self, during: impl FnOnce(&mut Self)) {
        self.op += 1;
        let (op, model) = (self.op, self.model.clone());
        let io = self.fs.commit_begin().expect("commit_begin");
        during(self);
        if let Some(io) = io {
            let r = io.write(self.fs.device());
            self.fs.commit_end(io, r).expect("commit_end");
        }
        self.vouch(op, model);
    }

    fn create(&mut self, d: &str, n: &str, len: usize, seed: u64) {
        self.op += 1;
        let dir = self.dirs[d];
        let k = Self::key(d, n);
        let r = self.fs.create(dir, n.as_bytes(), 0o644, 0, 0, T0);
        let Ok(st) = r else {
            return;
        };
        self.touch(&k, Some(st.ino));
        let id = self.op as u64 + 1;
        self.ids.entry(st.ino).or_default().push(id);
        self.file_id.insert(st.ino, id);
        self.model.names.insert(k, st.ino);
        self.model.files.insert(st.ino, FileModel::default());
        self.write(d, n, 0, len, seed);
    }

    fn write(&mut self, d: &str, n: &str, off: usize, len: usize, seed: u64) {
        self.op += 1;
        let k = Self::key(d, n);
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        let (off, len) = (off & !7, len & !7);
        let data = tagged(self.file_id[&ino], seed, off, len);
        self.touch(&k, Some(ino));
        match self.fs.write(ino, off as u64, &data, T0) {
            Ok(_) => {
                let f = self.model.files.get_mut(&ino).unwrap();
                if f.data.len() < off + len {
                    f.data.resize(off + len, 0);
                }
                f.data[off..off + len].copy_from_slice(&data);
            }
            Err(FsError::NoSpace) => {
                // A failed write may have landed in part: contents unknown.
                self.model.files.get_mut(&ino).unwrap().data =
                    self.fs.read(ino, 0, 1 << 30).unwrap();
            }
            Err(e) => panic!("write: {e}"),
        }
    }

    fn truncate(&mut self, d: &str, n: &str, size: usize) {
        // Word-aligned, so every remaining word is whole (see `tagged`).
        let size = size & !7;
        self.op += 1;
        let k = Self::key(d, n);
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        self.touch(&k, Some(ino));
        let a = SetAttr {
            size: Some(size as u64),
            ..Default::default()
        };
        if self.fs.setattr(ino, &a, T0).is_ok() {
            self.model.files.get_mut(&ino).unwrap().data.resize(size, 0);
        }
    }

    fn fallocate(&mut self, d: &str, n: &str, off: usize, len: usize, punch: bool) {
        let (off, len) = (off & !7, (len & !7).max(8));
        self.op += 1;
        let k = Self::key(d, n);
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        self.touch(&k, Some(ino));
        let mode = if punch {
            FallocMode::PunchHole
        } else {
            FallocMode::Allocate { keep_size: false }
        };
        if self
            .fs
            .fallocate(ino, off as u64, len as u64, mode, T0)
            .is_ok()
        {
            let f = self.model.files.get_mut(&ino).unwrap();
            if punch {
                let end = (off + len).min(f.data.len());
                if off < end {
                    f.data[off..end].fill(0);
                }
            } else if f.data.len() < off + len {
                f.data.resize(off + len, 0);
            }
        }
    }

    fn unlink(&mut self, d: &str, n: &str) {
        self.op += 1;
        let k = Self::key(d, n);
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        self.touch(&k, Some(ino));
        self.fs.unlink(self.dirs[d], n.as_bytes(), T0).unwrap();
        self.model.names.remove(&k);
        if !self.model.names.values().any(|&i| i == ino) {
            self.model.files.remove(&ino);
        }
    }

    /// Unlink a file that stays open (it is never released): its last
    /// unlink puts it on the orphan list, which every later crash state
    /// carries until the mount reaps it.
    fn unlink_open(&mut self, d: &str, n: &str) {
        let Some(&ino) = self.model.names.get(&Self::key(d, n)) else {
            return;
        };
        self.fs.open(ino).unwrap();
        self.unlink(d, n);
    }

    fn rename(&mut self, d: &str, n: &str, d2: &str, n2: &str) {
        self.op += 1;
        let (k, k2) = (Self::key(d, n), Self::key(d2, n2));
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        if k == k2 {
            return;
        }
        let old = self.model.names.get(&k2).copied();
        self.touch(&k, Some(ino));
        self.touch(&k2, old);
        self.fs
            .rename(
                self.dirs[d],
                n.as_bytes(),
                self.dirs[d2],
                n2.as_bytes(),
                RenameFlags::default(),
                T0,
            )
            .unwrap();
        self.model.names.remove(&k);
        self.model.names.insert(k2, ino);
        if let Some(o) = old.filter(|&o| o != ino) {
            if !self.model.names.values().any(|&i| i == o) {
                self.model.files.remove(&o);
            }
        }
    }

    fn link(&mut self, d: &str, n: &str, d2: &str, n2: &str) {
        self.op += 1;
        let (k, k2) = (Self::key(d, n), Self::key(d2, n2));
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        if self.model.names.contains_key(&k2) {
            return;
        }
        self.touch(&k2, Some(ino));
        if self.fs.link(ino, self.dirs[d2], n2.as_bytes(), T0).is_ok() {
            self.model.names.insert(k2, ino);
        }
    }

    fn setxattr(&mut self, d: &str, n: &str, name: &str, len: usize, seed: u64) {
        self.op += 1;
        let k = Self::key(d, n);
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        self.touch(&k, Some(ino));
        let v = pattern(seed, len);
        let xname = format!("user.{name}").into_bytes();
        if self
            .fs
            .setxattr(ino, &xname, &v, XattrFlags::default(), T0)
            .is_ok()
        {
            self.model
                .files
                .get_mut(&ino)
                .unwrap()
                .xattrs
                .insert(xname, v);
        }
    }

    fn removexattr(&mut self, d: &str, n: &str, name: &str) {
        self.op += 1;
        let k = Self::key(d, n);
        let Some(&ino) = self.model.names.get(&k) else {
            return;
        };
        self.touch(&k, Some(ino));
        let xname = format!("user.{name}").into_bytes();
        if self.fs.removexattr(ino, &xname, T0).is_ok() {
            self.model
                .files
                .get_mut(&ino)
                .unwrap()
                .xattrs
                .remove(&xname);
        }
    }

    fn finish(mut self) -> Run {
        self.sync();
        let stats = self.fs.journal_stats();
        assert_eq!(stats.unjournaled_commits, 0, "every commit fit the journal");
        drop(self.fs);
        let log = std::mem::take(&mut *self.log.lock().unwrap());
        Run {
            base: self.base,
            log,
            syncs: self.syncs,
            name_touched: self.name_touched,
            ino_touched: self.ino_touched,
            dirs: self.dirs,
            ids: self.ids,
            with_orphans: std::cell::Cell::new(0),
            stats,
        }
    }
}

impl Run {
    /// The newest sync whose flush is in the first `events` log events.
    fn durable(&self, events: usize) -> Option<&Durable> {
        self.syncs.iter().rev().find(|s| s.events <= events)
    }

    /// Mount a crash state, check what the newest durable sync promised,
    /// unmount and fsck. `events` is how much of the log is known applied.
    fn verify(&self, img: Vec<u8>, events: usize, what: &str) {
        // Before the mount: a read-only check replays the journal in
        // memory and leaves orphans to the mount, and finds nothing wrong.
        let opts = CheckOptions {
            mode: RepairMode::No,
            force: true,
            now: T0,
        };
        let (r, dev) =
            check(MemDevice { data: img }, &opts, &mut |_, _, _| true).expect("fsck runs");
        assert!(
            r.problems.is_empty(),
            "{what}: fsck before the mount found {:#?}",
            r.problems
        );
        if r.orphans_pending > 0 {
            self.with_orphans.set(self.with_orphans.get() + 1);
        }
        let mut fs = Fs::mount(dev, MountOptions::default(), T0)
            .unwrap_or_else(|e| panic!("{what}: mount failed: {e}"));
        if let Some(s) = self.durable(events) {
            for (k, &ino) in &s.model.names {
                let stable = self.name_touched.get(k).is_none_or(|&t| t <= s.op)
                    && self.ino_touched.get(&ino).is_none_or(|&t| t <= s.op);
                if !stable {
                    continue;
                }
                let want = &s.model.files[&ino];
                let dir = self.dirs[&k.0];
                let st = fs
                    .lookup(dir, k.1.as_bytes())
                    .unwrap_or_else(|e| panic!("{what}: fsync'd {k:?} lost: {e}"));
                let got = fs.read(st.ino, 0, 1 << 30).unwrap();
                assert!(got == want.data, "{what}: fsync'd {k:?} has other contents");
                for (xn, xv) in &want.xattrs {
                    assert_eq!(
                        &fs.getxattr(st.ino, xn).unwrap(),
                        xv,
                        "{what}: xattr of {k:?}"
                    );
                }
            }
        }
        // Whatever state each file came back in, it shows only its own
        // bytes: never data of a file whose blocks it was given.
        for (name, &dir) in &self.dirs {
            // Early crash states predate the directories.
            if fs.lookup(ROOT, name.as_bytes()).is_err() {
                continue;
            }
            for e in fs.readdir(dir, 0, 100_000).unwrap() {
                if e.name == b"." || e.name == b".." {
                    continue;
                }
                let st = fs.lookup(dir, &e.name).unwrap();
                if st.file_type != vexfs_core::FileType::Regular {
                    continue;
                }
                let data = fs.read(st.ino, 0, 1 << 30).unwrap();
                let ids = self.ids.get(&st.ino).cloned().unwrap_or_default();
                if let Err(m) = only_own_words(&data, &ids) {
                    panic!("{what}: {:?}: {m}", String::from_utf8_lossy(&e.name));
                }
            }
        }
        let dev = fs
            .unmount(T0)
            .unwrap_or_else(|e| panic!("{what}: unmount failed: {e}"));
        let (r, _) = check(dev, &opts, &mut |_, _, _| true).expect("fsck runs");
        assert!(
            r.problems.is_empty(),
            "{what}: fsck found {:#?}",
            r.problems
        );
    }

    /// Replay every crash state this run allows; returns how many.
    fn replay_all(&self, subsets_per_flush: usize, seed: u64) -> usize {
        let mut states = 0;
        // Every prefix: a crash between two writes, all earlier ones landed.
        let mut img = self.base.clone();
        self.verify(img.clone(), 0, "prefix 0");
        states += 1;
        for (i, e) in self.log.iter().enumerate() {
            if let Event::Write { offset, data } = e {
                apply(&mut img, *offset, data, None);
                self.verify(img.clone(), i + 1, &format!("prefix {}", i + 1));
                states += 1;
            }
        }
        // At each flush: what a volatile cache may keep of the writes since.
        let mut rng = Rng(seed);
        let mut img = self.base.clone();
        let mut at = 0usize;
        while at < self.log.len() {
            let end = self.log[at..]
                .iter()
                .position(|e| matches!(e, Event::Flush))
                .map_or(self.log.len(), |p| at + p);
            let window: Vec<(u64, &Vec<u8>)> = self.log[at..end]
                .iter()
                .filter_map(|e| match e {
                    Event::Write { offset, data } => Some((*offset, data)),
                    Event::Flush => None,
                })
                .collect();
            if window.len() > 1 {
                for _ in 0..subsets_per_flush {
                    let mut s = img.clone();
                    let mut order: Vec<usize> =
                        (0..window.len()).filter(|_| rng.below(2) == 0).collect();
                    for j in (1..order.len()).rev() {
                        order.swap(j, rng.below(j as u64 + 1) as usize);
                    }
                    for &w in &order {
                        let (off, data) = window[w];
                        let torn = (rng.below(4) == 0)
                            .then(|| 512 * rng.below((data.len() / 512) as u64) as usize);
                        apply(&mut s, off, data, torn);
                    }
                    self.verify(s, at, &format!("subset at event {at}: {order:?}"));
                    states += 1;
                }
            }
            for (off, data) in &window {
                apply(&mut img, *off, data, None);
            }
            at = end + 1;
        }
        states
    }
}

#[test]
fn scripted_workload_survives_every_crash_point() {
    let mut w = Workload::new(8 << 20, 1024);
    w.create("a", "f1", 3000, 1);
    w.create("a", "f2", 200, 2);
    w.sync();
    w.write("a", "f1", 1000, 5000, 3);
    w.setxattr("a", "f1", "tag", 40, 4);
    w.setxattr("a", "f2", "big", 1500, 5);
    w.sync();
    w.rename("a", "f1", "b", "g1");
    w.link("a", "f2", "b", "f2-link");
    w.sync();
    w.truncate("b", "g1", 700);
    w.fallocate("a", "f2", 0, 8192, false);
    w.fallocate("a", "f2", 1024, 2048, true);
    w.removexattr("a", "f2", "big");
    w.sync();
    w.unlink("a", "f2");
    w.create("b", "f3", 20000, 6);
    w.create("b", "held-open", 9000, 7);
    w.sync();
    w.unlink_open("b", "held-open");
    w.rename("b", "f3", "b", "g1");
    w.sync();
    // A directory large enough to split its tree.
    for i in 0..150 {
        w.create("a", &format!("entry-with-a-longish-name-{i:04}"), 10, i);
    }
    w.sync();
    for i in (0..150).step_by(3) {
        w.unlink("a", &format!("entry-with-a-longish-name-{i:04}"));
    }
    w.sync();
    let run = w.finish();
    let writes = run
        .log
        .iter()
        .filter(|e| matches!(e, Event::Write { .. }))
        .count();
    let states = run.replay_all(6, 0x5EED);
    let orphans = run.with_orphans.get();
    assert!(orphans > 0, "some crash states hold an orphan");
    println!("scripted workload: {writes} writes, {states} crash states replayed ({orphans} with an orphan), 0 failures");
}

/// Truncating, deleting and punching files in many transactions: with a
/// group-commit limit of one block, freeing stops after every piece (one
/// bitmap block's worth, 8 MiB here) and commits: the split a huge file's
/// bitmap blocks force on a real journal, at a size a test can replay. Every crash
/// state mounts, keeps what was fsync'd and checks clean, the unfinished
/// file on the orphan list.
#[test]
fn long_truncate_punch_and_delete_survive_every_crash_point() {
    let small = MountOptions {
        group_blocks: 1,
        ..Default::default()
    };
    let mut w = Workload::with_options(24 << 20, 1024, None, small);
    let fill = |w: &mut Workload, name: &str, seed: u64, mib: usize| {
        w.create("a", name, 0, seed);
        for i in 0..mib {
            w.write("a", name, i << 20, 1 << 20, seed * 1000 + i as u64);
        }
    };
    fill(&mut w, "long", 1, 17);
    w.sync();
    w.truncate("a", "long", 5000);
    w.sync();
    fill(&mut w, "gone", 2, 17);
    w.sync();
    w.fallocate("a", "gone", 3000, 16 << 20, true);
    w.sync();
    w.unlink("a", "gone");
    w.sync();
    let run = w.finish();
    let split = run.stats.split_steps;
    assert!(split > 0, "the operations were split");
    let states = run.replay_all(2, 0x10C);
    let orphans = run.with_orphans.get();
    assert!(orphans > 0, "some crash states fall between the steps");
    println!(
        "long operations: {split} extra transactions, {states} crash states replayed \
         ({orphans} mid-way, on the orphan list), 0 failures"
    );
}

#[test]
fn random_workloads_survive_crashes() {
    let mut total = 0;
    for seed in 1..=3u64 {
        let mut rng = Rng(seed * 0x9E37_79B9);
        let mut w = Workload::new(4 << 20, 1024);
        let names = |r: &mut Rng| format!("n{}", r.below(12));
        let dirs = ["a", "b"];
        for _ in 0..120 {
            let d = dirs[rng.below(2) as usize];
            let d2 = dirs[rng.below(2) as usize];
            let (n, n2) = (names(&mut rng), names(&mut rng));
            match rng.below(12) {
                0 | 1 => {
                    let len = rng.below(6000) as usize;
                    let s = rng.next();
                    w.create(d, &n, len, s);
                }
                2 => {
                    let (off, len, s) = (
                        rng.below(8000) as usize,
                        1 + rng.below(4000) as usize,
                        rng.next(),
                    );
                    w.write(d, &n, off, len, s);
                }
                3 => {
                    let size = rng.below(9000) as usize;
                    w.truncate(d, &n, size);
                }
                4 if rng.below(3) == 0 => w.unlink_open(d, &n),
                4 => w.unlink(d, &n),
                5 => w.rename(d, &n, d2, &n2),
                6 => w.link(d, &n, d2, &n2),
                7 => {
                    let (len, s) = (rng.below(1200) as usize, rng.next());
                    w.setxattr(d, &n, "x", len, s);
                }
                8 => w.removexattr(d, &n, "x"),
                9 => {
                    let (off, len) = (rng.below(6000) as usize, 1 + rng.below(6000) as usize);
                    let punch = rng.below(2) == 0;
                    w.fallocate(d, &n, off, len, punch);
                }
                10 => {
                    let (len, s) = (rng.below(3000) as usize, rng.next());
                    let n3 = names(&mut rng);
                    w.commit_around(|w| {
                        w.create(d, &n3, len, s);
                        w.unlink(d2, &n2);
                        w.truncate(d, &n, 100);
                    });
                }
                _ => w.sync(),
            }
        }
        let run = w.finish();
        total += run.replay_all(3, seed);
    }
    println!("random workloads: {total} crash states replayed, 0 failures");
}

/// An inode crossing into an attribute tree, value runs replaced and
/// removed, and the tree folded back: every crash point keeps the
/// attributes of the last sync (the old or the new value, never a mix).
#[test]
fn attribute_tree_survives_every_crash_point() {
    let mut w = Workload::new(8 << 20, 1024);
    w.create("a", "t", 10, 1);
    w.sync();
    for i in 0..60 {
        w.setxattr("a", "t", &format!("name-{i:03}"), 20, i);
    }
    w.sync();
    for i in (0..60).step_by(10) {
        w.setxattr("a", "t", &format!("name-{i:03}"), 2500, 100 + i);
    }
    w.sync();
    for i in (0..60).step_by(10) {
        w.setxattr("a", "t", &format!("name-{i:03}"), 3000, 200 + i);
    }
    w.sync();
    for i in 0..55 {
        w.removexattr("a", "t", &format!("name-{i:03}"));
    }
    w.sync();
    let run = w.finish();
    let states = run.replay_all(4, 0xA77);
    assert!(states > 0);
}
