//! Distance metrics.

/// How two vectors are compared. Every index reports *distances* where
/// smaller is nearer: L2 is the squared Euclidean distance, inner product is
/// `-dot(a, b)`, cosine is `1 - cos(a, b)` (vectors are normalised on insert
/// and queries on search, so cosine runs as inner product internally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Metric {
    /// Squared Euclidean distance.
    L2 = 0,
    /// Negated dot product.
    InnerProduct = 1,
    /// `1 - cosine similarity`.
    Cosine = 2,
}

impl Metric {
    /// Decode from the on-disk / ioctl byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::L2),
            1 => Some(Self::InnerProduct),
            2 => Some(Self::Cosine),
            _ => None,
        }
    }
}
