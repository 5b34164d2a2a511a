//! The Rust mirror and `include/uapi/vexfs.h` agree: every struct's size,
//! every field's offset and every ioctl number, as the C compiler sees them.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;
use vexfs_uapi::*;

/// (C expression, value the Rust side has for it).
fn expectations() -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = Vec::new();
    macro_rules! size {
        ($c:literal, $t:ty) => {
            v.push((format!("sizeof(struct {})", $c), size_of::<$t>() as u64));
        };
    }
    macro_rules! off {
        ($c:literal, $t:ty, $($f:ident),*) => {$(
            v.push((
                format!("offsetof(struct {}, {})", $c, stringify!($f)),
                offset_of!($t, $f) as u64,
            ));
        )*};
    }
    size!("vexfs_hit", Hit);
    off!(
        "vexfs_hit",
        Hit,
        ino,
        distance,
        path_off,
        path_len,
        flags,
        reserved
    );
    size!("vexfs_search", Search);
    off!(
        "vexfs_search",
        Search,
        size,
        flags,
        k,
        dim,
        metric,
        ef,
        nprobe,
        rerank,
        subtree_ino,
        name_glob,
        xattr_name,
        xattr_value_len,
        reserved0,
        xattr_value,
        count,
        total,
        out_flags,
        names_used,
        scanned,
        reserved1,
        hits,
        names,
        vector
    );
    size!("vexfs_vector_chunk", VectorChunk);
    off!(
        "vexfs_vector_chunk",
        VectorChunk,
        size,
        dim,
        offset,
        count,
        data
    );
    size!("vexfs_results", Results);
    off!(
        "vexfs_results",
        Results,
        size,
        offset,
        count,
        total,
        names_used,
        reserved,
        hits,
        names
    );
    size!("vexfs_bulk", Bulk);
    off!(
        "vexfs_bulk",
        Bulk,
        size,
        flags,
        dim,
        count,
        names_len,
        done,
        error,
        error_index,
        data
    );
    size!("vexfs_batch_hit", BatchHit);
    off!("vexfs_batch_hit", BatchHit, ino, distance, reserved);
    size!("vexfs_search_batch", SearchBatch);
    off!(
        "vexfs_search_batch",
        SearchBatch,
        size,
        flags,
        k,
        dim,
        count,
        metric,
        ef,
        nprobe,
        rerank,
        reserved0,
        subtree_ino,
        name_glob,
        xattr_name,
        xattr_value_len,
        reserved1,
        xattr_value,
        out_flags,
        reserved2,
        scanned,
        found,
        data
    );
    size!("vexfs_index_config", IndexConfig);
    off!(
        "vexfs_index_config",
        IndexConfig,
        size,
        flags,
        strategy,
        metric,
        dim,
        reserved,
        params
    );
    size!("vexfs_index_stats", IndexStats);
    off!(
        "vexfs_index_stats",
        IndexStats,
        size,
        state,
        strategy,
        metric,
        dim,
        loaded,
        root_ino,
        vectors,
        unindexed,
        deleted,
        memory_bytes,
        disk_bytes,
        generation,
        pending,
        params
    );
    for (name, val) in [
        ("VEXFS_IOC_SEARCH", IOC_SEARCH),
        ("VEXFS_IOC_STAGE_VECTOR", IOC_STAGE_VECTOR),
        ("VEXFS_IOC_RESULTS", IOC_RESULTS),
        ("VEXFS_IOC_BULK_SET", IOC_BULK_SET),
        ("VEXFS_IOC_INDEX_CREATE", IOC_INDEX_CREATE),
        ("VEXFS_IOC_INDEX_DROP", IOC_INDEX_DROP),
        ("VEXFS_IOC_INDEX_REBUILD", IOC_INDEX_REBUILD),
        ("VEXFS_IOC_INDEX_SAVE", IOC_INDEX_SAVE),
        ("VEXFS_IOC_INDEX_STATS", IOC_INDEX_STATS),
        ("VEXFS_IOC_SEARCH_BATCH", IOC_SEARCH_BATCH),
    ] {
        v.push(((*name).to_string(), u64::from(val)));
    }
    for (name, val) in [
        ("VEXFS_MAX_DIM", MAX_DIM as u64),
        ("VEXFS_INLINE_DIM", INLINE_DIM as u64),
        ("VEXFS_HITS_MAX", HITS_MAX as u64),
        ("VEXFS_NAMES_MAX", NAMES_MAX as u64),
        ("VEXFS_K_MAX", K_MAX as u64),
        ("VEXFS_BULK_DATA", BULK_DATA as u64),
        ("VEXFS_BATCH_MAX", BATCH_MAX as u64),
        ("VEXFS_BATCH_DATA", BATCH_DATA as u64),
        ("VEXFS_PARAMS_MAX", PARAMS_MAX as u64),
        ("VEXFS_SEARCH_FLAGS_KNOWN", u64::from(SEARCH_FLAGS_KNOWN)),
        ("VEXFS_BULK_FLAGS_KNOWN", u64::from(BULK_FLAGS_KNOWN)),
        ("VEXFS_INDEX_FLAGS_KNOWN", u64::from(INDEX_FLAGS_KNOWN)),
        ("VEXFS_STRATEGY_LSH", u64::from(STRATEGY_LSH)),
        ("VEXFS_METRIC_COSINE", u64::from(METRIC_COSINE)),
        ("VEXFS_STATE_STALE", u64::from(STATE_STALE)),
        ("VEXFS_OUT_MORE", u64::from(OUT_MORE)),
        ("VEXFS_HIT_NO_PATH", u64::from(HIT_NO_PATH)),
    ] {
        v.push((name.to_string(), val));
    }
    v
}

#[test]
fn c_header_and_rust_mirror_agree() {
    let header = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/uapi/vexfs.h");
    let header = header.canonicalize().expect("include/uapi/vexfs.h exists");
    let exp = expectations();
    let mut c = String::from("#include <stddef.h>\n#include <stdio.h>\n");
    c.push_str(&format!(
        "#include \"{}\"\nint main(void) {{\n",
        header.display()
    ));
    for (i, (expr, _)) in exp.iter().enumerate() {
        c.push_str(&format!(
            "    printf(\"{i} %llu\\n\", (unsigned long long)({expr}));\n"
        ));
    }
    c.push_str("    return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("vexfs-uapi-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let bin = dir.join("layout");
    std::fs::write(&src, c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(st.success(), "the uapi header must compile cleanly");
    let out = Command::new(&bin).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let got: BTreeMap<usize, u64> = text
        .lines()
        .map(|l| {
            let (i, v) = l.split_once(' ').unwrap();
            (i.parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(got.len(), exp.len());
    for (i, (expr, want)) in exp.iter().enumerate() {
        assert_eq!(
            got[&i], *want,
            "{expr}: C says {}, Rust says {want}",
            got[&i]
        );
    }
}

#[test]
fn sizes_decode_from_command_numbers() {
    for cmd in ALL_COMMANDS {
        let (i, o) = ioc_sizes(cmd);
        assert!(i < 16384 && o < 16384);
    }
    assert_eq!(
        ioc_sizes(IOC_SEARCH),
        (size_of::<Search>(), size_of::<Search>())
    );
    assert_eq!(ioc_sizes(IOC_INDEX_STATS), (0, size_of::<IndexStats>()));
    assert_eq!(ioc_sizes(IOC_INDEX_DROP), (0, 0));
}

#[test]
fn string_fields() {
    let mut f = [0u8; 8];
    assert!(set_c_str(&mut f, b"abc"));
    assert_eq!(c_str(&f), b"abc");
    assert!(!set_c_str(&mut f, b"12345678"), "no room for the NUL");
    assert!(!set_c_str(&mut f, b"a\0b"));
    let full = [b'x'; 4];
    assert_eq!(c_str(&full), b"xxxx");
}
