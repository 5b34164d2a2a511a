//! The same daemon under the name `mount.fuse3` runs for `-t fuse.vexfs`.
fn main() {
    std::process::exit(vexfs_fuse::cli_main());
}
