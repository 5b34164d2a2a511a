//! Incremental add/remove, filters and determinism.

mod common;
use common::*;
use std::collections::BTreeSet;
use vexfs_ann::*;

#[test]
fn remove_20_percent_keeps_recall_and_never_returns_removed() {
    let (data, queries) = dataset();
    let ids = ids_for(5000);
    for metric in [Metric::L2, Metric::Cosine] {
        for (name, mut idx, floor) in build_all(&data, 32, metric) {
            // Remove every fifth vector.
            let removed: BTreeSet<u64> = ids.iter().copied().step_by(5).collect();
            for &id in &removed {
                assert!(idx.remove(id).unwrap(), "{name}: remove {id}");
                assert!(!idx.remove(id).unwrap(), "{name}: second remove {id}");
            }
            assert_eq!(idx.len(), 4000);
            let truth = ground_truth(&data, &ids, &queries, 32, metric, 10, &|id| {
                !removed.contains(&id)
            });
            let res: Vec<Vec<Neighbor>> = queries
                .chunks_exact(32)
                .map(|q| idx.search(q, &SearchParams::k(10), None).unwrap())
                .collect();
            for r in &res {
                for n in r {
                    assert!(
                        !removed.contains(&n.id),
                        "{name}: removed id {} returned",
                        n.id
                    );
                }
            }
            let rc = recall(&res, &truth);
            eprintln!("{metric:?} {name} after removal: recall {rc:.3}");
            assert!(rc >= floor - 0.03, "{name}: recall after removal {rc}");
            // Re-add half of them under their old ids; they come back.
            let back: Vec<u64> = removed.iter().copied().step_by(2).collect();
            for &id in &back {
                let i = ((id - 1) / 3) as usize;
                idx.add(id, &data[i * 32..(i + 1) * 32]).unwrap();
            }
            assert_eq!(idx.len(), 4000 + back.len());
            for &id in back.iter().take(20) {
                let i = ((id - 1) / 3) as usize;
                let r = idx
                    .search(&data[i * 32..(i + 1) * 32], &SearchParams::k(1), None)
                    .unwrap();
                assert_eq!(r[0].id, id, "{name}: re-added vector not found");
            }
        }
    }
}

#[test]
fn filters_are_honoured() {
    let (data, queries) = dataset();
    let ids = ids_for(5000);
    let even = |id: u64| id.is_multiple_of(2);
    let truth = ground_truth(&data, &ids, &queries, 32, Metric::L2, 10, &even);
    for (name, idx, floor) in build_all(&data, 32, Metric::L2) {
        let res: Vec<Vec<Neighbor>> = queries
            .chunks_exact(32)
            .map(|q| idx.search(q, &SearchParams::k(10), Some(&even)).unwrap())
            .collect();
        for r in &res {
            assert!(r.iter().all(|n| even(n.id)), "{name}: filter violated");
        }
        let rc = recall(&res, &truth);
        eprintln!("{name} filtered: recall {rc:.3}");
        assert!(rc >= floor - 0.05, "{name}: filtered recall {rc}");
        // A filter that rejects everything yields nothing.
        let none = idx
            .search(&queries[..32], &SearchParams::k(10), Some(&|_| false))
            .unwrap();
        assert!(none.is_empty(), "{name}");
    }
}

fn hnsw_bytes(threads: usize) -> Vec<u8> {
    let data = clustered(3000, 16, 20, 5);
    let ids: Vec<u64> = (0..3000).collect();
    set_num_threads(threads);
    let mut h = HnswIndex::new(
        16,
        Metric::L2,
        HnswConfig {
            m: 8,
            ef_construction: 64,
            ..Default::default()
        },
    )
    .unwrap();
    h.add_batch(&ids, &data).unwrap();
    set_num_threads(0);
    let mut out = Vec::new();
    h.save(&mut out).unwrap();
    out
}

#[test]
fn hnsw_build_is_deterministic_across_thread_counts() {
    let a = hnsw_bytes(1);
    let b = hnsw_bytes(3);
    let c = hnsw_bytes(1);
    assert_eq!(a, c, "same seed, same threads");
    assert_eq!(a, b, "thread count changed the graph");
}

#[test]
fn ivf_training_is_deterministic_across_thread_counts() {
    let data = clustered(4000, 16, 20, 6);
    let ids: Vec<u64> = (0..4000).collect();
    let mut outs = Vec::new();
    for t in [1, 2, 1] {
        set_num_threads(t);
        let mut idx = IvfPqIndex::new(
            16,
            Metric::L2,
            IvfPqConfig {
                nlist: 32,
                m_subquantizers: 4,
                ..Default::default()
            },
        )
        .unwrap();
        idx.train(&data).unwrap();
        idx.add_batch(&ids, &data).unwrap();
        let mut b = Vec::new();
        idx.save(&mut b).unwrap();
        outs.push(b);
    }
    set_num_threads(0);
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

#[test]
fn single_add_matches_small_batches() {
    // `add` one by one and `add_batch` on a small index (waves of one while
    // the graph is small) must agree while waves stay at size one.
    let data = clustered(30, 8, 3, 7);
    let mut a = HnswIndex::new(8, Metric::L2, HnswConfig::default()).unwrap();
    let mut b = HnswIndex::new(8, Metric::L2, HnswConfig::default()).unwrap();
    for i in 0..30 {
        a.add(i as u64, &data[i * 8..(i + 1) * 8]).unwrap();
    }
    b.add_batch(&(0..30).collect::<Vec<u64>>(), &data).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    a.save(&mut x).unwrap();
    b.save(&mut y).unwrap();
    assert_eq!(x, y);
}

#[test]
fn empty_indexes_search_empty() {
    for kind in [
        IndexKind::Flat,
        IndexKind::Hnsw,
        IndexKind::IvfFlat,
        IndexKind::IvfPq,
        IndexKind::Lsh,
    ] {
        let idx = build_index(kind, 16, Metric::L2, "").unwrap();
        assert!(idx
            .search(&[0.0; 16], &SearchParams::k(3), None)
            .unwrap()
            .is_empty());
        assert!(idx.is_empty());
    }
}

#[test]
fn hnsw_compact_reclaims_tombstones() {
    let (data, queries) = dataset();
    let ids = ids_for(5000);
    let mut h = HnswIndex::new(
        32,
        Metric::L2,
        HnswConfig {
            m: 16,
            ef_construction: 100,
            ef_search: 64,
            seed: 1,
            max_elements: 0,
        },
    )
    .unwrap();
    h.add_batch(&ids, &data).unwrap();
    let removed: BTreeSet<u64> = ids.iter().copied().step_by(3).collect();
    for &id in &removed {
        h.remove(id).unwrap();
    }
    assert_eq!(h.stats().deleted, removed.len());
    let before = h.stats().memory_bytes;
    h.compact().unwrap();
    assert_eq!(h.stats().deleted, 0);
    assert_eq!(h.len(), 5000 - removed.len());
    assert!(h.stats().memory_bytes < before);
    let truth = ground_truth(&data, &ids, &queries, 32, Metric::L2, 10, &|id| {
        !removed.contains(&id)
    });
    let res: Vec<Vec<Neighbor>> = queries
        .chunks_exact(32)
        .map(|q| h.search(q, &SearchParams::k(10), None).unwrap())
        .collect();
    assert!(recall(&res, &truth) >= 0.95);
    // Removed ids can be added again after compaction.
    h.add(*removed.iter().next().unwrap(), &data[..32]).unwrap();
}
