//! Mapping the rows of an import to file names: from a names file (one
//! name a line) or generated from the row number.
//!
//! Bulk requests name files by single path components relative to the
//! directory, so every name is checked here before anything is sent.

use std::collections::HashMap;

/// Longest file name (bytes) VexFS accepts.
pub const NAME_MAX: usize = 255;

/// Why a name cannot name a file in the directory, if it cannot.
pub fn invalid_reason(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == b"." || name == b".." {
        Some("is '.' or '..'")
    } else if name.contains(&b'/') {
        Some("contains '/' (names are single components)")
    } else if name.contains(&0) {
        Some("contains a NUL byte")
    } else if name.len() > NAME_MAX {
        Some("is longer than 255 bytes")
    } else {
        None
    }
}

/// A name for messages.
pub fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// The names `<prefix>0`, `<prefix>1`, ... for `rows` rows.
pub fn row_names(prefix: &str, rows: usize) -> Result<Vec<Vec<u8>>, String> {
    let names: Vec<Vec<u8>> = (0..rows)
        .map(|r| format!("{prefix}{r}").into_bytes())
        .collect();
    if let Some(n) = names.last() {
        if let Some(why) = invalid_reason(n) {
            return Err(format!(
                "prefix '{prefix}' gives names like '{}' that {why}",
                show(n)
            ));
        }
    }
    if let Some(n) = names.first() {
        if let Some(why) = invalid_reason(n) {
            return Err(format!(
                "prefix '{prefix}' gives names like '{}' that {why}",
                show(n)
            ));
        }
    }
    Ok(names)
}

/// Names read from a names file, with the rows they name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// `(row, name)` in row order.
    pub items: Vec<(usize, Vec<u8>)>,
    /// Rows left out because their name was invalid or repeated (only
    /// with `skip_invalid`): `(row, name, reason)`.
    pub skipped: Vec<(usize, Vec<u8>, String)>,
}

/// Parse a names file for `rows` rows: one name a line (a final newline
/// and `\r` before newlines are ignored). The line count must equal the
/// row count. Invalid or repeated names are errors, or skipped (and
/// listed) with `skip_invalid`.
pub fn parse_names(text: &[u8], rows: usize, skip_invalid: bool) -> Result<Mapping, String> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let lines: Vec<&[u8]> = if text.is_empty() {
        Vec::new()
    } else {
        body.split(|&b| b == b'\n').collect()
    };
    if lines.len() != rows {
        return Err(format!(
            "has {} names for {rows} vectors (one name a line, one line a row)",
            lines.len()
        ));
    }
    let mut seen: HashMap<&[u8], usize> = HashMap::with_capacity(lines.len());
    let mut items = Vec::with_capacity(lines.len());
    let mut skipped = Vec::new();
    for (row, line) in lines.into_iter().enumerate() {
        let name = line.strip_suffix(b"\r").unwrap_or(line);
        let problem = match invalid_reason(name) {
            Some(why) => Some(format!("name '{}' {why}", show(name))),
            None => seen
                .get(name)
                .map(|first| format!("name '{}' repeats line {}", show(name), first + 1)),
        };
        match problem {
            Some(p) if skip_invalid => skipped.push((row, name.to_vec(), p)),
            Some(p) => return Err(format!("line {}: {p}", row + 1)),
            None => {
                seen.insert(name, row);
                items.push((row, name.to_vec()));
            }
        }
    }
    Ok(Mapping { items, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(invalid_reason(b"king").is_none());
        assert!(invalid_reason(b"with space").is_none());
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b", &[b'x'; 256]] {
            assert!(invalid_reason(bad).is_some(), "{bad:?}");
        }
        assert!(invalid_reason(&[b'x'; 255]).is_none());
    }

    #[test]
    fn generated_names() {
        assert_eq!(
            row_names("row-", 3).unwrap(),
            vec![b"row-0".to_vec(), b"row-1".to_vec(), b"row-2".to_vec()]
        );
        assert_eq!(
            row_names("", 2).unwrap(),
            vec![b"0".to_vec(), b"1".to_vec()]
        );
        assert!(row_names("a/", 2).unwrap_err().contains("'/'"));
        assert!(row_names(".", 1).is_ok(), "'.0' is a fine name");
    }

    #[test]
    fn names_file() {
        let m = parse_names(b"king\r\nqueen\nprince\n", 3, false).unwrap();
        assert_eq!(
            m.items,
            vec![
                (0, b"king".to_vec()),
                (1, b"queen".to_vec()),
                (2, b"prince".to_vec())
            ]
        );
        assert!(parse_names(b"a\nb", 2, false).is_ok(), "no final newline");
        assert!(parse_names(b"a\nb\n", 3, false)
            .unwrap_err()
            .contains("2 names for 3"));
        assert!(parse_names(b"", 1, false).unwrap_err().contains("0 names"));
        assert_eq!(parse_names(b"", 0, false).unwrap().items.len(), 0);
        let e = parse_names(b"a\n.\nb\n", 3, false).unwrap_err();
        assert!(e.starts_with("line 2: name '.'"), "{e}");
        let e = parse_names(b"a\nb\na\n", 3, false).unwrap_err();
        assert!(e.contains("repeats line 1"), "{e}");
    }

    #[test]
    fn names_file_skipping() {
        let m = parse_names(b"a\n1/2\na\n\nb\n", 5, true).unwrap();
        assert_eq!(m.items, vec![(0, b"a".to_vec()), (4, b"b".to_vec())]);
        let rows: Vec<usize> = m.skipped.iter().map(|s| s.0).collect();
        assert_eq!(rows, vec![1, 2, 3]);
    }
}
