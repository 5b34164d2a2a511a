//! Every decoder of on-disk bytes, fed arbitrary input: none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vexfs_format::{
    dirent, extent, header, inode, journal, node, superblock, xattr, xattr_pack, xattr_tree,
};

fuzz_target!(|data: &[u8]| {
    let _ = superblock::Superblock::decode(data);
    let _ = inode::Inode::decode(data, 17);
    if let Ok(h) = node::validate(data) {
        for i in 0..h.nitems {
            let _ = node::value(data, i);
            let _ = node::child(data, i);
        }
        let _ = node::floor_slot(data, 1234);
    }
    let _ = dirent::DirEntry::decode(data);
    let _ = journal::JournalSuper::decode(data, 1024, 64, &[0; 16]);
    if let Ok(journal::LogBlock::Descriptor { count, .. }) = journal::decode_log_block(data) {
        for i in 0..count {
            let _ = journal::descriptor_target(data, i);
        }
    }
    let _ = extent::Extent::decode_value(5, data, 1 << 20);
    let _ = header::verify(data, header::NODE_MAGIC, 3, "node");
    if let Ok(it) = xattr::XattrIter::new(data) {
        for e in it.take(10_000) {
            if e.is_err() {
                break;
            }
        }
    }
    if let Ok(it) = xattr::XattrIter::new_at(data, xattr_tree::TREE_BLOB_HEADER) {
        for e in it.take(10_000) {
            if e.is_err() {
                break;
            }
        }
    }
    let _ = xattr_tree::TreeItem::decode(data);
    if let Ok(m) = xattr_pack::map(data) {
        let _ = xattr_pack::find_free(m, (data.len() % 70) as u32);
    }
    if data.len() >= 8 {
        let off = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let len = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        for bs in [1024usize, 4096, 65536] {
            let _ = xattr_pack::blob_units(off, len, bs);
        }
    }
    // Mutation paths must stay in bounds on arbitrary bodies too.
    let mut body = data.to_vec();
    let mut scratch = vec![0u8; body.len()];
    if node::header(&body).is_ok() {
        let _ = node::insert_at(&mut body, 0, 42, b"value", &mut scratch);
        let _ = node::remove_at(&mut body, 0);
    }
});
