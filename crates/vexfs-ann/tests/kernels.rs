//! Every SIMD kernel set agrees with the scalar reference.

use vexfs_ann::distance::{available, sq8, SCALAR};
use vexfs_ann::rng::Rng;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn simd_matches_scalar_on_many_lengths_and_offsets() {
    let mut rng = Rng::new(99);
    let buf_a: Vec<f32> = (0..400).map(|_| rng.normal()).collect();
    let buf_b: Vec<f32> = (0..400).map(|_| rng.normal()).collect();
    let bytes_a: Vec<u8> = (0..400).map(|_| rng.below(256) as u8).collect();
    let bytes_b: Vec<u8> = (0..400).map(|_| rng.below(256) as u8).collect();
    let all = available();
    eprintln!(
        "kernel sets: {:?}",
        all.iter().map(|k| k.name()).collect::<Vec<_>>()
    );
    for k in &all {
        for len in 1..=300 {
            for off in [0usize, 1, 3, 7] {
                let a = &buf_a[off..off + len];
                let b = &buf_b[off + 1..off + 1 + len];
                assert!(
                    close(k.l2sq(a, b), SCALAR.l2sq(a, b)),
                    "{} l2sq len {len} off {off}",
                    k.name()
                );
                assert!(
                    close(k.dot(a, b), SCALAR.dot(a, b)),
                    "{} dot len {len}",
                    k.name()
                );
                assert!(
                    close(k.neg_dot(a, b), -SCALAR.dot(a, b)),
                    "{} neg_dot len {len}",
                    k.name()
                );
                let q = [a, &buf_b[2..2 + len], &buf_a[5..5 + len], b];
                let r = k.dot4(q, &buf_b[off..off + len]);
                for (j, qj) in q.iter().enumerate() {
                    assert!(
                        close(r[j], SCALAR.dot(qj, &buf_b[off..off + len])),
                        "{} dot4 len {len}",
                        k.name()
                    );
                }
                let ua = &bytes_a[off..off + len];
                let ub = &bytes_b[off + 1..off + 1 + len];
                assert_eq!(
                    k.l2sq_u8(ua, ub),
                    SCALAR.l2sq_u8(ua, ub),
                    "{} l2sq_u8 len {len}",
                    k.name()
                );
                let ia: Vec<i8> = ua.iter().map(|&x| x as i8).collect();
                let ib: Vec<i8> = ub.iter().map(|&x| x as i8).collect();
                assert_eq!(
                    k.dot_i8(&ia, &ib),
                    SCALAR.dot_i8(&ia, &ib),
                    "{} dot_i8 len {len}",
                    k.name()
                );
            }
        }
    }
}

#[test]
fn sq8_global_integer_distance_ranks_like_decoded() {
    let mut rng = Rng::new(5);
    let dim = 24;
    let data: Vec<f32> = (0..200 * dim).map(|_| rng.normal()).collect();
    for mode in [sq8::Sq8Mode::Global, sq8::Sq8Mode::PerDimension] {
        let q = sq8::Sq8::train(dim, &data, mode).unwrap();
        let codes: Vec<Vec<u8>> = data
            .chunks_exact(dim)
            .map(|v| {
                let mut c = vec![0u8; dim];
                q.encode(v, &mut c);
                c
            })
            .collect();
        // Decoding is close to the original.
        let mut dec = vec![0f32; dim];
        q.decode(&codes[0], &mut dec);
        for (x, y) in dec.iter().zip(&data[..dim]) {
            assert!((x - y).abs() < 0.05, "{mode:?}: {x} vs {y}");
        }
        // Integer distances track float distances.
        for i in 1..50 {
            let exact = SCALAR.l2sq(&data[..dim], &data[i * dim..(i + 1) * dim]);
            let approx = q.l2sq_decoded(&codes[0], &codes[i]);
            assert!(
                (exact - approx).abs() < 0.05 * exact + 0.1,
                "{mode:?}: {exact} vs {approx}"
            );
        }
        if mode == sq8::Sq8Mode::Global {
            let mut pairs: Vec<(u32, usize)> = (1..50)
                .map(|i| (q.l2sq_codes(&codes[0], &codes[i]), i))
                .collect();
            pairs.sort();
            let d: Vec<f32> = pairs
                .iter()
                .map(|&(_, i)| q.l2sq_decoded(&codes[0], &codes[i]))
                .collect();
            assert!(d.windows(2).all(|w| w[0] <= w[1]));
        }
    }
    let mut c = [0i8; 3];
    sq8::quantize_i8(&[1.0, -0.5, 0.0], 1.0, &mut c);
    assert_eq!(c, [127, -64, 0]);
}

#[test]
fn row_and_panel_kernels_match_scalar() {
    let mut rng = Rng::new(17);
    for dim in [1usize, 3, 16, 17, 50, 64, 100, 128, 129, 300] {
        let rows: Vec<f32> = (0..70 * dim).map(|_| rng.normal()).collect();
        let q: Vec<f32> = (0..8 * dim).map(|_| rng.normal()).collect();
        for k in available() {
            for l2 in [true, false] {
                for stream in [false, true] {
                    let mut out = vec![0f32; 70];
                    if stream {
                        k.dist_rows_stream(&q[..dim], &rows, dim, &mut out, l2);
                    } else {
                        k.dist_rows(&q[..dim], &rows, dim, &mut out, l2);
                    }
                    for (i, &o) in out.iter().enumerate() {
                        let r = &rows[i * dim..(i + 1) * dim];
                        let e = if l2 {
                            SCALAR.l2sq(&q[..dim], r)
                        } else {
                            -SCALAR.dot(&q[..dim], r)
                        };
                        assert!(
                            close(o, e),
                            "{} dist_rows (stream {stream}) dim {dim} row {i}: {o} vs {e}",
                            k.name()
                        );
                    }
                }
            }
            if k.has_panel() {
                // Pack the first 32 rows element-major.
                let mut panel = vec![0f32; dim * 32];
                for j in 0..32 {
                    for e in 0..dim {
                        panel[e * 32 + j] = rows[j * dim + e];
                    }
                }
                let qs: [&[f32]; 8] = std::array::from_fn(|i| &q[i * dim..(i + 1) * dim]);
                let mut out = [0f32; 256];
                assert!(k.panel_dots(qs, &panel, dim, &mut out));
                for i in 0..8 {
                    for j in 0..32 {
                        let e = SCALAR.dot(qs[i], &rows[j * dim..(j + 1) * dim]);
                        assert!(close(out[i * 32 + j], e), "{} panel dim {dim}", k.name());
                    }
                }
                assert!(
                    !k.panel_dots(qs, &panel[..dim * 32 - 1], dim, &mut out),
                    "short panel accepted"
                );
            }
        }
    }
}

/// The f16 and SQ8 code kernels of every level agree with the scalar ones
/// on every length (tails included) and misaligned starts.
#[test]
fn code_kernels_match_scalar() {
    use vexfs_ann::distance::codes;
    let mut rng = Rng::new(7);
    let q: Vec<f32> = (0..300).map(|_| rng.normal() * 40.0).collect();
    let w: Vec<f32> = (0..300).map(|_| rng.normal().abs() + 0.01).collect();
    let bytes: Vec<u8> = (0..700).map(|_| rng.below(256) as u8).collect();
    let halves: Vec<u8> = (0..700)
        .flat_map(|_| codes::f32_to_f16(rng.normal()).to_le_bytes())
        .collect();
    for k in &available() {
        for len in 0..=280 {
            for off in [0usize, 1, 3] {
                let (q, w) = (&q[off..off + len], &w[off + 2..off + 2 + len]);
                let c = &bytes[off..off + len];
                let h = &halves[2 * off..2 * off + 2 * len];
                let pairs = [
                    (k.sq8_l2(q, w, c), SCALAR.sq8_l2(q, w, c), "sq8_l2"),
                    (k.sq8_dot(q, c), SCALAR.sq8_dot(q, c), "sq8_dot"),
                    (k.f16_l2sq(q, h), SCALAR.f16_l2sq(q, h), "f16_l2sq"),
                    (k.f16_dot(q, h), SCALAR.f16_dot(q, h), "f16_dot"),
                ];
                for (got, want, name) in pairs {
                    // Scores of magnitude ~1e6 from 40-sigma queries:
                    // compare relative to the sum of absolute terms.
                    assert!(
                        (got - want).abs() <= 2e-4 * (1.0 + want.abs()) + 1e-3 * len as f32,
                        "{} {name} len {len} off {off}: {got} vs {want}",
                        k.name()
                    );
                }
            }
        }
        // Lengths are the shorter of query and code.
        assert_eq!(
            k.sq8_dot(&q[..5], &bytes[..3]),
            SCALAR.sq8_dot(&q[..3], &bytes[..3])
        );
        assert_eq!(
            k.f16_dot(&q[..9], &halves[..7]),
            SCALAR.f16_dot(&q[..3], &halves[..6])
        );
    }
}
