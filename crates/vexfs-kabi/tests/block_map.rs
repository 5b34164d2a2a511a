//! The page cache's mapping calls through the C ABI: a write mapping
//! allocates, the data written at the mapped blocks is the file's after
//! the size follows, and bad requests are negative errnos.

use vexfs_kabi::*;

mod common;
use common::{fresh_disk, mount, now};

const EINVAL: i32 = 22;
const EISDIR: i32 = 21;
const EFBIG: i32 = 27;

#[test]
fn mapped_blocks_carry_the_file_data() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    // SAFETY: (the whole block) `fs` is a live handle used from this thread
    // only; every pointer passed describes a live local value.
    unsafe {
        let root = vexfs_root_ino(fs);
        let bs = u64::from(vexfs_block_size(fs));
        let mut st = VexfsStat::default();
        let rc = vexfs_create(
            fs,
            root,
            b"f".as_ptr(),
            1,
            0o100644,
            0,
            0,
            0,
            now(),
            &mut st,
        );
        assert_eq!(rc, 0);
        let file = st.ino;
        let mut m = VexfsMap::default();
        assert_eq!(vexfs_map_blocks(fs, file, 0, 3, 0, &mut m), 0);
        assert_eq!((m.flags, m.len), (0, 3), "a hole");
        assert_eq!(
            vexfs_map_blocks(fs, file, 0, 3, VEXFS_MAP_CREATE, &mut m),
            0
        );
        assert_eq!(m.flags, VEXFS_MAP_MAPPED | VEXFS_MAP_NEW);
        assert_eq!(m.len, 3);
        assert_eq!(m.blocks_512, 3 * bs / 512);
        let physical = m.physical;
        let mut again = VexfsMap::default();
        assert_eq!(
            vexfs_map_blocks(fs, file, 1, 8, VEXFS_MAP_CREATE, &mut again),
            0
        );
        assert_eq!(again.flags, VEXFS_MAP_MAPPED, "already allocated");
        assert_eq!((again.physical, again.len), (physical + 1, 2));

        // Write the blocks the way the page cache does, behind the core.
        let data: Vec<u8> = (0..3 * bs).map(|i| (i % 253) as u8).collect();
        let at = (physical * bs) as usize;
        disk.data[at..at + data.len()].copy_from_slice(&data);
        let end = 2 * bs + 5;
        assert_eq!(vexfs_extend_size(fs, file, end, now(), &mut st), 0);
        assert_eq!(st.size, end);
        let mut back = vec![0u8; data.len()];
        let n = vexfs_read(fs, file, 0, back.as_mut_ptr(), back.len());
        assert_eq!(n, end as i64);
        assert_eq!(&back[..end as usize], &data[..end as usize]);

        assert_eq!(vexfs_map_blocks(fs, file, 0, 0, 0, &mut m), -EINVAL);
        assert_eq!(
            vexfs_map_blocks(fs, root, 0, 1, VEXFS_MAP_CREATE, &mut m),
            -EISDIR
        );
        assert_eq!(
            vexfs_map_blocks(fs, file, u64::MAX / bs, 1, 0, &mut m),
            -EFBIG
        );
        assert_eq!(
            vexfs_map_blocks(fs, file, 0, 1, 0, std::ptr::null_mut()),
            -EINVAL
        );
        assert_eq!(vexfs_unmount(fs, now()), 0);
    }
}
