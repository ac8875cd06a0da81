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

/// The check every parser target runs on arbitrary bytes: no panic; every error names a line
/// that exists; reading the bytes through a 7-byte buffer (which cuts lines, `\r\n` and the
/// UTF-8 byte-order mark across reads) gives exactly what parsing them in memory gives; and
/// the entries build into an index.
pub fn check_parser(format: parse::Format, source: &str, data: &[u8]) {
    use parse::{ParseContext, parse, parse_reader};
    let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    let ctx = ParseContext { source: source.into(), version: "fuzz".into(), list: None, now, error_log: None };
    let parsed = parse(format, data, &ctx);
    let lines = data.split(|&b| b == b'\n').count();
    for error in &parsed.errors {
        assert!(error.line <= lines, "{error}");
    }
    let streamed = parse_reader(format, std::io::BufReader::with_capacity(7, data), &ctx)
        .unwrap_or_else(|failure| panic!("a slice cannot fail to read: {failure}"));
    assert_eq!(streamed.entries, parsed.entries);
    assert_eq!(streamed.errors, parsed.errors);
    assert_eq!(streamed.rejected, parsed.rejected);
    if let Err(err) = index::HotlistIndex::build(index::MatchConfig::default(), &parsed.entries) {
        panic!("parsed entries do not build into an index: {err}");
    }
}
