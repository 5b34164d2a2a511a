//! The vector ioctl and embedding xattr decoders, fed arbitrary requests on
//! a small image with an indexed directory: every malformed struct must be
//! an error (EINVAL and friends), never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{
    Caller, Fs, IndexKind, IndexSpec, MemDevice, Metric, MountOptions, QuerySession, Timestamp,
    XattrFlags,
};
use vexfs_uapi as u;

const T: Timestamp = Timestamp::new(1_700_000_000, 0);
const DIM: usize = 4;

/// The image, the indexed directory and one file in it.
fn base() -> &'static (Vec<u8>, u64, u64) {
    static IMG: OnceLock<(Vec<u8>, u64, u64)> = OnceLock::new();
    IMG.get_or_init(|| {
        let opts = MkfsOptions {
            block_size: 1024,
            ..Default::default()
        };
        let dev = format(MemDevice::new(2 << 20), &opts, T, &mut |_, _| {}).unwrap();
        let mut fs = Fs::mount(dev, MountOptions::default(), T).unwrap();
        let d = fs.mkdir(1, b"dir", 0o755, 0, 0, T).unwrap();
        let spec = IndexSpec {
            kind: IndexKind::Flat,
            metric: Metric::L2,
            dim: DIM,
            params: Vec::new(),
        };
        fs.index_create(d.ino, spec, false).unwrap();
        let mut first = 0;
        for i in 0..20u32 {
            let f = fs
                .create(d.ino, format!("f{i}").as_bytes(), 0o644, 0, 0, T)
                .unwrap();
            let v: Vec<u8> = (0..DIM)
                .flat_map(|j| ((i * 7 + j as u32) as f32).to_le_bytes())
                .collect();
            fs.setxattr(
                f.ino,
                u::EMBEDDING_XATTR.as_bytes(),
                &v,
                XattrFlags::default(),
                T,
            )
            .unwrap();
            if i == 0 {
                first = f.ino;
            }
        }
        (fs.unmount(T).unwrap().data, d.ino, first)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (img, dir, file) = base();
    let Ok(mut fs) = Fs::mount(MemDevice { data: img.clone() }, MountOptions::default(), T) else {
        return;
    };
    let cmd = u::ALL_COMMANDS[usize::from(sel) % u::ALL_COMMANDS.len()];
    let (want_in, want_out) = u::ioc_sizes(cmd);
    let mut input = rest.to_vec();
    // Mostly well-framed requests (right length and `size`), so the
    // fuzzer reaches the field checks; the rest keep their own length.
    if sel & 0x80 == 0 {
        input.resize(want_in, 0);
        if let Some(size) = input.get_mut(..4) {
            size.copy_from_slice(&(want_in as u32).to_le_bytes());
        }
    }
    let caller = Caller {
        uid: if sel & 0x40 != 0 { 1000 } else { 0 },
        gid: 0,
        groups: Vec::new(),
    };
    let mut session = QuerySession::default();
    // The reply buffer the kernel or the daemon hands in: the size the
    // command encodes.
    let mut out = vec![0u8; want_out];
    if let Ok(n) = fs.vector_ioctl(*dir, cmd, &input, &mut out, &mut session, &caller, T) {
        assert!(n <= out.len(), "a reply longer than its buffer");
    }
    // Page through whatever the session now holds.
    let page_size = std::mem::size_of::<u::Results>();
    let mut page = vec![0u8; page_size];
    page[..4].copy_from_slice(&(page_size as u32).to_le_bytes());
    page[4..8].copy_from_slice(&u32::from(sel).to_le_bytes());
    let mut out = vec![0u8; page_size];
    let _ = fs.vector_ioctl(*dir, u::IOC_RESULTS, &page, &mut out, &mut session, &caller, T);
    // The same bytes as an embedding value.
    let _ = fs.setxattr(
        *file,
        u::EMBEDDING_XATTR.as_bytes(),
        rest,
        XattrFlags::default(),
        T,
    );
    let _ = fs.getxattr(*file, u::EMBEDDING_XATTR.as_bytes());
});
