//! Vector file formats (.npy, .fvecs, .ivecs, .bvecs) and synthetic data.
//!
//! All matrices are row-major `Vec<f32>` / `Vec<i32>` with an explicit row
//! count and dimension, the layout the indexes and the peer harness expect.

use anyhow::{bail, ensure, Context, Result};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// A dense row-major f32 matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, dim: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            rows * dim,
            "matrix data does not match its shape"
        );
        Self { rows, dim, data }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Rows `[start, end)` as a new matrix.
    pub fn slice_rows(&self, start: usize, end: usize) -> Matrix {
        Matrix::new(
            end - start,
            self.dim,
            self.data[start * self.dim..end * self.dim].to_vec(),
        )
    }

    /// Scale every row to unit length (zero rows stay zero), so cosine
    /// similarity becomes an inner product for every library alike.
    pub fn normalize_rows(&mut self) {
        let dim = self.dim;
        for row in self.data.chunks_exact_mut(dim) {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|x| *x /= norm);
            }
        }
    }
}

/// A dense row-major i32 matrix (ground-truth neighbour ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMatrix {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<i32>,
}

impl IdMatrix {
    pub fn row(&self, i: usize) -> &[i32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

// ---------------------------------------------------------------- .npy

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NpyType {
    F32,
    F64,
    I32,
    I64,
}

#[derive(Debug)]
struct NpyHeader {
    dtype: NpyType,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Find the value text following `'key':` in the header dictionary.
fn npy_dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let pat_single = format!("'{key}'");
    let pat_double = format!("\"{key}\"");
    let pos = header
        .find(&pat_single)
        .map(|p| p + pat_single.len())
        .or_else(|| header.find(&pat_double).map(|p| p + pat_double.len()))
        .with_context(|| format!("npy header has no '{key}' entry: {header}"))?;
    let rest = header[pos..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .with_context(|| format!("npy header: no ':' after '{key}'"))?;
    Ok(rest.trim_start())
}

fn parse_npy_header(text: &str) -> Result<NpyHeader> {
    let descr = npy_dict_value(text, "descr")?;
    let quote = descr.chars().next().context("npy header: empty descr")?;
    ensure!(
        quote == '\'' || quote == '"',
        "npy header: descr is not a string"
    );
    let end = descr[1..]
        .find(quote)
        .context("npy header: unterminated descr")?
        + 1;
    let descr = &descr[1..end];
    let dtype = match descr {
        "<f4" | "=f4" | "f4" => NpyType::F32,
        "<f8" | "=f8" | "f8" => NpyType::F64,
        "<i4" | "=i4" | "i4" => NpyType::I32,
        "<i8" | "=i8" | "i8" => NpyType::I64,
        other => bail!("unsupported npy dtype {other:?} (need little-endian f4, f8, i4 or i8)"),
    };
    let fo = npy_dict_value(text, "fortran_order")?;
    let fortran_order = if fo.starts_with("True") {
        true
    } else if fo.starts_with("False") {
        false
    } else {
        bail!("npy header: fortran_order is neither True nor False");
    };
    let shape = npy_dict_value(text, "shape")?;
    let shape = shape
        .strip_prefix('(')
        .context("npy header: shape is not a tuple")?;
    let close = shape.find(')').context("npy header: unterminated shape")?;
    let shape = shape[..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .with_context(|| format!("npy header: bad dimension {s:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(NpyHeader {
        dtype,
        fortran_order,
        shape,
    })
}

/// Read the header and return it with the raw payload.
fn read_npy_raw(path: &Path) -> Result<(NpyHeader, Vec<u8>)> {
    let mut bytes = Vec::new();
    File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == b"\x93NUMPY",
        "{} is not an .npy file",
        path.display()
    );
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(
                bytes.len() >= 12,
                "{}: truncated npy header",
                path.display()
            );
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!("{}: unsupported npy format version {v}", path.display()),
    };
    ensure!(
        bytes.len() >= header_start + header_len,
        "{}: truncated npy header",
        path.display()
    );
    let text = std::str::from_utf8(&bytes[header_start..header_start + header_len])
        .with_context(|| format!("{}: npy header is not text", path.display()))?;
    let header = parse_npy_header(text).with_context(|| format!("{}", path.display()))?;
    let payload = bytes.split_off(header_start + header_len);
    Ok((header, payload))
}

fn shape2(h: &NpyHeader, path: &Path) -> Result<(usize, usize)> {
    match h.shape.as_slice() {
        [r, c] => Ok((*r, *c)),
        [r] => Ok((*r, 1)),
        s => bail!("{}: expected a 2-d array, shape is {s:?}", path.display()),
    }
}

/// Reorder a column-major (Fortran) payload into row-major.
fn to_row_major<T: Copy + Default>(v: Vec<T>, rows: usize, cols: usize, fortran: bool) -> Vec<T> {
    if !fortran || cols == 1 || rows == 1 {
        return v;
    }
    let mut out = vec![T::default(); v.len()];
    for c in 0..cols {
        let col = &v[c * rows..(c + 1) * rows];
        for (r, x) in col.iter().enumerate() {
            out[r * cols + c] = *x;
        }
    }
    out
}

/// Read a 2-d float .npy (f4, or f8 converted) into a row-major matrix.
pub fn read_npy_f32(path: &Path) -> Result<Matrix> {
    let (h, payload) = read_npy_raw(path)?;
    let (rows, cols) = shape2(&h, path)?;
    let count = rows * cols;
    let data: Vec<f32> = match h.dtype {
        NpyType::F32 => {
            ensure!(
                payload.len() >= count * 4,
                "{}: payload shorter than its shape",
                path.display()
            );
            payload[..count * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        NpyType::F64 => {
            ensure!(
                payload.len() >= count * 8,
                "{}: payload shorter than its shape",
                path.display()
            );
            payload[..count * 8]
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect()
        }
        t => bail!("{}: expected a float array, found {t:?}", path.display()),
    };
    Ok(Matrix::new(
        rows,
        cols,
        to_row_major(data, rows, cols, h.fortran_order),
    ))
}

/// Read a 2-d integer .npy (i4 or i8) into a row-major id matrix.
pub fn read_npy_i32(path: &Path) -> Result<IdMatrix> {
    let (h, payload) = read_npy_raw(path)?;
    let (rows, cols) = shape2(&h, path)?;
    let count = rows * cols;
    let data: Vec<i32> = match h.dtype {
        NpyType::I32 => {
            ensure!(
                payload.len() >= count * 4,
                "{}: payload shorter than its shape",
                path.display()
            );
            payload[..count * 4]
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        NpyType::I64 => {
            ensure!(
                payload.len() >= count * 8,
                "{}: payload shorter than its shape",
                path.display()
            );
            payload[..count * 8]
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as i32)
                .collect()
        }
        t => bail!("{}: expected an integer array, found {t:?}", path.display()),
    };
    Ok(IdMatrix {
        rows,
        dim: cols,
        data: to_row_major(data, rows, cols, h.fortran_order),
    })
}

fn write_npy_raw(path: &Path, descr: &str, rows: usize, cols: usize, payload: &[u8]) -> Result<()> {
    let dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Version 1.0: magic (6) + version (2) + u16 length (2) + header, padded
    // with spaces and a final newline to a multiple of 64 bytes.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    ensure!(header.len() <= u16::MAX as usize, "npy header too long");
    let mut w = BufWriter::new(
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    w.write_all(payload)?;
    w.flush()?;
    Ok(())
}

pub fn write_npy_f32(path: &Path, m: &Matrix) -> Result<()> {
    let payload: Vec<u8> = m.data.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy_raw(path, "<f4", m.rows, m.dim, &payload)
}

pub fn write_npy_i32(path: &Path, m: &IdMatrix) -> Result<()> {
    let payload: Vec<u8> = m.data.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy_raw(path, "<i4", m.rows, m.dim, &payload)
}

// ------------------------------------------------- .fvecs/.ivecs/.bvecs

/// Read TEXMEX-style vectors: each row is a little-endian i32 dimension
/// followed by `dim` components of `elem` bytes each.
fn read_vecs<T>(
    path: &Path,
    elem: usize,
    conv: impl Fn(&[u8]) -> T,
) -> Result<(usize, usize, Vec<T>)> {
    let mut bytes = Vec::new();
    BufReader::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        .read_to_end(&mut bytes)?;
    if bytes.is_empty() {
        return Ok((0, 0, Vec::new()));
    }
    ensure!(bytes.len() >= 4, "{}: truncated", path.display());
    let dim = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    ensure!(dim > 0, "{}: non-positive dimension {dim}", path.display());
    let dim = dim as usize;
    let row_bytes = 4 + dim * elem;
    ensure!(
        bytes.len().is_multiple_of(row_bytes),
        "{}: size {} is not a multiple of the row size {row_bytes}",
        path.display(),
        bytes.len()
    );
    let rows = bytes.len() / row_bytes;
    let mut out = Vec::with_capacity(rows * dim);
    for (r, row) in bytes.chunks_exact(row_bytes).enumerate() {
        let d = i32::from_le_bytes([row[0], row[1], row[2], row[3]]);
        ensure!(
            d as usize == dim,
            "{}: row {r} has dimension {d}, expected {dim}",
            path.display()
        );
        out.extend(row[4..].chunks_exact(elem).map(&conv));
    }
    Ok((rows, dim, out))
}

pub fn read_fvecs(path: &Path) -> Result<Matrix> {
    let (rows, dim, data) = read_vecs(path, 4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
    Ok(Matrix { rows, dim, data })
}

pub fn read_bvecs(path: &Path) -> Result<Matrix> {
    let (rows, dim, data) = read_vecs(path, 1, |b| b[0] as f32)?;
    Ok(Matrix { rows, dim, data })
}

pub fn read_ivecs(path: &Path) -> Result<IdMatrix> {
    let (rows, dim, data) = read_vecs(path, 4, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
    Ok(IdMatrix { rows, dim, data })
}

fn write_vecs<T: Copy>(
    path: &Path,
    dim: usize,
    data: &[T],
    enc: impl Fn(T) -> [u8; 4],
) -> Result<()> {
    let mut w = BufWriter::new(
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    if dim > 0 {
        for row in data.chunks_exact(dim) {
            w.write_all(&(dim as i32).to_le_bytes())?;
            for x in row {
                w.write_all(&enc(*x))?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

pub fn write_fvecs(path: &Path, m: &Matrix) -> Result<()> {
    write_vecs(path, m.dim, &m.data, f32::to_le_bytes)
}

pub fn write_ivecs(path: &Path, m: &IdMatrix) -> Result<()> {
    write_vecs(path, m.dim, &m.data, i32::to_le_bytes)
}

/// Read any supported float matrix by extension.
pub fn read_matrix(path: &Path) -> Result<Matrix> {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "npy" => read_npy_f32(path),
        "fvecs" => read_fvecs(path),
        "bvecs" => read_bvecs(path),
        other => bail!(
            "{}: unknown vector file type {other:?} (use .npy, .fvecs or .bvecs)",
            path.display()
        ),
    }
}

/// Read a ground-truth id matrix by extension.
pub fn read_ids(path: &Path) -> Result<IdMatrix> {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "npy" => read_npy_i32(path),
        "ivecs" => read_ivecs(path),
        other => bail!(
            "{}: unknown ground-truth file type {other:?} (use .ivecs or .npy)",
            path.display()
        ),
    }
}

// ------------------------------------------------------------ synthetic

/// SplitMix64: tiny, fast and good enough to drive Gaussian sampling; a
/// local generator keeps the data bit-identical across dependency updates.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Standard normal via Box-Muller (one value per call, simple and exact).
    pub fn gauss(&mut self) -> f32 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}

/// Parameters of the clustered Gaussian mixture.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    pub n: usize,
    pub dim: usize,
    pub queries: usize,
    pub seed: u64,
}

/// A mixture of low-rank Gaussian clusters: `x = c + A z + e` with a
/// per-cluster basis `A` (dim x r), latent `z ~ N(0, I_r)` and small
/// isotropic noise `e`. The low intrinsic dimension is what makes real
/// embeddings searchable; isotropic noise in 128-d would make every
/// neighbour nearly equidistant and ANN meaningless.
pub struct Mixture {
    dim: usize,
    rank: usize,
    centers: Vec<f32>,
    bases: Vec<f32>,
    noise: f32,
}

impl Mixture {
    pub fn new(n: usize, dim: usize, seed: u64) -> Self {
        let clusters = (n / 1000).clamp(8, 1024);
        let rank = (dim / 4).clamp(2, 16);
        let mut rng = Rng::new(seed);
        let centers: Vec<f32> = (0..clusters * dim).map(|_| rng.gauss()).collect();
        // Basis scale chosen so a cluster's spread is comparable to the
        // distance between centres: clusters overlap, like real data.
        let scale = 1.2 / (rank as f32).sqrt();
        let bases: Vec<f32> = (0..clusters * dim * rank)
            .map(|_| rng.gauss() * scale)
            .collect();
        Self {
            dim,
            rank,
            centers,
            bases,
            noise: 0.05,
        }
    }

    fn clusters(&self) -> usize {
        self.centers.len() / self.dim
    }

    fn sample_into(&self, rng: &mut Rng, out: &mut [f32]) {
        let c = rng.below(self.clusters());
        let z: Vec<f32> = (0..self.rank).map(|_| rng.gauss()).collect();
        let center = &self.centers[c * self.dim..(c + 1) * self.dim];
        let basis = &self.bases[c * self.dim * self.rank..(c + 1) * self.dim * self.rank];
        for (j, o) in out.iter_mut().enumerate() {
            let b = &basis[j * self.rank..(j + 1) * self.rank];
            let proj: f32 = b.iter().zip(&z).map(|(a, b)| a * b).sum();
            *o = center[j] + proj + rng.gauss() * self.noise;
        }
    }

    /// `rows` samples from stream `stream`. Rows are generated in fixed
    /// chunks each seeded from (stream, chunk), in parallel, so the output
    /// does not depend on the thread count.
    pub fn sample(&self, rows: usize, seed: u64, stream: u64, threads: usize) -> Matrix {
        const CHUNK: usize = 4096;
        let dim = self.dim;
        let mut data = vec![0f32; rows * dim];
        let chunks: Vec<(usize, &mut [f32])> = data.chunks_mut(CHUNK * dim).enumerate().collect();
        let per = chunks.len().div_ceil(threads.max(1)).max(1);
        let mut groups: Vec<Vec<(usize, &mut [f32])>> = Vec::new();
        let mut it = chunks.into_iter().peekable();
        while it.peek().is_some() {
            groups.push(it.by_ref().take(per).collect());
        }
        std::thread::scope(|s| {
            for group in groups {
                s.spawn(move || {
                    for (ci, chunk) in group {
                        let mut rng = Rng::new(
                            seed ^ (stream << 48) ^ (ci as u64).wrapping_mul(0xA24B_AED4_963E_E407),
                        );
                        for row in chunk.chunks_exact_mut(dim) {
                            self.sample_into(&mut rng, row);
                        }
                    }
                });
            }
        });
        Matrix::new(rows, dim, data)
    }
}

/// Base set and queries from the same mixture, from disjoint streams, so no
/// query is (except by chance) in the base set.
pub fn synthetic(spec: SyntheticSpec, threads: usize) -> (Matrix, Matrix) {
    let mix = Mixture::new(spec.n, spec.dim, spec.seed);
    let base = mix.sample(spec.n, spec.seed, 1, threads);
    let queries = mix.sample(spec.queries, spec.seed, 2, threads);
    (base, queries)
}

/// Split `queries` rows off the end of `all` (held-out queries).
pub fn hold_out_tail(all: Matrix, queries: usize) -> Result<(Matrix, Matrix)> {
    ensure!(
        queries < all.rows,
        "cannot hold out {queries} queries from {} rows",
        all.rows
    );
    let split = all.rows - queries;
    let q = all.slice_rows(split, all.rows);
    let mut base = all;
    base.data.truncate(split * base.dim);
    base.rows = split;
    Ok((base, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vexfs-anns-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn sample() -> Matrix {
        Matrix::new(3, 4, (0..12).map(|i| i as f32 * 0.5 - 1.0).collect())
    }

    #[test]
    fn npy_round_trip_f32_and_i32() {
        let p = tmp("m.npy");
        let m = sample();
        write_npy_f32(&p, &m).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        // Data starts on a 64-byte boundary as numpy requires.
        assert_eq!((bytes.len() - 48) % 64, 0);
        assert_eq!(read_npy_f32(&p).unwrap(), m);
        let ids = IdMatrix {
            rows: 2,
            dim: 3,
            data: vec![1, -2, 3, 4, 5, 6],
        };
        let p = tmp("i.npy");
        write_npy_i32(&p, &ids).unwrap();
        assert_eq!(read_npy_i32(&p).unwrap(), ids);
    }

    #[test]
    fn npy_fortran_order_and_f64() {
        // A 2x3 array [[1,2,3],[4,5,6]] stored column-major as f8.
        let dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
        let mut header = dict.to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for x in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
            bytes.extend(x.to_le_bytes());
        }
        let p = tmp("f.npy");
        std::fs::write(&p, bytes).unwrap();
        let m = read_npy_f32(&p).unwrap();
        assert_eq!((m.rows, m.dim), (2, 3));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn npy_rejects_bad_input() {
        let p = tmp("bad.npy");
        std::fs::write(&p, b"not numpy at all").unwrap();
        assert!(read_npy_f32(&p).is_err());
        assert!(
            parse_npy_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }")
                .is_err()
        );
        let h =
            parse_npy_header("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (7,), }")
                .unwrap();
        assert_eq!(h.shape, vec![7]);
    }

    #[test]
    fn vecs_round_trip() {
        let m = sample();
        let p = tmp("m.fvecs");
        write_fvecs(&p, &m).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 3 * (4 + 16));
        assert_eq!(read_fvecs(&p).unwrap(), m);
        assert_eq!(read_matrix(&p).unwrap(), m);
        let ids = IdMatrix {
            rows: 2,
            dim: 2,
            data: vec![7, 8, 9, 10],
        };
        let p = tmp("g.ivecs");
        write_ivecs(&p, &ids).unwrap();
        assert_eq!(read_ivecs(&p).unwrap(), ids);
        // bvecs: dimension 2, rows [1, 2] and [255, 0].
        let p = tmp("b.bvecs");
        std::fs::write(&p, [2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 255, 0]).unwrap();
        let b = read_bvecs(&p).unwrap();
        assert_eq!(b.data, vec![1.0, 2.0, 255.0, 0.0]);
        // A truncated file is an error, not a silent short read.
        std::fs::write(&p, [2, 0, 0, 0, 1]).unwrap();
        assert!(read_bvecs(&p).is_err());
    }

    #[test]
    fn synthetic_is_deterministic_across_threads() {
        let spec = SyntheticSpec {
            n: 5000,
            dim: 8,
            queries: 10,
            seed: 7,
        };
        let (a, qa) = synthetic(spec, 1);
        let (b, qb) = synthetic(spec, 3);
        assert_eq!(a, b);
        assert_eq!(qa, qb);
        assert_ne!(qa.row(0), a.row(0));
    }

    #[test]
    fn hold_out_splits_the_tail() {
        let (b, q) = hold_out_tail(sample(), 1).unwrap();
        assert_eq!((b.rows, q.rows), (2, 1));
        assert_eq!(q.row(0), sample().row(2));
    }
}
