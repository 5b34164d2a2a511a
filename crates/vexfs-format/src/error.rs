//! Decode errors.

use core::fmt;

/// What is wrong with a structure read from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    /// A field or record runs past the end of its buffer.
    Truncated,
    /// The structure is internally inconsistent; the detail names it.
    Corrupt(Corruption),
    /// The image uses features or a version this code does not know.
    Incompatible(&'static str),
}

/// The specific inconsistency found. Kept as an enum of short, stable
/// descriptions so kernel and userspace report the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    BadMagic(&'static str),
    BadChecksum(&'static str),
    /// A metadata block claims to be a different block (misdirected write).
    WrongBlockNumber,
    /// A field holds a value outside its legal range; the text names it.
    BadField(&'static str),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(what) => write!(f, "bad magic in {what}"),
            Self::BadChecksum(what) => write!(f, "checksum mismatch in {what}"),
            Self::WrongBlockNumber => f.write_str("metadata block holds another block's number"),
            Self::BadField(what) => write!(f, "invalid {what}"),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("structure truncated"),
            Self::Corrupt(c) => write!(f, "corrupt: {c}"),
            Self::Incompatible(why) => write!(f, "incompatible: {why}"),
        }
    }
}

/// Shorthand for a field-range corruption.
pub const fn bad(field: &'static str) -> FormatError {
    FormatError::Corrupt(Corruption::BadField(field))
}
