//! The guest's result lines turned into `target/vm/report.md`,
//! `target/vm/report.json` and one line per step on the terminal.

use crate::steps::STEPS;
use crate::vm::Run;
use crate::{Profile, Result};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

#[derive(Debug, Default, Clone, Copy)]
pub struct Timings {
    pub deps_s: f64,
    pub build_module_s: f64,
    pub build_tools_s: f64,
    pub initramfs_s: f64,
    pub boot_s: f64,
    pub guest_s: f64,
    pub total_s: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    pub name: String,
    pub seed: String,
    /// What the step checks (from the step list).
    pub what: String,
    /// pass, fail, skip, or missing (the guest never reported it).
    pub status: String,
    pub ms: u64,
    pub counts: Vec<(String, String)>,
    pub msg: String,
    pub log: Vec<String>,
}

/// `step=NAME status=S ms=N k=v ... msg=TEXT`
pub fn parse_step(line: &str) -> Option<StepResult> {
    let rest = line.strip_prefix("step=")?;
    let (head, msg) = match rest.find(" msg=") {
        Some(i) => (&rest[..i], rest[i + 5..].trim()),
        None => (rest, ""),
    };
    let mut words = head.split_whitespace();
    let name = words.next()?.to_string();
    let mut r = StepResult {
        name,
        seed: String::new(),
        what: String::new(),
        status: String::new(),
        ms: 0,
        counts: Vec::new(),
        msg: msg.to_string(),
        log: Vec::new(),
    };
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "status" => r.status = v.to_string(),
            "ms" => r.ms = v.parse().unwrap_or(0),
            _ => r.counts.push((k.to_string(), v.to_string())),
        }
    }
    Some(r)
}

pub struct Report {
    pub profile: String,
    pub kernel: String,
    pub cycles: u32,
    pub steps: Vec<StepResult>,
    pub finished: bool,
    pub timed_out: bool,
    pub timings: Timings,
    pub boot_line: String,
    pub console: String,
    pub bench: crate::bench::Bench,
    pub fs_bench: crate::fsbench::FsBench,
    pub index_worker: crate::iworker::IndexWorker,
}

impl Report {
    pub fn from_run(p: &Profile, kernel: &str, run: &Run, timings: Timings) -> Self {
        let mut got: Vec<StepResult> = Vec::new();
        let mut boot_line = String::new();
        for l in &run.lines {
            if let Some(r) = parse_step(l) {
                got.push(r);
            } else if let Some(text) = l.strip_prefix("log ") {
                if let Some(last) = got.last_mut() {
                    last.log.push(text.to_string());
                }
            } else if l.starts_with("boot") {
                boot_line = l.clone();
            }
        }
        // Every expected step, in order, missing ones marked as such.
        let steps = STEPS
            .iter()
            .filter(|spec| p.runs_step(spec.name))
            .map(|spec| {
                let mut r = got
                    .iter()
                    .find(|r| r.name == spec.name)
                    .cloned()
                    .unwrap_or_else(|| StepResult {
                        name: spec.name.to_string(),
                        seed: String::new(),
                        what: String::new(),
                        status: "missing".into(),
                        ms: 0,
                        counts: Vec::new(),
                        msg: "the guest did not report this step".into(),
                        log: Vec::new(),
                    });
                r.seed = spec.seed.to_string();
                r.what = spec.what.to_string();
                r
            })
            .collect::<Vec<_>>();
        // Steps the guest ran that the list does not know still count.
        let mut steps = steps;
        for r in got
            .iter()
            .filter(|r| STEPS.iter().all(|s| s.name != r.name))
        {
            let mut r = r.clone();
            r.seed = "?".into();
            r.what = "not in xtask/src/steps.rs".into();
            steps.push(r);
        }
        Report {
            profile: p.name.to_string(),
            kernel: kernel.to_string(),
            cycles: p.cycles,
            steps,
            finished: run.finished,
            timed_out: run.timed_out,
            timings,
            boot_line,
            console: run.console.display().to_string(),
            bench: crate::bench::Bench::from_lines(run.lines.iter(), crate::bench::host_cpu()),
            fs_bench: crate::fsbench::FsBench::from_lines(run.lines.iter()),
            index_worker: crate::iworker::IndexWorker::from_lines(run.lines.iter()),
        }
    }

    pub fn passed(&self) -> bool {
        self.finished
            && !self.timed_out
            && self
                .steps
                .iter()
                .all(|s| s.status == "pass" || s.status == "skip")
    }

    pub fn print(&self) {
        println!("vm-test ({} profile, kernel {})", self.profile, self.kernel);
        for s in &self.steps {
            let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let extra = if s.msg.is_empty() {
                counts.join(" ")
            } else {
                s.msg.clone()
            };
            println!("  {:<10} {:<7} {:>7} ms  {}", s.name, s.status, s.ms, extra);
        }
        if self.timed_out {
            println!("  TIMEOUT: the guest did not finish; see {}", self.console);
        } else if !self.finished {
            println!(
                "  the guest stopped before its final line; see {}",
                self.console
            );
        }
        let t = &self.timings;
        println!(
            "  build module {:.1} s, tools {:.1} s, boot {:.1} s, guest {:.1} s, total {:.1} s: {}",
            t.build_module_s,
            t.build_tools_s,
            t.boot_s,
            t.guest_s,
            t.total_s,
            if self.passed() { "PASS" } else { "FAIL" }
        );
    }

    fn markdown(&self) -> String {
        let mut m = String::new();
        let t = &self.timings;
        let _ = writeln!(m, "# VexFS kernel module: VM test report\n");
        let _ = writeln!(
            m,
            "Profile `{}`, Debian kernel `{}`, QEMU TCG, `slub_debug=FZPU`. Result: **{}**.\n",
            self.profile,
            self.kernel,
            if self.passed() { "PASS" } else { "FAIL" }
        );
        let _ = writeln!(
            m,
            "| step | seed | checks | status | ms | counts / message |"
        );
        let _ = writeln!(m, "|---|---|---|---|---|---|");
        for s in &self.steps {
            let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut cell = counts.join(" ");
            if !s.msg.is_empty() {
                if !cell.is_empty() {
                    cell.push_str("; ");
                }
                cell.push_str(&s.msg);
            }
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} |",
                s.name,
                s.seed,
                s.what,
                s.status,
                s.ms,
                cell.replace('|', "\\|")
            );
        }
        let _ = writeln!(
            m,
            "\nTimes (s): install {:.1}, module build {:.1}, tools build {:.1}, initramfs {:.1}, \
             boot to first line {:.1}, guest run {:.1}, total {:.1}.",
            t.deps_s,
            t.build_module_s,
            t.build_tools_s,
            t.initramfs_s,
            t.boot_s,
            t.guest_s,
            t.total_s
        );
        if self.timed_out || !self.finished {
            let _ = writeln!(
                m,
                "\nThe guest did not reach its final line (timed out: {}).",
                self.timed_out
            );
        }
        m.push_str(&self.bench.markdown());
        m.push_str(&self.index_worker.markdown());
        m.push_str(&self.fs_bench.markdown());
        for s in self.steps.iter().filter(|s| !s.log.is_empty()) {
            let _ = writeln!(m, "\n## {} output\n\n```", s.name);
            for l in &s.log {
                let _ = writeln!(m, "{l}");
            }
            let _ = writeln!(m, "```");
        }
        let _ = writeln!(m, "\nFull console: `{}`.", self.console);
        m
    }

    fn json(&self) -> String {
        let mut j = String::from("{\n");
        let t = &self.timings;
        let _ = writeln!(j, "  \"profile\": {},", q(&self.profile));
        let _ = writeln!(j, "  \"kernel\": {},", q(&self.kernel));
        let _ = writeln!(j, "  \"cycles\": {},", self.cycles);
        let _ = writeln!(j, "  \"passed\": {},", self.passed());
        let _ = writeln!(j, "  \"finished\": {},", self.finished);
        let _ = writeln!(j, "  \"timed_out\": {},", self.timed_out);
        let _ = writeln!(
            j,
            "  \"timings_s\": {{\"install\": {:.2}, \"build_module\": {:.2}, \"build_tools\": {:.2}, \
             \"initramfs\": {:.2}, \"boot\": {:.2}, \"guest\": {:.2}, \"total\": {:.2}}},",
            t.deps_s, t.build_module_s, t.build_tools_s, t.initramfs_s, t.boot_s, t.guest_s, t.total_s
        );
        let _ = writeln!(j, "  \"boot\": {},", q(&self.boot_line));
        let _ = writeln!(j, "{},", self.bench.json(q));
        let _ = writeln!(j, "{},", self.fs_bench.json());
        let _ = writeln!(j, "{},", self.index_worker.json());
        j.push_str("  \"steps\": [\n");
        for (i, s) in self.steps.iter().enumerate() {
            let counts: Vec<String> = s
                .counts
                .iter()
                .map(|(k, v)| match v.parse::<i64>() {
                    Ok(n) => format!("{}: {n}", q(k)),
                    Err(_) => format!("{}: {}", q(k), q(v)),
                })
                .collect();
            let log: Vec<String> = s.log.iter().map(|l| q(l)).collect();
            let _ = write!(
                j,
                "    {{\"name\": {}, \"seed_step\": {}, \"checks\": {}, \"status\": {}, \"ms\": {}, \"counts\": {{{}}}, \
                 \"message\": {}, \"log\": [{}]}}",
                q(&s.name),
                q(&s.seed),
                q(&s.what),
                q(&s.status),
                s.ms,
                counts.join(", "),
                q(&s.msg),
                log.join(", ")
            );
            j.push_str(if i + 1 < self.steps.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        j.push_str("  ]\n}\n");
        j
    }

    pub fn write(&self, out: &Path) -> Result<()> {
        fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        for (name, text) in [("report.md", self.markdown()), ("report.json", self.json())] {
            let p = out.join(name);
            fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    }
}

/// A JSON string literal.
fn q(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_parse_with_counts_and_message() {
        let r = parse_step(
            "step=cycles status=fail ms=1200 cycles=20 slab_before_kb=100 msg=Slab grew by 9 KiB",
        )
        .expect("parses");
        assert_eq!(r.name, "cycles");
        assert_eq!(r.status, "fail");
        assert_eq!(r.ms, 1200);
        assert_eq!(r.counts[0], ("cycles".to_string(), "20".to_string()));
        assert_eq!(r.msg, "Slab grew by 9 KiB");
        assert!(parse_step("boot kernel=x").is_none());
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(q("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
