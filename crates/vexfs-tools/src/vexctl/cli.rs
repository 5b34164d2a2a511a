//! The command line (clap derive). Values are checked by the commands, so
//! every bad value gets a message naming it and exit status 1.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Embeddings, vector indexes and nearest-neighbour search on a mounted
/// VexFS (docs/VECTORS.md).
#[derive(Parser, Debug)]
#[command(name = "vexctl", version, propagate_version = true)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars or notes on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Set a file's embedding (the user.vexfs.embedding attribute).
    Set(SetArgs),
    /// Print a file's embedding.
    Get(GetArgs),
    /// Remove a file's embedding.
    Rm(RmArgs),
    /// Set many embeddings in a directory from a .npy or .fvecs file.
    Import(ImportArgs),
    /// Create, reconfigure, rebuild, drop, save or describe a directory's index.
    #[command(subcommand)]
    Index(IndexCmd),
    /// The files nearest to a vector under a directory.
    Search(SearchArgs),
    /// The mount, the index covering a path, and optionally a scan of its tree.
    Stats(StatsArgs),
}

/// Where a vector comes from: a file or values on the command line.
#[derive(Args, Debug, Clone)]
pub struct VectorSource {
    /// A vector file: .npy (float32/float64), .fvecs, or text (one vector a line).
    #[arg(long, value_name = "FILE")]
    pub vector: Option<PathBuf>,
    /// Which row of the vector file (default: the file must hold one vector).
    #[arg(long, value_name = "N", requires = "vector")]
    pub row: Option<usize>,
    /// The values, separated by commas or spaces.
    #[arg(
        long,
        value_name = "V,V,...",
        allow_hyphen_values = true,
        conflicts_with = "vector"
    )]
    pub values: Option<String>,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The file (a regular file on the mount).
    pub file: PathBuf,
    #[command(flatten)]
    pub source: VectorSource,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetFormat {
    /// Values on one line, separated by spaces.
    Text,
    /// A float32 .npy array of shape (dim,).
    Npy,
    /// One .fvecs record.
    Fvecs,
    /// The attribute's raw bytes (little-endian float32).
    Raw,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    pub file: PathBuf,
    /// Output format (--json prints a JSON document instead).
    #[arg(long, value_enum, default_value = "text")]
    pub format: GetFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    pub file: PathBuf,
    /// No error if the file has no embedding.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The directory that holds (or will hold) the files.
    pub dir: PathBuf,
    /// Vectors, one per row: .npy (float32/float64, 2-D), .fvecs or text.
    #[arg(long, value_name = "FILE")]
    pub vectors: PathBuf,
    /// File names, one a line, one line a row (default: PREFIX + row number).
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    /// Create missing files (mode 0644).
    #[arg(long)]
    pub create: bool,
    /// Prefix of the generated names when no --names file is given.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// Skip rows whose name cannot be a file name ('.', 'a/b', repeats)
    /// instead of refusing the import.
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Subcommand, Debug)]
pub enum IndexCmd {
    /// Make DIR an index root (needs --dim).
    Create(IndexArgs),
    /// Change DIR's index (options not given keep their current values).
    Config(IndexArgs),
    /// Rebuild DIR's index from its files' embeddings.
    Rebuild(DirArg),
    /// Remove DIR's index (the embeddings stay).
    Drop(DirArg),
    /// Persist DIR's index now.
    Save(DirArg),
    /// State, counts, memory and parameters of the index covering DIR.
    Stats(DirArg),
}

#[derive(Args, Debug)]
pub struct DirArg {
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    pub dir: PathBuf,
    /// hnsw (default), flat, ivf, ivfpq or lsh.
    #[arg(long)]
    pub strategy: Option<String>,
    /// l2 (default), ip or cosine.
    #[arg(long)]
    pub metric: Option<String>,
    /// The embeddings' dimension, 1 to 4096.
    #[arg(long, value_name = "N")]
    pub dim: Option<u32>,
    /// Strategy parameters: key=value,... (docs/VECTORS.md).
    #[arg(long, value_name = "K=V,...")]
    pub params: Option<String>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The directory whose subtree is searched.
    pub dir: PathBuf,
    #[command(flatten)]
    pub source: VectorSource,
    /// Search near this file's embedding (the file itself is left out).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["vector", "values"])]
    pub like: Option<PathBuf>,
    /// Many queries: every row of this vector file (.npy, .fvecs or text),
    /// sent in batches; prints "ROW<TAB>PATH<TAB>DISTANCE" per result.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["vector", "values", "like"])]
    pub queries: Option<PathBuf>,
    /// Keep the --like file in the results.
    #[arg(long, requires = "like")]
    pub include_self: bool,
    /// Number of results, 1 to 4096.
    #[arg(short, long, default_value = "10")]
    pub k: u32,
    /// HNSW candidate list size (default: the index's).
    #[arg(long)]
    pub ef: Option<u32>,
    /// IVF lists / LSH probes to visit (default: the index's).
    #[arg(long)]
    pub nprobe: Option<u32>,
    /// IVF-PQ / LSH exact re-rank depth (default: the index's).
    #[arg(long)]
    pub rerank: Option<u32>,
    /// l2, ip or cosine (must match the index's; exact scans use it).
    #[arg(long)]
    pub metric: Option<String>,
    /// Compare every embedding exactly, even where an index exists.
    #[arg(long)]
    pub exact: bool,
    /// subtree=REL/DIR, name=GLOB or xattr=NAME=VALUE (repeatable, ANDed).
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Print paths relative to DIR instead of joined to it.
    #[arg(long)]
    pub relative: bool,
    /// Do not resolve paths (print inode numbers; for benchmarks).
    #[arg(long)]
    pub no_paths: bool,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// A file or directory on the mount (default: the current directory).
    pub path: Option<PathBuf>,
    /// Walk the tree under PATH: count embeddings by dimension, list index roots.
    #[arg(long, short)]
    pub scan: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("vexctl").chain(args.iter().copied()))
    }

    #[test]
    fn parses() {
        let c = parse(&[
            "search",
            "d",
            "--values",
            "-1,2",
            "-k",
            "5",
            "--json",
            "--filter",
            "name=a*",
            "--filter",
            "subtree=x",
        ])
        .unwrap();
        let Cmd::Search(s) = c.cmd else { panic!() };
        assert!(c.json);
        assert_eq!(s.k, 5);
        assert_eq!(s.source.values.as_deref(), Some("-1,2"));
        assert_eq!(s.filter.len(), 2);
        assert!(parse(&["--json", "index", "stats", "d"]).unwrap().json);
        let Cmd::Index(IndexCmd::Create(a)) =
            parse(&["index", "create", "d", "--dim", "50", "--strategy", "flat"])
                .unwrap()
                .cmd
        else {
            panic!()
        };
        assert_eq!((a.dim, a.strategy.as_deref()), (Some(50), Some("flat")));
    }

    #[test]
    fn refuses() {
        assert!(parse(&["search", "d", "--like", "a", "--values", "1"]).is_err());
        assert!(parse(&["set", "f", "--vector", "a.npy", "--values", "1"]).is_err());
        assert!(parse(&["search", "d", "-k", "-3", "--values", "1"]).is_err());
        assert!(parse(&["set", "f", "--row", "2"]).is_err());
        assert!(parse(&["get", "f", "--format", "csv"]).is_err());
        assert!(parse(&["frobnicate"]).is_err());
    }
}
