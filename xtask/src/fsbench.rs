//! The `fs-bench` step's figures: one `fsbench fs=vexfs-kernel|ext4 k=v ...`
//! line per filesystem (marker removed), turned into a table of both with
//! the kernel module's ratio to ext4 (same guest, same virtual disk), and
//! the fio figures of the module's bounce-buffer path (`pagecache=0`,
//! `fs=vexfs-kernel-bounce`) with the page cache's ratio to it.

use std::fmt::Write as _;

/// (key in the guest's line, label, unit). Rates per second or MiB/s.
const FIGURES: &[(&str, &str, &str)] = &[
    ("creates_per_s", "creates", "/s"),
    ("stats_per_s", "stats", "/s"),
    ("misses_per_s", "failed lookups", "/s"),
    ("listings_per_s", "directory listings", "/s"),
    ("unlinks_per_s", "unlinks", "/s"),
    ("randread_4k_mibs", "fio 4 KiB random read", "MiB/s"),
    ("randwrite_4k_mibs", "fio 4 KiB random write", "MiB/s"),
    ("write_1m_mibs", "fio 1 MiB sequential write", "MiB/s"),
    ("read_1m_mibs", "fio 1 MiB sequential read", "MiB/s"),
];

#[derive(Debug, Default)]
pub struct FsBench {
    /// (filesystem, its key=value pairs).
    runs: Vec<(String, Vec<(String, String)>)>,
}

impl FsBench {
    pub fn from_lines<'a>(lines: impl Iterator<Item = &'a String>) -> Self {
        let mut b = FsBench::default();
        for l in lines {
            let Some(rest) = l.strip_prefix("fsbench ") else {
                continue;
            };
            let mut fs = String::new();
            let mut pairs = Vec::new();
            for w in rest.split_whitespace() {
                if let Some((k, v)) = w.split_once('=') {
                    if k == "fs" {
                        fs = v.to_string();
                    } else {
                        pairs.push((k.to_string(), v.to_string()));
                    }
                }
            }
            b.runs.push((fs, pairs));
        }
        b
    }

    fn get(&self, fs: &str, key: &str) -> Option<f64> {
        let (_, pairs) = self.runs.iter().find(|(f, _)| f == fs)?;
        pairs.iter().find(|(k, _)| k == key)?.1.parse().ok()
    }

    fn ratio_of(&self, fs: &str, base: &str, key: &str) -> Option<f64> {
        let (v, e) = (self.get(fs, key)?, self.get(base, key)?);
        (e > 0.0).then(|| v / e)
    }

    fn ratio(&self, key: &str) -> Option<f64> {
        self.ratio_of("vexfs-kernel", "ext4", key)
    }

    pub fn markdown(&self) -> String {
        if self.runs.is_empty() {
            return String::new();
        }
        let mut m = String::from(
            "\n## The module beside ext4 (fs-bench step, same guest, same virtual disk)\n\n\
             `fs_metabench` (small files, 500 a directory) and fio (buffered, psync, one job). \
             Under TCG only the ratio means anything.\n\n\
             `pagecache=0`: the module's bounce-buffer data path (fio only), on a fresh VexFS \
             in the same guest.\n\n\
             | figure | vexfs.ko | ext4 | vexfs.ko / ext4 | vexfs.ko pagecache=0 | page cache / pagecache=0 |\n\
             |---|---:|---:|---:|---:|---:|\n",
        );
        for &(key, label, unit) in FIGURES {
            let cell = |fs: &str| {
                self.get(fs, key)
                    .map_or("—".to_string(), |v| format!("{v:.0} {unit}"))
            };
            let x = |r: Option<f64>| r.map_or("—".to_string(), |r| format!("{r:.2}x"));
            let _ = writeln!(
                m,
                "| {label} | {} | {} | {} | {} | {} |",
                cell("vexfs-kernel"),
                cell("ext4"),
                x(self.ratio(key)),
                cell("vexfs-kernel-bounce"),
                x(self.ratio_of("vexfs-kernel", "vexfs-kernel-bounce", key)),
            );
        }
        m
    }

    pub fn json(&self) -> String {
        let mut j = String::from("  \"fs_bench\": {");
        let mut first = true;
        for &(key, _, _) in FIGURES {
            for fs in ["vexfs-kernel", "ext4", "vexfs-kernel-bounce"] {
                if let Some(v) = self.get(fs, key) {
                    let _ = write!(j, "{}\"{fs}.{key}\": {v}", if first { "" } else { ", " });
                    first = false;
                }
            }
            if let Some(r) = self.ratio(key) {
                let _ = write!(j, ", \"ratio.{key}\": {r:.3}");
            }
            if let Some(r) = self.ratio_of("vexfs-kernel", "vexfs-kernel-bounce", key) {
                let _ = write!(j, ", \"pagecache_ratio.{key}\": {r:.3}");
            }
        }
        j.push('}');
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_filesystems_give_a_ratio() {
        let lines = [
            "fsbench fs=vexfs-kernel files=2000 creates_per_s=500 randread_4k_mibs=10.0"
                .to_string(),
            "fsbench fs=ext4 files=2000 creates_per_s=1000 randread_4k_mibs=40.0".to_string(),
        ];
        let b = FsBench::from_lines(lines.iter());
        assert_eq!(b.ratio("creates_per_s"), Some(0.5));
        assert_eq!(b.ratio("randread_4k_mibs"), Some(0.25));
        assert!(b
            .markdown()
            .contains("| creates | 500 /s | 1000 /s | 0.50x | — | — |"));
        assert!(b.json().contains("\"ratio.creates_per_s\": 0.500"));
    }

    #[test]
    fn the_bounce_path_gives_the_page_cache_ratio() {
        let lines = [
            "fsbench fs=vexfs-kernel files=2000 randwrite_4k_mibs=30.0".to_string(),
            "fsbench fs=ext4 files=2000 randwrite_4k_mibs=40.0".to_string(),
            "fsbench fs=vexfs-kernel-bounce fio_mb=32 randwrite_4k_mibs=10.0".to_string(),
        ];
        let b = FsBench::from_lines(lines.iter());
        assert!(b.markdown().contains(
            "| fio 4 KiB random write | 30 MiB/s | 40 MiB/s | 0.75x | 10 MiB/s | 3.00x |"
        ));
        assert!(b
            .json()
            .contains("\"pagecache_ratio.randwrite_4k_mibs\": 3.000"));
    }
}
