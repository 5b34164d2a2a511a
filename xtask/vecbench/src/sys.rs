//! The ioctls of include/uapi/vexfs.h on a directory descriptor.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use vexfs_uapi as u;
use vexfs_uapi::Request;

/// ioctl `cmd` with `arg` (the struct the command number names) or none.
pub fn ioctl<T: Request>(dir: &File, cmd: u32, arg: Option<&mut T>) -> io::Result<()> {
    let ptr: *mut T = arg.map_or(std::ptr::null_mut(), |a| a as *mut T);
    // SAFETY: `ptr` is null (commands without an argument) or a live value
    // of the struct whose size the command number encodes.
    let r = unsafe { libc::ioctl(dir.as_raw_fd(), cmd as _, ptr) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Make `dir` an index root.
pub fn index_create(dir: &File, strategy: u32, dim: usize, params: &str) -> io::Result<()> {
    let mut c = u::IndexConfig::new_request();
    c.strategy = strategy;
    c.metric = u::METRIC_L2;
    c.dim = dim as u32;
    if !u::set_c_str(&mut c.params, params.as_bytes()) {
        return Err(io::Error::from_raw_os_error(libc::E2BIG));
    }
    ioctl(dir, u::IOC_INDEX_CREATE, Some(&mut c))
}

/// Store `rows` (`dim` floats each) as the embeddings of files
/// `v<first + i>` in `dir`, created as needed, packing as many rows as fit
/// in each request. Returns the number of requests.
pub fn bulk_set(dir: &File, rows: &[f32], dim: usize, first: usize) -> io::Result<usize> {
    let mut b = Box::new(u::Bulk::new_request());
    let count = rows.len() / dim;
    let (mut row, mut calls) = (0, 0);
    while row < count {
        let start = row;
        let mut names = Vec::new();
        while row < count {
            let name = format!("v{}", first + row);
            let need = (names.len() + name.len() + 1).next_multiple_of(4);
            if need + (row - start + 1) * dim * 4 > u::BULK_DATA {
                break;
            }
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            row += 1;
        }
        if row == start {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        }
        (b.flags, b.dim, b.count) = (u::BULK_CREATE, dim as u32, (row - start) as u32);
        b.names_len = names.len() as u32;
        b.data[..names.len()].copy_from_slice(&names);
        let off = names.len().next_multiple_of(4);
        for (i, x) in rows[start * dim..row * dim].iter().enumerate() {
            b.data[off + 4 * i..off + 4 * i + 4].copy_from_slice(&x.to_le_bytes());
        }
        ioctl(dir, u::IOC_BULK_SET, Some(&mut *b))?;
        if b.error != 0 || b.done != b.count {
            return Err(io::Error::from_raw_os_error(-b.error));
        }
        calls += 1;
    }
    Ok(calls)
}

/// The `k` nearest files to `q`: their names (the last path component),
/// nearest first.
pub fn search(dir: &File, req: &mut u::Search, q: &[f32], k: usize) -> io::Result<Vec<String>> {
    (
        req.count,
        req.total,
        req.out_flags,
        req.names_used,
        req.scanned,
    ) = (0, 0, 0, 0, 0);
    (req.k, req.dim, req.flags) = (k as u32, q.len() as u32, 0);
    req.vector[..q.len()].copy_from_slice(q);
    ioctl(dir, u::IOC_SEARCH, Some(req))?;
    let n = (req.count as usize).min(u::HITS_MAX);
    Ok(req.hits[..n]
        .iter()
        .map(|h| {
            let (off, len) = (h.path_off as usize, usize::from(h.path_len));
            let path = req.names.get(off..off + len).unwrap_or_default();
            let name = path.rsplit(|&c| c == b'/').next().unwrap_or_default();
            String::from_utf8_lossy(name).into_owned()
        })
        .collect())
}

/// Vectors of the index over `dir` not yet in its strategy
/// (`VEXFS_IOC_INDEX_STATS`'s `pending`).
pub fn pending(dir: &File) -> io::Result<u64> {
    let mut st = u::IndexStats::new_request();
    ioctl(dir, u::IOC_INDEX_STATS, Some(&mut st))?;
    Ok(st.pending)
}
