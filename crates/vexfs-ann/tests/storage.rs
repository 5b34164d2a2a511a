//! f16 and SQ8 storage for Flat and HNSW: recall close to f32, smaller
//! memory, training rules, removal and save/load.

mod common;

use common::{clustered, ground_truth, recall};
use vexfs_ann::{
    build_index, load, AnnError, IndexKind, Metric, SearchParams, Storage, VectorIndex,
};

const SPECS: [(IndexKind, &str); 2] = [
    (IndexKind::Flat, ""),
    (IndexKind::Hnsw, "m=12,ef_construction=100,"),
];

fn built(
    kind: IndexKind,
    params: &str,
    metric: Metric,
    data: &[f32],
    dim: usize,
) -> Box<dyn VectorIndex> {
    let mut idx = build_index(kind, dim, metric, params).unwrap();
    idx.train(data).unwrap();
    let ids: Vec<u64> = (0..(data.len() / dim) as u64).collect();
    idx.add_batch(&ids, data).unwrap();
    idx
}

#[test]
fn recall_and_memory_per_storage() {
    let (n, dim, nq, k) = (3000usize, 32usize, 100usize, 10usize);
    let data = clustered(n, dim, 30, 1);
    let queries = clustered(nq, dim, 30, 2);
    for metric in [Metric::L2, Metric::InnerProduct, Metric::Cosine] {
        let ids: Vec<u64> = (0..n as u64).collect();
        let truth = ground_truth(&data, &ids, &queries, dim, metric, k, &|_| true);
        for (kind, base) in SPECS {
            let mut mem = Vec::new();
            for (storage, floor) in [("f32", 0.95), ("f16", 0.95), ("sq8", 0.85)] {
                let p = format!("{base}storage={storage}");
                let idx = built(kind, &p, metric, &data, dim);
                let sp = SearchParams {
                    ef: Some(128),
                    ..SearchParams::k(k)
                };
                let res = idx.search_batch(&queries, &sp).unwrap();
                let r = recall(&res, &truth);
                assert!(r >= floor, "{kind:?} {metric:?} {storage}: recall {r}");
                // One query at a time gives the batch's answer.
                let one = idx.search(&queries[..dim], &sp, None).unwrap();
                let ids = |v: &[vexfs_ann::Neighbor]| v.iter().map(|h| h.id).collect::<Vec<_>>();
                assert_eq!(ids(&one), ids(&res[0]));
                mem.push(idx.stats().memory_bytes);
            }
            // f16 and SQ8 vectors take a half and a quarter of the bytes.
            let vec_bytes = n * dim * 4;
            assert!(
                mem[1] + vec_bytes / 2 - vec_bytes / 10 <= mem[0],
                "{kind:?} f16 {mem:?}"
            );
            assert!(
                mem[2] + 3 * vec_bytes / 4 - vec_bytes / 10 <= mem[0],
                "{kind:?} sq8 {mem:?}"
            );
        }
    }
}

#[test]
fn sq8_needs_training_and_persists_its_quantiser() {
    let dim = 16;
    let data = clustered(500, dim, 5, 3);
    for (kind, base) in SPECS {
        let mut idx = build_index(kind, dim, Metric::L2, &format!("{base}storage=sq8")).unwrap();
        assert!(!idx.is_trained());
        assert_eq!(idx.add(1, &data[..dim]), Err(AnnError::NotTrained));
        // An untrained, empty SQ8 index saves and loads.
        let mut bytes = Vec::new();
        idx.save(&mut bytes).unwrap();
        let mut back = load(&mut &bytes[..]).unwrap();
        assert!(!back.is_trained());
        back.train(&data).unwrap();
        let ids: Vec<u64> = (0..500).collect();
        back.add_batch(&ids, &data).unwrap();
        assert!(back.train(&data).is_err(), "retraining a filled quantiser");
        assert!(back.remove(7).unwrap());
        let mut bytes = Vec::new();
        back.save(&mut bytes).unwrap();
        let again = load(&mut &bytes[..]).unwrap();
        let p = SearchParams::k(5);
        for q in data.chunks_exact(dim).take(30) {
            let a = back.search(q, &p, None).unwrap();
            assert_eq!(a, again.search(q, &p, None).unwrap());
            assert!(a.iter().all(|h| h.id != 7));
        }
        let mut bytes2 = Vec::new();
        again.save(&mut bytes2).unwrap();
        assert_eq!(bytes, bytes2);
    }
}

#[test]
fn out_of_range_values_clamp_and_storage_parses() {
    let dim = 4;
    let train: Vec<f32> = (0..40).map(|i| (i % 7) as f32).collect();
    let mut idx = build_index(IndexKind::Flat, dim, Metric::L2, "storage=sq8").unwrap();
    idx.train(&train).unwrap();
    idx.add(1, &[100.0, -100.0, 3.0, 3.0]).unwrap();
    idx.add(2, &[6.0, 0.0, 3.0, 3.0]).unwrap();
    // Both clamp to the same codes: the far vector scores as the clamped one.
    let hits = idx
        .search(&[6.0, 0.0, 3.0, 3.0], &SearchParams::k(2), None)
        .unwrap();
    assert!(
        hits[0].distance < 1e-3 && hits[1].distance < 1e-3,
        "{hits:?}"
    );
    assert_eq!(Storage::parse("SQ8"), Some(Storage::Sq8));
    assert!(build_index(IndexKind::Flat, 4, Metric::L2, "storage=q4").is_err());
    assert!(build_index(IndexKind::Hnsw, 4, Metric::L2, "storage=1").is_err());
    assert!(build_index(IndexKind::IvfFlat, 4, Metric::L2, "storage=f16").is_err());
}
