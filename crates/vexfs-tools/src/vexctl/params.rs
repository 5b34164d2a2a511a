//! Strategy and metric names, and index parameter strings, checked before
//! they are sent so a typo gets a message naming what is accepted.
//!
//! The names and keys are the ANN engine's (`vexfs_ann::factory`,
//! docs/VECTORS.md); the filesystem checks them again.

use vexfs_uapi as uapi;

/// A strategy name to its uapi number.
pub fn parse_strategy(s: &str) -> Result<u32, String> {
    let l = s.trim().to_ascii_lowercase();
    Ok(match l.as_str() {
        "flat" | "bruteforce" => uapi::STRATEGY_FLAT,
        "hnsw" => uapi::STRATEGY_HNSW,
        "ivf" | "ivf_flat" | "ivfflat" | "ivf-flat" => uapi::STRATEGY_IVF,
        "ivfpq" | "ivf_pq" | "ivf-pq" => uapi::STRATEGY_IVFPQ,
        "lsh" => uapi::STRATEGY_LSH,
        _ => {
            return Err(format!(
                "unknown strategy '{s}' (use hnsw, flat, ivf, ivfpq or lsh)"
            ))
        }
    })
}

/// The name of a strategy number (`DEFAULT` is HNSW).
pub fn strategy_name(n: u32) -> String {
    match n {
        uapi::STRATEGY_DEFAULT | uapi::STRATEGY_HNSW => "hnsw".into(),
        uapi::STRATEGY_FLAT => "flat".into(),
        uapi::STRATEGY_IVF => "ivf".into(),
        uapi::STRATEGY_IVFPQ => "ivfpq".into(),
        uapi::STRATEGY_LSH => "lsh".into(),
        other => format!("unknown({other})"),
    }
}

/// A metric name to its uapi number.
pub fn parse_metric(s: &str) -> Result<u32, String> {
    let l = s.trim().to_ascii_lowercase();
    Ok(match l.as_str() {
        "l2" | "euclidean" => uapi::METRIC_L2,
        "ip" | "dot" | "inner_product" | "innerproduct" => uapi::METRIC_IP,
        "cosine" | "angular" => uapi::METRIC_COSINE,
        _ => return Err(format!("unknown metric '{s}' (use l2, ip or cosine)")),
    })
}

/// The name of a metric number (`DEFAULT` is L2 for indexes).
pub fn metric_name(n: u32) -> String {
    match n {
        uapi::METRIC_DEFAULT | uapi::METRIC_L2 => "l2".into(),
        uapi::METRIC_IP => "ip".into(),
        uapi::METRIC_COSINE => "cosine".into(),
        other => format!("unknown({other})"),
    }
}

/// The parameter keys a strategy accepts (with the engine's aliases).
pub fn keys(strategy: u32) -> &'static [&'static str] {
    match strategy {
        uapi::STRATEGY_FLAT => &[],
        uapi::STRATEGY_DEFAULT | uapi::STRATEGY_HNSW => &[
            "m",
            "M",
            "ef_construction",
            "efc",
            "ef_search",
            "ef",
            "seed",
            "max_elements",
        ],
        uapi::STRATEGY_IVF => &["nlist", "nprobe", "seed", "train_iters", "iters"],
        uapi::STRATEGY_IVFPQ => &[
            "nlist",
            "m",
            "M",
            "m_subquantizers",
            "pq_m",
            "nbits",
            "nprobe",
            "rerank",
            "seed",
            "train_iters",
            "iters",
        ],
        uapi::STRATEGY_LSH => &[
            "tables", "bits", "scan", "probes", "nprobe", "rerank", "seed",
        ],
        _ => &[],
    }
}

/// Check `key=value,...` for `strategy` and return it normalised (pairs
/// joined by commas), ready for `vexfs_index_config.params`.
pub fn check_params(strategy: u32, params: &str) -> Result<String, String> {
    let name = strategy_name(strategy);
    let mut out = Vec::new();
    for kv in params
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("parameter '{kv}' is not key=value"))?;
        let (k, v) = (k.trim(), v.trim());
        if !keys(strategy).contains(&k) {
            let known = keys(strategy).join(", ");
            return Err(if known.is_empty() {
                format!("strategy {name} takes no parameters (got '{k}')")
            } else {
                format!("unknown parameter '{k}' for {name} (known: {known})")
            });
        }
        if v.parse::<u64>().is_err() {
            return Err(format!(
                "parameter {k}={v}: the value must be a non-negative integer"
            ));
        }
        out.push(format!("{k}={v}"));
    }
    let joined = out.join(",");
    if joined.len() >= uapi::PARAMS_MAX {
        return Err(format!(
            "parameters are {} bytes, at most {} fit",
            joined.len(),
            uapi::PARAMS_MAX - 1
        ));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in ["flat", "hnsw", "ivf", "ivfpq", "lsh"] {
            assert_eq!(strategy_name(parse_strategy(s).unwrap()), s);
        }
        for s in ["l2", "ip", "cosine"] {
            assert_eq!(metric_name(parse_metric(s).unwrap()), s);
        }
        assert_eq!(parse_strategy("IVF-PQ").unwrap(), uapi::STRATEGY_IVFPQ);
        assert_eq!(parse_metric("Dot").unwrap(), uapi::METRIC_IP);
        assert!(parse_strategy("annoy")
            .unwrap_err()
            .contains("unknown strategy 'annoy'"));
        assert!(parse_metric("hamming")
            .unwrap_err()
            .contains("unknown metric"));
        assert_eq!(strategy_name(0), "hnsw");
        assert_eq!(strategy_name(9), "unknown(9)");
    }

    #[test]
    fn params() {
        assert_eq!(
            check_params(uapi::STRATEGY_HNSW, "m=16, ef_construction=200").unwrap(),
            "m=16,ef_construction=200"
        );
        assert_eq!(check_params(uapi::STRATEGY_FLAT, "").unwrap(), "");
        assert!(check_params(uapi::STRATEGY_FLAT, "m=1")
            .unwrap_err()
            .contains("takes no parameters"));
        assert!(check_params(uapi::STRATEGY_HNSW, "nlist=4")
            .unwrap_err()
            .contains("known: m"));
        assert!(check_params(uapi::STRATEGY_IVF, "nlist")
            .unwrap_err()
            .contains("key=value"));
        assert!(check_params(uapi::STRATEGY_IVF, "nlist=-1")
            .unwrap_err()
            .contains("non-negative"));
        let long = vec!["seed=1"; 40].join(",");
        assert!(check_params(uapi::STRATEGY_LSH, &long)
            .unwrap_err()
            .contains("at most 191"));
    }
}
