//! Printing: JSON documents (the shapes are in the README) and the plain
//! text forms, plus the index stats record in both.

use super::error::{CtlError, Result};
use super::params::{metric_name, strategy_name};
use serde::Serialize;
use std::io::Write;
use vexfs_uapi::{self as uapi, IndexStats};

/// Print `v` as pretty JSON on stdout, one document per command.
pub fn json<T: Serialize>(v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| CtlError::failure(format!("encoding JSON: {e}")))?;
    line(&text)
}

/// Print one line on stdout; a closed pipe (`vexctl ... | head`) is not
/// an error worth a message.
pub fn line(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CtlError::failure(format!("writing output: {e}")))
        }
        _ => Ok(()),
    }
}

/// A path for output (lossy for non-UTF-8 bytes).
pub fn path_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The state of an index as a word.
pub fn state_name(state: u32) -> String {
    match state {
        uapi::STATE_NONE => "none".into(),
        uapi::STATE_CLEAN => "clean".into(),
        uapi::STATE_DIRTY => "dirty".into(),
        uapi::STATE_STALE => "stale".into(),
        other => format!("unknown({other})"),
    }
}

/// `vexfs_index_stats` as JSON (`vexctl index stats --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatsJson {
    /// The directory asked about.
    pub dir: String,
    /// The index root's path, when found among `dir` and its ancestors.
    pub root: Option<String>,
    pub root_ino: u64,
    pub state: String,
    pub strategy: Option<String>,
    pub metric: Option<String>,
    pub dim: Option<u32>,
    pub loaded: bool,
    pub vectors: u64,
    pub unindexed: u64,
    pub deleted: u64,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub generation: u64,
    /// Of `vectors`: stored and searched exactly, not yet in the strategy.
    pub pending: u64,
    pub params: String,
}

impl StatsJson {
    pub fn new(dir: &str, root: Option<String>, st: &IndexStats) -> Self {
        let some = st.state != uapi::STATE_NONE;
        StatsJson {
            dir: dir.to_string(),
            root,
            root_ino: st.root_ino,
            state: state_name(st.state),
            strategy: some.then(|| strategy_name(st.strategy)),
            metric: some.then(|| metric_name(st.metric)),
            dim: some.then_some(st.dim),
            loaded: st.loaded != 0,
            vectors: st.vectors,
            unindexed: st.unindexed,
            deleted: st.deleted,
            memory_bytes: st.memory_bytes,
            disk_bytes: st.disk_bytes,
            generation: st.generation,
            pending: st.pending,
            params: path_text(uapi::c_str(&st.params)),
        }
    }

    /// The aligned `key: value` lines of the text form.
    pub fn text_lines(&self) -> Vec<String> {
        if self.state == "none" {
            return vec![format!(
                "{}: no index covers this directory (searches scan exactly)",
                self.dir
            )];
        }
        let root = match &self.root {
            Some(r) => format!("{r} (inode {})", self.root_ino),
            None => format!("inode {}", self.root_ino),
        };
        let rows: Vec<(&str, String)> = vec![
            ("index root", root),
            ("state", self.state.clone()),
            ("strategy", self.strategy.clone().unwrap_or_default()),
            ("metric", self.metric.clone().unwrap_or_default()),
            (
                "dimension",
                self.dim.map(|d| d.to_string()).unwrap_or_default(),
            ),
            (
                "parameters",
                if self.params.is_empty() {
                    "(defaults)".into()
                } else {
                    self.params.clone()
                },
            ),
            (
                "loaded",
                if self.loaded {
                    "yes".into()
                } else {
                    "no".into()
                },
            ),
            ("vectors", self.vectors.to_string()),
            ("pending", self.pending.to_string()),
            ("unindexed", self.unindexed.to_string()),
            ("deleted", self.deleted.to_string()),
            ("memory", bytes(self.memory_bytes)),
            ("disk", bytes(self.disk_bytes)),
            ("generation", self.generation.to_string()),
        ];
        rows.into_iter()
            .map(|(k, v)| format!("{:<11} {v}", format!("{k}:")))
            .collect()
    }
}

/// "1.5 MiB (1572864 bytes)".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!(
        "{v:.1} {} ({n} bytes)",
        UNITS.get(u).copied().unwrap_or("PiB")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexfs_uapi::Request;

    #[test]
    fn stats_json_shape() {
        let mut st = IndexStats::new_request();
        st.state = uapi::STATE_CLEAN;
        st.strategy = uapi::STRATEGY_FLAT;
        st.metric = uapi::METRIC_COSINE;
        st.dim = 50;
        st.root_ino = 12;
        st.vectors = 400;
        st.memory_bytes = 2048;
        uapi::set_c_str(&mut st.params, b"m=16");
        let j = StatsJson::new("words", Some("words".into()), &st);
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["state"], "clean");
        assert_eq!(v["strategy"], "flat");
        assert_eq!(v["metric"], "cosine");
        assert_eq!(v["dim"], 50);
        assert_eq!(v["vectors"], 400);
        assert_eq!(v["params"], "m=16");
        assert_eq!(v["root"], "words");
        let lines = j.text_lines();
        assert!(
            lines[0].starts_with("index root: words (inode 12)"),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l == "memory:     2.0 KiB (2048 bytes)"),
            "{lines:?}"
        );
        let none = StatsJson::new("d", None, &IndexStats::new_request());
        assert_eq!(
            serde_json::to_value(&none).unwrap()["strategy"],
            serde_json::Value::Null
        );
        assert!(none.text_lines()[0].contains("no index"));
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes(10), "10 bytes");
        assert_eq!(bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(bytes(3 << 20), "3.0 MiB (3145728 bytes)");
    }
}
