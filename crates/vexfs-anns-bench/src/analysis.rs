//! Recall/QPS curves: Pareto frontier and QPS interpolated at a target
//! recall, the basis of the VexFS-vs-peer ratio table.

/// Points that no other point beats on both recall and QPS, sorted by
/// increasing recall (and so decreasing QPS). Non-finite values are dropped.
pub fn pareto(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(r, q)| r.is_finite() && q.is_finite() && *q > 0.0)
        .collect();
    // Highest recall first; among equal recall the fastest first.
    pts.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    let mut best_qps = f64::NEG_INFINITY;
    for p in pts {
        if p.1 > best_qps {
            front.push(p);
            best_qps = p.1;
        }
    }
    front.reverse();
    front
}

/// QPS at `target` recall on the frontier of `points`, interpolating
/// log(QPS) linearly in recall between the two frontier points around the
/// target (QPS falls roughly exponentially as recall rises, so log-linear
/// tracks the curve far better than linear). If even the lowest-recall
/// point is above the target, its QPS is a lower bound and is returned.
/// `None` when the curve never reaches the target.
pub fn qps_at_recall(points: &[(f64, f64)], target: f64) -> Option<f64> {
    let front = pareto(points);
    let first = front.first()?;
    if target <= first.0 {
        return Some(first.1);
    }
    for w in front.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        if target <= hi.0 {
            let t = (target - lo.0) / (hi.0 - lo.0);
            return Some((lo.1.ln() + t * (hi.1.ln() - lo.1.ln())).exp());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_drops_dominated_points() {
        let pts = [
            (0.5, 100.0),
            (0.6, 50.0),
            (0.55, 40.0),
            (0.9, 10.0),
            (0.9, 12.0),
            (0.8, 5.0),
        ];
        assert_eq!(pareto(&pts), vec![(0.5, 100.0), (0.6, 50.0), (0.9, 12.0)]);
        assert!(pareto(&[(f64::NAN, 1.0), (0.5, 0.0)]).is_empty());
    }

    #[test]
    fn log_linear_interpolation() {
        let pts = [(0.8, 1000.0), (0.9, 10.0)];
        // Halfway in recall is the geometric mean in QPS.
        let q = qps_at_recall(&pts, 0.85).unwrap();
        assert!((q - 100.0).abs() < 1e-9, "{q}");
        assert!((qps_at_recall(&pts, 0.9).unwrap() - 10.0).abs() < 1e-9);
        // Below the curve: the fastest point is a lower bound.
        assert_eq!(qps_at_recall(&pts, 0.5), Some(1000.0));
        // Above the best recall: unreachable.
        assert_eq!(qps_at_recall(&pts, 0.95), None);
        assert_eq!(qps_at_recall(&[], 0.5), None);
    }

    #[test]
    fn interpolation_uses_frontier_only() {
        // The dominated (0.85, 1) point must not drag the estimate down.
        let pts = [(0.8, 1000.0), (0.85, 1.0), (0.9, 10.0)];
        assert!((qps_at_recall(&pts, 0.85).unwrap() - 100.0).abs() < 1e-9);
    }
}
