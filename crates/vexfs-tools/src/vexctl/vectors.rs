//! Vector files: reading `.npy` (float32 or float64, 1-D or 2-D), `.fvecs`
//! and text, writing them back, and the embedding attribute's raw
//! little-endian float32 encoding.
//!
//! Readers return messages without the file name; callers prefix it.

use std::io::{Read, Write};
use std::path::Path;

/// Rows of equal dimension, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    /// A matrix from one vector.
    pub fn single(v: Vec<f32>) -> Matrix {
        Matrix {
            rows: 1,
            dim: v.len(),
            data: v,
        }
    }

    /// Row `i`, if it exists.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.dim)?;
        self.data.get(start..start.checked_add(self.dim)?)
    }

    /// Every row in order.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f32]> {
        // `dim` is never 0 for a matrix with rows (readers refuse it); the
        // max keeps chunks_exact from panicking on an empty matrix.
        self.data.chunks_exact(self.dim.max(1))
    }

    /// The matrix restricted to the rows `keep` (in that order).
    pub fn select(&self, keep: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(keep.len() * self.dim);
        for &i in keep {
            if let Some(r) = self.row(i) {
                data.extend_from_slice(r);
            }
        }
        Matrix {
            rows: data.len() / self.dim.max(1),
            dim: self.dim,
            data,
        }
    }
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Npy,
    Fvecs,
    Text,
}

impl Format {
    /// By extension first (`.npy`, `.fvecs`, `.txt`/`.csv`/`.tsv`), else
    /// by content (the `.npy` magic; text otherwise).
    pub fn detect(path: &Path, head: &[u8]) -> Format {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("npy") => Format::Npy,
            Some("fvecs") => Format::Fvecs,
            Some("txt" | "csv" | "tsv") => Format::Text,
            _ if head.starts_with(b"\x93NUMPY") => Format::Npy,
            _ => Format::Text,
        }
    }
}

/// Largest dimension VexFS accepts.
pub const MAX_DIM: usize = vexfs_uapi::MAX_DIM;

/// The dimension must be 1..=4096.
pub fn check_dim(dim: usize) -> Result<(), String> {
    if dim == 0 {
        return Err("vectors have 0 dimensions".into());
    }
    if dim > MAX_DIM {
        return Err(format!(
            "vectors have {dim} dimensions, VexFS accepts at most {MAX_DIM}"
        ));
    }
    Ok(())
}

/// Every value must be finite (the filesystem refuses NaN and infinity).
pub fn check_finite(m: &Matrix) -> Result<(), String> {
    match m.data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let (r, c) = (i / m.dim.max(1), i % m.dim.max(1));
            let v = m.data.get(i).copied().unwrap_or(f32::NAN);
            if m.rows == 1 {
                Err(format!("value {c} is {v} (values must be finite)"))
            } else {
                Err(format!(
                    "row {r}, column {c} is {v} (values must be finite)"
                ))
            }
        }
    }
}

/// Read a vector file of any supported format, checked: at least one
/// row, a dimension VexFS accepts, all values finite.
pub fn read_file(path: &Path) -> Result<Matrix, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| super::error::describe_io(&e))?;
    let m = match Format::detect(path, &bytes) {
        Format::Npy => parse_npy(&bytes)?,
        Format::Fvecs => parse_fvecs(&bytes)?,
        Format::Text => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| "not a .npy, .fvecs or UTF-8 text file".to_string())?;
            parse_text(text)?
        }
    };
    check(&m)?;
    Ok(m)
}

/// The checks every input passes before anything is sent.
pub fn check(m: &Matrix) -> Result<(), String> {
    if m.rows == 0 {
        return Err("holds no vectors".into());
    }
    check_dim(m.dim)?;
    check_finite(m)
}

/// `.npy`: float32 or float64 (either byte order), shape `(n,)` (one
/// vector) or `(rows, dim)`, C or Fortran order.
pub fn parse_npy(bytes: &[u8]) -> Result<Matrix, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a valid .npy file: {e}"))?;
    let shape = npy.shape().to_vec();
    let (rows, dim) = match shape.as_slice() {
        [n] => (1, *n),
        [r, d] => (*r, *d),
        _ => {
            return Err(format!(
                "array has shape {shape:?}; expected (dim,) or (rows, dim)"
            ))
        }
    };
    let rows = usize::try_from(rows).map_err(|_| "array is too large".to_string())?;
    let dim = usize::try_from(dim).map_err(|_| "array is too large".to_string())?;
    let fortran = matches!(npy.order(), npyz::Order::Fortran) && shape.len() == 2;
    let size = match npy.dtype() {
        npyz::DType::Plain(ts) if ts.type_char() == npyz::TypeChar::Float => ts.size_field(),
        other => {
            return Err(format!(
                "array has dtype {}; expected float32 or float64",
                other.descr()
            ))
        }
    };
    // A header may claim any shape: refuse one the file cannot hold before
    // the reader allocates for it.
    let need = (rows as u128) * (dim as u128) * u128::from(size);
    if need > bytes.len() as u128 {
        return Err(format!(
            "array of shape {shape:?} needs {need} bytes of data, the file has {}",
            bytes.len()
        ));
    }
    let data: Vec<f32> = match size {
        4 => npy
            .into_vec::<f32>()
            .map_err(|e| format!("reading float32 data: {e}"))?,
        8 => {
            let wide = npy
                .into_vec::<f64>()
                .map_err(|e| format!("reading float64 data: {e}"))?;
            narrow(&wide, dim)?
        }
        _ => {
            return Err(format!(
                "array has {}-byte floats; expected float32 or float64",
                size
            ))
        }
    };
    if data.len() != rows.saturating_mul(dim) {
        return Err(format!(
            "array data holds {} values, its shape says {}",
            data.len(),
            rows.saturating_mul(dim)
        ));
    }
    let data = if fortran {
        transpose(&data, rows, dim)
    } else {
        data
    };
    Ok(Matrix { rows, dim, data })
}

/// float64 to float32, refusing values float32 cannot hold.
fn narrow(wide: &[f64], dim: usize) -> Result<Vec<f32>, String> {
    let mut out = Vec::with_capacity(wide.len());
    for (i, &v) in wide.iter().enumerate() {
        if v.is_finite() && v.abs() > f64::from(f32::MAX) {
            return Err(format!(
                "row {}, column {} is {v}, beyond float32's range",
                i / dim.max(1),
                i % dim.max(1)
            ));
        }
        out.push(v as f32);
    }
    Ok(out)
}

/// Column-major `(rows, dim)` data to row-major.
fn transpose(data: &[f32], rows: usize, dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; data.len()];
    for (i, &v) in data.iter().enumerate() {
        // Fortran order: element (r, c) is at c * rows + r.
        let (c, r) = (i / rows.max(1), i % rows.max(1));
        if let Some(o) = out.get_mut(r * dim + c) {
            *o = v;
        }
    }
    out
}

/// `.fvecs`: records of a little-endian int32 dimension, then that many
/// float32 values; every record the same dimension.
pub fn parse_fvecs(bytes: &[u8]) -> Result<Matrix, String> {
    let mut data = Vec::new();
    let mut dim = None;
    let mut rows = 0usize;
    let mut rest = bytes;
    while !rest.is_empty() {
        let (head, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| format!("record {rows} is truncated (no dimension)"))?;
        let d = i32::from_le_bytes(*head);
        let d = usize::try_from(d)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| format!("record {rows} has dimension {d}"))?;
        if d > MAX_DIM {
            return Err(format!("record {rows} has dimension {d}, VexFS accepts at most {MAX_DIM} (is this an .fvecs file?)"));
        }
        match dim {
            None => dim = Some(d),
            Some(first) if first != d => {
                return Err(format!(
                    "record {rows} has dimension {d}, the first had {first}"
                ))
            }
            Some(_) => {}
        }
        let body = tail.get(..d * 4).ok_or_else(|| {
            format!(
                "record {rows} is truncated ({} of {} bytes)",
                tail.len(),
                d * 4
            )
        })?;
        // chunks_exact(4) yields 4-byte chunks only.
        data.extend(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        rest = tail.get(d * 4..).unwrap_or(&[]);
        rows += 1;
    }
    Ok(Matrix {
        rows,
        dim: dim.unwrap_or(0),
        data,
    })
}

/// Text: one vector per line, values separated by commas and/or white
/// space; blank lines and lines starting with `#` are skipped.
pub fn parse_text(text: &str) -> Result<Matrix, String> {
    let mut data = Vec::new();
    let mut dim = None;
    let mut rows = 0usize;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let row = parse_values(line).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        match dim {
            None => dim = Some(row.len()),
            Some(d) if d != row.len() => {
                return Err(format!(
                    "line {} has {} values, the first row had {d}",
                    lineno + 1,
                    row.len()
                ));
            }
            Some(_) => {}
        }
        data.extend(row);
        rows += 1;
    }
    Ok(Matrix {
        rows,
        dim: dim.unwrap_or(0),
        data,
    })
}

/// Values separated by commas and/or white space (`--values 0.1,0.2`).
pub fn parse_values(s: &str) -> Result<Vec<f32>, String> {
    let mut out = Vec::new();
    for (i, tok) in s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        let v: f32 = tok
            .parse()
            .map_err(|_| format!("value {i} ('{tok}') is not a number"))?;
        out.push(v);
    }
    if out.is_empty() {
        return Err("no values".into());
    }
    Ok(out)
}

/// The embedding attribute's value: little-endian float32s.
pub fn to_le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decode an embedding attribute's value.
pub fn from_le_bytes(b: &[u8]) -> Result<Vec<f32>, String> {
    if !b.len().is_multiple_of(4) {
        return Err(format!(
            "embedding attribute has {} bytes, not a whole number of float32s",
            b.len()
        ));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Write rows as `.npy` float32: shape `(dim,)` for one vector when
/// `one_d`, else `(rows, dim)`.
pub fn write_npy(w: &mut dyn Write, m: &Matrix, one_d: bool) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = if one_d {
        vec![m.dim as u64]
    } else {
        vec![m.rows as u64, m.dim as u64]
    };
    let mut out = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(w)
        .begin_nd()?;
    out.extend(m.data.iter().copied())?;
    out.finish()
}

/// Write rows as `.fvecs`.
pub fn write_fvecs(w: &mut dyn Write, m: &Matrix) -> std::io::Result<()> {
    let d = i32::try_from(m.dim).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    for r in m.iter_rows() {
        w.write_all(&d.to_le_bytes())?;
        w.write_all(&to_le_bytes(r))?;
    }
    Ok(())
}

/// One line of values separated by spaces, each printed so that it parses
/// back to the same float32.
pub fn format_text(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes(m: &Matrix, one_d: bool) -> Vec<u8> {
        let mut b = Vec::new();
        write_npy(&mut b, m, one_d).unwrap();
        b
    }

    #[test]
    fn npy_round_trip_2d_and_1d() {
        let m = Matrix {
            rows: 2,
            dim: 3,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5],
        };
        assert_eq!(parse_npy(&npy_bytes(&m, false)).unwrap(), m);
        let v = Matrix::single(vec![0.25, -1.0]);
        assert_eq!(parse_npy(&npy_bytes(&v, true)).unwrap(), v);
    }

    /// A hand-made .npy header, as numpy writes it.
    fn npy_raw(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(body);
        b
    }

    #[test]
    fn npy_float64_big_endian_and_fortran() {
        let body: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let m = parse_npy(&npy_raw("<f8", false, "(2, 2)", &body)).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        let body: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let m = parse_npy(&npy_raw(">f4", false, "(3, 2)", &body)).unwrap();
        assert_eq!((m.rows, m.dim), (3, 2));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // Column-major 2x3: columns (1,4) (2,5) (3,6).
        let body: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let m = parse_npy(&npy_raw("<f4", true, "(2, 3)", &body)).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn npy_refusals() {
        let body = [0u8; 16];
        assert!(parse_npy(&npy_raw("<i4", false, "(2, 2)", &body))
            .unwrap_err()
            .contains("dtype"));
        assert!(parse_npy(&npy_raw("<f4", false, "(1, 2, 2)", &body))
            .unwrap_err()
            .contains("shape"));
        assert!(
            parse_npy(&npy_raw("<f4", false, "(3, 2)", &body)).is_err(),
            "truncated data"
        );
        assert!(parse_npy(b"\x93NUMPY garbage").is_err());
        let e = parse_npy(&npy_raw("<f4", false, "(1000000000000, 1000)", &body)).unwrap_err();
        assert!(e.contains("needs"), "{e}");
        let huge: Vec<u8> = [1e300f64].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(parse_npy(&npy_raw("<f8", false, "(1,)", &huge))
            .unwrap_err()
            .contains("float32"));
    }

    #[test]
    fn fvecs_round_trip_and_refusals() {
        let m = Matrix {
            rows: 2,
            dim: 2,
            data: vec![1.0, 2.0, 3.0, 4.0],
        };
        let mut b = Vec::new();
        write_fvecs(&mut b, &m).unwrap();
        assert_eq!(parse_fvecs(&b).unwrap(), m);
        assert!(parse_fvecs(&b[..b.len() - 1])
            .unwrap_err()
            .contains("truncated"));
        let mut mixed = b.clone();
        mixed.extend(3i32.to_le_bytes());
        mixed.extend([0u8; 12]);
        assert!(parse_fvecs(&mixed).unwrap_err().contains("the first had 2"));
        assert!(parse_fvecs(&(-1i32).to_le_bytes()).is_err());
        assert!(parse_fvecs(&100000i32.to_le_bytes())
            .unwrap_err()
            .contains("at most"));
    }

    #[test]
    fn text_and_values() {
        let m = parse_text("# comment\n1, 2 3\n\n4,5,6\n").unwrap();
        assert_eq!((m.rows, m.dim), (2, 3));
        assert!(parse_text("1 2\n3\n").unwrap_err().contains("line 2"));
        assert_eq!(parse_values("0.1,0.2, 0.3").unwrap(), vec![0.1, 0.2, 0.3]);
        assert!(parse_values("0.1,x").unwrap_err().contains("'x'"));
        assert!(parse_values(" , ").is_err());
    }

    #[test]
    fn checks() {
        assert!(check(&Matrix::single(vec![1.0, f32::NAN]))
            .unwrap_err()
            .contains("value 1 is NaN"));
        let m = Matrix {
            rows: 2,
            dim: 2,
            data: vec![1.0, 2.0, f32::INFINITY, 0.0],
        };
        assert!(check(&m).unwrap_err().contains("row 1, column 0 is inf"));
        assert!(check(&Matrix::single(vec![0.0; 4097]))
            .unwrap_err()
            .contains("4096"));
        assert!(check(&Matrix {
            rows: 0,
            dim: 3,
            data: vec![]
        })
        .is_err());
        assert!(check(&Matrix::single(vec![1.0; 4096])).is_ok());
    }

    #[test]
    fn le_bytes_and_text() {
        let v = vec![0.1f32, -2.5, 1e-30];
        assert_eq!(from_le_bytes(&to_le_bytes(&v)).unwrap(), v);
        assert!(from_le_bytes(&[0, 0, 0]).is_err());
        assert_eq!(parse_values(&format_text(&v)).unwrap(), v);
    }

    #[test]
    fn detect_and_select() {
        assert_eq!(Format::detect(Path::new("a.NPY"), b""), Format::Npy);
        assert_eq!(Format::detect(Path::new("a"), b"\x93NUMPY"), Format::Npy);
        assert_eq!(Format::detect(Path::new("a.fvecs"), b""), Format::Fvecs);
        assert_eq!(
            Format::detect(Path::new("a.csv"), b"\x93NUMPY"),
            Format::Text
        );
        let m = Matrix {
            rows: 3,
            dim: 1,
            data: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(m.select(&[2, 0]).data, vec![3.0, 1.0]);
        assert_eq!(m.row(3), None);
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let valid = npy_bytes(
            &Matrix {
                rows: 3,
                dim: 4,
                data: vec![1.5; 12],
            },
            false,
        );
        for round in 0..3000 {
            let mut b = if round % 2 == 0 {
                valid.clone()
            } else {
                (0..(next() % 300) as usize).map(|_| next() as u8).collect()
            };
            for _ in 0..(next() % 4) {
                if !b.is_empty() {
                    let i = (next() as usize) % b.len();
                    b[i] = next() as u8;
                }
            }
            b.truncate((next() as usize) % (b.len() + 1));
            let _ = parse_npy(&b);
            let _ = parse_fvecs(&b);
            if let Ok(t) = std::str::from_utf8(&b) {
                let _ = parse_text(t);
            }
            let _ = crate::vexctl::names::parse_names(&b, 3, round % 3 == 0);
        }
    }
}
