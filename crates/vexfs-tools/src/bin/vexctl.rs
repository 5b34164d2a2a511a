//! `vexctl`: embeddings, vector indexes and nearest-neighbour search on a
//! mounted VexFS. Exit status: 0 ok, 1 usage or bad input, 2 not found,
//! 3 permission denied, 4 filesystem or ioctl error (README.md).

use clap::Parser;
use std::process::ExitCode;
use vexfs_tools::vexctl::{cli::Cli, cmd, error::Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap's own exit code for usage errors is 2, which vexctl
            // uses for "not found": usage errors are 1 here.
            return if e.use_stderr() {
                ExitCode::from(Exit::Usage.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vexctl: {e}");
            ExitCode::from(e.exit.code())
        }
    }
}
