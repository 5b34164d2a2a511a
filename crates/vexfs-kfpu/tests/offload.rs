//! The offloaded float kernels, called the way the module calls them
//! (through `vexfs_fpu_run`), give the portable kernels' bits: the kernel
//! module scores alike whether or not it hands its kernels over, and alike
//! a daemon on an SSE2 machine.

use vexfs_ann::distance::offload::{self, execute_with, OffloadCall, OFFLOAD, OP_PAIR};
use vexfs_ann::distance::SCALAR;
use vexfs_ann::rng::Rng;

fn vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal()).collect()
}

#[test]
fn offloaded_kernels_give_the_portable_bits() {
    // SAFETY: the entry point runs every call as `execute` does (it is
    // `execute` behind the stack-aligning trampoline) and lives as long as
    // the process.
    unsafe { offload::install(vexfs_kfpu::vexfs_fpu_run) };
    assert!(offload::installed());
    let mut rng = Rng::new(3);
    for dim in [1usize, 3, 4, 7, 8, 12, 16, 31, 32, 50, 100, 128, 300] {
        let q = vec(&mut rng, dim);
        let rows = vec(&mut rng, dim * 37);
        for r in rows.chunks_exact(dim).take(5) {
            assert_eq!(OFFLOAD.l2sq(&q, r).to_bits(), SCALAR.l2sq(&q, r).to_bits());
            assert_eq!(OFFLOAD.dot(&q, r).to_bits(), SCALAR.dot(&q, r).to_bits());
            assert_eq!(OFFLOAD.neg_dot(&q, r).to_bits(), SCALAR.neg_dot(&q, r).to_bits());
        }
        let qs = [vec(&mut rng, dim), vec(&mut rng, dim), q.clone(), vec(&mut rng, dim)];
        let qr = [&qs[0][..], &qs[1][..], &qs[2][..], &qs[3][..]];
        let row = &rows[..dim];
        assert_eq!(
            OFFLOAD.dot4(qr, row).map(f32::to_bits),
            SCALAR.dot4(qr, row).map(f32::to_bits)
        );
        for l2 in [true, false] {
            let (mut x, mut y) = (vec![f32::NAN; 37], vec![f32::NAN; 37]);
            OFFLOAD.dist_rows(&q, &rows, dim, &mut x, l2);
            SCALAR.dist_rows(&q, &rows, dim, &mut y, l2);
            assert_eq!(bits(&x), bits(&y), "rows dim {dim} l2 {l2}");
            OFFLOAD.dist_rows_stream(&q, &rows, dim, &mut x, l2);
            assert_eq!(bits(&x), bits(&y), "stream dim {dim} l2 {l2}");
        }
    }
}

/// A scan longer than one FPU section is cut into pieces that cover every
/// row once.
#[test]
fn long_scans_are_cut_into_sections_that_cover_every_row() {
    // SAFETY: as above.
    unsafe { offload::install(vexfs_kfpu::vexfs_fpu_run) };
    let mut rng = Rng::new(4);
    let dim = 24;
    let n = 9_000; // 216k floats: four sections
    let q = vec(&mut rng, dim);
    let rows = vec(&mut rng, n * dim);
    let (mut x, mut y) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    OFFLOAD.dist_rows(&q, &rows, dim, &mut x, true);
    SCALAR.dist_rows(&q, &rows, dim, &mut y, true);
    assert_eq!(bits(&x), bits(&y));
}

/// The malformed calls an entry can see are refused, not run.
#[test]
fn malformed_calls_are_refused() {
    // SAFETY: a null call is the one the entry point must reject itself.
    assert_eq!(unsafe { vexfs_kfpu::vexfs_fpu_run(std::ptr::null_mut()) }, -22);
    let q = [1.0f32; 4];
    let mut out = [0f32; 0];
    let mut c = OffloadCall::new(OP_PAIR, true, &q, &mut out);
    (c.b, c.b_len) = (q.as_ptr(), q.len());
    // SAFETY: every pointer and length above describes a live slice.
    assert_eq!(unsafe { vexfs_kfpu::vexfs_fpu_run(&mut c) }, -22, "no room");
    c.op = 99;
    // SAFETY: as above.
    assert_eq!(unsafe { execute_with(&SCALAR, &mut c) }, -22, "unknown op");
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}
