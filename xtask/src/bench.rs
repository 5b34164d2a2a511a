//! The ANN benchmark's figures (`ann-bench` step): the guest prints one
//! `bench mount=kernel|fuse strategy=... inserts_per_s=...` line per run
//! and one `bench cpu ...` line; this puts the kernel module and
//! vexfs-fuse side by side, with their ratio (both measured in the same
//! guest, one after the other, so the ratio is what compares).

use std::fmt::Write as _;

/// One run of vexfs-vecbench: its key=value pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    pub mount: String,
    pub strategy: String,
    pub fields: Vec<(String, String)>,
}

impl Run {
    fn get(&self, k: &str) -> Option<f64> {
        self.fields
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.parse().ok())
    }

    fn text(&self, k: &str) -> &str {
        self.fields
            .iter()
            .find(|(key, _)| key == k)
            .map_or("", |(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Bench {
    /// The `bench cpu` line's pairs (guest CPU model, workload size).
    pub setup: Vec<(String, String)>,
    pub host_cpu: String,
    pub runs: Vec<Run>,
}

fn pairs(s: &str) -> Vec<(String, String)> {
    s.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The host's CPU model (the guest's is QEMU's emulated one).
pub fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

impl Bench {
    /// Collect the `bench ...` lines (marker already removed).
    pub fn from_lines<'a>(lines: impl Iterator<Item = &'a String>, host_cpu: String) -> Self {
        let mut b = Bench {
            host_cpu,
            ..Bench::default()
        };
        for l in lines {
            let Some(rest) = l.strip_prefix("bench ") else {
                continue;
            };
            if let Some(cpu) = rest.strip_prefix("cpu ") {
                b.setup = pairs(cpu);
                continue;
            }
            let mut fields = pairs(rest);
            let take = |f: &mut Vec<(String, String)>, k: &str| {
                f.iter()
                    .position(|(key, _)| key == k)
                    .map(|i| f.remove(i).1)
                    .unwrap_or_default()
            };
            let mount = take(&mut fields, "mount");
            let strategy = take(&mut fields, "strategy");
            b.runs.push(Run {
                mount,
                strategy,
                fields,
            });
        }
        b
    }

    /// The first run of `strategy` on `mount` (recall and digest: the
    /// workload is the same every run).
    fn find(&self, mount: &str, strategy: &str) -> Option<&Run> {
        self.runs
            .iter()
            .find(|r| r.mount == mount && r.strategy == strategy)
    }

    /// The median of `key` over every run of `strategy` on `mount`.
    fn median(&self, mount: &str, strategy: &str, key: &str) -> Option<f64> {
        let mut v: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| r.mount == mount && r.strategy == strategy)
            .filter_map(|r| r.get(key))
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

    fn strategies(&self) -> Vec<&str> {
        let mut s: Vec<&str> = Vec::new();
        for r in &self.runs {
            if !s.contains(&r.strategy.as_str()) {
                s.push(&r.strategy);
            }
        }
        s
    }

    fn setup_text(&self) -> String {
        self.setup
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn markdown(&self) -> String {
        let mut m = String::new();
        if self.runs.is_empty() {
            return m;
        }
        let _ = writeln!(
            m,
            "\n## ANN benchmark: kernel module vs vexfs-fuse (same guest)\n\n\
             Guest setup: {}; host CPU: {}. Medians over the runs; ratios are kernel / FUSE.\n",
            self.setup_text().replace('_', " "),
            self.host_cpu
        );
        let _ = writeln!(
            m,
            "| strategy | inserts/s kernel | inserts/s FUSE | ratio | build ms kernel | build ms FUSE | \
             searches/s kernel | searches/s FUSE | ratio | recall kernel | recall FUSE | same results, own builds | \
             same results, same image |"
        );
        let _ = writeln!(m, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for s in self.strategies() {
            let (k, f) = (self.find("kernel", s), self.find("fuse", s));
            let v = |mount: &str, key: &str| self.median(mount, s, key);
            let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.0}"));
            let ratio = |key: &str| match (v("kernel", key), v("fuse", key)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            let recall = |r: Option<&Run>| r.map_or("-", |r| r.text("recall")).to_string();
            let digests_agree = |a: Option<&Run>, b: Option<&Run>| match (a, b) {
                (Some(a), Some(b)) if a.text("digest") == b.text("digest") => Some(true),
                (Some(_), Some(_)) => Some(false),
                _ => None,
            };
            let yes_no = |x: Option<bool>| match x {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            };
            let same = yes_no(digests_agree(k, f));
            // Each mount searching the indexes the other one built and saved.
            let same_image = yes_no(
                match (
                    digests_agree(k, self.find("fuse-on-kernel", s)),
                    digests_agree(f, self.find("kernel-on-fuse", s)),
                ) {
                    (Some(a), Some(b)) => Some(a && b),
                    _ => None,
                },
            );
            let _ = writeln!(
                m,
                "| {s} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {same} | {same_image} |",
                show(v("kernel", "inserts_per_s")),
                show(v("fuse", "inserts_per_s")),
                ratio("inserts_per_s"),
                show(v("kernel", "build_ms")),
                show(v("fuse", "build_ms")),
                show(v("kernel", "searches_per_s")),
                show(v("fuse", "searches_per_s")),
                ratio("searches_per_s"),
                recall(k),
                recall(f),
            );
        }
        m
    }

    /// The `"ann_bench"` member of report.json (without a trailing comma).
    pub fn json(&self, q: fn(&str) -> String) -> String {
        let obj = |f: &[(String, String)]| {
            f.iter()
                // A digest is hex text even when it happens to be all digits.
                .map(|(k, v)| match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && k != "digest" => format!("{}: {n}", q(k)),
                    _ => format!("{}: {}", q(k), q(v)),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{{\"mount\": {}, \"strategy\": {}, {}}}",
                    q(&r.mount),
                    q(&r.strategy),
                    obj(&r.fields)
                )
            })
            .collect();
        format!(
            "  \"ann_bench\": {{\"setup\": {{{}}}, \"host_cpu\": {}, \"runs\": [{}]}}",
            obj(&self.setup),
            q(&self.host_cpu),
            runs.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_and_fuse_rows_pair_up() {
        let lines: Vec<String> = [
            "bench cpu guest=QEMU_Virtual_CPU rows=2000 dim=32",
            "bench mount=kernel strategy=hnsw n=2000 inserts_per_s=100 searches_per_s=50.0 recall=0.990 digest=00ab",
            "bench mount=fuse strategy=hnsw n=2000 inserts_per_s=200 searches_per_s=25.0 recall=0.990 digest=00ab",
            "bench mount=fuse run=2 strategy=hnsw n=2000 inserts_per_s=300 searches_per_s=15.0 recall=0.990 digest=00ab",
            "bench mount=fuse run=3 strategy=hnsw n=2000 inserts_per_s=100 searches_per_s=35.0 recall=0.990 digest=00ab",
            "bench mount=fuse-on-kernel run=1 strategy=hnsw queries=100 searches_per_s=30.0 recall=0.990 digest=00ab",
            "bench mount=kernel-on-fuse run=1 strategy=hnsw queries=100 searches_per_s=60.0 recall=0.990 digest=00ab",
            "bench mount=kernel strategy=ivf n=2000 inserts_per_s=100 searches_per_s=50.0 recall=0.700 digest=0001",
            "bench mount=fuse strategy=ivf n=2000 inserts_per_s=100 searches_per_s=50.0 recall=0.710 digest=0002",
            "bench mount=fuse-on-kernel run=1 strategy=ivf queries=100 searches_per_s=30.0 recall=0.700 digest=0001",
            "bench mount=kernel-on-fuse run=1 strategy=ivf queries=100 searches_per_s=60.0 recall=0.710 digest=0003",
            "step=x status=pass ms=1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let b = Bench::from_lines(lines.iter(), "Test CPU".into());
        assert_eq!(b.runs.len(), 10);
        let md = b.markdown();
        assert!(md.contains("| hnsw | 100 | 200 | 0.50 |"), "{md}");
        assert!(
            md.contains("| 50 | 25 | 2.00 | 0.990 | 0.990 | yes | yes |"),
            "{md}"
        );
        // Own builds differ; the kernel searching FUSE's index does too.
        assert!(md.contains("| 0.700 | 0.710 | no | no |"), "{md}");
        assert!(md.contains("QEMU Virtual CPU"));
        let j = b.json(|s| format!("\"{s}\""));
        assert!(j.contains("\"digest\": \"00ab\""), "{j}");
        assert!(j.contains("\"inserts_per_s\": 100"), "{j}");
    }
}
