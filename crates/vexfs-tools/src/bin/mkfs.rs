//! `mkfs.vexfs`: create a VexFS filesystem on an image file or block device.

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgAction, Parser};
use std::path::PathBuf;
use std::process::ExitCode;
use vexfs_core::format::superblock::{Superblock, LABEL_LEN};
use vexfs_core::mkfs::{format, plan, MkfsOptions};
use vexfs_tools::device::{is_block_device, read_prefix, Device};
use vexfs_tools::units::{format_uuid, human_bytes, parse_size, parse_uuid, uuid_random};
use vexfs_tools::{mounts, progress, signatures};

/// Create a VexFS filesystem.
#[derive(Parser, Debug)]
#[command(name = "mkfs.vexfs", version, disable_version_flag = true)]
struct Args {
    /// Block size in bytes: a power of two from 1024 to 65536.
    #[arg(short = 'b', value_name = "BLOCK_SIZE", default_value = "4096")]
    block_size: String,
    /// Volume label (up to 32 bytes).
    #[arg(short = 'L', value_name = "LABEL")]
    label: Option<String>,
    /// UUID: 'random' (default), 'time', 'clear' or an explicit UUID.
    #[arg(short = 'U', value_name = "UUID")]
    uuid: Option<String>,
    /// Number of inodes (overrides -i).
    #[arg(short = 'N', value_name = "INODES")]
    inodes: Option<u64>,
    /// Bytes of space per inode (default 16384).
    #[arg(short = 'i', value_name = "BYTES_PER_INODE")]
    bytes_per_inode: Option<String>,
    /// Journal options: 'size=MIB' (0: no journal). Default: 1/64 of the
    /// device, 256 KiB to 64 MiB.
    #[arg(short = 'J', value_name = "OPTS")]
    journal: Option<String>,
    /// Features: '^journal' makes an image without a journal.
    #[arg(short = 'O', value_name = "FEATURES")]
    features: Option<String>,
    /// Overwrite an existing filesystem; give twice to format a mounted device.
    #[arg(short = 'F', action = ArgAction::Count)]
    force: u8,
    /// Show what would be created, write nothing.
    #[arg(short = 'n')]
    dry_run: bool,
    /// Quiet: print only errors.
    #[arg(short = 'q')]
    quiet: bool,
    /// Print the version and exit.
    #[arg(short = 'V', action = ArgAction::Version)]
    version: Option<bool>,
    /// Image file or block device.
    device: PathBuf,
    /// Filesystem size: bytes with a K/M/G/T suffix, else blocks. An image
    /// file is created or extended to this size.
    size: Option<String>,
}

fn main() -> ExitCode {
    let prog = vexfs_tools::program_name("mkfs.vexfs");
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prog}: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The journal size asked for with -J / -O, in blocks (`None`: default).
fn journal_blocks(a: &Args, bs: u32) -> Result<Option<u64>> {
    let mut blocks = None;
    if let Some(f) = &a.features {
        for feat in f.split(',') {
            match feat {
                "^journal" | "^has_journal" => blocks = Some(0),
                "journal" | "has_journal" => {}
                other => bail!("unknown feature '{other}' (known: journal)"),
            }
        }
    }
    if let Some(j) = &a.journal {
        for opt in j.split(',') {
            let Some(mib) = opt.strip_prefix("size=") else {
                bail!("unknown journal option '{opt}' (known: size=MIB)");
            };
            let mib: u64 = mib.parse().map_err(|_| anyhow!("journal size '{mib}': not a number of MiB"))?;
            if blocks == Some(0) && mib > 0 {
                bail!("-J size= conflicts with -O ^journal");
            }
            let n = (mib << 20) / u64::from(bs);
            if n != 0 && n < vexfs_core::format::journal::MIN_JOURNAL_BLOCKS {
                bail!("journal of {mib} MiB is smaller than {} blocks", vexfs_core::format::journal::MIN_JOURNAL_BLOCKS);
            }
            blocks = Some(n);
        }
    }
    Ok(blocks)
}

fn describe(sb: &Superblock, uuid: &[u8; 16]) -> Vec<String> {
    let mut out = vec![
        format!("Creating filesystem with {} {} blocks and {} inodes", sb.block_count, human_bytes(u64::from(sb.block_size)), sb.inode_count),
        format!("Filesystem UUID: {}", format_uuid(uuid)),
    ];
    if !sb.label_str().is_empty() {
        out.push(format!("Filesystem label: {}", sb.label_str()));
    }
    out.push(format!(
        "Layout: block bitmap {}+{}, inode bitmap {}+{}, inode table {}+{}, data from block {} ({} blocks free)",
        sb.block_bitmap_start,
        sb.block_bitmap_blocks,
        sb.inode_bitmap_start,
        sb.inode_bitmap_blocks,
        sb.inode_table_start,
        sb.inode_table_blocks,
        sb.data_start,
        sb.free_blocks
    ));
    out.push(if sb.journal_blocks > 0 {
        format!("Journal: blocks {}+{} ({})", sb.journal_start, sb.journal_blocks, human_bytes(sb.journal_blocks * u64::from(sb.block_size)))
    } else {
        "Journal: none (commits are ordered, not atomic)".to_string()
    });
    out
}

fn run(a: &Args) -> Result<()> {
    let (bs, _) = parse_size(&a.block_size)?;
    let bs = u32::try_from(bs).ok().filter(|b| b.is_power_of_two() && (1024..=65536).contains(b)).ok_or_else(|| anyhow!("invalid block size '{}': must be a power of two from 1024 to 65536", a.block_size))?;
    let mut label = [0u8; LABEL_LEN];
    if let Some(l) = &a.label {
        if l.len() > LABEL_LEN {
            bail!("label '{l}' is longer than {LABEL_LEN} bytes");
        }
        label[..l.len()].copy_from_slice(l.as_bytes());
    }
    let uuid = match &a.uuid {
        Some(u) => parse_uuid(u)?,
        None => uuid_random().context("reading /dev/urandom")?,
    };
    let size = match &a.size {
        Some(s) => {
            let (v, suffixed) = parse_size(s)?;
            let bytes = if suffixed { Some(v) } else { v.checked_mul(u64::from(bs)) };
            Some(bytes.filter(|&b| b > 0).ok_or_else(|| anyhow!("invalid size '{s}'"))?)
        }
        None => None,
    };
    let bytes_per_inode = match &a.bytes_per_inode {
        Some(s) => {
            let (v, _) = parse_size(s)?;
            if !(1024..=1 << 30).contains(&v) {
                bail!("invalid bytes-per-inode '{s}': must be from 1024 to 1G");
            }
            v
        }
        None => MkfsOptions::default().bytes_per_inode,
    };
    let journal_blocks = journal_blocks(a, bs)?;
    let opts = MkfsOptions { block_size: bs, inode_count: a.inodes, bytes_per_inode, label, uuid, journal_blocks, ..MkfsOptions::default() };

    let path = &a.device;
    let exists = path.exists();
    if exists && path.is_dir() {
        bail!("{} is a directory", path.display());
    }
    if !exists && size.is_none() {
        bail!("{} does not exist; give a size to create an image file", path.display());
    }
    let blockdev = is_block_device(path);
    let mut current = 0u64;
    if exists {
        let uses = mounts::mounted_uses(path);
        if !uses.is_empty() {
            if a.force < 2 {
                bail!("{}; will not make a filesystem here!", uses.join("; "));
            }
            if !a.quiet {
                eprintln!("warning: {}; formatting anyway (-F -F)", uses.join("; "));
            }
        }
        let probe = Device::open(path, true).with_context(|| format!("cannot open {}", path.display()))?;
        current = vexfs_core::BlockDevice::size(&probe);
        let head = read_prefix(probe.file(), signatures::PROBE_LEN).with_context(|| format!("cannot read {}", path.display()))?;
        let found = signatures::detect(&head);
        if !found.is_empty() {
            if a.force == 0 && !a.dry_run {
                bail!("{} contains a {}; use -F to overwrite it", path.display(), found.join(" and a "));
            }
            if !a.quiet {
                eprintln!("{} contains a {}{}", path.display(), found.join(" and a "), if a.dry_run { "" } else { "; overwriting it (-F)" });
            }
        }
    }
    let fs_bytes = if blockdev {
        match size {
            Some(s) if s > current => bail!("requested size {s} is larger than the device ({current} bytes)"),
            Some(s) => s,
            None => current,
        }
    } else {
        size.unwrap_or(current)
    };
    if fs_bytes == 0 {
        bail!("{} is empty; give a size", path.display());
    }
    let sb = plan(fs_bytes, &opts).map_err(|e| anyhow!("cannot lay out a filesystem of {fs_bytes} bytes with {bs}-byte blocks: {e}"))?;

    if a.dry_run {
        if !a.quiet {
            for l in describe(&sb, &uuid) {
                println!("{l}");
            }
            println!("(dry run: nothing written)");
        }
        return Ok(());
    }
    if !blockdev && current < fs_bytes {
        let f = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(path).with_context(|| format!("cannot create {}", path.display()))?;
        f.set_len(fs_bytes).with_context(|| format!("cannot extend {} to {fs_bytes} bytes", path.display()))?;
    }
    let dev = Device::open_with(path, true, a.force < 2).with_context(|| format!("cannot open {} for writing", path.display()))?.limit(fs_bytes);
    if !a.quiet {
        for l in describe(&sb, &uuid) {
            println!("{l}");
        }
    }
    let show = progress::wanted(a.quiet);
    let pb = progress::bar(show, "Writing inode tables", sb.inode_table_blocks.max(1));
    let dev = format(dev, &opts, vexfs_tools::now(), &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(|e| anyhow!("writing the filesystem failed: {e}"))?;
    pb.finish_and_clear();
    drop(dev);
    if !a.quiet {
        println!("Writing inode tables: done");
        println!("Writing superblock and root directory: done");
    }
    Ok(())
}
