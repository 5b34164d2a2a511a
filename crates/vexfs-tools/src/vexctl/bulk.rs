//! Packing `(name, vector)` items into `VEXFS_IOC_BULK_SET` requests.
//!
//! `vexfs_bulk.data` holds the NUL-terminated names, zero padding to a
//! multiple of 4, then `count * dim` float32s, in at most
//! `VEXFS_BULK_DATA` (16000) bytes. [`plan`] cuts the items into the
//! fewest consecutive chunks that fit; [`fill`] writes one chunk.

use std::ops::Range;
use vexfs_uapi::{Bulk, Request, BULK_DATA};

/// Bytes of `data` used by names of total length `names_len` (NULs
/// included) and `count` vectors of `dim` floats.
pub fn data_bytes(names_len: usize, count: usize, dim: usize) -> usize {
    names_len.div_ceil(4) * 4 + count * dim * 4
}

/// Consecutive ranges of items, each fitting one request. `Err(i)` if item
/// `i` does not fit a request even alone (a long name with a vector of
/// nearly 4000 floats), so the caller must set it another way.
pub fn plan<N: AsRef<[u8]>>(names: &[N], dim: usize) -> Result<Vec<Range<usize>>, usize> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut names_len = 0;
    for (i, n) in names.iter().enumerate() {
        let len = n.as_ref().len() + 1;
        if data_bytes(names_len + len, i + 1 - start, dim) <= BULK_DATA {
            names_len += len;
            continue;
        }
        if i == start || data_bytes(len, 1, dim) > BULK_DATA {
            return Err(i);
        }
        out.push(start..i);
        start = i;
        names_len = len;
    }
    if start < names.len() {
        out.push(start..names.len());
    }
    Ok(out)
}

/// Whether a single item of a name of `name_len` bytes fits a request.
pub fn fits_alone(name_len: usize, dim: usize) -> bool {
    data_bytes(name_len + 1, 1, dim) <= BULK_DATA
}

/// A request for the items `names`/`rows` (as planned: they must fit).
/// `None` if they do not fit, or a row's length differs from `dim`.
pub fn fill<'a, N: AsRef<[u8]>>(
    names: &[N],
    rows: impl IntoIterator<Item = &'a [f32]>,
    dim: usize,
    flags: u32,
) -> Option<Box<Bulk>> {
    let mut req = Box::new(Bulk::new_request());
    req.flags = flags;
    req.dim = u32::try_from(dim).ok()?;
    req.count = u32::try_from(names.len()).ok()?;
    let mut pos = 0usize;
    for n in names {
        let n = n.as_ref();
        let dst = req.data.get_mut(pos..pos + n.len())?;
        dst.copy_from_slice(n);
        // The NUL terminator: the data area is zeroed already.
        pos += n.len() + 1;
    }
    req.names_len = u32::try_from(pos).ok()?;
    pos = pos.div_ceil(4) * 4;
    let mut count = 0;
    for r in rows {
        if r.len() != dim {
            return None;
        }
        for v in r {
            req.data
                .get_mut(pos..pos + 4)?
                .copy_from_slice(&v.to_le_bytes());
            pos += 4;
        }
        count += 1;
    }
    if count != names.len() {
        return None;
    }
    Some(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize, len: usize) -> Vec<Vec<u8>> {
        (0..n).map(|_| vec![b'a'; len]).collect()
    }

    #[test]
    fn glove_sized_chunks() {
        // 50 floats + a 4-byte name: 78 items per request, as VECTORS.md says.
        let ns = names(400, 4);
        let chunks = plan(&ns, 50).unwrap();
        assert_eq!(chunks[0], 0..78);
        assert_eq!(chunks.iter().map(|r| r.len()).sum::<usize>(), 400);
        for r in &chunks {
            let len: usize = ns[r.clone()].iter().map(|n| n.len() + 1).sum();
            assert!(data_bytes(len, r.len(), 50) <= BULK_DATA);
        }
        // Each chunk but the last is full: one more item would not fit.
        for w in chunks.windows(2) {
            let r = w[0].start..w[0].end + 1;
            let len: usize = ns[r.clone()].iter().map(|n| n.len() + 1).sum();
            assert!(data_bytes(len, r.len(), 50) > BULK_DATA);
        }
    }

    #[test]
    fn exact_fit_and_limits() {
        // 3999 floats + a 3-byte name ("abc\0") fill 16000 bytes exactly.
        assert_eq!(plan(&names(2, 3), 3999).unwrap(), vec![0..1, 1..2]);
        assert!(fits_alone(3, 3999));
        assert!(!fits_alone(4, 3999));
        assert_eq!(plan(&names(2, 4), 3999), Err(0));
        assert_eq!(plan(&names(1, 1), 4096), Err(0));
        assert_eq!(
            plan::<Vec<u8>>(&[], 10).unwrap(),
            Vec::<Range<usize>>::new()
        );
        let mut mixed = names(2, 3);
        mixed.push(vec![b'x'; 200]);
        assert_eq!(plan(&mixed, 3950), Err(2));
    }

    #[test]
    fn fill_lays_out_names_padding_vectors() {
        let ns = [b"ab".to_vec(), b"c".to_vec()];
        let rows = [[1.0f32, 2.0].as_slice(), [3.0f32, 4.0].as_slice()];
        let req = fill(&ns, rows, 2, vexfs_uapi::BULK_CREATE).unwrap();
        assert_eq!(
            (req.count, req.dim, req.names_len, req.flags),
            (2, 2, 5, vexfs_uapi::BULK_CREATE)
        );
        assert_eq!(&req.data[..8], b"ab\0c\0\0\0\0");
        let f: Vec<f32> = req.data[8..24]
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(f, vec![1.0, 2.0, 3.0, 4.0]);
        assert!(req.data[24..].iter().all(|&b| b == 0));
        assert_eq!(req.size as usize, std::mem::size_of::<Bulk>());
        // Wrong row length, wrong row count, too much data.
        assert!(fill(&ns, [[1.0f32].as_slice(), [2.0f32].as_slice()], 2, 0).is_none());
        assert!(fill(&ns, [[1.0f32, 2.0].as_slice()], 2, 0).is_none());
        let big = vec![0f32; 4000];
        assert!(fill(&ns, [big.as_slice(), big.as_slice()], 4000, 0).is_none());
    }
}
