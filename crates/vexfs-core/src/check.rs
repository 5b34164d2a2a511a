//! Consistency checking (fsck).
