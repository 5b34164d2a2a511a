//! Where a results file came from: the engine's git commit (and whether
//! the work tree had uncommitted changes when the binary was built) and
//! the SIMD level each side ran,
//! so a table can be traced to the code that produced it.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

/// The git state of the tree the benchmark was built from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCommit {
    /// Full commit hash of HEAD.
    pub commit: String,
    /// Tracked files differed from HEAD when the run started.
    pub dirty: bool,
}

/// The commit this binary was built from (recorded by `build.rs`), or,
/// when the build had no git, the checkout's state now.
pub fn engine_commit(repo: &Path) -> Option<EngineCommit> {
    let commit = env!("VEXFS_BUILD_COMMIT");
    match env!("VEXFS_BUILD_DIRTY") {
        "0" | "1" if !commit.is_empty() => Some(EngineCommit {
            commit: commit.to_string(),
            dirty: env!("VEXFS_BUILD_DIRTY") == "1",
        }),
        _ => checkout_commit(repo),
    }
}

/// `git rev-parse HEAD` and `git status` in `repo`; `None` outside a git
/// checkout or without git.
pub fn checkout_commit(repo: &Path) -> Option<EngineCommit> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    Some(EngineCommit { commit, dirty })
}

/// Side name -> SIMD level: `vexfs` from its kernel table, each peer that
/// runs (`run`) from the `simd` field of its probe information.
pub fn simd_levels(vexfs: &str, peers: &serde_json::Value, run: &[String]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("vexfs".into(), vexfs.into());
    if let Some(o) = peers.as_object() {
        for (name, info) in o.iter().filter(|(n, _)| run.contains(n)) {
            if let Some(s) = info.get("simd").and_then(|s| s.as_str()) {
                m.insert(name.clone(), s.into());
            }
        }
    }
    serde_json::Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_levels_take_each_peers_simd_field() {
        let peers = serde_json::json!({
            "faiss": {"simd": "AVX2", "version": "1"},
            "usearch": {"error": "not installed"},
        });
        let run = ["faiss".to_string(), "usearch".to_string()];
        let v = simd_levels("avx2", &peers, &run);
        assert_eq!(v, serde_json::json!({"vexfs": "avx2", "faiss": "AVX2"}));
        let v = simd_levels("avx2", &peers, &[]);
        assert_eq!(v, serde_json::json!({"vexfs": "avx2"}));
    }

    #[test]
    fn this_checkout_has_a_commit() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        for c in [engine_commit(repo), checkout_commit(repo)] {
            let c = c.expect("a git checkout");
            assert_eq!(c.commit.len(), 40);
            assert!(c.commit.chars().all(|x| x.is_ascii_hexdigit()));
        }
    }
}
