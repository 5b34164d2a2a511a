//! Shell-style name patterns for the search filter: `*`, `?`, bracket
//! classes `[abc]`, `[a-z]`, `[!x]` / `[^x]`, and `\` to quote the next
//! byte. Matching is on bytes; a pattern that is malformed (an unclosed
//! `[`) treats the bracket literally, as fnmatch(3) does.
//!
//! Iterative with one backtrack point for `*`, so the cost is at most
//! O(pattern x name) and never exponential.

/// Whether `name` matches `pat`.
pub(crate) fn matches(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if let Some((adv, ok)) = step(pat, p, name[n]) {
            if ok {
                p += adv;
                n += 1;
                continue;
            }
        } else if pat.get(p) == Some(&b'*') {
            star = Some((p + 1, n));
            p += 1;
            continue;
        }
        match star {
            Some((sp, sn)) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while pat.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pat.len()
}

/// Try the pattern element at `p` against byte `c`: `Some((length, hit))`,
/// or `None` at a `*` or the pattern's end.
fn step(pat: &[u8], p: usize, c: u8) -> Option<(usize, bool)> {
    match *pat.get(p)? {
        b'*' => None,
        b'?' => Some((1, true)),
        b'\\' => match pat.get(p + 1) {
            Some(&q) => Some((2, q == c)),
            None => Some((1, c == b'\\')),
        },
        b'[' => Some(class(pat, p, c).unwrap_or((1, c == b'['))),
        lit => Some((1, lit == c)),
    }
}

/// A bracket class starting at `p`: its length and whether `c` is in it;
/// `None` if it is not closed.
fn class(pat: &[u8], p: usize, c: u8) -> Option<(usize, bool)> {
    let mut i = p + 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = *pat.get(i)?;
        if lo == b']' && !first {
            return Some((i + 1 - p, hit != negate));
        }
        first = false;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = *pat.get(i + 2)?;
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns() {
        assert!(matches(b"*", b""));
        assert!(matches(b"*.txt", b"a.txt"));
        assert!(!matches(b"*.txt", b"a.txt.gz"));
        assert!(matches(b"k?ng", b"king"));
        assert!(matches(b"[kq]*", b"queen"));
        assert!(!matches(b"[!kq]*", b"queen"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[a-c]x", b"dx"));
        assert!(matches(b"a\\*b", b"a*b"));
        assert!(!matches(b"a\\*b", b"axb"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"[", b"["), "an unclosed bracket is literal");
        assert!(matches(b"*a*b*c*", b"xxaxxbxxcxx"));
        assert!(!matches(b"*a*b*c*d", b"xxaxxbxxcxx"));
        assert!(matches(b"exact", b"exact"));
        assert!(!matches(b"exact", b"exactly"));
    }

    #[test]
    fn no_blowup_on_many_stars() {
        let pat = [b'*', b'a'].repeat(50);
        let name = [b'a'; 200];
        assert!(matches(&pat, &name));
        let mut name2 = name.to_vec();
        name2.push(b'b');
        assert!(!matches(&pat, &name2));
    }
}
