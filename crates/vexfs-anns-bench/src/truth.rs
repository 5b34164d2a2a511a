//! Exact ground truth by multi-threaded brute force, and recall.

use crate::data::{IdMatrix, Matrix};
use std::collections::BinaryHeap;
use vexfs_ann::Metric;

/// Distance with the engine's convention (smaller is nearer). Cosine
/// expects normalised inputs and is then `1 - dot`.
#[inline]
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::InnerProduct => -a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
        Metric::Cosine => 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
    }
}

/// Heap entry ordered by (distance, id) so ties resolve to the lower id and
/// the result is the same on every run and thread count.
#[derive(PartialEq)]
struct Cand(f32, u32);
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// Ids of the `k` nearest base rows to `q`, nearest first.
pub fn knn_one(metric: Metric, base: &Matrix, q: &[f32], k: usize) -> Vec<i32> {
    let mut heap: BinaryHeap<Cand> = BinaryHeap::with_capacity(k + 1);
    for i in 0..base.rows {
        let d = distance(metric, q, base.row(i));
        if heap.len() < k {
            heap.push(Cand(d, i as u32));
        } else if let Some(top) = heap.peek() {
            if Cand(d, i as u32) < *top {
                heap.pop();
                heap.push(Cand(d, i as u32));
            }
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .map(|c| c.1 as i32)
        .collect()
}

/// Exact k-NN of every query, split over `threads` threads. `progress` is
/// called with the number of queries finished since the last call.
pub fn ground_truth(
    metric: Metric,
    base: &Matrix,
    queries: &Matrix,
    k: usize,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> IdMatrix {
    let k = k.min(base.rows);
    let mut out = vec![-1i32; queries.rows * k];
    let threads = threads.max(1);
    // Small fixed blocks handed out in order keep all threads busy to the
    // end and let progress move smoothly.
    const BLOCK: usize = 16;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(&mut out);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let start = next.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
                if start >= queries.rows {
                    break;
                }
                let end = (start + BLOCK).min(queries.rows);
                let mut local = Vec::with_capacity((end - start) * k);
                for qi in start..end {
                    local.extend(knn_one(metric, base, queries.row(qi), k));
                }
                results.lock().expect("ground-truth lock")[start * k..end * k]
                    .copy_from_slice(&local);
                progress((end - start) as u64);
            });
        }
    });
    IdMatrix {
        rows: queries.rows,
        dim: k,
        data: out,
    }
}

/// Mean over queries of |found ∩ true top-k| / k. `found` holds one list
/// per query (ids may be fewer than k when an index returns short lists).
pub fn recall_at_k(found: &[Vec<u64>], truth: &IdMatrix, k: usize) -> f64 {
    assert!(
        k <= truth.dim,
        "ground truth has {} neighbours, recall@{k} asked",
        truth.dim
    );
    if found.is_empty() {
        return 0.0;
    }
    let mut hits = 0usize;
    for (qi, res) in found.iter().enumerate() {
        let t = &truth.row(qi)[..k];
        hits += res
            .iter()
            .take(k)
            .filter(|id| t.contains(&(**id as i32)))
            .count();
    }
    hits as f64 / (found.len() * k) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brute_force_matches_hand_computed() {
        // Points on a line: 0, 1, 2, ..., 9. Query 3.4 -> 3, 4, 2.
        let base = Matrix::new(10, 1, (0..10).map(|i| i as f32).collect());
        let q = Matrix::new(2, 1, vec![3.4, 9.9]);
        let gt = ground_truth(Metric::L2, &base, &q, 3, 2, &|_| {});
        assert_eq!(gt.row(0), &[3, 4, 2]);
        assert_eq!(gt.row(1), &[9, 8, 7]);
    }

    #[test]
    fn inner_product_and_cosine_order() {
        let base = Matrix::new(3, 2, vec![1.0, 0.0, 0.0, 1.0, 3.0, 3.0]);
        let q = Matrix::new(1, 2, vec![1.0, 0.1]);
        // Inner product favours the long vector.
        assert_eq!(
            ground_truth(Metric::InnerProduct, &base, &q, 3, 1, &|_| {}).row(0),
            &[2, 0, 1]
        );
        let mut nb = base.clone();
        nb.normalize_rows();
        let mut nq = q.clone();
        nq.normalize_rows();
        assert_eq!(
            ground_truth(Metric::Cosine, &nb, &nq, 3, 1, &|_| {}).row(0),
            &[0, 2, 1]
        );
    }

    #[test]
    fn threads_do_not_change_truth_and_ties_pick_low_ids() {
        let base = Matrix::new(4, 1, vec![1.0, -1.0, 1.0, 5.0]);
        let q = Matrix::new(1, 1, vec![0.0]);
        assert_eq!(
            ground_truth(Metric::L2, &base, &q, 3, 1, &|_| {}).row(0),
            &[0, 1, 2]
        );
        let base = Matrix::new(
            500,
            3,
            (0..1500).map(|i| ((i * 7919) % 101) as f32).collect(),
        );
        let q = Matrix::new(40, 3, (0..120).map(|i| ((i * 31) % 97) as f32).collect());
        let a = ground_truth(Metric::L2, &base, &q, 10, 1, &|_| {});
        let b = ground_truth(Metric::L2, &base, &q, 10, 3, &|_| {});
        assert_eq!(a, b);
        assert!(a.data.iter().all(|&x| x >= 0));
    }

    #[test]
    fn recall_counts_overlap() {
        let truth = IdMatrix {
            rows: 2,
            dim: 3,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        let found = vec![vec![1, 2, 9], vec![6, 5, 4]];
        assert!((recall_at_k(&found, &truth, 3) - 5.0 / 6.0).abs() < 1e-12);
        assert!((recall_at_k(&found, &truth, 2) - 3.0 / 4.0).abs() < 1e-12);
        // Short result lists count as misses.
        assert!((recall_at_k(&[vec![1]], &truth, 3) - 1.0 / 3.0).abs() < 1e-12);
    }
}
