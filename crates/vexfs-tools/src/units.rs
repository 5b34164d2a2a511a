//! Sizes ("256M", "1G") and UUIDs as typed on the command line.

use crate::ToolError;
use std::io::Read;

/// Parse a size with an optional binary suffix (K, M, G, T, P; an optional
/// trailing "B" or "iB" is accepted). Returns `(value, had_suffix)` so a
/// caller can read a bare number as a block count, as mke2fs does.
pub fn parse_size(s: &str) -> Result<(u64, bool), ToolError> {
    let bad = || ToolError::BadSize(s.to_string());
    let t = s.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (num, shift) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                _ => return Err(bad()),
            };
            (&t[..t.len() - 1], Some(shift))
        }
        _ => (t, None),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    match shift {
        Some(sh) => Ok((n.checked_mul(1u64 << sh).ok_or_else(bad)?, true)),
        None => Ok((n, false)),
    }
}

/// 16 random bytes from the kernel.
pub fn random_bytes() -> std::io::Result<[u8; 16]> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// A version-4 (random) UUID.
pub fn uuid_random() -> std::io::Result<[u8; 16]> {
    let mut b = random_bytes()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(b)
}

/// A version-7 (time-ordered) UUID: milliseconds since the epoch, then
/// random bits.
pub fn uuid_time() -> std::io::Result<[u8; 16]> {
    let mut b = random_bytes()?;
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(b)
}

/// Parse `-U`: random, time, clear, or a UUID in the usual text form.
pub fn parse_uuid(s: &str) -> Result<[u8; 16], ToolError> {
    let bad = || ToolError::BadUuid(s.to_string());
    match s {
        "random" => return uuid_random().map_err(|_| bad()),
        "time" => return uuid_time().map_err(|_| bad()),
        "clear" | "null" => return Ok([0; 16]),
        _ => {}
    }
    let hex: String = s.chars().filter(|&c| c != '-').collect();
    let dashes_ok = s.len() == 32 || (s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| s.as_bytes().get(i) == Some(&b'-')));
    if hex.len() != 32 || !dashes_ok {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The usual 8-4-4-4-12 text form.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", h[..4].concat(), h[4..6].concat(), h[6..8].concat(), h[8..10].concat(), h[10..].concat())
}

/// "4k", "1M" style rendering of a power-of-two byte count.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["", "k", "M", "G", "T", "P"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024 && v.is_multiple_of(1024) && u + 1 < UNITS.len() {
        v /= 1024;
        u += 1;
    }
    format!("{v}{}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256M").unwrap(), (256 << 20, true));
        assert_eq!(parse_size("1G").unwrap(), (1 << 30, true));
        assert_eq!(parse_size("1GiB").unwrap(), (1 << 30, true));
        assert_eq!(parse_size("4k").unwrap(), (4096, true));
        assert_eq!(parse_size("1000").unwrap(), (1000, false));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn uuids() {
        let u = parse_uuid("0123456789abcdef0123456789ABCDEF").unwrap();
        assert_eq!(format_uuid(&u), "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(parse_uuid(&format_uuid(&u)).unwrap(), u);
        assert!(parse_uuid("0123").is_err());
        assert!(parse_uuid("0123456789abcdef0123456789abcdeg").is_err());
        let r = parse_uuid("random").unwrap();
        assert_eq!(r[6] >> 4, 4);
        assert_eq!(parse_uuid("time").unwrap()[6] >> 4, 7);
        assert_eq!(human_bytes(4096), "4k");
    }
}
