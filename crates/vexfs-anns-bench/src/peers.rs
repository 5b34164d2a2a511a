//! Runs FAISS, hnswlib and usearch through `bench/peers/run_peers.py` on
//! the very same vectors, exchanged as .npy files.

use crate::data::{write_npy_f32, write_npy_i32, IdMatrix, Matrix};
use crate::results::Curve;
use crate::sweep::Sweep;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const ALL_PEERS: [&str; 3] = ["faiss", "hnswlib", "usearch"];

/// Repository root (the workspace this crate lives in).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn default_script() -> PathBuf {
    repo_root().join("bench/peers/run_peers.py")
}

pub fn default_venv() -> PathBuf {
    repo_root().join(".venv")
}

pub fn python(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

/// Create or complete the peer virtualenv with `bench/peers/setup.sh`.
pub fn setup_venv(venv: &Path) -> Result<()> {
    let script = repo_root().join("bench/peers/setup.sh");
    eprintln!(
        "setting up the peer environment in {} (first run only)",
        venv.display()
    );
    let status = Command::new("bash")
        .arg(&script)
        .arg(venv)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        bail!(
            "{} failed ({status}); peers need faiss-cpu, hnswlib and usearch from PyPI",
            script.display()
        );
    }
    Ok(())
}

/// Which peers import in the venv, with their version and SIMD facts.
pub fn probe(venv: &Path, script: &Path, scratch: &Path) -> Result<serde_json::Value> {
    let out = scratch.join("peers-probe.json");
    let status = Command::new(python(venv))
        .arg(script)
        .args(["--dir", "."])
        .arg("--out")
        .arg(&out)
        .arg("--probe")
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start {}", python(venv).display()))?;
    if !status.success() {
        bail!("peer probe failed ({status})");
    }
    Ok(serde_json::from_slice(&std::fs::read(&out)?)?)
}

#[derive(Deserialize)]
struct PeerOutput {
    #[serde(default)]
    peers: serde_json::Value,
    #[serde(default)]
    curves: Vec<Curve>,
    #[serde(default)]
    errors: serde_json::Value,
}

/// Results of one peer invocation.
pub struct PeerRun {
    pub info: serde_json::Value,
    pub curves: Vec<Curve>,
    pub errors: serde_json::Value,
}

/// Everything the peer script needs for one dataset.
pub struct PeerJob<'a> {
    pub dir: &'a Path,
    pub base: &'a Matrix,
    pub train: &'a Matrix,
    pub queries: &'a Matrix,
    pub gt: &'a IdMatrix,
    /// "l2" or "ip" (cosine data are normalised before they get here).
    pub metric: &'a str,
    pub k: usize,
    pub threads: usize,
    pub strategies: &'a [String],
    pub peers: &'a [String],
    pub sweep: &'a Sweep,
}

pub fn run(job: &PeerJob, venv: &Path, script: &Path) -> Result<PeerRun> {
    std::fs::create_dir_all(job.dir)
        .with_context(|| format!("cannot create {}", job.dir.display()))?;
    write_npy_f32(&job.dir.join("base.npy"), job.base)?;
    write_npy_f32(&job.dir.join("train.npy"), job.train)?;
    write_npy_f32(&job.dir.join("queries.npy"), job.queries)?;
    write_npy_i32(&job.dir.join("gt.npy"), job.gt)?;
    let mut cfg = serde_json::to_value(job.sweep)?;
    let obj = cfg.as_object_mut().expect("sweep serialises to an object");
    obj.insert("k".into(), job.k.into());
    obj.insert("metric".into(), job.metric.into());
    obj.insert("threads".into(), job.threads.into());
    obj.insert("strategies".into(), serde_json::to_value(job.strategies)?);
    obj.insert("peers".into(), serde_json::to_value(job.peers)?);
    std::fs::write(
        job.dir.join("config.json"),
        serde_json::to_string_pretty(&cfg)?,
    )?;
    let out = job.dir.join("peers.json");
    let _ = std::fs::remove_file(&out);
    let status = Command::new(python(venv))
        .arg(script)
        .arg("--dir")
        .arg(job.dir)
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        // Let the libraries see all cores; the script sets per-step counts.
        .env_remove("OMP_NUM_THREADS")
        .status()
        .with_context(|| format!("cannot start {}", python(venv).display()))?;
    // A crash after some peers finished still leaves their results.
    let parsed: Option<PeerOutput> = std::fs::read(&out)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match parsed {
        Some(p) => {
            let mut errors = p.errors;
            if !status.success() {
                if let Some(o) = errors.as_object_mut() {
                    o.insert(
                        "harness".into(),
                        format!("peer script exited with {status}").into(),
                    );
                }
            }
            Ok(PeerRun {
                info: p.peers,
                curves: p.curves,
                errors,
            })
        }
        None => bail!("peer script failed ({status}) without results"),
    }
}
