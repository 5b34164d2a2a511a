//! One module per command; [`run`] dispatches.

mod embed;
mod import;
mod index;
mod search;
mod search_batch;
mod stats;

use super::cli::{Cli, Cmd, VectorSource};
use super::error::{CtlError, Result};
use super::vectors;
use std::path::Path;

/// What every command needs to know about how it was asked.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub json: bool,
    pub quiet: bool,
}

impl Ctx {
    /// Whether progress bars and notes go to stderr.
    pub fn progress(&self) -> bool {
        crate::progress::wanted(self.quiet)
    }

    /// A note on stderr, unless quiet.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("vexctl: {msg}");
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        json: cli.json,
        quiet: cli.quiet,
    };
    match cli.cmd {
        Cmd::Set(a) => embed::set(&ctx, &a),
        Cmd::Get(a) => embed::get(&ctx, &a),
        Cmd::Rm(a) => embed::rm(&ctx, &a),
        Cmd::Import(a) => import::run(&ctx, &a),
        Cmd::Index(c) => index::run(&ctx, &c),
        Cmd::Search(a) => search::run(&ctx, &a),
        Cmd::Stats(a) => stats::run(&ctx, &a),
    }
}

/// Read the vector a command was given (`--vector FILE [--row N]` or
/// `--values`), checked (finite, 1..=4096 dimensions). `None` if neither
/// was given.
pub fn load_vector(src: &VectorSource) -> Result<Option<Vec<f32>>> {
    if let Some(vals) = &src.values {
        let v =
            vectors::parse_values(vals).map_err(|e| CtlError::usage(format!("--values: {e}")))?;
        vectors::check(&vectors::Matrix::single(v.clone()))
            .map_err(|e| CtlError::usage(format!("--values: {e}")))?;
        return Ok(Some(v));
    }
    let Some(path) = &src.vector else {
        return Ok(None);
    };
    let m = read_vectors(path)?;
    let row = match src.row {
        Some(r) => r,
        None if m.rows == 1 => 0,
        None => {
            return Err(CtlError::usage(format!(
                "{}: holds {} vectors; pick one with --row N",
                path.display(),
                m.rows
            )))
        }
    };
    let v = m.row(row).ok_or_else(|| {
        CtlError::usage(format!(
            "{}: has no row {row} (it holds {} vectors)",
            path.display(),
            m.rows
        ))
    })?;
    Ok(Some(v.to_vec()))
}

/// Read and check a vector file; problems are bad input (exit 1).
pub fn read_vectors(path: &Path) -> Result<vectors::Matrix> {
    vectors::read_file(path).map_err(|e| CtlError::usage(format!("{}: {e}", path.display())))
}
