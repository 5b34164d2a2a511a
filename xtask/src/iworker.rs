//! The `index-worker` step's figures: the guest prints one `iworker cpu
//! ...` line and one `iworker mode=inline|worker run=N k=v ...` line per
//! vexfs-vecbench run (marker removed); this gives the kernel module's
//! bulk HNSW load without its insertion worker (writers insert) and with
//! it, side by side, medians over the runs, ratios worker / inline (same
//! guest, same workload, runs alternating).

use std::fmt::Write as _;

/// (key, label, decimals) of the figures compared.
const FIGURES: &[(&str, &str, usize)] = &[
    ("inserts_per_s", "bulk inserts/s", 0),
    ("pending_after_insert", "pending when the load returns", 0),
    ("build_ms", "build: first search until none pending (ms)", 0),
    ("indexed_ms", "load + build (ms)", 0),
    ("searches_per_s", "searches/s (strategy alone)", 1),
    ("recall", "recall@10", 3),
];

#[derive(Debug, Default)]
pub struct IndexWorker {
    /// The `iworker cpu` line's pairs (guest CPU model, workload).
    setup: Vec<(String, String)>,
    /// (mode, its key=value pairs) per run.
    runs: Vec<(String, Vec<(String, String)>)>,
}

fn pairs(s: &str) -> Vec<(String, String)> {
    s.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get(p: &[(String, String)], key: &str) -> Option<f64> {
    p.iter().find(|(k, _)| k == key)?.1.parse().ok()
}

impl IndexWorker {
    pub fn from_lines<'a>(lines: impl Iterator<Item = &'a String>) -> Self {
        let mut b = IndexWorker::default();
        for l in lines {
            let Some(rest) = l.strip_prefix("iworker ") else {
                continue;
            };
            if let Some(cpu) = rest.strip_prefix("cpu ") {
                b.setup = pairs(cpu);
                continue;
            }
            let mut p = pairs(rest);
            let Some(i) = p.iter().position(|(k, _)| k == "mode") else {
                continue;
            };
            let mode = p.remove(i).1;
            // The time from the first bulk call to a fully built index.
            if let (Some(n), Some(rate), Some(build)) =
                (get(&p, "n"), get(&p, "inserts_per_s"), get(&p, "build_ms"))
            {
                if rate > 0.0 {
                    p.push((
                        "indexed_ms".into(),
                        format!("{:.0}", n / rate * 1e3 + build),
                    ));
                }
            }
            b.runs.push((mode, p));
        }
        b
    }

    /// The median of `key` over the runs of `mode`.
    fn median(&self, mode: &str, key: &str) -> Option<f64> {
        let mut v: Vec<f64> = self
            .runs
            .iter()
            .filter(|(m, _)| m == mode)
            .filter_map(|(_, p)| get(p, key))
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        Some(if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        })
    }

    fn ratio(&self, key: &str) -> Option<f64> {
        let (w, i) = (self.median("worker", key)?, self.median("inline", key)?);
        (i > 0.0).then(|| w / i)
    }

    pub fn markdown(&self) -> String {
        if self.runs.is_empty() {
            return String::new();
        }
        let setup: Vec<String> = self.setup.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut m = format!(
            "\n## The module's index insertion worker (index-worker step, same guest)\n\n\
             A bulk HNSW load on a fresh VexFS with `index_worker=0` (writers insert) and \
             `index_worker=1` (the background worker inserts); {}. Medians; ratios are \
             worker / inline.\n\n\
             | figure | index_worker=0 | index_worker=1 | ratio |\n|---|---:|---:|---:|\n",
            setup.join(" ").replace('_', " ")
        );
        for &(key, label, dec) in FIGURES {
            let cell = |mode: &str| {
                self.median(mode, key)
                    .map_or("—".to_string(), |v| format!("{v:.dec$}"))
            };
            let r = self
                .ratio(key)
                .map_or("—".to_string(), |r| format!("{r:.2}x"));
            let _ = writeln!(
                m,
                "| {label} | {} | {} | {r} |",
                cell("inline"),
                cell("worker")
            );
        }
        m
    }

    pub fn json(&self) -> String {
        let mut j = String::from("  \"index_worker\": {");
        let mut first = true;
        for &(key, _, _) in FIGURES {
            for mode in ["inline", "worker"] {
                if let Some(v) = self.median(mode, key) {
                    let _ = write!(j, "{}\"{mode}.{key}\": {v}", if first { "" } else { ", " });
                    first = false;
                }
            }
            if let Some(r) = self.ratio(key) {
                let _ = write!(j, ", \"ratio.{key}\": {r:.3}");
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
    fn both_modes_give_medians_and_a_ratio() {
        let lines: Vec<String> = [
            "iworker cpu guest=QEMU rows=10000 dim=8",
            "iworker mode=inline run=1 strategy=hnsw n=10000 inserts_per_s=100 pending_after_insert=1808 build_ms=5000",
            "iworker mode=worker run=1 strategy=hnsw n=10000 inserts_per_s=400 pending_after_insert=10000 build_ms=70000",
            "iworker mode=inline run=2 strategy=hnsw n=10000 inserts_per_s=200 pending_after_insert=1808 build_ms=5000",
            "iworker mode=worker run=2 strategy=hnsw n=10000 inserts_per_s=600 pending_after_insert=10000 build_ms=70000",
        ]
        .map(String::from)
        .to_vec();
        let b = IndexWorker::from_lines(lines.iter());
        assert_eq!(b.median("inline", "inserts_per_s"), Some(150.0));
        assert_eq!(b.ratio("inserts_per_s"), Some(500.0 / 150.0));
        // 10,000 rows at 100/s and 200/s, plus 5 s of build: 105 and 55 s.
        assert_eq!(b.median("inline", "indexed_ms"), Some(80_000.0));
        let md = b.markdown();
        assert!(
            md.contains("| bulk inserts/s | 150 | 500 | 3.33x |"),
            "{md}"
        );
        assert!(
            md.contains("| pending when the load returns | 1808 | 10000 | 5.53x |"),
            "{md}"
        );
        assert!(b.json().contains("\"ratio.inserts_per_s\": 3.333"));
    }

    #[test]
    fn no_lines_no_section() {
        let b = IndexWorker::from_lines([].iter());
        assert!(b.markdown().is_empty());
        assert_eq!(b.json(), "  \"index_worker\": {}");
    }
}
