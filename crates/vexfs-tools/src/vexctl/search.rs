//! Nearest-neighbour queries: building `vexfs_search`, staging long query
//! vectors, decoding hits and paging through `VEXFS_IOC_RESULTS`.
//!
//! The paging logic ([`collect`]) works over a page-fetching closure, so
//! it is tested here without a mount.

use std::io;
use vexfs_uapi::{self as uapi, Hit, Request, Results, Search, VectorChunk};

/// What to search for; validated by [`build`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub vector: Vec<f32>,
    pub k: u32,
    pub metric: u32,
    pub ef: u32,
    pub nprobe: u32,
    pub rerank: u32,
    /// `VEXFS_SEARCH_EXACT` / `NO_PATHS` (STAGED is set by [`build`]).
    pub flags: u32,
    pub subtree_ino: u64,
    pub name_glob: Option<Vec<u8>>,
    pub xattr: Option<(Vec<u8>, Vec<u8>)>,
}

/// One `--filter` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `subtree=REL/DIR`: a directory relative to the searched one.
    Subtree(String),
    /// `name=GLOB`.
    Name(String),
    /// `xattr=NAME=VALUE` (VALUE as text, or `0x` and hex digits).
    Xattr(String, Vec<u8>),
}

/// Parse `subtree=...`, `name=...` or `xattr=NAME=VALUE`.
pub fn parse_filter(s: &str) -> Result<Filter, String> {
    let (kind, rest) = s
        .split_once('=')
        .ok_or_else(|| format!("filter '{s}' is not subtree=DIR, name=GLOB or xattr=NAME=VALUE"))?;
    match kind {
        "subtree" if !rest.is_empty() => Ok(Filter::Subtree(rest.to_string())),
        "name" if !rest.is_empty() => Ok(Filter::Name(rest.to_string())),
        "xattr" => {
            let (name, value) = rest
                .split_once('=')
                .ok_or_else(|| format!("filter '{s}': use xattr=NAME=VALUE"))?;
            if name.is_empty() {
                return Err(format!("filter '{s}': the attribute name is empty"));
            }
            Ok(Filter::Xattr(name.to_string(), xattr_value(value)?))
        }
        "subtree" | "name" => Err(format!("filter '{s}' has an empty value")),
        _ => Err(format!(
            "unknown filter '{kind}' (use subtree=DIR, name=GLOB or xattr=NAME=VALUE)"
        )),
    }
}

/// An attribute value as typed: `0x` + hex digits is binary (as setfattr
/// prints it), anything else is the text's bytes.
fn xattr_value(v: &str) -> Result<Vec<u8>, String> {
    let Some(hex) = v.strip_prefix("0x") else {
        return Ok(v.as_bytes().to_vec());
    };
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "attribute value '{v}': 0x must be followed by pairs of hex digits"
        ));
    }
    (0..hex.len() / 2)
        .map(|i| {
            hex.get(2 * i..2 * i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("attribute value '{v}' is not hex"))
        })
        .collect()
}

/// A search request (boxed: ~14 KiB), and the chunks to stage first when
/// the vector is longer than the inline area.
pub struct Built {
    pub search: Box<Search>,
    pub stage: Vec<Box<VectorChunk>>,
}

/// Check a query and build its request.
/// The filter fields of a request (`vexfs_search` and
/// `vexfs_search_batch` both have them).
pub struct FilterFields<'a> {
    pub glob: &'a mut [u8],
    pub xattr_name: &'a mut [u8],
    pub xattr_value: &'a mut [u8],
    pub xattr_len: &'a mut u32,
}

/// Put the query's name and xattr filters in; a message if one does not fit.
pub fn set_filters(q: &Query, f: FilterFields<'_>) -> Result<(), String> {
    if let Some(g) = &q.name_glob {
        if !uapi::set_c_str(f.glob, g) {
            return Err(format!(
                "name glob is {} bytes; at most {} fit",
                g.len(),
                uapi::GLOB_MAX - 1
            ));
        }
    }
    if let Some((name, value)) = &q.xattr {
        if !uapi::set_c_str(f.xattr_name, name) {
            return Err(format!(
                "attribute name is {} bytes; at most {} fit",
                name.len(),
                uapi::XATTR_NAME_MAX - 1
            ));
        }
        let dst = f.xattr_value.get_mut(..value.len()).ok_or_else(|| {
            format!(
                "attribute value is {} bytes; at most {} fit",
                value.len(),
                uapi::XATTR_VALUE_MAX
            )
        })?;
        dst.copy_from_slice(value);
        *f.xattr_len = value.len() as u32;
    }
    Ok(())
}

pub fn build(q: &Query) -> Result<Built, String> {
    if q.k == 0 || q.k as usize > uapi::K_MAX {
        return Err(format!("k must be from 1 to {} (got {})", uapi::K_MAX, q.k));
    }
    let m = super::vectors::Matrix::single(q.vector.clone());
    super::vectors::check(&m).map_err(|e| format!("query vector: {e}"))?;
    if q.flags & !(uapi::SEARCH_EXACT | uapi::SEARCH_NO_PATHS) != 0 {
        return Err("unknown search flags".into());
    }
    let mut s = Box::new(Search::new_request());
    s.k = q.k;
    s.dim = u32::try_from(q.vector.len()).map_err(|_| "query vector too long".to_string())?;
    s.metric = q.metric;
    s.ef = q.ef;
    s.nprobe = q.nprobe;
    s.rerank = q.rerank;
    s.flags = q.flags;
    s.subtree_ino = q.subtree_ino;
    set_filters(
        q,
        FilterFields {
            glob: &mut s.name_glob,
            xattr_name: &mut s.xattr_name,
            xattr_value: &mut s.xattr_value,
            xattr_len: &mut s.xattr_value_len,
        },
    )?;
    let mut stage = Vec::new();
    if q.vector.len() <= uapi::INLINE_DIM {
        if let Some(dst) = s.vector.get_mut(..q.vector.len()) {
            dst.copy_from_slice(&q.vector);
        }
    } else {
        s.flags |= uapi::SEARCH_STAGED;
        for (i, part) in q.vector.chunks(uapi::INLINE_DIM).enumerate() {
            let mut c = Box::new(VectorChunk::new_request());
            c.dim = s.dim;
            c.offset = (i * uapi::INLINE_DIM) as u32;
            c.count = part.len() as u32;
            if let Some(dst) = c.data.get_mut(..part.len()) {
                dst.copy_from_slice(part);
            }
            stage.push(c);
        }
    }
    Ok(Built { search: s, stage })
}

/// One decoded hit: `path` is `None` when the filesystem did not resolve
/// it (`VEXFS_HIT_NO_PATH`, or paths not asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub ino: u64,
    pub distance: f32,
    pub path: Option<Vec<u8>>,
}

/// One reply's hits, as decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub hits: Vec<Found>,
    pub total: u32,
}

/// Decode `count` hits and their paths; a path that points outside the
/// used part of `names` counts as unresolved rather than trusted.
pub fn decode(hits: &[Hit], names: &[u8], count: u32, names_used: u32) -> Vec<Found> {
    let used = names
        .get(..(names_used as usize).min(names.len()))
        .unwrap_or(&[]);
    hits.iter()
        .take(count as usize)
        .map(|h| {
            let path = if h.flags & uapi::HIT_NO_PATH != 0 {
                None
            } else {
                let start = h.path_off as usize;
                used.get(start..start + h.path_len as usize)
                    .map(<[u8]>::to_vec)
            };
            Found {
                ino: h.ino,
                distance: h.distance,
                path,
            }
        })
        .collect()
}

/// The first page, from a completed search.
pub fn first_page(s: &Search) -> Page {
    Page {
        hits: decode(&s.hits, &s.names, s.count, s.names_used),
        total: s.total,
    }
}

/// A page from `VEXFS_IOC_RESULTS`.
pub fn results_page(r: &Results) -> Page {
    Page {
        hits: decode(&r.hits, &r.names, r.count, r.names_used),
        total: r.total,
    }
}

/// All hits of a search: the first page, then pages fetched from
/// `offset`s until `total` hits are known. When `want_paths`, a page
/// whose paths did not all fit is fetched again starting at its first
/// unresolved hit (that hit's path then comes first in the names area);
/// a hit that is unresolved even at the start of a page keeps only its
/// inode number.
pub fn collect(
    first: Page,
    want_paths: bool,
    mut fetch: impl FnMut(u32) -> io::Result<Page>,
) -> io::Result<Vec<Found>> {
    let total = first.total as usize;
    let mut all: Vec<Found> = Vec::with_capacity(total.min(uapi::K_MAX));
    let mut page = first;
    let mut base = 0usize;
    loop {
        for (i, h) in page.hits.into_iter().enumerate() {
            match all.get_mut(base + i) {
                // A refetch: fill in what an earlier page left unresolved.
                Some(slot) if slot.path.is_none() => *slot = h,
                Some(_) => {}
                None => all.push(h),
            }
        }
        // Hits before `base`, and the one at `base` (it led this page),
        // cannot improve; retry from the next unresolved one, else go on
        // after the last hit known. Either way `next > base` once any hit
        // is known, so the loop ends.
        let unresolved = |g: &usize| all.get(*g).is_some_and(|h| h.path.is_none());
        let retry = if want_paths {
            (base + 1..all.len()).find(unresolved)
        } else {
            None
        };
        let next = retry.unwrap_or(all.len());
        if next >= total {
            break;
        }
        let offset =
            u32::try_from(next).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        page = fetch(offset)?;
        if page.hits.is_empty() {
            break;
        }
        base = next;
    }
    all.truncate(total);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(
            parse_filter("subtree=a/b").unwrap(),
            Filter::Subtree("a/b".into())
        );
        assert_eq!(
            parse_filter("name=*.txt").unwrap(),
            Filter::Name("*.txt".into())
        );
        assert_eq!(
            parse_filter("xattr=user.lang=en").unwrap(),
            Filter::Xattr("user.lang".into(), b"en".to_vec())
        );
        assert_eq!(
            parse_filter("xattr=user.k=a=b").unwrap(),
            Filter::Xattr("user.k".into(), b"a=b".to_vec())
        );
        assert_eq!(
            parse_filter("xattr=user.k=0x00ff").unwrap(),
            Filter::Xattr("user.k".into(), vec![0, 255])
        );
        assert_eq!(
            parse_filter("xattr=user.k=").unwrap(),
            Filter::Xattr("user.k".into(), vec![])
        );
        assert!(parse_filter("xattr=user.k=0xf").is_err());
        assert!(parse_filter("xattr=user.k").is_err());
        assert!(parse_filter("size=3")
            .unwrap_err()
            .contains("unknown filter"));
        assert!(parse_filter("name=").is_err());
        assert!(parse_filter("name").is_err());
    }

    fn q(dim: usize, k: u32) -> Query {
        Query {
            vector: vec![0.5; dim],
            k,
            ..Query::default()
        }
    }

    #[test]
    fn build_checks() {
        assert!(build(&q(3, 0)).err().unwrap().contains("k must be"));
        assert!(build(&q(3, 4097)).err().unwrap().contains("k must be"));
        assert!(build(&q(3, 4096)).is_ok());
        assert!(build(&q(0, 1)).err().unwrap().contains("0 dimensions"));
        assert!(build(&q(4097, 1)).err().unwrap().contains("4096"));
        let mut bad = q(3, 1);
        bad.vector[1] = f32::NAN;
        assert!(build(&bad).err().unwrap().contains("NaN"));
        let mut g = q(3, 1);
        g.name_glob = Some(vec![b'*'; 128]);
        assert!(build(&g).err().unwrap().contains("at most 127"));
        let mut x = q(3, 1);
        x.xattr = Some((b"user.a".to_vec(), vec![1; 193]));
        assert!(build(&x).err().unwrap().contains("at most 192"));
    }

    #[test]
    fn build_inline_and_staged() {
        let mut qq = q(3, 5);
        qq.name_glob = Some(b"k*".to_vec());
        qq.xattr = Some((b"user.a".to_vec(), b"v".to_vec()));
        qq.ef = 64;
        let b = build(&qq).unwrap();
        assert!(b.stage.is_empty());
        assert_eq!(
            (b.search.k, b.search.dim, b.search.ef, b.search.flags),
            (5, 3, 64, 0)
        );
        assert_eq!(&b.search.vector[..4], &[0.5, 0.5, 0.5, 0.0]);
        assert_eq!(uapi::c_str(&b.search.name_glob), b"k*");
        assert_eq!(
            (uapi::c_str(&b.search.xattr_name), b.search.xattr_value_len),
            (&b"user.a"[..], 1)
        );
        let b = build(&q(3000, 5)).unwrap();
        assert_eq!(b.search.flags, uapi::SEARCH_STAGED);
        assert_eq!(b.stage.len(), 2);
        assert_eq!(
            (b.stage[0].offset, b.stage[0].count, b.stage[0].dim),
            (0, 2048, 3000)
        );
        assert_eq!((b.stage[1].offset, b.stage[1].count), (2048, 952));
    }

    fn hit(ino: u64, off: u32, len: u16, flags: u16) -> Hit {
        Hit {
            ino,
            distance: ino as f32,
            path_off: off,
            path_len: len,
            flags,
            reserved: 0,
        }
    }

    #[test]
    fn decode_bounds() {
        let names = b"abcdef";
        let hits = [
            hit(1, 0, 3, 0),
            hit(2, 3, 3, 0),
            hit(3, 0, 0, uapi::HIT_NO_PATH),
            hit(4, 5, 9, 0),
        ];
        let d = decode(&hits, names, 4, 6);
        assert_eq!(d[0].path.as_deref(), Some(&b"abc"[..]));
        assert_eq!(d[1].path.as_deref(), Some(&b"def"[..]));
        assert_eq!(d[2].path, None);
        assert_eq!(d[3].path, None, "out of bounds is unresolved");
        assert_eq!(
            decode(&hits, names, 2, 4)[1].path,
            None,
            "beyond names_used"
        );
        assert_eq!(decode(&hits, names, 9, 6).len(), 4);
    }

    /// A fake filesystem: `total` hits whose paths are "p<i>", of which a
    /// page carries `per_page`, and only `fit` paths per page resolve.
    /// Hits in `never` never resolve.
    fn server(
        total: usize,
        per_page: usize,
        fit: usize,
        never: &'static [usize],
    ) -> impl FnMut(u32) -> io::Result<Page> {
        move |offset| {
            let hits = (offset as usize..total.min(offset as usize + per_page))
                .enumerate()
                .map(|(j, i)| Found {
                    ino: i as u64,
                    distance: i as f32,
                    path: (j < fit && !never.contains(&i)).then(|| format!("p{i}").into_bytes()),
                })
                .collect();
            Ok(Page {
                hits,
                total: total as u32,
            })
        }
    }

    fn check_all(r: &[Found], total: usize, never: &[usize]) {
        assert_eq!(r.len(), total);
        for (i, h) in r.iter().enumerate() {
            assert_eq!(h.ino, i as u64);
            if never.contains(&i) {
                assert_eq!(h.path, None);
            } else {
                assert_eq!(
                    h.path.as_deref(),
                    Some(format!("p{i}").as_bytes()),
                    "hit {i}"
                );
            }
        }
    }

    #[test]
    fn paging_plain() {
        let mut s = server(300, 128, 128, &[]);
        let first = s(0).unwrap();
        let mut calls = vec![];
        let r = collect(first, true, |o| {
            calls.push(o);
            s(o)
        })
        .unwrap();
        check_all(&r, 300, &[]);
        assert_eq!(calls, vec![128, 256]);
        // Fewer hits than one page: no more calls.
        let mut s = server(5, 128, 128, &[]);
        let r = collect(s(0).unwrap(), true, |_| panic!("no fetch needed")).unwrap();
        check_all(&r, 5, &[]);
    }

    #[test]
    fn paging_refetches_unresolved_paths() {
        let mut s = server(200, 128, 50, &[]);
        let first = s(0).unwrap();
        let mut calls = vec![];
        let r = collect(first, true, |o| {
            calls.push(o);
            s(o)
        })
        .unwrap();
        check_all(&r, 200, &[]);
        assert_eq!(calls, vec![50, 100, 150]);
    }

    #[test]
    fn paging_gives_up_on_paths_that_never_resolve() {
        let mut s = server(10, 4, 4, &[1, 4, 5]);
        let r = collect(s(0).unwrap(), true, &mut s).unwrap();
        check_all(&r, 10, &[1, 4, 5]);
        // Without paths wanted, unresolved hits are not refetched.
        let mut s = server(10, 4, 1, &[]);
        let r = collect(s(0).unwrap(), false, &mut s).unwrap();
        assert_eq!(r.len(), 10);
        assert_eq!(r.iter().filter(|h| h.path.is_some()).count(), 3);
    }

    #[test]
    fn paging_stops_on_empty_pages_and_errors() {
        let first = Page {
            hits: vec![Found {
                ino: 1,
                distance: 0.0,
                path: Some(b"a".to_vec()),
            }],
            total: 5,
        };
        let r = collect(first.clone(), true, |_| {
            Ok(Page {
                hits: vec![],
                total: 5,
            })
        })
        .unwrap();
        assert_eq!(r.len(), 1);
        let e = collect(first, true, |_| {
            Err(io::Error::from_raw_os_error(libc::EIO))
        })
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
    }
}
