//! The one error type of the ANN engine.

use core::fmt;

/// Result alias used across the crate.
pub type Result<T> = core::result::Result<T, AnnError>;

/// Errors returned by index operations and by (de)serialisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnError {
    /// A vector's length does not match the index dimension.
    DimensionMismatch {
        /// Length the index needs.
        expected: usize,
        /// Length supplied.
        got: usize,
    },
    /// A parameter is out of range (zero dimension, k = 0, M < 2, ...).
    InvalidParameter(&'static str),
    /// The id is already present in the index.
    DuplicateId(u64),
    /// The index needs `train` before vectors can be added.
    NotTrained,
    /// Serialised bytes are damaged or not an index; the text says what.
    Corrupt(&'static str),
    /// Serialised bytes come from a newer, unknown format version.
    UnsupportedVersion(u32),
    /// The sink or source callback failed.
    Io,
    /// An allocation failed (kernel builds report this instead of aborting).
    OutOfMemory,
}

impl fmt::Display for AnnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DimensionMismatch { expected, got } => {
                write!(f, "vector has {got} dimensions, index expects {expected}")
            }
            Self::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
            Self::DuplicateId(id) => write!(f, "id {id} is already in the index"),
            Self::NotTrained => f.write_str("index must be trained before adding vectors"),
            Self::Corrupt(what) => write!(f, "corrupt index data: {what}"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported index format version {v}"),
            Self::Io => f.write_str("I/O error while reading or writing index data"),
            Self::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AnnError {}
