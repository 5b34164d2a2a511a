//! `vexctl set`, `get` and `rm`: one file's embedding, through the
//! `user.vexfs.embedding` attribute.

use super::Ctx;
use crate::vexctl::cli::{GetArgs, GetFormat, RmArgs, SetArgs};
use crate::vexctl::error::{errno_of, CtlError, Result};
use crate::vexctl::{fsinfo, output, sys, vectors};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::Path;
use vexfs_uapi::EMBEDDING_XATTR;

#[derive(Serialize)]
struct SetJson {
    path: String,
    dim: usize,
}

pub fn set(ctx: &Ctx, a: &SetArgs) -> Result<()> {
    let v = super::load_vector(&a.source)?
        .ok_or_else(|| CtlError::usage("set needs --vector FILE or --values V,V,..."))?;
    set_one(&a.file, &v)?;
    if !ctx.json && !ctx.quiet {
        warn_if_not_vexfs(ctx, &a.file);
    }
    if ctx.json {
        output::json(&SetJson {
            path: a.file.display().to_string(),
            dim: v.len(),
        })?;
    }
    Ok(())
}

/// Set one embedding, explaining a refusal.
pub fn set_one(file: &Path, v: &[f32]) -> Result<()> {
    sys::set_xattr(file, EMBEDDING_XATTR, &vectors::to_le_bytes(v))
        .map_err(|e| explain_set(file, v.len(), &e))
}

/// Why setting an embedding of `dim` floats on `file` failed.
pub fn explain_set(file: &Path, dim: usize, e: &std::io::Error) -> CtlError {
    let errno = errno_of(e);
    let what = file.display();
    match errno {
        libc::EINVAL => {
            if std::fs::metadata(file)
                .map(|m| !m.is_file())
                .unwrap_or(false)
            {
                return CtlError::errno(what, errno, "only regular files carry embeddings");
            }
            match fsinfo::dim_mismatch(&fsinfo::dir_of(file), dim) {
                Some(why) => CtlError::errno(
                    what,
                    errno,
                    &format!("embedding has {dim} dimensions, {why}"),
                ),
                None => CtlError::errno(what, errno, "the filesystem refused the embedding"),
            }
        }
        libc::EOPNOTSUPP => CtlError::errno(
            what,
            errno,
            "this filesystem does not support user extended attributes",
        ),
        _ => CtlError::os(what, e),
    }
}

/// A note when the attribute went to a filesystem that will not index it.
fn warn_if_not_vexfs(ctx: &Ctx, file: &Path) {
    if let Some(m) = fsinfo::mount_of(file) {
        if !fsinfo::is_vexfs_type(&m.fs_type) {
            ctx.note(&format!(
                "note: {} is on {} ({}), not VexFS: the embedding is stored but nothing indexes it",
                file.display(),
                m.mount_point,
                m.fs_type
            ));
        }
    }
}

/// Read one file's embedding.
pub fn get_one(file: &Path) -> Result<Vec<f32>> {
    let bytes = sys::get_xattr(file, EMBEDDING_XATTR).map_err(|e| match errno_of(&e) {
        libc::ENODATA => CtlError::errno(file.display(), libc::ENODATA, "has no embedding"),
        _ => CtlError::os(file.display(), &e),
    })?;
    vectors::from_le_bytes(&bytes)
        .map_err(|e| CtlError::failure(format!("{}: {e}", file.display())))
}

#[derive(Serialize)]
struct GetJson {
    path: String,
    dim: usize,
    vector: Vec<f32>,
}

pub fn get(ctx: &Ctx, a: &GetArgs) -> Result<()> {
    let v = get_one(&a.file)?;
    if ctx.json {
        return output::json(&GetJson {
            path: a.file.display().to_string(),
            dim: v.len(),
            vector: v,
        });
    }
    let m = vectors::Matrix::single(v);
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail; the result is checked anyway.
    let encoded = match a.format {
        GetFormat::Text => {
            bytes = format!("{}\n", vectors::format_text(&m.data)).into_bytes();
            Ok(())
        }
        GetFormat::Npy => vectors::write_npy(&mut bytes, &m, true),
        GetFormat::Fvecs => vectors::write_fvecs(&mut bytes, &m),
        GetFormat::Raw => {
            bytes = vectors::to_le_bytes(&m.data);
            Ok(())
        }
    };
    encoded.map_err(|e| CtlError::failure(format!("encoding {}: {e}", a.file.display())))?;
    match &a.out {
        Some(out) => std::fs::write(out, &bytes).map_err(|e| CtlError::os(out.display(), &e)),
        None => {
            let mut stdout = std::io::stdout().lock();
            if a.format != GetFormat::Text && stdout.is_terminal() {
                return Err(CtlError::usage(
                    "refusing to write binary data to a terminal; use --out FILE or a pipe",
                ));
            }
            match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(CtlError::failure(format!("writing output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

#[derive(Serialize)]
struct RmJson {
    path: String,
    removed: bool,
}

pub fn rm(ctx: &Ctx, a: &RmArgs) -> Result<()> {
    let removed = match sys::remove_xattr(&a.file, EMBEDDING_XATTR) {
        Ok(()) => true,
        Err(e) if errno_of(&e) == libc::ENODATA && a.force => false,
        Err(e) if errno_of(&e) == libc::ENODATA => {
            return Err(CtlError::errno(
                a.file.display(),
                libc::ENODATA,
                "has no embedding",
            ))
        }
        Err(e) => return Err(CtlError::os(a.file.display(), &e)),
    };
    if ctx.json {
        output::json(&RmJson {
            path: a.file.display().to_string(),
            removed,
        })?;
    }
    Ok(())
}
