//! `vexfs-fuse <image-or-device> <mountpoint> [-o opts] [-f]`
fn main() {
    std::process::exit(vexfs_fuse::cli_main());
}
