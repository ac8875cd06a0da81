//! The hot-list parsers and index for the fuzz targets, compiled from patrol-alpr's own source
//! files (not copies) by `#[path]`.
//!
//! Why not depend on the `patrol-alpr` crate: cargo-fuzz instruments every crate it builds,
//! and the whole console (tract, egui, SQLCipher) takes over an hour to build that way on the
//! project's 2-core machine, while these modules need only chrono, serde, thiserror and clap.
//! The paths the files use (`crate::plate`, `crate::hotlist::...`, `super::`) resolve here as
//! in the crate, so the files compile unchanged; a change to them that breaks this build shows
//! at `cargo fuzz build`.
#![allow(dead_code, unused_imports, missing_docs)]

#[path = "../../src/plate.rs"]
pub mod plate;

// The hot-list modules sit at the root, where their `super::` paths find each other, and are
// re-exported as `crate::hotlist::...` for the paths that name it.
#[path = "../../src/hotlist/entry.rs"]
pub mod entry;
#[path = "../../src/hotlist/equivalence.rs"]
pub mod equivalence;
#[path = "../../src/hotlist/index.rs"]
pub mod index;
#[path = "../../src/hotlist/parse/mod.rs"]
pub mod parse;

/// `crate::hotlist`, as far as the parsers and the index reach.
pub mod hotlist {
    pub use super::index::{HotlistIndex, MatchConfig};
    pub use super::{entry, equivalence, index, parse};
}
