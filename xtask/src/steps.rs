//! The steps the guest must report, in order, with the seed step each
//! implements. A step missing from the guest's output fails the run.
//!
//! `vectors` and `ann-bench` (seed steps 4 and 5) compare the kernel
//! module with vexfs-fuse on the same image inside the guest.

pub struct StepSpec {
    pub name: &'static str,
    pub seed: &'static str,
    pub what: &'static str,
}

pub const STEPS: &[StepSpec] = &[
    StepSpec {
        name: "modinfo",
        seed: "1",
        what: "modinfo: license, description, author, version, vermagic",
    },
    StepSpec {
        name: "load",
        seed: "1",
        what: "insmod; lsmod, /proc/modules, /sys/module/vexfs, /proc/filesystems",
    },
    StepSpec {
        name: "cycles",
        seed: "2",
        what: "load/unload cycles; Slab, VmallocUsed and slabinfo before/after",
    },
    StepSpec {
        name: "mount",
        seed: "3",
        what: "mkfs.vexfs /dev/vdb; mount -t vexfs; ls, stat, df",
    },
    StepSpec {
        name: "tree",
        seed: "3",
        what: "copy a tree in, namespace ops, remount, verify checksums",
    },
    StepSpec {
        name: "fsx",
        seed: "3",
        what: "fsx (mapped reads and writes included) against its model, then a remount",
    },
    StepSpec {
        name: "direct",
        seed: "3",
        what: "O_DIRECT: fio appends and overwrites (64 KiB, 4 KiB, 512 B) verified by checksum, O_DIRECT and page cache reads agree, a remount",
    },
    StepSpec {
        name: "mmap",
        seed: "3",
        what: "shared mappings: write, msync, munmap, remount, read back; exec from the mount",
    },
    StepSpec {
        name: "pjdfstest",
        seed: "3",
        what: "the Rust pjdfstest on the kernel mount",
    },
    StepSpec {
        name: "acl",
        seed: "3",
        what: "POSIX ACLs with setfacl/getfacl: named entries grant and mask, chmod moves the mask, default ACLs and umask on create, removal, a remount",
    },
    StepSpec {
        name: "refuse",
        seed: "3",
        what: "foreign (-EINVAL) and damaged (-EUCLEAN) images refused with a log line",
    },
    StepSpec {
        name: "crafted",
        seed: "3",
        what: "images damaged in one place (inode table, directory, attribute and bitmap blocks): refused with a log line, or mounted and walked within a time limit",
    },
    StepSpec {
        name: "vectors",
        seed: "4",
        what: "vexctl index/import/set/search on the kernel mount; same results through vexfs-fuse on the same image, and after remounting",
    },
    StepSpec {
        name: "index-worker",
        seed: "5",
        what: "a bulk HNSW load past the write path's batch size with index_worker=0 and 1: inserts/s, vectors pending after the load, time until indexed, recall, fsck",
    },
    StepSpec {
        name: "ann-bench",
        seed: "5",
        what: "inserts/s, build, searches/s, recall per strategy through the ioctls: kernel module vs vexfs-fuse in the same guest",
    },
    StepSpec {
        name: "fs-bench",
        seed: "5",
        what: "the module beside ext4 on the same disk: fs_metabench creates/stats/unlinks, fio 4 KiB random and 1 MiB sequential",
    },
    StepSpec {
        name: "unmount",
        seed: "6",
        what: "umount; fsck.vexfs clean; rmmod",
    },
    StepSpec {
        name: "dmesg",
        seed: "6",
        what: "no BUG, WARNING, Oops, GPF, Call Trace or slub report in the log",
    },
];
